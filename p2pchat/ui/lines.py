"""Reading typed lines from stdin in the main thread, woken at once by Ctrl-C, SIGTERM or SIGHUP."""

from __future__ import annotations

import codecs
import os
import selectors
import signal
import socket
from collections.abc import Iterator
from types import FrameType, TracebackType

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
READ_BYTES = 65536
EXIT_INTERRUPTED = 130


class StdinLines:
    """Iterates over stdin lines until end of input or a stop signal; restores handlers on exit."""

    def __init__(self, fd: int = 0) -> None:
        self._fd = fd
        self.stopped_by: str | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._old: dict[int, object] = {}
        self._old_wakeup = -1

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
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ, "signal")
            try:
                selector.register(self._fd, selectors.EVENT_READ, "stdin")
            except (PermissionError, ValueError):
                # Regular files cannot be polled; they are always readable anyway.
                yield from self._read_blocking(decoder)
                return
            while self.stopped_by is None:
                for key, _ in selector.select():
                    if key.data == "signal":
                        self._drain_wakeups()
                        continue
                    chunk = os.read(self._fd, READ_BYTES)
                    if not chunk:
                        if pending:
                            yield pending
                        return
                    pending += decoder.decode(chunk)
                    *lines, pending = pending.split("\n")
                    for line in lines:
                        if self.stopped_by is not None:
                            return
                        yield line

    def _read_blocking(self, decoder: codecs.IncrementalDecoder) -> Iterator[str]:
        pending = ""
        while self.stopped_by is None:
            chunk = os.read(self._fd, READ_BYTES)
            if not chunk:
                break
            pending += decoder.decode(chunk)
            *lines, pending = pending.split("\n")
            yield from lines
        if pending and self.stopped_by is None:
            yield pending

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(READ_BYTES):
                pass
        except BlockingIOError:
            pass

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopped_by is not None and signum == signal.SIGINT:
            # A second Ctrl-C while shutting down: the user wants out now.
            os._exit(EXIT_INTERRUPTED)
        self.stopped_by = signal.Signals(signum).name
