"""Frame codec: round trips under any chunking, and limits enforced before the body arrives."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from p2pchat.core.codec import FrameDecoder, encode_frame
from p2pchat.core.errors import FrameTooLargeError, LocalProtocolError, ProtocolError

MAX = 1024


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut data at the given positions (sorted, deduplicated)."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[last:point])
        last = point
    return pieces


@given(
    payloads=st.lists(st.binary(min_size=1, max_size=MAX), max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=30_000), max_size=40),
)
def test_round_trip_with_any_chunking(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(p, MAX) for p in payloads)
    decoder = FrameDecoder(MAX)
    out: list[bytes] = []
    for piece in split(stream, cuts):
        out.extend(decoder.feed(piece))
    assert out == payloads
    assert decoder.buffered == 0


def test_length_prefix_is_four_bytes_big_endian() -> None:
    assert encode_frame(b"abc", MAX) == b"\x00\x00\x00\x03abc"


def test_oversize_frame_rejected_from_its_header_alone() -> None:
    decoder = FrameDecoder(MAX)
    with pytest.raises(FrameTooLargeError):
        decoder.feed(struct.pack(">I", MAX + 1))


def test_frame_of_exactly_the_limit_is_accepted() -> None:
    payload = b"x" * MAX
    assert FrameDecoder(MAX).feed(encode_frame(payload, MAX)) == [payload]


def test_zero_length_frame_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        FrameDecoder(MAX).feed(b"\x00\x00\x00\x00")


def test_partial_header_waits_for_more() -> None:
    decoder = FrameDecoder(MAX)
    assert decoder.feed(b"\x00\x00") == []
    assert decoder.feed(b"\x00\x01z") == [b"z"]


def test_encoder_refuses_what_the_decoder_would_reject() -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(b"x" * (MAX + 1), MAX)
    with pytest.raises(LocalProtocolError):
        encode_frame(b"", MAX)
