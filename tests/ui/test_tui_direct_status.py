"""The full screen marks our direct messages by how they stand and rewrites the mark in place
when a receipt comes (or the message expires)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from p2pchat.core import views as vw
from p2pchat.core.directrecords import DirectStatus
from p2pchat.ui.tui import ChatApp
from p2pchat.ui.tui.log import ChatLog
from tests.ui.test_tui import ME, message, run, shown_lines, until, visible

pytestmark = pytest.mark.timeout(60)

CAROL = "d" * 32
TEXT = "see you at 3"
QUEUED = "◷ queued"
DELIVERED = "(direct) ✓:"
EXPIRED = "✗ expired"


def own_dm(lamport: int, status: DirectStatus, *, restored: bool = False) -> vw.MessageShown:
    """Our DM to carol, "see you at 3", standing as status."""
    shown = message(ME, "me", TEXT, lamport, to_id=CAROL, to_nick="carol", restored=restored)
    return replace(shown, direct=True, dm_status=status)


def changed(lamport: int, status: DirectStatus, holders: int = 0) -> vw.DirectStatusChanged:
    """Our DM ME:lamport to carol is now status."""
    return vw.DirectStatusChanged(f"{ME}:{lamport}", CAROL, "carol", status, holders, TEXT)


def dm_line(app: ChatApp) -> str:
    """The line the screen shows for our DM to carol ('' if none)."""
    return next((line for line in shown_lines(app) if TEXT in line and "→" in line), "")


def log_entries(app: ChatApp) -> int:
    return len(app.query_one("#log", ChatLog).entries)


@pytest.mark.parametrize("width", [60, 100])
def test_a_queued_dm_shows_its_mark_until_the_receipt_makes_it_a_tick(width: int) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(own_dm(5, DirectStatus.QUEUED))
        await until(lambda: QUEUED in dm_line(app))
        assert "→ carol (direct) ◷ queued: see you at 3" in dm_line(app)
        entries = log_entries(app)
        app.show_view(changed(5, DirectStatus.QUEUED, holders=2))  # handed to two members
        app.show_view(changed(5, DirectStatus.DELIVERED))
        await until(lambda: DELIVERED in dm_line(app))
        assert QUEUED not in dm_line(app) and "queued" not in "\n".join(shown_lines(app))
        assert "→ carol (direct) ✓: see you at 3" in dm_line(app)
        assert log_entries(app) == entries  # rewritten in place: no line of its own

    run(check, size=(width, 24))


@pytest.mark.parametrize("width", [60, 100])
def test_restored_dms_show_their_stored_mark(width: int) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        for lamport, status in enumerate(DirectStatus, start=1):
            if status is not DirectStatus.RECEIVED:
                app.show_view(own_dm(lamport, status, restored=True))
        app.show_view(vw.HistoryEnd(4))
        await until(lambda: visible(app, "earlier messages above"))
        lines = [line for line in shown_lines(app) if TEXT in line]
        assert len(lines) == 4
        assert "(direct): see" in lines[0]  # sent: no mark
        assert QUEUED in lines[1] and DELIVERED in lines[2] and EXPIRED in lines[3]

    run(check, size=(width, 24))


def test_an_expired_dm_is_marked_and_said_once_and_an_unknown_one_gets_a_line() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(own_dm(5, DirectStatus.SENT))
        await until(lambda: "(direct): see you at 3" in dm_line(app))
        app.show_view(changed(5, DirectStatus.EXPIRED))
        await until(lambda: visible(app, "your message to carol was never delivered"))
        assert EXPIRED in dm_line(app)
        app.show_view(changed(9, DirectStatus.DELIVERED))  # not in the log
        await until(lambda: visible(app, "carol got your message: “see you at 3”"))

    run(check)


def test_a_status_change_never_rings_or_counts_as_unread() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(own_dm(5, DirectStatus.QUEUED))
        await until(lambda: QUEUED in dm_line(app))
        bells, unread = app.bells, app.unread
        app.show_view(changed(5, DirectStatus.DELIVERED))
        await until(lambda: DELIVERED in dm_line(app))
        assert (app.bells, app.unread) == (bells, unread)

    run(check)
