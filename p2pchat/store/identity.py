"""The node's identity (its node ID), kept in the data dir and locked against a second process."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from pathlib import Path
from types import TracebackType
from typing import IO

from p2pchat.core.limits import NODE_ID_HEX_CHARS
from p2pchat.core.messages import is_node_id

IDENTITY_FILE = "node.json"
LOCK_FILE = "lock"


class IdentityError(Exception):
    """The data dir cannot be used; the message is one line for the user."""


class Identity:
    """The node ID of one data dir (None: ephemeral, nothing on disk), held under a lock."""

    def __init__(self, node_id: str, data_dir: Path | None, lock: IO[str] | None) -> None:
        self.node_id = node_id
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
    """A fresh node ID kept nowhere (--ephemeral)."""
    return Identity(secrets.token_hex(NODE_ID_HEX_CHARS // 2), None, None)


def open_identity(data_dir: Path) -> Identity:
    """Load (or create on first use) the identity in data_dir and lock it for this process."""
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
        node_id = _load_or_create_node_id(data_dir / IDENTITY_FILE)
    except IdentityError:
        lock.close()
        raise
    return Identity(node_id, data_dir, lock)


def _load_or_create_node_id(path: Path) -> str:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        new_id = secrets.token_hex(NODE_ID_HEX_CHARS // 2)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"node_id": new_id}) + "\n")
        os.replace(tmp, path)
        return new_id
    except (OSError, ValueError) as exc:
        raise IdentityError(f"cannot read {path}: {exc}") from None
    node_id = data.get("node_id") if isinstance(data, dict) else None
    if isinstance(node_id, str) and is_node_id(node_id):
        return node_id
    raise IdentityError(f"{path} holds no valid node_id; move it away to get a new identity")
