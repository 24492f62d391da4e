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
from p2pchat.core.directrecords import StoredDirect
from p2pchat.core.limits import DEFAULT_LIMITS
from p2pchat.core.messages import Chat
from p2pchat.core.transcript import (
    Display,
    direct_views,
    in_transcript_order,
    merge_by,
    message_views,
    place,
)
from p2pchat.core.trust import TrustTable
from p2pchat.core.views import MessageShown
from p2pchat.fsutil import write_atomically
from p2pchat.security.confusables import skeletons
from p2pchat.store.log import (
    NO_FTS_NOTICE,
    read_directs,
    read_log,
    search_directs_log,
    search_log,
)
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
        direct_hits, directs_indexed = search_directs_log(data_dir, args.room, search, limit)
        if not (indexed and directs_indexed):
            tell_user(NO_FTS_NOTICE)
        shown = _found_views(hits, about, direct_hits, trust)[:limit]
    else:
        rows = read_log(data_dir, args.room, args.limit)
        directs = read_directs(data_dir, args.room, args.limit)
        shown = stored_views(rows, trust, directs, args.limit)
    if export is not None:
        _export(Path(export), shown)
    elif args.json:
        _print_json_lines(shown)
    else:
        _print_readable(shown, empty="no messages found" if search else "no messages stored")
    return ExitCode.OK


def stored_views(
    rows: Iterable[tuple[str, Chat]],
    trust: TrustTable,
    directs: Iterable[tuple[str, StoredDirect]] = (),
    limit: int | None = None,
) -> Shown:
    """The messages among stored entries and DMs (room, entry or DM; oldest first per room) as
    they stand, by room, in transcript order; of each room only its newest limit entries and
    DMs together (all when None)."""
    by_room: dict[str, tuple[list[Chat], list[StoredDirect]]] = {}
    for room, chat in rows:
        by_room.setdefault(room, ([], []))[0].append(chat)
    for room, direct in directs:
        by_room.setdefault(room, ([], []))[1].append(direct)
    display = _display(trust)
    shown: Shown = []
    for room in sorted(by_room):
        chats, room_directs = by_room[room]
        kept = in_transcript_order(chats, room_directs)
        if limit is not None:
            kept = kept[max(len(kept) - limit, 0) :]
        chats = [entry for entry in kept if isinstance(entry, Chat)]
        room_directs = [entry for entry in kept if isinstance(entry, StoredDirect)]
        views = in_transcript_order(
            message_views(chats, chats, display), direct_views(room_directs, display)
        )
        shown += [(room, view) for view in views]
    return shown


def json_object(room: str, view: MessageShown) -> dict[str, Any]:
    """One message as `history --json` prints it: the `message` event's fields and its room
    (and, for our own DM, dm_status: how it stands, as the `dm_status` event says)."""
    obj = {"room": room, **message_to_json(view)}
    del obj["event"]
    if view.dm_status is not None:
        obj["dm_status"] = view.dm_status.value
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
        if view.direct:
            to = _md_inline(view.to_nick or "") if view.own else "you"
            who += f" → {to} (direct)"
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
    hits: list[tuple[str, Chat]],
    about: dict[str, list[Chat]],
    direct_hits: list[tuple[str, StoredDirect]],
    trust: TrustTable,
) -> Shown:
    """Search hits of messages and of DMs (each newest first) as they stand, with what the
    entries about the messages say, merged newest first."""
    display = _display(trust)
    found: Shown = []
    for room, chat in hits:
        views = message_views([chat], about.get(room, [chat]), display)
        found += [(room, view) for view in views]
    found_directs: Shown = [
        (room, view) for room, direct in direct_hits for view in direct_views([direct], display)
    ]
    return merge_by(found, found_directs, _shown_place, newest_first=True)


def _shown_place(shown: tuple[str, MessageShown]) -> tuple[int, float]:
    """Where a shown message stands in its room's transcript."""
    return place(shown[1])


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
