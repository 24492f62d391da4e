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
    vw.PeerTable((vw.PeerRow(A, "ann", "ann", "10.0.0.1:4000", 75.0, 0.0012),), port=4000),
    vw.PeerTable((), port=4100),
    vw.HistoryListing((MESSAGE,)),
    vw.MessageShown(f"{A}:2", A, "ann", "ann", "from before", 0.0, 2, False, False, backfill=True),
    vw.FileOffered("0123456789abcdef", A, "ann", "[red]x[/red].pdf", 1536, False, False),
    vw.FileOffered("0123456789abcdef", A, "me", "big.iso", 3 << 30, True, True, "bob"),
    vw.FileProgress("0123456789abcdef", "big.iso", 1 << 30, 3 << 30, True, "bob"),
    vw.FileDone("0123456789abcdef", "x.pdf", "/home/ann/Downloads/x.pdf", 1536, False, "ann"),
    vw.FileFailed("0123456789abcdef", "big.iso", "cancelled", True, "bob"),
    vw.TransferTable(
        (vw.TransferRow("0123456789abcdef", "x.pdf", 2048, 512, "receiving", False, "ann"),)
    ),
    vw.TransferTable(()),
    vw.HistoryEnd(2),
    vw.InviteCode("p2pchat-abcd", ("10.0.0.1:41234",), "lobby"),
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
        "no peers connected yet · you listen on port 4100; others can /connect YOUR-ADDRESS:4100",
        "1 peer(s) · you listen on port 4000",
        "2 earlier messages above, kept on this machine · new ones below",
        "invite code: p2pchat-abcd",
        "others join with: p2pchat --join p2pchat-abcd  (it dials 10.0.0.1:41234)",  # gutter
        "last 1 messages:",
        "↶ ann: from before",
        "ann offers [red]x[/red].pdf (1.5 KiB) [01234567]: /accept 01234567 or /decline 01234567",
        "offering big.iso (3.0 GiB) to bob [01234567]; /cancel 01234567 stops it",
        "received x.pdf (1.5 KiB) from ann, BLAKE3 checked: /home/ann/Downloads/x.pdf",
        "! big.iso to bob: cancelled",
        "25%",
        "⇩ receiving",
        "no file offers or transfers yet",
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
        "file_offer",
        "file_offer",
        "file_progress",
        "file_done",
        "file_failed",
        "transfers",
        "transfers",
        "history_end",
        "invite",
    ]
    offer, progress, done, failed, table = (
        events[12],
        events[14],
        events[15],
        events[16],
        events[17],
    )
    assert offer["id"] == "0123456789abcdef" and offer["size"] == 1536 and offer["own"] is False
    assert progress["done"] == 1 << 30 and progress["size"] == 3 << 30 and progress["sending"]
    assert done["path"] == "/home/ann/Downloads/x.pdf" and done["sending"] is False
    assert failed["reason"] == "cancelled"
    assert table["transfers"][0]["state"] == "receiving" and table["transfers"][0]["done"] == 512
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


def test_plain_progress_is_printed_every_ten_percent_with_rate_and_time_left() -> None:
    out = io.StringIO()
    ui = PlainUi(Console(file=out, width=120, color_system=None))
    total = 1000 * 1024 * 1024
    for done in range(0, total + 1, total // 100):
        ui.show(vw.FileProgress("0123456789abcdef", "big.iso", done, total, False, "ann"))
    lines = [line for line in out.getvalue().splitlines() if line.startswith("⇄")]
    assert len(lines) == 11  # 0 %, 10 %, ..., 100 %
    assert lines[5].startswith("⇄ big.iso from ann: 50% of 1000.0 MiB")
    ui.show(vw.FileDone("0123456789abcdef", "big.iso", "/dl/big.iso", total, False, "ann"))
    assert "received big.iso (1000.0 MiB) from ann" in out.getvalue()
