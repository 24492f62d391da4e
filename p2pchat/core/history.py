"""The room's retained messages in transcript order, with what sync needs: version vectors and gaps.

Identity is (author, seq). Every author has a *base*: seqs at or below it are history we will not
get (pruned by retention, or older than what peers offered). Above the base, the version vector
entry is the highest seq up to which nothing is missing. A seq that stays missing for
`gap_timeout` is given up (the base moves past it), so one lost message cannot stall an author
forever. A message is new if it is not held and above the base; nothing is ever shown twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping

from p2pchat.core.limits import Limits
from p2pchat.core.messages import Chat
from p2pchat.core.sortedrun import SortedRun

OrderKey = tuple[int, str, int]
SECONDS_PER_DAY = 86400.0


class History:
    """Retained messages of one room, ordered by (lamport, author); pure and bounded.

    Retention (limits.history_*) caps the count, the text bytes and the age of what is held.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.gap_timeout = limits.gap_timeout
        self._messages: dict[tuple[str, int], Chat] = {}
        self._order: SortedRun[OrderKey] = SortedRun()
        self._seqs: dict[str, SortedRun[int]] = {}
        self._base: dict[str, int] = {}
        self._contiguous: dict[str, int] = {}
        self._gaps: dict[str, float] = {}
        self._text_bytes = 0

    # ---------------------------------------------------------------- queries

    def __len__(self) -> int:
        """Messages held."""
        return len(self._messages)

    def __contains__(self, message_id: tuple[str, int]) -> bool:
        """True if (author, seq) is held or at or below the author's base."""
        author, seq = message_id
        return message_id in self._messages or seq <= self._base.get(author, 0)

    def get(self, author: str, seq: int) -> Chat | None:
        """The held message with this ID, if any."""
        return self._messages.get((author, seq))

    def is_new(self, author: str, seq: int) -> bool:
        """True if a message with this ID should be accepted and shown."""
        return (author, seq) not in self

    def version_vector(self) -> dict[str, int]:
        """{author: highest seq with nothing missing up to it}."""
        return dict(self._contiguous)

    def digest(self) -> str:
        """A short fingerprint of the version vector; equal vectors give equal digests."""
        text = ",".join(f"{a}:{s}" for a, s in sorted(self._contiguous.items()))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def contiguous(self, author: str) -> int:
        """The version vector entry of one author (0 if unknown)."""
        return self._contiguous.get(author, 0)

    def base(self, author: str) -> int:
        """Seqs of author at or below this are not wanted (pruned or given up)."""
        return self._base.get(author, 0)

    def has_gap(self, author: str) -> bool:
        """True if some seq of author above its contiguous run is held (a hole below it)."""
        seqs = self._seqs.get(author)
        return seqs is not None and seqs.last() > self._contiguous.get(author, 0)

    def ordered(self) -> Iterator[Chat]:
        """All held messages, oldest first by (lamport, author)."""
        for _, author, seq in self._order:
            yield self._messages[(author, seq)]

    def last(self, count: int) -> list[Chat]:
        """The newest count messages, oldest first."""
        return [self._messages[(a, s)] for _, a, s in self._order.tail(count)]

    def max_lamport(self) -> int:
        """The highest Lamport clock held (0 if empty)."""
        return self._order.last()[0] if self._order else 0

    def max_seq(self, author: str) -> int:
        """The highest seq held or given up for author."""
        seqs = self._seqs.get(author)
        return max(seqs.last() if seqs else 0, self._base.get(author, 0))

    def horizon(self) -> int:
        """The oldest Lamport clock held: a peer need not send us anything older (0 if empty)."""
        return self._order.first()[0] if self._order else 0

    def missing_for(
        self,
        their_vv: Mapping[str, int],
        their_horizon: int,
        recent: int,
        limit: int,
        max_bytes: int,
    ) -> tuple[list[Chat], dict[str, int], bool]:
        """What a peer lacks, oldest first: (batch, floors, more).

        Authors in their_vv get everything above their entry. Other authors' messages go if
        they are not older than the peer's horizon, or, for a peer that holds nothing yet,
        if they are among our `recent` newest. floors tells the peer, per author, the seq at or
        below which it should not wait for anything from us.
        """
        if their_vv or their_horizon:
            cutoff: OrderKey | None = (their_horizon, "", 0)
        else:
            cutoff = self._order.at(-recent) if 0 < recent <= len(self._order) else None
        wanted: list[OrderKey] = []
        floors: dict[str, int] = {}
        for author, seqs in self._seqs.items():
            known = author in their_vv
            have = their_vv.get(author, 0)
            first_sent = 0
            for seq in seqs.after(have):
                key = (self._messages[(author, seq)].lamport, author, seq)
                if not known and cutoff is not None and key < cutoff:
                    continue
                wanted.append(key)
                first_sent = first_sent or seq
            base = self._base.get(author, 0)
            if known and base > have:
                floors[author] = base
            elif not known and first_sent:
                floors[author] = first_sent - 1
        wanted.sort()
        batch: list[Chat] = []
        size = 0
        for _, author, seq in wanted[:limit]:
            chat = self._messages[(author, seq)]
            size += wire_size_bound(chat)
            if batch and size > max_bytes:
                break
            batch.append(chat)
        return batch, floors, len(wanted) > len(batch)

    # ---------------------------------------------------------------- updates

    def add(self, chat: Chat, now: float) -> bool:
        """Hold a message; False if it was not new. May evict the oldest to stay bounded."""
        author, seq = chat.author, chat.seq
        if not self.is_new(author, seq):
            return False
        self._messages[(author, seq)] = chat
        self._order.add((chat.lamport, author, seq))
        seqs = self._seqs.get(author)
        if seqs is None:
            seqs = self._seqs[author] = SortedRun()
        seqs.add(seq)
        self._text_bytes += len(chat.text)
        if seq == self._contiguous.get(author, -1) + 1 and author not in self._gaps:
            self._contiguous[author] = seq  # the usual case: the next one, in order
        else:
            self._advance(author, now)
        self._enforce_limits()
        if len(self._contiguous) > self.limits.max_tracked_authors:
            self._forget_idle_authors()
        return True

    def raise_base(self, author: str, floor: int, now: float) -> None:
        """Stop waiting for seqs of author at or below floor (nobody offers them)."""
        if floor > self._base.get(author, 0):
            self._base[author] = floor
            self._advance(author, now)

    def expire(self, now: float, wall: float) -> list[Chat]:
        """Give up overdue gaps and drop messages past the age limit; return the dropped ones."""
        for author, since in list(self._gaps.items()):
            if now >= since + self.gap_timeout:
                above = next(self._seqs[author].after(self._contiguous.get(author, 0)))
                self.raise_base(author, above - 1, now)
        dropped = []
        oldest_allowed = wall - self.limits.history_days * SECONDS_PER_DAY
        while self._order:
            _, author, seq = self._order.first()
            if self._messages[(author, seq)].ts >= oldest_allowed:
                break
            dropped.append(self._evict_oldest())
        return dropped

    def next_gap_deadline(self) -> float | None:
        """When the oldest open gap will be given up, if any."""
        return min(self._gaps.values()) + self.gap_timeout if self._gaps else None

    def restore(self, messages: list[Chat], bases: Mapping[str, int], now: float) -> None:
        """Load persisted state: bases first, then messages (retention applies)."""
        for author, floor in bases.items():
            self._base[author] = max(self._base.get(author, 0), floor)
            self._contiguous[author] = max(self._contiguous.get(author, 0), floor)
        for chat in messages:
            self.add(chat, now)

    def _advance(self, author: str, now: float) -> None:
        seqs = self._seqs.get(author)
        run = max(self._contiguous.get(author, 0), self._base.get(author, 0))
        gap = False
        if seqs is not None and seqs.last() > run:
            for seq in seqs.after(run):
                if seq != run + 1:
                    gap = True
                    break
                run = seq
        self._contiguous[author] = run
        if gap:
            self._gaps.setdefault(author, now)
        else:
            self._gaps.pop(author, None)

    def _forget_idle_authors(self) -> None:
        # Authors with nothing held any more: their old messages are behind our horizon anyway.
        idle = [a for a in self._contiguous if a not in self._seqs]
        for author in idle[: len(self._contiguous) - self.limits.max_tracked_authors]:
            del self._contiguous[author]
            self._base.pop(author, None)

    def _enforce_limits(self) -> None:
        limits = self.limits
        while self._order and (
            len(self._order) > limits.history_messages
            or self._text_bytes > limits.history_text_bytes
        ):
            self._evict_oldest()

    def _evict_oldest(self) -> Chat:
        # Authors number in causal order, so an author's lower seqs leave before its higher ones.
        _, author, seq = self._order.pop_first()
        chat = self._messages.pop((author, seq))
        self._text_bytes -= len(chat.text)
        seqs = self._seqs[author]
        seqs.remove(seq)
        if seq > self._base.get(author, 0):
            self._base[author] = seq
        if self._contiguous.get(author, 0) < seq:
            self._contiguous[author] = seq
        if not seqs:
            del self._seqs[author]
            self._gaps.pop(author, None)
        elif author in self._gaps:
            self._advance(author, self._gaps[author])
        return chat


def wire_size_bound(chat: Chat) -> int:
    """An upper bound of a chat's encoded size (JSON escaping at most doubles the UTF-8 bytes)."""
    return 2 * (len(chat.text.encode()) + len(chat.nick.encode())) + 256
