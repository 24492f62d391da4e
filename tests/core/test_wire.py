"""The derived codec: the wire form byte for byte, every rule under the Limits in force, and
hostile input that yields ProtocolError and nothing else (also in members we ignore)."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import unicodedata
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from p2pchat.core.errors import LocalProtocolError, ProtocolError
from p2pchat.core.handshake import Refusal
from p2pchat.core.limits import DEFAULT_LIMITS, Limits
from p2pchat.core.messages import (
    NO_DIGEST,
    Bye,
    Chat,
    Direct,
    ErrorFrame,
    FileOffer,
    Hello,
    Message,
    PeerAddress,
    PeerList,
    Ping,
    Pong,
    RefusalCode,
    SyncBatch,
    SyncRequest,
    decode_message,
    direct_content,
    encode_message,
    nick_problem,
    parse_direct_content,
    with_fields,
)
from p2pchat.core.textrules import (
    CONTROL_AND_BIDI,
    INVISIBLE_CATEGORIES,
    INVISIBLE_CHARS,
    NAME_FORBIDDEN,
    TEXT_FORBIDDEN,
)
from p2pchat.core.wire import OPTIONAL, Int, Limit, Record, Text
from p2pchat.core.wirecodec import MAX_SHOWN_ERROR_CHARS, Codec

A = "a" * 32
B = "b" * 32
KEY = bytes(range(32))
SIG = bytes(range(64))
K, S = KEY.hex(), SIG.hex()
SMALL = Limits(max_text_chars=5, max_nick_chars=3, max_gossip_peers=1, sync_batch_messages=1)

# What the hand-written encoder of protocol 3 sent: the JSON on the wire must not change (the
# auth transcript re-encodes the peer's hello, so a changed byte would break the handshake).
GOLDEN: list[tuple[Message, str]] = [
    (
        Hello(3, A, 'al"ice\\', "lob\u2028by ✓", 4000, KEY, KEY, bytes(16), "", KEY),
        f'{{"t":"hello","v":3,"id":"{A}","nick":"al\\"ice\\\\","room":"lob\u2028by ✓",'
        f'"port":4000,"key":"{K}","dh":"{K}","nonce":"{"0" * 32}","tag":"","ek":"{K}"}}',
    ),
    (
        Hello(3, A, "-", "-", 0),
        f'{{"t":"hello","v":3,"id":"{A}","nick":"-","room":"-","port":0,"key":"","dh":"",'
        '"nonce":"","tag":"","ek":""}',
    ),
    (
        Ping(7, "0123456789abcdef", 0.1, "fedcba9876543210"),
        '{"t":"ping","n":7,"h":"0123456789abcdef","w":0.1,"r":"fedcba9876543210"}',
    ),
    (
        PeerList((PeerAddress(A, "127.0.0.1", 4000),)),
        f'{{"t":"peers","peers":[{{"id":"{A}","host":"127.0.0.1","port":4000}}],"all":false}}',
    ),
    (
        Chat(A, 3, 9, 1_700_000_000.25, "alice", "hello\nworld 🎉\t!", KEY, SIG),
        f'{{"t":"chat","from":"{A}","seq":3,"lc":9,"ts":1700000000.25,"nick":"alice",'
        f'"text":"hello\\nworld 🎉\\t!","key":"{K}","sig":"{S}"}}',
    ),
    (
        Direct(A, B, "0123456789abcdef", 1_700_000_000.5, KEY, KEY, b"sealed bytes\xff\x00", SIG),
        f'{{"t":"dm","from":"{A}","to":"{B}","nonce":"0123456789abcdef","ts":1700000000.5,'
        f'"key":"{K}","eph":"{K}","box":"c2VhbGVkIGJ5dGVz/wA=","sig":"{S}"}}',
    ),
    (
        SyncBatch((Chat(A, 1, 1, 1.0, "alice", "one", KEY, SIG),), {B: 1}, True),
        f'{{"t":"batch","msgs":[{{"from":"{A}","seq":1,"lc":1,"ts":1.0,"nick":"alice",'
        f'"text":"one","key":"{K}","sig":"{S}"}}],"floors":{{"{B}":1}},"more":true}}',
    ),
    (
        SyncRequest({A: 3, B: 0}, 12),
        f'{{"t":"sync","vv":{{"{A}":3,"{B}":0}},"hz":12,"rc":0}}',
    ),
    (
        FileOffer("0123456789abcdef", A, "", "report.pdf", 1 << 40, "f" * 64, 1.5, KEY, SIG),
        f'{{"t":"offer","id":"0123456789abcdef","from":"{A}","to":"","name":"report.pdf",'
        f'"size":1099511627776,"blake3":"{"f" * 64}","ts":1.5,"key":"{K}","sig":"{S}"}}',
    ),
]


@pytest.mark.parametrize(("message", "wire"), GOLDEN, ids=lambda x: type(x).__name__)
def test_the_wire_form_is_byte_for_byte_that_of_protocol_3(message: Message, wire: str) -> None:
    assert encode_message(message) == wire.encode()
    assert decode_message(wire.encode(), DEFAULT_LIMITS) == message


def frame(**members: Any) -> bytes:
    return json.dumps(members).encode()


CHAT = json.loads(encode_message(GOLDEN[4][0]))


def test_members_a_frame_may_leave_out_take_their_defaults_and_the_others_are_required() -> None:
    v1 = decode_message(frame(t="hello", v=1, id=A, nick="al", room="r", port=1), DEFAULT_LIMITS)
    assert v1 == Hello(1, A, "al", "r", 1)  # only the frozen members
    ping = decode_message(frame(t="ping", n=1, h="0" * 16, w=5), DEFAULT_LIMITS)
    assert ping == Ping(1, "0" * 16, 5.0, NO_DIGEST) and type(ping.wall) is float
    assert decode_message(frame(t="peers", peers=[]), DEFAULT_LIMITS) == PeerList(())
    for required in (
        frame(t="sync", vv={}, hz=0),  # rc has a default in the class, not on the wire
        frame(**{k: v for k, v in CHAT.items() if k != "key"}),
        frame(t="batch", msgs=[], floors={}),
        frame(t="hello", v=1, id=A, nick="al", room="r"),
    ):
        with pytest.raises(ProtocolError):
            decode_message(required, DEFAULT_LIMITS)


def test_members_we_do_not_know_are_ignored_wherever_they_are() -> None:
    batch_entry = {**CHAT, "future": [1, {"x": None}]}  # it keeps its "t" too: ignored
    payload = frame(t="batch", msgs=[batch_entry], floors={}, more=False, extra="x")
    assert decode_message(payload, DEFAULT_LIMITS) == SyncBatch((GOLDEN[4][0],), {}, False)


@pytest.mark.parametrize(
    "ignored",
    [b'"\xed\xa0\x80"', b'"\xff"', b'{"\xc0\x80":1}', b"[" * 5000 + b"]" * 5000, b"NaN"],
    ids=["surrogate", "bad-utf8", "overlong", "deep", "nan"],
)
def test_bad_json_in_a_member_we_ignore_is_still_a_protocol_error(ignored: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_message(b'{"t":"pong","n":1,"x":' + ignored + b"}", DEFAULT_LIMITS)


def test_the_limits_in_force_are_the_ones_checked_and_several_can_alternate() -> None:
    long_text = frame(**{**CHAT, "text": "x" * 6})
    two_peers = frame(t="peers", peers=[{"id": A, "host": "::1", "port": 1}] * 2)
    for _ in range(3):
        assert decode_message(long_text, DEFAULT_LIMITS).text == "x" * 6  # type: ignore[union-attr]
        assert len(decode_message(two_peers, DEFAULT_LIMITS).peers) == 2  # type: ignore[union-attr]
        for payload in (long_text, two_peers):
            with pytest.raises(ProtocolError):
                decode_message(payload, SMALL)
    with pytest.raises(ProtocolError):
        decode_message(frame(**{**CHAT, "nick": "alice"}), SMALL)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("key", K.upper()),
        ("key", "0" * 62 + " 0"),
        ("key", " " + K[:-1]),
        ("key", "\u0660" * 64),  # Arabic-Indic zeros are digits, not hex
        ("from", A + "\n"),
        ("text", "x\u0085y"),
        ("ts", True),
        ("lc", 1.0),
    ],
)
def test_hex_and_shapes_are_exact(key: str, value: Any) -> None:
    with pytest.raises(ProtocolError):
        decode_message(frame(**{**CHAT, key: value}), DEFAULT_LIMITS)


def test_a_host_is_kept_in_normal_form_and_a_refusal_code_from_a_newer_peer_decodes() -> None:
    peers = frame(t="peers", peers=[{"id": A, "host": "::0001", "port": 1}], all=True)
    assert decode_message(peers, DEFAULT_LIMITS) == PeerList((PeerAddress(A, "::1", 1),), True)
    newer = decode_message(frame(t="error", code="too-busy", text="", v=9), DEFAULT_LIMITS)
    assert newer == ErrorFrame("too-busy", "", 9) and newer.code not in set(RefusalCode)
    assert encode_message(ErrorFrame(RefusalCode.ROOM, "x", 3)) == encode_message(
        ErrorFrame("room", "x", 3)
    )


def test_the_refusal_codes_we_send_are_ones_the_handshake_tells_apart() -> None:
    assert {code.value for code in RefusalCode} <= {refusal.value for refusal in Refusal}


def test_why_a_frame_was_refused_is_short_and_escaped() -> None:
    with pytest.raises(ProtocolError) as refused:
        decode_message(frame(t="\u202e" + "x" * 100_000), DEFAULT_LIMITS)
    reason = str(refused.value)
    assert len(reason) < MAX_SHOWN_ERROR_CHARS + 40 and "\u202e" not in reason


def test_forbidden_characters_are_all_unprintable_so_printable_text_needs_no_search() -> None:
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    for body in (TEXT_FORBIDDEN, NAME_FORBIDDEN, CONTROL_AND_BIDI):
        found = re.findall(f"[{body}]", every)
        assert len(found) > 60 and not any(char.isprintable() for char in found)


def slow_nick_problem(nick: str) -> bool:
    """The nick rules without the ASCII shortcut: True if the nick is refused."""
    bad = re.compile(f"[\\s#{NAME_FORBIDDEN}]")
    invisible = any(
        unicodedata.category(c) in INVISIBLE_CATEGORIES or c in INVISIBLE_CHARS for c in nick
    )
    normal = unicodedata.normalize("NFKC", nick) == nick
    return not 1 <= len(nick) <= 32 or bad.search(nick) is not None or invisible or not normal


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40))
def test_the_ascii_shortcut_for_nicks_agrees_with_the_full_rules(nick: str) -> None:
    assert (nick_problem(nick, DEFAULT_LIMITS) is not None) == slow_nick_problem(nick)


@given(
    st.binary(max_size=200)
    | st.builds(
        lambda v: json.dumps(v).encode(),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["nick", "text", "t"]) | st.text(max_size=4), inner, max_size=3
                )
            ),
            max_leaves=10,
        ),
    )
)
def test_sealed_content_only_ever_raises_protocol_error(payload: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        nick, text = parse_direct_content(payload, DEFAULT_LIMITS)
        assert nick_problem(nick, DEFAULT_LIMITS) is None and len(text) >= 1


def test_sealed_content_round_trips() -> None:
    assert parse_direct_content(direct_content("bob", "hi\nthere"), DEFAULT_LIMITS) == (
        "bob",
        "hi\nthere",
    )


@given(st.sampled_from([g[0] for g in GOLDEN]), st.data())
def test_under_small_limits_hostile_frames_only_raise_protocol_error(
    message: Message, data: st.DataObject
) -> None:
    obj = json.loads(encode_message(message))
    key = data.draw(st.sampled_from(sorted(obj)))
    copy = dict(obj)
    obj[key] = data.draw(st.none() | st.integers() | st.text(max_size=8) | st.lists(st.just(copy)))
    with contextlib.suppress(ProtocolError):
        decode_message(json.dumps(obj).encode(), SMALL)


def test_with_fields_copies_with_changes_and_messages_stay_immutable() -> None:
    chat = GOLDEN[4][0]
    assert isinstance(chat, Chat)
    changed = with_fields(chat, text="edited")
    assert changed.text == "edited" and chat.text != "edited" and changed.seq == chat.seq
    with pytest.raises(AttributeError):
        chat.text = "x"  # type: ignore[misc]
    assert hash(Pong(1)) == hash(Pong(1)) and Bye("quit") == Bye("quit") != Bye("x")


class Unruled(Record, frozen=True):
    value: int


class Ruled(Record, frozen=True):
    WIRE_TYPE = "ruled"
    value: Annotated[int, Int(0, Limit("max_text_chars"))]
    text: Annotated[str, Text(3), OPTIONAL] = ""


def test_a_declaration_without_a_rule_or_with_a_bad_limit_is_refused_at_once() -> None:
    with pytest.raises(TypeError):
        Codec((Unruled,))
    with pytest.raises(TypeError):
        Limit("max_txet_chars")
    with pytest.raises(LocalProtocolError):
        Codec((Ruled,)).encode(Pong(1))
    codec: Codec[Ruled] = Codec((Ruled,))
    assert codec.decode(b'{"t":"ruled","value":7}', DEFAULT_LIMITS) == Ruled(7)
    for refused, limits in ((b'"value":7', SMALL), (b'"value":1,"text":"long"', DEFAULT_LIMITS)):
        with pytest.raises(ProtocolError):
            codec.decode(b'{"t":"ruled",' + refused + b"}", limits)
