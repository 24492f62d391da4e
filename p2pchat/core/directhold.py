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
    """Frames held for others, by key; indexed by recipient, by author and by expiry, with the
    totals each bound needs kept as frames come and go."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._items: dict[str, Held] = {}
        self._by_recipient: dict[str, dict[str, Held]] = {}  # in arrival order
        self._by_author: dict[str, dict[str, Held]] = {}  # in arrival order
        self._recipient_bytes: Counter[str] = Counter()
        self._recipient_authors: dict[str, Counter[str]] = {}
        self._expiry: list[tuple[float, str]] = []  # a heap; stale entries are skipped
        self._bytes = 0
        self._order = 0

    def add(self, message: HeldMessage, expires: float, size: int) -> tuple[HoldVerdict, list[str]]:
        """Hold message (its frame size bytes) until expires; the verdict and the keys given up
        to make room (none when it is refused: then nothing changed)."""
        key = held_key(message)
        if key in self._items:
            return HoldVerdict.ALREADY, []
        limits = self._limits
        item = Held(key, message.to, message.author, expires, message, size, self._order)
        if len(self._by_author.get(item.author, {})) >= limits.max_held_per_author:
            return HoldVerdict.REFUSED, []
        given_up: list[Held] = []
        for recipient in (item.recipient, None):
            while self._over(recipient, size):
                victim = self._crowding(recipient, item.author)
                if victim is None:
                    for held in reversed(given_up):  # as it was: all or nothing
                        self._insert(held)
                    return HoldVerdict.REFUSED, []
                self.drop(victim.key)
                given_up.append(victim)
        self._order += 1
        self._insert(item)
        heapq.heappush(self._expiry, (expires, key))
        return HoldVerdict.HELD, [held.key for held in given_up]

    def get(self, key: str) -> HeldMessage | None:
        """The frame held under key, if any."""
        item = self._items.get(key)
        return item.message if item is not None else None

    def drop(self, key: str) -> bool:
        """Let the frame under key go; True if it was held."""
        item = self._items.pop(key, None)
        if item is None:
            return False
        for index, value in ((self._by_recipient, item.recipient), (self._by_author, item.author)):
            mine = index[value]
            del mine[key]
            if not mine:
                del index[value]
        self._recipient_bytes[item.recipient] -= item.size
        if not self._recipient_bytes[item.recipient]:
            del self._recipient_bytes[item.recipient]
        authors = self._recipient_authors[item.recipient]
        authors[item.author] -= 1
        if not authors[item.author]:
            del authors[item.author]
            if not authors:
                del self._recipient_authors[item.recipient]
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

    def __len__(self) -> int:
        """Frames held."""
        return len(self._items)

    @property
    def bytes(self) -> int:
        """The size of the frames held."""
        return self._bytes

    def check_invariants(self) -> None:
        """Raise InvariantError unless the indexes and totals agree with the frames held."""
        items = self._items.values()
        if self._bytes != sum(h.size for h in items):
            raise InvariantError("hold: byte total is off")
        for index in (self._by_recipient, self._by_author):
            if sum(len(m) for m in index.values()) != len(self._items):
                raise InvariantError("hold: an index is off")
        if self._recipient_bytes != Counter(
            {r: sum(h.size for h in m.values()) for r, m in self._by_recipient.items()}
        ):
            raise InvariantError("hold: recipient bytes are off")
        if sum(sum(c.values()) for c in self._recipient_authors.values()) != len(self._items):
            raise InvariantError("hold: recipient author counts are off")

    def _insert(self, item: Held) -> None:
        self._items[item.key] = item
        self._by_recipient.setdefault(item.recipient, {})[item.key] = item
        self._by_author.setdefault(item.author, {})[item.key] = item
        self._recipient_bytes[item.recipient] += item.size
        self._recipient_authors.setdefault(item.recipient, Counter())[item.author] += 1
        self._bytes += item.size

    def _over(self, recipient: str | None, size: int) -> bool:
        """True if one more frame of size would break the bound of recipient (None: all)."""
        limits = self._limits
        if recipient is None:
            count, held_bytes = len(self._items), self._bytes
            return count >= limits.max_held or held_bytes + size > limits.max_held_bytes
        count = len(self._by_recipient.get(recipient, {}))
        held_bytes = self._recipient_bytes[recipient]
        return (
            count >= limits.max_held_per_recipient
            or held_bytes + size > limits.max_held_bytes_per_recipient
        )

    def _crowding(self, recipient: str | None, newcomer: str) -> Held | None:
        """The oldest frame, within recipient's bound (None: all), of the author holding the
        most there, if that is the newcomer's author or holds more than it will; else None."""
        if recipient is None:
            counts = Counter({a: len(m) for a, m in self._by_author.items()})
        else:
            counts = self._recipient_authors.get(recipient, Counter())
        if not counts:
            return None
        top, most = max(counts.items(), key=lambda kv: (kv[1], kv[0] == newcomer))
        if top != newcomer and most <= counts[newcomer] + 1:
            return None
        mine = self._by_author[top].values()
        return next(h for h in mine if recipient is None or h.recipient == recipient)
