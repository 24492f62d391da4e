"""Auto-away: after a while without a key the app says we are away, and back at the next key.

Both are `SetPresence(..., auto=True)`: the core never lets them undo the user's own /away.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from p2pchat.core import events as ev
from p2pchat.core.limits import Limits
from p2pchat.core.messages import PresenceStatus

AUTO_AWAY_SECONDS = Limits().auto_away_seconds

Later = Callable[[float, Callable[[], None]], object]  # call back once after seconds


class AutoAway:
    """Posts AWAY after idle_seconds without a key (never if not over 0), HERE at the next key."""

    def __init__(self, post: Callable[[object], None], idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self.away = False  # we said so, and no key came since
        self._post = post
        self._later: Later | None = None
        self._last_key = time.monotonic()

    def start(self, later: Later) -> None:
        """Count idle time from now, checking it with later(seconds, callback)."""
        self._later = later
        self._last_key = time.monotonic()
        self._check_in(self.idle_seconds)

    def key(self) -> None:
        """A key: count idle time from now; back (HERE) if we said we were away."""
        self._last_key = time.monotonic()
        if self.away:
            self.away = False
            self._post(ev.SetPresence(PresenceStatus.HERE, auto=True))
            self._check_in(self.idle_seconds)

    def _check_in(self, seconds: float) -> None:
        if self._later is not None and self.idle_seconds > 0:
            self._later(seconds, self._check)

    def _check(self) -> None:
        """Away if no key came for idle_seconds; else look again when that would be."""
        idle = time.monotonic() - self._last_key
        if idle < self.idle_seconds:
            self._check_in(self.idle_seconds - idle)
        elif not self.away:
            self.away = True
            self._post(ev.SetPresence(PresenceStatus.AWAY, "", auto=True))
