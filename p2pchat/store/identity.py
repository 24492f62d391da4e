"""The node's identity (node ID) and its last used sequence number, kept in the data dir."""

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
SEQ_FILE = "seq"
LOCK_FILE = "lock"


class IdentityError(Exception):
    """The data dir cannot be used; the message is one line for the user."""


class Identity:
    """Node ID and sequence counter of one data dir, locked against a second process."""

    def __init__(self, data_dir: Path, node_id: str, last_seq: int, lock: IO[str]) -> None:
        self.data_dir = data_dir
        self.node_id = node_id
        self.last_seq = last_seq
        self._lock = lock

    def save_seq(self, seq: int) -> None:
        """Persist seq atomically; a seq once saved is never handed out again."""
        tmp = self.data_dir / f"{SEQ_FILE}.tmp"
        tmp.write_text(f"{seq}\n")
        os.replace(tmp, self.data_dir / SEQ_FILE)
        self.last_seq = seq

    def close(self) -> None:
        """Release the data dir lock; idempotent."""
        if not self._lock.closed:
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
        last_seq = _load_seq(data_dir / SEQ_FILE)
    except IdentityError:
        lock.close()
        raise
    return Identity(data_dir, node_id, last_seq, lock)


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


def _load_seq(path: Path) -> int:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise IdentityError(f"cannot read {path}: {exc.strerror}") from None
    if not text.isdigit():
        raise IdentityError(f"{path} does not hold a sequence number")
    return int(text)
