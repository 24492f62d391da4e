"""One TCP link: a reader and a writer thread that move bytes for the link's protocol object.

The protocol (framing, the cipher, chunk demux, decoding) is
`p2pchat.core.linkprotocol.LinkProtocol`: the reader feeds it what the socket gives and posts the
messages it decodes (file chunks go straight to their sink); what is sent is framed and sealed by it
under the queue's lock, so frames keep the cipher's order whichever thread sends them.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable

from p2pchat.core import events as ev
from p2pchat.core.errors import ProtocolError
from p2pchat.core.limits import Limits
from p2pchat.core.linkprotocol import (
    Decoded,
    DecodedChunk,
    DecodedMessage,
    Frame,
    LinkProtocol,
    ProtocolViolation,
)
from p2pchat.core.messages import Message
from p2pchat.transport.budget import InboxBudget, Received
from p2pchat.transport.files import ChunkSender, FileSpan

log = logging.getLogger(__name__)

LinkReport = Received | ev.ConnectionLost
"""What a link tells the node."""
CHUNK_WAIT_SECONDS = 0.5
DIRECT_READ_BYTES = 32 * 1024  # a frame with this much still to come is read in place
PEEK_BYTES = 16 * 1024  # what is read after a frame read in place
IOV_MAX = 1024  # buffers per sendmsg (the POSIX minimum of IOV_MAX is 16; Linux has 1024)
MSG_MORE = getattr(socket, "MSG_MORE", 0)  # Linux: hold a short send back for what follows
JOIN_BYTES = 1024 * 1024  # without sendmsg (Windows): frames are joined into sends this big


class Connection(ChunkSender):
    """Owns one connected socket; messages out through `send`, reports in through `post`.

    The reader posts Received for valid input. Exactly one ConnectionLost is posted when the
    socket ends for any reason (by the reader, or by the writer when a send fails first);
    invalid input ends only this connection.
    """

    def __init__(
        self,
        conn_id: int,
        sock: socket.socket,
        label: str,
        post: Callable[[LinkReport], None],
        limits: Limits,
        *,
        budget: InboxBudget,
        protocol: LinkProtocol,
    ) -> None:
        self.conn_id = conn_id
        self.protocol = protocol
        self.label = label
        self._sock = sock
        self._post = post
        self._limits = limits
        self._budget = budget
        self._cond = threading.Condition()
        self._pending: list[bytes | FileSpan] = []
        self._pending_bytes = 0
        self._closing = False
        self._flush = False
        self._shut = False
        self._lost_told = False
        self._writer_waiting = False
        # Filled and emptied by the node thread, read by the reader thread: each is one dict
        # operation, atomic in CPython; a chunk that arrives just after its sink left is dropped.
        self.chunk_sinks: dict[bytes, Callable[[memoryview], None]] = {}
        # Written by one thread each, read for /stats: plain ints are enough under the GIL.
        self.bytes_in = 0
        self.bytes_out = 0
        self._resume_at = 0.0  # monotonic; the reader reads nothing before (set by the node)
        self._woken = threading.Event()  # set on close: a paused reader stops waiting
        self._reader = threading.Thread(target=self._read_loop, name=f"p2pchat-reader-{label}")
        self._writer = threading.Thread(target=self._write_loop, name=f"p2pchat-writer-{label}")

    def start(self) -> None:
        """Start the reader and writer threads."""
        self._writer.start()
        self._reader.start()

    def send(self, message: Message, payload: bytes | None = None) -> bool:
        """Queue one message without blocking; False if the queue would overflow (drop the peer).

        payload: the message already encoded (one encoding for all links of one message). The
        writer is woken by `flush`: a batch costs one sendmsg.
        """
        with self._cond:
            if self._closing:
                return True
            return self._queue(self.protocol.send_message(message, self._room(), payload))

    def send_chunk(self, header: bytes, span: FileSpan, stop: threading.Event) -> bool:
        """Queue one file chunk once the queue is below the watermark; False if stopped or closed.

        In the clear the chunk's bytes go from the file to the socket in the kernel
        (os.sendfile); a sealed link reads them to encrypt them.
        """
        watermark = self._limits.file_queue_watermark
        with self._cond:
            while self._pending_bytes > watermark and not self._closing and not stop.is_set():
                self._cond.wait(CHUNK_WAIT_SECONDS)
            stopped = self._closing or stop.is_set()
        if stopped:
            span.close()
            return False
        if not self.protocol.seals_chunks:
            queued = self._queue_span(header, span)
        else:
            try:
                payload = span.read(header)
            finally:
                span.close()
            with self._cond:
                queued = self._closing or self._queue(
                    self.protocol.send_chunk(payload, self._room())
                )
        if not queued:
            # Chat frames filled the queue meanwhile: the peer reads too slowly, as for chat.
            log.warning("closing %s: send queue full", self.label)
            self.abort()
            return False
        self.flush()
        return True

    def flush(self) -> None:
        """Wake the writer if it is waiting and frames are queued."""
        with self._cond:
            if self._pending and self._writer_waiting:
                self._cond.notify()

    def pause_reading(self, seconds: float) -> None:
        """Read nothing for seconds (from now), then a little at a time: TCP slows the peer."""
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def close(self, *, flush: bool) -> None:
        """Stop this link; with flush, queued frames go out first and the peer gets a clean FIN."""
        with self._cond:
            already = self._closing
            self._closing = True
            self._flush = flush and (not already or self._flush)
            self._cond.notify()
        self._woken.set()
        self._budget.wake()
        if not flush:
            self._shutdown(socket.SHUT_RDWR)

    def abort(self) -> None:
        """Cut the link at once, dropping anything queued."""
        self.close(flush=False)

    @property
    def finished(self) -> bool:
        """True once both threads have ended."""
        return not self._reader.is_alive() and not self._writer.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait for both threads."""
        self._reader.join(timeout)
        self._writer.join(timeout)

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting in the outbound queue."""
        with self._cond:
            return self._pending_bytes

    @property
    def frames_in(self) -> int:
        """Frames received so far."""
        return self.protocol.frames_in

    def _room(self) -> int:
        """Bytes the outbound queue can still take (under self._cond)."""
        return self._limits.outbound_queue_bytes - self._pending_bytes

    def _queue(self, frame: Frame | None) -> bool:
        """Queue a frame (under self._cond); False if there was no room for it (None)."""
        if frame is None:
            return False
        self._pending += frame
        self._pending_bytes += len(frame[0]) + len(frame[1])
        return True

    def _queue_span(self, header: bytes, span: FileSpan) -> bool:
        """Queue a frame of header and span, which the queue now owns; False on overflow."""
        with self._cond:
            closing = self._closing
            head = None if closing else self.protocol.chunk_head(header, span.count, self._room())
            if head is not None:
                self._pending += (head, span)
                self._pending_bytes += len(head) + span.count
                return True
        span.close()
        return closing  # as in send: a closing link is no overflow

    def _read_loop(self) -> None:
        protocol = self.protocol
        reason = "connection closed by peer"
        try:
            # While a flush is under way this keeps reading (and dropping) until the peer,
            # having read our last frames, closes: stopping early would cut those frames off.
            size = self._limits.recv_bytes
            while data := self._sock.recv(self._paused(size)):
                self.bytes_in += len(data)
                problem = self._deliver(protocol.receive_data(data))  # before a large frame
                space = None if problem else protocol.frame_space(DIRECT_READ_BYTES)
                if space is not None:
                    if not self._fill(space):
                        break
                    problem = self._deliver(protocol.frame_filled())
                if problem:
                    reason = f"protocol error: {problem}"
                    log.warning("closing %s: %s", self.label, reason)
                    break
                # Another large frame is likely next: read little of it, and the rest in place.
                size = PEEK_BYTES if space is not None else self._limits.recv_bytes
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            log.warning("closing %s: %s", self.label, reason)
        except OSError as exc:
            reason = f"connection error: {exc.strerror or exc}"
        except Exception as exc:
            reason = f"protocol error: {type(exc).__name__}"
            log.exception("closing %s: unexpected input", self.label)
        finally:
            self._lost(reason)
            self._finish()

    def _paused(self, size: int) -> int:
        """Wait out a pause the node asked for; how much to read next (little after one)."""
        wait = self._resume_at - time.monotonic()
        if wait <= 0.0:
            return size
        self._woken.wait(wait)
        return min(size, self._limits.paused_read_bytes)

    def _fill(self, view: memoryview) -> bool:
        """Read exactly len(view) bytes into view; False if the peer closed first."""
        while view:
            count = self._sock.recv_into(view)
            if not count:
                return False
            self.bytes_in += count
            view = view[count:]
        return True

    def _deliver(self, items: list[Decoded]) -> str:
        """Hand file bytes to their sinks and post the messages (those before a violation too)
        unless the link is closing; return the violation's reason, or "" if none."""
        messages: list[Message] = []
        nbytes = 0  # the inbox is charged by message frame size (file chunks never go there)
        problem = ""
        try:
            for item in items:
                match item:
                    case DecodedMessage():
                        messages.append(item.message)
                        nbytes += item.wire_bytes
                    case DecodedChunk():
                        # On this thread; chunks of a transfer we no longer take are dropped.
                        sink = self.chunk_sinks.get(item.tag)
                        if sink is not None:
                            sink(item.data)
                    case ProtocolViolation():
                        problem = item.reason
        finally:
            if messages and self._budget.take(nbytes, self._is_closing):
                self._post(Received(self.conn_id, tuple(messages), nbytes))
        return problem

    def _finish(self) -> None:
        """After the reader stops: end the writer (letting a flush run out), free the socket."""
        with self._cond:
            if not self._closing:
                self._closing = True
                self._flush = False
            flushing = self._flush
            self._cond.notify()
        if not flushing:
            self._shutdown(socket.SHUT_RDWR)
        self._writer.join()
        self._sock.close()
        with self._cond:  # closing: nothing can be queued any more
            left, self._pending = self._pending, []
        _close_spans(left)

    def _is_closing(self) -> bool:
        with self._cond:
            return self._closing

    def _write_loop(self) -> None:
        sock = self._sock
        try:
            while True:
                with self._cond:
                    while not self._pending and not self._closing:
                        self._writer_waiting = True
                        self._cond.wait()
                        self._writer_waiting = False
                    if self._closing and not (self._flush and self._pending):
                        break
                    batch, self._pending = self._pending, []
                    self._pending_bytes = 0
                    self._cond.notify_all()  # a file pump may wait for room
                try:
                    self._write_batch(sock, batch)
                finally:
                    _close_spans(batch)
        except OSError as exc:
            self._lost(f"send failed: {exc.strerror or exc}")
            self._shutdown(socket.SHUT_RDWR)
            return
        with self._cond:
            graceful = self._flush
        # A clean FIN lets the peer read our last frames (bye, error) before the link ends.
        self._shutdown(socket.SHUT_WR if graceful else socket.SHUT_RDWR)

    def _write_batch(self, sock: socket.socket, batch: list[bytes | FileSpan]) -> None:
        """Send a batch: runs of frames in one sendmsg each, file spans through the kernel."""
        frames: list[bytes] = []
        for item in batch:
            if isinstance(item, FileSpan):
                if frames:
                    self._send_frames(sock, frames, MSG_MORE)  # the span's header: no lone packet
                    frames = []
                item.send_to(sock)
                self.bytes_out += item.count
            else:
                frames.append(item)
        if frames:
            self._send_frames(sock, frames, 0)

    def _send_frames(self, sock: socket.socket, frames: list[bytes], flags: int) -> None:
        """Send frames whole, gathered from where they lie (sendmsg), IOV_MAX at a time; joined
        into buffers of up to JOIN_BYTES where the platform has no sendmsg."""
        if not hasattr(sock, "sendmsg"):
            self._send_joined(sock, frames, flags)
            return
        for start in range(0, len(frames), IOV_MAX):
            views = [memoryview(frame) for frame in frames[start : start + IOV_MAX]]
            while views:
                sent = sock.sendmsg(views, (), flags)
                self.bytes_out += sent
                while views and sent >= len(views[0]):
                    sent -= len(views.pop(0))
                if views:
                    views[0] = views[0][sent:]

    def _send_joined(self, sock: socket.socket, frames: list[bytes], flags: int) -> None:
        run: list[bytes] = []
        size = 0
        for frame in frames:
            if run and size + len(frame) > JOIN_BYTES:
                self._send_run(sock, run, size, flags)
                run, size = [], 0
            run.append(frame)
            size += len(frame)
        if run:
            self._send_run(sock, run, size, flags)

    def _send_run(self, sock: socket.socket, run: list[bytes], size: int, flags: int) -> None:
        sock.sendall(run[0] if len(run) == 1 else b"".join(run), flags)
        self.bytes_out += size

    def _lost(self, reason: str) -> None:
        """Post ConnectionLost, the first time only (the reader and the writer may both see
        the end)."""
        with self._cond:
            if self._lost_told:
                return
            self._lost_told = True
        self._post(ev.ConnectionLost(self.conn_id, reason))

    def _shutdown(self, how: int) -> None:
        with self._cond:
            if self._shut and how != socket.SHUT_RDWR:
                return
            self._shut = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(how)


def _close_spans(items: list[bytes | FileSpan]) -> None:
    for item in items:
        if isinstance(item, FileSpan):
            item.close()
