"""What we hold for members who are away: their sealed direct messages (we cannot read them),
and receipts for the writers of DMs that arrived, until we can hand each on.

Bounded per recipient, per author and in all (count and bytes). When a bound is reached, the
author holding the most in that bound gives up its oldest frame, if it holds more than the
newcomer's author; otherwise the newcomer is refused. So a member that floods us with frames
(under many names, too) crowds out mostly itself, and what others wrote stays.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from p2pchat.core.errors import InvariantError
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Direct, Receipt

HeldMessage = Direct | Receipt


class HoldVerdict(Enum):
    """What the hold did with a frame offered to it."""

    HELD = "held"
    ALREADY = "already held"
    REFUSED = "refused: the hold is full"


@dataclass(frozen=True, slots=True)
class Held:
    """One frame held: for recipient, written by author, dropped at expires (Unix time)."""

    key: str
    recipient: str
    author: str
    expires: float
    message: HeldMessage
    size: int
    order: int  # arrival order, oldest first


def held_key(message: HeldMessage) -> str:
    """What names a held frame: a DM's ID, or "ack:" and the ID of the DM a receipt is for."""
    return message.msg_id if isinstance(message, Direct) else f"ack:{message.direct_id}"


class DirectHold:
    """Frames held for others, by key; indexed by recipient and by expiry."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._items: dict[str, Held] = {}
        self._by_recipient: dict[str, dict[str, Held]] = {}
        self._per_author: Counter[str] = Counter()
        self._expiry: list[tuple[float, str]] = []  # a heap; stale entries are skipped
        self._bytes = 0
        self._order = 0

    def add(self, message: HeldMessage, expires: float, size: int) -> tuple[HoldVerdict, list[str]]:
        """Hold message (its frame size bytes) until expires; the verdict and the keys given up
        to make room."""
        key = held_key(message)
        if key in self._items:
            return HoldVerdict.ALREADY, []
        limits = self._limits
        item = Held(key, message.to, message.author, expires, message, size, self._order)
        if self._per_author[item.author] >= limits.max_held_per_author:
            return HoldVerdict.REFUSED, []
        given_up: list[str] = []
        scopes = (
            (item.recipient, limits.max_held_per_recipient, limits.max_held_bytes_per_recipient),
            (None, limits.max_held, limits.max_held_bytes),
        )
        for recipient, max_count, max_bytes in scopes:
            while True:
                held = list(self._in_scope(recipient))
                if len(held) < max_count and sum(h.size for h in held) + size <= max_bytes:
                    break
                victim = _crowding(held, item.author)
                if victim is None:
                    return HoldVerdict.REFUSED, given_up
                self.drop(victim.key)
                given_up.append(victim.key)
        self._order += 1
        self._items[key] = item
        self._by_recipient.setdefault(item.recipient, {})[key] = item
        self._per_author[item.author] += 1
        self._bytes += size
        heapq.heappush(self._expiry, (expires, key))
        return HoldVerdict.HELD, given_up

    def get(self, key: str) -> HeldMessage | None:
        """The frame held under key, if any."""
        item = self._items.get(key)
        return item.message if item is not None else None

    def drop(self, key: str) -> bool:
        """Let the frame under key go; True if it was held."""
        item = self._items.pop(key, None)
        if item is None:
            return False
        mine = self._by_recipient[item.recipient]
        del mine[key]
        if not mine:
            del self._by_recipient[item.recipient]
        self._per_author[item.author] -= 1
        if not self._per_author[item.author]:
            del self._per_author[item.author]
        self._bytes -= item.size
        return True

    def for_recipient(self, node_id: str) -> list[Held]:
        """What we hold for node_id, oldest first."""
        return sorted(self._by_recipient.get(node_id, {}).values(), key=lambda h: h.order)

    def expire(self, wall: float) -> list[str]:
        """Let go of what expired by wall; their keys."""
        gone = []
        while self._expiry and self._expiry[0][0] <= wall:
            expires, key = heapq.heappop(self._expiry)
            item = self._items.get(key)
            if item is not None and item.expires == expires and self.drop(key):
                gone.append(key)
        return gone

    def next_expiry(self) -> float | None:
        """When the next held frame expires (Unix time), if any."""
        while self._expiry and self._items.get(self._expiry[0][1]) is None:
            heapq.heappop(self._expiry)
        return self._expiry[0][0] if self._expiry else None

    def restore(self, frames: Iterable[tuple[HeldMessage, float, int]]) -> None:
        """Hold again what the log kept: (message, expires, size), within the bounds."""
        for message, expires, size in frames:
            self.add(message, expires, size)

    def __len__(self) -> int:
        """Frames held."""
        return len(self._items)

    @property
    def bytes(self) -> int:
        """The size of the frames held."""
        return self._bytes

    def check_invariants(self) -> None:
        """Raise InvariantError unless the indexes and totals agree with the frames held."""
        if self._bytes != sum(h.size for h in self._items.values()):
            raise InvariantError("hold: byte total is off")
        if sum(len(m) for m in self._by_recipient.values()) != len(self._items):
            raise InvariantError("hold: recipient index is off")
        if sum(self._per_author.values()) != len(self._items):
            raise InvariantError("hold: author counts are off")

    def _in_scope(self, recipient: str | None) -> Iterable[Held]:
        if recipient is None:
            return self._items.values()
        return self._by_recipient.get(recipient, {}).values()


def _crowding(held: list[Held], newcomer: str) -> Held | None:
    """The oldest frame of the author holding the most of held, if it holds more than
    newcomer (who then holds one more); else None."""
    counts = Counter(h.author for h in held)
    if not counts:
        return None
    top, most = max(counts.items(), key=lambda kv: (kv[1], kv[0] == newcomer))
    if top != newcomer and most <= counts[newcomer] + 1:
        return None
    return min((h for h in held if h.author == top), key=lambda h: h.order)
