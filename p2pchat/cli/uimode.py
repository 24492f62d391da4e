"""Which user interface the chat runs (--ui), how much stored history it shows, its input, and
its desktop notifications (none in JSON lines).

Each interface is imported only when chosen: JSON lines need neither Textual, rich nor
prompt_toolkit, and a process starts faster without them."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING

from p2pchat.core.limits import Limits
from p2pchat.ui.base import Ui
from p2pchat.ui.lines import StdinLines

if TYPE_CHECKING:
    from p2pchat.ui.notifiers import Notifications
    from p2pchat.ui.terminal import TerminalLines
    from p2pchat.ui.tui import ChatApp

PLAIN_REPLAY = 50  # stored messages shown at start in plain lines
TUI_REPLAY = 500  # stored messages shown at start on the full screen


class UiMode(StrEnum):
    """The values of --ui: full screen, plain lines, or JSON lines."""

    TUI = "tui"
    PLAIN = "plain"
    JSON = "json"


def on_terminal() -> bool:
    """True when both stdin and stdout are a terminal."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def chosen_mode(requested: str | None) -> UiMode:
    """The --ui mode asked for; without one, the full screen on a terminal, else plain lines."""
    if requested is not None:
        return UiMode(requested)
    return UiMode.TUI if on_terminal() else UiMode.PLAIN


def replay_on_start(mode: UiMode) -> int | None:
    """How many stored messages the mode shows at start (None: all of them, as JSON)."""
    return {UiMode.JSON: None, UiMode.TUI: TUI_REPLAY}.get(mode, PLAIN_REPLAY)


def make_ui(
    mode: UiMode, *, notify: bool = True
) -> tuple[Ui, ChatApp | None, Notifications | None]:
    """The Ui for mode, the full-screen app that runs it (None: the chat reads lines), and its
    notifications, to be closed at the end (None in JSON lines; turned off unless notify)."""
    if mode is UiMode.JSON:
        from p2pchat.ui.jsonlines import JsonUi

        return JsonUi(sys.stdout), None, None
    from p2pchat.ui.notifiers import Notifications, choose_notifier

    if mode is UiMode.TUI:
        from p2pchat.ui.tui import ChatApp, TuiUi

        app = ChatApp()
        notifier = choose_notifier(sys.stdout, enabled=notify, terminal=app.write_terminal)
        app.notifications = Notifications(notifier)
        return TuiUi(app), app, app.notifications
    from p2pchat.ui.plain import PlainUi

    notifications = Notifications(choose_notifier(sys.stdout, enabled=notify))
    return PlainUi(notifications=notifications), None, notifications


def typed_lines(mode: UiMode, ui: Ui, limits: Limits) -> StdinLines | TerminalLines:
    """A line editor when plain mode runs on a terminal; plain lines from pipes and files."""
    if mode is UiMode.PLAIN and on_terminal():
        from p2pchat.ui.plain import PlainUi
        from p2pchat.ui.terminal import TerminalLines

        if isinstance(ui, PlainUi):
            return TerminalLines(ui.problem, ui.nicks, limits.max_text_chars)
    return StdinLines()
