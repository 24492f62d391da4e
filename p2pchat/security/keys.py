"""A node's key pairs: Ed25519 to sign (the node ID is derived from it), X25519 for DMs."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from p2pchat.core.crypto import node_id_of
from p2pchat.core.limits import PUBLIC_KEY_BYTES
from p2pchat.fsutil import write_atomically

KEY_FILE = "identity.key"
KEY_FILE_MODE = 0o600
SEED_BYTES = 32
VERIFY_CACHE_KEYS = 4096
SEAL_INFO = b"p2pchat sealed dm v1"
SEAL_NONCE = b"\0" * 12  # every sealed box has a fresh ephemeral key, so one nonce is safe


class KeyFileError(Exception):
    """The key file cannot be used; the message is one line for the user."""


class NodeKeys:
    """Implements the core's Crypto interface with one node's keys."""

    def __init__(self, signing: Ed25519PrivateKey, dh: X25519PrivateKey) -> None:
        self._signing = signing
        self._dh = dh
        raw = serialization.Encoding.Raw
        self._public = signing.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
        self._dh_public = dh.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
        self._node_id = node_id_of(self._public)
        self._verifiers: OrderedDict[bytes, Ed25519PublicKey] = OrderedDict()

    @classmethod
    def generate(cls) -> NodeKeys:
        """Fresh keys (for --ephemeral)."""
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, data_dir: Path) -> NodeKeys:
        """The keys kept in data_dir (file mode 0600), made on first use."""
        path = data_dir / KEY_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            keys = cls.generate()
            keys._save(path)
            return keys
        except OSError as exc:
            raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None
        if len(raw) != 2 * SEED_BYTES:
            raise KeyFileError(f"{path} is not a p2pchat key file; move it away for a new identity")
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, KEY_FILE_MODE)
        signing = Ed25519PrivateKey.from_private_bytes(raw[:SEED_BYTES])
        return cls(signing, X25519PrivateKey.from_private_bytes(raw[SEED_BYTES:]))

    @property
    def node_id(self) -> str:
        """This node's ID (derived from the signing key)."""
        return self._node_id

    @property
    def public_key(self) -> bytes:
        """Ed25519 public key."""
        return self._public

    @property
    def dh_public(self) -> bytes:
        """X25519 public key."""
        return self._dh_public

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature."""
        return self._signing.sign(data)

    def verify(self, public_key: bytes, signature: bytes, data: bytes) -> bool:
        """True if the signature is valid."""
        verifier = self._verifiers.get(public_key)
        if verifier is None:
            if len(public_key) != PUBLIC_KEY_BYTES:
                return False
            try:
                verifier = Ed25519PublicKey.from_public_bytes(public_key)
            except ValueError:
                return False
            self._verifiers[public_key] = verifier
            if len(self._verifiers) > VERIFY_CACHE_KEYS:
                self._verifiers.popitem(last=False)
        try:
            verifier.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def seal(self, their_dh_public: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
        """Encrypt to the holder of their_dh_public (ephemeral X25519 + HKDF + ChaCha20Poly1305)."""
        ephemeral = X25519PrivateKey.generate()
        eph_public = ephemeral.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(their_dh_public))
        key = _box_key(shared, eph_public, their_dh_public)
        return eph_public, ChaCha20Poly1305(key).encrypt(SEAL_NONCE, plaintext, None)

    def unseal(self, ephemeral_public: bytes, ciphertext: bytes) -> bytes | None:
        """Decrypt a box sealed to us; None if it is not ours or was altered."""
        try:
            shared = self._dh.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
            key = _box_key(shared, ephemeral_public, self._dh_public)
            return ChaCha20Poly1305(key).decrypt(SEAL_NONCE, ciphertext, None)
        except (ValueError, InvalidTag):
            return None

    def _save(self, path: Path) -> None:
        """Write both private keys to path (mode 0600) atomically; raise OSError on failure."""
        raw = serialization.Encoding.Raw
        fmt = serialization.PrivateFormat.Raw
        none = serialization.NoEncryption()
        blob = self._signing.private_bytes(raw, fmt, none) + self._dh.private_bytes(raw, fmt, none)
        write_atomically(path, blob, KEY_FILE_MODE)


def _box_key(shared: bytes, eph_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=eph_public + recipient_public, info=SEAL_INFO
    ).derive(shared)
