"""The message cursor of the full screen: pick a message, and its keys make command lines."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.ui.tui import ChatApp
from p2pchat.ui.tui import app as app_module
from p2pchat.ui.tui.cursor import (
    CURSOR_HINT,
    HIT_HINT,
    NO_HIT_SHOWN,
    NOT_OWN_DELETE,
    NOT_OWN_EDIT,
    REACTIONS,
)
from p2pchat.ui.tui.log import MARK_STYLE, ChatLog
from tests.ui.test_tui import ALICE, ME, SIZE, log_text, message, sent, until

Check = Callable[[ChatApp, object, list[str]], Awaitable[None]]
FIRST, MINE, LAST = f"{ALICE}:1", f"{ME}:2", f"{ALICE}:4"


def run_with_lines(test: Check, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run test on an app showing three messages (notices between them); lines it runs kept."""
    lines: list[str] = []
    real = app_module.run_line

    def recorded(line: str, post: Callable[[object], None], ui: object) -> bool:
        lines.append(line)
        return real(line, post, ui)  # type: ignore[arg-type]

    monkeypatch.setattr(app_module, "run_line", recorded)

    async def main() -> None:
        app = ChatApp()
        async with app.run_test(size=SIZE) as pilot:
            app.show_view(vw.Ready(ME, "me", "lobby", 4000, True, True))
            app.show_view(message(ALICE, "alice", "first", 1))
            app.show_view(vw.PeerJoined(ALICE, "alice", "alice", "10.0.0.2:5000"))
            app.show_view(message(ME, "me", "mine\nsecond line", 2))
            app.show_view(vw.Problem("a notice between messages"))
            app.show_view(message(ALICE, "alice", "last", 4))
            await pilot.pause()
            await test(app, pilot, lines)

    asyncio.run(main())


def picked(app: ChatApp) -> str | None:
    """The ID of the message the cursor is on (None: no cursor)."""
    marked = app.query_one("#log", ChatLog).marked
    return marked.message.msg_id if marked is not None and marked.message is not None else None


def marked_rows(app: ChatApp) -> list[str]:
    """The log's rows on the screen that stand out as the cursor's."""
    log = app.query_one("#log", ChatLog)
    rows = [log.render_line(y) for y in range(log.scrollable_content_region.height)]
    return [
        strip.text
        for strip in rows
        if any(seg.style is not None and seg.style.bgcolor == MARK_STYLE.bgcolor for seg in strip)
    ]


def draft(app: ChatApp) -> tuple[str, int]:
    """What the input line holds, and where its cursor is."""
    field = app.query_one("#input")
    return field.value, field.cursor_position  # type: ignore[attr-defined]


def test_escape_picks_the_newest_message_and_up_down_move_over_messages_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def check(app: ChatApp, pilot: object, lines: list[str]) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        assert picked(app) is None and not marked_rows(app)
        await press("escape")
        assert picked(app) == LAST
        assert app.query_one("#input").border_title == CURSOR_HINT
        visited = [picked(app)]
        for key in ("up", "up", "up", "down", "j", "k", "down", "down", "down"):
            await press(key)
            visited.append(picked(app))
        assert visited == [LAST, MINE, FIRST, FIRST, MINE, LAST, MINE, LAST, LAST, LAST]
        await press("up")
        await pilot.pause()  # type: ignore[attr-defined]
        rows = marked_rows(app)
        assert len(rows) == 2 and "me: mine" in rows[0] and "second line" in rows[1]
        await press("escape")
        assert picked(app) is None and not marked_rows(app)
        assert not app.query_one("#input").border_title
        await press("alt+up")
        assert picked(app) == LAST
        await press("alt+up")
        assert picked(app) == MINE
        assert lines == []  # nothing was sent

    run_with_lines(check, monkeypatch)


def test_r_fills_the_input_with_a_reply_and_the_rest_is_typed_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def check(app: ChatApp, pilot: object, lines: list[str]) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("escape", "up", "up", "r")
        assert draft(app) == (f"/reply {FIRST} ", len(f"/reply {FIRST} "))
        assert picked(app) is None  # the cursor is gone: keys type again
        await press(*"yes", "enter")
        assert lines == [f"/reply {FIRST} yes"]
        await press(*"typed first", "escape", "r")  # what was typed stays, after the command
        assert draft(app) == (f"/reply {LAST} typed first", len(f"/reply {LAST} typed first"))

    run_with_lines(check, monkeypatch)


def test_e_and_d_act_on_own_messages_only(monkeypatch: pytest.MonkeyPatch) -> None:
    async def check(app: ChatApp, pilot: object, lines: list[str]) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("escape", "e")
        assert draft(app) == ("", 0) and picked(app) == LAST
        await press("d")
        assert draft(app) == ("", 0) and picked(app) == LAST
        shown = "\n".join(log_text(app))
        assert NOT_OWN_EDIT in shown and NOT_OWN_DELETE in shown
        await press("up", "e")
        area = app.query_one("#multiline")
        assert area.display and area.text == f"/edit {MINE} mine\nsecond line"  # type: ignore[attr-defined]
        assert picked(app) is None
        area.load_text("")  # type: ignore[attr-defined]
        await press("escape", "up", "d")
        assert draft(app) == (f"/delete {MINE}", len(f"/delete {MINE}"))
        assert lines == []

    run_with_lines(check, monkeypatch)


def test_a_and_digits_react_digits_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    async def check(app: ChatApp, pilot: object, lines: list[str]) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("escape", "1")
        assert lines == [f"/react {LAST} {REACTIONS[0]}"]
        assert picked(app) == LAST  # still picking: another key may act on it
        await press("up", "6")
        assert lines[-1] == f"/react {MINE} {REACTIONS[5]}"
        await press("7")  # no reaction of its own: it leaves and is typed
        assert picked(app) is None and draft(app) == ("7", 1)
        app.query_one("#input").value = ""  # type: ignore[attr-defined]
        await press("escape", "a")
        assert draft(app) == (f"/react {LAST} ", len(f"/react {LAST} "))
        assert len(lines) == 2

    run_with_lines(check, monkeypatch)


def test_another_key_leaves_the_cursor_and_is_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    async def check(app: ChatApp, pilot: object, lines: list[str]) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("escape", "x")
        assert picked(app) is None and draft(app) == ("x", 1)
        await press("up")  # without the cursor, Up walks through what was typed, as before
        assert picked(app) is None

    run_with_lines(check, monkeypatch)


def test_no_message_no_cursor_and_a_short_notice() -> None:
    async def main() -> None:
        posted: list[object] = []
        app = ChatApp(posted.append)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("escape")
            assert picked(app) is None
            await until(lambda: any("no message to pick" in row for row in log_text(app)))
            await pilot.press(*"hi", "enter")
            assert sent(posted) == [ev.SendChat("hi")]

    asyncio.run(main())


def test_help_and_the_input_tell_the_cursor_and_sidebar_keys() -> None:
    async def main() -> None:
        app = ChatApp()
        async with app.run_test(size=SIZE) as pilot:
            assert "Esc to pick a message" in str(app.query_one("#input").placeholder)  # type: ignore[attr-defined]
            await pilot.press(*"/help", "enter")
            shown = "\n".join(log_text(app))
            assert "F3" in shown and "pick a message" in shown and "/reply" in shown

    asyncio.run(main())


def test_a_search_jumps_to_the_newest_hit_on_screen_and_n_to_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def check(app: ChatApp, pilot: object, lines: list[str]) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        hits = (message(ALICE, "alice", "last", 4), message(ALICE, "alice", "first", 1))
        gone = message(ALICE, "alice", "older than the screen", 0)
        app.show_view(vw.SearchResults("alice", (*hits, gone)))
        await pilot.pause()  # type: ignore[attr-defined]
        assert picked(app) == LAST
        assert app.query_one("#input").border_title.startswith(HIT_HINT)
        assert any("older than the screen" in row for row in log_text(app))  # all listed
        await press("n")
        assert picked(app) == FIRST
        await press("n")
        assert picked(app) == LAST  # after the oldest, the newest again
        await press("escape")
        app.show_view(vw.SearchResults("nothing here", (gone,)))
        await pilot.pause()  # type: ignore[attr-defined]
        assert picked(app) is None and any(NO_HIT_SHOWN[:16] in row for row in log_text(app))

    run_with_lines(check, monkeypatch)
