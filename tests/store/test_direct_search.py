"""Searching direct messages in the log: their full-text index kept in step with inserts, status
changes and pruning, the LIKE fallback, and DMs placed among the room's messages."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from p2pchat.core.directrecords import DirectStatus, StoredDirect
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Chat
from p2pchat.core.transcript import direct_views, in_transcript_order
from p2pchat.store import log as store_log
from p2pchat.store.log import MessageLog, open_log, read_directs, search_directs_log

pytestmark = pytest.mark.timeout(30)

A = "a" * 32
B = "b" * 32
C = "c" * 32
NOW = time.time()
DAY = 24 * 3600.0


def dm(
    n: int,
    text: str,
    status: DirectStatus = DirectStatus.DELIVERED,
    ts: float = NOW,
    lamport: int | None = None,
) -> StoredDirect:
    """Our DM number n to carol, or (RECEIVED) bob's DM number n to us."""
    if status is DirectStatus.RECEIVED:
        author, nick, to, to_nick = B, "bob", A, "ann"
    else:
        author, nick, to, to_nick = A, "ann", C, "carol"
    return StoredDirect(
        f"{author}:d:{n:016x}",
        author,
        nick,
        to,
        to_nick,
        text,
        ts,
        n if lamport is None else lamport,
        status,
    )


def found(log: MessageLog, words: str, room: str | None = "lobby", limit: int = 50) -> list[str]:
    return [direct.text for _, direct in log.search_directs(room, words, limit)]


def indexed_texts(log: MessageLog) -> list[tuple[int, str]]:
    rows = log._db.execute("SELECT rowid, text FROM direct_text ORDER BY rowid").fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def direct_ids(log: MessageLog) -> list[tuple[int, str]]:
    rows = log._db.execute("SELECT id, text FROM directs ORDER BY id").fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def test_index_follows_insert_status_text_and_prune() -> None:
    limits = replace(Limits(), history_days=1)
    with open_log(None, limits) as log:
        log.directs.add("lobby", dm(1, "apple pie", DirectStatus.SENT, ts=NOW - 2 * DAY))
        log.directs.add("lobby", dm(2, "apple tart", DirectStatus.RECEIVED, ts=NOW - 2 * DAY))
        log.directs.add("lobby", dm(3, "banana split", DirectStatus.QUEUED))
        log.commit()
        assert indexed_texts(log) == direct_ids(log)
        assert found(log, "apple") == ["apple tart", "apple pie"]  # newest first
        before = indexed_texts(log)
        log.directs.set_status("lobby", dm(1, "").msg_id, DirectStatus.DELIVERED)
        log.directs.add("lobby", dm(3, "banana split", DirectStatus.DELIVERED))  # same text
        log.commit()
        assert indexed_texts(log) == before
        assert log.directs.directs("lobby", 10)[0].status is DirectStatus.DELIVERED
        log.directs.add("lobby", dm(3, "cherry split", DirectStatus.DELIVERED))  # new text
        log.commit()
        assert indexed_texts(log) == direct_ids(log)
        assert found(log, "banana") == [] and found(log, "split") == ["cherry split"]
        log.prune("lobby", NOW)  # both apple DMs are older than a day; neither is pending
        assert indexed_texts(log) == direct_ids(log) == [(3, "cherry split")]
        assert found(log, "apple") == []


def test_words_rooms_and_limit() -> None:
    with open_log(None, Limits()) as log:
        log.directs.add("lobby", dm(1, 'say "AND" or NEAR(x) *'))
        log.directs.add("lobby", dm(2, "and more", DirectStatus.RECEIVED))
        log.directs.add("other", dm(3, "and elsewhere"))
        log.commit()
        assert found(log, "and") == ["and more", 'say "AND" or NEAR(x) *']
        assert found(log, "and", limit=1) == ["and more"]
        assert found(log, 'NEAR( "and') == ['say "AND" or NEAR(x) *']
        assert found(log, "*") == [] and found(log, "") == []
        assert sorted(room for room, _ in log.search_directs(None, "and", 10)) == [
            "lobby",
            "lobby",
            "other",
        ]


def test_without_fts5_directs_are_found_by_like_and_the_index_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_log(tmp_path, Limits()) as log:
        log.directs.add("lobby", dm(1, "100% sure_thing"))
    monkeypatch.setattr(store_log, "fts5_available", lambda: False)
    hits, indexed = search_directs_log(tmp_path, "lobby", "sure", 10)
    assert not indexed and [d.text for _, d in hits] == ["100% sure_thing"]
    with open_log(tmp_path, Limits()) as log:
        assert not log.indexed
        log.directs.add("lobby", dm(2, "100 percent", DirectStatus.RECEIVED))
        log.commit()  # no trigger left that needs FTS5
        assert found(log, "sure") == ["100% sure_thing"]
        assert found(log, "100%") == ["100% sure_thing"]
        assert found(log, "sure_") == ["100% sure_thing"] and found(log, "s_re") == []
        assert found(log, "100") == ["100 percent", "100% sure_thing"]
    monkeypatch.undo()
    with open_log(tmp_path, Limits()) as log:  # FTS5 again: the index is rebuilt
        assert log.indexed and indexed_texts(log) == direct_ids(log)
        assert found(log, "percent") == ["100 percent"]
    hits, indexed = search_directs_log(tmp_path, "lobby", "percent", 10)
    assert indexed and [d.text for _, d in hits] == ["100 percent"]


def test_read_directs_keeps_each_rooms_newest(tmp_path: Path) -> None:
    with open_log(tmp_path, Limits()) as log:
        for n in range(1, 5):
            log.directs.add("lobby", dm(n, f"dm {n}", lamport=10 - n))
        log.directs.add("other", dm(9, "elsewhere"))
    rows = read_directs(tmp_path, None, 2)
    assert [(room, d.text) for room, d in rows] == [
        ("lobby", "dm 2"),
        ("lobby", "dm 1"),
        ("other", "elsewhere"),
    ]
    assert [d.text for _, d in read_directs(tmp_path, "other", None)] == ["elsewhere"]


def test_views_of_stored_directs_and_their_place_among_messages() -> None:
    ours, theirs = (
        dm(1, "to carol", lamport=2),
        dm(2, "to us", DirectStatus.RECEIVED, ts=NOW + 3, lamport=3),
    )
    own_view, received = direct_views([ours, theirs], lambda node, nick: f"{nick}!")
    assert own_view.direct and own_view.own and own_view.restored
    assert (own_view.to_id, own_view.to_nick, own_view.display) == (C, "carol!", "ann!")
    assert own_view.dm_status is DirectStatus.DELIVERED
    assert not received.own and received.dm_status is None and received.to_id == A
    messages = [Chat(B, n, lamport, NOW + n, "bob", f"m{n}") for n, lamport in [(1, 1), (2, 3)]]
    merged = in_transcript_order(messages, [ours, theirs])
    assert [m.text for m in merged] == ["m1", "to carol", "m2", "to us"]  # a tie: time decides
    newest = in_transcript_order(messages[::-1], [theirs, ours], newest_first=True)
    assert [m.text for m in newest] == ["to us", "m2", "to carol", "m1"]
