"""Per-connection handshake: each side sends HELLO first and checks the other's."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from p2pchat.core.errors import LocalProtocolError
from p2pchat.core.limits import PROTOCOL_VERSION, SHORT_ID_CHARS
from p2pchat.core.messages import ErrorFrame, Hello, Message


@dataclass(frozen=True, slots=True)
class Accepted:
    """The peer's HELLO is acceptable; the link is established."""

    hello: Hello


@dataclass(frozen=True, slots=True)
class Rejected:
    """The link must close: reply (if any) goes out first, problem (if any) is shown to the user."""

    reason: str
    reply: ErrorFrame | None
    problem: str | None
    code: str


Outcome = Accepted | Rejected


class HandshakeState(Enum):
    """Where one connection's handshake stands."""

    AWAITING_HELLO = "awaiting hello"
    ESTABLISHED = "established"
    REJECTED = "rejected"


class Handshake:
    """One connection's handshake: our HELLO goes out at once, theirs is due by a deadline."""

    def __init__(self, own: Hello, started_at: float, timeout: float) -> None:
        self.own = own
        self.deadline = started_at + timeout
        self.state = HandshakeState.AWAITING_HELLO
        self.peer: Hello | None = None

    def receive(self, message: Message) -> Outcome:
        """Judge the first frame from the peer; the state becomes established or rejected."""
        if self.state is not HandshakeState.AWAITING_HELLO:
            raise LocalProtocolError(f"handshake already {self.state.value}")
        outcome = check_hello(self.own, message)
        if isinstance(outcome, Accepted):
            self.state = HandshakeState.ESTABLISHED
            self.peer = outcome.hello
        else:
            self.state = HandshakeState.REJECTED
        return outcome

    def expired(self, now: float) -> bool:
        """True if the peer's HELLO is overdue."""
        return self.state is HandshakeState.AWAITING_HELLO and now >= self.deadline


def check_hello(own: Hello, received: Message) -> Outcome:
    """Decide what the first frame a peer sent on a connection means for that connection."""
    if isinstance(received, ErrorFrame):
        return Rejected(
            reason=f"peer refused us: {received.code}",
            reply=None,
            problem=received.text or f"a peer refused the connection ({received.code})",
            code=received.code,
        )
    if not isinstance(received, Hello):
        return Rejected(
            reason=f"expected hello, got {type(received).__name__}",
            reply=_refusal("protocol", "the first frame must be hello"),
            problem=None,
            code="protocol",
        )
    theirs = f"{received.nick}#{received.node_id[:SHORT_ID_CHARS]}"
    ours = f"{own.nick}#{own.node_id[:SHORT_ID_CHARS]}"
    if received.version != PROTOCOL_VERSION:
        return Rejected(
            reason=f"protocol version {received.version}",
            reply=_refusal(
                "version",
                f"peer {ours} speaks protocol {PROTOCOL_VERSION}, we speak {received.version}",
            ),
            problem=(
                f"peer {theirs} speaks protocol {received.version}, we speak {PROTOCOL_VERSION}"
            ),
            code="version",
        )
    if received.node_id == own.node_id:
        return Rejected(reason="connected to ourselves", reply=None, problem=None, code="self")
    if received.room != own.room:
        return Rejected(
            reason=f"peer is in room {received.room!r}",
            reply=_refusal("room", f"peer {ours} is in room {own.room!r}, not {received.room!r}"),
            problem=f"peer {theirs} is in room {received.room!r}, not {own.room!r}",
            code="room",
        )
    return Accepted(hello=received)


def _refusal(code: str, text: str) -> ErrorFrame:
    return ErrorFrame(code=code, text=text, version=PROTOCOL_VERSION)
