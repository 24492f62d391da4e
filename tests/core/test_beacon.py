"""The discovery beacon's codec and what a beacon means (pure); hostile datagrams included."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from p2pchat.core.beacon import (
    MAX_BEACON_BYTES,
    Beacon,
    BeaconMatch,
    decode_beacon,
    encode_beacon,
    encode_probe,
    is_probe,
    match_beacon,
)
from p2pchat.core.limits import PROTOCOL_VERSION, Limits

LIMITS = Limits()
ID = "ab" * 16
TAG = "cd" * 16


def raw(**body: object) -> bytes:
    base: dict[str, object] = {"p2pchat": "p2pchat-beacon", "v": 3, "id": ID, "port": 41234}
    base.update(body)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


def test_open_and_private_beacons_round_trip_and_stay_small() -> None:
    for beacon in (
        Beacon(ID, 41234, room="project-x ünïcode"),
        Beacon(ID, 41234, room="lobby", nick="zoë"),
        Beacon(ID, 1, tag=TAG, hint="abc"),
        Beacon(ID, 65535, tag=TAG),
    ):
        data = encode_beacon(beacon)
        assert len(data) < 256
        assert decode_beacon(data, LIMITS) == beacon


def test_a_private_beacon_carries_neither_room_name_nor_nick() -> None:
    body = json.loads(encode_beacon(Beacon(ID, 41234, tag=TAG, hint="abc")))
    assert set(body) == {"p2pchat", "v", "id", "port", "tag", "rh"}


def test_the_longest_room_and_nick_in_wide_characters_fit_and_longer_ones_lose_the_nick() -> None:
    room, nick = "𝄞" * LIMITS.max_room_chars, "𝄞" * LIMITS.max_nick_chars
    longest = Beacon(ID, 41234, room=room, nick=nick)
    assert decode_beacon(encode_beacon(longest), LIMITS) == longest
    wide = Limits(max_room_chars=100)  # a build with longer names: the nick gives way
    data = encode_beacon(Beacon(ID, 41234, room="𝄞" * 100, nick=nick))
    assert len(data) <= MAX_BEACON_BYTES
    assert decode_beacon(data, wide) == Beacon(ID, 41234, room="𝄞" * 100)


def test_a_bad_nick_costs_the_nick_not_the_beacon() -> None:
    for nick in ("", "has space", "x#1", "\u202e", 7, "x" * (LIMITS.max_nick_chars + 1)):
        assert decode_beacon(raw(room="lobby", nick=nick), LIMITS) == Beacon(ID, 41234, "lobby")


def test_a_probe_is_recognised_and_is_not_a_beacon() -> None:
    probe = encode_probe()
    assert is_probe(probe) and decode_beacon(probe, LIMITS) is None
    assert not is_probe(encode_beacon(Beacon(ID, 1, room="lobby")))
    for bad in (b"", b"\xff", b"[]", b"{" * 5000, probe + b" " * MAX_BEACON_BYTES):
        assert not is_probe(bad)


def test_unknown_members_are_ignored_for_later_versions() -> None:
    assert decode_beacon(raw(room="lobby", future=[1, 2]), LIMITS) == Beacon(ID, 41234, "lobby")


def test_malformed_beacons_are_nothing() -> None:
    bad = [
        b"",
        b"\xff\xfe",
        b"[]",
        b"{}",
        b"{" * 5000,
        raw(room="lobby", p2pchat="other"),
        raw(room="lobby", v=True),
        raw(room="lobby", v=0),
        raw(room="lobby", v="3"),
        raw(room="lobby", port=0),
        raw(room="lobby", port=65536),
        raw(room="lobby", port=4.5),
        raw(room="lobby", id="AB" * 16),
        raw(room="lobby", id="ab" * 17),
        raw(),  # neither room nor tag
        raw(room="lobby", tag=TAG),  # both
        raw(room=""),
        raw(room=" lobby"),
        raw(room="x" * (LIMITS.max_room_chars + 1)),
        raw(room=7),
        raw(tag="CD" * 16),
        raw(tag="cd" * 15),
        raw(tag=TAG, rh="abcd"),
        raw(tag=TAG, rh=5),
        raw(room="lobby", pad="x" * MAX_BEACON_BYTES),  # too big to be a beacon
    ]
    for data in bad:
        assert decode_beacon(data, LIMITS) is None, data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=MAX_BEACON_BYTES + 16))
def test_any_datagram_decodes_to_a_valid_beacon_or_nothing(data: bytes) -> None:
    beacon = decode_beacon(data, LIMITS)
    if beacon is not None:
        assert 1 <= beacon.port <= 65535 and (beacon.room is None) != (beacon.tag is None)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["p2pchat", "v", "id", "port", "room", "tag", "rh", "x"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(max_size=70),
            st.just("p2pchat-beacon"),
            st.just(ID),
            st.just(TAG),
        ),
    )
)
def test_any_json_object_decodes_to_a_valid_beacon_or_nothing(body: dict[str, object]) -> None:
    beacon = decode_beacon(json.dumps(body).encode(), LIMITS)
    if beacon is not None:
        assert encode_beacon(beacon) and decode_beacon(encode_beacon(beacon), LIMITS) == beacon


def test_what_a_beacon_means() -> None:
    open_room = Beacon(ID, 1, room="lobby")
    assert match_beacon(open_room, "lobby", None, "") is BeaconMatch.SAME_ROOM
    assert match_beacon(open_room, "other", None, "") is BeaconMatch.OTHER
    assert match_beacon(open_room, "lobby", TAG, "abc") is BeaconMatch.OTHER  # we are private
    private = Beacon(ID, 1, tag=TAG, hint="abc")
    assert match_beacon(private, "lobby", TAG, "abc") is BeaconMatch.SAME_ROOM
    assert match_beacon(private, "lobby", "ef" * 16, "abc") is BeaconMatch.OTHER_PASSPHRASE
    assert match_beacon(private, "lobby", "ef" * 16, "123") is BeaconMatch.OTHER
    assert match_beacon(private, "lobby", None, "") is BeaconMatch.OTHER
    old = Beacon(ID, 1, room="lobby", version=PROTOCOL_VERSION - 1)
    assert match_beacon(old, "lobby", None, "") is BeaconMatch.OTHER
