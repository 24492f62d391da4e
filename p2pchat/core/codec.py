"""Frame codec: a 4-byte big-endian length prefix followed by that many payload bytes."""

from __future__ import annotations

import struct

from p2pchat.core.errors import FrameTooLargeError, LocalProtocolError, ProtocolError
from p2pchat.core.limits import FRAME_HEADER_BYTES

_HEADER = struct.Struct(">I")


def encode_frame(payload: bytes, max_frame_bytes: int) -> bytes:
    """Return payload with its length prefix; refuse payloads over the limit or empty ones."""
    return frame_prefix(len(payload), max_frame_bytes) + payload


def frame_prefix(length: int, max_frame_bytes: int) -> bytes:
    """The length prefix of a payload of length bytes that is sent in parts."""
    if length <= 0:
        raise LocalProtocolError("empty frame")
    if length > max_frame_bytes:
        raise LocalProtocolError(f"frame of {length} bytes exceeds {max_frame_bytes}")
    return _HEADER.pack(length)


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
                with memoryview(buffer) as view:  # one copy per payload, not two
                    frames.append(bytes(view[pos : pos + self._need]))
                pos += self._need
                self._need = None
        finally:
            # One compaction per feed keeps many small frames linear, not quadratic.
            del buffer[:pos]

    def take_partial(self, min_missing: int) -> tuple[bytearray, int] | None:
        """Hand over the frame in progress if at least min_missing of its bytes are yet to come.

        Returns a buffer of the payload's full size holding the bytes received so far at the
        front, and their count; the caller fills the rest (straight from the socket, sparing
        copies of large frames) and owns the payload. The decoder then expects a new frame.
        """
        need = self._need
        have = len(self._buffer)
        if need is None or need - have < min_missing:
            return None
        payload = bytearray(need)
        payload[:have] = self._buffer
        self._buffer.clear()
        self._need = None
        return payload, have

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buffer)
