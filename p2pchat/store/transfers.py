"""Accepted transfers kept in the data dir (`transfers-<room hash>.json`) to resume them later."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from p2pchat.core.saved import SavedTransfer, saved_transfer
from p2pchat.fsutil import write_atomically

TRANSFERS_FILE = "transfers-{room}.json"  # room: a hash of the room name (offers are per room)
ROOM_HASH_CHARS = 16


class TransferBook:
    """The saved transfers of one room: a JSON list of records (or nothing, when ephemeral)."""

    def __init__(self, state_dir: Path | None, room: str) -> None:
        self._state_dir = state_dir
        room_hash = hashlib.sha256(room.encode()).hexdigest()[:ROOM_HASH_CHARS]
        self._name = TRANSFERS_FILE.format(room=room_hash)

    def load(self) -> list[SavedTransfer]:
        """The records saved last; none if there is no file or it cannot be read (bad ones are
        skipped)."""
        if self._state_dir is None:
            return []
        try:
            data = json.loads((self._state_dir / self._name).read_text())
        except (OSError, ValueError):
            return []
        if not isinstance(data, list):
            return []
        found = (saved_transfer(r) for r in data if isinstance(r, dict))
        return [record for record in found if record is not None]

    def save(self, records: Sequence[SavedTransfer]) -> None:
        """Replace the saved records with these (atomically); raise OSError on failure."""
        if self._state_dir is None:
            return
        self._state_dir.mkdir(parents=True, exist_ok=True)
        data = json.dumps(list(records), indent=1).encode()
        write_atomically(self._state_dir / self._name, data)
