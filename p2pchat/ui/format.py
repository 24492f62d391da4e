"""How messages look, shared by the plain and full-screen interfaces (pure functions)."""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterable

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text

from p2pchat.core import views as vw
from p2pchat.core.directrecords import DirectStatus

NICK_COLOURS = (
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "bright_red",
    "bright_green",
    "bright_yellow",
    "bright_blue",
    "bright_magenta",
    "bright_cyan",
)
URL = re.compile(r"https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]")
CODE = re.compile(r"`([^`\n]+)`")
# What a character that could reorder or forge the screen is shown as, by its code point.
PLACEHOLDER = "⟨U+{:04X}⟩"
TAB_SPACES = 4
LINE_BREAK_MARK = " ⏎ "
# Every row of a block but its first starts with a gutter, so only the first can look like
# "[time] nick: ...": the next lines of a text behind LINE_GUTTER, wrapped parts behind WRAP_GUTTER.
LINE_GUTTER = "  │ "
WRAP_GUTTER = "    "
GUTTER_STYLE = "dim"
GUTTER_COLUMNS = cell_len(LINE_GUTTER)
MIN_WRAP_COLUMNS = 8
# A first line's wrapped parts hang under its text (see Hanging.indent) while this many columns
# are left for them; on a narrower width they go behind WRAP_GUTTER.
MIN_HANGING_TEXT_COLUMNS = 20
# How our own direct message stands, after its "→ carol (direct)": one-cell marks, as ↶ and ↪.
# A DM sent over the recipient's own link (SENT) shows none until its receipt makes it ✓.
DM_MARKS: dict[DirectStatus, tuple[str, str]] = {
    DirectStatus.QUEUED: ("◷ queued", "dim"),
    DirectStatus.DELIVERED: ("✓", "green"),
    DirectStatus.EXPIRED: ("✗ expired", "red"),
}

# Embeddings, overrides, isolates and directional marks (Unicode bidi controls).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0 controls but tab and newline, DEL, C1 controls; lone surrogates cannot be printed at all.
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff"
_UNSAFE = re.compile(f"[{_CONTROL}{_BIDI}]")
_LINE_BREAK = re.compile("\r\n|[\r\u2028\u2029]")


def safe_display(text: str) -> str:
    """Peer text fit to show: breaks as "\\n", tabs as spaces, controls and bidi as ⟨U+XXXX⟩."""
    text = _LINE_BREAK.sub("\n", text).replace("\t", " " * TAB_SPACES)
    return _UNSAFE.sub(lambda match: PLACEHOLDER.format(ord(match.group())), text)


def safe_line(text: str) -> str:
    """safe_display for text that must stay on one line: each line break shown as " ⏎ "."""
    return safe_display(text).replace("\n", LINE_BREAK_MARK)


class Hanging:
    """Rich Text shown so that only its first row starts at column 0 (see LINE_GUTTER)."""

    def __init__(self, text: Text, *, indent: int = GUTTER_COLUMNS) -> None:
        self.text = text
        self.indent = max(indent, GUTTER_COLUMNS)  # where the first line's wrapped parts start

    @property
    def plain(self) -> str:
        """The text without styles or gutters."""
        return self.text.plain

    def rows(self, console: Console, width: int | None) -> list[Text]:
        """The rows as shown, gutters included: wrapped to width cells (None: at newlines only)."""
        rows: list[Text] = []
        hang = self._hang(width)
        for number, line in enumerate(self.text.split("\n", allow_blank=True)):
            if width is None:
                parts = [line]
            elif number == 0:
                parts = _wrap(console, line, width, max(width - hang, MIN_WRAP_COLUMNS))
            else:
                inner = max(width - GUTTER_COLUMNS, MIN_WRAP_COLUMNS)
                parts = _wrap(console, line, inner, inner)
            for index, part in enumerate(parts):
                if number == 0 and index == 0:
                    rows.append(part)
                elif number == 0:
                    rows.append(Text.assemble((" " * hang, GUTTER_STYLE), part))
                else:
                    gutter = WRAP_GUTTER if index else LINE_GUTTER
                    rows.append(Text.assemble((gutter, GUTTER_STYLE), part))
        return rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Rows wrapped to the width, unless rich would not wrap and no terminal will."""
        wrap = not options.no_wrap or options.is_terminal
        for row in self.rows(console, options.max_width if wrap else None):
            yield from row.render(console)
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        """As wide as the widest line unwrapped: the first alone, later ones behind the gutter."""
        first, *later = self.text.plain.split("\n")
        widest = max([cell_len(first), *(GUTTER_COLUMNS + cell_len(line) for line in later)])
        words = Measurement.get(console, options, self.text).minimum + GUTTER_COLUMNS
        return Measurement(min(words, widest), widest).with_maximum(options.max_width)

    def _hang(self, width: int | None) -> int:
        """Where the first line's wrapped parts start: under its text if that leaves room."""
        if width is None or width - self.indent < MIN_HANGING_TEXT_COLUMNS:
            return GUTTER_COLUMNS
        return self.indent


def nick_colour(node_id: str) -> str:
    """A colour that stays the same for a node across runs and machines."""
    return NICK_COLOURS[zlib.crc32(node_id.encode()) % len(NICK_COLOURS)]


def stamp(ts: float, now: float | None = None) -> str:
    """HH:MM:SS for today, the date as well for older messages."""
    when = time.localtime(ts)
    today = time.localtime(now)
    same_day = (when.tm_year, when.tm_yday) == (today.tm_year, today.tm_yday)
    return time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M", when)


def day_of(ts: float) -> str:
    """The calendar day of a timestamp, for day separators."""
    return time.strftime("%A, %d %B %Y", time.localtime(ts))


def mentions(text: str, nick: str) -> bool:
    """True if text names nick as a word (case-insensitive), as in "alice: look" or "@alice"."""
    return re.search(rf"(?<![\w-]){re.escape(nick)}(?![\w-])", text, re.IGNORECASE) is not None


def body(text: str, style: str = "") -> Text:
    """User text as rich Text: never markup; URLs underlined and linked, `code` set apart."""
    rendered = Text(text, style=style)
    for match in URL.finditer(text):
        rendered.stylize(f"underline blue link {match.group(0)}", match.start(), match.end())
    for match in CODE.finditer(text):
        rendered.stylize("bold on grey23", match.start(), match.end())
    return rendered


def message_line(
    view: vw.MessageShown, *, mention: bool = False, now: float | None = None
) -> Hanging:
    """One message: time, coloured nick, direct and backfill marks, then the text as one block."""
    line = Text()
    line.append(f"[{stamp(view.ts, now)}] ", style="dim")
    if view.backfill:
        line.append("↶ ", style="dim")
    nick_style = nick_colour(view.author) + (" bold" if view.own else "")
    if view.action:
        line.append("* ", style=nick_style)
    line.append(safe_line(view.display), style=nick_style)
    if view.direct:
        to_nick = safe_line(view.to_nick or "")
        arrow = f" → {to_nick} (direct)" if view.own else " → you (direct)"
        line.append(arrow, style="magenta")
    mark = dm_mark(view)
    if mark is not None:
        line.append(" ")
        line.append_text(mark)
    line.append(" " if view.action else ": ")
    if view.reply_to is not None:
        quoted = "a message we do not have" if view.reply_text is None else view.reply_text
        line.append(f"↪ “{safe_line(quoted)}” ", style="dim italic")
    text_style = "magenta" if view.direct else "italic" if view.action else ""
    if mention:
        text_style = "bold reverse yellow"
    elif view.backfill:
        text_style = "dim"
    line.append_text(body(safe_display(view.text), text_style))
    if view.edited:
        line.append(" (edited)", style="dim")
    if view.reactions:
        line.append("\n")
        line.append_text(reaction_counts(view.reactions))
    return Hanging(line)


def dm_mark(view: vw.MessageShown) -> Text | None:
    """The mark of how our own direct message stands (DM_MARKS), or None: not ours, or none."""
    if not (view.own and view.direct) or view.dm_status is None:
        return None
    mark = DM_MARKS.get(view.dm_status)
    return None if mark is None else Text(mark[0], style=mark[1])


def reaction_counts(reactions: Iterable[vw.ReactionCount]) -> Text:
    """Reactions as compact counts, ours in bold: `👍 2  🎉 1`."""
    counts = Text()
    for i, reaction in enumerate(reactions):
        if i:
            counts.append("  ")
        style = "bold" if reaction.own else "dim"
        counts.append(f"{safe_line(reaction.emoji)} {reaction.count}", style=style)
    return counts


def duration(seconds: float) -> str:
    """3725 -> '1h02m'; 75 -> '1m15s'; 4.2 -> '4s'."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _wrap(console: Console, line: Text, first: int, rest: int) -> list[Text]:
    """Line word-wrapped: its first row to first cells, every later row to rest cells."""
    rows = line.wrap(console, first)
    if len(rows) <= 1 or first == rest:
        return list(rows)
    tail = line[len(rows[0].plain) :]
    spaces = len(tail.plain) - len(tail.plain.lstrip(" "))
    return [rows[0], *tail[spaces:].wrap(console, rest)]
