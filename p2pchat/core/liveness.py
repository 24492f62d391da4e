"""Liveness: a link silent for a while gets a ping; a peer silent for too long is gone.

Any frame from a peer counts as hearing from it, so a link that carries traffic is never
pinged. Each linked peer has one LIVENESS timer, moved lazily: it fires at the earliest moment
the peer could need a ping (or be gone), looks at when the peer was last heard and sets itself
again. No frame moves a timer and no tick looks at every peer. Pings leave through one token
bucket (`max_pings_per_second`), so a node's idle traffic does not grow with the room: with
more peers a silent link waits a little longer for its ping (`peer_timeout` leaves room for
several), and only past about 50 peers does the rate grow, just enough to keep every link
heard. A ping and its pong both carry the sender's history digests, so either side of an idle
link notices what the other has that it lacks.
"""

from __future__ import annotations

from collections.abc import Callable

from p2pchat.core import actions as act
from p2pchat.core import views as vw
from p2pchat.core.context import Context
from p2pchat.core.errors import InvariantError
from p2pchat.core.guard import TokenBucket
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import MAX_NONCE, Ping, Pong
from p2pchat.core.names import Names
from p2pchat.core.timers import Timer, TimerKind

LINKED_JITTER = 0.25  # a new peer's first check comes up to this share of ping_after_silence late

Digests = Callable[[], tuple[str, str]]
"""Our history digest and recent-contents digest, as a ping or pong carries them."""


class Liveness:
    """When each linked peer was last heard, pings for silent links, and who timed out."""

    def __init__(self, ctx: Context, members: Members, names: Names, digests: Digests) -> None:
        self._ctx = ctx
        self._peers = members.peers
        self._members = members
        self._names = names
        self._digests = digests
        self._nonce = 0
        limits = ctx.limits
        self._pings = TokenBucket(
            limits.max_pings_per_second, limits.max_pings_per_second, 0.0, float("-inf")
        )

    def linked(self, peer: Peer) -> None:
        """peer has a new link: heard from just now; its first check comes a little spread."""
        ctx = self._ctx
        peer.last_heard = ctx.now
        peer.pinged_at = None
        spread = 1.0 + LINKED_JITTER * ctx.rng.random()
        self._check_at(peer, ctx.now + ctx.limits.ping_after_silence * spread)

    def due(self, peer_id: str) -> Peer | None:
        """peer_id's timer fired: ping it if its link is silent; the peer if it timed out."""
        peer = self._peers.get(peer_id)
        if peer is None or peer.conn is None:
            return None  # gone, or between two links (its SWITCHING timer decides)
        ctx = self._ctx
        now, limits = ctx.now, ctx.limits
        gone_at = peer.last_heard + limits.peer_timeout
        if now >= gone_at:
            return peer
        pinged = peer.pinged_at
        ping_at = (peer.last_heard if pinged is None else max(peer.last_heard, pinged)) + (
            limits.ping_after_silence
        )
        if now >= ping_at:
            # Past about 50 peers the cap would leave a link silent for peer_timeout: the rate
            # grows then, just enough that each link gets its ping in time.
            needed = len(self._peers) / (limits.peer_timeout - limits.ping_after_silence)
            self._pings.rate = self._pings.burst = max(limits.max_pings_per_second, needed)
            if self._pings.take(now):
                self._send_ping((peer,))
                ping_at = now + limits.ping_after_silence
            else:
                ping_at = self._pings.ready_at(now)
        self._check_at(peer, min(ping_at, gone_at))
        return None

    def probe_all(self) -> None:
        """The network changed: ping every linked peer now (one frame), to find dead links."""
        linked = self._members.linked()
        if linked:
            self._send_ping(linked)

    def ping(self, conn: int, peer: Peer, ping: Ping) -> None:
        """Answer a ping with our digests; note how far the peer's clock is from ours."""
        ctx = self._ctx
        digest, recent = self._digests()
        ctx.emit(act.Send((conn,), Pong(ping.nonce, digest, recent)))
        peer.clock_offset = ping.wall - ctx.wall
        limit = ctx.limits.clock_skew_warning
        if abs(peer.clock_offset) > limit and not peer.clock_flagged:
            peer.clock_flagged = True
            ctx.show(
                vw.Notice(
                    f"{self._names.of(peer)}'s clock is {peer.clock_offset:+.0f} s off ours "
                    "(message order is not affected)"
                )
            )

    def pong(self, peer: Peer, pong: Pong) -> None:
        """An answer to our last ping to peer: its round-trip time."""
        if peer.pinged_at is not None and pong.nonce == peer.ping_nonce:
            peer.rtt = self._ctx.now - peer.pinged_at

    def check_invariants(self) -> None:
        """Raise InvariantError unless every linked peer's timer fires by its timeout."""
        ctx = self._ctx
        for peer in self._peers.values():
            if peer.conn is None:
                continue
            when = ctx.timers.when(Timer(TimerKind.LIVENESS, peer.node_id))
            due = peer.last_heard + ctx.limits.peer_timeout
            if when is None or when > due:
                raise InvariantError(
                    f"liveness: {peer.node_id} times out at {due} but its timer is at {when}"
                )

    def _send_ping(self, peers: tuple[Peer, ...] | list[Peer]) -> None:
        ctx = self._ctx
        self._nonce = (self._nonce + 1) % MAX_NONCE
        conns = []
        for peer in peers:
            if peer.conn is not None:
                peer.pinged_at = ctx.now
                peer.ping_nonce = self._nonce
                conns.append(peer.conn)
        digest, recent = self._digests()
        ctx.emit(act.Send(tuple(conns), Ping(self._nonce, digest, ctx.wall, recent)))

    def _check_at(self, peer: Peer, when: float) -> None:
        self._ctx.timers.schedule(Timer(TimerKind.LIVENESS, peer.node_id), when)
