"""Defences against hostile peers: rate limits, meters, strikes for invalid input, and bans.

Everything here is keyed by node ID, and again by host: keys are free, so all identities behind
one address (this machine's loopback excepted: several nodes on one machine are how people
test) share limits.host_share times one peer's budgets and strikes. Tables are bounded and
least-recently-used, not per link: a peer that reconnects finds its empty buckets and its
strikes waiting.
"""

from __future__ import annotations

import functools
import ipaddress
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
    PRESENCE = "presence"  # here or away: each is a line on screen
    REPEAT_DM = "repeated dm"  # a DM to us taken before: each costs a signed receipt


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

    def borrow(self, now: float, max_debt: float) -> float | None:
        """Use one token, going into debt down to -max_debt if there is none; the seconds
        until a token is back (0.0 if none was borrowed), or None past max_debt (not used)."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens - 1.0 < -max_debt:
            return None
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0.0 else (1.0 - self.tokens) / self.rate

    def ready_at(self, now: float) -> float:
        """When the next token will be there (now if there is one)."""
        tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        # At least a millisecond on: a token short by a rounding error must not be due "now".
        return now if tokens >= 1.0 else now + max((1.0 - tokens) / self.rate, 0.001)


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

    def allow_message(
        self, author: str, peer: str | None, now: float, host: str | None = None
    ) -> bool:
        """True if a message from author (relayed by peer from host) is within the rate limits."""
        limits = self._limits
        authors = limits.max_tracked_authors
        budget = (limits.author_rate, limits.author_burst)
        ok = _bucket(self._authors, author, budget, now, authors).take(now)
        if ok and peer is not None:
            host_key = f"host {host}" if _shared(host) else None
            budget = (limits.peer_rate, limits.peer_burst)
            ok = self._take(self._peers, peer, host_key, budget, now)
        if not ok:
            self.throttled += 1
        return ok

    def allow_from_author(self, author: str, now: float, host: str | None = None) -> float | None:
        """A message live from its author on its own link: the seconds to stop reading that
        link (0.0: none), or None if even that is over the limit (then it is dropped).

        The author's rate limit holds on average: an honest author who writes faster (a long
        paste) is slowed down by TCP instead of dropped, down to a debt of one burst and what
        one read can hold.
        """
        limits = self._limits
        budget = (limits.author_rate, limits.author_burst)
        bucket = _bucket(self._authors, author, budget, now, limits.max_tracked_authors)
        wait = bucket.borrow(
            now, limits.author_burst + limits.recv_bytes / limits.min_chat_frame_bytes
        )
        if wait is not None:
            host_key = f"host {host}" if _shared(host) else None  # its host's share, as relays
            if not self._take(
                self._peers, author, host_key, (limits.peer_rate, limits.peer_burst), now
            ):
                wait = None
        if wait is None:
            self.throttled += 1
        return wait

    def allow(self, meter: Meter, peer: str, now: float, host: str | None = None) -> bool:
        """True if peer (at host) may have one more of what meter counts; False (counted) if not."""
        host_key = (meter, f"host {host}") if _shared(host) else None
        budget = meter_budget(self._limits, meter)
        if self._take(self._meters, (meter, peer), host_key, budget, now):
            return True
        self.metered += 1
        return False

    def strike(self, peer: str, now: float, host: str | None = None) -> bool:
        """Count one invalid message against peer (at host); True once it earned a disconnect.

        Strikes outlive the link (reconnecting does not wipe them) and are forgotten only
        limits.strike_memory seconds after the last one. A host's identities together earn a
        disconnect at host_share times one peer's strikes.
        """
        limits = self._limits
        out = self._count_strike(peer, now) >= limits.max_strikes
        if _shared(host):
            assert host is not None
            out |= self._count_strike(f"host {host}", now) >= limits.max_strikes * limits.host_share
        return out

    def _count_strike(self, key: str, now: float) -> int:
        count, last = self._strikes.pop(key, (0, now))
        if now >= last + self._limits.strike_memory:
            count = 0
        self._strikes[key] = (count + 1, now)
        while len(self._strikes) > self._limits.max_tracked_peers:
            self._strikes.popitem(last=False)
        return count + 1

    def _take(
        self,
        table: OrderedDict[K, TokenBucket],
        key: K,
        host_key: K | None,
        budget: tuple[float, float],
        now: float,
    ) -> bool:
        """One token from key's bucket, and from its host's share (host_share times as big)."""
        bound = self._limits.max_tracked_peers * len(Meter)
        if not _bucket(table, key, budget, now, bound).take(now):
            return False
        if host_key is None:
            return True
        share = self._limits.host_share
        rate, burst = budget
        return _bucket(table, host_key, (rate * share, burst * share), now, bound).take(now)

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


@functools.lru_cache(maxsize=1024)  # one parse per host, not one per message
def _shared(host: str | None) -> bool:
    """True if identities at host share budgets (any host but this machine's loopback)."""
    if host is None:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
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
        case Meter.PRESENCE:
            return limits.presence_rate, limits.presence_burst
        case Meter.REPEAT_DM:
            return limits.repeat_dm_rate, limits.repeat_dm_burst


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
