"""Our own direct messages that no receipt has acknowledged yet: kept sealed, so they can be sent
to their recipient whenever it links, and handed to other members while it is away."""

from __future__ import annotations

from dataclasses import dataclass, field

from p2pchat.core.directrecords import DirectStatus, StoredDirect
from p2pchat.core.messages import Direct


@dataclass(slots=True)
class Pending:
    """One of our DMs awaiting its receipt: the signed frame, what we stored of it, how it
    stands (SENT or QUEUED), the members we handed it to (this run), and when we last sent it
    to its recipient (monotonic)."""

    direct: Direct
    row: StoredDirect
    size: int  # its frame's bytes
    status: DirectStatus
    handed: set[str] = field(default_factory=set)  # at most max_holders
    sent_at: float = float("-inf")  # when we last sent it over its recipient's link


class OutgoingDirects:
    """Pending DMs by message ID, in the order they were written."""

    def __init__(self) -> None:
        self._pending: dict[str, Pending] = {}
        self._bytes = 0

    def add(self, pending: Pending) -> None:
        """Keep pending until its receipt comes or it expires."""
        if pending.row.msg_id not in self._pending:
            self._bytes += pending.size
        self._pending[pending.row.msg_id] = pending

    def get(self, msg_id: str) -> Pending | None:
        """The pending DM with this ID, if any."""
        return self._pending.get(msg_id)

    def remove(self, msg_id: str) -> Pending | None:
        """Stop keeping msg_id (delivered or expired); what was kept."""
        pending = self._pending.pop(msg_id, None)
        if pending is not None:
            self._bytes -= pending.size
        return pending

    def all(self) -> list[Pending]:
        """Every pending DM, oldest first."""
        return list(self._pending.values())

    def to(self, node_id: str) -> list[Pending]:
        """The pending DMs written to node_id, oldest first."""
        return [p for p in self._pending.values() if p.direct.to == node_id]

    def expired(self, oldest: float) -> list[Pending]:
        """The pending DMs signed before oldest (Unix time)."""
        return [p for p in self._pending.values() if p.direct.ts < oldest]

    def next_expiry(self, max_age: float) -> float | None:
        """When the oldest pending DM is max_age old (Unix time), if any."""
        if not self._pending:
            return None
        return min(p.direct.ts for p in self._pending.values()) + max_age

    def __len__(self) -> int:
        """DMs pending."""
        return len(self._pending)

    @property
    def bytes(self) -> int:
        """The size of their frames."""
        return self._bytes
