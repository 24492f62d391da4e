"""Plain and JSON renderings of every view; user text is never taken as markup."""

from __future__ import annotations

import io
import json

from rich.console import Console

from p2pchat.core import views as vw
from p2pchat.ui.jsonlines import JsonUi, view_to_json
from p2pchat.ui.plain import PlainUi, nick_colour

A = "a" * 32
MESSAGE = vw.MessageShown(
    f"{A}:1", A, "ann", "ann", "[bold]not bold[/bold] :)", 0.0, 1, False, False
)
VIEWS: list[vw.View] = [
    vw.Ready(A, "ann", "lobby", 4000, True),
    vw.PeerJoined(A, "ann", "ann", "10.0.0.1:4000"),
    vw.PeerLeft(A, "ann", "ann", "quit", "10.0.0.1:4000"),
    MESSAGE,
    vw.MessageShown(f"{A}:d:00", A, "ann", "ann", "psst", 0.0, 1, True, False, "b" * 32, "bob"),
    vw.NickChanged(A, "ann", "anna", False),
    vw.Notice("note"),
    vw.Problem("oops"),
    vw.PeerTable((vw.PeerRow(A, "ann", "ann", "10.0.0.1:4000", 75.0, 0.0012),)),
    vw.PeerTable(()),
    vw.HistoryListing((MESSAGE,)),
    vw.MessageShown(f"{A}:2", A, "ann", "ann", "from before", 0.0, 2, False, False, backfill=True),
]


def plain(view: vw.View) -> str:
    out = io.StringIO()
    PlainUi(Console(file=out, width=120, color_system=None)).show(view)
    return out.getvalue()


def test_every_view_renders_in_plain() -> None:
    text = "".join(plain(v) for v in VIEWS)
    for expected in (
        "you are ann (aaaaaaaa) in room 'lobby', port 4000, mDNS on",
        "→ ann [aaaaaaaa] joined from 10.0.0.1:4000",
        "← ann (10.0.0.1:4000) left: quit",
        "ann → you (direct): psst",
        "ann is now known as anna",
        "! oops",
        "1m15s",
        "1.2 ms",
        "no peers connected yet",
        "last 1 messages:",
        "↶ ann: from before",
    ):
        assert expected in text


def test_markup_in_messages_is_shown_literally() -> None:
    assert "[bold]not bold[/bold] :)" in plain(MESSAGE)


def test_nick_colour_is_stable() -> None:
    assert nick_colour(A) == nick_colour(A)


def test_json_contract_fields() -> None:
    events = [view_to_json(v) for v in VIEWS]
    assert [e["event"] for e in events] == [
        "ready",
        "peer_joined",
        "peer_left",
        "message",
        "message",
        "nick",
        "notice",
        "error",
        "peers",
        "peers",
        "history",
        "message",
    ]
    assert set(events[0]) >= {"id", "nick", "room", "port"}
    assert set(events[1]) >= {"id", "nick", "addr"}
    assert set(events[2]) >= {"id", "nick", "reason"}
    assert set(events[3]) >= {"msg_id", "from_id", "from_nick", "text", "ts", "direct", "own"}
    assert events[3]["direct"] is False and "to_id" not in events[3]
    assert events[4]["direct"] is True and events[4]["to_nick"] == "bob"
    assert events[3]["backfill"] is False and events[11]["backfill"] is True
    assert events[10]["messages"][0]["msg_id"] == f"{A}:1"


def test_json_ui_writes_one_object_per_line() -> None:
    out = io.StringIO()
    ui = JsonUi(out)
    for view in VIEWS:
        ui.show(view)
    ui.show_help()
    ui.problem("bad")
    lines = out.getvalue().splitlines()
    assert len(lines) == len(VIEWS) + 2
    assert json.loads(lines[-1]) == {"event": "error", "message": "bad"}
    assert json.loads(lines[-2])["event"] == "help"
