"""Shared by the baselines: length-prefixed frames and the JSON-lines contract of `--ui json`."""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading

HEADER = struct.Struct(">I")
_print_lock = threading.Lock()


def emit(event: dict[str, object]) -> None:
    """One JSON object per line on stdout, like `p2pchat --ui json`."""
    line = json.dumps(event)
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def frame(payload: bytes) -> bytes:
    """Length prefix plus payload."""
    return HEADER.pack(len(payload)) + payload


def read_frames(sock: socket.socket, on_payload: object) -> None:
    """Call on_payload(bytes) for each frame until the socket closes."""
    buffer = b""
    while True:
        try:
            data = sock.recv(262144)
        except OSError:
            return
        if not data:
            return
        buffer += data
        while len(buffer) >= 4:
            (length,) = HEADER.unpack_from(buffer)
            if len(buffer) < 4 + length:
                break
            on_payload(buffer[4 : 4 + length])  # type: ignore[operator]
            buffer = buffer[4 + length :]


def message_event(payload: bytes) -> dict[str, object]:
    """The `message` event for a received payload (text as sent)."""
    return {"event": "message", "text": payload.decode(), "own": False}
