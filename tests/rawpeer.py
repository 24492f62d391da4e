"""A hand-driven peer on a raw socket: real keys, handshake and link cipher, then any frames.

The base of the hostile-peer toolkit (tests/hostile.py): it speaks the protocol correctly as far
as the caller wants and lets the caller send anything after that.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from typing import Any

from blake3 import blake3

from p2pchat.core.crypto import (
    auth_signing_bytes,
    chat_signing_bytes,
    direct_signing_bytes,
    offer_signing_bytes,
)
from p2pchat.core.limits import PROTOCOL_VERSION, Limits
from p2pchat.core.messages import (
    Auth,
    Chat,
    Direct,
    FileOffer,
    Hello,
    Message,
    decode_message,
    direct_content,
    encode_message,
    with_fields,
)
from p2pchat.security.keys import NodeKeys
from p2pchat.security.link import LinkCipher
from p2pchat.security.room import room_tag

TIMEOUT = 10.0
LIMITS = Limits()


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def json_frame(obj: dict[str, Any]) -> bytes:
    return frame(json.dumps(obj).encode())


class RawPeer:
    """Speaks the protocol by hand over one socket; frames are sealed once the cipher started."""

    def __init__(
        self,
        port: int,
        nick: str = "raw",
        *,
        keys: NodeKeys | None = None,
        rcvbuf: int | None = None,
        version: int = PROTOCOL_VERSION,
        room: str = "lobby",
        room_key: bytes | None = None,
        listen_port: int = 0,
        host: str = "127.0.0.1",
        source: str | None = None,
        nonce: bytes | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        """Dial host:port (from source, if given), or speak over sock, a connected socket.

        nonce: the HELLO nonce to send (default: fresh random bytes), e.g. someone else's.
        """
        self.keys = keys or NodeKeys.generate()
        self.nick = nick
        self.room = room
        self.room_key = room_key
        self.listen_port = listen_port
        self.nonce = os.urandom(16) if nonce is None else nonce
        self.version = version
        self.cipher = LinkCipher(self.keys.node_id, self.nonce, room_key)
        self.their_hello: Hello | None = None
        if sock is not None:
            self.sock = sock
            self.sock.settimeout(TIMEOUT)
            return
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source is not None:
            self.sock.bind((source, 0))
        self.sock.settimeout(TIMEOUT)
        self.sock.connect((host, port))

    @classmethod
    def over(cls, sock: socket.socket, nick: str = "raw", **kwargs: Any) -> RawPeer:
        """A raw peer on a socket we accepted (a node dialled us); kwargs as for RawPeer."""
        return cls(0, nick, sock=sock, **kwargs)

    @property
    def node_id(self) -> str:
        return self.keys.node_id

    def hello(self) -> Hello:
        private = self.room_key is not None
        return Hello(
            self.version,
            self.node_id,
            "-" if private else self.nick,
            "-" if private else self.room,
            self.listen_port,
            self.keys.public_key,
            self.keys.dh_public,
            self.nonce,
            room_tag(self.room_key) if self.room_key is not None else "",
            self.cipher.ephemeral_public,
        )

    def handshake(self) -> None:
        """Send HELLO, read theirs, start the cipher, send AUTH, read theirs."""
        self.send(self.hello())
        their = self.recv()
        assert isinstance(their, Hello), their
        self.their_hello = their
        self.cipher.start(their.node_id, their.nonce, their.ek)
        self.send(self.auth(their))
        reply = self.recv()
        assert isinstance(reply, Auth), reply

    def auth(self, their: Hello, nick: str | None = None) -> Auth:
        """Our AUTH for a link on which we sent hello() and they sent their."""
        nick = nick or self.nick
        return Auth(self.keys.sign(auth_signing_bytes(self.hello(), their, nick)), nick)

    def send(self, message: Message) -> None:
        self.send_payload(encode_message(message))

    def send_many(self, messages: list[Message]) -> None:
        """Many frames in one write (sealed in order once the cipher started): floods."""
        self.send_raw(b"".join(self.sealed_frame(encode_message(m)) for m in messages))

    def sealed_frame(self, payload: bytes) -> bytes:
        """One whole frame with this payload, sealed once the cipher started (uses a nonce)."""
        return frame(self.cipher.seal(payload) if self.cipher.started else payload)

    def send_payload(self, payload: bytes) -> None:
        """One frame with this payload (sealed once the cipher started): garbage, chunks."""
        if self.cipher.started:
            payload = self.cipher.seal(payload)
        self.sock.sendall(frame(payload))

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are, no framing or sealing."""
        self.sock.sendall(data)

    def recv_frame(self) -> bytes:
        header = self._exactly(4)
        (length,) = struct.unpack(">I", header)
        payload = self._exactly(length)
        return self.cipher.open(payload) if self.cipher.started else payload

    def recv(self) -> Message:
        return decode_message(self.recv_frame(), LIMITS)

    def chat(
        self,
        seq: int,
        text: str,
        lamport: int | None = None,
        nick: str | None = None,
        *,
        ts: float = 1.0,
    ) -> Chat:
        """A room message signed by this peer.

        ts is 1.0 (1970) by default: such a message is past any retention, so a node shows it
        and then drops it from its history at its next tick. Pass time.time() for one that stays.
        """
        chat = Chat(
            self.node_id,
            seq,
            lamport or seq,
            ts,
            nick or self.nick,
            text,
            self.keys.public_key,
        )
        return with_fields(chat, signature=self.keys.sign(chat_signing_bytes(self.room, chat)))

    def direct(
        self,
        text: str,
        *,
        to: Hello | None = None,
        nick: str | None = None,
        ts: float | None = None,
        nonce: str | None = None,
    ) -> Direct:
        """A direct message signed by this peer, sealed to to's DH key (default: this link's)."""
        their = to or self.their_hello
        assert their is not None, "no HELLO to seal to: handshake first"
        ephemeral, box = self.keys.seal(their.dh, direct_content(nick or self.nick, text))
        unsigned = Direct(
            self.node_id,
            their.node_id,
            nonce or os.urandom(8).hex(),
            time.time() if ts is None else ts,
            self.keys.public_key,
            ephemeral,
            box,
            b"",
        )
        return with_fields(unsigned, signature=self.keys.sign(direct_signing_bytes(unsigned)))

    def offer(self, offer_id: str, name: str, data: bytes, to: str = "") -> FileOffer:
        """A file offer signed by this peer."""
        digest = blake3(data).hexdigest()
        key = self.keys.public_key
        offer = FileOffer(offer_id, self.node_id, to, name, len(data), digest, 1.0, key, b"")
        return with_fields(offer, signature=self.keys.sign(offer_signing_bytes(self.room, offer)))

    def recv_until(self, kind: type[Message]) -> Message:
        """Read frames until one of kind arrives (binary chunk frames are skipped)."""
        while True:
            payload = self.recv_frame()
            if payload[:1] == b"{":
                message = decode_message(payload, LIMITS)
                if isinstance(message, kind):
                    return message

    def drain_until_closed(self) -> bytes:
        data = b""
        try:
            while chunk := self.sock.recv(65536):
                data += chunk
        except OSError:
            pass
        return data

    def close(self) -> None:
        self.sock.close()

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            assert chunk, "connection closed"
            data += chunk
        return data
