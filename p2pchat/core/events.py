"""Stimuli fed into the node core: from the transport, discovery, the user and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from p2pchat.core.entries import EntryKind
from p2pchat.core.messages import Chat, Direct, Message, Ping, Pong, PresenceStatus

ROUTINE_MESSAGES = (Chat, Direct, Ping, Pong)  # the frames of is_routine


@dataclass(frozen=True, slots=True)
class ConnectionMade:
    """A TCP connection is up (we dialled it, or accepted it); host/port are the remote end.

    nonce and ephemeral (this link's ephemeral X25519 public key) go into our HELLO.
    """

    conn: int
    outbound: bool
    host: str
    port: int
    nonce: bytes = b""
    ephemeral: bytes = b""


@dataclass(frozen=True, slots=True)
class DialFailed:
    """A Dial to host:port did not produce a connection."""

    host: str
    port: int
    reason: str


@dataclass(frozen=True, slots=True)
class FramesReceived:
    """Validated messages read from one connection, in order."""

    conn: int
    messages: tuple[Message, ...]


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """A connection ended: closed by the peer, a socket error, or invalid input from it."""

    conn: int
    reason: str


DiscoverySource = Literal["mdns", "beacon", "scan", "static", "user"]
"""mDNS adverts; --peer at start; /connect typed by the user."""


@dataclass(frozen=True, slots=True)
class PeerDiscovered:
    """Someone may listen at these addresses (mDNS, --peer, /connect); node_id if claimed."""

    addresses: tuple[tuple[str, int], ...]
    node_id: str | None
    source: DiscoverySource


@dataclass(frozen=True, slots=True)
class NetworkChanged:
    """The host's addresses changed (a link came up, a new lease, another network)."""


@dataclass(frozen=True, slots=True)
class OtherPassphraseSeen:
    """mDNS shows a node of a private room with our room name's hint but another tag."""

    node_id: str


@dataclass(frozen=True, slots=True)
class PeerWithdrawn:
    """mDNS says this node's service is gone (a hint; links decide liveness)."""

    node_id: str


@dataclass(frozen=True, slots=True)
class SendChat:
    """The user typed a room message, or (kind) a reply, an action, a reaction (sent again:
    taken back), an edit or a delete of the message ref names (its ID, or an unambiguous
    start of its author's ID, a colon and the seq)."""

    text: str
    kind: EntryKind = EntryKind.TEXT
    ref: str = ""


@dataclass(frozen=True, slots=True)
class SetPresence:
    """The user is away (with an optional status text) or back; auto: the UI saw no key
    for a while (then any key brings it back)."""

    status: PresenceStatus
    text: str = ""
    auto: bool = False


@dataclass(frozen=True, slots=True)
class SendDirect:
    """The user sent a direct message to a nick (or nick#shortid)."""

    target: str
    text: str


@dataclass(frozen=True, slots=True)
class ChangeNick:
    """The user asked for a new nick."""

    nick: str


@dataclass(frozen=True, slots=True)
class ShowPeers:
    """The user (requested=True) or a sidebar refresh asked for the peer table."""

    requested: bool = True


@dataclass(frozen=True, slots=True)
class ShowWhois:
    """The user asked who a nick (or nick#id) is: full fingerprints."""

    target: str


@dataclass(frozen=True, slots=True)
class ShowStats:
    """The user asked for traffic counters; transport adds what only it can count."""

    transport: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ShowInvite:
    """The user asked for an invite code; transport adds the addresses we can be dialled at."""

    addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShowHistory:
    """The user asked for the last count messages of the room."""

    count: int


@dataclass(frozen=True, slots=True)
class ShowProblem:
    """A problem the user interface found in a typed line, shown in turn with the answers."""

    text: str


@dataclass(frozen=True, slots=True)
class ShowDelivery:
    """How many of our messages reached no peer yet (piped input asks before it exits)."""


@dataclass(frozen=True, slots=True)
class Started:
    """The node is listening: tell the user interface, then replay the stored history."""

    mdns: bool
    port_taken: str = ""  # why we listen on another port than the one asked for


@dataclass(frozen=True, slots=True)
class OfferFile:
    """The user offers a file (already measured and hashed): to the room, or to target."""

    path: str
    name: str
    size: int
    blake3: str
    target: str | None
    mtime_ns: int = 0  # when it was hashed: a later change means another file


@dataclass(frozen=True, slots=True)
class AcceptFile:
    """The user accepts an offer."""

    offer_id: str


@dataclass(frozen=True, slots=True)
class DeclineFile:
    """The user declines an offer."""

    offer_id: str


@dataclass(frozen=True, slots=True)
class CancelTransfer:
    """The user cancels a transfer (incoming or outgoing)."""

    offer_id: str


@dataclass(frozen=True, slots=True)
class ShowTransfers:
    """The user asked for the list of transfers."""


@dataclass(frozen=True, slots=True)
class ReceiveReady:
    """The runtime can take the file's bytes on conn from offset (what it already has)."""

    offer_id: str
    conn: int
    offset: int


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """Bytes moved so far for one transfer (sending: we are the source)."""

    offer_id: str
    done: int
    total: int
    sending: bool
    peer: str


@dataclass(frozen=True, slots=True)
class ServeFinished:
    """The runtime finished streaming a file to peer (ok) or could not (reason)."""

    offer_id: str
    conn: int
    peer: str
    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ReceiveFinished:
    """The received file was checked: ok with its final path, or not with the reason."""

    offer_id: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed; run due timers."""


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Say goodbye to every peer and stop."""


Event = (
    ConnectionMade
    | DialFailed
    | FramesReceived
    | ConnectionLost
    | PeerDiscovered
    | PeerWithdrawn
    | NetworkChanged
    | OtherPassphraseSeen
    | SendChat
    | SetPresence
    | SendDirect
    | ChangeNick
    | ShowPeers
    | ShowHistory
    | ShowStats
    | ShowInvite
    | ShowWhois
    | ShowDelivery
    | ShowProblem
    | Started
    | OfferFile
    | AcceptFile
    | DeclineFile
    | CancelTransfer
    | ShowTransfers
    | ReceiveReady
    | TransferProgress
    | ServeFinished
    | ReceiveFinished
    | Tick
    | Shutdown
)


@dataclass(frozen=True, slots=True)
class ShareFile:
    """The user wants to offer the file at path: a command to the runtime, never to the core.

    Reading and hashing a file is I/O, which the core does not do: the runtime does it off the
    node thread and then hands the core an OfferFile (or shows why it cannot).
    """

    path: str
    target: str | None


@dataclass(frozen=True, slots=True)
class SearchLog:
    """The user searches the room's stored messages for words: a command to the runtime, which
    owns the log (the core holds only what it keeps in memory)."""

    words: str


NodeCommand = ShareFile | SearchLog
"""What a user interface asks of the node runtime itself (not an Event: the core never sees it)."""

NodeInput = Event | NodeCommand
"""Everything a user interface or discovery may post to a node."""


def is_routine(event: Event) -> bool:
    """True for the hot-path events: chat, DMs, pings and pongs received, and lines typed or
    tables asked for. They touch no address, and change links and peers only by closing a
    link (a strike), which the core then asks for with an act.Close (the simulator checks the
    core's invariants in full only after other events)."""
    if isinstance(event, FramesReceived):
        return all(isinstance(m, ROUTINE_MESSAGES) for m in event.messages)
    return isinstance(
        event,
        SendChat
        | SendDirect
        | ShowPeers
        | ShowHistory
        | ShowStats
        | TransferProgress
        | ShowTransfers,
    )
