"""Bounded memory of which messages were already shown, so each is shown once."""

from __future__ import annotations

from collections import OrderedDict

from p2pchat.core.limits import Limits


class SeenMessages:
    """(author, seq) IDs seen so far: a per-author high-water mark plus a window above it.

    Every seq at or below an author's mark counts as seen. Seqs that arrive out of order wait
    in a window bounded in entries and age; when one leaves the window the mark rises past it,
    so a message older than the window is still never shown twice.
    """

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._marks: dict[str, int] = {}
        self._window: OrderedDict[tuple[str, int], float] = OrderedDict()

    def add(self, author: str, seq: int, now: float) -> bool:
        """Record (author, seq) as seen; True if it was new."""
        mark = self._marks.get(author, 0)
        if seq <= mark or (author, seq) in self._window:
            return False
        if seq == mark + 1:
            self._raise_mark(author, seq)
        else:
            self._window[(author, seq)] = now
            if author not in self._marks:
                self._track(author, 0)
        self._expire(now)
        return True

    def __contains__(self, message_id: tuple[str, int]) -> bool:
        """True if (author, seq) counts as seen."""
        author, seq = message_id
        return seq <= self._marks.get(author, 0) or message_id in self._window

    def high_water(self, author: str) -> int:
        """The highest seq of author below which everything counts as seen."""
        return self._marks.get(author, 0)

    @property
    def window_size(self) -> int:
        """How many out-of-order IDs are held above the marks."""
        return len(self._window)

    @property
    def author_count(self) -> int:
        """How many authors have a mark."""
        return len(self._marks)

    def _raise_mark(self, author: str, seq: int) -> None:
        window = self._window
        while (author, seq + 1) in window:
            del window[(author, seq + 1)]
            seq += 1
        self._track(author, seq)

    def _track(self, author: str, mark: int) -> None:
        if author not in self._marks and len(self._marks) >= self._limits.max_tracked_authors:
            del self._marks[next(iter(self._marks))]
        self._marks[author] = mark

    def _expire(self, now: float) -> None:
        window = self._window
        oldest_allowed = now - self._limits.seen_window_seconds
        while window:
            (author, seq), seen_at = next(iter(window.items()))
            if len(window) <= self._limits.seen_window_entries and seen_at >= oldest_allowed:
                return
            del window[(author, seq)]
            if seq > self._marks.get(author, 0):
                self._raise_mark(author, seq)


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

    def __len__(self) -> int:
        """How many IDs are held."""
        return len(self._ids)
