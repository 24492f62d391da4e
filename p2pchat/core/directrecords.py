"""What the core keeps of direct messages across restarts, in the shapes the log stores.

The core makes these (`act.StoreDirect`, `act.Hold`, `act.RememberMember`) and reads them back
(`Mesh(directs=..., held=..., known=...)`); the store writes and reads them and never decides
anything about them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DirectStatus(StrEnum):
    """How a direct message stands: ours (sent, queued, delivered, expired) or received."""

    SENT = "sent"  # ours, sent over the recipient's own link; no receipt yet
    QUEUED = "queued"  # ours, the recipient is away: we and the members online keep it
    DELIVERED = "delivered"  # ours, and the recipient's signed receipt came back
    EXPIRED = "expired"  # ours, undelivered when the holding time ran out; nobody keeps it
    RECEIVED = "received"  # written to us, opened


PENDING = frozenset({DirectStatus.SENT, DirectStatus.QUEUED})
"""Our own DMs still kept (sealed) until their receipt comes."""


@dataclass(frozen=True, slots=True)
class StoredDirect:
    """A direct message as the log keeps it: ours in plaintext, or one to us as opened.

    frame: for our own DMs still pending, the signed sealed `dm` frame (its wire payload), so it
    can be handed on after a restart; empty once it was delivered or expired, and for DMs to us.
    lamport: the room's clock when it was shown, to place it among the room's messages.
    """

    msg_id: str
    author: str
    nick: str
    to: str
    to_nick: str
    text: str
    ts: float
    lamport: int
    status: DirectStatus
    frame: bytes = b""

    @property
    def own(self) -> bool:
        """True if we wrote it."""
        return self.status is not DirectStatus.RECEIVED


@dataclass(frozen=True, slots=True)
class HeldFrame:
    """A sealed DM or a receipt we hold for a member who is away (the frame's wire payload).

    key: what names it among held frames (a DM's msg_id; "ack:" and the msg_id it acknowledges
    for a receipt); recipient: the member to hand it to; expires: Unix time it is dropped.
    """

    key: str
    recipient: str
    expires: float
    frame: bytes


@dataclass(frozen=True, slots=True)
class KnownMember:
    """A member we met (its key proven by a handshake): enough to write to it when away."""

    node_id: str
    nick: str
    dh: bytes  # its X25519 key for direct messages
    seen: float  # Unix time we were last linked
