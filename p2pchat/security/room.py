"""Private rooms: a passphrase becomes a room key (Argon2id); the key gives a public room tag."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from p2pchat.core.limits import ROOM_HINT_HEX_CHARS, TAG_HEX_CHARS

ROOM_KEY_BYTES = 32
ARGON2_ITERATIONS = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_LANES = 1
MIN_PASSPHRASE_CHARS = 8
HINT_SALT = b"p2pchat room hint v1"
HINT_ITERATIONS = 2
HINT_MEMORY_KIB = 16 * 1024


def room_key(passphrase: str, room: str) -> bytes:
    """The room's key: Argon2id of the passphrase, salted with the room name (about 0.1 s)."""
    return Argon2id(
        salt=b"p2pchat room v1\0" + room.encode(),
        length=ROOM_KEY_BYTES,
        iterations=ARGON2_ITERATIONS,
        lanes=ARGON2_LANES,
        memory_cost=ARGON2_MEMORY_KIB,
    ).derive(passphrase.encode())


def room_hint(room: str) -> str:
    """A few bits of the room name, for telling a wrong passphrase apart from another room.

    Nodes of one room name with different passphrases have different tags but the same hint,
    so a node can say "same name, another passphrase?" at once. It is short (12 bits: about one
    unrelated room in 4,096 looks the same) and slow to compute (Argon2id), so it narrows a
    guess of the room name by little.
    """
    digest = Argon2id(
        salt=HINT_SALT,
        length=ROOM_KEY_BYTES,
        iterations=HINT_ITERATIONS,
        lanes=ARGON2_LANES,
        memory_cost=HINT_MEMORY_KIB,
    ).derive(room.encode())
    return digest.hex()[:ROOM_HINT_HEX_CHARS]


def room_tag(key: bytes) -> str:
    """What others may see: equal for members of the room, useless for finding its name."""
    digest = hmac.new(key, b"p2pchat room tag v1", hashlib.sha256).hexdigest()
    return digest[:TAG_HEX_CHARS]
