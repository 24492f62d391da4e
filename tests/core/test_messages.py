"""Messages: exact round trips, and any hostile payload yields ProtocolError and nothing else."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from p2pchat.core.errors import ProtocolError
from p2pchat.core.limits import Limits
from p2pchat.core.messages import (
    NO_DIGEST,
    Auth,
    Bye,
    Chat,
    Direct,
    ErrorFrame,
    FileEnd,
    FileOffer,
    FileRequest,
    FileStop,
    Hello,
    Message,
    NickChange,
    PeerAddress,
    PeerList,
    Ping,
    Pong,
    SyncBatch,
    SyncRequest,
    clean_text,
    decode_message,
    encode_message,
    nick_problem,
    room_problem,
)

LIMITS = Limits()
A = "a" * 32
B = "b" * 32

KEY = bytes(range(32))
SIG = bytes(range(64))
SAMPLES: list[Message] = [
    Hello(1, A, "alice", "lobby", 4000, KEY, KEY[::-1], b"n" * 16, "ab" * 16),
    Auth(SIG, "alice"),
    ErrorFrame("version", "peer x speaks protocol 2, we speak 1", 2),
    Bye("quit"),
    Ping(7, "0123456789abcdef", 1_700_000_000.5),
    Pong(7),
    PeerList((PeerAddress(A, "127.0.0.1", 4000), PeerAddress(B, "::1", 4001))),
    NickChange("ålice"),
    Chat(A, 3, 9, 1_700_000_000.25, "alice", "hello\nworld 🎉", KEY, SIG),
    Direct(A, B, "0123456789abcdef", 1_700_000_000.5, KEY, KEY, b"sealed bytes", SIG),
    SyncRequest({A: 3, B: 0}, 12),
    SyncBatch(
        (Chat(A, 1, 1, 1.0, "alice", "one", KEY, SIG), Chat(B, 2, 4, 2.0, "bob", "two", KEY, SIG)),
        {B: 1},
        True,
    ),
    FileOffer("0123456789abcdef", A, "", "report 2026.pdf", 1 << 40, "f" * 64, 1.5, KEY, SIG),
    FileOffer("fedcba9876543210", A, B, "a", 0, "0" * 64, 2.0, KEY, SIG),
    FileRequest("0123456789abcdef", 196_608),
    FileEnd("0123456789abcdef", 1 << 40),
    FileStop("0123456789abcdef", "cancelled"),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: Message) -> None:
    assert decode_message(encode_message(message), LIMITS) == message


def test_wire_form_is_compact_json_with_a_type_field() -> None:
    pong = Pong(1, "a" * 16, "b" * 16)
    assert json.loads(encode_message(pong)) == {"t": "pong", "n": 1, "h": "a" * 16, "r": "b" * 16}


def test_a_pong_without_digests_from_an_older_peer_still_decodes() -> None:
    assert decode_message(b'{"t":"pong","n":7}', LIMITS) == Pong(7, NO_DIGEST, NO_DIGEST)


def test_sync_batches_are_bounded() -> None:
    chat = json.loads(encode_message(SAMPLES[8]))
    del chat["t"]
    batch = {
        "t": "batch",
        "msgs": [chat] * (LIMITS.sync_batch_messages + 1),
        "floors": {},
        "more": False,
    }
    with pytest.raises(ProtocolError):
        decode_message(json.dumps(batch).encode(), LIMITS)
    bad_vv = {"t": "sync", "vv": {"not-an-id": 1}, "hz": 0}
    with pytest.raises(ProtocolError):
        decode_message(json.dumps(bad_vv).encode(), LIMITS)


def mutate(obj: dict[str, Any], key: str, value: Any) -> bytes:
    return json.dumps({**obj, key: value}).encode()


CHAT = json.loads(encode_message(SAMPLES[8]))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("from", "A" * 32),
        ("from", "a" * 31),
        ("seq", 0),
        ("seq", True),
        ("seq", 1.5),
        ("seq", 2**63),
        ("lc", -1),
        ("ts", float("nan")),
        ("ts", "now"),
        ("ts", 10**400),
        ("seq", 10**400),
        ("lc", 10**400),
        ("nick", ""),
        ("nick", "two words"),
        ("nick", "a#b"),
        ("nick", "x" * 33),
        ("nick", "evil\u202e"),
        ("text", ""),
        ("text", "\x1b[2J"),
        ("text", "x" * (LIMITS.max_text_chars + 1)),
        ("text", 5),
        ("t", "nope"),
        ("t", None),
        ("key", "ab"),
        ("key", "zz" * 32),
        ("sig", "00" * 63),
        ("sig", None),
    ],
)
def test_invalid_fields_are_protocol_errors(key: str, value: Any) -> None:
    with pytest.raises(ProtocolError):
        decode_message(mutate(CHAT, key, value), LIMITS)


OFFER = json.loads(encode_message(SAMPLES[12]))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("id", "0123456789ABCDEF"),
        ("id", "0123"),
        ("id", "../../x"),
        ("to", "room"),
        ("to", None),
        ("name", ""),
        ("name", "   "),
        ("name", "evil\x1b[2J.txt"),
        ("name", "nul\x00byte"),
        ("name", "x" * (LIMITS.max_file_name_chars + 1)),
        ("name", ["a"]),
        ("size", -1),
        ("size", LIMITS.max_file_bytes + 1),
        ("size", 1.5),
        ("blake3", "F" * 64),
        ("blake3", "f" * 63),
        ("blake3", None),
        ("sig", "00" * 63),
    ],
)
def test_invalid_offer_fields_are_protocol_errors(key: str, value: Any) -> None:
    with pytest.raises(ProtocolError):
        decode_message(mutate(OFFER, key, value), LIMITS)


def test_a_fetch_offset_must_be_a_whole_non_negative_number() -> None:
    for offset in (-1, 0.5, "0", None, LIMITS.max_file_bytes + 1):
        with pytest.raises(ProtocolError):
            decode_message(mutate({"t": "fetch", "id": "0" * 16}, "offset", offset), LIMITS)


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xfe", b"[1,2]", b"null", b"{}", b"{" * 100_000, b'{"t":"peers","peers":5}'],
)
def test_malformed_payloads_are_protocol_errors(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_message(payload, LIMITS)


@pytest.mark.parametrize("host", ["evil.example", "fe80::1%eth0", "", "1.2.3.4.5"])
def test_gossip_hosts_must_be_plain_ip_literals(host: str) -> None:
    bad = {"t": "peers", "peers": [{"id": A, "host": host, "port": 1}]}
    with pytest.raises(ProtocolError):
        decode_message(json.dumps(bad).encode(), LIMITS)


def test_gossip_list_is_bounded() -> None:
    entry = {"id": A, "host": "127.0.0.1", "port": 1}
    many = {"t": "peers", "peers": [entry] * (LIMITS.max_gossip_peers + 1)}
    with pytest.raises(ProtocolError):
        decode_message(json.dumps(many).encode(), LIMITS)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.binary(max_size=300))
def test_random_bytes_only_ever_raise_protocol_error(payload: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_message(payload, LIMITS)


@given(st.sampled_from(SAMPLES), st.text(min_size=1, max_size=6), json_values)
def test_any_field_replaced_by_any_json_only_raises_protocol_error(
    message: Message, key: str, value: Any
) -> None:
    obj = json.loads(encode_message(message))
    target = key if key in obj and len(key) > 1 else list(obj)[hash(key) % len(obj)]
    try:
        decoded = decode_message(mutate(obj, target, value), LIMITS)
    except ProtocolError:
        return
    assert type(decoded) is type(message) or target == "t"


@given(st.sampled_from(SAMPLES), st.data())
def test_truncated_or_bit_flipped_frames_only_raise_protocol_error(
    message: Message, data: st.DataObject
) -> None:
    raw = bytearray(encode_message(message))
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    flip = data.draw(st.integers(min_value=0, max_value=len(raw) * 8 - 1))
    raw[flip // 8] ^= 1 << (flip % 8)
    with contextlib.suppress(ProtocolError):
        decode_message(bytes(raw[:cut] if cut else raw), LIMITS)


def test_nick_and_room_rules() -> None:
    assert nick_problem("alice", LIMITS) is None
    assert nick_problem("a b", LIMITS) is not None
    assert room_problem("team chat", LIMITS) is None
    assert room_problem(" lobby", LIMITS) is not None


def test_clean_text_removes_terminal_escapes_and_keeps_unicode() -> None:
    assert clean_text("  hi \x1b[31mthere\x07 ✓\r\n") == "hi [31mthere ✓"
