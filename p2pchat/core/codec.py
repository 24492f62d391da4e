"""Frame codec: a 4-byte big-endian length prefix followed by that many payload bytes."""

from __future__ import annotations

import struct

from p2pchat.core.errors import FrameTooLargeError, LocalProtocolError, ProtocolError
from p2pchat.core.limits import FRAME_HEADER_BYTES

_HEADER = struct.Struct(">I")


def encode_frame(payload: bytes, max_frame_bytes: int) -> bytes:
    """Return payload with its length prefix; refuse payloads over the limit or empty ones."""
    if not payload:
        raise LocalProtocolError("empty frame")
    if len(payload) > max_frame_bytes:
        raise LocalProtocolError(f"frame of {len(payload)} bytes exceeds {max_frame_bytes}")
    return _HEADER.pack(len(payload)) + payload


class FrameDecoder:
    """Turns a byte stream, fed in arbitrary chunks, into whole frame payloads."""

    def __init__(self, max_frame_bytes: int) -> None:
        self._max = max_frame_bytes
        self._buffer = bytearray()
        self._need: int | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every payload now complete (raises ProtocolError)."""
        self._buffer += data
        buffer = self._buffer
        frames: list[bytes] = []
        pos = 0
        try:
            while True:
                if self._need is None:
                    if len(buffer) - pos < FRAME_HEADER_BYTES:
                        return frames
                    (length,) = _HEADER.unpack_from(buffer, pos)
                    if length > self._max:
                        raise FrameTooLargeError(f"frame of {length} bytes exceeds {self._max}")
                    if length == 0:
                        raise ProtocolError("empty frame")
                    pos += FRAME_HEADER_BYTES
                    self._need = length
                if len(buffer) - pos < self._need:
                    return frames
                frames.append(bytes(buffer[pos : pos + self._need]))
                pos += self._need
                self._need = None
        finally:
            # One compaction per feed keeps many small frames linear, not quadratic.
            del buffer[:pos]

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buffer)
