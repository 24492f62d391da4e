"""The peers the sidebar shows, kept from the node's views.

A peer whose link was lost stays a while, as reconnecting. Each is here or away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from p2pchat.core import views as vw
from p2pchat.core.messages import ByeReason, PresenceStatus
from p2pchat.ui.completion import names_to_complete

RECONNECT_GRACE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class PeerState:
    """One peer as the sidebar shows it; left_at (monotonic) is when it went offline; away:
    it said it is away (status_text: why)."""

    node_id: str
    nick: str
    display: str
    online: bool = True
    rtt: float | None = None
    left_at: float = 0.0
    away: bool = False
    status_text: str = ""


class Roster:
    """Peers by node ID, in the order they were first seen."""

    def __init__(self) -> None:
        self.peers: dict[str, PeerState] = {}

    def joined(self, view: vw.PeerJoined) -> None:
        """A peer linked: online, with nothing known of its round trip yet."""
        self.peers[view.node_id] = PeerState(view.node_id, view.nick, view.display)

    def left(self, view: vw.PeerLeft, now: float) -> None:
        """A peer that quit is forgotten; one whose link was lost is offline since now."""
        peer = self.peers.get(view.node_id)
        if view.reason == ByeReason.QUIT or peer is None:
            self.peers.pop(view.node_id, None)
        else:
            self.peers[view.node_id] = replace(peer, online=False, left_at=now)

    def renamed(self, view: vw.NickChanged) -> None:
        """A peer (or this node) took a new nick."""
        peer = self.peers.get(view.node_id)
        if peer is not None:
            display = view.new_display or view.new
            self.peers[view.node_id] = replace(peer, nick=view.new, display=display)

    def presence(self, view: vw.PresenceChanged) -> None:
        """A peer is here or away now (one not in the sidebar comes with the next table)."""
        peer = self.peers.get(view.node_id)
        if peer is not None:
            away = view.status == PresenceStatus.AWAY
            self.peers[view.node_id] = replace(peer, away=away, status_text=view.text)

    def update(self, table: vw.PeerTable) -> None:
        """Every peer in the table is online, with the names and round trip it gives."""
        for row in table.rows:
            known = self.peers.get(row.node_id, PeerState(row.node_id, row.nick, row.display))
            self.peers[row.node_id] = replace(
                known,
                nick=row.nick,
                display=row.display,
                rtt=row.rtt,
                online=True,
                away=row.status == PresenceStatus.AWAY,
                status_text=row.status_text,
            )

    def forget_stale(self, now: float) -> bool:
        """Forget peers offline for over RECONNECT_GRACE_SECONDS; True if there were any."""
        stale = [
            node_id
            for node_id, peer in self.peers.items()
            if not peer.online and now - peer.left_at > RECONNECT_GRACE_SECONDS
        ]
        for node_id in stale:
            del self.peers[node_id]
        return bool(stale)

    def nicks(self) -> list[str]:
        """Names to complete: the nick of each peer, nick#id where two share one."""
        return names_to_complete((node_id, p.nick) for node_id, p in self.peers.items())
