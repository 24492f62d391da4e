"""Two ends of one link's cipher, started as a handshake would start them (for tests)."""

from __future__ import annotations

from p2pchat.security.link import LinkCipher

A_ID, B_ID = "a" * 32, "b" * 32
A_NONCE, B_NONCE = b"A" * 16, b"B" * 16


def linked_ciphers(room_key: bytes | None = None) -> tuple[LinkCipher, LinkCipher]:
    """Node a's and node b's cipher of one link, both started."""
    a = LinkCipher(A_ID, A_NONCE, room_key)
    b = LinkCipher(B_ID, B_NONCE, room_key)
    a.start(B_ID, B_NONCE, b.ephemeral_public)
    b.start(A_ID, A_NONCE, a.ephemeral_public)
    return a, b
