"""Anti-entropy between two linked nodes: version vectors in, missing messages out, in batches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from p2pchat.core.history import History, wire_size_bound
from p2pchat.core.limits import Limits
from p2pchat.core.messages import SyncBatch, SyncRequest

# One `"<32 hex>":<int up to 19 digits>,` entry of a version vector or floors, at most.
VECTOR_ENTRY_BYTES = 56
FRAME_SLACK_BYTES = 1024  # the frame's other members and JSON punctuation, with room to spare


@dataclass(slots=True)
class LinkSync:
    """Sync bookkeeping of one link: at most one request of ours outstanding on it."""

    pending_since: float | None = None
    last_request: float = float("-inf")
    received: int = 0
    settled: tuple[str, str] | None = None  # (their digest, ours) after a sync that brought all
    started: float = 0.0  # when the session (a request and its follow-ups) began
    rounds: int = 0  # requests in this session
    window: bool = False  # this session asked holding nothing: it gets the newest messages only

    def may_continue(self, now: float, limits: Limits, *, brought: int) -> bool:
        """Whether to ask again for `more`: a session is bounded in rounds and time.

        An answer with `more` that brought nothing new ends it too, so a peer cannot keep our
        sync slot busy (or make us build request after request) with empty batches.
        """
        return (
            brought > 0
            and self.rounds < limits.sync_max_rounds
            and now < self.started + limits.sync_session_seconds
        )

    def settled_at(self, their_digest: str, our_digest: str) -> bool:
        """True if a sync already ran to the end with both sides as they are now.

        Two honest nodes can disagree for good (one pruned what the other still waits for):
        they sync once per change, not on every ping.
        """
        return self.settled == (their_digest, our_digest)

    def may_request(self, now: float, limits: Limits) -> bool:
        """True if no request is outstanding (or it timed out) and the last was not too recent."""
        return not self.busy(now, limits) and now >= self.last_request + limits.sync_min_interval

    def busy(self, now: float, limits: Limits) -> bool:
        """True while a request of ours is outstanding and not timed out."""
        return self.pending_since is not None and now < self.pending_since + limits.sync_timeout

    def requested(self, now: float) -> None:
        """Note that a request went out (the first of a session, or a follow-up)."""
        if self.pending_since is None:
            self.received = 0
            self.started = now
            self.rounds = 0
        self.rounds += 1
        self.pending_since = now
        self.last_request = now

    def finished(self, their_digest: str, our_digest: str, *, settled: bool) -> int:
        """The outstanding request is answered; return how many new messages it brought.

        settled: it ran to the end (nothing held back), so the same two digests need no new one.
        """
        self.pending_since = None
        self.settled = (their_digest, our_digest) if settled else None
        return self.received

    def expire(self, now: float, limits: Limits) -> bool:
        """Give up an outstanding request that got no answer in time; True if one was."""
        if self.pending_since is not None and not self.busy(now, limits):
            self.pending_since = None
            return True
        return False

    def timeout_at(self, limits: Limits) -> float | None:
        """When an outstanding request counts as lost."""
        return None if self.pending_since is None else self.pending_since + limits.sync_timeout


def request(history: History, limits: Limits, *, recheck: bool = False) -> SyncRequest:
    """Our "send me what I lack" message; its vector fits in a frame by construction.

    recheck: also ask for the answerer's newest messages (our recent digests differ).
    """
    entries = max(0, limits.max_frame_bytes - FRAME_SLACK_BYTES) // VECTOR_ENTRY_BYTES
    recent = limits.recent_check_messages if recheck else 0
    return SyncRequest(history.version_vector(entries), history.horizon(), recent)


def answer(history: History, asked: SyncRequest, limits: Limits) -> SyncBatch:
    """The next batch of what the asker lacks, oldest first; it fits in a frame by construction.

    Messages get at most sync_batch_bytes (and what the frame leaves); floors what is left.
    """
    room = limits.max_frame_bytes - FRAME_SLACK_BYTES
    max_bytes = max(1, min(limits.sync_batch_bytes, room))
    messages, floors, more = history.missing_for(
        asked.versions,
        asked.horizon,
        recent=limits.backfill_messages,
        limit=limits.sync_batch_messages,
        max_bytes=max_bytes,
    )
    size = sum(wire_size_bound(m) for m in messages)
    if asked.recent and not more:
        # Our newest messages too, for the asker to compare (it drops what it holds as is).
        sending = {(m.author, m.seq) for m in messages}
        for chat in history.last(min(asked.recent, limits.recent_check_messages)):
            cost = wire_size_bound(chat)
            full = len(messages) >= limits.sync_batch_messages or size + cost > max_bytes
            if full:
                break
            if (chat.author, chat.seq) not in sending:
                messages.append(chat)
                size += cost
    room -= size
    fits = max(0, room) // VECTOR_ENTRY_BYTES
    if len(floors) > fits:
        # Floors of authors the asker knows first: the others just mark where our batch starts.
        order = sorted(floors, key=lambda author: author not in asked.versions)
        floors = {author: floors[author] for author in order[:fits]}
    return SyncBatch(tuple(messages), floors, more)


def they_have_more(history: History, their_versions: Mapping[str, int]) -> bool:
    """True if the peer's version vector shows messages we lack and still want."""
    return any(
        seq > history.contiguous(author) and seq > history.base(author)
        for author, seq in their_versions.items()
    )
