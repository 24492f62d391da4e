"""JSON-lines interface: one object per line on stdout, the contract for scripts and tests."""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any, TextIO

from p2pchat.core import views as vw
from p2pchat.ui.commands import COMMANDS


class JsonUi:
    """Writes each view as one JSON object per line, flushed at once."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()

    def show(self, view: vw.View) -> None:
        """Write one view."""
        self._write(view_to_json(view))

    def show_help(self) -> None:
        """Write the command list as a help event."""
        self._write({"event": "help", "commands": [{"usage": u, "what": w} for u, w in COMMANDS]})
        self.flush()

    def problem(self, text: str) -> None:
        """Write an error event."""
        self._write({"event": "error", "message": text})
        self.flush()

    def flush(self) -> None:
        """Flush what was written (once per batch, not once per line)."""
        with self._lock, contextlib.suppress(BrokenPipeError, ValueError):
            self._out.flush()

    def _write(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, ensure_ascii=False)
        with self._lock, contextlib.suppress(BrokenPipeError, ValueError):
            self._out.write(line + "\n")


def message_to_json(view: vw.MessageShown) -> dict[str, Any]:
    """The JSON object of one message event."""
    obj: dict[str, Any] = {
        "event": "message",
        "msg_id": view.msg_id,
        "from_id": view.author,
        "from_nick": view.nick,
        "display": view.display,
        "text": view.text,
        "ts": view.ts,
        "lamport": view.lamport,
        "direct": view.direct,
        "own": view.own,
        "backfill": view.backfill,
        "restored": view.restored,
        "edited": view.edited,
    }
    if view.direct:
        obj["to_id"] = view.to_id
        obj["to_nick"] = view.to_nick
    if view.reply_to is not None:
        obj["reply_to"] = view.reply_to
        obj["reply_text"] = view.reply_text
    if view.action:
        obj["action"] = True
    if view.dm_status is not None:
        obj["dm_status"] = view.dm_status.value
    if view.reactions:
        obj["reactions"] = [
            {"emoji": r.emoji, "count": r.count, "own": r.own} for r in view.reactions
        ]
    return obj


def view_to_json(view: vw.View) -> dict[str, Any]:
    """The JSON object for one view (field names are a public contract)."""
    match view:
        case vw.Ready():
            return {
                "event": "ready",
                "id": view.node_id,
                "nick": view.nick,
                "room": view.room,
                "port": view.port,
                "mdns": view.mdns,
                "private": view.private,
            }
        case vw.Whois():
            return {
                "event": "whois",
                "nick": view.nick,
                "id": view.node_id,
                "fingerprint": view.fingerprint,
                "online": view.online,
                "first_seen": view.first_seen,
                "status": view.status,
                "status_text": view.status_text,
            }
        case vw.PeerJoined():
            return {
                "event": "peer_joined",
                "id": view.node_id,
                "nick": view.nick,
                "display": view.display,
                "addr": view.addr,
            }
        case vw.PeerLeft():
            return {
                "event": "peer_left",
                "id": view.node_id,
                "nick": view.nick,
                "display": view.display,
                "reason": view.reason,
                "addr": view.addr,
            }
        case vw.MessageShown():
            return message_to_json(view)
        case vw.ReactionShown():
            return {
                "event": "reaction",
                "msg_id": view.msg_id,
                "from_id": view.author,
                "from_nick": view.nick,
                "display": view.display,
                "emoji": view.emoji,
                "removed": view.removed,
                "own": view.own,
                "backfill": view.backfill,
            }
        case vw.MessageEdited():
            return {
                "event": "edited",
                "msg_id": view.msg_id,
                "from_id": view.author,
                "display": view.display,
                "text": view.text,
                "backfill": view.backfill,
            }
        case vw.MessageDeleted():
            return {
                "event": "deleted",
                "msg_id": view.msg_id,
                "from_id": view.author,
                "display": view.display,
                "backfill": view.backfill,
            }
        case vw.DirectStatusChanged():
            return {
                "event": "dm_status",
                "msg_id": view.msg_id,
                "to_id": view.to_id,
                "to_nick": view.to_nick,
                "status": view.status.value,
                "holders": view.holders,
            }
        case vw.PresenceChanged():
            return {
                "event": "presence",
                "id": view.node_id,
                "nick": view.nick,
                "display": view.display,
                "status": view.status,
                "text": view.text,
                "own": view.own,
            }
        case vw.HistoryListing():
            return {
                "event": "history",
                "messages": [message_to_json(m) for m in view.messages],
            }
        case vw.SearchResults():
            return {
                "event": "search",
                "words": view.words,
                "messages": [message_to_json(m) for m in view.messages],
            }
        case vw.NickChanged():
            return {
                "event": "nick",
                "id": view.node_id,
                "old": view.old,
                "new": view.new,
                "own": view.own,
                "display": view.display or view.old,
                "new_display": view.new_display or view.new,
            }
        case vw.Stats():
            return {"event": "stats", **dict(view.counters)}
        case vw.Equivocation():
            return {
                "event": "equivocation",
                "msg_id": view.msg_id,
                "from_id": view.author,
                "display": view.display,
                "text": view.text,
            }
        case vw.Withdrawn():
            return {
                "event": "withdrawn",
                "msg_id": view.msg_id,
                "from_id": view.author,
                "display": view.display,
            }
        case vw.Delivery():
            return {
                "event": "delivery",
                "sent": view.sent,
                "unsent": view.unsent,
                "ever_linked": view.ever_linked,
            }
        case vw.InviteCode():
            return {
                "event": "invite",
                "code": view.code,
                "addrs": list(view.addrs),
                "room": view.room,
            }
        case vw.HistoryEnd():
            return {"event": "history_end", "count": view.count}
        case vw.Notice():
            return {"event": "notice", "message": view.text}
        case vw.Problem():
            return {"event": "error", "message": view.text}
        case vw.PeerTable():
            return {
                "event": "peers",
                "port": view.port,
                "peers": [
                    {
                        "id": r.node_id,
                        "nick": r.nick,
                        "display": r.display,
                        "addr": r.addr,
                        "connected_for": round(r.connected_for, 3),
                        "rtt": None if r.rtt is None else round(r.rtt, 6),
                        "status": r.status,
                        "status_text": r.status_text,
                    }
                    for r in view.rows
                ],
            }
        case vw.FileOffered():
            return {
                "event": "file_offer",
                "id": view.offer_id,
                "from_id": view.from_id,
                "from_nick": view.from_nick,
                "name": view.name,
                "size": view.size,
                "direct": view.direct,
                "to_nick": view.to_nick,
                "own": view.own,
            }
        case vw.FileProgress():
            return {
                "event": "file_progress",
                "id": view.offer_id,
                "name": view.name,
                "done": view.done,
                "size": view.total,
                "sending": view.sending,
                "peer_nick": view.peer_nick,
            }
        case vw.FileDone():
            return {
                "event": "file_done",
                "id": view.offer_id,
                "name": view.name,
                "path": view.path,
                "size": view.size,
                "sending": view.sending,
                "peer_nick": view.peer_nick,
            }
        case vw.FileFailed():
            return {
                "event": "file_failed",
                "id": view.offer_id,
                "name": view.name,
                "reason": view.reason,
                "sending": view.sending,
                "peer_nick": view.peer_nick,
            }
        case vw.TransferTable():
            return {
                "event": "transfers",
                "transfers": [
                    {
                        "id": r.offer_id,
                        "name": r.name,
                        "size": r.size,
                        "done": r.done,
                        "state": r.state,
                        "sending": r.sending,
                        "peer_nick": r.peer_nick,
                    }
                    for r in view.rows
                ],
            }
