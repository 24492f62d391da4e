"""Which user interface the chat runs: the --ui modes."""

from __future__ import annotations

from enum import StrEnum


class UiMode(StrEnum):
    """The values of --ui: full screen, plain lines, or JSON lines."""

    TUI = "tui"
    PLAIN = "plain"
    JSON = "json"
