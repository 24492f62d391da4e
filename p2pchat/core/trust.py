"""Trust on first use: the first key seen for a nick is remembered; another key is flagged."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the trust table says about (nick, node ID): new, known, or a different key."""

    new: bool
    conflict_with: str | None


class TrustTable:
    """nick -> the node ID first seen with it (IDs are key hashes, so they name keys)."""

    def __init__(self, known: dict[str, str]) -> None:
        self._known = dict(known)

    def check(self, nick: str, node_id: str) -> Verdict:
        """Record a first sighting; report a different key for a known nick."""
        first = self._known.get(nick)
        if first is None:
            self._known[nick] = node_id
            return Verdict(new=True, conflict_with=None)
        return Verdict(new=False, conflict_with=None if first == node_id else first)

    def first_seen(self, nick: str) -> str | None:
        """The node ID first seen with nick."""
        return self._known.get(nick)
