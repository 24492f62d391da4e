"""One link's protocol alone, without sockets: bytes in, items out, and hostile input."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pchat.core.codec import encode_frame, frame_prefix
from p2pchat.core.errors import LocalProtocolError
from p2pchat.core.limits import FRAME_HEADER_BYTES, PROTOCOL_VERSION, Limits
from p2pchat.core.linkprotocol import (
    AEAD_TAG_BYTES,
    CHUNK_MARK,
    Decoded,
    DecodedChunk,
    DecodedMessage,
    LinkProtocol,
    ProtocolViolation,
    WireState,
    chunk_header,
)
from p2pchat.core.messages import (
    Auth,
    ErrorFrame,
    Hello,
    Message,
    Ping,
    Pong,
    encode_message,
    with_fields,
)
from p2pchat.security.keys import NodeKeys
from p2pchat.security.link import LinkCipher
from tests.ciphers import linked_ciphers

LIMITS = Limits()
ROOM = LIMITS.outbound_queue_bytes  # as much room as an empty send queue has
OFFER_ID = "0123456789abcdef"


class End:
    """One end of a link: keys, a cipher, our HELLO, and the protocol object."""

    def __init__(self, nonce: bytes, room: str = "lobby") -> None:
        self.keys = NodeKeys.generate()
        self.cipher = LinkCipher(self.keys.node_id, nonce)
        self.hello = Hello(
            PROTOCOL_VERSION,
            self.keys.node_id,
            "nick",
            room,
            0,
            self.keys.public_key,
            self.keys.dh_public,
            nonce,
            "",
            self.cipher.ephemeral_public,
        )
        self.link = LinkProtocol(LIMITS, self.cipher, self.hello)

    def send(self, message: Message) -> bytes:
        parts = self.link.send_message(message, ROOM)
        assert parts is not None
        return b"".join(parts)


def pair() -> tuple[End, End]:
    return End(b"A" * 16), End(b"B" * 16)


def messages(items: list[Decoded]) -> list[Message]:
    return [item.message for item in items if isinstance(item, DecodedMessage)]


def sealed_pair() -> tuple[End, End]:
    """Two ends whose HELLOs crossed: both SEALED."""
    a, b = pair()
    to_b, to_a = a.send(a.hello), b.send(b.hello)
    assert messages(b.link.receive_data(to_b)) == [a.hello]
    assert messages(a.link.receive_data(to_a)) == [b.hello]
    return a, b


# ------------------------------------------------------------------ the happy path


def test_hellos_cross_in_the_clear_then_everything_is_sealed_both_ways() -> None:
    a, b = pair()
    assert {a.link.state, b.link.state} == {WireState.AWAITING_HELLO}
    hello_frame = a.send(a.hello)
    assert encode_message(a.hello) in hello_frame  # in the clear
    b.link.receive_data(hello_frame)
    assert b.link.state is WireState.SEALED
    # b's HELLO goes out after a's arrived and started b's cipher: still in the clear.
    reply = b.send(b.hello)
    assert encode_message(b.hello) in reply
    auth = b.send(Auth(b"s" * 64, "bob"))
    assert b"bob" not in auth
    items = a.link.receive_data(reply + auth)
    assert messages(items) == [b.hello, Auth(b"s" * 64, "bob")]
    assert a.link.state is WireState.SEALED
    assert messages(b.link.receive_data(a.send(Pong(3)))) == [Pong(3)]


def test_each_message_reports_its_size_on_the_wire() -> None:
    a, b = sealed_pair()
    frame = a.send(Pong(1))
    [item] = b.link.receive_data(frame)
    assert isinstance(item, DecodedMessage) and item.wire_bytes == len(frame)
    assert len(frame) == FRAME_HEADER_BYTES + len(encode_message(Pong(1))) + AEAD_TAG_BYTES


def test_chunks_are_told_from_messages_by_their_tag() -> None:
    a, b = sealed_pair()
    first = a.send(Pong(1))  # frames are sealed in sending order
    parts = a.link.send_chunk(chunk_header(OFFER_ID) + b"file bytes", ROOM)
    assert parts is not None
    items = b.link.receive_data(first + b"".join(parts) + a.send(Pong(2)))
    assert messages(items) == [Pong(1), Pong(2)]
    [chunk] = [item for item in items if isinstance(item, DecodedChunk)]
    assert chunk.tag == bytes.fromhex(OFFER_ID) and bytes(chunk.data) == b"file bytes"
    assert items.index(chunk) == 1  # in order of arrival


def test_a_refusal_of_a_hello_and_everything_after_stay_in_the_clear() -> None:
    _, b = pair()
    other = End(b"C" * 16, room="elsewhere")
    b.link.receive_data(other.send(other.hello))
    assert b.link.state is WireState.CLEAR
    refusal = ErrorFrame("room", "not the same room", PROTOCOL_VERSION)
    assert encode_message(refusal) in b.send(refusal)


def test_a_first_frame_that_is_no_hello_leaves_the_link_clear() -> None:
    _, b = pair()
    items = b.link.receive_data(encode_frame(encode_message(Pong(1)), LIMITS.max_frame_bytes))
    assert messages(items) == [Pong(1)]  # the core refuses it, in the clear
    assert b.link.state is WireState.CLEAR
    assert encode_message(Pong(2)) in b.send(Pong(2))


def test_a_link_without_a_cipher_stays_clear() -> None:
    link = LinkProtocol(LIMITS)
    parts = link.send_message(Pong(1), ROOM)
    assert parts is not None and b"".join(parts) == encode_frame(
        encode_message(Pong(1)), LIMITS.max_frame_bytes
    )
    assert not link.seals_chunks
    assert link.chunk_head(b"head", 10, ROOM) == frame_prefix(14, LIMITS.max_frame_bytes) + b"head"
    assert link.chunk_head(b"head", 10, 17) is None  # 4 + 14 bytes do not fit in 17


def test_a_cipher_to_start_needs_our_hello() -> None:
    with pytest.raises(ValueError, match="HELLO"):
        LinkProtocol(LIMITS, LinkCipher("a" * 32, b"A" * 16))


# ------------------------------------------------------------------ any split


def fresh_stream() -> tuple[End, bytes]:
    """A new pair of ends, and all b sends a in one piece: its HELLO (which starts a's cipher),
    then sealed frames: an AUTH, a file chunk and a PING."""
    a, b = pair()
    b.link.receive_data(a.send(a.hello))
    data = b.send(b.hello) + b.send(Auth(b"s" * 64, "bob"))
    chunk = b.link.send_chunk(chunk_header(OFFER_ID) + bytes(range(256)) * 4, ROOM)
    assert chunk is not None
    return a, data + b"".join(chunk) + b.send(Ping(1, "0" * 16, 1.0))


def described(items: list[Decoded]) -> list[object]:
    """Items comparable across pairs of ends (the HELLO differs: its type stands for it)."""
    return [
        bytes(i.data)
        if isinstance(i, DecodedChunk)
        else type(i.message)
        if isinstance(i, DecodedMessage) and isinstance(i.message, Hello)
        else i
        for i in items
    ]


def expected() -> list[object]:
    a, data = fresh_stream()
    items = described(a.link.receive_data(data))
    assert len(items) == 4 and items[0] is Hello
    return items


def test_a_stream_split_anywhere_decodes_the_same() -> None:
    whole = expected()
    _, sample = fresh_stream()
    for cut in range(1, len(sample)):
        a, data = fresh_stream()
        items = a.link.receive_data(data[:cut]) + a.link.receive_data(data[cut:])
        assert described(items) == whole, cut


def test_a_stream_fed_one_byte_at_a_time_decodes_the_same() -> None:
    whole = expected()
    a, data = fresh_stream()
    items: list[Decoded] = []
    for index in range(len(data)):
        items += a.link.receive_data(data[index : index + 1])
    assert described(items) == whole


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2000), max_size=8))
def test_a_stream_cut_into_any_pieces_decodes_the_same(cuts: list[int]) -> None:
    whole = expected()
    a, data = fresh_stream()
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    items: list[Decoded] = []
    for start, end in itertools.pairwise(bounds):
        items += a.link.receive_data(data[start:end])
    assert described(items) == whole


def test_a_large_frame_can_be_read_in_place() -> None:
    a, b = sealed_pair()
    pong = b.send(Pong(1))
    parts = b.link.send_chunk(chunk_header(OFFER_ID) + bytes(200_000), ROOM)
    assert parts is not None
    data = pong + b"".join(parts)
    head = 1000
    items = a.link.receive_data(data[: len(data) - len(parts[1]) + head])
    assert messages(items) == [Pong(1)]
    assert a.link.frame_space(len(parts[1])) is None  # less than that is missing
    space = a.link.frame_space(32 * 1024)
    assert space is not None and len(space) == len(parts[1]) - head
    with pytest.raises(LocalProtocolError):
        a.link.receive_data(b"x")  # the frame must be filled first
    space[:] = parts[1][head:]
    [chunk] = a.link.frame_filled()
    assert isinstance(chunk, DecodedChunk) and bytes(chunk.data) == bytes(200_000)
    assert messages(a.link.receive_data(b.send(Pong(2)))) == [Pong(2)]


# ------------------------------------------------------------------ hostile input


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(FRAME_HEADER_BYTES, "big") + payload


def violation(items: list[Decoded]) -> str:
    assert items and isinstance(items[-1], ProtocolViolation), items
    assert not any(isinstance(i, ProtocolViolation) for i in items[:-1])
    return items[-1].reason


def test_garbage_breaks_the_link_and_it_takes_nothing_more() -> None:
    _, b = pair()
    assert violation(b.link.receive_data(frame(b"{{{"))) != ""
    assert b.link.state is WireState.BROKEN
    with pytest.raises(LocalProtocolError):
        b.link.receive_data(frame(encode_message(Pong(1))))


def test_frames_before_a_bad_one_stand() -> None:
    link = LinkProtocol(LIMITS)
    items = link.receive_data(frame(encode_message(Pong(1))) + frame(b"\xff") + frame(b"{}"))
    assert messages(items) == [Pong(1)]
    violation(items)
    assert len(items) == 2  # nothing after the bad frame is decoded


def test_an_oversize_frame_is_refused_from_its_header_alone() -> None:
    _, b = pair()
    header = (LIMITS.max_frame_bytes + AEAD_TAG_BYTES + 1).to_bytes(FRAME_HEADER_BYTES, "big")
    assert "exceeds" in violation(b.link.receive_data(header))


def test_an_empty_frame_is_refused() -> None:
    _, b = pair()
    assert "empty" in violation(b.link.receive_data(bytes(FRAME_HEADER_BYTES)))


def test_a_sealed_frame_before_the_hello_is_refused() -> None:
    sender, _ = linked_ciphers()
    _, b = pair()
    violation(b.link.receive_data(frame(sender.seal(encode_message(Pong(1))))))
    assert b.link.state is WireState.BROKEN


def test_a_file_chunk_before_the_hello_is_refused() -> None:
    _, b = pair()
    assert "before" in violation(b.link.receive_data(frame(chunk_header(OFFER_ID) + b"data")))


def test_an_empty_file_chunk_is_refused() -> None:
    link = LinkProtocol(LIMITS)
    link.receive_data(frame(encode_message(Pong(1))))
    assert "empty" in violation(link.receive_data(frame(chunk_header(OFFER_ID))))
    link = LinkProtocol(LIMITS)
    link.receive_data(frame(encode_message(Pong(1))))
    violation(link.receive_data(frame(CHUNK_MARK + b"abc")))  # a tag cut short


def test_a_clear_frame_once_sealed_is_refused() -> None:
    a, _ = sealed_pair()
    assert "decrypt" in violation(a.link.receive_data(frame(encode_message(Pong(1)))))


def test_a_replayed_or_dropped_frame_is_refused() -> None:
    a, b = sealed_pair()
    first = b.send(Pong(1))
    assert messages(a.link.receive_data(first)) == [Pong(1)]
    violation(a.link.receive_data(first))  # again: the counter moved on
    a, b = sealed_pair()
    b.send(Pong(1))  # never arrives
    violation(a.link.receive_data(b.send(Pong(2))))


def test_a_hello_whose_ephemeral_key_is_unusable_is_refused() -> None:
    a, b = pair()
    bad = with_fields(a.hello, ek=bytes(32))  # X25519 with it gives an all-zero secret
    assert "ephemeral" in violation(b.link.receive_data(frame(encode_message(bad))))


def test_a_second_hello_does_not_restart_the_cipher() -> None:
    a, b = sealed_pair()
    # Sealed like any frame after the first: the core sees a HELLO and refuses it.
    assert messages(b.link.receive_data(a.send(Pong(1)))) == [Pong(1)]
    again = frame(a.cipher.seal(encode_message(a.hello)))  # as a peer would send it
    assert messages(b.link.receive_data(again)) == [a.hello]
    assert b.link.state is WireState.SEALED


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=10))
def test_any_bytes_give_items_with_at_most_one_violation_last(pieces: list[bytes]) -> None:
    _, b = pair()
    for piece in pieces:
        if b.link.state is WireState.BROKEN:
            break
        items = b.link.receive_data(piece)
        problems = [i for i in items if isinstance(i, ProtocolViolation)]
        assert len(problems) <= 1 and (not problems or items[-1] is problems[0])


# ------------------------------------------------------------------ sending


def test_a_frame_without_room_is_not_sealed_so_no_nonce_is_spent() -> None:
    a, b = sealed_pair()
    size = FRAME_HEADER_BYTES + len(encode_message(Pong(1))) + AEAD_TAG_BYTES
    assert a.link.send_message(Pong(1), size - 1) is None
    parts = a.link.send_message(Pong(1), size)
    assert parts is not None
    assert messages(b.link.receive_data(b"".join(parts))) == [Pong(1)]


def test_a_payload_over_the_frame_limit_is_our_error_and_spends_no_nonce() -> None:
    a, b = sealed_pair()
    with pytest.raises(LocalProtocolError):
        a.link.send_message(Pong(1), ROOM, bytes(LIMITS.max_frame_bytes + 1))
    assert messages(b.link.receive_data(a.send(Pong(2)))) == [Pong(2)]


def test_a_link_with_a_started_cipher_seals_from_the_start() -> None:
    ours, theirs = linked_ciphers()
    link = LinkProtocol(LIMITS, ours)
    assert link.state is WireState.SEALED and link.seals_chunks
    parts = link.send_message(Pong(1), ROOM)
    assert parts is not None
    assert theirs.open(parts[1]) == encode_message(Pong(1))
    with pytest.raises(LocalProtocolError):
        link.chunk_head(b"head", 1, ROOM)
