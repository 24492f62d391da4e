"""Trust on first use, and nicks that cannot be borrowed.

The first key seen with a nick is remembered; the nick then belongs to that key. Another key
using it, or using a nick that looks like it (see `Looks`), is marked with its short ID and
flagged. The table is bounded: at most max_known_nicks entries, at most max_nicks_per_key for one
key; beyond that nothing new is remembered, and nothing is ever forgotten (forgetting would hand
a nick over to whoever comes next).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from p2pchat.core.limits import SHORT_ID_CHARS, Limits

Looks = Callable[[str], frozenset[str]]
"""What a nick looks like: two nicks whose sets meet are easy to mistake for each other."""


def plain_looks(nick: str) -> frozenset[str]:
    """A stand-in for Looks without look-alike data: nicks equal once NFKC and case-folded."""
    return frozenset({unicodedata.normalize("NFKC", nick).casefold()})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the table says about (nick, node ID).

    new: first sighting, now remembered (persist it); conflict_with: the key the nick belongs
    to, if another; lookalike_of: another key's nick that this one looks like, if any.
    """

    new: bool
    conflict_with: str | None
    lookalike_of: str | None = None
    unremembered: bool = False  # a first sighting the bounded table had no room for


class TrustTable:
    """nick -> the node ID first seen with it (IDs are key hashes, so they name keys)."""

    def __init__(self, known: dict[str, str], limits: Limits, looks: Looks = plain_looks) -> None:
        self._limits = limits
        self._looks = looks
        self._known: dict[str, str] = {}
        self._per_key: Counter[str] = Counter()
        self._by_look: dict[str, set[str]] = {}
        self._look_cache: dict[str, frozenset[str]] = {}  # nick -> its looks (pure, cached)
        self.version = 0  # changes whenever the table remembers a nick
        for nick, node_id in known.items():
            self._remember(nick, node_id)

    def __len__(self) -> int:
        """How many nicks the table remembers."""
        return len(self._known)

    def check(self, nick: str, node_id: str) -> Verdict:
        """Record a first sighting (within the bounds); report another key's nick or look-alike."""
        first = self._known.get(nick)
        lookalike = self.lookalike_of(nick, node_id)
        if first is None:
            # A nick that looks like another key's is not a first sighting of a new name:
            # remembering it would mark the real owner as the look-alike.
            new = lookalike is None and self._remember(nick, node_id)
            return Verdict(new, None, lookalike, unremembered=lookalike is None and not new)
        return Verdict(False, None if first == node_id else first, lookalike)

    def first_seen(self, nick: str) -> str | None:
        """The node ID first seen with nick."""
        return self._known.get(nick)

    def lookalike_of(self, nick: str, node_id: str) -> str | None:
        """Another key's remembered nick that nick looks like (not nick itself), if any."""
        for look in self._looks_of(nick):
            for other in sorted(self._by_look.get(look, ())):
                if other != nick and self._known[other] != node_id:
                    return other
        return None

    def display(self, nick: str, node_id: str) -> str:
        """nick if it is node_id's own (first seen with it, like no other), else nick#shortid."""
        if self._known.get(nick) == node_id and self.lookalike_of(nick, node_id) is None:
            return nick
        return f"{nick}#{node_id[:SHORT_ID_CHARS]}"

    def borrowed(self, nick: str, node_id: str) -> bool:
        """True if node_id uses a nick that belongs to, or looks like one of, another key."""
        first = self._known.get(nick)
        return (first is not None and first != node_id) or (
            self.lookalike_of(nick, node_id) is not None
        )

    def _looks_of(self, nick: str) -> frozenset[str]:
        looks = self._look_cache.get(nick)
        if looks is None:
            if len(self._look_cache) >= self._limits.max_tracked_authors:
                self._look_cache.clear()  # bounded: nicks come from the network
            looks = self._look_cache[nick] = self._looks(nick)
        return looks

    def _remember(self, nick: str, node_id: str) -> bool:
        limits = self._limits
        if nick in self._known:
            return False
        if len(self._known) >= limits.max_known_nicks:
            return False
        if self._per_key[node_id] >= limits.max_nicks_per_key:
            return False
        self._known[nick] = node_id
        self._per_key[node_id] += 1
        self.version += 1
        for look in self._looks_of(nick):
            self._by_look.setdefault(look, set()).add(nick)
        return True
