"""What the core needs from cryptography, as an interface, and the exact bytes it signs.

The core stays pure: the runtime passes in an implementation (p2pchat.security.keys) and the
simulator a fast stand-in. Everything signed is a fixed, versioned, length-safe encoding.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Protocol

from p2pchat.core.entries import EntryKind
from p2pchat.core.messages import Chat, Direct, FileOffer, Hello, Receipt, encode_message

_LENGTH = struct.Struct(">I")


class Crypto(Protocol):
    """A node's keys and the primitives the protocol uses (one well-kept library behind it)."""

    @property
    def node_id(self) -> str:
        """This node's ID (derived from public_key)."""

    @property
    def public_key(self) -> bytes:
        """Ed25519 public key (32 bytes)."""

    @property
    def dh_public(self) -> bytes:
        """X25519 public key for direct messages (32 bytes)."""

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature of data (64 bytes)."""

    def verify(self, public_key: bytes, signature: bytes, data: bytes) -> bool:
        """True if signature is public_key's signature of data."""

    def seal(self, their_dh_public: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
        """Encrypt to one recipient: (ephemeral public key, ciphertext)."""

    def unseal(self, ephemeral_public: bytes, ciphertext: bytes) -> bytes | None:
        """Decrypt what was sealed to us; None if it was not (or was altered)."""


def node_id_of(public_key: bytes) -> str:
    """A node's ID: the first 16 bytes of SHA-256 of its public key, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:32]


def signed_by(crypto: Crypto, author: str, key: bytes, signature: bytes, data: bytes) -> bool:
    """True if key is author's (its ID is the key's hash) and signature is key's over data."""
    return node_id_of(key) == author and crypto.verify(key, signature, data)


def fingerprint(node_id: str) -> str:
    """The full fingerprint to read out loud: the node ID in groups of four."""
    return " ".join(node_id[i : i + 4] for i in range(0, len(node_id), 4))


def chat_signing_bytes(room: str, chat: Chat) -> bytes:
    """What the author of a room message signs: every field, bound to the room."""
    fields: list[object] = [
        room,
        chat.author,
        chat.seq,
        chat.lamport,
        chat.ts,
        chat.nick,
        chat.text,
    ]
    if chat.kind != EntryKind.TEXT or chat.ref:  # a plain message signs as it always did
        fields += [chat.kind.value, chat.ref]
    return b"p2pchat chat v1\0" + chat.key + _canonical(fields)


def direct_signing_bytes(direct: Direct) -> bytes:
    """What the author of a direct message signs (the sealed box, not the plaintext)."""
    fields = [direct.author, direct.to, direct.nonce, direct.ts]
    return b"p2pchat dm v1\0" + direct.key + direct.ephemeral + direct.box + _canonical(fields)


def receipt_signing_bytes(receipt: Receipt) -> bytes:
    """What the recipient of a direct message signs to say it arrived."""
    fields = [receipt.author, receipt.to, receipt.nonce, receipt.ts]
    return b"p2pchat receipt v1\0" + receipt.key + _canonical(fields)


def offer_signing_bytes(room: str, offer: FileOffer) -> bytes:
    """What the offerer of a file signs: everything about the offer, bound to the room."""
    fields = [room, offer.offer_id, offer.author, offer.to, offer.name, offer.size, offer.blake3]
    return b"p2pchat offer v1\0" + offer.key + _canonical([*fields, offer.ts])


def auth_signing_bytes(my_hello: Hello, their_hello: Hello, nick: str) -> bytes:
    """What each side signs in the handshake: the transcript of this one link, and its nick.

    Both HELLOs are covered, with both IDs, both fresh nonces, both keys and both ephemeral
    link keys, so a signature made for one link is useless on any other (a relay cannot pass
    it on), and nobody between the two can swap a field or the nick.
    """
    mine, theirs = encode_message(my_hello), encode_message(their_hello)
    return (
        b"p2pchat auth v3\0"
        + _LENGTH.pack(len(mine))
        + mine
        + _LENGTH.pack(len(theirs))
        + theirs
        + nick.encode()
    )


def _canonical(fields: list[object]) -> bytes:
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
