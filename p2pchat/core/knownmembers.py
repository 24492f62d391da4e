"""The members we have met, with their keys for direct messages: to write to them while away.

A handshake proves a member's keys (its ID is the hash of its signing key, which signed its
X25519 key in the same transcript), so only keys learnt from our own links are remembered.
Bounded: the member seen longest ago is forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from p2pchat.core.directrecords import KnownMember
from p2pchat.core.members import MIN_ID_PREFIX


class KnownMembers:
    """node ID -> KnownMember, least recently seen first."""

    def __init__(self, known: Iterable[KnownMember], limit: int) -> None:
        self._limit = max(1, limit)
        self._members: OrderedDict[str, KnownMember] = OrderedDict()
        for member in sorted(known, key=lambda m: m.seen):
            self._put(member)

    def meet(self, node_id: str, nick: str, dh: bytes, wall: float) -> KnownMember | None:
        """We are linked with node_id now: remember it; the record to write (None: no key)."""
        if not dh:
            return None
        member = KnownMember(node_id, nick, dh, wall)
        self._put(member)
        return member

    def get(self, node_id: str) -> KnownMember | None:
        """The member with this ID, if we met it."""
        return self._members.get(node_id)

    def matching(self, target: str) -> list[KnownMember]:
        """The members "nick", "nick#idprefix" or an ID prefix (4 characters or more) names."""
        nick, _, prefix = target.partition("#")
        found = [
            m for m in self._members.values() if m.nick == nick and m.node_id.startswith(prefix)
        ]
        if not found and not prefix and len(nick) >= MIN_ID_PREFIX:
            found = [m for m in self._members.values() if m.node_id.startswith(nick.lower())]
        return found

    def __len__(self) -> int:
        """Members remembered."""
        return len(self._members)

    def _put(self, member: KnownMember) -> None:
        self._members.pop(member.node_id, None)
        self._members[member.node_id] = member
        while len(self._members) > self._limit:
            self._members.popitem(last=False)
