"""The draft: what the input holds, read and edited as one text whichever widget shows it.

Also the lines sent before it, for Up/Down.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.dom import DOMNode

from p2pchat.ui.tui.inputs import ChatInput, MultiLineInput

INPUT_HISTORY = 200


@dataclass(frozen=True, slots=True)
class Draft:
    """What the input holds: its text and the cursor, as an offset into the text."""

    text: str
    cursor: int


class DraftBox:
    """The input as one editor: the line, or the multi-line box while the text has breaks."""

    def __init__(self, root: DOMNode) -> None:
        self._root = root  # where the two widgets are

    def read(self) -> Draft:
        """The text and cursor of the widget that shows the draft."""
        area = self._area()
        if area.display:
            text = area.text
            return Draft(text, offset_of(text, area.cursor_location))
        field = self._field()
        return Draft(field.value, field.cursor_position)

    def selected_chars(self) -> int:
        """How many characters are selected (a paste takes their place)."""
        area = self._area()
        if area.display:
            return len(area.selected_text)
        start, end = self._field().selection
        return abs(end - start)

    def insert(self, text: str) -> None:
        """Text at the cursor, in place of what is selected: one edit."""
        area = self._area()
        if area.display:
            top, bottom = sorted(area.selection)
            area.replace(text, top, bottom, maintain_selection_offset=False)
            if not area.has_focus:
                area.focus()
            return
        field = self._field()
        start, end = sorted(field.selection)
        if "\n" not in text:
            field.replace(text, start, end)
            if not field.has_focus:
                field.focus()
            return
        value = field.value[:start] + text + field.value[end:]
        self.show(Draft(value, start + len(text)))

    def show(self, draft: Draft) -> None:
        """Show draft in the input: the multi-line box if it has line breaks, else the line."""
        field = self._field()
        area = self._area()
        if "\n" in draft.text:
            field.value = ""
            area.load_text(draft.text)
            area.move_cursor(location_of(draft.text, draft.cursor))
            area.show_size()
            field.display = False
            area.display = True
            area.focus()
        else:
            if area.display:
                area.load_text("")
                area.display = False
                field.display = True
            field.value = draft.text
            field.cursor_position = draft.cursor
            field.focus()

    def cursor_to_end(self) -> None:
        """Move the cursor to the end of the draft."""
        area = self._area()
        if area.display:
            area.move_cursor(area.document.end)
        else:
            field = self._field()
            field.cursor_position = len(field.value)

    def _field(self) -> ChatInput:
        return self._root.query_one("#input", ChatInput)

    def _area(self) -> MultiLineInput:
        return self._root.query_one("#multiline", MultiLineInput)


class TypedHistory:
    """What was sent, for Up/Down; the draft being typed is kept while walking through it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._cursor = 0
        self._draft = ""

    def remember(self, line: str) -> None:
        """Keep a sent line and go back to a new, empty draft."""
        if line and (not self.lines or self.lines[-1] != line):
            self.lines.append(line)
            del self.lines[:-INPUT_HISTORY]
        self._cursor = len(self.lines)
        self._draft = ""

    def older(self, current: str) -> str | None:
        """The line before the one shown (current: what the input holds now); None at the top."""
        if self._cursor == 0:
            return None
        if self._cursor == len(self.lines):
            self._draft = current
        self._cursor -= 1
        return self.lines[self._cursor]

    def newer(self) -> str | None:
        """The line after the one shown, then the draft again; None if already there."""
        if self._cursor >= len(self.lines):
            return None
        self._cursor += 1
        return self.lines[self._cursor] if self._cursor < len(self.lines) else self._draft


def offset_of(text: str, location: tuple[int, int]) -> int:
    """The offset into text of a (row, column) location (rows end at line breaks)."""
    row, column = location
    start = 0
    for _ in range(row):
        start = text.index("\n", start) + 1
    return start + column


def location_of(text: str, offset: int) -> tuple[int, int]:
    """The (row, column) location of an offset into text."""
    row = text.count("\n", 0, offset)
    return row, offset - (text.rfind("\n", 0, offset) + 1)
