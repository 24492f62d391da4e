"""Following the network: notice when the host's interfaces or addresses change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from p2pchat.discovery.interfaces import ipv4_prefixes

log = logging.getLogger(__name__)

WATCH_SECONDS = 2.0  # how often the addresses are read (cheap: one getifaddrs call)

Addresses = frozenset[tuple[str, int]]


class InterfaceWatch:
    """Reads the host's IPv4 addresses every WATCH_SECONDS; calls on_change with the new set
    once a change has held for one more reading, so a flapping link calls it once, not often.

    The first reading is taken when the watch is made, beside the addresses the discovery
    layers start with: a change before the thread runs is a change, not the baseline."""

    def __init__(
        self,
        on_change: Callable[[Addresses], None],
        every: float = WATCH_SECONDS,
        read: Callable[[], Addresses] | None = None,
    ) -> None:
        self._on_change = on_change
        self._every = every
        self._read = read or _current
        self._known = self._read()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="p2pchat-interfaces")

    def start(self) -> None:
        """Begin watching."""
        self._thread.start()

    def close(self) -> None:
        """Stop watching; idempotent."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join()

    def _run(self) -> None:
        known = self._known
        pending: Addresses | None = None
        while not self._stop.wait(self._every):
            now = self._read()
            if now == known:
                pending = None
            elif now == pending:
                known, pending = now, None
                log.info("network changed: %s", ", ".join(sorted(ip for ip, _ in now)) or "none")
                try:
                    self._on_change(now)
                except Exception:
                    log.exception("following the network change failed")
            else:
                pending = now


def _current() -> Addresses:
    try:
        return frozenset(ipv4_prefixes())
    except OSError:
        return frozenset()
