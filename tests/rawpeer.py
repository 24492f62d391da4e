"""A hand-driven peer on a raw socket: real keys and handshake, then any frames we like."""

from __future__ import annotations

import json
import os
import socket
import struct
from dataclasses import replace
from typing import Any

from blake3 import blake3

from p2pchat.core.crypto import auth_signing_bytes, chat_signing_bytes, offer_signing_bytes
from p2pchat.core.limits import PROTOCOL_VERSION, Limits
from p2pchat.core.messages import (
    Auth,
    Chat,
    FileOffer,
    Hello,
    Message,
    decode_message,
    encode_message,
)
from p2pchat.security.keys import NodeKeys

TIMEOUT = 10.0


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def json_frame(obj: dict[str, Any]) -> bytes:
    return frame(json.dumps(obj).encode())


class RawPeer:
    """Speaks the protocol by hand over one socket (open rooms only)."""

    def __init__(
        self,
        port: int,
        nick: str = "raw",
        *,
        keys: NodeKeys | None = None,
        rcvbuf: int | None = None,
        version: int = PROTOCOL_VERSION,
    ) -> None:
        self.keys = keys or NodeKeys.generate()
        self.nick = nick
        self.nonce = os.urandom(16)
        self.version = version
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(("127.0.0.1", port))
        self.their_hello: Hello | None = None

    @property
    def node_id(self) -> str:
        return self.keys.node_id

    def hello(self) -> Hello:
        return Hello(
            self.version,
            self.node_id,
            self.nick,
            "lobby",
            0,
            self.keys.public_key,
            self.keys.dh_public,
            self.nonce,
            "",
        )

    def handshake(self) -> None:
        """Send HELLO, read theirs, send AUTH, read theirs."""
        self.send(self.hello())
        their = self.recv()
        assert isinstance(their, Hello), their
        self.their_hello = their
        signed = auth_signing_bytes(their.nonce, self.hello(), self.nick)
        self.send(Auth(self.keys.sign(signed), self.nick))
        reply = self.recv()
        assert isinstance(reply, Auth), reply

    def send(self, message: Message) -> None:
        self.sock.sendall(frame(encode_message(message)))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv_frame(self) -> bytes:
        header = self._exactly(4)
        (length,) = struct.unpack(">I", header)
        return self._exactly(length)

    def recv(self) -> Message:
        return decode_message(self.recv_frame(), Limits())

    def chat(self, seq: int, text: str, lamport: int | None = None) -> Chat:
        """A room message signed by this peer."""
        chat = Chat(self.node_id, seq, lamport or seq, 1.0, self.nick, text, self.keys.public_key)
        return replace(chat, signature=self.keys.sign(chat_signing_bytes("lobby", chat)))

    def offer(self, offer_id: str, name: str, data: bytes, to: str = "") -> FileOffer:
        """A file offer signed by this peer."""
        digest = blake3(data).hexdigest()
        key = self.keys.public_key
        offer = FileOffer(offer_id, self.node_id, to, name, len(data), digest, 1.0, key, b"")
        return replace(offer, signature=self.keys.sign(offer_signing_bytes("lobby", offer)))

    def recv_until(self, kind: type[Message]) -> Message:
        """Read frames until one of kind arrives (binary chunk frames are skipped)."""
        while True:
            payload = self.recv_frame()
            if payload[:1] == b"{":
                message = decode_message(payload, Limits())
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
