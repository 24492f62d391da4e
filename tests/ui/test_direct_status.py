"""Our direct messages to members who are away: their marks and status lines, in plain lines and
JSON lines, and no desktop notification for a change of status."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace

import pytest
from rich.console import Console

from p2pchat.core import views as vw
from p2pchat.core.directrecords import DirectStatus
from p2pchat.ui.format import DM_MARKS, message_line
from p2pchat.ui.jsonlines import JsonUi, view_to_json
from p2pchat.ui.notify import AlertRules, Focus
from p2pchat.ui.plain import PlainUi

pytestmark = pytest.mark.timeout(30)

ME = "a" * 32
CAROL = "c" * 32
MSG = f"{ME}:7"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
EVIL = "e\u202ev\nil\x1b"


def own_dm(
    status: DirectStatus | None, *, restored: bool = False, to_nick: str = "carol"
) -> vw.MessageShown:
    """Our DM to carol (or whoever to_nick names), "see you at 3", standing as status."""
    shown = vw.MessageShown(MSG, ME, "me", "me", "see you at 3", 0.0, 7, True, True, CAROL)
    return replace(shown, to_nick=to_nick, restored=restored, dm_status=status)


def changed(status: DirectStatus, holders: int = 0, nick: str = "carol") -> vw.DirectStatusChanged:
    """Our DM to carol is now status."""
    return vw.DirectStatusChanged(MSG, CAROL, nick, status, holders, "see you at 3")


def plain(view: vw.View, width: int = 200) -> list[str]:
    """The rows PlainUi prints for view, without colours."""
    out = io.StringIO()
    PlainUi(Console(file=out, width=width, color_system=None)).show(view)
    return out.getvalue().splitlines()


def test_the_dm_status_event_has_its_contract_keys() -> None:
    assert view_to_json(changed(DirectStatus.QUEUED, holders=2)) == {
        "event": "dm_status",
        "msg_id": MSG,
        "to_id": CAROL,
        "to_nick": "carol",
        "status": "queued",
        "holders": 2,
    }
    for status in (DirectStatus.DELIVERED, DirectStatus.EXPIRED):
        assert view_to_json(changed(status))["status"] == status.value


def test_a_message_event_of_our_dm_carries_its_status_and_others_none() -> None:
    for status in (DirectStatus.SENT, DirectStatus.QUEUED):
        assert view_to_json(own_dm(status))["dm_status"] == status.value
    restored = view_to_json(own_dm(DirectStatus.DELIVERED, restored=True))
    assert restored["dm_status"] == "delivered" and restored["restored"] is True
    assert "dm_status" not in view_to_json(own_dm(None))


def test_json_ui_writes_the_dm_status_event_as_one_line() -> None:
    out = io.StringIO()
    ui = JsonUi(out)
    ui.show(own_dm(DirectStatus.QUEUED))
    ui.show(changed(DirectStatus.DELIVERED))
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert (first["event"], first["dm_status"]) == ("message", "queued")
    assert (second["event"], second["status"]) == ("dm_status", "delivered")


def test_our_dm_is_marked_after_its_recipient_by_how_it_stands() -> None:
    def shown(status: DirectStatus | None) -> str:
        return message_line(own_dm(status), now=0.0).plain

    assert shown(DirectStatus.QUEUED).endswith("me → carol (direct) ◷ queued: see you at 3")
    assert shown(DirectStatus.SENT).endswith("me → carol (direct): see you at 3")
    assert shown(None).endswith("me → carol (direct): see you at 3")
    assert shown(DirectStatus.DELIVERED).endswith("me → carol (direct) ✓: see you at 3")
    assert shown(DirectStatus.EXPIRED).endswith("me → carol (direct) ✗ expired: see you at 3")
    assert set(DM_MARKS) == {DirectStatus.QUEUED, DirectStatus.DELIVERED, DirectStatus.EXPIRED}


def test_a_dm_to_us_or_a_room_message_has_no_mark_whatever_its_status() -> None:
    theirs = vw.MessageShown(f"{CAROL}:1", CAROL, "carol", "carol", "hi", 0.0, 1, True, False)
    theirs = replace(theirs, to_id=ME, to_nick="me", dm_status=DirectStatus.QUEUED)
    room = vw.MessageShown(
        f"{ME}:2", ME, "me", "me", "hi", 0.0, 2, False, True, dm_status=DirectStatus.DELIVERED
    )
    assert message_line(theirs).plain.endswith("carol → you (direct): hi")
    assert message_line(room).plain.endswith("me: hi")


def test_status_changes_are_one_dim_line_each_in_plain() -> None:
    about = "“see you at 3”"
    assert plain(changed(DirectStatus.DELIVERED)) == [f"· carol got your message: {about}"]
    assert plain(changed(DirectStatus.QUEUED, holders=2)) == [
        f"· carol is away: your message waits with 2 members online (and you) until carol is "
        f"back: {about}"
    ]
    assert plain(changed(DirectStatus.QUEUED, holders=1)) == [
        f"· carol is away: your message waits with 1 member online (and you) until carol is "
        f"back: {about}"
    ]
    assert plain(changed(DirectStatus.QUEUED, holders=0)) == [
        f"· carol is away: your message waits with you until carol is back: {about}"
    ]
    assert plain(changed(DirectStatus.EXPIRED)) == [
        f"· your message to carol was never delivered (a week passed): {about}"
    ]


def test_peer_text_in_a_status_line_or_a_dm_is_neutralised_on_one_line() -> None:
    views: list[vw.View] = [
        vw.DirectStatusChanged(MSG, CAROL, EVIL, status, 1, EVIL) for status in DirectStatus
    ]
    views.append(own_dm(DirectStatus.QUEUED, to_nick=EVIL))
    for view in views:
        rows = plain(view)
        assert len(rows) == 1, view
        assert not UNSAFE.search(rows[0]) and "e⟨U+202E⟩v" in rows[0], view


def test_a_change_of_status_never_notifies() -> None:
    rules = AlertRules()
    rules.see(vw.Ready(ME, "me", "lobby", 4000, True), Focus.AWAY, 0.0)
    for status in DirectStatus:
        for focus in Focus:
            assert rules.see(changed(status, nick="me"), focus, 1000.0) is None
