"""Saved transfers in the data dir: one file per room, read back as far as it has a shape."""

from __future__ import annotations

import json
from pathlib import Path

from p2pchat.core.saved import SavedIncoming, SavedOutgoing, SavedTransfer
from p2pchat.store.transfers import TransferBook

RECORDS: list[SavedTransfer] = [
    SavedOutgoing(offer='{"t":"offer"}', path="/srv/a.iso", mtime_ns=5),
    SavedIncoming(offer='{"t":"offer"}', state="accepted", nick="ann", detail=""),
]


def test_saved_transfers_come_back_for_their_room_only(tmp_path: Path) -> None:
    TransferBook(tmp_path, "lobby").save(RECORDS)
    assert TransferBook(tmp_path, "lobby").load() == RECORDS
    assert TransferBook(tmp_path, "another room").load() == []
    [saved] = tmp_path.iterdir()
    assert saved.name.startswith("transfers-") and saved.stat().st_mode & 0o077 == 0


def test_an_ephemeral_book_keeps_nothing() -> None:
    book = TransferBook(None, "lobby")
    book.save(RECORDS)
    assert book.load() == []


def test_a_damaged_file_gives_what_still_has_a_shape(tmp_path: Path) -> None:
    book = TransferBook(tmp_path, "lobby")
    book.save(RECORDS)
    [saved] = tmp_path.iterdir()
    saved.write_text(json.dumps([1, "x", {"offer": 3}, *RECORDS, {"offer": "o", "path": 1}]))
    assert book.load() == RECORDS
    saved.write_text('{"not": "a list"}')
    assert book.load() == []
    saved.write_text("[{")
    assert book.load() == []
