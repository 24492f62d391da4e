"""Anti-entropy between two linked nodes: version vectors in, missing messages out, in batches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from p2pchat.core.history import History
from p2pchat.core.limits import Limits
from p2pchat.core.messages import SyncBatch, SyncRequest


@dataclass(slots=True)
class LinkSync:
    """Sync bookkeeping of one link: at most one request of ours outstanding on it."""

    pending_since: float | None = None
    last_request: float = float("-inf")
    received: int = 0

    def may_request(self, now: float, limits: Limits) -> bool:
        """True if no request is outstanding (or it timed out) and the last was not too recent."""
        return not self.busy(now, limits) and now >= self.last_request + limits.sync_min_interval

    def busy(self, now: float, limits: Limits) -> bool:
        """True while a request of ours is outstanding and not timed out."""
        return self.pending_since is not None and now < self.pending_since + limits.sync_timeout

    def requested(self, now: float) -> None:
        """Note that a request went out."""
        if self.pending_since is None:
            self.received = 0
        self.pending_since = now
        self.last_request = now

    def finished(self) -> int:
        """The outstanding request is fully answered; return how many new messages it brought."""
        self.pending_since = None
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


def request(history: History) -> SyncRequest:
    """Our "send me what I lack" message."""
    return SyncRequest(history.version_vector(), history.horizon())


def answer(history: History, asked: SyncRequest, limits: Limits) -> SyncBatch:
    """The next batch of what the asker lacks, oldest first."""
    messages, floors, more = history.missing_for(
        asked.versions,
        asked.horizon,
        recent=limits.backfill_messages,
        limit=limits.sync_batch_messages,
        max_bytes=limits.sync_batch_bytes,
    )
    return SyncBatch(tuple(messages), floors, more)


def they_have_more(history: History, their_versions: Mapping[str, int]) -> bool:
    """True if the peer's version vector shows messages we lack and still want."""
    return any(
        seq > history.contiguous(author) and seq > history.base(author)
        for author, seq in their_versions.items()
    )
