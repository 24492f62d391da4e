"""Invite codes: what a joiner needs to dial us, in a short text that survives being retyped.

A code holds our IPv4 addresses and TCP port, the room's name, and in a private room its tag
(the joiner checks the passphrase it types against it; the passphrase is never in a code).
Binary, then base32 (letters and digits only, case-insensitive), with a 4-byte checksum so a
mistyped code is refused instead of dialling somewhere else.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from dataclasses import dataclass

from p2pchat.core.limits import TAG_HEX_CHARS, Limits
from p2pchat.core.messages import room_problem

INVITE_PREFIX = "p2pchat-"
INVITE_VERSION = 1
MAX_INVITE_ADDRESSES = 8
CHECK_BYTES = 4
_OPEN, _PRIVATE = 0, 1
_TAG_BYTES = TAG_HEX_CHARS // 2


class InviteError(ValueError):
    """Not a valid invite code; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Invite:
    """Where to dial, and which room: its name, and its tag if it is private."""

    addresses: tuple[str, ...]  # IPv4, most likely to work first
    port: int
    room: str
    tag: str | None = None


def encode_invite(invite: Invite) -> str:
    """The code for an invite (at most MAX_INVITE_ADDRESSES addresses are kept)."""
    addresses = invite.addresses[:MAX_INVITE_ADDRESSES]
    body = bytearray([INVITE_VERSION, _PRIVATE if invite.tag else _OPEN, len(addresses)])
    body += invite.port.to_bytes(2, "big")
    for address in addresses:
        body += ipaddress.IPv4Address(address).packed
    if invite.tag:
        body += bytes.fromhex(invite.tag)
    body += invite.room.encode()
    body += _check(bytes(body))
    return INVITE_PREFIX + base64.b32encode(bytes(body)).decode().rstrip("=").lower()


def decode_invite(code: str, limits: Limits) -> Invite:
    """The invite in a code (spaces, dashes inside and case are forgiven); raise InviteError."""
    text = "".join(code.split()).lower()
    if not text.startswith(INVITE_PREFIX):
        raise InviteError(f"an invite code starts with {INVITE_PREFIX!r}")
    letters = text[len(INVITE_PREFIX) :].replace("-", "").upper()
    try:
        raw = base64.b32decode(letters + "=" * (-len(letters) % 8))
    except ValueError:
        raise InviteError("this invite code has characters no code has; check it") from None
    body, check = raw[:-CHECK_BYTES], raw[-CHECK_BYTES:]
    if len(raw) < 5 + CHECK_BYTES or _check(body) != check:
        raise InviteError("this invite code is mistyped or cut short; check it")
    version, kind, count = body[0], body[1], body[2]
    if version != INVITE_VERSION:
        raise InviteError("this invite code is from another version of p2pchat")
    port = int.from_bytes(body[3:5], "big")
    rest = body[5:]
    if not 1 <= count <= MAX_INVITE_ADDRESSES or len(rest) < 4 * count or port == 0:
        raise InviteError("this invite code holds no address to dial")
    addresses = tuple(str(ipaddress.IPv4Address(rest[4 * i : 4 * i + 4])) for i in range(count))
    if not all(_dialable(address) for address in addresses):
        raise InviteError("this invite code holds an address nobody can be dialled at")
    room_part = rest[4 * count :]
    tag = None
    if kind == _PRIVATE:
        tag, room_part = room_part[:_TAG_BYTES].hex(), room_part[_TAG_BYTES:]
    try:
        room = room_part.decode()
    except UnicodeDecodeError:
        room = ""
    if kind not in (_OPEN, _PRIVATE) or room_problem(room, limits) is not None:
        raise InviteError("this invite code names no valid room")
    if tag is not None and len(tag) != TAG_HEX_CHARS:
        raise InviteError("this invite code is cut short; check it")
    return Invite(addresses, port, room, tag)


def _dialable(text: str) -> bool:
    """A unicast address (loopback too: a code made on this machine for this machine)."""
    address = ipaddress.IPv4Address(text)
    special = address.is_unspecified or address.is_multicast or address.is_reserved
    return not special and address != ipaddress.IPv4Address("255.255.255.255")


def _check(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=CHECK_BYTES, person=b"p2pchat-invite").digest()
