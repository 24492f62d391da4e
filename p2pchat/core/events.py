"""Stimuli fed into the node core: from the transport, discovery, the user and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from p2pchat.core.messages import Message


@dataclass(frozen=True, slots=True)
class ConnectionMade:
    """A TCP connection is up (we dialled it, or accepted it); host/port are the remote end."""

    conn: int
    outbound: bool
    host: str
    port: int
    nonce: bytes = b""


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


@dataclass(frozen=True, slots=True)
class PeerDiscovered:
    """Someone may listen at these addresses (mDNS, --peer, /connect); node_id if known."""

    addresses: tuple[tuple[str, int], ...]
    node_id: str | None
    source: str


@dataclass(frozen=True, slots=True)
class PeerWithdrawn:
    """mDNS says this node's service is gone (a hint; links decide liveness)."""

    node_id: str


@dataclass(frozen=True, slots=True)
class SendChat:
    """The user typed a room message."""

    text: str


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
class ShowHistory:
    """The user asked for the last count messages of the room."""

    count: int


@dataclass(frozen=True, slots=True)
class Started:
    """The node is listening: tell the user interface, then replay the stored history."""

    mdns: bool


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
    | SendChat
    | SendDirect
    | ChangeNick
    | ShowPeers
    | ShowHistory
    | ShowStats
    | ShowWhois
    | Started
    | Tick
    | Shutdown
)
