"""What every user interface offers the session and the node."""

from __future__ import annotations

from typing import Protocol

from p2pchat.core.views import View


class Ui(Protocol):
    """A user interface: every method is safe to call from any thread and never blocks long."""

    def show(self, view: View) -> None:
        """Show something the node reports."""

    def show_help(self) -> None:
        """Show the command list."""

    def problem(self, text: str) -> None:
        """Show a one-line error caused locally (bad command, unresolvable host)."""

    def flush(self) -> None:
        """Push out what was shown; the node calls this after each batch of events."""
