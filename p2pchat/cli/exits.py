"""How the command ends: its exit codes, and what it tells the user as one line on stderr."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from enum import IntEnum

from p2pchat.discovery.errors import DiscoveryError
from p2pchat.store.identity import IdentityError
from p2pchat.store.log import LogError
from p2pchat.transport.listener import StartupError

ERROR_PREFIX = "p2pchat: "

log = logging.getLogger("p2pchat")


class ExitCode(IntEnum):
    """The process exit codes (README, "Exit codes"); `p2pchat doctor` ends with DoctorExit."""

    OK = 0
    INTERNAL = 1  # a bug: one line, details with -v
    USAGE = 2  # a bad option or environment, or a node that cannot start
    UNDELIVERED = 3  # piped input that reached nobody, with no peer ever found


class DoctorExit(IntEnum):
    """`p2pchat doctor`'s own exit codes (a bad option still exits with ExitCode.USAGE)."""

    PEERS_FOUND = 0
    NOBODY = 1


class UsageError(Exception):
    """Bad command line or environment; the message is one line for the user."""


# What the user can fix: said in one line, exit code USAGE.
USER_ERRORS: tuple[type[Exception], ...] = (
    UsageError,
    StartupError,
    IdentityError,
    DiscoveryError,
    LogError,
)


def tell_user(message: str) -> None:
    """Print one line for the user on stderr, after the program's name."""
    print(f"{ERROR_PREFIX}{message}", file=sys.stderr)


def run_reporting_errors(command: Callable[[], int]) -> int:
    """Run command and return its exit code; any error becomes one line and an exit code."""
    try:
        return command()
    except USER_ERRORS as exc:
        tell_user(str(exc))
        return ExitCode.USAGE
    except Exception as exc:
        log.debug("internal error", exc_info=True)
        tell_user(f"internal error: {exc} (run with -v for details)")
        return ExitCode.INTERNAL
