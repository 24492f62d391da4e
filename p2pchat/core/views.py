"""What the node tells its user interface: joins, leaves, messages, notices, tables."""

from __future__ import annotations

from dataclasses import dataclass

from p2pchat.core.directrecords import DirectStatus
from p2pchat.core.files import TransferState


@dataclass(frozen=True, slots=True)
class Ready:
    """The node listens and is about to find peers."""

    node_id: str
    nick: str
    room: str
    port: int
    mdns: bool
    private: bool = False


@dataclass(frozen=True, slots=True)
class PeerJoined:
    """A peer is now linked to this node."""

    node_id: str
    nick: str
    display: str
    addr: str


@dataclass(frozen=True, slots=True)
class PeerLeft:
    """A peer's link is gone (quit, timed out, connection lost, ...)."""

    node_id: str
    nick: str
    display: str
    reason: str
    addr: str


@dataclass(frozen=True, slots=True)
class ReactionCount:
    """How many react to a message with emoji, and whether we are among them."""

    emoji: str
    count: int
    own: bool


@dataclass(frozen=True, slots=True)
class MessageShown:
    """A message to show, exactly once per node; own=True for what this node sent.

    backfill: it arrived late, by sync, while we watched (shown where it belongs, marked);
    restored: it comes from our own log (start-up replay, /history), shown plainly.
    text is its latest (edited: an edit changed it); reply_to names the message it answers,
    reply_text that message's first line (None if we do not hold it); action: a /me line;
    reactions: those in force when it is shown (later ones come as ReactionShown).
    """

    msg_id: str
    author: str
    nick: str
    display: str
    text: str
    ts: float
    lamport: int
    direct: bool
    own: bool
    to_id: str | None = None
    to_nick: str | None = None
    backfill: bool = False
    restored: bool = False
    reply_to: str | None = None
    reply_text: str | None = None
    edited: bool = False
    action: bool = False
    reactions: tuple[ReactionCount, ...] = ()
    dm_status: DirectStatus | None = None  # our own direct message: how it stands


@dataclass(frozen=True, slots=True)
class ReactionShown:
    """author (own: us) reacts to the message msg_id with emoji, or takes it back (removed)."""

    msg_id: str
    author: str
    nick: str
    display: str
    emoji: str
    removed: bool
    own: bool
    backfill: bool = False
    about: str = ""  # the first line of the message, to say which one


@dataclass(frozen=True, slots=True)
class DirectStatusChanged:
    """Our direct message msg_id to to_id is now queued (holders: members online that keep it
    for the recipient besides us), delivered (its receipt came) or expired (never delivered)."""

    msg_id: str
    to_id: str
    to_nick: str
    status: DirectStatus
    holders: int = 0
    about: str = ""  # the first line of the message, to say which one


@dataclass(frozen=True, slots=True)
class MessageEdited:
    """The message msg_id, already shown, now reads text (its author edited it)."""

    msg_id: str
    author: str
    display: str
    text: str
    backfill: bool = False


@dataclass(frozen=True, slots=True)
class MessageDeleted:
    """The message msg_id, already shown, was deleted by its author."""

    msg_id: str
    author: str
    display: str
    backfill: bool = False
    about: str = ""  # the first line it had, to say which one


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """A peer (or we, own=True) is here or away now, with an optional status text."""

    node_id: str
    nick: str
    display: str
    status: str
    text: str
    own: bool = False


@dataclass(frozen=True, slots=True)
class NickChanged:
    """A peer (or this node, own=True) changed its nick (display: the old one as it was shown,
    new_display: the new one as it is shown now, #id included when it has to be)."""

    node_id: str
    old: str
    new: str
    own: bool
    display: str = ""
    new_display: str = ""


@dataclass(frozen=True, slots=True)
class Equivocation:
    """An author signed two different messages with one ID; every node keeps this text."""

    msg_id: str
    author: str
    display: str
    text: str


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A message shown as it came from its author did not carry its author's valid signature:
    it is let go (not kept, not passed on, not served), as if it had never come."""

    msg_id: str
    author: str
    display: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """Our messages this run (sent), those that reached no peer yet (unsent: they go when a
    peer syncs with us), and whether we were ever linked to anyone."""

    sent: int
    unsent: int
    ever_linked: bool


@dataclass(frozen=True, slots=True)
class HistoryEnd:
    """The messages restored from our own log at start end here; live ones follow."""

    count: int


@dataclass(frozen=True, slots=True)
class Notice:
    """An informational line for the user."""

    text: str


@dataclass(frozen=True, slots=True)
class Problem:
    """Something went wrong that the user should see (one line)."""

    text: str


@dataclass(frozen=True, slots=True)
class HistoryListing:
    """The answer to /history: stored messages, oldest first (already shown before)."""

    messages: tuple[MessageShown, ...]


@dataclass(frozen=True, slots=True)
class SearchResults:
    """The answer to /search: the stored messages whose current text holds all the words,
    newest first, as they stand."""

    words: str
    messages: tuple[MessageShown, ...]


@dataclass(frozen=True, slots=True)
class Whois:
    """One identity for /whois: a connected peer, or the key first seen with that nick."""

    nick: str
    node_id: str
    fingerprint: str
    online: bool
    first_seen: bool
    status: str | None = None  # here or away while online (status_text: what it said)
    status_text: str = ""


@dataclass(frozen=True, slots=True)
class Stats:
    """Traffic counters since start (names as in the JSON `stats` event)."""

    counters: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class InviteCode:
    """The answer to /invite: the code, the addresses in it (ip:port), and the room."""

    code: str
    addrs: tuple[str, ...]
    room: str


@dataclass(frozen=True, slots=True)
class PeerRow:
    """One row of /peers."""

    node_id: str
    nick: str
    display: str
    addr: str
    connected_for: float
    rtt: float | None
    clock_offset: float = 0.0
    status: str = "here"  # or "away" (status_text: what it said)
    status_text: str = ""


@dataclass(frozen=True, slots=True)
class PeerTable:
    """The answer to /peers, sorted by nick."""

    rows: tuple[PeerRow, ...]
    requested: bool = True
    port: int = 0  # the TCP port we listen on, for someone who must /connect to us by hand


@dataclass(frozen=True, slots=True)
class FileOffered:
    """A file offered: to us or the room (own=False), or by us (own=True)."""

    offer_id: str
    from_id: str
    from_nick: str
    name: str
    size: int
    direct: bool
    own: bool
    to_nick: str | None = None


@dataclass(frozen=True, slots=True)
class FileProgress:
    """Bytes of a transfer moved so far."""

    offer_id: str
    name: str
    done: int
    total: int
    sending: bool
    peer_nick: str


@dataclass(frozen=True, slots=True)
class FileDone:
    """A transfer finished and the file checked out (path: where it is now)."""

    offer_id: str
    name: str
    path: str
    size: int
    sending: bool
    peer_nick: str


@dataclass(frozen=True, slots=True)
class FileFailed:
    """A transfer stopped without a good file."""

    offer_id: str
    name: str
    reason: str
    sending: bool
    peer_nick: str


@dataclass(frozen=True, slots=True)
class TransferRow:
    """One line of /transfers."""

    offer_id: str
    name: str
    size: int
    done: int
    state: TransferState
    sending: bool
    peer_nick: str


@dataclass(frozen=True, slots=True)
class TransferTable:
    """The answer to /transfers."""

    rows: tuple[TransferRow, ...]


View = (
    Ready
    | PeerJoined
    | PeerLeft
    | MessageShown
    | ReactionShown
    | MessageEdited
    | MessageDeleted
    | DirectStatusChanged
    | PresenceChanged
    | NickChanged
    | Equivocation
    | Withdrawn
    | Delivery
    | HistoryEnd
    | Notice
    | Problem
    | PeerTable
    | HistoryListing
    | SearchResults
    | Stats
    | InviteCode
    | Whois
    | FileOffered
    | FileProgress
    | FileDone
    | FileFailed
    | TransferTable
)
