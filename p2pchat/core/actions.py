"""Instructions the node core gives its runtime: dial, send, close, show, persist, log."""

from __future__ import annotations

from dataclasses import dataclass

from p2pchat.core.directrecords import DirectStatus, HeldFrame, KnownMember, StoredDirect
from p2pchat.core.messages import Chat, FileOffer, Message
from p2pchat.core.saved import SavedTransfer
from p2pchat.core.views import View


@dataclass(frozen=True, slots=True)
class Dial:
    """Open a TCP connection to host:port; answer with ConnectionMade or DialFailed."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Send:
    """Send one message on each of these connections (encode it once)."""

    conns: tuple[int, ...]
    message: Message


@dataclass(frozen=True, slots=True)
class PauseReading:
    """Read nothing more from conn for seconds (then a little at a time until the next
    pause): its peer writes faster than the rate limit allows, and TCP slows it down."""

    conn: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Close:
    """Close a connection; flush=True sends what is queued first.

    The core forgets the link as it asks for this: a ConnectionLost the runtime may still
    report for it finds no link and changes nothing."""

    conn: int
    reason: str
    flush: bool


@dataclass(frozen=True, slots=True)
class Show:
    """Hand a view to the user interface."""

    view: View


@dataclass(frozen=True, slots=True)
class Store:
    """Keep a room message in the persistent log; for our own, before any Send that carries it.

    replace: instead of the stored message with its ID (its author signed both; all keep this).
    """

    chat: Chat
    replace: bool = False


@dataclass(frozen=True, slots=True)
class RememberDirect:
    """Keep the ID of a direct message we took (signed at ts), so it is never taken again."""

    msg_id: str
    ts: float


@dataclass(frozen=True, slots=True)
class StoreDirect:
    """Keep a direct message in the log (ours or to us; written again when it changes)."""

    row: StoredDirect


@dataclass(frozen=True, slots=True)
class SetDirectStatus:
    """Our stored direct message msg_id now stands at status (its frame is let go when it is
    no longer pending)."""

    msg_id: str
    status: DirectStatus


@dataclass(frozen=True, slots=True)
class Hold:
    """Keep a frame for a member who is away, across restarts, until Release or it expires."""

    held: HeldFrame


@dataclass(frozen=True, slots=True)
class Release:
    """Forget the held frame key (delivered, acknowledged or expired)."""

    key: str


@dataclass(frozen=True, slots=True)
class RememberMember:
    """Remember a member's nick and key for direct messages (written again when they change)."""

    member: KnownMember


@dataclass(frozen=True, slots=True)
class Trust:
    """Remember that nick was first seen with this node ID (key)."""

    nick: str
    node_id: str


@dataclass(frozen=True, slots=True)
class PrepareReceive:
    """Open (or reopen) the partial file and take this offer's chunks arriving on conn."""

    offer: FileOffer
    conn: int


@dataclass(frozen=True, slots=True)
class FinishReceive:
    """All bytes arrived: check the hash, then give the file its final name (or discard it)."""

    offer_id: str


@dataclass(frozen=True, slots=True)
class AbortReceive:
    """Stop taking chunks for an offer; delete the partial file, or keep it to resume."""

    offer_id: str
    delete: bool


@dataclass(frozen=True, slots=True)
class ServeFile:
    """Stream a file to peer over conn from offset, as binary chunk frames."""

    conn: int
    peer: str
    offer_id: str
    path: str
    offset: int
    size: int
    mtime_ns: int = 0  # as when offered; 0: not checked


@dataclass(frozen=True, slots=True)
class StopServe:
    """Stop streaming an offer over conn."""

    conn: int
    offer_id: str


@dataclass(frozen=True, slots=True)
class SaveTransfers:
    """Keep these offers (JSON-ready records) so transfers resume after a restart."""

    records: tuple[SavedTransfer, ...]


@dataclass(frozen=True, slots=True)
class Rediscover:
    """Ask discovery to announce ourselves again and query for peers afresh."""


@dataclass(frozen=True, slots=True)
class Announce:
    """Our advertised details (nick) changed; discovery should update its records."""

    nick: str


@dataclass(frozen=True, slots=True)
class Log:
    """A line for the developer log (level as in the logging module: 10 debug .. 40 error)."""

    level: int
    text: str


Action = (
    Dial
    | Send
    | Close
    | PauseReading
    | Show
    | Store
    | RememberDirect
    | StoreDirect
    | SetDirectStatus
    | Hold
    | Release
    | RememberMember
    | Trust
    | Rediscover
    | Announce
    | Log
    | PrepareReceive
    | FinishReceive
    | AbortReceive
    | ServeFile
    | StopServe
    | SaveTransfers
)

DEBUG = 10
INFO = 20
WARNING = 30
