"""Dialling: what discovery and gossip tell us, which addresses are due, asking discovery again."""

from __future__ import annotations

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.addr import format_addr
from p2pchat.core.addressbook import AddressBook, Key, Source
from p2pchat.core.context import Context
from p2pchat.core.errors import InvariantError
from p2pchat.core.limits import SHORT_ID_CHARS
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import PeerList
from p2pchat.core.timers import Timer, TimerKind


class Dialer:
    """Learns addresses into the book, dials the due ones within the dial slots, and asks
    discovery again while some node we know of is not linked."""

    def __init__(self, ctx: Context, book: AddressBook, members: Members) -> None:
        self.book = book
        self._ctx = ctx
        self._members = members
        self._last_rediscover: float | None = None

    @property
    def pending_dials(self) -> int:
        """Dials under way."""
        return self.book.pending_dials

    def discovered(self, event: ev.PeerDiscovered) -> None:
        """Discovery (or the user) names addresses a node may listen at: dial what is due."""
        ctx = self._ctx
        if event.node_id == ctx.node_id:
            self.book.own.update(event.addresses)
            return
        self.learn(event.addresses, event.node_id, event.source)
        if event.source == "user" and event.node_id is None:
            for host, port in event.addresses:
                address = self.book.get((host, port))
                if address is not None and address.node_id in self._members.peers:
                    ctx.show(vw.Notice(f"already connected to {format_addr(host, port)}"))
        self.dial_due()

    def gossip(self, peer: Peer, peers: PeerList) -> None:
        """peer told us whom it links to: learn where they listen, and dial what is due."""
        ctx = self._ctx
        for entry in peers.peers:
            if entry.port and entry.node_id != ctx.node_id:
                key = ((entry.host, entry.port),)
                wait = self.yield_to(entry.node_id)
                if not self.book.learn(
                    key, entry.node_id, "gossip", ctx.now, peer.node_id, wait=wait
                ):
                    ctx.log(act.WARNING, "address book full; ignoring new addresses")
                    break
        if peers.complete:
            peer.links = frozenset(e.node_id for e in peers.peers) | {ctx.node_id}
        self.dial_due()  # it settles whether anyone waits for a link

    def learn(
        self,
        addresses: tuple[Key, ...],
        node_id: str | None,
        source: Source,
        reporter: str | None = None,
    ) -> None:
        """Note addresses someone may listen at; node_id is only a claim until a handshake."""
        ctx = self._ctx
        if node_id == ctx.node_id:
            return
        wait = self.yield_to(node_id)
        if not self.book.learn(addresses, node_id, source, ctx.now, reporter, wait=wait):
            ctx.log(act.WARNING, "address book full; ignoring new addresses")
        self.wake_rediscover()  # the dial_due that follows settles whether anyone waits

    def yield_to(self, node_id: str | None) -> float:
        """How long to leave a node we just heard of to dial us first.

        Of two nodes that learn of each other, both would dial, and the tie-break would close
        one link after two handshakes. The smaller ID dials (its link is the one both keep);
        the other waits dial_yield_delay, then dials should no link have come (the claim may
        be false, or the other may not know of us). A node we link to already waits for no
        dial: the address is someone else's, or another of its own."""
        if node_id is None or node_id > self._ctx.node_id or node_id in self._members.peers:
            return 0.0
        return self._ctx.limits.dial_yield_delay

    def dial_failed(self, event: ev.DialFailed) -> None:
        """A dial got no connection: try that address again later."""
        ctx = self._ctx
        address = self.book.get((event.host, event.port))
        if address is None:
            return
        self.book.retry_later(address, ctx.now)
        self.book.dial_ended(address, ctx.now)
        ctx.log(act.DEBUG, f"dial {format_addr(event.host, event.port)} failed: {event.reason}")

    def network_changed(self) -> None:
        """Addresses that failed while we had no (or another) network are worth a try now."""
        self.book.retry_all_now(self._ctx.now)
        self._ctx.log(act.INFO, "network changed: dialling the known addresses again")
        self.dial_due()

    def withdrawn(self, event: ev.PeerWithdrawn) -> None:
        """mDNS says a node is gone: forget what only mDNS claimed for it, unless it is linked."""
        if event.node_id not in self._members.peers:
            self.book.forget(event.node_id, hints=True)
        self._ctx.log(act.INFO, f"mDNS withdrew {event.node_id[:SHORT_ID_CHARS]}")

    def dial_due(self) -> None:
        """Dial the addresses that are due, as many as there are free dial slots."""
        ctx = self._ctx
        if ctx.closing:
            return
        # Dials to silent ports hold their slot until the handshake deadline: bounded apart
        # from the inbound slots, so gossip cannot make us lock ourselves out.
        room = ctx.limits.max_pending_dials - self.pending_dials
        for address in self.book.due(ctx.now, self._members.peers, room):
            ctx.emit(act.Dial(address.host, address.port))
        if self.book.waiting(self._members.peers):
            self.wake_rediscover()
        else:
            ctx.timers.cancel(Timer(TimerKind.REDISCOVER))

    def rediscover(self, min_interval: float) -> None:
        """Ask discovery again, unless we did within min_interval."""
        ctx = self._ctx
        last = self._last_rediscover
        if last is None or ctx.now >= last + min_interval:
            self._last_rediscover = ctx.now
            ctx.emit(act.Rediscover())
        self.wake_rediscover()

    def wake_rediscover(self) -> None:
        """Make sure discovery is asked again in time, should some node wait for a link (the
        timer finds out whether one does)."""
        ctx = self._ctx
        timer = Timer(TimerKind.REDISCOVER)
        last = self._last_rediscover
        when = ctx.now if last is None else last + ctx.limits.rediscover_retry_interval
        ctx.timers.schedule_by(timer, when)

    def rediscover_due(self) -> None:
        """The retry interval is up: ask discovery again if we still lack someone."""
        if self.book.waiting(self._members.peers):
            self.rediscover(self._ctx.limits.rediscover_retry_interval)

    def check_invariants(self) -> None:
        """Raise InvariantError unless the book is consistent and dials are within their slots."""
        ctx = self._ctx
        pending = self.pending_dials
        waiting = self.book.check_invariants(
            ctx.now, self._members.peers, dials_free=pending < ctx.limits.max_pending_dials
        )
        if pending > ctx.limits.max_pending_dials:
            raise InvariantError("dialer: more dials under way than there are slots")
        waiting = waiting and not ctx.closing
        last = self._last_rediscover
        due = ctx.now if last is None else last + ctx.limits.rediscover_retry_interval
        # A dial that just ended wakes the dialer at once, and the dialer sets the rediscovery.
        slot = ctx.timers.when(Timer(TimerKind.DIAL_SLOT))
        when = ctx.timers.when(Timer(TimerKind.REDISCOVER))
        set_by = min((t for t in (when, slot) if t is not None), default=None)
        if waiting and (set_by is None or set_by > max(due, ctx.now)):
            raise InvariantError("dialer: a node waits for a link but no rediscovery is set")
