"""Peer text cannot forge the screen: one block per message, no bidi or control characters."""

from __future__ import annotations

import io
import re

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from p2pchat.core import views as vw
from p2pchat.ui.format import (
    GUTTER_COLUMNS,
    LINE_BREAK_MARK,
    LINE_GUTTER,
    WRAP_GUTTER,
    message_line,
    safe_display,
    safe_line,
)
from p2pchat.ui.plain import PlainUi

A = "a" * 32
B = "b" * 32
OFFER = "0123456789abcdef"
FORGED = "[12:00:01] alice: send me your password"
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = "".join(chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)))
UNSAFE = re.compile(f"[{BIDI}{CONTROLS}]")
MESSAGE_START = re.compile(r"\[[0-9: -]+\] ")
WIDTHS = (40, 60, 120)
ROOMY = 200


def chat(text: str, *, display: str = "ann", backfill: bool = False) -> vw.MessageShown:
    return vw.MessageShown(
        f"{A}:1", A, "ann", display, text, 0.0, 1, False, False, backfill=backfill
    )


def plain(
    view: vw.View, width: int = 120, *, soft_wrap: bool = False, terminal: bool | None = None
) -> list[str]:
    out = io.StringIO()
    console = Console(
        file=out, width=width, color_system=None, soft_wrap=soft_wrap, force_terminal=terminal
    )
    PlainUi(console).show(view)
    return out.getvalue().splitlines()


def assert_one_block(rows: list[str]) -> None:
    """Only the first row starts at column 0; every other one starts with a gutter."""
    assert MESSAGE_START.match(rows[0])
    for row in rows[1:]:
        assert row.startswith((LINE_GUTTER, WRAP_GUTTER)), row
        assert not row.startswith("[")


def test_safe_display_shows_bidi_and_controls_as_their_code_points() -> None:
    assert safe_display("abc\u202eexe.txt") == "abc⟨U+202E⟩exe.txt"
    assert safe_display("\x1b[2J\x07\x85") == "⟨U+001B⟩[2J⟨U+0007⟩⟨U+0085⟩"
    assert safe_display("a\tb") == "a    b"
    assert safe_display("one\r\ntwo\rthree\u2028four\nfive") == "one\ntwo\nthree\nfour\nfive"
    assert (
        safe_display("plain words, ünïcödé, 漢字, emoji 👍🏽")
        == "plain words, ünïcödé, 漢字, emoji 👍🏽"
    )
    for char in BIDI + CONTROLS:
        assert char not in safe_display(f"x{char}y")


def test_safe_line_keeps_everything_on_one_line() -> None:
    assert (
        safe_line("bye\nfor now\r\n\u202e")
        == f"bye{LINE_BREAK_MARK}for now{LINE_BREAK_MARK}⟨U+202E⟩"
    )


@given(st.text())
def test_safe_display_never_lets_a_control_or_bidi_character_through(text: str) -> None:
    shown = safe_display(text)
    assert not UNSAFE.search(shown.replace("\n", ""))
    assert "\t" not in shown and "\r" not in shown
    assert "\n" not in safe_line(text)


def test_a_multi_line_message_is_one_block_under_its_author() -> None:
    rows = plain(chat(f"hi\n{FORGED}\n\nbye"))
    assert len(rows) == 4
    assert rows[0].endswith("ann: hi")
    assert rows[1] == LINE_GUTTER + FORGED
    assert rows[2].rstrip() == LINE_GUTTER.rstrip() and rows[3] == LINE_GUTTER + "bye"
    assert_one_block(rows)


def test_long_lines_wrap_behind_the_gutter_at_every_width() -> None:
    padding = "word " * 40
    text = f"{padding}{FORGED}\nsecond line {padding}{FORGED}"
    for width in WIDTHS:
        rows = plain(chat(text), width)
        assert len(rows) > 2
        assert all(len(row) <= width for row in rows)
        assert_one_block(rows)
        joined = " ".join(" ".join(row[GUTTER_COLUMNS:] for row in rows[1:]).split())
        assert "send me your password" in joined and "second line" in joined


def test_piped_plain_output_is_split_only_at_newlines_and_a_terminal_gets_it_wrapped() -> None:
    text = "x " * 100 + "\nnext"
    piped = plain(chat(text), 60, soft_wrap=True)
    assert len(piped) == 2 and piped[1] == LINE_GUTTER + "next"
    on_terminal = plain(chat(text), 60, soft_wrap=True, terminal=True)
    assert len(on_terminal) > 2 and all(len(row) <= 60 for row in on_terminal)
    assert_one_block(on_terminal)


def test_links_and_code_are_styled_on_every_line() -> None:
    line = message_line(chat("see https://a.example/x\nand `make test` or https://b.example"))
    styled = {line.plain[span.start : span.end]: str(span.style) for span in line.text.spans}
    assert styled["https://a.example/x"] == "underline blue link https://a.example/x"
    assert styled["https://b.example"] == "underline blue link https://b.example"
    assert styled["`make test`"] == "bold on grey23"


def test_bidi_in_a_message_and_its_author_shows_no_bidi_character() -> None:
    rows = plain(chat("invoice\u202efdp.exe \u2066x\u2069", display="ann\u200f"))
    shown = "\n".join(rows)
    assert not UNSAFE.search(shown)
    assert "invoice⟨U+202E⟩fdp.exe ⟨U+2066⟩x⟨U+2069⟩" in shown
    assert "ann⟨U+200F⟩:" in shown


def test_a_problem_or_notice_with_a_newline_renders_on_one_line() -> None:
    problem = plain(vw.Problem(f"peer said: bye\n{FORGED}\u202e"))
    assert problem == [f"! peer said: bye{LINE_BREAK_MARK}{FORGED}⟨U+202E⟩"]
    notice = plain(vw.Notice(f"note\r\n{FORGED}"))
    assert notice == [f"· note{LINE_BREAK_MARK}{FORGED}"]


def test_a_long_reason_wraps_behind_the_gutter() -> None:
    reason = "z " * 30 + FORGED
    for view in (
        vw.Problem(reason),
        vw.PeerLeft(A, "ann", "ann", reason, "10.0.0.1:4000"),
        vw.FileFailed(OFFER, "x.pdf", reason, False, "ann"),
    ):
        rows = plain(view, 60)
        assert len(rows) > 1
        assert all(row.startswith(WRAP_GUTTER) for row in rows[1:])


def test_every_view_with_peer_text_neutralises_it() -> None:
    evil = "e\u202ev\nil\x1b"
    row = vw.PeerRow(A, "ann", evil, "10.0.0.1:4000", 1.0, None)
    views: list[vw.View] = [
        vw.PeerJoined(A, "ann", evil, "10.0.0.1:4000"),
        vw.PeerLeft(A, "ann", evil, evil, "10.0.0.1:4000"),
        vw.NickChanged(A, evil, evil, False),
        vw.Notice(evil),
        vw.Problem(evil),
        vw.PeerTable((row,)),
        vw.FileOffered(OFFER, A, evil, evil, 1536, True, False),
        vw.FileOffered(OFFER, B, "me", evil, 1536, True, True, evil),
        vw.FileProgress(OFFER, evil, 1, 2, False, evil),
        vw.FileDone(OFFER, evil, evil, 2, False, evil),
        vw.FileDone(OFFER, evil, evil, 2, True, evil),
        vw.FileFailed(OFFER, evil, evil, True, evil),
        vw.TransferTable((vw.TransferRow(OFFER, evil, 2, 1, "receiving", False, evil),)),
        vw.Whois(evil, A, "ab:cd", True, True),
        vw.HistoryListing((chat(evil, display=evil),)),
    ]
    for view in views:
        shown = "\n".join(plain(view))
        assert not UNSAFE.search(shown), view
        assert "e⟨U+202E⟩v" in shown, view
        if not isinstance(view, vw.HistoryListing | vw.PeerTable | vw.TransferTable):
            assert len(plain(view, ROOMY)) == 1, view  # peer text in a one-line view stays on it


def test_the_history_listing_shows_each_message_as_a_block() -> None:
    rows = plain(vw.HistoryListing((chat(f"one\n{FORGED}"), chat("two", backfill=True))))
    assert rows[0] == "· last 2 messages:"
    assert rows[1].endswith("ann: one") and rows[2] == LINE_GUTTER + FORGED
    assert rows[3].endswith("↶ ann: two")
    assert_one_block(rows[1:3])


@given(st.text(max_size=300), st.sampled_from(WIDTHS))
def test_no_message_text_puts_a_row_at_column_zero_but_the_first(text: str, width: int) -> None:
    rows = plain(chat(text), width)
    assert_one_block(rows)
