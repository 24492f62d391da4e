"""Per-connection handshake: HELLO both ways, then AUTH both ways (a signed transcript).

1. Each side sends HELLO at once, in the clear: version, node ID, Ed25519 key, X25519 key for
   DMs, a fresh nonce, this link's ephemeral X25519 key, and either the room name (open room) or
   the room tag (private room, name and nick hidden).
2. On the peer's HELLO: the version, the ID (it must be the hash of the key) and the room must
   match. From here on the link is encrypted with keys from the two ephemeral keys (and the room
   key in a private room); we send AUTH: our signature over both HELLOs and our nick.
3. On the peer's AUTH: its signature must verify with the key from its HELLO, over the same
   transcript. Only then is the link established: nobody can take over another node's ID
   without its private key, and a signature made for one link is useless on any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from p2pchat.core.crypto import Crypto, auth_signing_bytes, node_id_of
from p2pchat.core.errors import LocalProtocolError
from p2pchat.core.limits import PROTOCOL_VERSION, SHORT_ID_CHARS
from p2pchat.core.messages import HIDDEN, Auth, ErrorFrame, Hello, Message, with_fields

MAX_SHOWN_CODE_CHARS = 16  # of an unknown refusal code, in our log only


@dataclass(frozen=True, slots=True)
class Accepted:
    """The peer proved its identity; the link is established (nick: its real nick)."""

    hello: Hello
    nick: str


@dataclass(frozen=True, slots=True)
class Proceed:
    """The peer's HELLO is acceptable: send this AUTH and wait for the peer's."""

    reply: Auth


class Refusal(StrEnum):
    """Why a handshake failed: the codes of the `error` frame, and REFUSED_BY_PEER for theirs."""

    VERSION = "version"
    SELF = "self"
    IDENTITY = "identity"
    ROOM = "room"
    AUTH = "auth"
    PROTOCOL = "protocol"
    REFUSED_BY_PEER = "refused"


@dataclass(frozen=True, slots=True)
class Rejected:
    """The link must close: reply (if any) goes out first, problem (if any) is shown to the user.

    by_peer: the peer refused us (code is then its code, or REFUSED_BY_PEER if unknown; problem
    then reads on from "the peer at ADDRESS ").
    """

    reason: str
    reply: ErrorFrame | None
    problem: str | None
    code: Refusal
    by_peer: bool = False


Outcome = Accepted | Proceed | Rejected


class HandshakeState(Enum):
    """Where one connection's handshake stands."""

    AWAITING_HELLO = "awaiting hello"
    AWAITING_AUTH = "awaiting auth"
    ESTABLISHED = "established"
    REJECTED = "rejected"


class Handshake:
    """One connection's handshake; the peer must finish it before a deadline."""

    def __init__(
        self, own: Hello, started_at: float, timeout: float, crypto: Crypto, nick: str
    ) -> None:
        self.own = own
        self.deadline = started_at + timeout
        self.state = HandshakeState.AWAITING_HELLO
        self.peer: Hello | None = None
        self._crypto = crypto
        self._nick = nick

    def receive(self, message: Message) -> Outcome:
        """Judge the next frame from the peer while the handshake is under way."""
        if self.state is HandshakeState.AWAITING_HELLO:
            outcome = check_hello(self.own, message)
            if isinstance(outcome, Rejected):
                self.state = HandshakeState.REJECTED
                return outcome
            self.peer = outcome
            self.state = HandshakeState.AWAITING_AUTH
            signed = auth_signing_bytes(self.own, outcome, self._nick)
            return Proceed(Auth(self._crypto.sign(signed), self._nick))
        if self.state is HandshakeState.AWAITING_AUTH:
            assert self.peer is not None
            outcome2 = self._check_auth(self.peer, message)
            self.state = (
                HandshakeState.ESTABLISHED
                if isinstance(outcome2, Accepted)
                else HandshakeState.REJECTED
            )
            return outcome2
        raise LocalProtocolError(f"handshake already {self.state.value}")

    def expired(self, now: float) -> bool:
        """True if the peer has not finished in time."""
        return self.state in (HandshakeState.AWAITING_HELLO, HandshakeState.AWAITING_AUTH) and (
            now >= self.deadline
        )

    def _check_auth(self, peer: Hello, message: Message) -> Outcome:
        if isinstance(message, ErrorFrame):
            return _refused_by_peer(message)
        if not isinstance(message, Auth):
            return Rejected(
                reason=f"expected auth, got {type(message).__name__}",
                reply=_refusal(Refusal.PROTOCOL, "the second frame must be auth"),
                problem=None,
                code=Refusal.PROTOCOL,
            )
        signed = auth_signing_bytes(peer, self.own, message.nick)
        if not self._crypto.verify(peer.key, message.signature, signed):
            return Rejected(
                reason="authentication failed (bad signature)",
                reply=_refusal(Refusal.AUTH, "your signature does not verify"),
                problem=None,
                code=Refusal.AUTH,
            )
        return Accepted(peer, message.nick)


def check_hello(own: Hello, received: Message) -> Hello | Rejected:
    """Decide what the first frame a peer sent means: its HELLO if acceptable, else a refusal."""
    if isinstance(received, ErrorFrame):
        return _refused_by_peer(received)
    if not isinstance(received, Hello):
        return Rejected(
            reason=f"expected hello, got {type(received).__name__}",
            reply=_refusal(Refusal.PROTOCOL, "the first frame must be hello"),
            problem=None,
            code=Refusal.PROTOCOL,
        )
    private = bool(own.tag)
    theirs = f"{received.nick}#{received.node_id[:SHORT_ID_CHARS]}"
    ours = f"{own.nick}#{own.node_id[:SHORT_ID_CHARS]}"
    if received.version != PROTOCOL_VERSION:
        return Rejected(
            reason=f"protocol version {received.version}",
            reply=_refusal(
                Refusal.VERSION,
                f"peer {ours} speaks protocol {PROTOCOL_VERSION}, we speak {received.version}",
            ),
            problem=(
                f"peer {theirs} speaks protocol {received.version}, we speak {PROTOCOL_VERSION}"
            ),
            code=Refusal.VERSION,
        )
    if received.node_id == own.node_id:
        return Rejected(
            reason="connected to ourselves", reply=None, problem=None, code=Refusal.SELF
        )
    if (
        not received.key
        or not received.nonce
        or not received.ek
        or node_id_of(received.key) != received.node_id
    ):
        return Rejected(
            reason="node ID does not match its key (or keys are missing)",
            reply=_refusal(Refusal.IDENTITY, "your node ID is not the hash of your key"),
            problem=None,
            code=Refusal.IDENTITY,
        )
    if private or received.tag:
        if received.tag != own.tag:
            return Rejected(
                reason="not in this room (another room or passphrase)",
                reply=_refusal(Refusal.ROOM, "we are not in the same private room"),
                problem=(
                    "a peer is not in this private room: the room name or the passphrase differs"
                    if private
                    else f"peer {theirs} is in a private room"
                ),
                code=Refusal.ROOM,
            )
        return received
    if received.room != own.room:
        return Rejected(
            reason=f"peer is in room {received.room!r}",
            reply=_refusal(
                Refusal.ROOM, f"peer {ours} is in room {own.room!r}, not {received.room!r}"
            ),
            problem=f"peer {theirs} is in room {received.room!r}, not {own.room!r}",
            code=Refusal.ROOM,
        )
    return received


def encrypts_after(own: Hello, received: Hello) -> bool:
    """True if this HELLO of a peer is accepted, so every later frame is encrypted both ways.

    The link's reader starts the cipher on exactly this condition; refusals stay in the clear.
    """
    return isinstance(check_hello(own, received), Hello)


def hidden_hello(hello: Hello) -> Hello:
    """The HELLO of a private room: nick and room are not sent in the clear."""
    return with_fields(hello, nick=HIDDEN, room=HIDDEN)


def refusal_sentence(code: str, version: int) -> str:
    """What a refusal received before authentication means, in our own words.

    Its text comes from a peer nobody has authenticated yet, so it is never shown: only a fixed
    sentence chosen by the code (unknown codes are not repeated either).
    """
    match code:
        case Refusal.VERSION:
            return f"it speaks protocol {version}, we speak {PROTOCOL_VERSION}"
        case Refusal.ROOM:
            return "it is in another room (or another passphrase)"
        case Refusal.IDENTITY | Refusal.AUTH:
            return "it could not verify our key"
        case Refusal.PROTOCOL:
            return "it did not understand us"
        case _:
            return "for a reason it did not name"


def _refused_by_peer(error: ErrorFrame) -> Rejected:
    sentence = refusal_sentence(error.code, error.version)
    known = {r.value: r for r in Refusal}
    return Rejected(
        reason=f"peer refused us: {error.code[:MAX_SHOWN_CODE_CHARS]!r}",
        reply=None,
        problem=f"refused the connection: {sentence}",
        code=known.get(error.code, Refusal.REFUSED_BY_PEER),
        by_peer=True,
    )


def _refusal(code: Refusal, text: str) -> ErrorFrame:
    return ErrorFrame(code=code.value, text=text, version=PROTOCOL_VERSION)
