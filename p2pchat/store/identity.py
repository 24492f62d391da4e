"""The node's identity: its keys (the node ID derives from them), in a locked data dir."""

from __future__ import annotations

import fcntl
from pathlib import Path
from types import TracebackType
from typing import IO

from p2pchat.security.keys import KeyFileError, NodeKeys

LOCK_FILE = "lock"


class IdentityError(Exception):
    """The data dir cannot be used; the message is one line for the user."""


class Identity:
    """A node's keys and, unless ephemeral, the lock on its data dir."""

    def __init__(self, keys: NodeKeys, data_dir: Path | None, lock: IO[str] | None) -> None:
        self.keys = keys
        self.node_id = keys.node_id
        self.data_dir = data_dir
        self._lock = lock

    def close(self) -> None:
        """Release the data dir lock; idempotent."""
        if self._lock is not None and not self._lock.closed:
            self._lock.close()

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
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = (data_dir / LOCK_FILE).open("a")
    except OSError as exc:
        raise IdentityError(f"cannot use data dir {data_dir}: {exc.strerror}") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise IdentityError(
            f"another p2pchat is running with data dir {data_dir}; give this one its own --data-dir"
        ) from None
    try:
        keys = NodeKeys.load_or_create(data_dir)
    except KeyFileError as exc:
        lock.close()
        raise IdentityError(str(exc)) from None
    return Identity(keys, data_dir, lock)
