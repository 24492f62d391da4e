"""Who reacts to each message the log shows, to count the reactions again on every change.

A message comes with counts only (`MessageShown.reactions`): those reactors stay unnamed. Each
later `ReactionShown` adds or takes back one reactor by node ID (ours under OWN); one taken
back that was never named is one of the unnamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from p2pchat.core import views as vw
from p2pchat.ui.tui.log import MAX_LOG_ENTRIES

OWN = ""  # the key our own reaction is kept under (node IDs are never empty)
MAX_TRACKED_MESSAGES = MAX_LOG_ENTRIES  # messages whose reactors are kept (the oldest go first)


@dataclass(slots=True)
class _Tally:
    """The reactors of one emoji: how many unnamed, and the named ones."""

    unnamed: int = 0
    named: set[str] = field(default_factory=set)

    def count(self) -> int:
        """How many react with this emoji."""
        return self.unnamed + len(self.named)


class ReactionBook:
    """The reactors of each message by emoji (in the order the emoji first came)."""

    def __init__(self, max_messages: int = MAX_TRACKED_MESSAGES) -> None:
        self._max = max_messages
        self._messages: dict[str, dict[str, _Tally]] = {}

    def seen(self, view: vw.MessageShown) -> None:
        """A message is shown: its counts are where its reactors start (the oldest kept go)."""
        tallies: dict[str, _Tally] = {}
        for reaction in view.reactions:
            named = {OWN} if reaction.own else set()
            tallies[reaction.emoji] = _Tally(max(reaction.count - len(named), 0), named)
        self._messages.pop(view.msg_id, None)
        self._messages[view.msg_id] = tallies
        while len(self._messages) > self._max:
            del self._messages[next(iter(self._messages))]

    def apply(self, view: vw.ReactionShown) -> tuple[vw.ReactionCount, ...] | None:
        """Add or take back one reaction; the message's counts now (None: not a message kept)."""
        tallies = self._messages.get(view.msg_id)
        if tallies is None:
            return None
        who = OWN if view.own else view.author
        tally = tallies.setdefault(view.emoji, _Tally())
        if not view.removed:
            tally.named.add(who)
        elif who in tally.named:
            tally.named.discard(who)
        elif tally.unnamed:
            tally.unnamed -= 1
        if not tally.count():
            del tallies[view.emoji]
        return self.counts(view.msg_id)

    def counts(self, msg_id: str) -> tuple[vw.ReactionCount, ...]:
        """The reactions to a message as counts, ours marked."""
        tallies = self._messages.get(msg_id, {})
        return tuple(
            vw.ReactionCount(emoji, tally.count(), OWN in tally.named)
            for emoji, tally in tallies.items()
        )

    def forget(self, msg_id: str) -> None:
        """A message is gone (deleted): its reactors with it."""
        self._messages.pop(msg_id, None)
