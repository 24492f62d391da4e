"""The node's identity: its keys (the node ID derives from them), in a locked data dir.

The lock is filelock's: an OS lock where there is one (flock on POSIX, msvcrt on Windows),
released by the OS when the process dies; elsewhere a lock file that names its owner and is
taken over once that owner is gone.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import TracebackType

from p2pchat.security.keys import KeyFileError, NodeKeys

with warnings.catch_warnings():
    # Without an OS lock, filelock warns that only its soft lock is left: that is still a lock.
    warnings.simplefilter("ignore")
    from filelock import BaseFileLock, FileLock, Timeout

LOCK_FILE = "lock"


class IdentityError(Exception):
    """The data dir cannot be used; the message is one line for the user."""


class Identity:
    """A node's keys and, unless ephemeral, the lock on its data dir."""

    def __init__(self, keys: NodeKeys, data_dir: Path | None, lock: BaseFileLock | None) -> None:
        self.keys = keys
        self.node_id = keys.node_id
        self.data_dir = data_dir
        self._lock = lock

    def close(self) -> None:
        """Release the data dir lock; idempotent."""
        if self._lock is not None and self._lock.is_locked:
            self._lock.release()

    def __enter__(self) -> Identity:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def ephemeral_identity() -> Identity:
    """Fresh keys kept nowhere (--ephemeral)."""
    return Identity(NodeKeys.generate(), None, None)


def open_identity(data_dir: Path) -> Identity:
    """Load (or create on first use) the keys in data_dir and lock it for this process."""
    lock = FileLock(data_dir / LOCK_FILE, timeout=0, thread_local=False)
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock.acquire()
    except Timeout:
        raise IdentityError(
            f"another p2pchat is running with data dir {data_dir}; give this one its own --data-dir"
        ) from None
    except OSError as exc:
        raise IdentityError(f"cannot use data dir {data_dir}: {exc.strerror or exc}") from None
    try:
        keys = NodeKeys.load_or_create(data_dir)
    except KeyFileError as exc:
        lock.release()
        raise IdentityError(str(exc)) from None
    return Identity(keys, data_dir, lock)
