"""Links: handshakes, one link per peer (the tie-break), spares, time-outs, leaving, strikes.

A link is HANDSHAKING until the handshake accepts the peer, then the peer's PRIMARY link, or a
SPARE beside it while the two ends settle which of two links between them stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from p2pchat.core import actions as act
from p2pchat.core import views as vw
from p2pchat.core.addr import format_addr
from p2pchat.core.addressbook import Address
from p2pchat.core.context import Context
from p2pchat.core.dialer import Dialer
from p2pchat.core.errors import InvariantError
from p2pchat.core.guard import Guard
from p2pchat.core.handshake import Accepted, Handshake, Proceed, Refusal, Rejected
from p2pchat.core.limits import PROTOCOL_VERSION, SHORT_ID_CHARS
from p2pchat.core.members import Members, Peer, PeerState
from p2pchat.core.messages import (
    Bye,
    ByeReason,
    ErrorFrame,
    Hello,
    Message,
    PeerAddress,
    PeerList,
    RefusalCode,
)
from p2pchat.core.names import Names
from p2pchat.core.timers import Timer, TimerKind


class LinkState(Enum):
    """Where a link stands."""

    HANDSHAKING = "handshaking"
    PRIMARY = "primary"  # the link its peer is reached by
    SPARE = "spare"  # a second link to its peer, until the peer says which one it dropped


@dataclass(eq=False, slots=True)
class Link:
    """One connection and what we know of it."""

    conn: int
    outbound: bool
    host: str
    port: int
    handshake: Handshake
    dialed: Address | None
    peer_id: str | None = None
    spare_since: float | None = None

    @property
    def state(self) -> LinkState:
        """HANDSHAKING, PRIMARY or SPARE."""
        if self.peer_id is None:
            return LinkState.HANDSHAKING
        return LinkState.PRIMARY if self.spare_since is None else LinkState.SPARE


class LinkHooks(Protocol):
    """What the rest of the node does when a peer's link comes, goes or moves."""

    def peer_linked(self, peer: Peer) -> None:
        """peer has a new primary link (first link, or a new one after switching)."""

    def link_released(self, peer_id: str, conn: int) -> None:
        """The primary link conn of peer_id is gone (its peer may get another)."""

    def link_moved(self, peer: Peer) -> None:
        """peer moved onto its spare link."""


class Links:
    """Our links by connection, the peers they carry, and every change of either."""

    def __init__(
        self,
        ctx: Context,
        members: Members,
        names: Names,
        *,
        dialer: Dialer,
        guard: Guard,
        hooks: LinkHooks,
    ) -> None:
        self.by_conn: dict[int, Link] = {}
        self.ever_linked = False
        self._ctx = ctx
        self._members = members
        self._peers = members.peers  # the same dict: links add and drop peers
        self._names = names
        self._dialer = dialer
        self._book = dialer.book
        self._guard = guard
        self._hooks = hooks

    # ------------------------------------------------------------ connections

    def connection_made(self, conn: int, outbound: bool, host: str, port: int, own: Hello) -> None:
        """A connection is up: start its handshake by sending own."""
        ctx = self._ctx
        address = self._book.get((host, port)) if outbound else None
        refusal = None if outbound else self.inbound_refusal(host, ctx.now)
        if refusal is not None:
            ctx.emit(act.Close(conn, refusal, flush=False))
            ctx.log(act.INFO, f"refused {format_addr(host, port)}: {refusal}")
            return
        handshake = Handshake(own, ctx.now, ctx.limits.handshake_timeout, ctx.crypto, ctx.nick)
        link = Link(conn, outbound, host, port, handshake, address)
        self.by_conn[conn] = link
        ctx.timers.schedule(Timer(TimerKind.HANDSHAKE, conn), handshake.deadline)
        ctx.emit(act.Send((conn,), own))

    def inbound_refusal(self, host: str, now: float) -> str | None:
        """Why an inbound connection from host is closed at once, if it is."""
        limits = self._ctx.limits
        if self._guard.banned(host, now):
            return "address banned for invalid messages"
        pending = [link for link in self.unestablished() if not link.outbound]
        if len(pending) >= limits.max_pending_connections:
            return "too many pending connections"
        same_host = sum(1 for link in pending if link.host == host)
        if same_host >= limits.max_pending_per_address:
            return "too many pending connections from this address"
        return None

    def handshake_frame(self, link: Link, message: Message) -> None:
        """A frame on a link still handshaking."""
        outcome = link.handshake.receive(message)
        if isinstance(outcome, Proceed):
            self._ctx.emit(act.Send((link.conn,), outcome.reply))
        elif isinstance(outcome, Accepted):
            self._establish(link, outcome.hello, outcome.nick)
        else:
            self._reject(link, outcome)

    def close(self, link: Link, reason: str, *, flush: bool) -> None:
        """Ask the runtime to close link, and forget it."""
        self._release(link)
        self._ctx.emit(act.Close(link.conn, reason, flush=flush))

    def lose(self, link: Link, reason: str, *, expected: bool) -> None:
        """Forget a link that is gone; tell the user if it carried a peer; plan a redial."""
        ctx = self._ctx
        self._release(link)
        peer = self._peers.get(link.peer_id) if link.peer_id is not None else None
        if link.state is LinkState.SPARE:
            return
        if peer is not None and peer.conn == link.conn and self._promote_spare(peer):
            return
        if peer is not None and peer.conn == link.conn:
            if peer.switching_until > ctx.now:
                peer.conn = None
            else:
                self.forget_peer(peer, reason)
        if expected and link.peer_id is not None:
            self._book.forget(link.peer_id)
        address = link.dialed
        if peer is not None and peer.listen_port:
            address = self._book.get((link.host, peer.listen_port)) or address
        if address is None or self._book.get(address.key) is None:
            return
        self._book.link_ended(address, ctx.now, proven=link.peer_id is not None)
        if link.peer_id is not None and not expected:
            self._dialer.rediscover(ctx.limits.rediscover_min_interval)
        self._dialer.wake_rediscover()

    def forget_peer(self, peer: Peer, reason: str) -> None:
        """peer has left: drop it (its buckets and strikes stay with the guard) and say so."""
        ctx = self._ctx
        del self._peers[peer.node_id]
        ctx.timers.cancel(Timer(TimerKind.SWITCHING, peer.node_id))
        self._book.unlinked(peer.node_id, ctx.now)
        self._dialer.wake_rediscover()
        self.links_changed()
        addr = format_addr(peer.host, peer.listen_port)
        display = self._names.of(peer)
        ctx.show(vw.PeerLeft(peer.node_id, peer.nick, display, reason, addr))
        ctx.log(act.INFO, f"link down: {display}: {reason}")

    def strike(self, peer: Peer | None, what: str) -> None:
        """peer sent something invalid: count it; too many and its link is closed and banned."""
        ctx = self._ctx
        ctx.counters["rejected"] += 1
        if peer is None:
            return
        display = self._names.of(peer)
        ctx.log(act.WARNING, f"{display} sent {what}")
        if self._guard.strike(peer.node_id, ctx.now, peer.host) and peer.conn is not None:
            link = self.by_conn.get(peer.conn)
            if link is not None:
                self._guard.ban(link.host, ctx.now)
                ctx.show(vw.Problem(f"disconnected {display}: too many invalid messages"))
                self.close(link, "too many invalid messages", flush=False)
                self.lose(link, "too many invalid messages", expected=True)

    def protocol_violation(self, link: Link, reason: str) -> None:
        """The peer broke the protocol: tell it why and close its link."""
        ctx = self._ctx
        ctx.log(act.WARNING, f"closing {format_addr(link.host, link.port)}: {reason}")
        ctx.emit(act.Send((link.conn,), ErrorFrame(RefusalCode.PROTOCOL, reason, PROTOCOL_VERSION)))
        self.close(link, reason, flush=True)
        self.lose(link, f"protocol error: {reason}", expected=False)

    def error_frame(self, link: Link, peer: Peer, error: ErrorFrame) -> None:
        """The peer refused us and closes: show its words under its name."""
        text = error.text.replace("\n", " ")  # one line, under the peer's name
        self._ctx.show(vw.Problem(f"{self._names.of(peer)} closed the link: {text}"))
        self.close(link, f"peer error: {error.code}", flush=False)
        self.lose(link, f"error: {error.code}", expected=False)

    def bye(self, link: Link, peer: Peer, bye: Bye) -> None:
        """The peer closes this link on purpose: a duplicate, or it leaves."""
        ctx = self._ctx
        if bye.reason == ByeReason.DUPLICATE:
            self.close(link, "duplicate link", flush=False)
            if peer.conn == link.conn and not self._promote_spare(peer):
                # The peer keeps another link to us: wait for it, do not report a leave.
                peer.switching_until = ctx.now + ctx.limits.handshake_timeout
                peer.conn = None
                ctx.timers.schedule(Timer(TimerKind.SWITCHING, peer.node_id), peer.switching_until)
        else:
            self.close(link, f"peer said bye: {bye.reason}", flush=False)
            self.lose(link, bye.reason, expected=True)

    def send_peer_list(self, conns: tuple[int, ...], exclude: Peer | None = None) -> None:
        """Tell peers whom we link to (one complete list when it fits in a frame)."""
        linked = [p for p in self._members.linked() if p is not exclude]
        known = tuple(PeerAddress(p.node_id, p.host, p.listen_port) for p in linked)
        size = self._ctx.limits.max_gossip_peers
        complete = len(known) <= size
        for start in range(0, max(len(known), 1), size):
            self._ctx.emit(act.Send(conns, PeerList(known[start : start + size], complete)))

    def links_changed(self) -> None:
        """Our set of links changed: announce it to every peer soon (several changes, one list)."""
        ctx = self._ctx
        ctx.timers.schedule_by(Timer(TimerKind.ANNOUNCE), ctx.now + ctx.limits.links_announce_delay)

    def time_out(self, peer: Peer) -> None:
        """peer was silent for too long (liveness): its link is dead."""
        link = self.primary(peer)
        if link is not None:
            self.close(link, "timed out", flush=False)
            self.lose(link, "timed out", expected=False)

    # ----------------------------------------------------------------- timers

    def handshake_due(self, conn: int) -> None:
        """The handshake on conn ran out of time, unless it finished."""
        link = self.by_conn.get(conn)
        if link is not None and link.state is LinkState.HANDSHAKING:
            self.close(link, "handshake timed out", flush=False)
            self.lose(link, "handshake timed out", expected=False)

    def spare_due(self, conn: int) -> None:
        """The peer never said which of two links it dropped: close the spare."""
        link = self.by_conn.get(conn)
        if link is not None and link.state is LinkState.SPARE:
            self.close(link, "spare link not chosen", flush=False)

    def switching_due(self, peer_id: str) -> None:
        """A peer that dropped a duplicate link never came back on another: it left."""
        peer = self._peers.get(peer_id)
        if peer is not None and peer.state is PeerState.SWITCHING:
            self.forget_peer(peer, "lost")

    def announce_due(self) -> None:
        """Tell every peer whom we link to now."""
        conns = self._members.conns()
        if conns:
            self.send_peer_list(conns)

    # ---------------------------------------------------------------- queries

    def primary(self, peer: Peer | None) -> Link | None:
        """The peer's link, if it has one (check_invariants: it is always held)."""
        if peer is None or peer.conn is None:
            return None
        return self.by_conn.get(peer.conn)

    def unestablished(self) -> list[Link]:
        """The links still handshaking."""
        return [link for link in self.by_conn.values() if link.peer_id is None]

    def spares(self) -> list[Link]:
        """Links to a peer we dialled twice, kept until the peer says which one it dropped."""
        return [link for link in self.by_conn.values() if link.spare_since is not None]

    def close_all(self) -> None:
        """We are leaving: say bye to every peer and close every link."""
        conns = self._members.conns()
        if conns:
            self._ctx.emit(act.Send(conns, Bye(ByeReason.QUIT)))
        for link in list(self.by_conn.values()):
            self.close(link, "shutting down", flush=True)
        self._peers.clear()

    def check_invariants(self) -> None:
        """Raise InvariantError unless peers and their primary links pair up, spares stand
        beside a primary, and every link and peer waiting on time has its timer."""
        # Peers and their links point at each other, one primary link per peer: the two
        # (peer, link) pairings are the same set (sets: cheap enough for every step).
        by_peers = {(node_id, p.conn) for node_id, p in self._peers.items() if p.conn is not None}
        by_links = {
            (link.peer_id, conn)
            for conn, link in self.by_conn.items()
            if link.peer_id is not None and link.spare_since is None  # PRIMARY, without a call
        }
        if by_peers != by_links:
            wrong = sorted(str(pair) for pair in by_peers ^ by_links)[0]
            raise InvariantError(f"mesh: a peer and its primary link disagree: {wrong}")
        timers = self._ctx.timers
        for conn, link in self.by_conn.items():
            if link.peer_id is None:
                _check_timer(timers.when(Timer(TimerKind.HANDSHAKE, conn)), link.handshake.deadline)
            if link.spare_since is None:
                continue
            linked = self._peers.get(link.peer_id or "")
            if linked is None or linked.conn in (None, conn):
                raise InvariantError(f"mesh: spare link {conn} stands beside no primary link")
            due = link.spare_since + self._ctx.limits.handshake_timeout
            _check_timer(timers.when(Timer(TimerKind.SPARE, conn)), due)
        for peer in self._peers.values():
            if peer.conn is None:  # SWITCHING
                when = timers.when(Timer(TimerKind.SWITCHING, peer.node_id))
                _check_timer(when, peer.switching_until)

    # ---------------------------------------------------------------- private

    def _reject(self, link: Link, outcome: Rejected) -> None:
        ctx = self._ctx
        if outcome.reply is not None:
            ctx.emit(act.Send((link.conn,), outcome.reply))
        # A stranger knocking at a private room is not news; a peer we were told to dial is.
        quiet = (
            ctx.room_tag
            and outcome.code is Refusal.ROOM
            and not (link.dialed and link.dialed.static)
        )
        if outcome.problem is not None and not quiet:
            where = format_addr(link.host, link.port)
            problem = (
                f"the peer at {where} {outcome.problem}" if outcome.by_peer else outcome.problem
            )
            ctx.show(vw.Problem(problem))
        self.close(link, outcome.reason, flush=True)
        ctx.log(act.INFO, f"link {format_addr(link.host, link.port)} refused: {outcome.reason}")
        forged = outcome.code in (Refusal.AUTH, Refusal.IDENTITY) and not outcome.by_peer
        if forged:  # whichever side dialled: someone there tried to pass for another key
            self._guard.ban(link.host, ctx.now)
        address = link.dialed
        if address is None:
            return
        book = self._book
        if outcome.code is Refusal.SELF:
            book.own.add(address.key)
            book.drop(address.key)
        elif forged or not address.static:
            book.drop(address.key)
        else:
            address.failures = max(address.failures, 8)
            book.retry_later(address, ctx.now)
        book.dial_ended(address, ctx.now)

    def _establish(self, link: Link, hello: Hello, nick: str) -> None:
        ctx = self._ctx
        peer_id = hello.node_id
        peer = self._peers.get(peer_id)
        old = self.primary(peer)
        ctx.timers.cancel(Timer(TimerKind.HANDSHAKE, link.conn))
        if peer is not None and old is not None:
            if old.outbound and link.outbound:
                # We dialled both: the peer accepted both, keeps one and says bye on the other.
                link.peer_id = peer_id
                link.spare_since = ctx.now
                due = ctx.now + ctx.limits.handshake_timeout
                ctx.timers.schedule(Timer(TimerKind.SPARE, link.conn), due)
                self._remember_address(link, hello)
                if link.dialed is not None:  # the dial is done, whichever link stays
                    self._book.dial_ended(link.dialed, ctx.now)
                return
            if not self._newer_link_wins(old, link, peer_id):
                ctx.emit(act.Send((link.conn,), Bye(ByeReason.DUPLICATE)))
                self.close(link, "duplicate link", flush=True)
                if link.dialed is not None:
                    self._book.verify(link.dialed, peer_id)
                    self._book.dial_ended(link.dialed, ctx.now)
                return
            ctx.emit(act.Send((old.conn,), Bye(ByeReason.DUPLICATE)))
            self.close(old, "duplicate link", flush=True)
        link.peer_id = peer_id
        address = self._remember_address(link, hello)
        if peer is None:
            peer = Peer(
                node_id=peer_id,
                nick=nick,
                conn=link.conn,
                host=link.host,
                listen_port=hello.port,
                since=ctx.now,
                last_heard=ctx.now,
                dh=hello.dh,
            )
            self._peers[peer_id] = peer
            self.ever_linked = True
            ctx.timers.cancel(Timer(TimerKind.ALONE_HINT))
            addr = format_addr(link.host, hello.port)
            self._names.vouch(
                peer_id,
                nick,
                then_show=lambda: vw.PeerJoined(
                    peer_id, nick, self._names.display_name(peer_id, nick), addr
                ),
            )
            ctx.log(act.INFO, f"link up: {nick}#{peer_id[:SHORT_ID_CHARS]} at {addr}")
        else:
            peer.conn = link.conn
            peer.host = link.host
            peer.listen_port = hello.port
            peer.last_heard = ctx.now
            peer.switching_until = 0.0
            peer.dh = hello.dh
            ctx.timers.cancel(Timer(TimerKind.SWITCHING, peer_id))
            if peer.nick != nick:
                self._names.rename_peer(peer, nick)
        if address is not None:
            address.failures = 0
            self._book.dial_ended(address, ctx.now)
        self.send_peer_list((link.conn,), exclude=peer)
        self.links_changed()
        self._hooks.peer_linked(peer)

    def _newer_link_wins(self, old: Link, new: Link, peer_id: str) -> bool:
        # Both ends keep the link dialled by the smaller node ID. If the peer dialled both, we
        # alone decide: the newer wins (the older is probably a dead socket from before a
        # restart); the peer keeps both until our bye tells it which one we dropped.
        node_id = self._ctx.node_id
        preferred_dialer = min(node_id, peer_id)
        old_ok = (node_id if old.outbound else peer_id) == preferred_dialer
        new_ok = (node_id if new.outbound else peer_id) == preferred_dialer
        return new_ok or not old_ok

    def _remember_address(self, link: Link, hello: Hello) -> Address | None:
        """Note where the peer listens: proven where we dialled it, else only its claim."""
        return self._book.claimed_by_hello(
            link.host, hello.port, hello.node_id, link.dialed, self._ctx.now
        )

    def _release(self, link: Link) -> None:
        """Forget the link, once: what it carried (transfers) moves to the peer's next link."""
        if self.by_conn.pop(link.conn, None) is None:
            return
        timers = self._ctx.timers
        timers.cancel(Timer(TimerKind.HANDSHAKE, link.conn))
        timers.cancel(Timer(TimerKind.SPARE, link.conn))
        if link.state is LinkState.PRIMARY and link.peer_id is not None and not self._ctx.closing:
            self._hooks.link_released(link.peer_id, link.conn)

    def _promote_spare(self, peer: Peer) -> bool:
        """Move the peer onto its spare link, if it has one; True if it did."""
        for link in self.spares():
            if link.peer_id == peer.node_id:
                link.spare_since = None
                self._ctx.timers.cancel(Timer(TimerKind.SPARE, link.conn))
                peer.conn = link.conn
                peer.host = link.host
                self._hooks.link_moved(peer)
                return True
        return False


def _check_timer(when: float | None, due: float) -> None:
    """Raise InvariantError unless a timer is set to fire by due."""
    if when is None or when > due:
        raise InvariantError(f"mesh: a timer due at {due} is set for {when}")
