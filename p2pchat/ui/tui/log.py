"""The message log: entries in transcript order, each day under a rule, wrapped to its width.

It wraps to the columns it shows (its scrollbar left out), again on every change of width, and
follows the newest entry unless the user reads back. One entry may be marked (the cursor).
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass

from rich.console import RenderableType
from rich.rule import Rule
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.strip import Strip
from textual.widgets import RichLog

from p2pchat.core import views as vw
from p2pchat.ui.format import day_of

# The log's order, the same as the message log's and /history's: (Lamport clock, author,
# arrival). Lines that are not messages take the clock and author of the entry above them.
EntryKey = tuple[int, str, int]

MAX_LOG_ENTRIES = 2000
MAX_DROPPED_ROWS = 5000  # rows of entries no longer kept that the log may hold until a redraw
MARK_STYLE = Style(bgcolor="grey30", bold=True)  # the rows of the marked entry


@dataclass(slots=True)
class Entry:
    """One entry of the log: where it belongs, what it shows, and the rows it was written to."""

    key: EntryKey
    renderable: RenderableType
    ts: float
    message: vw.MessageShown | None = None  # the message it shows (None: a notice, a table...)
    top: int | None = None  # first row in the log widget, its day rule included
    row: int | None = None  # first row of the entry itself; None: to be written (again)
    end: int | None = None  # the row after its last one


class ChatLog(RichLog, can_focus=False):
    """The log widget: entries in order, written at the end or redrawn from where a late one is."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            wrap=True,
            markup=False,
            highlight=False,
            auto_scroll=False,
        )
        self.following = True  # False while the user reads back: no jumping to the newest
        self._entries: list[Entry] = []
        self._redraw_due = False
        self._redraw_whole = False
        self._serial = 0
        self._last_day: str | None = None
        self._wrap_width = 0
        self._marked: Entry | None = None

    @property
    def entries(self) -> list[Entry]:
        """The entries kept, in transcript order (read only)."""
        return self._entries

    @property
    def marked(self) -> Entry | None:
        """The entry the cursor is on, if any."""
        return self._marked

    def add_message(self, view: vw.MessageShown, renderable: RenderableType) -> Entry:
        """Place a message by its Lamport clock and author (after those that came before it)."""
        self._serial += 1
        entry = Entry((view.lamport, view.author, self._serial), renderable, view.ts, view)
        self._place(entry)
        return entry

    def add_line(self, renderable: RenderableType, *, dated_as_above: bool = False) -> Entry:
        """Place a line that is not a message after the last entry, dated now (or as that one)."""
        lamport, author, _ = self._entries[-1].key if self._entries else (0, "", 0)
        self._serial += 1
        ts = self._entries[-1].ts if dated_as_above and self._entries else time.time()
        entry = Entry((lamport, author, self._serial), renderable, ts)
        self._place(entry)
        return entry

    def showing(self, msg_id: str) -> list[Entry]:
        """The entries that show the message msg_id (/history may show it again)."""
        return [e for e in self._entries if e.message is not None and e.message.msg_id == msg_id]

    def rewrite(self, entry: Entry) -> None:
        """Show an entry again after its renderable changed (with what follows it)."""
        entry.row = None
        self._schedule_redraw()

    def redraw(self) -> None:
        """Write entries again from the first one not written (all on a resize); the view stays."""
        # Late entries come in bursts (a sync brings hundreds at a time): one redraw for each.
        self._redraw_due = False
        if not self._wrap_width:
            return  # the first resize brings it back
        anchor = None if self.following else self._first_visible()
        start = 0
        if not self._redraw_whole:
            unwritten = (i for i, entry in enumerate(self._entries) if entry.row is None)
            start = next(unwritten, len(self._entries))
        self._redraw_whole = False
        tops = [entry.top for entry in self._entries[start:] if entry.top is not None]
        if start == 0:
            self.clear()
        elif tops:
            self._cut(min(tops))  # entries from start on are all below the ones before it
        self._last_day = day_of(self._entries[start - 1].ts) if start else None
        for entry in self._entries[start:]:
            entry.top = entry.row = entry.end = None
        for entry in self._entries[start:]:
            self._write(entry, scroll=False)
        if anchor is not None and anchor[0].row is not None:
            self.scroll_to(y=anchor[0].row + anchor[1], animate=False, immediate=True)
        elif self.following:
            self.scroll_end(animate=False, immediate=True)

    def at_end(self) -> bool:
        """True if the newest row is in view."""
        return self.max_scroll_y == 0 or self.scroll_y >= self.max_scroll_y - 1

    def mark(self, entry: Entry | None) -> None:
        """Highlight entry (None: none) and scroll its rows into view."""
        self._marked = entry
        self.refresh()
        if entry is not None:
            self.show_entry(entry)

    def show_entry(self, entry: Entry) -> None:
        """Scroll the entry's rows into view (its first row if it is taller than the view)."""
        if entry.row is None or entry.end is None:
            return
        height = self.scrollable_content_region.height
        top = round(self.scroll_y)
        if entry.row < top:
            y = entry.row
        elif entry.end > top + height:
            y = min(entry.row, entry.end - height)
        else:
            return
        self.scroll_to(y=y, animate=False, immediate=True)
        if not self.at_end():
            self.following = False

    def render_line(self, y: int) -> Strip:
        """A row of the view; the marked entry's rows stand out."""
        strip = super().render_line(y)
        entry = self._marked
        if entry is None or entry.row is None or entry.end is None:
            return strip
        marked = entry.row <= self.scroll_offset.y + y < entry.end
        if not marked:
            return strip
        return Strip(Segment.apply_style(strip, post_style=MARK_STYLE), strip.cell_length)

    def on_resize(self, event: events.Resize) -> None:
        """A new width wraps every entry again; a new height keeps the newest row in view."""
        # RichLog's own handler runs as well. Entries wrap to the columns shown: the scrollbar's
        # are left out.
        width = self.scrollable_content_region.width
        if width != self._wrap_width:
            self._wrap_width = width
            self._schedule_redraw(whole=True)
        elif self.following:
            # Shorter or taller: the newest row stays at the bottom once the layout is done.
            self.app.call_after_refresh(self._follow)

    def _place(self, entry: Entry) -> None:
        """Put an entry where its key belongs: written at once at the end, else one redraw."""
        at = bisect.bisect_right(self._entries, entry.key, key=lambda e: e.key)
        self._entries.insert(at, entry)
        if at < len(self._entries) - 1 or not self._wrap_width:
            # From the past (a sync brings hundreds at a time), or before the log has a size:
            # the log is redrawn from there once the burst it came with is in.
            self._schedule_redraw()
        elif not self._redraw_due:
            self._write(entry, scroll=self.following)
        if len(self._entries) > MAX_LOG_ENTRIES:
            dropped = len(self._entries) - MAX_LOG_ENTRIES
            if any(entry is self._marked for entry in self._entries[:dropped]):
                self.mark(None)  # its rows go with the next redraw
            del self._entries[:dropped]
            first = self._entries[0].top
            if first is not None and first > MAX_DROPPED_ROWS:
                self._schedule_redraw(whole=True)  # let go of rows no longer kept

    def _write(self, entry: Entry, *, scroll: bool) -> None:
        entry.top = len(self.lines)
        day = day_of(entry.ts)
        width = self._wrap_width  # never 0 here: nothing is written before the log has a size
        if day != self._last_day:
            self._last_day = day
            self.write(Rule(day, style="dim"), width=width, scroll_end=scroll)
        entry.row = len(self.lines)
        self.write(entry.renderable, width=width, scroll_end=scroll)
        entry.end = len(self.lines)

    def _schedule_redraw(self, *, whole: bool = False) -> None:
        # On the app's queue: behind the views of the burst that is being handled.
        self._redraw_whole = self._redraw_whole or whole
        if not self._redraw_due:
            self._redraw_due = True
            self.app.call_after_refresh(self.redraw)

    def _first_visible(self) -> tuple[Entry, int] | None:
        """The entry at the top of the view and how many of its rows are above it."""
        top = round(self.scroll_y)
        written = [entry for entry in self._entries if entry.row is not None]
        at = bisect.bisect_right(written, top, key=lambda e: e.row or 0) - 1
        if at < 0:
            return None
        row = written[at].row or 0
        return written[at], top - row

    def _cut(self, row: int) -> None:
        """Forget the rows from row on, to write what follows again in another order."""
        del self.lines[row:]
        self._line_cache.clear()  # rows are cached by their number: these change
        self.virtual_size = Size(self.virtual_size.width, len(self.lines))
        self.refresh()

    def _follow(self) -> None:
        if self.following:
            self.scroll_end(animate=False, immediate=True)
