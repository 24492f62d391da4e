"""One link's wire protocol, sans I/O: bytes in, decoded items out; messages in, frames out.

Like h11's `Connection`, one `LinkProtocol` owns one connection's protocol and the transport
only moves bytes. It frames (a 4-byte length, then the payload), starts the link cipher on the
peer's first frame when that is a HELLO the core will accept, opens and seals frames once the
cipher started (our own HELLO always goes in the clear), tells file chunks (0x01, an 8-byte
tag, data) from messages, and decodes messages.

The states (`WireState`) and every transition, all made in `_first_frame` and `_break`:

    AWAITING_HELLO --the peer's first frame is a HELLO encrypts_after accepts--> SEALED
    AWAITING_HELLO --any other first frame, or the link has no cipher---------> CLEAR
    AWAITING_HELLO, CLEAR, SEALED --the peer breaks the protocol--------------> BROKEN

A link whose cipher was started before it was made (tests) begins SEALED.

Threads: the receiving side (`receive_data`, `frame_space`, `frame_filled`) is used by one
thread at a time, the sending side (`send_message`, `send_chunk`, `chunk_head`) by whoever holds
the link's send lock, in sending order. The two share only the started cipher, which the
receiving side publishes with one attribute write once its keys are derived.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from p2pchat.core.codec import FrameDecoder, frame_prefix
from p2pchat.core.errors import LocalProtocolError, ProtocolError
from p2pchat.core.handshake import encrypts_after
from p2pchat.core.limits import FILE_CHUNK_HEADER_BYTES, FRAME_HEADER_BYTES, Limits
from p2pchat.core.messages import Hello, Message, decode_message, encode_message

AEAD_TAG_BYTES = 16  # what sealing adds to a payload (the length prefix counts it)
CHUNK_MARK = b"\x01"  # the first byte of a file chunk's payload (a message starts with "{")
CHUNK_TAG_BYTES = FILE_CHUNK_HEADER_BYTES - len(CHUNK_MARK)


class FrameCipher(Protocol):
    """A link's encryption as the link protocol uses it (p2pchat.security.link.LinkCipher)."""

    @property
    def started(self) -> bool:
        """True once both directions' keys are derived."""

    def start(self, their_id: str, their_nonce: bytes, their_ephemeral: bytes) -> None:
        """Derive the keys from the peer's HELLO; ProtocolError if its key is unusable."""

    def seal(self, payload: bytes | bytearray) -> bytes:
        """Encrypt one payload (in sending order)."""

    def open(self, payload: bytes | bytearray) -> bytes:
        """Decrypt one payload (in receiving order); ProtocolError if it does not open."""


class WireState(Enum):
    """Where one link's protocol stands."""

    AWAITING_HELLO = "awaiting hello"  # nothing received yet: the peer's first frame is clear
    CLEAR = "clear"  # no cipher started: frames stay in the clear both ways
    SEALED = "sealed"  # the cipher started: every frame but our HELLO is sealed, both ways
    BROKEN = "broken"  # the peer broke the protocol: nothing more is received


@dataclass(slots=True)  # not frozen: one per message received, and frozen ones take twice as long
class DecodedMessage:
    """A message received; wire_bytes: its frame's size as received (prefix included)."""

    message: Message
    wire_bytes: int


@dataclass(frozen=True, slots=True, eq=False)
class DecodedChunk:
    """File bytes received for the transfer with this tag (a view into the received frame)."""

    tag: bytes
    data: memoryview


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The peer broke the protocol: the link must end (always the last item of a batch)."""

    reason: str


Decoded = DecodedMessage | DecodedChunk | ProtocolViolation
Frame = tuple[bytes, bytes]
"""A frame to send, in two parts (not joined: no copy): its length prefix, then its body."""


def chunk_tag(offer_id: str) -> bytes:
    """The 8-byte tag of an offer's chunks (its 16 hex character ID)."""
    return bytes.fromhex(offer_id)


def chunk_header(offer_id: str) -> bytes:
    """What every chunk payload of an offer starts with: the mark, then the offer's tag."""
    return CHUNK_MARK + chunk_tag(offer_id)


class LinkProtocol:
    """The protocol of one link: framing, the cipher and its start, chunk demux, decoding."""

    def __init__(
        self, limits: Limits, cipher: FrameCipher | None = None, own: Hello | None = None
    ) -> None:
        """cipher: the link's (None: a link in the clear); own: our HELLO on it, against which
        the peer's is judged (needed unless the cipher has already started)."""
        if cipher is not None and not cipher.started and own is None:
            raise ValueError("a link with a cipher to start needs our HELLO")
        self._limits = limits
        self._cipher = cipher
        self._own = own
        self._sealed: FrameCipher | None = None  # the cipher, once started (both directions)
        self.state = WireState.AWAITING_HELLO
        if cipher is not None and cipher.started:
            self._sealed = cipher
            self.state = WireState.SEALED
        overhead = AEAD_TAG_BYTES if cipher is not None else 0
        self._decoder = FrameDecoder(limits.max_frame_bytes + overhead)
        self._filling: bytearray | None = None
        self.frames_in = 0

    # ------------------------------------------------------------- receiving

    def receive_data(self, data: bytes) -> list[Decoded]:
        """Take bytes as they came from the peer; return what they completed, in order.

        A ProtocolViolation, if any, comes last (the items before it stand); after it the link
        is BROKEN and takes nothing more (LocalProtocolError).
        """
        self._check_receiving()
        try:
            frames: list[bytes] = self._decoder.feed(data)
        except ProtocolError as exc:
            return [self._break(str(exc))]
        return self._decode_all(frames)

    def frame_space(self, min_missing: int) -> memoryview | None:
        """Room to read the rest of a large frame in progress straight into, sparing copies.

        A view of the frame's missing bytes if at least min_missing are still to come (fill
        all of it, then call frame_filled), else None.
        """
        self._check_receiving()
        partial = self._decoder.take_partial(min_missing)
        if partial is None:
            return None
        payload, have = partial
        self._filling = payload
        return memoryview(payload)[have:]

    def frame_filled(self) -> list[Decoded]:
        """The view from frame_space is full: decode that frame, as receive_data would."""
        payload, self._filling = self._filling, None
        if payload is None:
            raise LocalProtocolError("no frame is being filled")
        return self._decode_all([payload])

    # ------------------------------------------------------------- sending

    def send_message(
        self, message: Message, room: int, payload: bytes | None = None
    ) -> Frame | None:
        """The frame of a message; None if it is over room bytes.

        payload: the message already encoded (one encoding shared by many links). Our HELLO
        goes in the clear, everything else sealed once the cipher started. LocalProtocolError
        if the payload is over the frame limit. Neither error spends a nonce.
        """
        data = encode_message(message) if payload is None else payload
        return self._frame(data, room, clear=isinstance(message, Hello))

    def send_chunk(self, chunk: bytes | bytearray, room: int) -> Frame | None:
        """The frame of a file chunk (chunk_header + data), sealed once the cipher started;
        None if over room bytes."""
        return self._frame(chunk, room, clear=False)

    @property
    def seals_chunks(self) -> bool:
        """True if chunks must be read into memory and go through send_chunk (the link has a
        cipher); else chunk_head frames them and their data may go from file to socket."""
        return self._cipher is not None

    def chunk_head(self, header: bytes, count: int, room: int) -> bytes | None:
        """The length prefix and header of a chunk in the clear whose count data bytes follow
        from elsewhere; None if the whole frame is over room bytes."""
        if self._cipher is not None:
            raise LocalProtocolError("chunks on a link with a cipher are sealed")
        length = len(header) + count
        if FRAME_HEADER_BYTES + length > room:
            return None
        return frame_prefix(length, self._limits.max_frame_bytes) + header

    # ------------------------------------------------------------- private

    def _check_receiving(self) -> None:
        if self.state is _BROKEN:
            raise LocalProtocolError("the link is broken: it takes nothing more")
        if self._filling is not None:
            raise LocalProtocolError("a frame is being filled: call frame_filled first")

    def _decode_all(self, frames: list[bytes] | list[bytearray]) -> list[Decoded]:
        items: list[Decoded] = []
        for frame in frames:
            self.frames_in += 1
            try:
                items.append(self._decode(frame))
            except ProtocolError as exc:
                items.append(self._break(str(exc)))
                break
        return items

    def _decode(self, frame: bytes | bytearray) -> Decoded:
        sealed = self._sealed
        plain = sealed.open(frame) if sealed is not None else frame
        if plain[:1] == CHUNK_MARK:
            if self.state is _AWAITING_HELLO:
                raise ProtocolError("a file chunk before the HELLO")
            if len(plain) <= FILE_CHUNK_HEADER_BYTES:
                raise ProtocolError("empty file chunk")
            tag = bytes(plain[len(CHUNK_MARK) : FILE_CHUNK_HEADER_BYTES])
            return DecodedChunk(tag, memoryview(plain)[FILE_CHUNK_HEADER_BYTES:])
        message = decode_message(plain, self._limits)
        if self.state is _AWAITING_HELLO:
            self._first_frame(message)
        return DecodedMessage(message, len(frame) + FRAME_HEADER_BYTES)

    def _first_frame(self, message: Message) -> None:
        """The peer's first frame decides: only a HELLO the core accepts starts the cipher;
        after any other (which the core refuses, in the clear) the link stays clear."""
        cipher, own = self._cipher, self._own
        if (
            cipher is not None
            and own is not None
            and isinstance(message, Hello)
            and encrypts_after(own, message)
        ):
            cipher.start(message.node_id, message.nonce, message.ek)
            self._sealed = cipher
            self.state = WireState.SEALED
        else:
            self.state = WireState.CLEAR

    def _break(self, reason: str) -> ProtocolViolation:
        self.state = WireState.BROKEN
        return ProtocolViolation(reason)

    def _frame(self, payload: bytes | bytearray, room: int, *, clear: bool) -> Frame | None:
        if len(payload) > self._limits.max_frame_bytes:
            raise LocalProtocolError(f"frame of {len(payload)} bytes is too large")
        sealed = None if clear else self._sealed
        overhead = AEAD_TAG_BYTES if sealed is not None else 0
        if FRAME_HEADER_BYTES + len(payload) + overhead > room:
            return None  # checked before sealing: a nonce spent on nothing breaks the link
        body = bytes(payload) if sealed is None else sealed.seal(payload)
        limit = self._limits.max_frame_bytes + overhead
        return frame_prefix(len(body), limit), body


# Looked up once per frame: a module global is ten times faster than an Enum member.
_AWAITING_HELLO = WireState.AWAITING_HELLO
_BROKEN = WireState.BROKEN
