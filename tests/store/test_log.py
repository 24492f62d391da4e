"""The SQLite message log: round trips, retention with floors, own counters, read-only reading."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from p2pchat.core.crypto import node_id_of
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Chat, with_fields
from p2pchat.store.identity import IdentityError, ephemeral_identity, open_identity
from p2pchat.store.log import LOG_FILE, SCHEMA_VERSION, LogError, open_log, read_log
from p2pchat.store.trust import TrustStore

A = "a" * 32
B = "b" * 32
NOW = time.time()


def chat(author: str, seq: int, lamport: int, ts: float = NOW, text: str = "") -> Chat:
    return Chat(author, seq, lamport, ts, "nick", text or f"{author[0]}{seq}")


def test_messages_survive_a_reopen_in_transcript_order(tmp_path: Path) -> None:
    with open_log(tmp_path, Limits()) as log:
        log.add("lobby", chat(B, 1, 2))
        log.add("lobby", chat(A, 1, 2))
        log.add("lobby", chat(A, 2, 1))
        log.add("lobby", chat(A, 2, 1))  # a duplicate is ignored
        log.add("other", chat(A, 3, 9))
        log.commit()
    with open_log(tmp_path, Limits()) as log:
        stored = log.load("lobby")
        assert [(c.author, c.seq) for c in stored.messages] == [(A, 2), (A, 1), (B, 1)]
        assert log.rooms() == ["lobby", "other"]
    assert (tmp_path / LOG_FILE).exists()


def test_retention_by_count_and_age_keeps_floors(tmp_path: Path) -> None:
    limits = replace(Limits(), history_messages=4, history_days=1.0)
    with open_log(tmp_path, limits) as log:
        for seq in range(1, 7):
            log.add("lobby", chat(A, seq, seq))
        log.add("lobby", chat(B, 1, 100, ts=NOW - 3 * 86400))
        log.commit()
        log.prune("lobby", NOW)
        stored = log.load("lobby")
    assert [c.seq for c in stored.messages] == [3, 4, 5, 6]
    assert stored.floors == {A: 2, B: 1}


def test_own_counter_survives_pruning(tmp_path: Path) -> None:
    limits = replace(Limits(), history_messages=2)
    with open_log(tmp_path, limits) as log:
        for seq in range(1, 6):
            log.add("lobby", chat(A, seq, seq))
        log.commit()
        log.prune("lobby", NOW)
        log.add("lobby", chat(B, 1, 10))
        log.add("lobby", chat(B, 2, 11))
        log.commit()
        log.prune("lobby", NOW)
        assert log.own_seq("lobby", A) == 5
        assert log.own_seq("elsewhere", A) == 0


def test_ephemeral_log_writes_nothing(tmp_path: Path) -> None:
    with open_log(None, Limits()) as log:
        log.add("lobby", chat(A, 1, 1))
        log.commit()
        assert len(log.load("lobby").messages) == 1
    assert list(tmp_path.iterdir()) == []
    assert ephemeral_identity().node_id != ephemeral_identity().node_id


def test_read_log_filters_rooms_and_keeps_the_newest(tmp_path: Path) -> None:
    with open_log(tmp_path, Limits()) as log:
        for seq in range(1, 6):
            log.add("lobby", chat(A, seq, seq))
        log.add("other", chat(B, 1, 1))
        log.commit()
        rows = read_log(tmp_path, "lobby", limit=2)
        assert [(room, c.seq) for room, c in rows] == [("lobby", 4), ("lobby", 5)]
        assert [room for room, _ in read_log(tmp_path, None, None)] == ["lobby"] * 5 + ["other"]
    with pytest.raises(LogError, match="no message log"):
        read_log(tmp_path / "missing", None, None)


def test_identity_is_stable_and_locked(tmp_path: Path) -> None:
    with open_identity(tmp_path) as first:
        node_id = first.node_id
        with pytest.raises(IdentityError, match="another p2pchat is running"):
            open_identity(tmp_path)
    with open_identity(tmp_path) as again:
        assert again.node_id == node_id


def test_broken_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "identity.key").write_bytes(b"not a key")
    with pytest.raises(IdentityError, match="is not a p2pchat key file"):
        open_identity(tmp_path)


def test_key_file_is_private_and_the_id_is_its_hash(tmp_path: Path) -> None:
    with open_identity(tmp_path) as identity:
        assert node_id_of(identity.keys.public_key) == identity.node_id
    assert (tmp_path / "identity.key").stat().st_mode & 0o777 == 0o600


def test_trust_store_keeps_the_first_key_per_nick(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    store.remember("alice", "a" * 32)
    store.remember("alice", "b" * 32)
    store.flush()
    assert TrustStore(tmp_path).known() == {"alice": "a" * 32}
    assert TrustStore(None).known() == {}


def test_messages_keep_their_key_and_signature(tmp_path: Path) -> None:
    signed = with_fields(chat(A, 1, 1), key=b"k" * 32, signature=b"s" * 64)
    with open_log(tmp_path, Limits()) as log:
        log.add("lobby", signed)
    with open_log(tmp_path, Limits()) as log:
        assert log.load("lobby").messages == [signed]


def test_a_version_1_log_drops_its_unsigned_messages_and_keeps_counters(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / LOG_FILE)
    db.executescript(
        "CREATE TABLE messages (room TEXT NOT NULL, author TEXT NOT NULL, seq INTEGER NOT NULL,"
        " lamport INTEGER NOT NULL, ts REAL NOT NULL, nick TEXT NOT NULL, text TEXT NOT NULL,"
        " sig BLOB, received REAL NOT NULL, PRIMARY KEY (room, author, seq)) WITHOUT ROWID;"
        "CREATE TABLE floors (room TEXT NOT NULL, author TEXT NOT NULL, seq INTEGER NOT NULL,"
        " PRIMARY KEY (room, author)) WITHOUT ROWID;"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema', '1');"
    )
    for seq in (1, 2, 3):
        db.execute(
            "INSERT INTO messages VALUES ('lobby', ?, ?, ?, ?, 'n', 't', NULL, ?)",
            (A, seq, seq, NOW, NOW),
        )
    db.commit()
    db.close()
    signed = with_fields(chat(B, 1, 9), key=b"k" * 32, signature=b"s" * 64)
    with open_log(tmp_path, Limits()) as log:
        room = log.load("lobby")
        assert room.messages == [] and room.floors == {A: 3}
        assert log.own_seq("lobby", A) == 3  # our counter never goes back
        log.add("lobby", signed)
    with open_log(tmp_path, Limits()) as log:
        assert log.load("lobby").messages == [signed]


def test_seen_directs_are_written_with_the_next_commit_once(tmp_path: Path) -> None:
    with open_log(tmp_path, Limits()) as log:
        log.add_seen_direct("lobby", "m1", NOW)
        log.add_seen_direct("lobby", "m1", NOW + 5)  # a duplicate is ignored
        log.add_seen_direct("other", "m1", NOW + 1)
        assert _raw_seen(tmp_path) == []  # queued, not written yet
        log.commit()
        assert _raw_seen(tmp_path) == [("lobby", "m1", NOW), ("other", "m1", NOW + 1)]
        log.add_seen_direct("lobby", "m1", NOW + 9)
        log.add_seen_direct("lobby", "m2", NOW + 2)
        assert log.seen_directs("lobby", NOW - 60) == {"m1": NOW, "m2": NOW + 2}


def test_seen_directs_survive_a_reopen_and_expire_per_room(tmp_path: Path) -> None:
    with open_log(tmp_path, Limits()) as log:
        log.add_seen_direct("lobby", "old", NOW - 100)
        log.add_seen_direct("lobby", "new", NOW)
        log.add_seen_direct("other", "old", NOW - 100)
    with open_log(tmp_path, Limits()) as log:
        assert log.seen_directs("lobby", NOW - 50) == {"new": NOW}
        assert log.seen_directs("lobby", NOW - 200) == {"new": NOW}  # deleted for good
        assert log.seen_directs("other", NOW - 200) == {"old": NOW - 100}
        assert log.seen_directs("nowhere", 0.0) == {}
    with open_log(None, Limits()) as log:
        log.add_seen_direct("lobby", "m", NOW)
        assert log.seen_directs("lobby", 0.0) == {"m": NOW}


def test_a_version_2_log_gains_the_seen_directs_table_and_entry_kinds(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / LOG_FILE)
    db.executescript(
        "CREATE TABLE messages (room TEXT NOT NULL, author TEXT NOT NULL, seq INTEGER NOT NULL,"
        " lamport INTEGER NOT NULL, ts REAL NOT NULL, nick TEXT NOT NULL, text TEXT NOT NULL,"
        " sig BLOB, received REAL NOT NULL, key BLOB, PRIMARY KEY (room, author, seq))"
        " WITHOUT ROWID;"
        "CREATE INDEX messages_by_order ON messages (room, lamport, author);"
        "CREATE TABLE floors (room TEXT NOT NULL, author TEXT NOT NULL, seq INTEGER NOT NULL,"
        " PRIMARY KEY (room, author)) WITHOUT ROWID;"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema', '2');"
    )
    db.execute(
        "INSERT INTO messages VALUES ('lobby', ?, 1, 1, ?, 'n', 't', ?, ?, ?)",
        (A, NOW, b"s" * 64, NOW, b"k" * 32),
    )
    db.commit()
    db.close()
    with open_log(tmp_path, Limits()) as log:
        assert [(c.author, c.seq) for c in log.load("lobby").messages] == [(A, 1)]
        assert log.seen_directs("lobby", 0.0) == {}
        log.add_seen_direct("lobby", "m1", NOW)
    db = sqlite3.connect(tmp_path / LOG_FILE)
    try:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (
            str(SCHEMA_VERSION),
        )
    finally:
        db.close()
    with open_log(tmp_path, Limits()) as log:
        assert log.seen_directs("lobby", 0.0) == {"m1": NOW}


def _raw_seen(data_dir: Path) -> list[tuple[str, str, float]]:
    """The seen_directs rows on disk, read by a second connection."""
    db = sqlite3.connect(data_dir / LOG_FILE)
    try:
        rows = db.execute("SELECT room, msg_id, ts FROM seen_directs ORDER BY room").fetchall()
    finally:
        db.close()
    return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]


def test_seen_directs_keep_only_the_newest_limit(tmp_path: Path) -> None:
    log = open_log(tmp_path, Limits())
    for i in range(10):
        log.add_seen_direct("lobby", f"{'a' * 32}:d:{i:016x}", 1000.0 + i)
    kept = log.seen_directs("lobby", 0.0, limit=3)
    assert sorted(kept.values()) == [1007.0, 1008.0, 1009.0]
    assert len(log.seen_directs("lobby", 0.0)) == 3
    log.close()
