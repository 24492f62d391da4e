"""The input widgets: the line, and the multi-line box that stands in while there are breaks.

What they take in (pastes, Enter, Up/Down, Tab) goes to their InputOwner.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from textual import events
from textual.binding import Binding
from textual.widgets import Input, TextArea

from p2pchat.ui.completion import complete


class InputOwner(Protocol):
    """Who the input widgets hand pastes, Enter, Up/Down and completions to."""

    def take_text(self, text: str) -> bool:
        """Put pasted text at the cursor; False if it was refused."""
        ...

    def send_draft(self) -> None:
        """Send what the input holds."""
        ...

    def recall(self, *, older: bool) -> None:
        """Show an earlier (or later) line that was sent."""
        ...

    def nicks(self) -> list[str]:
        """Names to complete."""
        ...


class ChatInput(Input):
    """The input line: Up/Down walk through what was typed, Tab completes nicks and commands."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("up", "older", "earlier line", show=False),
        Binding("down", "newer", "later line", show=False),
        Binding("tab", "complete", "complete", show=False, priority=True),
        Binding("ctrl+d", "delete_right_or_quit", "delete, or quit on an empty line", show=False),
    ]

    def __init__(self, owner: InputOwner, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._owner = owner

    def on_paste(self, event: events.Paste) -> None:
        """A paste keeps all its lines (Input alone would keep only the first)."""
        event.stop()
        event.prevent_default()
        self._owner.take_text(event.text)

    def action_older(self) -> None:
        """Up: the line typed before."""
        self._owner.recall(older=True)

    def action_newer(self) -> None:
        """Down: the line typed after."""
        self._owner.recall(older=False)

    def action_complete(self) -> None:
        """Tab: complete the nick or command before the cursor."""
        before = self.value[: self.cursor_position]
        found = complete(before, self._owner.nicks())
        if found is None:
            return
        replaced, text = found
        start = len(before) - replaced
        self.value = before[:start] + text + self.value[self.cursor_position :]
        self.cursor_position = start + len(text)

    def action_delete_right_or_quit(self) -> None:
        """Ctrl+D: delete to the right, or quit on an empty line."""
        if self.value:
            self.action_delete_right()
        else:
            self.app.exit()

    def action_paste(self) -> None:
        """Paste from the app's clipboard, as a paste from the terminal."""
        self._owner.take_text(self.app.clipboard)

    async def action_submit(self) -> None:
        """Enter: send."""
        self._owner.send_draft()


class MultiLineInput(TextArea):
    """The input while it holds several lines: they can be edited, and Enter sends them all."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("up", "older", "line up, or the earlier line you typed", show=False),
        Binding("down", "newer", "line down, or the later line you typed", show=False),
    ]

    def __init__(self, owner: InputOwner, **kwargs: object) -> None:
        super().__init__(soft_wrap=True, tab_behavior="indent", **kwargs)  # type: ignore[arg-type]
        self.indent_type = "tabs"
        self._owner = owner

    def on_key(self, event: events.Key) -> None:
        """Enter sends (TextArea alone would start a new line); Escape keeps the focus here."""
        if event.key in ("enter", "escape"):
            event.stop()
            event.prevent_default()
        if event.key == "enter":
            self._owner.send_draft()

    def on_paste(self, event: events.Paste) -> None:
        """A paste is checked against the size limit first."""
        event.stop()
        event.prevent_default()
        self._owner.take_text(event.text)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Keep the count of lines in the title up to date."""
        self.show_size()

    def show_size(self) -> None:
        """Say in the title how many lines the message has and how to send it."""
        lines = self.document.line_count
        self.border_title = f"{lines} line{'s' if lines != 1 else ''}, one message · Enter sends"

    def action_older(self) -> None:
        """Up: a line up, or from the first line the line typed before."""
        if self.cursor_at_first_line:
            self._owner.recall(older=True)
        else:
            self.action_cursor_up()

    def action_newer(self) -> None:
        """Down: a line down, or from the last line the line typed after."""
        if self.cursor_at_last_line:
            self._owner.recall(older=False)
        else:
            self.action_cursor_down()

    def action_paste(self) -> None:
        """Paste from the app's clipboard, as a paste from the terminal."""
        self._owner.take_text(self.app.clipboard)
