"""A sorted sequence that is cheap where history needs it: in-order appends, dropping the front."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any, Generic, Protocol, TypeVar

COMPACT_AFTER = 1024


class _Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


T = TypeVar("T", bound=_Comparable)


class SortedRun(Generic[T]):
    """Sorted items; add is O(1) when in order, pop_first is O(1) amortised (no memmove)."""

    __slots__ = ("_head", "_items")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._head = 0

    def __len__(self) -> int:
        return len(self._items) - self._head

    def __iter__(self) -> Iterator[T]:
        items = self._items
        return (items[i] for i in range(self._head, len(items)))

    def add(self, item: T) -> None:
        """Insert item in order (appended at once when it is not smaller than the last)."""
        items = self._items
        if len(items) == self._head or not item < items[-1]:
            items.append(item)
        else:
            bisect.insort(items, item, lo=self._head)

    def first(self) -> T:
        """The smallest item (the run must not be empty)."""
        return self._items[self._head]

    def last(self) -> T:
        """The largest item (the run must not be empty)."""
        return self._items[-1]

    def pop_first(self) -> T:
        """Remove and return the smallest item."""
        item = self._items[self._head]
        self._head += 1
        if self._head >= COMPACT_AFTER and self._head * 2 >= len(self._items):
            del self._items[: self._head]
            self._head = 0
        return item

    def remove(self, item: T) -> None:
        """Remove one occurrence of item if present."""
        items = self._items
        index = bisect.bisect_left(items, item, lo=self._head)
        if index < len(items) and not item < items[index] and not items[index] < item:
            if index == self._head:
                self.pop_first()
            else:
                del items[index]

    def at(self, index: int) -> T:
        """The item at a position counted from the smallest (negative: from the largest)."""
        return self._items[self._head + index if index >= 0 else index]

    def tail(self, count: int) -> list[T]:
        """The count largest items, smallest first."""
        return self._items[max(self._head, len(self._items) - count) :] if count > 0 else []

    def after(self, item: T) -> Iterator[T]:
        """Items greater than item, in order."""
        items = self._items
        start = bisect.bisect_right(items, item, lo=self._head)
        return (items[i] for i in range(start, len(items)))
