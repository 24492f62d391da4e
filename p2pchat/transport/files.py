"""Moving file bytes: a pump thread streams chunks to a peer; a sink writes them to a .part file.

Chunks are binary frames on the two nodes' direct link: 0x01, an 8-byte transfer tag (the
offer ID), then the data. They bypass the node thread at both ends: the pump queues them on
the link (pausing while its queue is full, so chat frames keep their turn), and the receiving
link's reader thread hands them straight to the sink. The sink hashes as it writes. Only a
file whose size and BLAKE3 hash match the offer gets its final name in the downloads folder;
anything else is never presented as complete.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from blake3 import blake3

from p2pchat.core import events as ev
from p2pchat.core.actions import ServeFile
from p2pchat.core.errors import ProtocolError
from p2pchat.core.files import numbered, safe_file_name
from p2pchat.core.linkprotocol import chunk_header
from p2pchat.core.messages import FileOffer

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25
HASH_BLOCK = 1024 * 1024
# Without preadv (Windows), a span seeks and reads: the spans of one serve share a file offset.
_SEEK_LOCK = threading.Lock()
MAX_NAME_ATTEMPTS = 1000
WRITE_QUEUE_CHUNKS = 16  # chunks received but not yet written, at most

FileReport = ev.TransferProgress | ev.ReceiveFinished | ev.ServeFinished
"""What pumps and sinks tell the node."""
Post = Callable[[FileReport], None]


def part_name(name: str, offer_id: str) -> str:
    """The hidden partial file of an offer in the downloads folder ("*" as name: a pattern)."""
    return f".{name}.{offer_id}.part"


class FileSpan:
    """Bytes count of a file from offset, through a descriptor of its own (closed once sent).

    A file that shrank since it was offered reads as zeros past its end: the frame keeps its
    promised length and the receiver's hash check rejects the result.
    """

    def __init__(self, fd: int, offset: int, count: int) -> None:
        self.offset = offset
        self.count = count
        self._fd = os.dup(fd)

    def read(self, prefix: bytes = b"") -> bytearray:
        """prefix, then the span's bytes (zero-filled past the end of the file), in one buffer."""
        buffer = bytearray(len(prefix) + self.count)
        buffer[: len(prefix)] = prefix
        view, offset = memoryview(buffer)[len(prefix) :], self.offset
        if not hasattr(os, "preadv"):
            with _SEEK_LOCK, io.FileIO(self._fd, "rb", closefd=False) as source:
                source.seek(offset)
                while view and (count := source.readinto(view)):
                    view = view[count:]
            return buffer
        while view and (count := os.preadv(self._fd, [view], offset)):
            view = view[count:]
            offset += count
        return buffer

    def send_to(self, sock: socket.socket) -> None:
        """Write the span to a blocking socket, kernel to kernel (os.sendfile) where it can,
        else read into memory first."""
        if not hasattr(os, "sendfile"):
            sock.sendall(self.read())
            return
        offset, left = self.offset, self.count
        while left and (sent := os.sendfile(sock.fileno(), self._fd, offset, left)):
            offset += sent
            left -= sent
        if left:
            sock.sendall(bytes(left))

    def close(self) -> None:
        """Let go of the descriptor (again is harmless)."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


class ChunkSender:
    """What a pump needs from a link: queue a file chunk, waiting while the link is busy."""

    def send_chunk(self, header: bytes, span: FileSpan, stop: threading.Event) -> bool:
        """Queue header + span's bytes as one frame once there is room, owning span from now.

        False if the link or the transfer stopped.
        """
        raise NotImplementedError


class FileSink:
    """Receives one offer into `.<name>.<offer>.part` in the downloads folder."""

    def __init__(
        self,
        offer: FileOffer,
        downloads: Path,
        post: Post,
        peer: str,
        *,
        append: Callable[[Path], BinaryIO] | None = None,
    ) -> None:
        self.offer = offer
        self.downloads = downloads
        self.part = downloads / part_name(safe_file_name(offer.name), offer.offer_id)
        self._post = post
        self._peer = peer
        self._append = append or _append_to  # the part file, opened to append (tests: a fake)
        self._file: BinaryIO | None = None
        self._writer: _DiskWriter | None = None
        self._hash = blake3()
        self.done = 0
        self.failed: str | None = None
        self._deleted = False
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
        with self._lock:
            if self._deleted:  # aborted meanwhile, with its partial file deleted
                with contextlib.suppress(OSError):
                    self.part.unlink()
            if self.failed is None:  # not aborted meanwhile
                self._file = self._append(self.part)
                self._writer = _DiskWriter(
                    self._file, self._hash, self._fail_writing, self.offer.offer_id
                )
                self._writer.start()
        return self.done

    def write(self, data: memoryview) -> None:
        """Queue one chunk to be written and hashed (called on the link's reader thread)."""
        with self._lock:
            writer = self._writer
            if writer is None or self.failed is not None:
                return
            if self.done + len(data) > self.offer.size:
                raise ProtocolError("a peer sent more bytes than it offered")
            self.done += len(data)
            writer.put(data)
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self._post(
                ev.TransferProgress(
                    self.offer.offer_id, self.done, self.offer.size, False, self._peer
                )
            )

    def finish(self) -> tuple[bool, str]:
        """Write out, check size and hash; on success give the file its final name.

        Returns (ok, path or reason). Waits for the disk: call it off the node thread.
        """
        with self._lock:
            self._close()
            if self.failed is not None:
                return False, self.failed
            if self.done != self.offer.size:
                return False, f"got {self.done} of {self.offer.size} bytes"
            if self._hash.hexdigest() != self.offer.blake3:
                with contextlib.suppress(OSError):
                    self.part.unlink()
                return (
                    False,
                    "BLAKE3 hash mismatch (corrupt or changed): discarded",
                )
            return self._place()

    def abort(self, *, delete: bool) -> None:
        """Stop, dropping chunks not yet written; keep the partial file for a resume, or delete it.

        Waits for at most the one write under way.
        """
        writer = self._writer
        if writer is not None:
            writer.discard()  # first, so that a reader waiting for room in its queue goes on
        with self._lock:
            self.failed = self.failed or "stopped"
            self._deleted = delete
            self._close(discard=True)
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

    def _fail_writing(self, problem: str) -> None:
        # On the disk writer's thread, which must not wait for self._lock: the reader may hold
        # it while it waits for room in the writer's queue.
        if self.failed is None:  # an aborted sink tells nobody: a newer one may run the offer
            self.failed = problem
            self._post(ev.ReceiveFinished(self.offer.offer_id, False, problem))

    def _close(self, *, discard: bool = False) -> None:
        """Write out what is queued (or drop it), then close the file (under self._lock)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.drain(discard=discard)
        handle, self._file = self._file, None
        if handle is not None:
            try:
                handle.close()
            except OSError as exc:
                self.failed = self.failed or _write_problem(exc)


class _DiskWriter(threading.Thread):
    """Hashes and appends a transfer's chunks beside the link's reader, which goes on reading.

    Both the hash and the copy into the page cache let go of the GIL, so receiving and
    writing overlap. After a failed write the rest is dropped: the partial file keeps what was
    written before.
    """

    def __init__(
        self,
        handle: BinaryIO,
        digest: blake3,
        on_error: Callable[[str], None],
        offer_id: str,
    ) -> None:
        super().__init__(name=f"p2pchat-write-{offer_id[:8]}")
        self._handle = handle
        self._digest = digest
        self._on_error = on_error
        self._queue: queue.Queue[memoryview | None] = queue.Queue(WRITE_QUEUE_CHUNKS)
        self._discard = False

    def put(self, data: memoryview) -> None:
        """Queue a chunk, waiting while WRITE_QUEUE_CHUNKS are queued already."""
        self._queue.put(data)

    def discard(self) -> None:
        """Write nothing more: drop what is queued and what comes."""
        self._discard = True

    def drain(self, *, discard: bool = False) -> None:
        """Write everything queued (or, with discard, nothing more), then end the thread."""
        self._discard = self._discard or discard
        self._queue.put(None)
        self.join()

    def run(self) -> None:
        # Whatever happens, this takes chunks until told to stop: a reader waiting for room in
        # the queue must never wait forever.
        failed = False
        while (data := self._queue.get()) is not None:
            if failed or self._discard:
                continue
            try:
                self._handle.write(data)
                self._handle.flush()  # a short last chunk must fail here, not unnoticed
                self._digest.update(data)
            except OSError as exc:
                failed = True
                self._on_error(_write_problem(exc))
            except Exception as exc:
                failed = True
                log.exception("writing a received file failed")
                self._on_error(f"cannot write the file: {type(exc).__name__}")


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
        tag = chunk_header(self._offer_id)
        with open(self._path, "rb") as source:
            if self._changed(source):
                return False, "the file changed since it was offered"
            sent, last = self._offset, 0.0
            while sent < self._size:
                span = FileSpan(source.fileno(), sent, min(self._chunk, self._size - sent))
                if not self._link.send_chunk(tag, span, self.stopped):
                    return False, "link closed"
                sent += span.count
                now = time.monotonic()
                if now - last >= PROGRESS_INTERVAL or sent == self._size:
                    last = now
                    self._post(
                        ev.TransferProgress(self._offer_id, sent, self._size, True, self._peer)
                    )
            if self._changed(source):
                return False, "the file changed while it was sent"
        return True, ""

    def _changed(self, source: io.BufferedReader) -> bool:
        status = os.fstat(source.fileno())
        return status.st_size != self._size or bool(
            self._mtime_ns and status.st_mtime_ns != self._mtime_ns
        )


def _append_to(path: Path) -> BinaryIO:
    return path.open("ab")


def _write_problem(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"disk full: {exc.strerror}; the partial file was kept"
    return f"cannot write the file: {exc.strerror}"
