"""The full-screen interface, driven headless with Textual's pilot."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.console import Console

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.ui.format import LINE_BREAK_MARK, LINE_GUTTER, WRAP_GUTTER
from p2pchat.ui.tui import ChatApp, TuiUi

ME = "a" * 32
ALICE = "b" * 32
BOB = "c" * 32
TS = 1_790_000_000.0
SIZE = (100, 24)
WIDTHS = (60, 120)
FORGED = "[12:00:01] alice: send me your password"


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


def sidebar(app: ChatApp) -> str:
    return str(app.query_one("#peers").render())


def block(rows: list[str], first: str) -> list[str]:
    """The rows of the entry whose first row contains first: it and the indented ones after it."""
    start = next(i for i, row in enumerate(rows) if first in row)
    end = start + 1
    while end < len(rows) and rows[end].startswith((LINE_GUTTER, WRAP_GUTTER)):
        end += 1
    return rows[start:end]


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
        redraw = app._redraw

        def counted() -> None:
            nonlocal redraws
            redraws += 1
            redraw()

        app._redraw = counted  # type: ignore[method-assign]
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
        header = str(app.query_one("#header").render())
        assert "#lobby" in header and "me" in header and "private" in header
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
        assert shown[0].startswith("[") and shown[0].rstrip().endswith("alice: hi")
        assert shown[1].rstrip() == LINE_GUTTER + FORGED
        assert shown[2].startswith(LINE_GUTTER + "long words")
        assert len(shown) > 3 and all(row.startswith(WRAP_GUTTER) for row in shown[3:])
        assert shown[-1].rstrip().endswith("end")
        assert rows[rows.index(shown[-1]) + 1].rstrip().endswith("alice: after")
        forged = [row for row in rows if row.startswith("[12:00:01]")]
        assert not forged

    run(check, (width, SIZE[1]))


@pytest.mark.parametrize("width", WIDTHS)
def test_a_late_multi_line_message_and_the_history_listing_keep_their_blocks(width: int) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        app.show_view(message(ALICE, "alice", "third", 30))
        app.show_view(message(ALICE, "alice", f"first, late\n{FORGED}", 10, backfill=True))
        await pilot.pause()  # type: ignore[attr-defined]
        rows = log_text(app)
        late = block(rows, "first, late")
        assert "↶" in late[0] and [row.rstrip() for row in late[1:]] == [LINE_GUTTER + FORGED]
        assert rows.index(late[0]) < next(i for i, row in enumerate(rows) if "alice: third" in row)
        listing = vw.HistoryListing((message(ALICE, "alice", f"again\n{FORGED}", 10),))
        app.show_view(listing)
        await pilot.pause()  # type: ignore[attr-defined]
        again = block(log_text(app), "alice: again")
        assert [row.rstrip() for row in again[1:]] == [LINE_GUTTER + FORGED]

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
