"""Bounded memories of which messages were already seen, so each is shown once."""

from __future__ import annotations

import heapq
from collections import OrderedDict
from enum import Enum


class RecentIds:
    """A set of opaque IDs bounded in size and age (for messages without a sequence)."""

    def __init__(self, max_entries: int, max_age: float) -> None:
        self._max_entries = max_entries
        self._max_age = max_age
        self._ids: OrderedDict[str, float] = OrderedDict()

    def add(self, message_id: str, now: float) -> bool:
        """Record an ID; True if it was not already held."""
        if message_id in self._ids:
            return False
        self._ids[message_id] = now
        oldest_allowed = now - self._max_age
        while self._ids:
            first, seen_at = next(iter(self._ids.items()))
            if len(self._ids) <= self._max_entries and seen_at >= oldest_allowed:
                break
            del self._ids[first]
        return True

    def __contains__(self, message_id: str) -> bool:
        """True if the ID is held."""
        return message_id in self._ids

    def __len__(self) -> int:
        """How many IDs are held."""
        return len(self._ids)


FLOORS_SHARE = 10  # a DM ledger keeps per-author floors for a tenth of its size


class DirectVerdict(Enum):
    """What the ledger says of a direct message."""

    NEW = "new"  # not seen, within the acceptance window: take it (and remember it)
    SEEN = "seen"  # taken before (this run or an earlier one)
    TOO_OLD = "too old"  # signed longer ago than the window: it may have been seen and forgotten
    TOO_NEW = "too new"  # signed further ahead than clocks drift


class DirectLedger:
    """Every direct message ID taken within the acceptance window, so each is taken once.

    A DM is accepted only while its signed time is within the window (max_age back, max_ahead
    forward); its ID is kept until the window has passed it, so an ID is never forgotten while
    its DM could still be accepted, across restarts too (the runtime persists the entries).
    Bounded, and every step costs O(log n) at most:
    - when full, the entry signed longest ago makes room, and its author's DMs signed no later
      are refused from then on (its ID could otherwise be replayed);
    - those per-author floors are bounded too: beyond max_entries // FLOORS_SHARE the oldest
      one is folded into one floor for everybody (DMs signed no later are refused);
    - entries and floors leave once the window has passed them, oldest first.
    """

    def __init__(
        self, max_entries: int, max_age: float, max_ahead: float, known: dict[str, float]
    ) -> None:
        self._max_entries = max_entries
        self._max_floors = max(1, max_entries // FLOORS_SHARE)
        self._max_age = max_age
        self._max_ahead = max_ahead
        self._ids: dict[str, float] = {}
        self._by_age: list[tuple[float, str]] = []  # a heap: (signed at, ID)
        # author -> DMs signed at or before are refused; oldest first (evictions come in order)
        self._floors: OrderedDict[str, float] = OrderedDict()
        self._floor = float("-inf")  # for everybody: where the oldest floors were folded
        for message_id, signed_at in sorted(known.items(), key=lambda item: item[1]):
            self.take(message_id, signed_at)

    def judge(self, message_id: str, signed_at: float, wall: float) -> DirectVerdict:
        """Whether a DM signed at signed_at (Unix time) may be taken now (wall)."""
        self._drop_expired(wall)
        if message_id in self._ids:
            return DirectVerdict.SEEN
        if signed_at < wall - self._max_age or signed_at <= self._floor:
            return DirectVerdict.TOO_OLD
        if signed_at <= self._floors.get(author_of(message_id), float("-inf")):
            return DirectVerdict.TOO_OLD
        if signed_at > wall + self._max_ahead:
            return DirectVerdict.TOO_NEW
        return DirectVerdict.NEW

    def take(self, message_id: str, signed_at: float) -> None:
        """Remember a DM as taken (making room if full)."""
        if message_id in self._ids:
            return
        while len(self._ids) >= self._max_entries and self._by_age:
            oldest_at, oldest = heapq.heappop(self._by_age)
            if self._ids.pop(oldest, None) is not None:
                self._raise_floor(author_of(oldest), oldest_at)
        self._ids[message_id] = signed_at
        heapq.heappush(self._by_age, (signed_at, message_id))

    def __contains__(self, message_id: str) -> bool:
        """True if the ID was taken."""
        return message_id in self._ids

    def __len__(self) -> int:
        """IDs remembered."""
        return len(self._ids)

    @property
    def floors(self) -> int:
        """Per-author floors held."""
        return len(self._floors)

    def _raise_floor(self, author: str, signed_at: float) -> None:
        self._floors[author] = max(self._floors.pop(author, signed_at), signed_at)
        while len(self._floors) > self._max_floors:
            _, folded = self._floors.popitem(last=False)
            self._floor = max(self._floor, folded)

    def _drop_expired(self, wall: float) -> None:
        oldest = wall - self._max_age
        while self._by_age and self._by_age[0][0] < oldest:
            _, message_id = heapq.heappop(self._by_age)
            self._ids.pop(message_id, None)
        while self._floors and next(iter(self._floors.values())) < oldest:
            self._floors.popitem(last=False)


def author_of(message_id: str) -> str:
    """The author's node ID in a message ID ("<author>:<seq>" or "<author>:d:<nonce>")."""
    return message_id.split(":", 1)[0]
