"""Deterministic test identities and helpers to drive a Mesh through real handshakes."""

from __future__ import annotations

import hashlib
import random

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core.crypto import auth_signing_bytes, chat_signing_bytes
from p2pchat.core.limits import PROTOCOL_VERSION, Limits
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import Auth, Chat, Hello, with_fields
from p2pchat.security.keys import NodeKeys

LIMITS = Limits()
PEER_NONCE = b"p" * 16
PEER_EPHEMERAL = b"e" * 32


def test_keys(index: int) -> NodeKeys:
    """The same keys in every run."""
    seed = hashlib.sha256(b"p2pchat test key %d" % index).digest()
    dh = hashlib.sha256(b"p2pchat test dh %d" % index).digest()
    return NodeKeys(
        Ed25519PrivateKey.from_private_bytes(seed), X25519PrivateKey.from_private_bytes(dh)
    )


KEYS = sorted((test_keys(i) for i in range(8)), key=lambda k: k.node_id)
LOW_KEYS, P1_KEYS, P2_KEYS, P3_KEYS, ME_KEYS, OTHER_KEYS, P6_KEYS, HIGH_KEYS = KEYS
ME, LOW, HIGH, OTHER = ME_KEYS.node_id, LOW_KEYS.node_id, HIGH_KEYS.node_id, OTHER_KEYS.node_id
P1, P2, P3 = P1_KEYS.node_id, P2_KEYS.node_id, P3_KEYS.node_id


def our_nonce(conn: int) -> bytes:
    return bytes([conn % 256]) * 16


def our_ephemeral(conn: int) -> bytes:
    return bytes([conn % 256]) * 32


def make_mesh(keys: NodeKeys = ME_KEYS, nick: str = "me", **kwargs: object) -> Mesh:
    return Mesh(keys, nick, "lobby", 4000, limits=LIMITS, rng=random.Random(1), **kwargs)  # type: ignore[arg-type]


def hello(
    keys: NodeKeys, nick: str = "peer", room: str = "lobby", port: int = 5000, tag: str = ""
) -> Hello:
    return Hello(
        PROTOCOL_VERSION,
        keys.node_id,
        nick,
        room,
        port,
        keys.public_key,
        keys.dh_public,
        PEER_NONCE,
        tag,
        PEER_EPHEMERAL,
    )


def auth(keys: NodeKeys, m: Mesh, conn: int, nick: str = "peer") -> Auth:
    """The AUTH for the HELLOs the mesh exchanged on conn, signed by keys (the peer's)."""
    shake = m.links.by_conn[conn].handshake
    assert shake.peer is not None
    return Auth(keys.sign(auth_signing_bytes(shake.peer, shake.own, nick)), nick)


def open_link(m: Mesh, conn: int, *, outbound: bool = False) -> list[act.Action]:
    host = f"10.0.0.{conn}"
    port = 5000 if outbound else 40000 + conn
    made = ev.ConnectionMade(conn, outbound, host, port, our_nonce(conn), our_ephemeral(conn))
    return m.handle(made, 0.0, 0.0)


def link(
    m: Mesh,
    conn: int,
    keys: NodeKeys,
    *,
    outbound: bool = False,
    nick: str = "peer",
    port: int = 5000,
    wall: float = 0.0,
) -> list[act.Action]:
    """Connect, exchange HELLO and AUTH; return the actions of the last step."""
    open_link(m, conn, outbound=outbound)
    m.handle(ev.FramesReceived(conn, (hello(keys, nick, port=port),)), 0.0, wall)
    return m.handle(ev.FramesReceived(conn, (auth(keys, m, conn, nick),)), 0.0, wall)


def signed_chat(
    keys: NodeKeys, seq: int, lamport: int, text: str, *, nick: str = "peer", ts: float = 1.0
) -> Chat:
    chat = Chat(keys.node_id, seq, lamport, ts, nick, text, keys.public_key)
    return with_fields(chat, signature=keys.sign(chat_signing_bytes("lobby", chat)))


def without_logs(actions: list[act.Action]) -> list[act.Action]:
    return [a for a in actions if not isinstance(a, act.Log)]
