"""Known peers for trust on first use: nick -> node ID first seen, in the data dir."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from p2pchat.core.limits import DEFAULT_LIMITS, NODE_ID_HEX_CHARS, Limits
from p2pchat.core.messages import nick_problem
from p2pchat.fsutil import write_atomically

TRUST_FILE = "known_peers.json"
TRUST_FILE_MODE = 0o600
# The most one entry takes as flush() writes it: every nick character escaped as a surrogate
# pair (12 bytes), the node ID, and indent, quotes, colon, comma and newline (9 bytes).
ESCAPED_CHAR_BYTES = 12
ENTRY_PUNCTUATION_BYTES = 16

_NODE_ID = re.compile(f"[0-9a-f]{{{NODE_ID_HEX_CHARS}}}")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


class TrustStore:
    """The first node ID seen for each nick, bounded; a JSON file (or nothing, when ephemeral)."""

    def __init__(self, data_dir: Path | None, limits: Limits = DEFAULT_LIMITS) -> None:
        self._path = None if data_dir is None else data_dir / TRUST_FILE
        self._limits = limits
        self._known: dict[str, str] = {}
        self._nicks_per_key: Counter[str] = Counter()
        self._dirty = False
        if self._path is not None:
            for nick, node_id in _entries(self._path, limits):
                if len(self._known) >= limits.max_known_nicks:
                    break
                if isinstance(nick, str) and isinstance(node_id, str):
                    self._add(nick, node_id)

    def known(self) -> dict[str, str]:
        """Everything remembered so far."""
        return dict(self._known)

    @property
    def dirty(self) -> bool:
        """True if remember() added something that flush() has not written yet."""
        return self._dirty and self._path is not None

    def remember(self, nick: str, node_id: str) -> None:
        """Keep the first key seen for nick, in memory, within the bounds; flush() writes it."""
        if self._add(nick, node_id):
            self._dirty = True

    def flush(self) -> None:
        """Write the file once if remember() added anything since; raise OSError (still dirty)."""
        if self._dirty and self._path is not None:
            text = json.dumps(self._known, indent=1, sort_keys=True) + "\n"
            write_atomically(self._path, text.encode(), TRUST_FILE_MODE)
        self._dirty = False

    def _add(self, nick: str, node_id: str) -> bool:
        """Record a new, valid nick -> node ID if both bounds allow; never replace or evict."""
        if (
            nick in self._known
            or not _NODE_ID.fullmatch(node_id)
            or len(self._known) >= self._limits.max_known_nicks
            or self._nicks_per_key[node_id] >= self._limits.max_nicks_per_key
            or nick_problem(nick, self._limits) is not None
        ):
            return False
        self._known[nick] = node_id
        self._nicks_per_key[node_id] += 1
        return True


def _entries(path: Path, limits: Limits) -> Iterator[tuple[object, object]]:
    """The pairs of the JSON object that starts path, in order, up to the first unreadable one.

    Reads at most the bytes that max_known_nicks of the longest entries take, so a huge file
    yields the entries in its first part; a malformed one, those before the fault.
    """
    entry_bytes = limits.max_nick_chars * ESCAPED_CHAR_BYTES + NODE_ID_HEX_CHARS
    max_bytes = (limits.max_known_nicks + 1) * (entry_bytes + ENTRY_PUNCTUATION_BYTES)
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes)
    except OSError:
        return
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        text = raw[: exc.start].decode()
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    separator = "{"
    while text.startswith(separator, pos):
        try:
            key, pos = decoder.raw_decode(text, _skip_space(text, pos + 1))
            pos = _skip_space(text, pos)
            if not text.startswith(":", pos):
                return
            value, pos = decoder.raw_decode(text, _skip_space(text, pos + 1))
        except (ValueError, RecursionError):
            return
        yield key, value
        pos = _skip_space(text, pos)
        separator = ","


def _skip_space(text: str, pos: int) -> int:
    """The index of the first non-whitespace character (in the JSON sense) from pos."""
    match = _JSON_SPACE.match(text, pos)
    return pos if match is None else match.end()
