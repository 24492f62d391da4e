"""How messages look, shared by the plain and full-screen interfaces (pure functions)."""

from __future__ import annotations

import re
import time
import zlib

from rich.text import Text

from p2pchat.core import views as vw

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


def message_line(view: vw.MessageShown, *, mention: bool = False, now: float | None = None) -> Text:
    """One message: time, coloured nick, direct and backfill marks, then the text."""
    line = Text()
    line.append(f"[{stamp(view.ts, now)}] ", style="dim")
    if view.backfill:
        line.append("↶ ", style="dim")
    nick_style = nick_colour(view.author) + (" bold" if view.own else "")
    line.append(view.display, style=nick_style)
    if view.direct:
        arrow = f" → {view.to_nick} (direct)" if view.own else " → you (direct)"
        line.append(arrow, style="magenta")
    line.append(": ")
    text_style = "magenta" if view.direct else ""
    if mention:
        text_style = "bold reverse yellow"
    elif view.backfill:
        text_style = "dim"
    line.append_text(body(view.text, text_style))
    return line


def duration(seconds: float) -> str:
    """3725 -> '1h02m'; 75 -> '1m15s'; 4.2 -> '4s'."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
