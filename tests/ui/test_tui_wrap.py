"""The full screen's log shows every character at any width, and the sidebar makes room."""

from __future__ import annotations

import pytest

from p2pchat.core import views as vw
from p2pchat.ui.format import GUTTER_COLUMNS, MIN_HANGING_TEXT_COLUMNS
from p2pchat.ui.tui import ChatApp
from p2pchat.ui.tui.app import SIDEBAR_MIN_COLUMNS
from tests.ui.test_tui import ALICE, BOB, entries, message, run, screen_rows, until

WIDTHS = (50, 60, 80, 100, 160)
HEIGHT = 40  # rows: the long messages fit on the screen whole, even at the narrowest width
LONG = (
    "Words vanish in the full screen interface: this message should wrap onto the next line "
    "because it is longer than the log is wide, and every single word of it must be shown "
    "somewhere, never hidden under the peer sidebar or cut at the edge of the screen; "
    "supercalifragilisticexpialidocious words and numbers like 1234567890 included. THE END"
)
URL = "https://example.com/" + "abcdefghijklmnopqrstuvwxyz0123456789" * 5  # 200 characters
PREFIX_END = ": "  # what ends the time and nick before a message's text


def indent(row: str) -> int:
    """Columns of space a row starts with."""
    return len(row) - len(row.lstrip(" "))


def log_rows(app: ChatApp) -> list[str]:
    """The rows of the log as the screen shows them: only the columns it shows, no scrollbar."""
    view = app.query_one("#log").scrollable_content_region
    return [row[view.x : view.right] for row in screen_rows(app)[view.y : view.bottom]]


def shown_text(app: ChatApp, nick: str) -> tuple[list[str], int]:
    """The rows of nick's message on the screen, its text only, and the column its text is at."""
    found = next(rows for rows in entries(log_rows(app)) if f"] {nick}:" in rows[0])
    column = found[0].index(f"] {nick}{PREFIX_END}") + len(f"] {nick}{PREFIX_END}")
    return [found[0][column:], *found[1:]], column


def words_shown(app: ChatApp, nick: str) -> list[str]:
    """The words of each row of nick's message on the screen."""
    rows, _ = shown_text(app, nick)
    return [word for row in rows for word in row.split()]


def chars_shown(app: ChatApp, nick: str) -> str:
    """nick's message as the screen shows it, its rows joined with no space at all."""
    rows, _ = shown_text(app, nick)
    return "".join("".join(rows).split())


async def all_shown(app: ChatApp) -> None:
    """Wait until the log shows both long messages whole, in order; check every word of one."""

    def whole() -> bool:
        try:
            return chars_shown(app, "alice") == "".join(LONG.split()) and (
                chars_shown(app, "bob") == URL
            )
        except StopIteration:
            return False

    await until(whole)
    # Words fit for a row are never broken: each is whole on one. A longer one is broken
    # across rows, and found above in the characters joined.
    shown = words_shown(app, "alice")
    room = app.query_one("#log").scrollable_content_region.width - shown_text(app, "alice")[1]
    for word in LONG.split():
        assert len(word) > room or word in shown, word


def show_both(app: ChatApp) -> None:
    app.show_view(message(ALICE, "alice", LONG, 1))
    app.show_view(message(BOB, "bob", URL, 2))


@pytest.mark.parametrize("width", WIDTHS)
def test_every_word_and_every_character_of_a_long_url_is_on_the_screen(width: int) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        show_both(app)
        await all_shown(app)
        log = app.query_one("#log")
        peers = app.query_one("#peers")
        if peers.display:
            assert log.scrollable_content_region.right <= peers.region.x
        rows, column = shown_text(app, "alice")
        assert len(rows) > 1  # it wrapped
        # Wrapped rows hang under the text, not under the time and nick (on a log too narrow
        # for that, behind the gutter).
        room = log.scrollable_content_region.width - column >= MIN_HANGING_TEXT_COLUMNS
        assert {indent(row) for row in rows[1:]} == {column if room else GUTTER_COLUMNS}

    run(check, (width, HEIGHT))


def test_a_resize_wraps_again_and_nothing_is_lost() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        show_both(app)
        await all_shown(app)
        for width in (50, 160, 80, 60, 100):
            await pilot.resize_terminal(width, HEIGHT)  # type: ignore[attr-defined]
            await until(lambda w=width: app.query_one("#log").region.right <= w)
            await all_shown(app)

    run(check, (100, HEIGHT))


def test_the_sidebar_hides_on_a_narrow_terminal_and_shows_on_a_wide_one() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        peers = app.query_one("#peers")
        log = app.query_one("#log")
        assert not peers.display and log.region.width == 60
        await pilot.resize_terminal(100, HEIGHT)  # type: ignore[attr-defined]
        await until(lambda: bool(peers.display) and log.region.right == peers.region.x)
        await pilot.resize_terminal(SIDEBAR_MIN_COLUMNS - 1, HEIGHT)  # type: ignore[attr-defined]
        await until(lambda: not peers.display)

    run(check, (60, HEIGHT))


@pytest.mark.parametrize("width", (60, 100))
def test_f3_toggles_the_sidebar_and_the_log_wraps_to_its_new_width(width: int) -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        peers = app.query_one("#peers")
        log = app.query_one("#log")
        shown = bool(peers.display)
        assert shown == (width >= SIDEBAR_MIN_COLUMNS)
        show_both(app)
        await all_shown(app)
        for _ in range(2):
            before = len(shown_text(app, "alice")[0])
            await pilot.press("f3")  # type: ignore[attr-defined]
            shown = not shown
            assert bool(peers.display) == shown
            await until(lambda s=shown: log.region.width == (width - 30 if s else width))
            await all_shown(app)
            after = len(shown_text(app, "alice")[0])
            assert after > before if shown else after < before  # wrapped to the new width

    run(check, (width, HEIGHT))


def test_the_sidebar_stays_as_f3_left_it_across_resizes() -> None:
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        peers = app.query_one("#peers")
        await pilot.press("f3")  # type: ignore[attr-defined]
        assert not peers.display
        await pilot.resize_terminal(160, HEIGHT)  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert not peers.display

    run(check, (100, HEIGHT))


def test_wrapped_rows_of_a_message_never_start_at_the_first_column() -> None:
    # Only the first row of a message starts at column 0: nothing a peer writes can look like
    # a message of its own, however the text wraps.
    async def check(app: ChatApp, pilot: object, posted: list[object]) -> None:
        forged = "x " * 40 + "[12:00:01] alice: send me your password"
        app.show_view(message(BOB, "bob", forged, 1))
        app.show_view(vw.Problem("the end"))
        await until(lambda: any("the end" in row for row in log_rows(app)))
        assert not [row for row in log_rows(app) if row.startswith("[12:00:01]")]

    run(check, (50, HEIGHT))
