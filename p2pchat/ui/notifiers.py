"""Showing alerts (see `notify.py`): the desktop's notification service, the terminal, or not.

`Notifications` decides on the caller's thread (the node's or the app's), which never waits:
alerts are queued for its own thread, `p2pchat-notify`, which throttles them and hands them to
the `Notifier` chosen by `choose_notifier`. The service is `notify-send`, run without a shell and
with a time-out on that thread, so a hung notification daemon delays only other notifications.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Protocol

from p2pchat.core import views as vw
from p2pchat.ui.notify import (
    APP_NAME,
    Alert,
    AlertRules,
    Backend,
    Focus,
    Notifier,
    TerminalStyle,
    Throttle,
    choose_backend,
    terminal_sequence,
    terminal_style,
)

NOTIFY_SEND = "notify-send"
SESSION_BUS_ENV = "DBUS_SESSION_BUS_ADDRESS"
SERVICE_TIMEOUT_SECONDS = 5.0  # one run of notify-send, then it is killed
SERVICE_CATEGORY = "im.received"  # the notification spec's category for a chat message
QUEUE_LIMIT = 64  # alerts waiting for the notifications' thread; more are dropped
THREAD_NAME = "p2pchat-notify"

log = logging.getLogger(__name__)


class TtyStream(Protocol):
    """Where the terminal's escape goes: a text stream that can say whether it is a terminal."""

    def isatty(self) -> bool:
        """True if the stream is a terminal."""
        ...

    def write(self, text: str, /) -> int:
        """Write text."""
        ...

    def flush(self) -> None:
        """Push out what was written."""
        ...


class ServiceNotifier:
    """Alerts as desktop notifications through the freedesktop service, by notify-send."""

    def __init__(self, program: str) -> None:
        self.program = program

    def argv(self, alert: Alert) -> list[str]:
        """The command line for alert: options, then "--" so no text is read as an option."""
        return [
            self.program,
            f"--app-name={APP_NAME}",
            f"--category={SERVICE_CATEGORY}",
            "--",
            alert.title,
            html.escape(alert.body, quote=False),  # the body may be read as markup
        ]

    def notify(self, alert: Alert) -> None:
        """Run notify-send (no shell, no input, output discarded), killed after a time-out."""
        try:
            subprocess.run(
                self.argv(alert),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=SERVICE_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.info("notify-send failed: %s", exc)


class TerminalNotifier:
    """Alerts as the terminal's notification escape sequence, written by write."""

    def __init__(self, write: Callable[[str], None], style: TerminalStyle) -> None:
        self.write = write
        self.style = style

    def notify(self, alert: Alert) -> None:
        """Write the escape sequence for alert."""
        try:
            self.write(terminal_sequence(alert, self.style))
        except (OSError, ValueError) as exc:  # the terminal is gone, or the stream closed
            log.info("terminal notification failed: %s", exc)


class NoNotifier:
    """No notifications (turned off, or not on a terminal)."""

    def notify(self, alert: Alert) -> None:
        """Drop alert."""


def tty_writer(stream: TtyStream) -> Callable[[str], None]:
    """Writes whole sequences to stream: in one os.write to its descriptor if it has one."""
    fileno = getattr(stream, "fileno", None)
    try:
        fd = fileno() if callable(fileno) else None
    except (OSError, ValueError):  # io.UnsupportedOperation: a stream with no descriptor
        fd = None
    if not isinstance(fd, int):

        def write_stream(text: str) -> None:
            stream.write(text)
            stream.flush()

        return write_stream
    encoding = getattr(stream, "encoding", None) or "utf-8"

    # Past the stream's buffer, in one system call: the sequence lands between what other
    # threads write to the terminal (the line editor), never inside one of their sequences.
    def write_fd(text: str) -> None:
        data = text.encode(encoding, "replace")
        while data:
            data = data[os.write(fd, data) :]

    return write_fd


def choose_notifier(
    stream: TtyStream,
    *,
    enabled: bool = True,
    env: Mapping[str, str] | None = None,
    terminal: Callable[[str], None] | None = None,
) -> Notifier:
    """The notifier choose_backend picks here; the escape goes to terminal if given, else stream."""
    env = os.environ if env is None else env
    tty = _isatty(stream)
    backend = choose_backend(
        enabled=enabled,
        tty=tty,
        notify_send=shutil.which(NOTIFY_SEND) if enabled and tty else None,
        session_bus=bool(env.get(SESSION_BUS_ENV)),
    )
    match backend:
        case Backend.SERVICE:
            program = shutil.which(NOTIFY_SEND)
            return ServiceNotifier(program) if program is not None else NoNotifier()
        case Backend.TERMINAL:
            return TerminalNotifier(terminal or tty_writer(stream), terminal_style(env))
        case Backend.NONE:
            return NoNotifier()


class Notifications:
    """Views in (from any thread, never waiting), notifications out on a thread of their own."""

    def __init__(
        self,
        notifier: Notifier,
        clock: Callable[[], float] = time.monotonic,
        throttle: Throttle | None = None,
    ) -> None:
        self.notifier = notifier
        self._clock = clock
        self._rules = AlertRules()
        self._lock = threading.Lock()
        self._queue: queue.Queue[Alert | None] = queue.Queue(QUEUE_LIMIT)  # None: wake up
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._throttle = throttle or Throttle()

    @property
    def enabled(self) -> bool:
        """False when alerts go nowhere (views still update our nick)."""
        return not isinstance(self.notifier, NoNotifier)

    def see(self, view: vw.View, focus: Focus) -> bool:
        """Take a view as it is shown; True if it became an alert queued to be shown."""
        with self._lock:
            alert = self._rules.see(view, focus, self._clock())
            if alert is None or not self.enabled or self._stop.is_set():
                return False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            log.info("notifications: queue full, one dropped")
            return False
        return True

    def close(self) -> None:
        """Stop the thread (what is still queued is dropped); idempotent."""
        with self._lock:
            self._stop.set()
            thread = self._thread
        if thread is not None:
            with contextlib.suppress(queue.Full):  # full: the thread sees the stop soon anyway
                self._queue.put_nowait(None)
            thread.join()

    def __enter__(self) -> Notifications:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            due = self._throttle.next_due()
            wait = None if due is None else max(due - self._clock(), 0.0)
            try:
                alert = self._queue.get(timeout=wait)
            except queue.Empty:
                alert = None
            if alert is None:
                out = self._throttle.due(self._clock())
            else:
                out = self._throttle.offer(alert, self._clock())
            if out is not None and not self._stop.is_set():
                self.notifier.notify(out)


def _isatty(stream: TtyStream) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False
