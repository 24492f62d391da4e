"""`p2pchat history`: print the stored message log, readable or as JSON lines, and exit."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.text import Text

from p2pchat.cli.exits import ExitCode
from p2pchat.core.limits import DEFAULT_LIMITS
from p2pchat.core.messages import Chat
from p2pchat.core.trust import TrustTable
from p2pchat.core.views import MessageShown
from p2pchat.security.confusables import skeletons
from p2pchat.store.log import read_log
from p2pchat.store.trust import TrustStore
from p2pchat.ui.format import day_of
from p2pchat.ui.jsonlines import message_to_json
from p2pchat.ui.plain import render

Rows = list[tuple[str, Chat]]  # (room, message), oldest first per room


def print_history(args: argparse.Namespace) -> ExitCode:
    """Print the log in --data-dir (--room, --limit, --json); raise LogError if there is none."""
    data_dir = Path(args.data_dir)
    rows = read_log(data_dir, args.room, args.limit)
    # Nicks as the node shows them: two people with one nick stay apart (nick#id).
    trust = TrustTable(TrustStore(data_dir).known(), DEFAULT_LIMITS, skeletons)
    if args.json:
        _print_json_lines(rows, trust)
    else:
        _print_readable(rows, trust)
    return ExitCode.OK


def _print_json_lines(rows: Rows, trust: TrustTable) -> None:
    """One JSON object per message: the `message` event's fields and its room."""
    for room, chat in rows:
        obj = {"room": room, **message_to_json(_stored_view(chat, trust))}
        del obj["event"]
        print(json.dumps(obj, ensure_ascii=False))


def _print_readable(rows: Rows, trust: TrustTable) -> None:
    """The messages as the plain UI shows them, under a rule for each room and each day."""
    console = Console(highlight=False, soft_wrap=True)
    current, current_day = None, None
    for room, chat in rows:
        if room != current:
            current, current_day = room, None
            console.print(Text(f"── room {room!r} ──", style="bold"))
        if day_of(chat.ts) != current_day:  # a 30-day log: every day says which it is
            current_day = day_of(chat.ts)
            console.print(Text(f"──── {current_day} ────", style="dim"))
        console.print(render(_stored_view(chat, trust)))
    if not rows:
        console.print(Text("no messages stored", style="dim"))


def _stored_view(chat: Chat, trust: TrustTable) -> MessageShown:
    """A stored message as a view, its nick told apart from look-alikes as trust does."""
    return MessageShown(
        msg_id=chat.msg_id,
        author=chat.author,
        nick=chat.nick,
        display=trust.display(chat.nick, chat.author),
        text=chat.text,
        ts=chat.ts,
        lamport=chat.lamport,
        direct=False,
        own=False,
    )
