"""The full screen shows a conversation: reactions, edits and deletes in the message's own
entry, peers away in the sidebar, and auto-away after a while without a key."""

from __future__ import annotations

import asyncio
import time

import pytest

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.messages import PresenceStatus
from p2pchat.ui.tui import ChatApp
from p2pchat.ui.tui.log import ChatLog
from p2pchat.ui.tui.rows import DELETED
from tests.ui.test_tui import (
    ALICE,
    BOB,
    ME,
    SIZE,
    WIDTHS,
    block,
    lines_of,
    log_text,
    message,
    run,
    screen_rows,
    shown_lines,
    sidebar,
    until,
    visible,
)

IDLE = 0.3  # seconds without a key before the app says we are away (the real one is minutes)
THUMBS = "👍"


def reaction(author: str, emoji: str, msg_id: str, *, removed: bool = False) -> vw.ReactionShown:
    nick = {ME: "me", ALICE: "alice", BOB: "bob"}[author]
    return vw.ReactionShown(msg_id, author, nick, nick, emoji, removed, author == ME)


def log_entries(app: ChatApp) -> int:
    return len(app.query_one("#log", ChatLog).entries)


def message_block(app: ChatApp, first: str) -> list[str]:
    """The lines the log wrote for the entry whose first line contains first."""
    return lines_of(block([row.rstrip() for row in log_text(app)], first))


def shows_counts(app: ChatApp, first: str, counts: str) -> bool:
    """True if the entry of the message whose first line contains first ends with counts."""
    try:
        return message_block(app, first)[-1] == counts
    except StopIteration:
        return False


@pytest.mark.parametrize("width", WIDTHS)
def test_reactions_are_counted_under_their_message_with_no_line_of_their_own(width: int) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ALICE, "alice", "lunch at noon?", 3))
        app.show_view(message(BOB, "bob", "later", 4))
        await until(lambda: visible(app, "later"))
        entries = log_entries(app)
        target = f"{ALICE}:3"
        app.show_view(reaction(BOB, THUMBS, target))
        await until(lambda: shows_counts(app, "lunch at noon?", f"{THUMBS} 1"))
        app.show_view(reaction(ME, THUMBS, target))
        await until(lambda: shows_counts(app, "lunch at noon?", f"{THUMBS} 2"))
        app.show_view(reaction(BOB, THUMBS, target, removed=True))
        await until(lambda: shows_counts(app, "lunch at noon?", f"{THUMBS} 1"))
        assert log_entries(app) == entries  # no line for a reaction
        assert visible(app, f"{THUMBS} 1")  # on the screen, at this width
        assert not any("reacts" in line for line in shown_lines(app))
        assert message_block(app, "later") == [message_block(app, "later")[0]]  # none under it

    run(check, size=(width, 24))


def test_counts_a_message_came_with_are_where_its_reactions_start() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        counts = (vw.ReactionCount("🎉", 2, False), vw.ReactionCount(THUMBS, 1, True))
        app.show_view(message(ALICE, "alice", "we shipped", 3, reactions=counts))
        await until(lambda: shows_counts(app, "we shipped", f"🎉 2 {THUMBS} 1"))
        app.show_view(reaction(BOB, "🎉", f"{ALICE}:3", removed=True))  # one of the two
        await until(lambda: shows_counts(app, "we shipped", f"🎉 1 {THUMBS} 1"))
        app.show_view(reaction(ME, THUMBS, f"{ALICE}:3", removed=True))  # ours
        await until(lambda: shows_counts(app, "we shipped", "🎉 1"))

    run(check)


def test_an_edit_rewrites_the_message_and_e_then_edits_the_new_text() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ME, "me", "teh plan", 3))
        await until(lambda: visible(app, "teh plan"))
        entries = log_entries(app)
        app.show_view(vw.MessageEdited(f"{ME}:3", ME, "me", "the plan"))
        await until(lambda: visible(app, "me: the plan (edited)"))
        assert not visible(app, "teh plan") and log_entries(app) == entries
        await pilot.press("escape", "e")  # type: ignore[attr-defined]
        assert app.query_one("#input").value == f"/edit {ME}:3 the plan"  # type: ignore[attr-defined]

    run(check)


def test_a_delete_leaves_one_dim_line_and_the_cursor_passes_over_it() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ALICE, "alice", "first", 3))
        app.show_view(message(ALICE, "alice", "oops, wrong room", 4))
        await until(lambda: visible(app, "oops, wrong room"))
        entries = log_entries(app)
        app.show_view(vw.MessageDeleted(f"{ALICE}:4", ALICE, "alice", about="oops, wrong room"))
        await until(lambda: visible(app, f"alice: {DELETED}"))
        assert not visible(app, "oops") and log_entries(app) == entries
        await pilot.press("escape")  # type: ignore[attr-defined]
        marked = app.query_one("#log", ChatLog).marked
        assert marked is not None and marked.message is not None
        assert marked.message.msg_id == f"{ALICE}:3"

    run(check)


def test_a_peer_away_is_marked_in_the_sidebar_and_ours_in_the_header() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        entries = log_entries(app)
        app.show_view(vw.PresenceChanged(ALICE, "alice", "alice", "away", "lunch"))
        await until(lambda: "away: lunch" in sidebar(app))
        app.show_view(vw.PresenceChanged(ALICE, "alice", "alice", "here", ""))
        await until(lambda: "away" not in sidebar(app))
        app.show_view(vw.PresenceChanged(ME, "me", "me", "away", "", own=True))
        await until(lambda: "· away" in screen_rows(app)[0])
        assert log_entries(app) == entries  # presence is never a line in the log

    run(check)


def test_auto_away_after_the_idle_time_and_back_at_the_next_key() -> None:
    away = ev.SetPresence(PresenceStatus.AWAY, "", auto=True)
    here = ev.SetPresence(PresenceStatus.HERE, auto=True)

    async def main() -> None:
        posted: list[object] = []
        app = ChatApp(posted.append, auto_away_seconds=IDLE)
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: away in posted)
            assert here not in posted
            start = time.monotonic()
            await pilot.press("x")
            await until(lambda: here in posted)
            assert posted.count(away) == 1
            await until(lambda: posted.count(away) == 2)
            assert time.monotonic() - start >= IDLE  # counted from the key

    asyncio.run(main())
