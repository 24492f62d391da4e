"""Searching the message log: the full-text index kept in step, plain words, final state."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from p2pchat.core.entries import EntryKind
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Chat
from p2pchat.store import log as store_log
from p2pchat.store.log import LOG_FILE, MessageLog, open_log, search_log

A = "a" * 32
B = "b" * 32
NOW = time.time()


def entry(
    author: str, seq: int, text: str, kind: EntryKind = EntryKind.TEXT, ref: str = ""
) -> Chat:
    return Chat(author, seq, seq, NOW, "nick", text, kind=kind, ref=ref)


def found(log: MessageLog, words: str, room: str | None = "lobby", limit: int = 50) -> list[str]:
    return [chat.msg_id for _, chat in log.search(room, words, limit)]


def indexed_ids(log: MessageLog) -> list[tuple[str, str, int]]:
    rows = log._db.execute(
        "SELECT k.room, k.author, k.seq FROM search_text AS t JOIN search_keys AS k "
        "ON k.id = t.rowid ORDER BY k.room, k.author, k.seq"
    ).fetchall()
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]


def test_index_follows_insert_replace_and_prune() -> None:
    limits = replace(Limits(), history_messages=2)
    with open_log(None, limits) as log:
        log.add("lobby", entry(A, 1, "apple pie"))
        log.add("lobby", entry(A, 2, "x", EntryKind.REACT, f"{A}:1"))  # not indexed
        log.commit()
        assert indexed_ids(log) == [("lobby", A, 1)]
        assert found(log, "apple") == [f"{A}:1"]
        log.add("lobby", entry(A, 1, "banana split"), replace=True)
        log.commit()
        assert indexed_ids(log) == [("lobby", A, 1)]
        assert found(log, "apple") == []
        assert found(log, "banana") == [f"{A}:1"]
        log.add("lobby", entry(A, 3, "cherry"))
        log.add("lobby", entry(A, 4, "banana bread"))
        log.commit()
        log.prune("lobby", NOW)
        assert indexed_ids(log) == [("lobby", A, 3), ("lobby", A, 4)]
        assert found(log, "banana") == [f"{A}:4"]


def test_words_are_plain_words_all_of_them_newest_first() -> None:
    with open_log(None, Limits()) as log:
        log.add("lobby", entry(A, 1, 'use AND or NOT "quoted" and* NEAR(x)'))
        log.add("lobby", entry(B, 2, "Quoted words and more"))
        log.add("lobby", entry(A, 3, "nothing here"))
        log.commit()
        assert found(log, "quoted") == [f"{B}:2", f"{A}:1"]
        assert found(log, 'AND "quoted') == [f"{B}:2", f"{A}:1"]
        assert found(log, "NEAR( x") == [f"{A}:1"]
        assert found(log, "quoted more") == [f"{B}:2"]
        assert found(log, "*") == []
        assert found(log, "") == []
        assert found(log, "quoted", limit=1) == [f"{B}:2"]


def test_an_edit_decides_what_matches_and_a_delete_never_matches() -> None:
    with open_log(None, Limits()) as log:
        log.add("lobby", entry(A, 1, "old words"))
        log.add("lobby", entry(A, 2, "new words", EntryKind.EDIT, f"{A}:1"))
        log.add("lobby", entry(B, 3, "gone soon"))
        log.add("lobby", entry(B, 4, "", EntryKind.DELETE, f"{B}:3"))
        log.add("lobby", entry(A, 5, "a reply about words", EntryKind.REPLY, f"{A}:1"))
        log.add("lobby", entry(A, 6, "waves", EntryKind.ACTION))
        log.commit()
        assert found(log, "new") == [f"{A}:1"]
        assert found(log, "old") == []
        assert found(log, "words") == [f"{A}:5", f"{A}:1"]
        assert found(log, "gone") == []
        assert found(log, "waves") == [f"{A}:6"]


def test_room_filter() -> None:
    with open_log(None, Limits()) as log:
        log.add("lobby", entry(A, 1, "shared word"))
        log.add("other", entry(A, 1, "shared word"))
        log.commit()
        assert found(log, "shared") == [f"{A}:1"]
        assert sorted(room for room, _ in log.search(None, "shared", 10)) == ["lobby", "other"]


def test_a_version_4_log_gets_its_index_in_the_upgrade(tmp_path: Path) -> None:
    with open_log(tmp_path, Limits()) as log:
        log.add("lobby", entry(A, 1, "before the index"))
        log.commit()
    db = sqlite3.connect(tmp_path / LOG_FILE)
    db.executescript(
        "DROP TRIGGER search_on_insert; DROP TRIGGER search_on_delete; "
        "DROP TRIGGER search_on_update; DROP TABLE search_text; DROP TABLE search_keys; "
        "UPDATE meta SET value = '4' WHERE key = 'schema';"
    )
    db.close()
    hits, _, indexed = search_log(tmp_path, "lobby", "index", 10)
    assert not indexed and [c.msg_id for _, c in hits] == [f"{A}:1"]  # LIKE, read-only
    with open_log(tmp_path, Limits()) as log:
        assert log.indexed and indexed_ids(log) == [("lobby", A, 1)]
        assert found(log, "index") == [f"{A}:1"]
    hits, _, indexed = search_log(tmp_path, "lobby", "index", 10)
    assert indexed and [c.msg_id for _, c in hits] == [f"{A}:1"]


def test_without_fts5_search_falls_back_to_like(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_log(tmp_path, Limits()) as log:
        log.add("lobby", entry(A, 1, "100% sure_thing"))
    monkeypatch.setattr(store_log, "fts5_available", lambda: False)
    with open_log(tmp_path, Limits()) as log:
        assert not log.indexed
        log.add("lobby", entry(A, 2, "edited: sure", EntryKind.EDIT, f"{A}:1"))
        log.add("lobby", entry(B, 3, "100 percent"))
        log.commit()  # no trigger left that needs FTS5
        assert found(log, "sure") == [f"{A}:1"]
        assert found(log, "100%") == []
        assert found(log, "100") == [f"{B}:3"]
    monkeypatch.undo()
    with open_log(tmp_path, Limits()) as log:  # FTS5 again: the index is rebuilt
        assert log.indexed and found(log, "edited") == [f"{A}:1"]
