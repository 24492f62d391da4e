"""Tab completion of nicks and /commands, and the nicks of the peers linked now (pure)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from p2pchat.core import views as vw
from p2pchat.core.limits import SHORT_ID_CHARS
from p2pchat.ui.commands import COMMANDS

SLASH_COMMANDS = tuple(sorted({usage.split()[0] for usage, _ in COMMANDS if usage[1] != "/"}))
NICK_AT_START_SUFFIX = ": "  # "al" at the start of a line becomes "alice: "
WORD_SUFFIX = " "


def complete(before: str, nicks: Sequence[str]) -> tuple[int, str] | None:
    """Complete the word before the cursor: (characters to replace, replacement), or None."""
    start = max(before.rfind(" "), before.rfind("\n")) + 1
    word = before[start:]
    if not word:
        return None
    if start == 0 and word.startswith("/"):
        options = [c for c in SLASH_COMMANDS if c.startswith(word.lower())]
        suffix = WORD_SUFFIX
    else:
        options = [n for n in nicks if n.lower().startswith(word.lower())]
        suffix = NICK_AT_START_SUFFIX if start == 0 else WORD_SUFFIX
    if not options:
        return None
    if len(options) == 1:
        return len(word), options[0] + suffix
    return len(word), common_prefix(options)


def common_prefix(words: Sequence[str]) -> str:
    """The longest prefix all words share, ignoring case (spelled as in the first of them)."""
    first, last = min(words, key=str.lower), max(words, key=str.lower)
    size = 0
    while size < min(len(first), len(last)) and first[size].lower() == last[size].lower():
        size += 1
    return first[:size]


class LinkedNicks:
    """The nicks of the peers linked now, from the views the node shows; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nicks: dict[str, str] = {}  # node ID -> nick

    def see(self, view: vw.View) -> None:
        """Follow joins, leaves, renames and peer tables."""
        with self._lock:
            match view:
                case vw.PeerJoined():
                    self._nicks[view.node_id] = view.nick
                case vw.PeerLeft():
                    self._nicks.pop(view.node_id, None)
                case vw.NickChanged() if view.node_id in self._nicks:
                    self._nicks[view.node_id] = view.new
                case vw.PeerTable():
                    self._nicks = {row.node_id: row.nick for row in view.rows}

    def names(self) -> list[str]:
        """What to complete: each nick, or nick#shortid where two peers share it; sorted."""
        with self._lock:
            pairs = list(self._nicks.items())
        return names_to_complete(pairs)


def names_to_complete(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """(node ID, nick) pairs as names to complete: nick, or nick#shortid if shared; sorted."""
    pairs = list(pairs)
    counts: dict[str, int] = {}
    for _, nick in pairs:
        counts[nick] = counts.get(nick, 0) + 1
    names = {
        nick if counts[nick] == 1 else f"{nick}#{node_id[:SHORT_ID_CHARS]}"
        for node_id, nick in pairs
    }
    return sorted(names, key=str.lower)
