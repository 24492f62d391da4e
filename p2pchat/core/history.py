"""The room's retained messages in transcript order, with what sync needs: version vectors and gaps.

Identity is (author, seq). Two floors per author, with different powers:
- the *base*: seqs at or below it count as seen (we held them and retention dropped them, or a
  restart found them pruned). Only our own retention raises it, so it can never hide a message
  we did not have.
- the *given-up* floor: seqs at or below it are no longer waited for (a gap nobody filled within
  `gap_timeout`, or a peer's sync floor, bounded by what it or we can show). It only stops us
  asking; such a message that arrives after all is still new.
Above both, the version vector entry is the highest seq up to which nothing is missing. Authors
are tracked up to `max_tracked_authors`; one forgotten beyond that leaves the clock of its
newest message behind, and an untracked author's message at or below that clock counts as seen,
so forgetting never lets an old message be shown twice.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Mapping

from p2pchat.core.annotations import FinalState, RefIndex, final_state
from p2pchat.core.entries import MESSAGE_KINDS
from p2pchat.core.errors import InvariantError
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
        self._given_up: dict[str, int] = {}
        self._contiguous: dict[str, int] = {}
        self._gaps: dict[str, float] = {}
        self._last_ts: dict[str, float] = {}  # newest signed time of each tracked author
        self._not_before: dict[str, float] = {}  # authors tracked again: their forgotten mark
        self._forgotten_ts = float("-inf")
        self._restored_ts = float("-inf")
        self._wall: float | None = None  # our Unix time as of the last expire()
        self._text_bytes = 0
        self._cut = False  # older messages were let go on purpose: see horizon()
        self._digest: str | None = None
        self._recent: tuple[int, str] | None = None  # (count, digest of the newest count)
        self._refs = RefIndex()  # the reactions, edits and deletes held about each message

    # ---------------------------------------------------------------- queries

    def check_invariants(self, *, thorough: bool = True) -> None:
        """Raise InvariantError unless the transcript is in order and its indexes agree
        (thorough: every message too, in time linear in the history; else only the counts)."""
        if len(self._order) != len(self._messages):
            raise InvariantError("history: the transcript and the messages are out of step")
        limits = self.limits
        if (
            len(self._order) > limits.history_messages
            or self._text_bytes > limits.history_text_bytes
        ):
            raise InvariantError("history: holds more than its limits")
        if not thorough:
            return
        order = list(self._order)
        if any(later < earlier for earlier, later in itertools.pairwise(order)):
            raise InvariantError("history: the transcript is out of order")
        for lamport, author, seq in order:
            chat = self._messages.get((author, seq))
            if chat is None or chat.lamport != lamport:
                raise InvariantError(f"history: {author[:8]}:{seq} is not held as ordered")
        held = sum(len(seqs) for seqs in self._seqs.values())
        if held != len(self._messages):
            raise InvariantError("history: per-author seqs and messages disagree")
        if self._text_bytes != sum(len(chat.text) for chat in self._messages.values()):
            raise InvariantError("history: the text byte count drifted")
        if len(self._refs) > sum(1 for c in self._messages.values() if c.kind not in MESSAGE_KINDS):
            raise InvariantError("history: the index of entries about messages drifted")

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

    def is_new(self, author: str, seq: int, ts: float | None = None) -> bool:
        """True if a message with this ID (signed at ts) should be accepted and shown.

        An author we no longer track was forgotten with its messages: one signed no later than
        the newest message forgotten (capped at our clock then) counts as seen (ts None: not
        known, taken as new). Wall time, not the Lamport clock: nobody can push it ahead.
        """
        if (author, seq) in self._messages:
            return False
        if author in self._contiguous:
            not_before = self._not_before.get(author)
            old = ts is not None and not_before is not None and ts <= not_before
            return seq > self._base.get(author, 0) and not old
        return ts is None or ts > self._forgotten_ts

    def version_vector(self, max_entries: int | None = None) -> dict[str, int]:
        """{author: highest seq with nothing missing up to it}; at most max_entries of them.

        When cut, authors we hold messages of come first (the others are idle, and leaving one
        out costs at most copies we already have).
        """
        if max_entries is None or len(self._contiguous) <= max_entries:
            return dict(self._contiguous)
        active = [a for a in self._contiguous if a in self._seqs]
        idle = [a for a in self._contiguous if a not in self._seqs]
        return {a: self._contiguous[a] for a in (active + idle)[:max_entries]}

    def digest(self) -> str:
        """A short fingerprint of the version vector; equal vectors give equal digests (cached)."""
        if self._digest is None:
            text = ",".join(f"{a}:{s}" for a, s in sorted(self._contiguous.items()))
            self._digest = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
        return self._digest

    def recent_digest(self, count: int) -> str:
        """A short fingerprint of the newest count messages' IDs and signatures (cached).

        Equal version vectors with different recent digests mean two versions of one ID.
        """
        if self._recent is None or self._recent[0] != count:
            signed = b"".join(c.signature for c in self.last(count))
            self._recent = (count, hashlib.blake2b(signed, digest_size=8).hexdigest())
        return self._recent[1]

    def tracks(self, author: str) -> bool:
        """True if we keep floors and a version vector entry for author."""
        return author in self._contiguous

    def contiguous(self, author: str) -> int:
        """The version vector entry of one author (0 if unknown)."""
        return self._contiguous.get(author, 0)

    def base(self, author: str) -> int:
        """Seqs of author at or below this count as seen (held once, dropped by retention)."""
        return self._base.get(author, 0)

    def floor(self, author: str) -> int:
        """Seqs of author at or below this are not waited for (seen, or given up)."""
        return max(self._base.get(author, 0), self._given_up.get(author, 0))

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

    def final_state(self, message: Chat) -> FinalState:
        """message as the reactions, edits and deletes held about it leave it."""
        about = self._refs.about(message.msg_id)
        if not about:
            return FinalState(message.text, edited=False, deleted=False, reactions=())
        return final_state(message, [self._messages[entry_id] for entry_id in about])

    def authors_starting(self, prefix: str) -> list[str]:
        """The authors of held messages whose ID starts with prefix."""
        return [author for author in self._seqs if author.startswith(prefix)]

    def max_lamport(self) -> int:
        """The highest Lamport clock held (0 if empty)."""
        return self._order.last()[0] if self._order else 0

    def max_seq(self, author: str) -> int:
        """The highest seq of author held, seen or given up (what we can show exists)."""
        seqs = self._seqs.get(author)
        return max(seqs.last() if seqs else 0, self.floor(author))

    def clock(self, max_leap: int) -> int:
        """The Lamport clock the held messages justify, each raising it by at most max_leap.

        A forged huge clock in the log (signed, so kept) must not pin our clock after a restart.
        """
        clock = 0
        for lamport, _, _ in self._order:
            clock = max(clock, min(lamport, clock + max_leap))
        return clock

    def horizon(self) -> int:
        """The oldest Lamport clock held, once older messages were let go on purpose (retention
        dropped some, or we started from a backfill window): a peer need not send us anything
        older. 0 if we hold nothing or never let anything go: then every message is wanted.

        Holding a message says nothing about the ones with lower clocks: a concurrent one (say
        an author's first, sent before it heard anything) can sort before everything we hold.
        """
        return self._order.first()[0] if self._order and self._cut else 0

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
            floor = self.floor(author)
            if known and floor > have:
                floors[author] = floor
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

    def add(self, chat: Chat, now: float, wall: float | None = None) -> bool:
        """Hold a message; False if it was not new. May evict the oldest to stay bounded.

        wall: our Unix time now; a signed time ahead of it counts as now for the mark an
        author leaves when it is forgotten.
        """
        author, seq = chat.author, chat.seq
        if not self.is_new(author, seq, chat.ts):
            return False
        if author not in self._contiguous:
            self._track(author)
        self._messages[(author, seq)] = chat
        self._order.add((chat.lamport, author, seq))
        self._refs.add(chat)
        self._recent = None
        seqs = self._seqs.get(author)
        if seqs is None:
            seqs = self._seqs[author] = SortedRun()
        seqs.add(seq)
        self._text_bytes += len(chat.text)
        signed = chat.ts if wall is None else min(chat.ts, wall)
        self._last_ts[author] = max(self._last_ts.get(author, signed), signed)
        if seq == self._contiguous.get(author, -1) + 1 and author not in self._gaps:
            self._set_contiguous(author, seq)  # the usual case: the next one, in order
        else:
            self._advance(author, now)
        self._enforce_limits()
        if len(self._contiguous) > self.limits.max_tracked_authors:
            self._forget_idle_authors()
        return True

    def replace(self, chat: Chat) -> Chat | None:
        """Hold chat instead of the held message with its ID; return the one it replaced."""
        key = (chat.author, chat.seq)
        held = self._messages.get(key)
        if held is None:
            return None
        self._order.remove((held.lamport, held.author, held.seq))
        self._order.add((chat.lamport, chat.author, chat.seq))
        self._messages[key] = chat
        self._refs.remove(held)
        self._refs.add(chat)
        self._recent = None
        self._text_bytes += len(chat.text) - len(held.text)
        self._last_ts[chat.author] = max(self._last_ts[chat.author], chat.ts)
        return held

    def withdraw(self, author: str, seq: int, now: float) -> Chat | None:
        """Let go of a held message that proved invalid; return it. Its seq is given up (no
        gap is left to wait for); a valid copy that comes later is still new."""
        chat = self._messages.pop((author, seq), None)
        if chat is None:
            return None
        self._order.remove((chat.lamport, author, seq))
        self._refs.remove(chat)
        self._recent = None
        self._text_bytes -= len(chat.text)
        seqs = self._seqs[author]
        seqs.remove(seq)
        if not seqs:
            del self._seqs[author]
        self._given_up[author] = max(self._given_up.get(author, 0), seq)
        self._advance(author, now)
        return chat

    def give_up(self, author: str, floor: int, now: float) -> None:
        """Stop waiting for seqs of a tracked author at or below floor (they stay welcome)."""
        if author in self._contiguous and floor > self._contiguous[author]:
            self._given_up[author] = floor
            self._advance(author, now)

    def accept_floor(self, author: str, floor: int, shown: int, now: float) -> int:
        """Give up waiting up to a peer's floor, bounded by what exists; return the floor used.

        shown: the highest seq of author the peer showed us with a valid signature. A floor
        above that and above anything we hold or gave up says nothing we can check: it is cut
        down, so it can never stop us waiting for messages that are still to come. And a floor
        over a hole with messages we hold below it only says what that one peer lacks (others
        may have them): it is not taken at all; the hole waits its gap_timeout.
        """
        seqs = self._seqs.get(author)
        if seqs is not None and seqs.first() <= min(floor, self.contiguous(author) + 1):
            floor = min(floor, self.contiguous(author))
        bound = max(self.max_seq(author) if author in self._contiguous else 0, shown)
        used = min(floor, bound)
        if used > 0:
            if author not in self._contiguous:
                self._track(author)
                self._set_contiguous(author, 0)
            self.give_up(author, used, now)
        return used

    def expire(self, now: float, wall: float) -> list[Chat]:
        """Give up overdue gaps and drop messages past the age limit; return the dropped ones."""
        self._wall = wall
        for author, since in list(self._gaps.items()):
            if now >= since + self.gap_timeout:
                above = next(self._seqs[author].after(self._contiguous.get(author, 0)))
                self.give_up(author, above - 1, now)
                if author in self._gaps:  # another hole further up: it gets its own wait
                    self._gaps[author] = now
        dropped = []
        oldest_allowed = wall - self.limits.history_days * SECONDS_PER_DAY
        while self._order:
            _, author, seq = self._order.first()
            if self._messages[(author, seq)].ts >= oldest_allowed:
                break
            dropped.append(self._evict_oldest())
        return dropped

    def started_from_window(self) -> None:
        """We started from a peer's backfill window (its newest messages only): what is older
        was left out on purpose, so our horizon holds from now on."""
        self._cut = True

    def next_gap_deadline(self) -> float | None:
        """When the oldest open gap will be given up, if any."""
        return min(self._gaps.values()) + self.gap_timeout if self._gaps else None

    def restore(self, messages: list[Chat], bases: Mapping[str, int], now: float) -> None:
        """Load persisted state: bases first, then messages (retention applies)."""
        for author, floor in bases.items():
            self._base[author] = max(self._base.get(author, 0), floor)
            self._cut = self._cut or floor > 0  # retention dropped messages before this start
            self._set_contiguous(author, max(self._contiguous.get(author, 0), floor))
        for chat in messages:
            self.add(chat, now)
        # What was pruned before this start is older than what is held: an author forgotten
        # with nothing held leaves at least the newest restored clock behind.
        self._restored_ts = max((c.ts for c in messages), default=float("-inf"))

    def _track(self, author: str) -> None:
        """Start tracking author: if it may have been forgotten before, its old messages stay
        seen (the mark forgotten authors left behind applies to it from now on)."""
        if self._forgotten_ts > float("-inf"):
            self._not_before[author] = self._forgotten_ts

    def _set_contiguous(self, author: str, seq: int) -> None:
        self._contiguous[author] = seq
        self._digest = None

    def _advance(self, author: str, now: float) -> None:
        seqs = self._seqs.get(author)
        run = max(self._contiguous.get(author, 0), self.floor(author))
        gap = False
        if seqs is not None and seqs.last() > run:
            for seq in seqs.after(run):
                if seq != run + 1:
                    gap = True
                    break
                run = seq
        self._set_contiguous(author, run)
        if gap:
            self._gaps.setdefault(author, now)
        else:
            self._gaps.pop(author, None)

    def _forget_idle_authors(self) -> None:
        # Authors with nothing held any more; the clock of their newest message stays behind.
        idle = [a for a in self._contiguous if a not in self._seqs]
        for author in idle[: len(self._contiguous) - self.limits.max_tracked_authors]:
            del self._contiguous[author]
            self._base.pop(author, None)
            self._given_up.pop(author, None)
            self._not_before.pop(author, None)
            left = self._last_ts.pop(author, self._restored_ts)
            if self._wall is not None:
                left = min(left, self._wall)  # a signed time from the future counts as now
            self._forgotten_ts = max(self._forgotten_ts, left)
        self._digest = None

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
        self._refs.remove(chat)
        self._cut = True
        self._recent = None
        self._text_bytes -= len(chat.text)
        seqs = self._seqs[author]
        seqs.remove(seq)
        if seq > self._base.get(author, 0):
            self._base[author] = seq
        if self._contiguous.get(author, 0) < seq:
            self._set_contiguous(author, seq)
        if not seqs:
            del self._seqs[author]
            self._gaps.pop(author, None)
        elif author in self._gaps:
            self._advance(author, self._gaps[author])
        return chat


CHAT_FIXED_BYTES = 400  # member names, IDs, key and signature in hex, numbers: 354 at most


def wire_size_bound(chat: Chat) -> int:
    """An upper bound of a chat's encoded size (JSON escaping at most doubles the UTF-8 bytes)."""
    return 2 * (len(chat.text.encode()) + len(chat.nick.encode())) + CHAT_FIXED_BYTES
