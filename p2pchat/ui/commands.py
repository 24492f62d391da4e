"""Slash commands: parsing a typed line into what the user wants (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from p2pchat.core.entries import EntryKind
from p2pchat.core.messages import PresenceStatus


@dataclass(frozen=True, slots=True)
class Say:
    """Send text to the room."""

    text: str


@dataclass(frozen=True, slots=True)
class Entry:
    """Send a reply, an action, a reaction, an edit or a delete (of the message ref names)."""

    kind: EntryKind
    ref: str
    text: str


@dataclass(frozen=True, slots=True)
class Presence:
    """Tell the room we are away (with an optional status text) or back."""

    status: PresenceStatus
    text: str


@dataclass(frozen=True, slots=True)
class Msg:
    """Send text to one peer (nick, nick#shortid or id prefix)."""

    target: str
    text: str


@dataclass(frozen=True, slots=True)
class Nick:
    """Change own nick."""

    nick: str


@dataclass(frozen=True, slots=True)
class Connect:
    """Dial HOST:PORT by hand."""

    spec: str


@dataclass(frozen=True, slots=True)
class Peers:
    """Show the peer table."""


@dataclass(frozen=True, slots=True)
class HistoryCmd:
    """Show the last count messages of the room."""

    count: int


@dataclass(frozen=True, slots=True)
class SearchCmd:
    """Search the room's stored messages for words."""

    words: str


@dataclass(frozen=True, slots=True)
class Whois:
    """Show the full key fingerprint of a nick."""

    target: str


@dataclass(frozen=True, slots=True)
class StatsCmd:
    """Show traffic counters."""


@dataclass(frozen=True, slots=True)
class InviteCmd:
    """Show an invite code for others to join with."""


@dataclass(frozen=True, slots=True)
class SendFile:
    """Offer a file: to one peer (target) or to the whole room (target None)."""

    path: str
    target: str | None


@dataclass(frozen=True, slots=True)
class TransferCmd:
    """Act on an offer or transfer by its ID (or ID prefix; empty: the latest offer)."""

    verb: str
    offer_id: str


@dataclass(frozen=True, slots=True)
class Transfers:
    """Show the transfer table."""


@dataclass(frozen=True, slots=True)
class Help:
    """Show the command list."""


@dataclass(frozen=True, slots=True)
class Quit:
    """Leave the chat."""


@dataclass(frozen=True, slots=True)
class Invalid:
    """A line that looked like a command but is not a valid one."""

    problem: str


Command = (
    Say
    | Entry
    | Presence
    | Msg
    | Nick
    | Connect
    | Peers
    | HistoryCmd
    | SearchCmd
    | Whois
    | StatsCmd
    | InviteCmd
    | SendFile
    | TransferCmd
    | Transfers
    | Help
    | Quit
    | Invalid
)

DEFAULT_HISTORY_COUNT = 20
MAX_HISTORY_COUNT = 100_000

COMMANDS: tuple[tuple[str, str], ...] = (
    ("/msg NICK TEXT", "send a direct message to one peer (NICK#id if two share a nick)"),
    ("/reply ID TEXT", "answer the message ID (its msg_id; the full screen picks it with a key)"),
    ("/react ID EMOJI", "react to the message ID (the same again takes it back)"),
    ("/edit ID TEXT", "change the text of your message ID"),
    ("/delete ID", "delete your message ID for everyone"),
    ("/me ACTION", "say what you do: * alice waves"),
    ("/away [TEXT]", "tell the room you are away (the full screen says so after 10 idle minutes)"),
    ("/back", "tell the room you are back"),
    ("/nick NEW", "change your nick"),
    ("/peers", "list connected peers: nick, id, address, connected for, round-trip time"),
    ("/connect HOST[:PORT]", "connect to a peer by hand (when multicast is blocked)"),
    ("/invite", "a code others join with (p2pchat --join CODE) when discovery cannot find us"),
    ("/history [N]", "show the last N messages of the room (default 20)"),
    ("/search WORDS", "the stored messages of the room that hold all these words, newest first"),
    ("/whois NICK", "the full key fingerprint of NICK, to compare in person"),
    ("/send NICK PATH", "offer a file to one peer; it arrives once they /accept it"),
    ("/share PATH", "offer a file to everyone in the room"),
    ("/accept [ID]", "accept a file offer (default: the latest) into the downloads folder"),
    ("/decline [ID]", "decline a file offer (default: the latest); nothing is written"),
    ("/cancel ID", "stop a transfer, or stop offering a file"),
    ("/transfers", "list file offers and transfers with their progress"),
    ("/stats", "traffic counters: messages, copies received, bytes on the wire"),
    ("/help", "show this list"),
    ("/quit", "leave (also Ctrl-C, Ctrl-D)"),
    ("//TEXT", "send a message that starts with '/'"),
)


def parse_line(line: str) -> Command | None:
    """Interpret one typed line; None for a blank line."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if not line.startswith("/"):
        return Say(line)
    if line.startswith("//"):
        return Say(line[1:])
    name, _, rest = line[1:].partition(" ")
    rest = rest.strip()
    name = name.lower()
    if name in ("quit", "exit"):
        return Quit()
    if name == "help":
        return Help()
    if name == "peers":
        return Peers()
    if name == "stats":
        return StatsCmd()
    if name == "invite":
        return InviteCmd()
    if name == "whois":
        return Whois(rest) if rest else Invalid("usage: /whois NICK")
    if name == "history":
        if not rest:
            return HistoryCmd(DEFAULT_HISTORY_COUNT)
        if rest.isdigit() and 1 <= int(rest) <= MAX_HISTORY_COUNT:
            return HistoryCmd(int(rest))
        return Invalid(f"usage: /history [N] with N from 1 to {MAX_HISTORY_COUNT}")
    if name == "search":
        return SearchCmd(rest) if rest else Invalid("usage: /search WORDS")
    if name == "nick":
        return Nick(rest) if rest else Invalid("usage: /nick NEW")
    if name == "connect":
        return Connect(rest) if rest else Invalid("usage: /connect HOST[:PORT]")
    if name == "send":
        target, _, path = rest.partition(" ")
        if not target or not path.strip():
            return Invalid("usage: /send NICK PATH")
        return SendFile(_unquote(path.strip()), target)
    if name == "share":
        return SendFile(_unquote(rest), None) if rest else Invalid("usage: /share PATH")
    if name in ("accept", "decline", "cancel"):
        if name == "cancel" and not rest:
            return Invalid("usage: /cancel ID (see /transfers)")
        return TransferCmd(name, rest.lower())
    if name == "transfers":
        return Transfers()
    entry = _entry(name, rest)
    if entry is not None:
        return entry
    if name == "away":
        return Presence(PresenceStatus.AWAY, rest)
    if name == "back":
        return Presence(PresenceStatus.HERE, "")
    if name in ("msg", "dm"):
        target, _, text = rest.partition(" ")
        if not target or not text.strip():
            return Invalid("usage: /msg NICK TEXT")
        return Msg(target, text.strip())
    return Invalid(f"unknown command /{name}; /help lists the commands")


_ENTRY_USAGE = {
    "reply": (EntryKind.REPLY, "usage: /reply ID TEXT"),
    "react": (EntryKind.REACT, "usage: /react ID EMOJI"),
    "edit": (EntryKind.EDIT, "usage: /edit ID TEXT"),
    "delete": (EntryKind.DELETE, "usage: /delete ID"),
}


def _entry(name: str, rest: str) -> Entry | Invalid | None:
    """The entry a /reply, /react, /edit, /delete or /me line asks for (None: another command)."""
    if name == "me":
        return Entry(EntryKind.ACTION, "", rest) if rest else Invalid("usage: /me ACTION")
    if name not in _ENTRY_USAGE:
        return None
    kind, usage = _ENTRY_USAGE[name]
    ref, _, text = rest.partition(" ")
    text = text.strip()
    if not ref or (kind is EntryKind.DELETE) == bool(text):
        return Invalid(usage)
    return Entry(kind, ref, text)


def _unquote(path: str) -> str:
    """A path typed in quotes (to keep its spaces visible) without them."""
    if len(path) >= 2 and path[0] == path[-1] and path[0] in "'\"":
        return path[1:-1]
    return path
