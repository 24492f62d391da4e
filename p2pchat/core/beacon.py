"""The discovery beacon: one UDP datagram that says "a node of this room listens on this port".

Sent by broadcast on the local subnets, so nodes find each other where multicast (mDNS) is
filtered. Anyone on the LAN can send one: it is validated like any hostile input and is only
ever a hint to dial (the handshake proves who listens there).

A probe ("who is there?") is the datagram `p2pchat doctor` broadcasts: every node that hears it
answers with its beacon, sent straight back to the probe's source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from p2pchat.core.limits import PROTOCOL_VERSION, ROOM_HINT_HEX_CHARS, TAG_HEX_CHARS, Limits
from p2pchat.core.messages import is_node_id, nick_problem, room_problem

BEACON_KIND = "p2pchat-beacon"
PROBE_KIND = "p2pchat-probe"
MAX_BEACON_BYTES = 512  # ours are under 200; a bigger datagram is not a beacon
MAX_PORT = 65535
MAX_VERSION = 2**31

_TAG = re.compile(f"[0-9a-f]{{{TAG_HEX_CHARS}}}")
_HINT = re.compile(f"[0-9a-f]{{{ROOM_HINT_HEX_CHARS}}}")


@dataclass(frozen=True, slots=True)
class Beacon:
    """Who sends it, where it listens, and its room: the name (open) or the tag (private)."""

    node_id: str
    port: int
    room: str | None = None  # an open room's name
    tag: str | None = None  # a private room's tag: no name, no nick
    hint: str = ""  # a private room: 12 bits of its name, to tell "another passphrase"
    version: int = PROTOCOL_VERSION
    nick: str = ""  # an open room: who it is (as its mDNS record says too), for `doctor`


class BeaconMatch(Enum):
    """What a beacon means to us."""

    SAME_ROOM = "same room"
    OTHER_PASSPHRASE = "our room's name, another passphrase"
    OTHER = "another room or protocol"


def encode_beacon(beacon: Beacon) -> bytes:
    """The datagram for a beacon (compact JSON)."""
    body: dict[str, object] = {
        "p2pchat": BEACON_KIND,
        "v": beacon.version,
        "id": beacon.node_id,
        "port": beacon.port,
    }
    if beacon.tag is not None:
        body["tag"] = beacon.tag
        if beacon.hint:
            body["rh"] = beacon.hint
    else:
        body["room"] = beacon.room
        if beacon.nick:
            body["nick"] = beacon.nick
    data = _compact(body)
    if len(data) > MAX_BEACON_BYTES:  # a long name and nick in wide characters: no nick
        del body["nick"]
        data = _compact(body)
    return data


def encode_probe() -> bytes:
    """The datagram that asks every node hearing it to answer with its beacon."""
    return _compact({"p2pchat": PROBE_KIND, "v": PROTOCOL_VERSION})


def is_probe(data: bytes) -> bool:
    """True if a datagram is a probe (of any version: answering is harmless)."""
    if len(data) > MAX_BEACON_BYTES:
        return False
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(body, dict) and body.get("p2pchat") == PROBE_KIND


def decode_beacon(data: bytes, limits: Limits) -> Beacon | None:
    """The beacon in a datagram, or None if it is not a well-formed one (members we do not
    know are ignored, for later versions)."""
    if len(data) > MAX_BEACON_BYTES:
        return None
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("p2pchat") != BEACON_KIND:
        return None
    return beacon_from_fields(body, limits)


def beacon_from_fields(body: Mapping[str, object], limits: Limits) -> Beacon | None:
    """The beacon these fields describe (as in a beacon, or a node's mDNS record with "v" made
    an int), or None if they are not valid."""
    version, port = _int_in(body.get("v"), 1, MAX_VERSION), _int_in(body.get("port"), 1, MAX_PORT)
    node_id, room, tag, hint = body.get("id"), body.get("room"), body.get("tag"), body.get("rh", "")
    if version is None or port is None:
        return None
    if not isinstance(node_id, str) or not is_node_id(node_id):
        return None
    if (room is None) == (tag is None) or not isinstance(hint, str):
        return None
    if tag is not None:
        if not isinstance(tag, str) or not _TAG.fullmatch(tag):
            return None
        if hint and not _HINT.fullmatch(hint):
            return None
        return Beacon(node_id, port, tag=tag, hint=hint, version=version)
    if not isinstance(room, str) or room_problem(room, limits) is not None:
        return None
    nick = body.get("nick", "")
    if not isinstance(nick, str) or (nick and nick_problem(nick, limits) is not None):
        nick = ""  # a bad nick is not worth losing the beacon over: it is only shown by doctor
    return Beacon(node_id, port, room=room, version=version, nick=nick)


def match_beacon(beacon: Beacon, room: str, tag: str | None, hint: str) -> BeaconMatch:
    """Whether a beacon is from our room (tag: ours in a private room; hint: our name's)."""
    if beacon.version != PROTOCOL_VERSION:
        return BeaconMatch.OTHER
    if tag is None:
        return BeaconMatch.SAME_ROOM if beacon.room == room else BeaconMatch.OTHER
    if beacon.tag == tag:
        return BeaconMatch.SAME_ROOM
    if beacon.tag is not None and hint and beacon.hint == hint:
        return BeaconMatch.OTHER_PASSPHRASE
    return BeaconMatch.OTHER


def _compact(body: dict[str, object]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _int_in(value: object, low: int, high: int) -> int | None:
    """value if it is an int (not a bool) from low to high, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None
