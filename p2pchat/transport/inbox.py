"""The node thread's inbox: typed items that any thread posts, taken by the node in batches."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.transport.budget import Received
from p2pchat.transport.listener import Accepted, Connected


@dataclass(frozen=True, slots=True)
class JobView:
    """A view from a job thread, shown by the node thread (which flushes the UI after)."""

    view: vw.View


InboxItem = ev.NodeInput | Received | Accepted | Connected | JobView
"""Events and commands from anywhere; what links decoded; sockets handed over; job views."""


class Inbox:
    """Unbounded and lock-free to post to (readers bound what they post by InboxBudget)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[InboxItem] = queue.SimpleQueue()

    def put(self, item: InboxItem) -> None:
        """Post one item (safe from any thread, never waits)."""
        self._queue.put(item)

    def take(self, wake: float | None, limit: int) -> list[InboxItem]:
        """Wait for an item until wake (monotonic; None: forever), a Tick if none came; then
        take what else is queued already, at most limit items in all, ending at a Shutdown."""
        try:
            if wake is None:
                first = self._queue.get()
            else:
                first = self._queue.get(timeout=max(0.0, wake - time.monotonic()))
        except queue.Empty:
            first = ev.Tick()
        batch = [first]
        while len(batch) < limit and not isinstance(batch[-1], ev.Shutdown):
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def drain(self) -> list[InboxItem]:
        """Everything still queued, without waiting."""
        items: list[InboxItem] = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items
