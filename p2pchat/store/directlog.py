"""Direct messages in the log: ours and those to us, frames held for members who are away, and
the members whose keys we remember. Tables of the message log's database, written in its
transactions (`MessageLog.commit`)."""

from __future__ import annotations

import sqlite3
from typing import Any

from p2pchat.core.directrecords import (
    PENDING,
    DirectStatus,
    HeldFrame,
    KnownMember,
    StoredDirect,
)
from p2pchat.store.textsearch import fts_query, like_all, search_terms

DIRECT_SCHEMA = """
CREATE TABLE IF NOT EXISTS directs (
    id INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    author TEXT NOT NULL,
    nick TEXT NOT NULL,
    recipient TEXT NOT NULL,
    recipient_nick TEXT NOT NULL,
    text TEXT NOT NULL,
    ts REAL NOT NULL,
    lamport INTEGER NOT NULL,
    status TEXT NOT NULL,
    frame BLOB NOT NULL DEFAULT x'',
    UNIQUE (room, msg_id)
);
CREATE INDEX IF NOT EXISTS directs_by_order ON directs (room, lamport, ts);
CREATE TABLE IF NOT EXISTS held (
    room TEXT NOT NULL,
    key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    expires REAL NOT NULL,
    frame BLOB NOT NULL,
    PRIMARY KEY (room, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS known_members (
    room TEXT NOT NULL,
    node_id TEXT NOT NULL,
    nick TEXT NOT NULL,
    dh BLOB NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (room, node_id)
) WITHOUT ROWID;
"""

# The full-text index of the directs' text: an FTS5 table whose rowid is directs.id, kept in step
# by triggers (a status change leaves the text, and the index, alone). Created by the message log
# only where SQLite has FTS5 (see MessageLog), and rebuilt by DIRECT_REINDEX when it was missing.
DIRECT_SEARCH_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS direct_text USING fts5(text);
CREATE TRIGGER IF NOT EXISTS direct_text_on_insert AFTER INSERT ON directs BEGIN
    DELETE FROM direct_text WHERE rowid = new.id;
    INSERT INTO direct_text (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS direct_text_on_delete AFTER DELETE ON directs BEGIN
    DELETE FROM direct_text WHERE rowid = old.id;
END;
CREATE TRIGGER IF NOT EXISTS direct_text_on_update AFTER UPDATE OF text ON directs
WHEN old.text IS NOT new.text BEGIN
    DELETE FROM direct_text WHERE rowid = old.id;
    INSERT INTO direct_text (rowid, text) VALUES (new.id, new.text);
END;
"""
DIRECT_SEARCH_TRIGGERS = ("direct_text_on_insert", "direct_text_on_delete", "direct_text_on_update")
DIRECT_SEARCH_NAMES = ("direct_text", *DIRECT_SEARCH_TRIGGERS)  # all there: the index is kept
DIRECT_REINDEX = """
DELETE FROM direct_text;
INSERT INTO direct_text (rowid, text) SELECT id, text FROM directs;
"""

_DIRECT_COLUMNS = (
    "msg_id, author, nick, recipient, recipient_nick, text, ts, lamport, status, frame"
)
UNLIMITED = 2**62  # a LIMIT that keeps every row
_PENDING = ", ".join(f"'{status.value}'" for status in sorted(PENDING))


class DirectLog:
    """Queued writes to the direct tables of one database, and reading them back."""

    def __init__(self, db: sqlite3.Connection, max_known: int) -> None:
        self._db = db
        self._max_known = max_known
        self._directs: list[tuple[Any, ...]] = []
        self._statuses: list[tuple[str, str, str]] = []
        self._holds: list[tuple[Any, ...]] = []
        self._releases: list[tuple[str, str]] = []
        self._members: list[tuple[Any, ...]] = []

    @property
    def queued(self) -> bool:
        """True if writes wait for the next commit."""
        return bool(
            self._directs or self._statuses or self._holds or self._releases or self._members
        )

    def add(self, room: str, row: StoredDirect) -> None:
        """Queue a direct message (the stored one with its ID is replaced)."""
        self._directs.append(
            (
                room,
                row.msg_id,
                row.author,
                row.nick,
                row.to,
                row.to_nick,
                row.text,
                row.ts,
                row.lamport,
                row.status.value,
                row.frame,
            )
        )

    def set_status(self, room: str, msg_id: str, status: DirectStatus) -> None:
        """Queue a new status for our stored DM msg_id (its frame is let go unless pending)."""
        self._statuses.append((status.value, room, msg_id))

    def hold(self, room: str, held: HeldFrame) -> None:
        """Queue a frame to hold for a member who is away."""
        self._holds.append((room, held.key, held.recipient, held.expires, held.frame))

    def release(self, room: str, key: str) -> None:
        """Queue forgetting a held frame."""
        self._releases.append((room, key))

    def remember(self, room: str, member: KnownMember) -> None:
        """Queue a member's nick and key."""
        self._members.append((room, member.node_id, member.nick, member.dh, member.seen))

    def write(self) -> None:
        """Write what is queued (call inside the log's transaction)."""
        db = self._db
        directs, self._directs = self._directs, []
        statuses, self._statuses = self._statuses, []
        holds, self._holds = self._holds, []
        releases, self._releases = self._releases, []
        members, self._members = self._members, []
        db.executemany(
            f"INSERT INTO directs (room, {_DIRECT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (room, msg_id) DO UPDATE SET status = excluded.status, "
            "frame = excluded.frame, text = excluded.text",
            directs,
        )
        db.executemany(
            f"UPDATE directs SET status = ?1, frame = CASE WHEN ?1 IN ({_PENDING}) "
            "THEN frame ELSE x'' END WHERE room = ?2 AND msg_id = ?3",
            statuses,
        )
        db.executemany("INSERT OR REPLACE INTO held VALUES (?, ?, ?, ?, ?)", holds)
        db.executemany("DELETE FROM held WHERE room = ? AND key = ?", releases)
        db.executemany("INSERT OR REPLACE INTO known_members VALUES (?, ?, ?, ?, ?)", members)
        for room in {member[0] for member in members}:
            self._forget_members(room, self._max_known)

    def directs(self, room: str, limit: int) -> list[StoredDirect]:
        """room's newest limit DMs and every pending one of ours, in transcript order."""
        rows = self._db.execute(
            f"SELECT {_DIRECT_COLUMNS} FROM directs WHERE room = :room AND (status IN "
            f"({_PENDING}) OR id IN (SELECT id FROM directs WHERE room = :room "
            "ORDER BY lamport DESC, ts DESC LIMIT :limit)) ORDER BY lamport, ts",
            {"room": room, "limit": limit},
        ).fetchall()
        return [_stored_direct(row) for row in rows]

    def held(self, room: str, wall: float, limit: int) -> list[HeldFrame]:
        """The frames held in room that have not expired at wall (the expired are deleted),
        the limit that expire last, in the order they were signed."""
        with self._db:
            self._db.execute("DELETE FROM held WHERE room = ? AND expires <= ?", (room, wall))
        rows = self._db.execute(
            "SELECT key, recipient, expires, frame FROM held WHERE room = ? "
            "ORDER BY expires DESC LIMIT ?",
            (room, limit),
        ).fetchall()
        return [HeldFrame(str(k), str(r), float(e), bytes(f)) for k, r, e, f in reversed(rows)]

    def prune(self, room: str, oldest: float) -> int:
        """Delete room's DMs signed before oldest, but our pending ones; return how many."""
        return self._db.execute(
            f"DELETE FROM directs WHERE room = ? AND ts < ? AND status NOT IN ({_PENDING})",
            (room, oldest),
        ).rowcount

    def known(self, room: str, limit: int) -> list[KnownMember]:
        """The limit members of room seen last (the others are forgotten)."""
        with self._db:
            self._forget_members(room, limit)
        rows = self._db.execute(
            "SELECT node_id, nick, dh, seen FROM known_members WHERE room = ? "
            "ORDER BY seen DESC LIMIT ?",
            (room, limit),
        ).fetchall()
        return [KnownMember(str(n), str(k), bytes(d), float(s)) for n, k, d, s in rows]

    def _forget_members(self, room: str, keep: int) -> None:
        self._db.execute(
            "DELETE FROM known_members WHERE room = :room AND node_id NOT IN (SELECT node_id "
            "FROM known_members WHERE room = :room ORDER BY seen DESC LIMIT :keep)",
            {"room": room, "keep": keep},
        )


def has_directs(db: sqlite3.Connection) -> bool:
    """True when db has the directs table (a log of version 5 or older read as it is has not)."""
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'directs'")
    return row.fetchone() is not None


def search_directs(
    db: sqlite3.Connection, room: str | None, words: str, limit: int, *, indexed: bool
) -> list[tuple[str, StoredDirect]]:
    """The newest limit DMs (room, DM; newest first: lamport, then ts) whose text holds every
    word (plain words, see search_terms): through the full-text index when indexed, else by
    LIKE."""
    terms = search_terms(words)
    if not terms or limit <= 0:
        return []
    where_room = "" if room is None else " AND d.room = :room"
    columns = ", ".join(f"d.{column}" for column in _DIRECT_COLUMNS.split(", "))
    if indexed:
        match = "d.id IN (SELECT rowid FROM direct_text WHERE direct_text MATCH :query)"
        params: dict[str, object] = {"query": fts_query(terms)}
    else:
        match, params = like_all("d.text", terms)
    rows = db.execute(
        f"SELECT d.room, {columns} FROM directs AS d WHERE {match}{where_room} "
        "ORDER BY d.lamport DESC, d.ts DESC, d.id DESC LIMIT :limit",
        {**params, "room": room, "limit": limit},
    ).fetchall()
    return [(str(row[0]), _stored_direct(row[1:])) for row in rows]


def recent_directs(
    db: sqlite3.Connection, room: str | None, limit: int | None
) -> list[tuple[str, StoredDirect]]:
    """Each room's newest limit DMs (all when None) as (room, DM): by room, then in transcript
    order (lamport, then ts)."""
    where = "" if room is None else "WHERE room = :room"
    rows = db.execute(
        f"SELECT room, {_DIRECT_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY room "
        f"ORDER BY lamport DESC, ts DESC, id DESC) AS newest FROM directs {where}) "
        "WHERE newest <= :limit ORDER BY room, lamport, ts, id",
        {"room": room, "limit": limit if limit is not None else UNLIMITED},
    ).fetchall()
    return [(str(row[0]), _stored_direct(row[1:])) for row in rows]


def _stored_direct(row: tuple[Any, ...]) -> StoredDirect:
    msg_id, author, nick, to, to_nick, text, ts, lamport, status, frame = row
    return StoredDirect(
        str(msg_id),
        str(author),
        str(nick),
        str(to),
        str(to_nick),
        str(text),
        float(ts),
        int(lamport),
        DirectStatus(status),
        bytes(frame),
    )
