"""The address book: where nodes may listen, who said so, and when to dial each again (pure).

An address is a hint until a handshake there proves who listens. Each source of unproven
addresses (mDNS, the beacon, the scan, each gossiping peer) keeps a bounded share of the book,
oldest first, so no flood can fill it or push out real peers. The mesh asks which addresses
are due, dials them, and reports back how each dial went. The book keeps a timer for each
address: when it falls due for a dial, and when it is forgotten for want of news.
"""

from __future__ import annotations

import itertools
import random
from collections import OrderedDict
from collections.abc import Container
from dataclasses import dataclass
from typing import Literal

from p2pchat.core import events as ev
from p2pchat.core.errors import InvariantError
from p2pchat.core.limits import Limits
from p2pchat.core.timers import Timer, TimerKind, Timers

Source = ev.DiscoverySource | Literal["gossip"]
STATIC_SOURCES = frozenset({"static", "user"})
MDNS_BUCKET = "mdns"
BEACON_BUCKET = "beacon"
SCAN_BUCKET = "scan"
DISCOVERY_BUCKETS = frozenset({MDNS_BUCKET, BEACON_BUCKET, SCAN_BUCKET})
HELLO_BUCKET_PREFIX = "hello:"
GOSSIP_BUCKET_PREFIX = "gossip:"

Key = tuple[str, int]


@dataclass(eq=False, slots=True)
class Address:
    """One host and port a node may listen at, and how dialling it goes."""

    host: str
    port: int
    last_seen: float
    node_id: str | None = None  # proven by a handshake with whoever listens there
    static: bool = False
    dialing: bool = False
    failures: int = 0
    next_try: float = 0.0
    hint: str | None = None  # the node ID mDNS or gossip claims: a hint, never trusted
    bucket: str | None = None  # who brought it in while it is unproven (its share of the book)
    forget_armed: bool = False  # a FORGET_ADDRESS timer is set for it (seen again: no reset)
    yielding: bool = False  # new, and left to its node to dial us first (Dialer.yield_to)

    @property
    def key(self) -> Key:
        """(host, port)."""
        return (self.host, self.port)

    @property
    def dial_key(self) -> str | None:
        """Addresses of one node are dialled one at a time: its proven ID, or the ID one source
        claims for them (a claim only groups that source's own addresses)."""
        if self.node_id is not None:
            return self.node_id
        return None if self.hint is None else f"{self.bucket}:{self.hint}"


class AddressBook:
    """Known addresses, our own ones, and the bounded shares of unproven ones by source."""

    def __init__(self, limits: Limits, rng: random.Random, timers: Timers | None = None) -> None:
        self.known: dict[Key, Address] = {}
        self.own: set[Key] = set()  # where we listen: never dialled
        self._limits = limits
        self._rng = rng
        self._timers = timers if timers is not None else Timers()
        self._buckets: dict[str, OrderedDict[Key, None]] = {}

    def get(self, key: Key) -> Address | None:
        """The address at key, if known."""
        return self.known.get(key)

    @property
    def pending_dials(self) -> int:
        """Dials under way."""
        return sum(1 for a in self.known.values() if a.dialing)

    def learn(
        self,
        addresses: tuple[Key, ...],
        node_id: str | None,
        source: Source,
        now: float,
        reporter: str | None = None,
        *,
        wait: float = 0.0,
    ) -> bool:
        """Note addresses someone may listen at (node_id: only a claim until a handshake);
        False if the book was full and some were left out. A new address is due for a dial
        after wait (the given ones at once)."""
        static = source in STATIC_SOURCES
        if static:
            bucket = None
        elif reporter is not None:
            bucket = f"{GOSSIP_BUCKET_PREFIX}{reporter}"
        else:
            bucket = {"beacon": BEACON_BUCKET, "scan": SCAN_BUCKET}.get(source, MDNS_BUCKET)
        for key in addresses:
            if key in self.own:
                continue
            address = self.known.get(key)
            if address is None:
                if not self._room_for(bucket):
                    return False
                address = Address(host=key[0], port=key[1], last_seen=now)
                self.known[key] = address
                self._try_at(address, now + wait if not static and wait > 0 else 0.0)
                address.yielding = not static and wait > 0
                if bucket is not None:
                    address.bucket = bucket
                    self._buckets.setdefault(bucket, OrderedDict())[key] = None
            elif address.bucket is not None:
                self._buckets[address.bucket].move_to_end(key)  # seen again: pushed out last
            if node_id is not None and address.node_id is None:
                address.hint = node_id
            if static:
                address.static = True
                self._unbucket(address)
            self._seen(address, now)
            if source == "user":
                address.failures = 0
                self._try_at(address, now)
        return True

    def claimed_by_hello(
        self, host: str, port: int, node_id: str, dialed: Address | None, now: float
    ) -> Address | None:
        """Note where a peer says it listens (host of its link, port of its HELLO).

        Proven where we dialled it, else only its claim: on a shared host, another member can
        claim someone's port, so a claim never takes over an address someone already holds,
        nor one the user gave. Returns the peer's address, as far as it is known.
        """
        if dialed is not None:
            self.verify(dialed, node_id)
            self._seen(dialed, now)
        if port == 0:
            return dialed
        key = (host, port)
        address = self.known.get(key)
        if address is None:
            if not self._room_for(f"{HELLO_BUCKET_PREFIX}{node_id}"):
                return dialed
            address = Address(host=host, port=port, last_seen=now)
            self.known[key] = address
            self._try_at(address, address.next_try)
        if address.node_id is None and not address.static:
            self.verify(address, node_id)
        elif address.node_id not in (None, node_id):
            return dialed
        self._seen(address, now)
        if dialed is not None and dialed is not address:
            self.dial_ended(dialed, now)
        return address

    def verify(self, address: Address, node_id: str) -> None:
        """A handshake proved who listens at address: it no longer counts against anyone."""
        address.node_id = node_id
        address.hint = None
        self._unbucket(address)

    def forget(self, node_id: str, *, hints: bool = False) -> None:
        """Stop redialling a node that left on purpose (addresses the user gave are kept).

        hints: also the unproven addresses claimed to be that node's (mDNS withdrew them).
        """
        for key, address in list(self.known.items()):
            claimed = address.node_id or (address.hint if hints else None)
            if claimed == node_id and not address.static and not address.dialing:
                self.drop(key)

    def drop(self, key: Key) -> None:
        """Forget the address at key."""
        address = self.known.pop(key, None)
        self._timers.cancel(Timer(TimerKind.DIAL, key))
        self._timers.cancel(Timer(TimerKind.FORGET_ADDRESS, key))
        if address is not None and address.bucket is not None:
            self._buckets[address.bucket].pop(key, None)
            if not self._buckets[address.bucket]:
                del self._buckets[address.bucket]

    def retry_later(self, address: Address, now: float) -> None:
        """A dial failed: try again after a growing delay; an address only discovery vouched
        for is dropped after a few failures (a beacon's source can be spoofed)."""
        self._try_at(address, now + self.backoff(address.failures))
        address.failures += 1
        unproven = address.node_id is None and address.bucket in DISCOVERY_BUCKETS
        if unproven and address.failures >= self._limits.max_unproven_dial_failures:
            self.drop(address.key)

    def backoff(self, failures: int) -> float:
        """The delay before the next dial after this many failures, with jitter."""
        limits = self._limits
        delay = min(limits.redial_max_delay, limits.redial_first_delay * 2.0 ** min(failures, 30))
        return delay * (1 + limits.redial_jitter * self._rng.uniform(-1.0, 1.0))

    def retry_all_now(self, now: float) -> None:
        """The network changed: every address not being dialled is worth a try at once."""
        for address in self.known.values():
            if not address.dialing:
                self._try_at(address, now)

    def dial_ended(self, address: Address, now: float) -> None:
        """The dial to address is over (the caller saw how it went): its slot is free."""
        if not address.dialing:
            return
        address.dialing = False
        self._timers.schedule_by(Timer(TimerKind.DIAL_SLOT), now)
        if address.key in self.known:
            self._forget_at(address)

    def link_ended(self, address: Address, now: float, *, proven: bool) -> None:
        """A link to address ended: dial again soon if a handshake had proven it, else later."""
        self.dial_ended(address, now)
        self._seen(address, now)
        if proven:
            address.failures = 0
            self._try_at(address, now + self.backoff(0))
        else:
            self.retry_later(address, now)

    def unlinked(self, node_id: str, now: float) -> None:
        """node_id is no longer a peer: its addresses may be dialled, and expire, again."""
        for address in self.known.values():
            if address.node_id == node_id:
                self._try_at(address, address.next_try)
                self._forget_at(address)

    def forget_if_stale(self, key: Key, now: float, linked: Container[str]) -> None:
        """Forget the address at key if nobody mentioned it for known_address_ttl (the user's
        stay; one being dialled is looked at again when its dial ends, a linked node's when it
        leaves)."""
        address = self.known.get(key)
        if address is not None:
            address.forget_armed = False  # this timer fired
        if address is None or address.static or not _may_dial(address, linked):
            return
        if now >= address.last_seen + self._limits.known_address_ttl:
            self.drop(key)
        else:
            self._forget_at(address)

    def waiting(self, linked: Container[str]) -> list[Address]:
        """Addresses to dial now or later, but those left to their node to dial us first (no
        node waits for a rediscovery while it may still dial us)."""
        return [a for a in self._dialable(linked) if not a.yielding]

    def due(self, now: float, linked: Container[str], room: int) -> list[Address]:
        """Up to room addresses to dial now, taking turns by who brought them in (so one
        source's flood waits its turn), one per node; each is marked as being dialled. One
        due but left out waits for a dial to end (its timer: the DIAL_SLOT that ending sets)."""
        picked: list[Address] = []
        dialing_ids: set[str] = set()
        for address in _fair_order(self._dialable(linked)):
            key = address.dial_key
            if address.next_try > now:
                continue
            if len(picked) >= room or (key is not None and key in dialing_ids):
                self._timers.cancel(Timer(TimerKind.DIAL, address.key))
                continue
            if key is not None:
                dialing_ids.add(key)
            address.dialing = True
            address.yielding = False
            self._timers.cancel(Timer(TimerKind.DIAL, address.key))  # its end sets the next
            picked.append(address)
        return picked

    def check_invariants(
        self, now: float, linked: Container[str] = frozenset(), *, dials_free: bool = True
    ) -> bool:
        """Raise InvariantError unless the book and its shares agree and keep their bounds,
        and every address that may be dialled has its timers (dials_free: a dial slot is free);
        return whether any address waits for a dial (see waiting)."""
        waiting = self._check_timers(now, linked, dials_free=dials_free)
        limits = self._limits
        if len(self.known) > limits.max_known_addresses:
            raise InvariantError("address book: over its bound")
        for name, share in self._buckets.items():
            cap = (
                limits.max_mdns_addresses if name in DISCOVERY_BUCKETS else limits.max_gossip_peers
            )
            if not share or len(share) > cap:
                raise InvariantError(f"address book: share {name!r} is empty or over its cap")
            for key in share:
                address = self.known.get(key)
                if address is None or address.bucket != name or address.node_id is not None:
                    raise InvariantError(f"address book: {key} is in share {name!r} wrongly")
        for key, address in self.known.items():
            if address.key != key or (
                address.bucket is not None and key not in self._buckets.get(address.bucket, {})
            ):
                raise InvariantError(f"address book: {key} is filed wrongly")
        return waiting

    def _dialable(self, linked: Container[str]) -> list[Address]:
        """Addresses to dial now or later: not ours, not linked, no dial to that node under way."""
        dialing = {key for a in self.known.values() if a.dialing and (key := a.dial_key)}
        return [
            a
            for a in self.known.values()
            if _may_dial(a, linked) and (a.dial_key is None or a.dial_key not in dialing)
        ]

    def _try_at(self, address: Address, when: float) -> None:
        address.next_try = when
        address.yielding = False
        self._timers.schedule(Timer(TimerKind.DIAL, address.key), when)

    def _seen(self, address: Address, now: float) -> None:
        address.last_seen = now
        # Seen again: a timer set for the old time stays (gossip repeats every address
        # often); when it fires, forget_if_stale finds the address fresh and sets it anew.
        if not address.forget_armed:
            self._forget_at(address)

    def _forget_at(self, address: Address) -> None:
        timer = Timer(TimerKind.FORGET_ADDRESS, address.key)
        address.forget_armed = not address.static
        if address.static:
            self._timers.cancel(timer)
        else:
            self._timers.schedule(timer, address.last_seen + self._limits.known_address_ttl)

    def _check_timers(self, now: float, linked: Container[str], *, dials_free: bool) -> bool:
        timers = self._timers
        waiting = False
        slot = timers.when(Timer(TimerKind.DIAL_SLOT))
        dialing: set[str] | None = None
        for address in self.known.values():
            if address.dialing or (address.node_id is not None and address.node_id in linked):
                continue  # not _may_dial: most addresses of a full mesh, so checked inline
            if dialing is None:
                dialing = {key for a in self.known.values() if a.dialing and (key := a.dial_key)}
            forget = timers.when(Timer(TimerKind.FORGET_ADDRESS, address.key))
            due = address.last_seen + self._limits.known_address_ttl
            if not address.static and (forget is None or forget > due):
                raise InvariantError(f"address book: no timer to forget {address.key}")
            if address.dial_key is not None and address.dial_key in dialing:
                continue  # its node is being dialled at another address: a DIAL_SLOT follows
            waiting = waiting or not address.yielding
            dial = timers.when(Timer(TimerKind.DIAL, address.key))
            soonest = min((t for t in (dial, slot) if t is not None), default=None)
            if dials_free and (soonest is None or soonest > max(address.next_try, now)):
                raise InvariantError(f"address book: no dial timer for {address.key}")
        return waiting

    def _unbucket(self, address: Address) -> None:
        if address.bucket is not None:
            bucket = self._buckets[address.bucket]
            bucket.pop(address.key, None)
            if not bucket:
                del self._buckets[address.bucket]
            address.bucket = None

    def _room_for(self, bucket: str | None) -> bool:
        """Make room for a new address from bucket (None: proven or given by the user).

        mDNS and each gossiping peer may keep a bounded share of unproven addresses, their
        oldest going first; a full book gives up the oldest unproven address of the biggest
        share. So nobody's flood of adverts or gossip can push out real peers or fill the book.
        """
        limits = self._limits
        if bucket is not None:
            share = self._buckets.get(bucket)
            cap = (
                limits.max_mdns_addresses
                if bucket in DISCOVERY_BUCKETS
                else limits.max_gossip_peers
            )
            if share is not None and len(share) >= cap:
                oldest = self._evictable(share)
                if oldest is None:
                    return False
                self.drop(oldest)
        if len(self.known) < limits.max_known_addresses:
            return True
        if not self._buckets:
            return False
        oldest = self._evictable(max(self._buckets.values(), key=len))
        if oldest is None:
            return False
        self.drop(oldest)
        return True

    def _evictable(self, share: OrderedDict[Key, None]) -> Key | None:
        """The oldest address of a share that is not being dialled: one we dial stays counted
        until the dial ends, so a flood cannot free dial slots by pushing addresses out."""
        return next((key for key in share if not self.known[key].dialing), None)


def _may_dial(address: Address, linked: Container[str]) -> bool:
    """Not dialling now, and not someone we already have a link (or switch) with."""
    return not address.dialing and (address.node_id is None or address.node_id not in linked)


def _fair_order(addresses: list[Address]) -> list[Address]:
    """Addresses taking turns by who brought them in, so one source's flood waits its turn."""
    shares: dict[str | None, list[Address]] = {}
    for address in addresses:
        shares.setdefault(address.bucket, []).append(address)
    return [a for turn in itertools.zip_longest(*shares.values()) for a in turn if a]
