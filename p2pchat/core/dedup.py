"""Bounded memory of which direct messages were already shown, so each is shown once."""

from __future__ import annotations

from collections import OrderedDict


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
