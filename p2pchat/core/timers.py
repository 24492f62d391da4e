"""Timers of the core: a heap of deadlines scheduled and cancelled by key (pure, no clock)."""

from __future__ import annotations

import heapq
import itertools
from enum import Enum
from typing import NamedTuple

from p2pchat.core.errors import InvariantError

# Cancelled and moved deadlines stay in the heap until they surface; past this many stale
# entries per live one the heap is rebuilt, so it never grows with reschedules.
STALE_PER_LIVE = 2
STALE_SLACK = 64


class TimerKind(Enum):
    """What falls due; the subject of a Timer says for whom."""

    HANDSHAKE = "handshake"  # subject: conn; an unfinished handshake times out
    SPARE = "spare"  # subject: conn; a spare link the peer did not choose is closed
    SWITCHING = "switching"  # subject: peer ID; a peer between two links is given up
    SYNC = "sync"  # subject: peer ID; a sync request goes unanswered
    LIVENESS = "liveness"  # subject: peer ID; ping its link if silent, drop it if gone
    HOUSEKEEPING = "housekeeping"  # while linked: queued syncs, gaps, retention
    ANNOUNCE = "announce"  # tell peers our links changed
    ALONE_HINT = "alone hint"  # nobody found yet: say what to do
    GAP = "gap"  # a hole in an author's messages is given up
    CHECK = "check"  # messages shown before their signature was checked are checked now
    DIAL = "dial"  # subject: (host, port); an address is due for a dial
    DIAL_SLOT = "dial slot"  # a dial ended: its slot, or that node, is free for another
    FORGET_ADDRESS = "forget address"  # subject: (host, port); nobody mentioned it for long
    REDISCOVER = "rediscover"  # ask discovery again for peers we lack
    DIRECTS = "directs"  # a frame held for a member who is away, or a DM of ours, expires


class Timer(NamedTuple):
    """One timer's key: its kind and whom it is for."""

    kind: TimerKind
    subject: int | str | tuple[str, int] | None = None


class Timers:
    """Deadlines by key: scheduling a key again moves it, cancelling forgets it."""

    def __init__(self) -> None:
        self._when: dict[Timer, float] = {}
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()

    def schedule(self, timer: Timer, when: float) -> None:
        """timer falls due at when (replacing any earlier or later time it had)."""
        if self._when.get(timer) == when:
            return
        self._when[timer] = when
        heapq.heappush(self._heap, (when, next(self._order), timer))
        if len(self._heap) > STALE_PER_LIVE * len(self._when) + STALE_SLACK:
            self._rebuild()

    def schedule_by(self, timer: Timer, when: float) -> None:
        """timer falls due at when or sooner: an earlier time it already has is kept."""
        held = self._when.get(timer)
        if held is None or when < held:
            self.schedule(timer, when)

    def cancel(self, timer: Timer) -> None:
        """timer will not fall due (no harm if it was not scheduled)."""
        self._when.pop(timer, None)

    def when(self, timer: Timer) -> float | None:
        """When timer falls due, if it is scheduled."""
        return self._when.get(timer)

    def next_deadline(self) -> float | None:
        """The earliest deadline scheduled, or None."""
        heap = self._heap
        while heap and self._when.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> list[Timer]:
        """The timers due at now, earliest first; they are no longer scheduled."""
        due: list[Timer] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, _, timer = heapq.heappop(heap)
            if self._when.get(timer) == when:
                del self._when[timer]
                due.append(timer)
        return due

    def __len__(self) -> int:
        return len(self._when)

    def check_invariants(self) -> None:
        """Raise InvariantError unless the heap can hold every scheduled timer and the earliest
        entry is no later than any scheduled deadline (cheap: the heap's top only)."""
        if len(self._heap) < len(self._when):
            raise InvariantError("timers: fewer heap entries than timers scheduled")
        if self._heap and self._when and self._heap[0][0] > min(self._when.values()):
            raise InvariantError("timers: a timer is scheduled before the heap's earliest entry")

    def _rebuild(self) -> None:
        self._heap = [entry for entry in self._heap if self._when.get(entry[2]) == entry[0]]
        heapq.heapify(self._heap)
