"""At the end of piped input: wait, bounded, until what was read reached a peer, and say so."""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Callable

from p2pchat.cli.exits import ExitCode, tell_user
from p2pchat.core.events import ShowDelivery
from p2pchat.core.views import Delivery, View
from p2pchat.transport.node import Post
from p2pchat.ui.base import Ui

DELIVERY_POLL_SECONDS = 0.2  # how often the node is asked how far the sent messages got


class Deliveries:
    """The node's delivery reports: kept off the screen, for the wait at the end of piped input."""

    def __init__(self) -> None:
        self._reports: queue.SimpleQueue[Delivery] = queue.SimpleQueue()

    def show_on(self, ui: Ui) -> Callable[[View], None]:
        """The node's show: every view goes to ui, except delivery reports, which are kept here."""

        def show(view: View) -> None:
            if isinstance(view, Delivery):
                self._reports.put(view)  # asked for at the end of piped input, not for the screen
            else:
                ui.show(view)

        return show

    def wait(self, post: Post, seconds: float) -> ExitCode:
        """Ask the node through post until all was sent, or seconds pass; say how it went.

        Returns UNDELIVERED when nothing reached anyone and no peer was ever found."""
        deadline = time.monotonic() + seconds
        latest: Delivery | None = None
        while True:
            post(ShowDelivery())
            with contextlib.suppress(queue.Empty):
                latest = self._reports.get(timeout=DELIVERY_POLL_SECONDS)
            if latest is not None and latest.unsent == 0:
                if latest.sent:
                    tell_user(f"all {latest.sent} messages reached a peer")
                return ExitCode.OK
            if time.monotonic() >= deadline:
                break
        if latest is None:
            return ExitCode.OK
        tell_user(
            f"{latest.unsent} of {latest.sent} messages reached no peer within "
            f"{seconds:g} s; they are stored and go out when this data dir joins the room again "
            "(--wait N waits longer)"
        )
        nothing = latest.unsent == latest.sent and not latest.ever_linked
        return ExitCode.UNDELIVERED if nothing else ExitCode.OK
