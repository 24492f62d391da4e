"""Reading typed lines from stdin in the main thread, woken at once by Ctrl-C, SIGTERM or SIGHUP.

Where stdin can be polled (POSIX pipes and terminals) the main thread waits on it and on the
signals; where it cannot (Windows, whose select takes only sockets) a reader thread hands the
chunks over and pokes a socket pair, and the main thread waits on that and on the signals.

A stop signal counts from whichever shows it first: the Python handler, or the signal's number
on the wakeup socket (written by the C-level handler at once, on whatever thread it ran; the
Python handler itself may wait until the main thread next takes the GIL from another thread).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import queue
import select
import selectors
import signal
import socket
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Literal

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
READ_BYTES = 65536
EXIT_INTERRUPTED = 130

SeenBy = Literal["handler", "wakeup"]


class StdinLines:
    """Iterates over stdin lines until end of input or a stop signal; restores handlers on exit."""

    def __init__(self, fd: int = 0) -> None:
        self._fd = fd
        self.stopped_by: str | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._old: dict[int, object] = {}
        self._old_wakeup = -1
        # Each delivery shows twice (handler, wakeup byte): per signal, how often each saw one.
        self._seen: dict[int, dict[SeenBy, int]] = {}

    def __enter__(self) -> StdinLines:
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._old_wakeup = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        for sig in STOP_SIGNALS:
            self._old[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        signal.set_wakeup_fd(self._old_wakeup)
        self._wake_r.close()
        self._wake_w.close()

    def __iter__(self) -> Iterator[str]:
        split = _LineSplitter()
        if not _pollable(self._fd):
            yield from self._read_handed_over(split)
            return
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ, "signal")
            try:
                selector.register(self._fd, selectors.EVENT_READ, "stdin")
            except (PermissionError, ValueError):
                # Regular files cannot be polled; they are always readable anyway.
                yield from self._read_blocking(split)
                return
            while self.stopped_by is None:
                for key, _ in selector.select():
                    if key.data == "signal":
                        self._drain_wakeups()
                        continue
                    chunk = os.read(self._fd, READ_BYTES)
                    if not chunk:
                        yield from split.end()
                        return
                    yield from self._until_stopped(split.feed(chunk))

    def _read_handed_over(self, split: _LineSplitter) -> Iterator[str]:
        """Lines from a reader thread (stdin cannot be polled here)."""
        chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        ready_r, ready_w = socket.socketpair()
        # A daemon: its blocking read cannot be interrupted, and must not hold the exit.
        threading.Thread(
            target=_read_into, args=(self._fd, chunks, ready_w), name="p2pchat-stdin", daemon=True
        ).start()
        with ready_r:
            while self.stopped_by is None:
                readable, _, _ = select.select([self._wake_r, ready_r], [], [])
                if self._wake_r in readable:
                    self._drain_wakeups()
                    continue
                ready_r.recv(1)
                chunk = chunks.get()
                if not chunk:
                    yield from split.end()
                    return
                yield from self._until_stopped(split.feed(chunk))

    def _read_blocking(self, split: _LineSplitter) -> Iterator[str]:
        while self.stopped_by is None:
            chunk = os.read(self._fd, READ_BYTES)
            if not chunk:
                break
            yield from self._until_stopped(split.feed(chunk))
        if self.stopped_by is None:
            yield from split.end()

    def _until_stopped(self, lines: list[str]) -> Iterator[str]:
        for line in lines:
            if self.stopped_by is not None:
                return
            yield line

    def _drain_wakeups(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while data := self._wake_r.recv(READ_BYTES):
                for signum in data:
                    if signum in STOP_SIGNALS:
                        self._delivered(signum, "wakeup")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._delivered(signum, "handler")

    def _delivered(self, signum: int, by: SeenBy) -> None:
        """Act on a delivery the first time either way shows it (both run on the main thread)."""
        seen = self._seen.setdefault(signum, {"handler": 0, "wakeup": 0})
        seen[by] += 1
        other: SeenBy = "wakeup" if by == "handler" else "handler"
        if seen[by] <= seen[other]:
            return  # the other way showed this one already
        if self.stopped_by is not None and signum == signal.SIGINT:
            # A second Ctrl-C while shutting down: the user wants out now.
            os._exit(EXIT_INTERRUPTED)
        self.stopped_by = signal.Signals(signum).name


class _LineSplitter:
    """Decodes chunks of UTF-8 (bad bytes replaced) into lines, without "\\r\\n" line ends."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, chunk: bytes) -> list[str]:
        """The lines this chunk completes."""
        *lines, self._pending = (self._pending + self._decoder.decode(chunk)).split("\n")
        return [line.removesuffix("\r") for line in lines]

    def end(self) -> list[str]:
        """The last line, if the input did not end with a newline."""
        rest = (self._pending + self._decoder.decode(b"", final=True)).removesuffix("\r")
        self._pending = ""
        return [rest] if rest else []


def _pollable(fd: int) -> bool:
    """Whether select() takes this descriptor (not on Windows, where only sockets are)."""
    try:
        select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return False
    return True


def _read_into(fd: int, chunks: queue.SimpleQueue[bytes], ready: socket.socket) -> None:
    """On the reader thread: stdin's chunks, then b"" at its end (or on an error), each told
    by a byte on ready (closed at the end)."""
    block = getattr(signal, "SIG_BLOCK", None)
    if block is not None and hasattr(signal, "pthread_sigmask"):  # the main thread's to take
        signal.pthread_sigmask(block, STOP_SIGNALS)
    with ready, contextlib.suppress(OSError):  # OSError: the reading side is gone
        while True:
            try:
                chunk = os.read(fd, READ_BYTES)
            except OSError:
                chunk = b""
            chunks.put(chunk)
            ready.send(b"x")
            if not chunk:
                return
