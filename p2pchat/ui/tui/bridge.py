"""How views reach the app: posted from the node's thread, or shown at once on its own loop.

TuiUi is the Ui the node talks to; AppUi is the one typed commands run with. Both are the `Ui`
of `ui/base.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from textual.message import Message

from p2pchat.core import views as vw
from p2pchat.ui.tui.log import ChatLog
from p2pchat.ui.tui.panels import help_text


class ViewArrived(Message):
    """A view from the node thread."""

    def __init__(self, view: vw.View) -> None:
        super().__init__()
        self.view = view


class TerminalWrite(Message):
    """Text for the terminal itself (a notification's escape), written in order with the screen."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ViewTarget(Protocol):
    """What TuiUi needs of the app: a thread-safe post, and a hook it calls once it runs."""

    on_started: Callable[[], None] | None

    def post_message(self, message: Message) -> bool:
        """Queue a message for the app's loop, from any thread, without waiting."""
        ...


class TuiUi:
    """The Ui the node talks to (from its own thread): views are posted to the app."""

    def __init__(self, app: ViewTarget) -> None:
        self.app = app
        self._early: list[vw.View] = []
        self._live = False
        self._lock = threading.Lock()
        app.on_started = self._go_live

    def show(self, view: vw.View) -> None:
        """Hand a view to the app without waiting (kept, in order, until the app runs)."""
        with self._lock:
            if self._live:
                self.app.post_message(ViewArrived(view))
            else:
                self._early.append(view)

    def show_help(self) -> None:
        """Help is shown by the app itself."""

    def problem(self, text: str) -> None:
        """A local problem, as a view."""
        self.show(vw.Problem(text))

    def flush(self) -> None:
        """Nothing to do."""

    def _go_live(self) -> None:
        with self._lock:
            for view in self._early:
                self.app.post_message(ViewArrived(view))
            self._early.clear()
            self._live = True


class AppUi:
    """The Ui for code running on the app's own loop (typed commands): views are shown at once."""

    def __init__(self, show: Callable[[vw.View], None], log: ChatLog) -> None:
        self._show = show
        self._log = log

    def show(self, view: vw.View) -> None:
        """Show a view now."""
        self._show(view)

    def show_help(self) -> None:
        """The commands and keys, as one entry of the log."""
        self._log.add_line(help_text())

    def problem(self, text: str) -> None:
        """A local problem, as a view."""
        self._show(vw.Problem(text))

    def flush(self) -> None:
        """Nothing to do: the app draws as views arrive."""
