"""Transfers in flight as the interfaces see them: bytes done, rate and time left (pure)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from p2pchat.core import views as vw
from p2pchat.core.files import human_size
from p2pchat.ui.format import duration

RATE_WINDOW_SECONDS = 3.0
STEP_PERCENT = 10


@dataclass
class Transfer:
    """One transfer to or from one peer."""

    offer_id: str
    name: str
    total: int
    sending: bool
    peer_nick: str
    done: int = 0
    samples: deque[tuple[float, int]] = field(default_factory=deque)
    first: tuple[float, int] | None = None  # the first report: for the average rate

    @property
    def fraction(self) -> float:
        """Share done, 0 to 1 (an empty file counts as done)."""
        return 1.0 if self.total <= 0 else min(1.0, self.done / self.total)

    def rate(self) -> float | None:
        """Bytes per second over the last few seconds; None until there are two reports."""
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else None

    def eta(self) -> float | None:
        """Seconds left at the current rate; None when unknown."""
        rate = self.rate()
        return (self.total - self.done) / rate if rate else None

    def summary(self) -> str:
        """'42% of 1.0 GiB, 310.2 MiB/s, 2s left' (what is known so far)."""
        parts = [f"{self.fraction * 100:.0f}% of {human_size(self.total)}"]
        rate = self.rate()
        if rate is not None:
            parts.append(f"{human_size(rate)}/s")
        eta = self.eta()
        if eta is not None:
            parts.append(f"{duration(eta)} left")
        return ", ".join(parts)

    def average_rate(self, now: float) -> float | None:
        """Bytes per second from the first report to now, to the end of the file."""
        if self.first is None or now <= self.first[0] or self.first[1] >= self.total:
            return None  # a small file was whole at its first report: no rate is known
        return (self.total - self.first[1]) / (now - self.first[0])

    def direction(self) -> str:
        """'to bob' or 'from alice'."""
        return f"{'to' if self.sending else 'from'} {self.peer_nick}"


class TransferBoard:
    """The transfers in flight, updated from the node's file views."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.active: dict[tuple[str, bool, str], Transfer] = {}

    def progress(self, view: vw.FileProgress) -> tuple[Transfer, bool]:
        """Record a progress report: (the transfer, whether it crossed a 10 % step)."""
        key = (view.offer_id, view.sending, view.peer_nick)
        transfer = self.active.get(key)
        if transfer is None:
            transfer = Transfer(view.offer_id, view.name, view.total, view.sending, view.peer_nick)
            self.active[key] = transfer
        before = _step(transfer.fraction) if transfer.samples else -1
        now = self._clock()
        transfer.done, transfer.total = view.done, view.total
        transfer.samples.append((now, view.done))
        if transfer.first is None:
            transfer.first = (now, view.done)
        while transfer.samples and now - transfer.samples[0][0] > RATE_WINDOW_SECONDS:
            transfer.samples.popleft()
        return transfer, _step(transfer.fraction) != before

    def finish(self, view: vw.FileDone | vw.FileFailed) -> str:
        """Forget a transfer that ended; how fast it went ('' if unknown)."""
        transfer = self.active.pop((view.offer_id, view.sending, view.peer_nick), None)
        if transfer is None or not isinstance(view, vw.FileDone):
            return ""
        rate = transfer.average_rate(self._clock())
        return "" if rate is None else f"{human_size(rate)}/s"


def _step(fraction: float) -> int:
    return int(fraction * 100) // STEP_PERCENT
