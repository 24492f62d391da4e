"""The members we are linked with (or switching links with), and finding one by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from p2pchat.core import sync
from p2pchat.core import views as vw
from p2pchat.core.limits import SHORT_ID_CHARS
from p2pchat.core.messages import PresenceStatus
from p2pchat.core.outbox import Outbox

MIN_ID_PREFIX = 4  # characters of a node ID that name a member on their own


class PeerState(Enum):
    """Where a member stands with us."""

    LINKED = "linked"  # it has a primary link (conn)
    SWITCHING = "switching"  # its link was dropped as a duplicate; another is on its way


@dataclass(eq=False, slots=True)
class Peer:
    """A member we have a link with (conn), or had one and may get back (switching_until)."""

    node_id: str
    nick: str
    conn: int | None
    host: str
    listen_port: int
    since: float
    last_heard: float
    rtt: float | None = None
    pinged_at: float | None = None  # when our last ping to it left (ping_nonce: its nonce)
    ping_nonce: int = 0
    read_paused_until: float = float("-inf")  # we stopped reading its link until then
    switching_until: float = 0.0
    links: frozenset[str] | None = None
    sync: sync.LinkSync = field(default_factory=sync.LinkSync)
    clock_offset: float = 0.0
    clock_flagged: bool = False
    dh: bytes = b""
    digest: str = ""  # its history and recent-contents digests, from its last ping
    presence: PresenceStatus = PresenceStatus.HERE
    status_text: str = ""  # what it said when it went away

    @property
    def state(self) -> PeerState:
        """LINKED while it has a link, SWITCHING until switching_until while it has none."""
        return PeerState.LINKED if self.conn is not None else PeerState.SWITCHING


class Members:
    """Peers by node ID; lookups for commands that name a member (problems go to the outbox)."""

    def __init__(self, outbox: Outbox) -> None:
        self.peers: dict[str, Peer] = {}
        self._outbox = outbox

    def linked(self) -> list[Peer]:
        """The peers with a link now."""
        return [p for p in self.peers.values() if p.conn is not None]

    def conns(self, *, exclude: Peer | None = None) -> tuple[int, ...]:
        """The links of the linked peers (but exclude's), to send one frame to them all."""
        return tuple(p.conn for p in self.peers.values() if p.conn is not None and p is not exclude)

    def nick_of(self, node_id: str) -> str | None:
        """The current nick of a linked peer, if any."""
        peer = self.peers.get(node_id)
        return peer.nick if peer is not None else None

    def short_name(self, node_id: str) -> str:
        """A linked peer's nick, else the start of its ID."""
        return self.nick_of(node_id) or node_id[:SHORT_ID_CHARS]

    def resolve(self, target: str) -> Peer | None:
        """The one linked peer that "nick", "nick#idprefix" or an ID prefix names; else None,
        having told the user why (nobody, or several: add the #id)."""
        nick, _, prefix = target.partition("#")
        linked = self.linked()
        matches = [p for p in linked if p.nick == nick and p.node_id.startswith(prefix)]
        if not matches and not prefix and len(nick) >= MIN_ID_PREFIX:
            matches = [p for p in linked if p.node_id.startswith(nick.lower())]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            self._outbox.show(vw.Problem(f"no connected peer called {target}; see /peers"))
        else:
            names = ", ".join(sorted(f"{p.nick}#{p.node_id[:SHORT_ID_CHARS]}" for p in matches))
            self._outbox.show(
                vw.Problem(f"{len(matches)} peers match {target}: {names}; add the #id")
            )
        return None
