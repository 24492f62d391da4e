"""A shared byte budget that bounds what readers may hand the node thread before it catches up."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from p2pchat.core.messages import Message


@dataclass(frozen=True, slots=True)
class Received:
    """Frames a reader decoded, holding nbytes of the inbox budget until the node handles them."""

    conn_id: int
    messages: tuple[Message, ...]
    nbytes: int


class InboxBudget:
    """Readers take bytes before posting and the node gives them back; readers wait when empty.

    While a reader waits it does not read its socket, so TCP pushes back on the peer instead of
    the node's memory growing.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._available = limit
        self._waiting = 0
        self._cond = threading.Condition()

    def take(self, nbytes: int, stop: Callable[[], bool]) -> bool:
        """Wait until nbytes (at most the whole budget) are free and take them; False if stopped."""
        want = min(nbytes, self._limit)
        with self._cond:
            while self._available < want:
                if stop():
                    return False
                self._waiting += 1
                try:
                    self._cond.wait()
                finally:
                    self._waiting -= 1
            self._available -= want
            return True

    def give(self, nbytes: int) -> None:
        """Return bytes taken for a batch the node has handled."""
        with self._cond:
            self._available = min(self._limit, self._available + min(nbytes, self._limit))
            if self._waiting:
                self._cond.notify_all()

    def wake(self) -> None:
        """Make waiting readers re-check whether they should stop."""
        with self._cond:
            self._cond.notify_all()

    @property
    def available(self) -> int:
        """Bytes that may still be posted without waiting."""
        with self._cond:
            return self._available
