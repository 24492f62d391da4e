"""Defences against hostile peers: rate limits, strikes for invalid input, and temporary bans."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from p2pchat.core.limits import Limits


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
    """Per-author and per-peer rate limits, strikes per peer, and bans per address (bounded)."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._authors: OrderedDict[str, TokenBucket] = OrderedDict()
        self._peers: dict[str, TokenBucket] = {}
        self._strikes: dict[str, int] = {}
        self._bans: OrderedDict[str, float] = OrderedDict()
        self.throttled = 0

    def allow_message(self, author: str, peer: str | None, now: float) -> bool:
        """True if a room message from author (relayed by peer) is within the rate limits."""
        limits = self._limits
        bucket = self._authors.get(author)
        if bucket is None:
            bucket = TokenBucket(limits.author_rate, limits.author_burst, limits.author_burst, now)
            self._authors[author] = bucket
            if len(self._authors) > limits.max_tracked_authors:
                self._authors.popitem(last=False)
        ok = bucket.take(now)
        if ok and peer is not None:
            peer_bucket = self._peers.get(peer)
            if peer_bucket is None:
                peer_bucket = TokenBucket(
                    limits.peer_rate, limits.peer_burst, limits.peer_burst, now
                )
                self._peers[peer] = peer_bucket
            ok = peer_bucket.take(now)
        if not ok:
            self.throttled += 1
        return ok

    def strike(self, peer: str) -> bool:
        """Count one invalid message against peer; True once it has earned a disconnect."""
        self._strikes[peer] = self._strikes.get(peer, 0) + 1
        return self._strikes[peer] >= self._limits.max_strikes

    def forget_peer(self, peer: str) -> None:
        """The peer's link is gone: drop its bucket and strikes."""
        self._peers.pop(peer, None)
        self._strikes.pop(peer, None)

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
