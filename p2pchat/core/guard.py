"""Defences against hostile peers: rate limits, meters, strikes for invalid input, and bans.

Everything here is keyed by node ID (or host, for bans) and kept in bounded least-recently-used
tables, not per link: a peer that reconnects finds its empty buckets and its strikes waiting.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from p2pchat.core.limits import Limits

K = TypeVar("K")


class Meter(StrEnum):
    """What a peer may ask of us, each with a budget per peer (limits.meter_*)."""

    SYNC = "sync"  # sync requests: each costs a scan of the history and up to a frame back
    PING = "ping"  # pings: each costs a pong (and may start a sync)
    NICK = "nick"  # nick changes: each may be remembered on disk (trust on first use)
    FETCH = "fetch"  # file requests: each may start a stream
    OFFER = "offer"  # file offers: each costs a signature check and a line on screen
    GOSSIP = "gossip"  # peer lists: each may add addresses and dials


@dataclass(slots=True)
class TokenBucket:
    """Allows `rate` events a second on average and bursts of up to `burst`."""

    rate: float
    burst: float
    tokens: float
    stamp: float

    def take(self, now: float) -> bool:
        """Use one token if there is one."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Guard:
    """Per-author and per-peer rate limits, meters, strikes per peer and bans per address."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._authors: OrderedDict[str, TokenBucket] = OrderedDict()
        self._peers: OrderedDict[str, TokenBucket] = OrderedDict()
        self._meters: OrderedDict[tuple[Meter, str], TokenBucket] = OrderedDict()
        self._strikes: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._bans: OrderedDict[str, float] = OrderedDict()
        self.throttled = 0
        self.metered = 0

    def allow_message(self, author: str, peer: str | None, now: float) -> bool:
        """True if a message from author (relayed by peer) is within the rate limits."""
        limits = self._limits
        authors, peers = limits.max_tracked_authors, limits.max_tracked_peers
        budget = (limits.author_rate, limits.author_burst)
        ok = _bucket(self._authors, author, budget, now, authors).take(now)
        if ok and peer is not None:
            budget = (limits.peer_rate, limits.peer_burst)
            ok = _bucket(self._peers, peer, budget, now, peers).take(now)
        if not ok:
            self.throttled += 1
        return ok

    def allow(self, meter: Meter, peer: str, now: float) -> bool:
        """True if peer may have one more of what meter counts; False (and counted) if not."""
        budget = meter_budget(self._limits, meter)
        bound = self._limits.max_tracked_peers * len(Meter)
        if _bucket(self._meters, (meter, peer), budget, now, bound).take(now):
            return True
        self.metered += 1
        return False

    def strike(self, peer: str, now: float) -> bool:
        """Count one invalid message against peer; True once it has earned a disconnect.

        Strikes outlive the link (reconnecting does not wipe them) and are forgotten only
        limits.strike_memory seconds after the last one.
        """
        count, last = self._strikes.pop(peer, (0, now))
        if now >= last + self._limits.strike_memory:
            count = 0
        self._strikes[peer] = (count + 1, now)
        while len(self._strikes) > self._limits.max_tracked_peers:
            self._strikes.popitem(last=False)
        return count + 1 >= self._limits.max_strikes

    def strikes(self, peer: str, now: float) -> int:
        """Strikes against peer that still count."""
        count, last = self._strikes.get(peer, (0, now))
        return 0 if now >= last + self._limits.strike_memory else count

    def ban(self, host: str, now: float) -> None:
        """Refuse and do not dial host for a while."""
        self._bans[host] = now + self._limits.ban_seconds
        self._bans.move_to_end(host)
        while len(self._bans) > self._limits.max_known_addresses:
            self._bans.popitem(last=False)

    def banned(self, host: str, now: float) -> bool:
        """True while host is banned."""
        until = self._bans.get(host)
        if until is None:
            return False
        if now >= until:
            del self._bans[host]
            return False
        return True


def meter_budget(limits: Limits, meter: Meter) -> tuple[float, float]:
    """(rate a second, burst) of one meter."""
    match meter:
        case Meter.SYNC:
            return limits.sync_request_rate, limits.sync_request_burst
        case Meter.PING:
            return limits.ping_rate, limits.ping_burst
        case Meter.NICK:
            return limits.nick_rate, limits.nick_burst
        case Meter.FETCH:
            return limits.fetch_rate, limits.fetch_burst
        case Meter.OFFER:
            return limits.offer_rate, limits.offer_burst
        case Meter.GOSSIP:
            return limits.gossip_rate, limits.gossip_burst


def _bucket(
    table: OrderedDict[K, TokenBucket], key: K, budget: tuple[float, float], now: float, bound: int
) -> TokenBucket:
    """key's bucket of (rate, burst) in a table of at most bound (least recently used go)."""
    bucket = table.get(key)
    if bucket is None:
        rate, burst = budget
        bucket = table[key] = TokenBucket(rate, burst, burst, now)
        while len(table) > bound:
            table.popitem(last=False)
    else:
        table.move_to_end(key)
    return bucket
