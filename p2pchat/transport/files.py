"""Moving file bytes: a pump thread streams chunks to a peer; a sink writes them to a .part file.

Chunks are binary frames on the two nodes' direct link: 0x01, an 8-byte transfer tag (the
offer ID), then the data. They bypass the node thread at both ends: the pump queues them on
the link (pausing while its queue is full, so chat frames keep their turn), and the receiving
link's reader thread hands them straight to the sink. The sink hashes as it writes. Only a
file whose size and SHA-256 match the offer gets its final name in the downloads folder;
anything else is never presented as complete.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from p2pchat.core import events as ev
from p2pchat.core.actions import ServeFile
from p2pchat.core.errors import ProtocolError
from p2pchat.core.files import numbered, safe_file_name
from p2pchat.core.limits import FILE_CHUNK_HEADER_BYTES
from p2pchat.core.messages import FileOffer

log = logging.getLogger(__name__)

CHUNK_MARK = b"\x01"
TAG_BYTES = FILE_CHUNK_HEADER_BYTES - len(CHUNK_MARK)
PROGRESS_INTERVAL = 0.25
HASH_BLOCK = 1024 * 1024
MAX_NAME_ATTEMPTS = 1000

Post = Callable[[object], None]


def chunk_tag(offer_id: str) -> bytes:
    """The 8-byte tag of an offer's chunks (its 16 hex character ID)."""
    return bytes.fromhex(offer_id)


class ChunkSender:
    """What a pump needs from a link: queue a payload, waiting while the link is busy."""

    def send_chunk(self, payload: bytes, stop: threading.Event) -> bool:
        """Queue payload once there is room; False if the link or the transfer stopped."""
        raise NotImplementedError


class FileSink:
    """Receives one offer into `.<name>.<offer>.part` in the downloads folder."""

    def __init__(self, offer: FileOffer, downloads: Path, post: Post, peer: str) -> None:
        self.offer = offer
        self.downloads = downloads
        self.part = downloads / f".{safe_file_name(offer.name)}.{offer.offer_id}.part"
        self._post = post
        self._peer = peer
        self._file: object | None = None
        self._hash = hashlib.sha256()
        self.done = 0
        self.failed: str | None = None
        self._last_progress = 0.0
        self._lock = threading.Lock()

    def open(self) -> int:
        """Open the partial file (what is there already counts); return where to resume."""
        self.downloads.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if self.part.stat().st_size > self.offer.size:
                self.part.unlink()
        with self.part.open("ab") as _:
            pass
        with self.part.open("rb") as existing:
            while block := existing.read(HASH_BLOCK):
                self._hash.update(block)
                self.done += len(block)
        self._file = self.part.open("ab")
        return self.done

    def write(self, data: memoryview) -> None:
        """Append one chunk (called on the link's reader thread)."""
        with self._lock:
            handle = self._file
            if handle is None or self.failed is not None:
                return
            if self.done + len(data) > self.offer.size:
                raise ProtocolError("a peer sent more bytes than it offered")
            try:
                handle.write(data)  # type: ignore[attr-defined]
            except OSError as exc:
                self.failed = _write_problem(exc)
                self._close()
                self._post(ev.ReceiveFinished(self.offer.offer_id, False, self.failed))
                return
            self._hash.update(data)
            self.done += len(data)
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self._post(
                ev.TransferProgress(
                    self.offer.offer_id, self.done, self.offer.size, False, self._peer
                )
            )

    def finish(self) -> tuple[bool, str]:
        """Check size and hash; on success rename to a free final name: (ok, path or reason)."""
        with self._lock:
            if self.failed is not None:
                return False, self.failed
            self._close()
            if self.done != self.offer.size:
                return False, f"got {self.done} of {self.offer.size} bytes"
            if self._hash.hexdigest() != self.offer.sha256:
                with contextlib.suppress(OSError):
                    self.part.unlink()
                return False, "the file does not match its SHA-256 (corrupt or changed): discarded"
            return self._place()

    def abort(self, *, delete: bool) -> None:
        """Stop; keep the partial file for a resume, or delete it."""
        with self._lock:
            self._close()
            self.failed = self.failed or "stopped"
        if delete:
            with contextlib.suppress(OSError):
                self.part.unlink()

    def _place(self) -> tuple[bool, str]:
        name = safe_file_name(self.offer.name)
        root = self.downloads.resolve()
        for attempt in range(MAX_NAME_ATTEMPTS):
            target = root / numbered(name, attempt)
            if target.parent != root:
                return False, "unsafe file name"
            try:
                # A hard link never replaces an existing file, so nothing is overwritten.
                os.link(self.part, target)
            except FileExistsError:
                continue
            except OSError as exc:
                return False, f"cannot place the file: {exc.strerror}"
            self.part.unlink()
            return True, str(target)
        return False, "no free file name"

    def _close(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()  # type: ignore[attr-defined]


class FilePump(threading.Thread):
    """Streams one file to one peer from an offset, then reports how it went."""

    def __init__(
        self,
        link: ChunkSender,
        serve: ServeFile,
        *,
        post: Post,
        chunk_bytes: int,
    ) -> None:
        super().__init__(name=f"p2pchat-send-{serve.offer_id[:8]}")
        self._link = link
        self._conn_id = serve.conn
        self._peer = serve.peer
        self._offer_id = serve.offer_id
        self._path = serve.path
        self._offset = serve.offset
        self._size = serve.size
        self._mtime_ns = serve.mtime_ns
        self._post = post
        self._chunk = chunk_bytes
        self.stopped = threading.Event()

    def stop(self) -> None:
        """Stop at the next chunk."""
        self.stopped.set()

    def run(self) -> None:
        ok, reason = False, "link closed"
        try:
            ok, reason = self._stream()
        except OSError as exc:
            reason = f"cannot read the file: {exc.strerror}"
        if not self.stopped.is_set() or ok:
            self._post(ev.ServeFinished(self._offer_id, self._conn_id, self._peer, ok, reason))

    def _stream(self) -> tuple[bool, str]:
        tag = CHUNK_MARK + chunk_tag(self._offer_id)
        with open(self._path, "rb") as source:
            status = os.fstat(source.fileno())
            if status.st_size != self._size or (
                self._mtime_ns and status.st_mtime_ns != self._mtime_ns
            ):
                return False, "the file changed since it was offered"
            source.seek(self._offset)
            sent, last = self._offset, 0.0
            while sent < self._size:
                data = source.read(min(self._chunk, self._size - sent))
                if not data:
                    return False, "the file shrank while it was sent"
                if not self._link.send_chunk(tag + data, self.stopped):
                    return False, "link closed"
                sent += len(data)
                now = time.monotonic()
                if now - last >= PROGRESS_INTERVAL or sent == self._size:
                    last = now
                    self._post(
                        ev.TransferProgress(self._offer_id, sent, self._size, True, self._peer)
                    )
        return True, ""


def hash_file(path: str) -> tuple[str, int, str, int]:
    """(name, size, SHA-256 hex, mtime in ns) of a regular file; OSError or ValueError if not."""
    target = Path(path).expanduser()
    if not target.exists():
        raise ValueError("no such file")
    if not target.is_file():
        raise ValueError("not a regular file")
    digest = hashlib.sha256()
    size = 0
    with target.open("rb") as source:
        before = os.fstat(source.fileno())
        while block := source.read(HASH_BLOCK):
            digest.update(block)
            size += len(block)
        after = os.fstat(source.fileno())
    if size != after.st_size or before.st_mtime_ns != after.st_mtime_ns:
        raise ValueError("it changed while it was being read; try again")
    return target.name, size, digest.hexdigest(), after.st_mtime_ns


def _write_problem(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"disk full: {exc.strerror}; the partial file was kept"
    return f"cannot write the file: {exc.strerror}"
