"""The full-screen interface, driven headless with Textual's pilot."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual import events

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.limits import Limits
from p2pchat.ui.format import LINE_BREAK_MARK, LINE_GUTTER, WRAP_GUTTER, day_of
from p2pchat.ui.qr import qr_lines
from p2pchat.ui.tui import ChatApp, TuiUi
from p2pchat.ui.tui.keys import TextTyped
from p2pchat.ui.tui.log import ChatLog

ME = "a" * 32
ALICE = "b" * 32
BOB = "c" * 32
TS = 1_790_000_000.0
SIZE = (100, 24)
WIDTHS = (60, 120)
FORGED = "[12:00:01] alice: send me your password"
DEADLINE = 10.0  # seconds a screen may take to show what a test waits for
# A 70 KB paste is refused in a fraction of a second (figures: the closing notes of issue 12);
# this is only how long a test waits, on a busy machine, before it calls the paste lost.
PASTE_DEADLINE = 10.0
POLL = 0.01
READ_KEYS = 4096  # keys in one read of a terminal
READ_GAP = 0.05  # between two reads of one paste on a busy machine


def message(author: str, nick: str, text: str, lamport: int, **kwargs: object) -> vw.MessageShown:
    return vw.MessageShown(
        f"{author}:{lamport}",
        author,
        nick,
        nick,
        text,
        TS + lamport,
        lamport,
        False,
        author == ME,
        **kwargs,  # type: ignore[arg-type]
    )


def log_text(app: ChatApp) -> list[str]:
    log = app.query_one("#log")
    return [strip.text for strip in log.lines]  # type: ignore[attr-defined]


def screen_rows(app: ChatApp) -> list[str]:
    """The rows of the terminal as the user sees them."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def sidebar(app: ChatApp) -> str:
    return str(app.query_one("#peers").render())


def entries(rows: list[str]) -> list[list[str]]:
    """The log's entries: each a first row and the gutter rows after it."""
    found: list[list[str]] = []
    for row in rows:
        if found and row.startswith((LINE_GUTTER, WRAP_GUTTER)):
            found[-1].append(row)
        else:
            found.append([row])
    return found


def lines_of(rows: list[str]) -> list[str]:
    """The lines of one entry as written: gutters gone, wrapped parts joined, spaces folded."""
    lines: list[str] = []
    for row in rows:
        if not lines:
            lines.append(row)
        elif row.startswith(LINE_GUTTER):
            lines.append(row[len(LINE_GUTTER) :])
        else:
            lines[-1] += " " + row[len(WRAP_GUTTER) :]
    return [" ".join(line.split()) for line in lines]


def block(rows: list[str], first: str) -> list[str]:
    """The rows of the entry whose first line contains first (however it is wrapped)."""
    return next(found for found in entries(rows) if first in lines_of(found)[0])


def log_width(app: ChatApp) -> int:
    """Columns the log shows (without its scrollbar)."""
    return app.query_one("#log").scrollable_content_region.width


def run(
    test: Callable[[ChatApp, object, list[object]], Awaitable[None]],
    size: tuple[int, int] = SIZE,
) -> None:
    async def main() -> None:
        posted: list[object] = []
        app = ChatApp(posted.append)
        async with app.run_test(size=size) as pilot:
            app.show_view(vw.Ready(ME, "me", "lobby", 4000, True, True))
            app.show_view(vw.PeerJoined(ALICE, "alice", "alice", "10.0.0.2:5000"))
            await pilot.pause()
            await test(app, pilot, posted)

    asyncio.run(main())


def test_typing_sends_and_up_down_walk_through_what_was_typed() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        await pilot.press(*"hello", "enter")  # type: ignore[attr-defined]
        await pilot.press(*"again", "enter")  # type: ignore[attr-defined]
        assert posted[-2:] == [ev.SendChat("hello"), ev.SendChat("again")]
        field = app.query_one("#input")
        assert field.value == ""  # type: ignore[attr-defined]
        await pilot.press("up")  # type: ignore[attr-defined]
        assert field.value == "again"  # type: ignore[attr-defined]
        await pilot.press("up")  # type: ignore[attr-defined]
        assert field.value == "hello"  # type: ignore[attr-defined]
        await pilot.press("down", "down")  # type: ignore[attr-defined]
        assert field.value == ""  # type: ignore[attr-defined]

    run(check)


def test_received_messages_appear_with_time_and_nick_and_markup_stays_literal() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ALICE, "alice", "[bold]hi[/bold] see https://example.com", 3))
        await pilot.pause()  # type: ignore[attr-defined]
        lines = "\n".join(log_text(app))
        assert "alice: [bold]hi[/bold] see https://example.com" in lines
        assert "────" in lines  # the day separator

    run(check)


def test_peer_sidebar_follows_joins_rtts_and_leaves() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        assert "alice" in sidebar(app) and ALICE[:8] in sidebar(app)
        row = vw.PeerRow(ALICE, "alice", "alice", "10.0.0.2:5000", 3.0, 0.0042)
        app.show_view(vw.PeerTable((row,), requested=False))
        assert "4.2 ms" in sidebar(app)
        assert not [line for line in log_text(app) if "4.2 ms" in line]  # a refresh stays quiet
        app.show_view(vw.PeerLeft(ALICE, "alice", "alice", "timed out", "10.0.0.2:5000"))
        assert "reconnecting" in sidebar(app)
        app.show_view(vw.PeerJoined(BOB, "bob", "bob", "10.0.0.3:5000"))
        app.show_view(vw.PeerLeft(BOB, "bob", "bob", "quit", "10.0.0.3:5000"))
        assert "bob" not in sidebar(app)

    run(check)


def test_tab_completes_nicks_and_commands() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        field = app.query_one("#input")
        await pilot.press("a", "l", "tab")  # type: ignore[attr-defined]
        assert field.value == "alice: "  # type: ignore[attr-defined]
        field.value = ""  # type: ignore[attr-defined]
        await pilot.press("/", "p", "e", "tab")  # type: ignore[attr-defined]
        assert field.value == "/peers "  # type: ignore[attr-defined]
        field.value = ""  # type: ignore[attr-defined]
        await pilot.press(*"/msg al", "tab")  # type: ignore[attr-defined]
        assert field.value == "/msg alice "  # type: ignore[attr-defined]

    run(check)


def test_tab_never_completes_to_a_nick_two_peers_share() -> None:
    # Issue 12: Tab completed "/msg a" to an ambiguous "alice" when two peers used it.
    other = "c" * 32

    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(vw.PeerJoined(other, "alice", f"alice#{other[:8]}", "10.0.0.3:5000"))
        field = app.query_one("#input")
        await pilot.press(*"/msg al", "tab")  # type: ignore[attr-defined]
        assert field.value == "/msg alice#"  # type: ignore[attr-defined]
        await pilot.press("c", "tab")  # type: ignore[attr-defined]
        assert field.value == f"/msg alice#{other[:8]} "  # type: ignore[attr-defined]

    run(check)


def test_a_mention_is_highlighted_and_rings_the_bell() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ALICE, "alice", "no news", 1))
        app.show_view(message(ALICE, "alice", "hey @me, look", 2))
        app.show_view(message(ME, "me", "me myself", 3))
        await pilot.pause()  # type: ignore[attr-defined]
        assert app.bells == 1

    run(check)


def test_a_burst_of_late_messages_is_placed_with_one_redraw() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        redraws = 0
        log = app.query_one("#log", ChatLog)
        redraw = log.redraw

        def counted() -> None:
            nonlocal redraws
            redraws += 1
            redraw()

        log.redraw = counted  # type: ignore[method-assign]
        app.show_view(message(ALICE, "alice", "newest", 500))
        for lamport in range(300, 100, -1):
            app.show_view(message(ALICE, "alice", f"old {lamport}", lamport, backfill=True))
        await pilot.pause()  # type: ignore[attr-defined]
        texts = [line for line in log_text(app) if "alice:" in line]
        assert redraws == 1
        assert len(texts) == 201 and "old 101" in texts[0] and "newest" in texts[-1]

    run(check)


def test_a_late_message_is_shown_where_it_belongs() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ALICE, "alice", "third", 30))
        app.show_view(message(ALICE, "alice", "first, late", 10, backfill=True))
        await pilot.pause()  # type: ignore[attr-defined]
        texts = [line for line in log_text(app) if "alice:" in line]
        assert "first, late" in texts[0] and "third" in texts[1]
        assert "↶" in texts[0]

    run(check)


def test_unread_count_while_scrolled_up() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        for i in range(60):
            app.show_view(message(ALICE, "alice", f"line {i}", i + 1))
        await pilot.pause()  # type: ignore[attr-defined]
        await pilot.press("pageup", "pageup")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        app.show_view(message(ALICE, "alice", "while you read", 100))
        app.show_view(message(ALICE, "alice", "and another", 101))
        assert app.unread == 2 and "2 unread" in app.title
        await pilot.press("end")  # type: ignore[attr-defined]
        assert app.unread == 0 and "unread" not in app.title

    run(check)


def test_header_says_room_nick_and_privacy_and_help_lists_keys() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        header = screen_rows(app)[0]
        assert "#lobby" in header and "me" in header and "private" in header
        assert "port 4000" in header
        await pilot.press(*"/help", "enter")  # type: ignore[attr-defined]
        lines = "\n".join(log_text(app))
        assert "/msg NICK TEXT" in lines and "PageUp" in lines

    run(check)


def test_quit_command_exits() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        await pilot.press(*"/quit", "enter")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert not app.is_running

    run(check)


def test_layout_header_log_sidebar_input() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        width, height = SIZE
        header = app.query_one("#header").region
        log = app.query_one("#log").region
        peers = app.query_one("#peers").region
        field = app.query_one("#input").region
        assert (header.y, header.height, header.width) == (0, 1, width)
        assert peers.right == width and peers.width == 30 and peers.y == 1
        assert log.x == 0 and log.right == peers.x and log.y == 1
        assert field.bottom == height and field.y >= log.bottom
        assert log.height == peers.height == height - 1 - field.height

    run(check)


def test_screenshot_is_saved_as_svg(tmp_path: Path) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ALICE, "alice", "smile", 1))
        await pilot.pause()  # type: ignore[attr-defined]
        path = app.save_screenshot(path=str(tmp_path))
        svg = Path(path).read_text()
        assert svg.startswith("<svg") and "alice" in svg

    run(check)


def test_views_from_the_node_thread_arrive_in_order() -> None:
    async def main() -> None:
        app = ChatApp()
        ui = TuiUi(app)
        ui.show(vw.Ready(ME, "me", "lobby", 4000, False, False))  # before the app runs
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.to_thread(ui.show, message(ALICE, "alice", "from another thread", 1))
            await pilot.pause()
            assert app.me is not None
            assert any("from another thread" in line for line in log_text(app))

    asyncio.run(main())


def test_transfers_show_progress_bars_until_they_end_and_f2_accepts_the_latest_offer() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        panel = app.query_one("#transfers")
        assert not panel.display
        app.show_view(
            vw.FileOffered(
                "0123456789abcdef", ALICE, "alice", "big.iso", 1 << 30, True, False, "me"
            )
        )
        await pilot.pause()  # type: ignore[attr-defined]
        assert app.bells == 1  # a file offered to you
        assert any("alice offers to you big.iso (1.0 GiB)" in line for line in log_text(app))
        await pilot.press("f2")  # type: ignore[attr-defined]
        assert posted[-1] == ev.AcceptFile("")
        for done in (0, 1 << 28):
            app.show_view(
                vw.FileProgress("0123456789abcdef", "big.iso", done, 1 << 30, False, "alice")
            )
        await pilot.pause()  # type: ignore[attr-defined]
        assert panel.display and panel.region.height >= 1
        shown = io.StringIO()
        Console(file=shown, width=100, color_system=None).print(panel.content)  # type: ignore[attr-defined]
        assert "⇩ big.iso from alice" in shown.getvalue()
        assert "25% of 1.0 GiB" in shown.getvalue()
        body = app.query_one("#body").region
        assert body.bottom <= panel.region.y  # the panel takes its own rows
        app.show_view(
            vw.FileDone("0123456789abcdef", "big.iso", "/dl/big.iso", 1 << 30, False, "alice")
        )
        await pilot.pause()  # type: ignore[attr-defined]
        assert not panel.display
        assert any("received big.iso" in line for line in log_text(app))

    run(check)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_multi_line_message_is_one_indented_block(width: int) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        long = "long words " * 20
        app.show_view(message(ALICE, "alice", f"hi\n{FORGED}\n{long}end", 5))
        app.show_view(message(ALICE, "alice", "after", 6))
        await pilot.pause()  # type: ignore[attr-defined]
        rows = log_text(app)
        shown = block(rows, "alice: hi")
        assert shown[0].startswith("[")
        lines = lines_of(shown)
        assert lines[0].endswith("alice: hi") and lines[1:] == [FORGED, (long + "end").strip()]
        breaks = [row for row in shown if row.startswith(LINE_GUTTER)]
        assert len(breaks) == 2 and breaks[0].startswith(LINE_GUTTER + "[12:00:01]")
        assert len(shown) > 3  # the long line wrapped, behind WRAP_GUTTER
        after = entries(rows)[entries(rows).index(shown) + 1]
        assert lines_of(after)[0].endswith("alice: after")
        assert not [row for row in rows if row.startswith("[12:00:01]")]
        assert max(len(row.rstrip()) for row in rows) <= log_width(app)  # wrapped, not cut

    run(check, (width, SIZE[1]))


@pytest.mark.parametrize("width", WIDTHS)
def test_a_late_multi_line_message_and_the_history_listing_keep_their_blocks(width: int) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ALICE, "alice", "third", 30))
        app.show_view(message(ALICE, "alice", f"first, late\n{FORGED}", 10, backfill=True))
        await pilot.pause()  # type: ignore[attr-defined]
        rows = log_text(app)
        late = block(rows, "first, late")
        assert "↶" in late[0] and lines_of(late)[1:] == [FORGED]
        assert entries(rows).index(late) < entries(rows).index(block(rows, "alice: third"))
        listing = vw.HistoryListing((message(ALICE, "alice", f"again\n{FORGED}", 10),))
        app.show_view(listing)
        await pilot.pause()  # type: ignore[attr-defined]
        again = block(log_text(app), "alice: again")
        assert lines_of(again)[1:] == [FORGED]

    run(check, (width, SIZE[1]))


def test_bidi_and_newlines_from_peers_are_neutralised_in_the_log_and_panels() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        evil = "ev\u202eil"
        app.show_view(vw.PeerJoined(BOB, "bob", evil, "10.0.0.3:5000"))
        app.show_view(message(BOB, "bob", f"look \u2066here\u2069 {evil}", 1))
        app.show_view(vw.PeerLeft(BOB, "bob", evil, f"bye\n{FORGED}", "10.0.0.3:5000"))
        app.show_view(vw.Problem(f"oops\n{FORGED}"))
        app.show_view(vw.FileProgress("0123456789abcdef", evil, 1, 4, False, evil))
        await pilot.pause()  # type: ignore[attr-defined]
        rows = log_text(app)
        panel = io.StringIO()
        Console(file=panel, width=100, color_system=None).print(
            app.query_one("#transfers").content  # type: ignore[attr-defined]
        )
        assert "⇩ ev⟨U+202E⟩il from ev⟨U+202E⟩il" in panel.getvalue()
        shown = "\n".join(rows) + sidebar(app) + panel.getvalue()
        for char in "\u202e\u2066\u2069":
            assert char not in shown
        assert "ev⟨U+202E⟩il" in sidebar(app)
        assert any(row.startswith("! oops" + LINE_BREAK_MARK + FORGED) for row in rows)
        assert any(f"left: bye{LINE_BREAK_MARK}{FORGED}" in row for row in rows)
        assert not [row for row in rows if row.startswith("[12:00:01]")]

    run(check)


# ---------------------------------------------------------------- pastes (issue 12)


def typed(text: str) -> list[events.Key]:
    """The keys a terminal sends for text when it does not mark pastes: line breaks as Enter."""
    keys = []
    for char in text:
        if char == "\n":
            keys.append(events.Key("enter", "\r"))
        elif char == "\t":
            keys.append(events.Key("tab", "\t"))
        else:
            keys.append(events.Key(char, char))
    return keys


def paste(app: ChatApp, text: str, how: str) -> None:
    """Paste text into the app: marked as one paste (bracketed), or as keys in one burst."""
    if how == "bracketed":
        app.post_message(events.Paste(text.replace("\n", "\r")))  # terminals send CR
    else:
        for key in typed(text):
            app.post_message(key)


async def until(condition: Callable[[], bool], deadline: float = DEADLINE) -> float:
    """Wait until condition holds (failing after deadline seconds); the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > deadline:
            raise AssertionError(f"not within {deadline} s")
        await asyncio.sleep(POLL)
    return time.monotonic() - start


def multi_line_text(size: int) -> str:
    """About size characters of numbered lines."""
    lines = []
    while sum(len(line) + 1 for line in lines) < size:
        lines.append(f"line {len(lines)}: " + "some pasted words " * 4)
    return "\n".join(lines)


@pytest.mark.parametrize(("how", "width"), [("bracketed", 60), ("typed", 120)])
def test_a_pasted_block_of_lines_is_one_message_shown_whole_before_it_is_sent(
    how: str, width: int
) -> None:
    text = multi_line_text(10_000)

    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        area = app.query_one("#multiline")
        paste(app, text, how)
        await until(lambda: area.display and area.text == text)  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        rows = screen_rows(app)
        box = next(i for i, row in enumerate(rows) if "lines, one message" in row)
        assert f"{text.count(chr(10)) + 1} lines, one message · Enter sends" in rows[box]
        last = text.rsplit("\n", 1)[1]
        assert any(last[:40] in row for row in rows[box:])  # the cursor at its end, in view
        assert not sent(posted)  # not yet
        await until(lambda: not app.pasting)  # a person reads it first: Enter sends, then
        await pilot.press("end", *" (end)", "enter")  # type: ignore[attr-defined]
        assert sent(posted) == [ev.SendChat(text + " (end)")]
        assert not area.display and app.focused is app.query_one("#input")

    run(check, (width, SIZE[1]))


def test_keys_typed_by_a_person_still_send_line_by_line() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        await pilot.press(*"one", "enter", *"two", "enter")  # type: ignore[attr-defined]
        assert posted[-2:] == [ev.SendChat("one"), ev.SendChat("two")]
        assert not app.query_one("#multiline").display

    run(check)


@pytest.mark.parametrize("how", ["bracketed", "typed"])
def test_a_70_kb_paste_is_refused_at_once_and_the_input_keeps_what_it_had(how: str) -> None:
    text = multi_line_text(70_000)
    limit = Limits().max_text_chars
    refused = f"! paste too long ({len('keep me ') + len(text)} > {limit} characters); nothing"

    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        await pilot.press(*"keep me ")  # type: ignore[attr-defined]
        keys = typed(text)
        if how == "typed":
            for key in keys:
                app.post_message(key)
        else:
            paste(app, text, how)
        await until(lambda: any(refused in row for row in log_text(app)), PASTE_DEADLINE)
        await pilot.pause()  # type: ignore[attr-defined]
        field = app.query_one("#input")
        assert field.value == "keep me " and field.display  # type: ignore[attr-defined]
        assert not app.query_one("#multiline").display
        assert sum("paste too long" in row for row in log_text(app)) == 1
        assert not sent(posted)
        await until(lambda: not app.pasting)  # a person reads the line first
        await pilot.press(*"still here", "enter")  # type: ignore[attr-defined]
        assert sent(posted) == [ev.SendChat("keep me still here")]

    run(check)


def test_a_typed_paste_that_comes_in_several_reads_is_refused_whole() -> None:
    text = multi_line_text(70_000)
    refused = f"! paste too long ({len('keep') + len(text)} > {Limits().max_text_chars} characters)"

    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        await pilot.press(*"keep")  # type: ignore[attr-defined]
        keys = typed(text)
        for start in range(0, len(keys), READ_KEYS):
            for key in keys[start : start + READ_KEYS]:
                app.post_message(key)
            await asyncio.sleep(READ_GAP)  # the next read of the terminal
        await until(lambda: any(refused in row for row in log_text(app)))
        await until(lambda: not app.pasting)  # a person reads the line first
        await pilot.press(*" me", "enter")  # type: ignore[attr-defined]
        assert sent(posted) == [ev.SendChat("keep me")]
        assert sum("paste too long" in row for row in log_text(app)) == 1

    run(check)


def test_a_typed_paste_whose_reads_stall_on_a_busy_machine_is_still_refused_whole() -> None:
    # Under load the terminal driver saw a slow, short read in the middle of a paste and began
    # a new one: the paste was refused in parts and its tail slipped into the input.
    text = multi_line_text(40_000)
    refused = f"! paste too long ({len('keep') + len(text)} > {Limits().max_text_chars} characters)"

    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        await pilot.press(*"keep")  # type: ignore[attr-defined]
        keys = typed(text)
        reads = [keys[:20_000], keys[20_000:20_003], keys[20_003:]]
        for read in reads:
            for key in read:
                app.post_message(key)
            await asyncio.sleep(READ_GAP)
        await until(lambda: any(refused in row for row in log_text(app)))
        paste(app, multi_line_text(20_000), "bracketed")  # a marked paste is one of its own
        await until(lambda: sum("paste too long" in row for row in log_text(app)) == 2)
        for key in typed(multi_line_text(20_000)):  # and the next typed paste is one too
            app.post_message(key)
        await until(lambda: sum("paste too long" in row for row in log_text(app)) == 3)
        await until(lambda: not app.pasting)
        await pilot.press(*" me", "enter")  # type: ignore[attr-defined]
        assert sent(posted) == [ev.SendChat("keep me")]

    run(check)


def test_a_paste_that_fits_exactly_is_taken_and_one_more_character_is_refused() -> None:
    limit = Limits().max_text_chars

    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        paste(app, "x" * limit, "bracketed")
        field = app.query_one("#input")
        await until(lambda: len(field.value) == limit)  # type: ignore[attr-defined]
        paste(app, "y", "bracketed")
        await until(lambda: any("paste too long" in row for row in log_text(app)))
        assert field.value == "x" * limit  # type: ignore[attr-defined]
        await pilot.press("enter")  # type: ignore[attr-defined]
        assert sent(posted) == [ev.SendChat("x" * limit)]

    run(check)


# ---------------------------------------------------------------- small items (issue 12)


def test_ctrl_d_deletes_on_a_line_and_quits_on_an_empty_one() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        field = app.query_one("#input")
        await pilot.press(*"abc", "left", "left", "ctrl+d")  # type: ignore[attr-defined]
        assert field.value == "ac" and app.is_running  # type: ignore[attr-defined]
        await pilot.press("ctrl+u", "ctrl+k", "ctrl+d")  # type: ignore[attr-defined]
        await until(lambda: not app.is_running)

    run(check)


def test_up_and_down_bring_back_the_line_being_typed() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        field = app.query_one("#input")
        await pilot.press(*"sent", "enter", *"draft", "up")  # type: ignore[attr-defined]
        assert field.value == "sent"  # type: ignore[attr-defined]
        await pilot.press("down")  # type: ignore[attr-defined]
        assert field.value == "draft"  # type: ignore[attr-defined]

    run(check)


def test_f12_saves_the_screen_as_p2pchat_date_time_svg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        await pilot.press("f12")  # type: ignore[attr-defined]
        await until(lambda: any(tmp_path.iterdir()))
        (saved,) = tmp_path.iterdir()
        assert re.fullmatch(r"p2pchat-\d{8}-\d{6}\.svg", saved.name)
        assert saved.read_text().startswith("<svg")
        shown = "".join(row.strip() for row in log_text(app))
        assert "screenshot saved to" in shown and shown.endswith(f"/{saved.name}")

    run(check)


def test_the_day_rule_comes_before_the_first_line_of_each_day() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ALICE, "alice", "from another day", 1))
        await pilot.pause()  # type: ignore[attr-defined]
        rows = [row.strip() for row in log_text(app)]
        today, then = day_of(time.time()), day_of(TS + 1)
        assert rows[0].startswith("─") and today in rows[0]  # before the join line
        assert rows[1].startswith("→ alice")
        assert then in rows[2] and rows[3].endswith("alice: from another day")

    run(check)


def test_own_messages_are_bold_text_and_all() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ME, "me", "my words", 1))
        app.show_view(message(ALICE, "alice", "her words", 2))
        await pilot.pause()  # type: ignore[attr-defined]

        def bold(word: str) -> bool:
            strip = next(s for s in app.query_one("#log").lines if word in s.text)  # type: ignore[attr-defined]
            return all(seg.style and seg.style.bold for seg in strip if word in seg.text)

        assert bold("my words") and bold("me")
        assert not bold("her words")

    run(check)


# ---------------------------------------------------------------- resize (issue 12)


def sent(posted: list[object]) -> list[object]:
    """The messages the app asked the node to send."""
    return [event for event in posted if isinstance(event, ev.SendChat)]


def shown_lines(app: ChatApp) -> list[str]:
    """The lines the log shows on the screen now (its rows, wrapped parts joined)."""
    view = app.query_one("#log").scrollable_content_region
    rows = [row[view.x : view.right] for row in screen_rows(app)[view.y : view.bottom]]
    return [line for entry in entries(rows) for line in lines_of(entry)]


def visible(app: ChatApp, text: str) -> bool:
    """True if the log shows text on the screen now."""
    return any(text in line for line in shown_lines(app))


@pytest.mark.parametrize("smaller", [(100, 12), (60, 16)])
def test_a_resize_keeps_the_newest_line_in_view(smaller: tuple[int, int]) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        for i in range(60):
            app.show_view(message(ALICE, "alice", f"line {i}", i + 1))
        await until(lambda: visible(app, "line 59"))
        for size in (smaller, SIZE, smaller):
            await pilot.resize_terminal(*size)  # type: ignore[attr-defined]
            await until(lambda: visible(app, "line 59"))
            assert app.following and app.unread == 0
            assert max(len(row.rstrip()) for row in log_text(app)) <= log_width(app)

    run(check)


@pytest.mark.parametrize("smaller", [(100, 12), (60, 16)])
def test_a_resize_while_reading_back_keeps_the_place_and_the_unread_count(
    smaller: tuple[int, int],
) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        for i in range(60):
            app.show_view(message(ALICE, "alice", f"line {i}", i + 1))
        await until(lambda: visible(app, "line 59"))
        await pilot.press("pageup", "pageup")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        app.show_view(message(ALICE, "alice", "while you read", 100))
        app.show_view(message(ALICE, "alice", "and another", 101))
        top = next(found for line in shown_lines(app) for found in re.findall(r"line \d+$", line))
        await pilot.resize_terminal(*smaller)  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        header = screen_rows(app)[0]
        assert app.unread == 2 and "2 unread" in header and "port 4000" in header
        assert not visible(app, "and another")
        assert any(line.endswith(top) for line in shown_lines(app))
        await pilot.press("end")  # type: ignore[attr-defined]
        await until(lambda: visible(app, "and another"))
        assert app.unread == 0 and "unread" not in screen_rows(app)[0]

    run(check)


def test_a_rule_parts_the_history_kept_from_before_from_what_comes_in_now() -> None:
    # Issue 12: after a restart nothing told the restored history from new messages.
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        for i in range(1, 3):
            app.show_view(message(ALICE, "alice", f"kept {i}", i, restored=True))
        app.show_view(vw.HistoryEnd(2))
        app.show_view(message(ALICE, "alice", "new", 3))
        await pilot.pause()  # type: ignore[attr-defined]
        rows = [row.strip() for row in log_text(app)]
        rule = next(i for i, row in enumerate(rows) if "2 earlier messages above" in row)
        assert rows[rule].startswith("─") and "new ones below" in rows[rule]
        assert rows[rule - 1].endswith("alice: kept 2") and rows[rule + 1].endswith("alice: new")

    run(check)


def test_an_invite_shows_its_code_and_a_qr_code_to_scan() -> None:
    code = "p2pchat-aebqaad2raaqaaabaaaaaaaaaaaaaaaabwg6ytcpfxxg5a"

    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(vw.InviteCode(code, ("10.0.0.1:41234",), "lobby"))
        await pilot.pause()  # type: ignore[attr-defined]
        rows = log_text(app)
        assert any(f"invite code: {code}" in row for row in rows)
        qr = qr_lines(code)
        start = next(i for i, row in enumerate(rows) if row.startswith(qr[0]))
        assert [row[: len(qr[0])] for row in rows[start : start + len(qr)]] == qr

    run(check)


@pytest.mark.parametrize(
    ("first", "soon", "quick"),
    [(1, True, True), (2, True, False)],
    ids=["first-key-alone-rest-right-behind", "first-keys-alone-rest-after-a-stall"],
)
def test_a_typed_paste_whose_first_keys_come_alone_is_refused_whole(
    first: int, soon: bool, quick: bool
) -> None:
    # The driver can hand over a paste's first keys on their own (and, on a busy machine, stall
    # for a while before it reads the rest): they slipped into the input.
    text = multi_line_text(40_000)

    def burst(part: str, *, quick: bool, soon: bool) -> TextTyped:
        """Keys as the terminal driver hands them over: one message per burst."""
        message = TextTyped(pasting=False, quick=quick, soon=soon)
        message.parts.append(part)
        return message

    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        await pilot.press(*"keep")  # type: ignore[attr-defined]
        app.post_message(burst(text[:first], quick=False, soon=False))
        await pilot.pause()  # type: ignore[attr-defined]  # taken alone
        app.post_message(burst(text[first:], quick=quick, soon=soon))
        await until(lambda: any("paste too long" in row for row in log_text(app)))
        await until(lambda: not app.pasting)
        await pilot.press(*" me", "enter")  # type: ignore[attr-defined]
        assert sent(posted) == [ev.SendChat("keep me")]

    run(check)


def test_a_key_typed_just_before_a_refused_paste_stays() -> None:
    # One key alone came from a person's finger, however soon the paste comes after it.
    text = multi_line_text(40_000)

    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        await pilot.press(*"kee")  # type: ignore[attr-defined]
        key = TextTyped(pasting=False, quick=False, soon=False)
        key.parts.append("p")
        app.post_message(key)
        await pilot.pause()  # type: ignore[attr-defined]
        paste = TextTyped(pasting=False, quick=False, soon=True)
        paste.parts.append(text)
        app.post_message(paste)
        await until(lambda: any("paste too long" in row for row in log_text(app)))
        await until(lambda: not app.pasting)
        await pilot.press(*" me", "enter")  # type: ignore[attr-defined]
        assert sent(posted) == [ev.SendChat("keep me")]

    run(check)
