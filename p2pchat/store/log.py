"""The persistent message log: every room's messages in SQLite (WAL) in the data dir."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

from p2pchat.core.annotations import final_state
from p2pchat.core.directrecords import StoredDirect
from p2pchat.core.entries import MESSAGE_KINDS, EntryKind, parse_ref
from p2pchat.core.history import SECONDS_PER_DAY
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Chat
from p2pchat.store.directlog import (
    DIRECT_REINDEX,
    DIRECT_SCHEMA,
    DIRECT_SEARCH_NAMES,
    DIRECT_SEARCH_SCHEMA,
    DIRECT_SEARCH_TRIGGERS,
    UNLIMITED,
    DirectLog,
    has_directs,
    recent_directs,
    search_directs,
)
from p2pchat.store.textsearch import fts_query, like_all, search_terms

LOG_FILE = "history.sqlite3"
# 2: each message keeps its author's key and signature; 3: IDs of direct messages accepted;
# 4: each entry's kind and the message it is about (replies, reactions, edits, deletes);
# 5: a full-text index of the entries' text (search); 6: direct messages, frames held for
# members who are away, members whose keys we remember (new tables only).
SCHEMA_VERSION = 6
PRUNE_EVERY_INSERTS = 500
SEARCHED_KINDS = ("text", "reply", "me", "edit")  # entries whose text is indexed
NO_FTS_NOTICE = "this SQLite has no full-text search (FTS5): searching the slow way"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    room TEXT NOT NULL,
    author TEXT NOT NULL,
    seq INTEGER NOT NULL,
    lamport INTEGER NOT NULL,
    ts REAL NOT NULL,
    nick TEXT NOT NULL,
    text TEXT NOT NULL,
    sig BLOB,
    received REAL NOT NULL,
    key BLOB,
    kind TEXT NOT NULL DEFAULT 'text',
    ref TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (room, author, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_order ON messages (room, lamport, author);
CREATE TABLE IF NOT EXISTS floors (
    room TEXT NOT NULL,
    author TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (room, author)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# The full-text index. `messages` is WITHOUT ROWID, so an FTS5 table cannot borrow its rowid:
# search_keys gives each indexed entry (room, author, seq) an integer ID, and search_text (a
# plain FTS5 table) holds its text under that ID as rowid. Triggers keep both in step with
# `messages`; an insert first drops what the key had (INSERT OR REPLACE fires no delete trigger).
_KINDS = ", ".join(f"'{kind}'" for kind in SEARCHED_KINDS)
_KEY = "room = {row}.room AND author = {row}.author AND seq = {row}.seq"
_UNINDEX = (
    "DELETE FROM search_text WHERE rowid IN (SELECT id FROM search_keys WHERE {key}); "
    "DELETE FROM search_keys WHERE {key};"
)
_SEARCH_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS search_keys (
    id INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    author TEXT NOT NULL,
    seq INTEGER NOT NULL,
    UNIQUE (room, author, seq)
);
CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5(text);
CREATE TRIGGER IF NOT EXISTS search_on_insert AFTER INSERT ON messages BEGIN
    {_UNINDEX.format(key=_KEY.format(row="new"))}
    INSERT INTO search_keys (room, author, seq) SELECT new.room, new.author, new.seq
        WHERE new.kind IN ({_KINDS});
    INSERT INTO search_text (rowid, text) SELECT id, new.text FROM search_keys
        WHERE {_KEY.format(row="new")};
END;
CREATE TRIGGER IF NOT EXISTS search_on_delete AFTER DELETE ON messages BEGIN
    {_UNINDEX.format(key=_KEY.format(row="old"))}
END;
CREATE TRIGGER IF NOT EXISTS search_on_update AFTER UPDATE ON messages BEGIN
    {_UNINDEX.format(key=_KEY.format(row="old"))}
    INSERT INTO search_keys (room, author, seq) SELECT new.room, new.author, new.seq
        WHERE new.kind IN ({_KINDS});
    INSERT INTO search_text (rowid, text) SELECT id, new.text FROM search_keys
        WHERE {_KEY.format(row="new")};
END;
"""
_SEARCH_TRIGGERS = ("search_on_insert", "search_on_delete", "search_on_update")
_SEARCH_NAMES = ("search_keys", "search_text", *_SEARCH_TRIGGERS)  # all there: the index is kept
_REINDEX = f"""
DELETE FROM search_text;
DELETE FROM search_keys;
INSERT INTO search_keys (room, author, seq)
    SELECT room, author, seq FROM messages WHERE kind IN ({_KINDS});
INSERT INTO search_text (rowid, text)
    SELECT k.id, m.text FROM search_keys AS k JOIN messages AS m
    ON m.room = k.room AND m.author = k.author AND m.seq = k.seq;
"""
_SEEN_DIRECTS = """
CREATE TABLE IF NOT EXISTS seen_directs (
    room TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (room, msg_id)
) WITHOUT ROWID;
"""


_COLUMNS = "author, seq, lamport, ts, nick, text, key, sig, kind, ref"
_Row = tuple[str, str, int, int, float, str, str, bytes, float, bytes, str, str]


class LogError(Exception):
    """The log cannot be opened or read; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class StoredRoom:
    """What a node needs at start: its room's messages (oldest first) and per-author floors."""

    messages: list[Chat]
    floors: dict[str, int]


class MessageLog:
    """One SQLite database per data dir (or in memory); writes are committed in small batches."""

    def __init__(self, path: Path | None, limits: Limits) -> None:
        self.path = path
        self._limits = limits
        self._inserts = 0
        self._rows: list[_Row] = []
        self._replacements: list[_Row] = []
        self._rooms_touched: list[str] = []
        self._seen_rows: list[tuple[str, str, float]] = []
        try:
            # Opened by the caller, then used by the node thread alone.
            self._db = sqlite3.connect(
                ":memory:" if path is None else str(path), check_same_thread=False
            )
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA + _SEEN_DIRECTS + DIRECT_SCHEMA)
            self.directs = DirectLog(self._db, limits.max_known_members)
            self._upgrade()
            self.indexed = self._keep_index()
        except sqlite3.Error as exc:
            raise LogError(f"cannot open message log {path}: {exc}") from None

    def load(self, room: str) -> StoredRoom:
        """The room's stored messages in transcript order and its floors, after pruning."""
        self.prune(room, time.time())
        rows = self._db.execute(
            "SELECT author, seq, lamport, ts, nick, text, key, sig, kind, ref FROM messages "
            "WHERE room = ? "
            "ORDER BY lamport, author",
            (room,),
        ).fetchall()
        floors = dict(
            self._db.execute("SELECT author, seq FROM floors WHERE room = ?", (room,)).fetchall()
        )
        return StoredRoom([_chat(row) for row in rows], floors)

    def own_seq(self, room: str, author: str) -> int:
        """The highest seq this author ever used in room (kept even when pruned)."""
        row = self._db.execute(
            "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM messages WHERE room = ? AND author = ? "
            "UNION ALL SELECT seq FROM floors WHERE room = ? AND author = ?)",
            (room, author, room, author),
        ).fetchone()
        return int(row[0] or 0)

    def add(self, room: str, chat: Chat, *, replace: bool = False) -> None:
        """Queue one message for the next commit (a duplicate is ignored, unless replace).

        replace: it takes the place of the stored message with its ID (another signed version
        that the whole room keeps instead).
        """
        (self._replacements if replace else self._rows).append(
            (
                room,
                chat.author,
                chat.seq,
                chat.lamport,
                chat.ts,
                chat.nick,
                chat.text,
                chat.signature,
                time.time(),
                chat.key,
                chat.kind.value,
                chat.ref,
            )
        )
        if room not in self._rooms_touched:
            self._rooms_touched.append(room)

    def add_seen_direct(self, room: str, msg_id: str, ts: float) -> None:
        """Queue the ID of a direct message accepted in room for the next commit (once only)."""
        self._seen_rows.append((room, msg_id, ts))

    def seen_directs(self, room: str, oldest: float, limit: int | None = None) -> dict[str, float]:
        """Commit what is queued, delete room's IDs with ts < oldest (and all but the newest
        limit), return the rest: ID -> ts."""
        self.commit()
        with self._db:
            self._db.execute("DELETE FROM seen_directs WHERE room = ? AND ts < ?", (room, oldest))
            if limit is not None:
                self._db.execute(
                    "DELETE FROM seen_directs WHERE room = :room AND msg_id NOT IN "
                    "(SELECT msg_id FROM seen_directs WHERE room = :room "
                    "ORDER BY ts DESC LIMIT :limit)",
                    {"room": room, "limit": limit},
                )
        rows = self._db.execute(
            "SELECT msg_id, ts FROM seen_directs WHERE room = ?", (room,)
        ).fetchall()
        return dict(rows)

    def commit(self) -> None:
        """Write queued messages, direct messages and their IDs in one transaction; prune now and
        then."""
        if not self._rows and not self._seen_rows and not self._replacements:
            if self.directs.queued:
                with self._db:
                    self.directs.write()
            return
        rows, self._rows = self._rows, []
        replacements, self._replacements = self._replacements, []
        seen_rows, self._seen_rows = self._seen_rows, []
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                replacements,
            )
            self._db.executemany("INSERT OR IGNORE INTO seen_directs VALUES (?, ?, ?)", seen_rows)
            self.directs.write()
        before = self._inserts
        self._inserts += len(rows)
        if self._inserts // PRUNE_EVERY_INSERTS != before // PRUNE_EVERY_INSERTS:
            for room in self._rooms_touched:
                self.prune(room, time.time())
            self._rooms_touched.clear()

    def prune(self, room: str, wall: float) -> int:
        """Apply retention (age, then count) to room; remember per-author floors; return deleted."""
        too_old = "SELECT author, seq FROM messages WHERE room = :room AND ts < :oldest"
        beyond_count = (
            "SELECT author, seq FROM messages WHERE room = :room AND (lamport, author) < "
            "(SELECT lamport, author FROM messages WHERE room = :room "
            "ORDER BY lamport DESC, author DESC LIMIT 1 OFFSET :keep)"
        )
        oldest = wall - self._limits.history_days * SECONDS_PER_DAY
        params = {
            "room": room,
            "oldest": oldest,
            "keep": self._limits.history_messages - 1,
        }
        deleted = 0
        with self._db:
            for doomed in (too_old, beyond_count):
                self._db.execute(
                    f"INSERT INTO floors SELECT :room, author, MAX(seq) FROM ({doomed}) "
                    "GROUP BY author "
                    "ON CONFLICT (room, author) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                    params,
                )
                deleted += self._db.execute(
                    f"DELETE FROM messages WHERE room = :room AND (author, seq) IN ({doomed})",
                    params,
                ).rowcount
            self.directs.prune(room, oldest)
        return deleted

    def _upgrade(self) -> None:
        """Bring a log written by an older version up to SCHEMA_VERSION."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        version = SCHEMA_VERSION if row is None else int(row[0])
        with self._db:
            if version < 2:
                columns = {r[1] for r in self._db.execute("PRAGMA table_info(messages)")}
                if "key" not in columns:
                    self._db.execute("ALTER TABLE messages ADD COLUMN key BLOB")
                # Version 1 kept no signatures: nobody could check those messages any more,
                # so they count as pruned (floors keep our own counter from going back).
                unsigned = "SELECT room, author, seq FROM messages WHERE sig IS NULL OR key IS NULL"
                self._db.execute(
                    f"INSERT INTO floors SELECT room, author, MAX(seq) FROM ({unsigned}) "
                    "GROUP BY room, author "
                    "ON CONFLICT (room, author) DO UPDATE SET seq = MAX(seq, excluded.seq)"
                )
                self._db.execute("DELETE FROM messages WHERE sig IS NULL OR key IS NULL")
            if version < 3:
                self._db.execute(_SEEN_DIRECTS)  # the one change of version 3
            if version < 4:
                columns = {r[1] for r in self._db.execute("PRAGMA table_info(messages)")}
                for column in ("kind TEXT NOT NULL DEFAULT 'text'", "ref TEXT NOT NULL DEFAULT ''"):
                    if column.split()[0] not in columns:
                        self._db.execute(f"ALTER TABLE messages ADD COLUMN {column}")
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )

    def _keep_index(self) -> bool:
        """Have the full-text indexes (of the entries and of the directs) and their triggers,
        each built from the rows if it was missing (a log of version 4 or older, of version 5 for
        the directs, or one last written without FTS5); without FTS5, drop the triggers so that
        writes still work. True when the indexes are there."""
        if not fts5_available():
            triggers = (*_SEARCH_TRIGGERS, *DIRECT_SEARCH_TRIGGERS)
            self._db.executescript(" ".join(f"DROP TRIGGER IF EXISTS {t};" for t in triggers))
            return False
        if not _has_index(self._db):
            drops = " ".join(f"DROP TRIGGER IF EXISTS {t};" for t in _SEARCH_TRIGGERS)
            self._db.executescript(f"BEGIN; {drops} {_SEARCH_SCHEMA} {_REINDEX} COMMIT;")
        if not _has_direct_index(self._db):
            drops = " ".join(f"DROP TRIGGER IF EXISTS {t};" for t in DIRECT_SEARCH_TRIGGERS)
            self._db.executescript(
                f"BEGIN; {drops} {DIRECT_SEARCH_SCHEMA} {DIRECT_REINDEX} COMMIT;"
            )
        return True

    def search(self, room: str | None, words: str, limit: int) -> list[tuple[str, Chat]]:
        """The newest limit messages (room, message; newest first) whose current text holds
        every word (see search_rows); what is queued is committed first."""
        self.commit()
        return search_rows(self._db, room, words, limit, indexed=self.indexed)

    def search_directs(
        self, room: str | None, words: str, limit: int
    ) -> list[tuple[str, StoredDirect]]:
        """The newest limit DMs (room, DM; newest first) whose text holds every word (see
        search_directs in store/directlog.py); what is queued is committed first."""
        self.commit()
        return search_directs(self._db, room, words, limit, indexed=self.indexed)

    def about(self, room: str, msg_ids: Iterable[str]) -> list[Chat]:
        """The entries of room that are the messages msg_ids or are about them."""
        return entries_about(self._db, room, msg_ids)

    def rooms(self) -> list[str]:
        """Rooms with stored messages."""
        rows = self._db.execute("SELECT DISTINCT room FROM messages ORDER BY room").fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        """Commit and close; idempotent."""
        try:
            self.commit()
            self._db.close()
        except sqlite3.ProgrammingError:
            pass

    def __enter__(self) -> MessageLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def _read_only(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """The log in data_dir opened read-only, closed after; raise LogError if there is no
    readable log there."""
    path = data_dir / LOG_FILE
    if not path.exists():
        raise LogError(f"no message log in {data_dir} (see --data-dir)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            yield db
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise LogError(f"cannot read message log {path}: {exc}") from None


def read_log(data_dir: Path, room: str | None, limit: int | None) -> list[tuple[str, Chat]]:
    """(room, message) pairs from the log in data_dir, read-only, oldest first per room.

    Raise LogError if there is no readable log there.
    """
    with _read_only(data_dir) as db:
        where = "" if room is None else "WHERE room = :room"
        rows = db.execute(
            "SELECT room, author, seq, lamport, ts, nick, text, key, sig, kind, ref FROM ("
            "SELECT *, ROW_NUMBER() OVER (PARTITION BY room ORDER BY lamport DESC, author DESC)"
            f" AS newest FROM messages {where}) WHERE newest <= :limit "
            "ORDER BY room, lamport, author",
            {"room": room, "limit": limit if limit is not None else UNLIMITED},
        ).fetchall()
    return [(row[0], _chat(row[1:])) for row in rows]


def read_directs(
    data_dir: Path, room: str | None, limit: int | None
) -> list[tuple[str, StoredDirect]]:
    """(room, DM) pairs from the log in data_dir, read-only: each room's newest limit (all when
    None), by room and in transcript order; none from a log older than version 6.

    Raise LogError if there is no readable log there.
    """
    with _read_only(data_dir) as db:
        return recent_directs(db, room, limit) if has_directs(db) else []


def search_log(
    data_dir: Path, room: str | None, words: str, limit: int
) -> tuple[list[tuple[str, Chat]], dict[str, list[Chat]], bool]:
    """Search the log in data_dir read-only (see search_rows): the hits, each room's entries
    about them and about the messages they answer, and whether the full-text index was used.

    Raise LogError if there is no readable log there.
    """
    with _read_only(data_dir) as db:
        indexed = fts5_available() and _has_index(db)
        hits = search_rows(db, room, words, limit, indexed=indexed)
        about: dict[str, list[Chat]] = {}
        for hit_room in sorted({r for r, _ in hits}):
            chats = [c for r, c in hits if r == hit_room]
            about[hit_room] = entries_about(db, hit_room, ids_and_answered(chats))
    return hits, about, indexed


def search_directs_log(
    data_dir: Path, room: str | None, words: str, limit: int
) -> tuple[list[tuple[str, StoredDirect]], bool]:
    """Search the DMs of the log in data_dir read-only (see search_directs): the hits (newest
    first) and whether the full-text index was used; none from a log older than version 6.

    Raise LogError if there is no readable log there.
    """
    with _read_only(data_dir) as db:
        if not has_directs(db):
            return [], fts5_available() and _has_index(db)
        indexed = fts5_available() and _has_direct_index(db)
        return search_directs(db, room, words, limit, indexed=indexed), indexed


@cache
def fts5_available() -> bool:
    """True when this Python's sqlite3 has FTS5 (full-text search)."""
    try:
        db = sqlite3.connect(":memory:")
        try:
            db.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return True


def search_rows(
    db: sqlite3.Connection, room: str | None, words: str, limit: int, *, indexed: bool
) -> list[tuple[str, Chat]]:
    """The newest limit messages (room, message; newest first) whose current text holds every
    word: through the full-text index when indexed, else by LIKE. A hit on an edit is a hit on
    the message it edits; a deleted message, or one edited since to text without the words,
    is no hit."""
    terms = search_terms(words)
    if not terms or limit <= 0:
        return []
    where_room = "" if room is None else " AND m.room = :room"
    if indexed:
        rows = db.execute(
            "SELECT m.room, m.author, m.seq, m.kind, m.ref, m.text FROM search_text AS t "
            "JOIN search_keys AS k ON k.id = t.rowid "
            "JOIN messages AS m ON m.room = k.room AND m.author = k.author AND m.seq = k.seq "
            f"WHERE search_text MATCH :query{where_room}",
            {"query": fts_query(terms), "room": room},
        ).fetchall()
    else:
        likes, params = like_all("m.text", terms)
        params["room"] = room
        rows = db.execute(
            "SELECT m.room, m.author, m.seq, m.kind, m.ref, m.text FROM messages AS m "
            f"WHERE m.kind IN ({_KINDS}) AND {likes}{where_room}",
            params,
        ).fetchall()
    matched: dict[tuple[str, str], set[str]] = {}  # (room, message ID) -> texts that match
    for hit_room, author, seq, kind, ref, text in rows:
        msg_id = ref if kind == EntryKind.EDIT.value else f"{author}:{seq}"
        matched.setdefault((hit_room, msg_id), set()).add(text)
    messages: list[tuple[str, Chat]] = []
    for hit_room, msg_id in matched:
        entries = entries_about(db, hit_room, [msg_id])
        message = next((c for c in entries if c.msg_id == msg_id), None)
        if message is not None and message.kind in MESSAGE_KINDS:
            messages.append((hit_room, message))
    messages.sort(key=lambda pair: (pair[1].lamport, pair[1].author), reverse=True)
    hits: list[tuple[str, Chat]] = []
    for hit_room, message in messages:
        state = final_state(message, entries_about(db, hit_room, [message.msg_id]))
        if not state.deleted and state.text in matched[(hit_room, message.msg_id)]:
            hits.append((hit_room, message))
            if len(hits) == limit:
                break
    return hits


def entries_about(db: sqlite3.Connection, room: str, msg_ids: Iterable[str]) -> list[Chat]:
    """The entries of room that are the messages msg_ids or are about them (by ref)."""
    found: list[Chat] = []
    for msg_id in dict.fromkeys(msg_ids):
        try:
            author, seq = parse_ref(msg_id)
        except ValueError:
            continue
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE room = :room AND "
            "((author = :author AND seq = :seq) OR ref = :ref) ORDER BY lamport, author",
            {"room": room, "author": author, "seq": seq, "ref": msg_id},
        ).fetchall()
        found += [_chat(row) for row in rows]
    return found


def ids_and_answered(messages: Iterable[Chat]) -> list[str]:
    """The IDs of messages and of the messages they answer."""
    ids: list[str] = []
    for message in messages:
        ids.append(message.msg_id)
        if message.kind is EntryKind.REPLY and message.ref:
            ids.append(message.ref)
    return ids


def _has_index(db: sqlite3.Connection) -> bool:
    """True when db holds the full-text index of the entries and all its triggers."""
    return _has_all(db, _SEARCH_NAMES)


def _has_direct_index(db: sqlite3.Connection) -> bool:
    """True when db holds the full-text index of the directs and all its triggers."""
    return _has_all(db, DIRECT_SEARCH_NAMES)


def _has_all(db: sqlite3.Connection, names: tuple[str, ...]) -> bool:
    """True when db's schema has a table, index or trigger by each of names."""
    marks = ", ".join("?" for _ in names)
    found = db.execute(f"SELECT name FROM sqlite_master WHERE name IN ({marks})", names)
    return {row[0] for row in found} == set(names)


def _chat(row: tuple[Any, ...]) -> Chat:
    """A stored row (author, seq, lamport, ts, nick, text, key, sig, kind, ref) as an entry."""
    author, seq, lamport, ts, nick, text, key, sig, kind, ref = row
    return Chat(author, seq, lamport, ts, nick, text, key or b"", sig or b"", EntryKind(kind), ref)


def open_log(data_dir: Path | None, limits: Limits) -> MessageLog:
    """The log in data_dir, or an in-memory one when data_dir is None (--ephemeral)."""
    return MessageLog(None if data_dir is None else data_dir / LOG_FILE, limits)
