"""`p2pchat history`: print the stored message log (readable or as JSON lines), search it, or
export it as Markdown or JSON, and exit."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from p2pchat.cli.exits import ExitCode, UsageError, tell_user
from p2pchat.core.limits import DEFAULT_LIMITS
from p2pchat.core.messages import Chat
from p2pchat.core.transcript import Display, message_views
from p2pchat.core.trust import TrustTable
from p2pchat.core.views import MessageShown
from p2pchat.fsutil import write_atomically
from p2pchat.security.confusables import skeletons
from p2pchat.store.log import NO_FTS_NOTICE, read_log, search_log
from p2pchat.store.trust import TrustStore
from p2pchat.ui.format import day_of
from p2pchat.ui.jsonlines import message_to_json
from p2pchat.ui.plain import render

SEARCH_LIMIT = 50  # hits shown by --search without --limit
EXPORT_SUFFIXES = (".md", ".json")

Shown = list[tuple[str, MessageShown]]  # (room, message as it stands), oldest first per room


def print_history(args: argparse.Namespace) -> ExitCode:
    """Print the log in --data-dir (--room, --limit, --json), or only what --search finds, or
    write it to --export; raise LogError if there is none, UsageError for a bad suffix."""
    data_dir = Path(args.data_dir)
    export = getattr(args, "export", None)
    if export is not None and Path(export).suffix.lower() not in EXPORT_SUFFIXES:
        raise UsageError(f"--export {export}: the file must end in .md or .json")
    # Nicks as the node shows them: two people with one nick stay apart (nick#id).
    trust = TrustTable(TrustStore(data_dir).known(), DEFAULT_LIMITS, skeletons)
    search = getattr(args, "search", None)
    if search is not None:
        limit = args.limit if args.limit is not None else SEARCH_LIMIT
        hits, about, indexed = search_log(data_dir, args.room, search, limit)
        if not indexed:
            tell_user(NO_FTS_NOTICE)
        shown = _found_views(hits, about, trust)
    else:
        shown = stored_views(read_log(data_dir, args.room, args.limit), trust)
    if export is not None:
        _export(Path(export), shown)
    elif args.json:
        _print_json_lines(shown)
    else:
        _print_readable(shown, empty="no messages found" if search else "no messages stored")
    return ExitCode.OK


def stored_views(rows: Iterable[tuple[str, Chat]], trust: TrustTable) -> Shown:
    """The messages among stored entries (room, entry; oldest first per room) as they stand."""
    by_room: dict[str, list[Chat]] = {}
    for room, chat in rows:
        by_room.setdefault(room, []).append(chat)
    return [
        (room, view)
        for room, chats in by_room.items()
        for view in message_views(chats, chats, _display(trust))
    ]


def json_object(room: str, view: MessageShown) -> dict[str, Any]:
    """One message as `history --json` prints it: the `message` event's fields and its room."""
    obj = {"room": room, **message_to_json(view)}
    del obj["event"]
    return obj


def markdown(shown: Shown) -> str:
    """The messages as Markdown: a heading for each room and day, one item per message."""
    lines: list[str] = []
    current, current_day = None, None
    for room, view in shown:
        if room != current:
            current, current_day = room, None
            lines += [f"# Room {_md_inline(room)}", ""]
        if day_of(view.ts) != current_day:
            current_day = day_of(view.ts)
            lines += (
                ["## " + current_day, ""] if lines[-1:] == [""] else ["", f"## {current_day}", ""]
            )
        clock = datetime.fromtimestamp(view.ts).strftime("%H:%M")
        who = f"**{_md_inline(view.display)}**"
        text = _md_block(view.text)
        line = f"- {clock} * {who} {text}" if view.action else f"- {clock} {who}: {text}"
        if view.edited:
            line += " *(edited)*"
        lines.append(line)
        if view.reply_to is not None:
            answered = view.reply_text if view.reply_text is not None else view.reply_to
            lines.append(f"  > in reply to: {_md_inline(answered)}")
        if view.reactions:
            lines.append("  " + "  ".join(f"{r.emoji} {r.count}" for r in view.reactions))
    if not shown:
        lines.append("*no messages stored*")
    return "\n".join(lines).lstrip("\n") + "\n"


def _found_views(
    hits: list[tuple[str, Chat]], about: dict[str, list[Chat]], trust: TrustTable
) -> Shown:
    """Search hits (newest first) as they stand, with what the entries about them say."""
    shown: Shown = []
    for room, chat in hits:
        views = message_views([chat], about.get(room, [chat]), _display(trust))
        shown += [(room, view) for view in views]
    return shown


def _export(path: Path, shown: Shown) -> None:
    """Write shown to path: JSON (a list of message objects) or Markdown, by its suffix."""
    if path.suffix.lower() == ".json":
        objects = [json_object(room, view) for room, view in shown]
        data = json.dumps(objects, ensure_ascii=False, indent=1) + "\n"
    else:
        data = markdown(shown)
    try:
        write_atomically(path, data.encode())
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    tell_user(f"exported {len(shown)} messages to {path}")


def _print_json_lines(shown: Shown) -> None:
    """One JSON object per message: the `message` event's fields and its room."""
    for room, view in shown:
        print(json.dumps(json_object(room, view), ensure_ascii=False))


def _print_readable(shown: Shown, empty: str) -> None:
    """The messages as the plain UI shows them, under a rule for each room and each day."""
    console = Console(highlight=False, soft_wrap=True)
    current, current_day = None, None
    for room, view in shown:
        if room != current:
            current, current_day = room, None
            console.print(Text(f"── room {room!r} ──", style="bold"))
        if day_of(view.ts) != current_day:  # a 30-day log: every day says which it is
            current_day = day_of(view.ts)
            console.print(Text(f"──── {current_day} ────", style="dim"))
        console.print(render(view))
    if not shown:
        console.print(Text(empty, style="dim"))


def _display(trust: TrustTable) -> Display:
    """Nicks shown as trust tells them apart from look-alikes."""
    return lambda author, nick: trust.display(nick, author)


def _md_inline(text: str) -> str:
    """text on one line with Markdown's special characters escaped."""
    escaped = "".join("\\" + c if c in "\\`*_[]<>#|~" else c for c in text)
    return " ".join(escaped.split("\n"))


def _md_block(text: str) -> str:
    """A message's text escaped, its later lines indented under the list item."""
    return "\n  ".join(_md_inline(line) for line in text.split("\n"))
