"""The `p2pchat` command: arguments, wiring, exit codes. No protocol logic lives here.

`main` (in dispatch.py) is the entry point of the console script and of `python -m p2pchat`.
"""

from __future__ import annotations

from p2pchat.cli.dispatch import main
from p2pchat.cli.exits import UsageError
from p2pchat.cli.passphrase import ask_passphrase

__all__ = ["UsageError", "ask_passphrase", "main"]
