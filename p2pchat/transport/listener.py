"""The listener thread: accepts inbound connections and completes outbound dials."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from p2pchat.core import events as ev
from p2pchat.core.addr import format_addr
from p2pchat.core.limits import Limits
from p2pchat.netutil import claim_port_exclusively

log = logging.getLogger(__name__)

ACCEPT_ERROR_PAUSE = 0.1


@dataclass(frozen=True, slots=True)
class Accepted:
    """An inbound connection, not yet known to the core."""

    sock: socket.socket
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Connected:
    """An outbound dial that succeeded, not yet known to the core."""

    sock: socket.socket
    host: str
    port: int


ListenerReport = Accepted | Connected | ev.DialFailed
"""What the listener tells the node."""


class StartupError(Exception):
    """The node cannot start; the message is one line for the user."""


def open_listener(host: str, port: int) -> socket.socket:
    """Bind and listen on host:port (port 0: any free port); raise StartupError on failure."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {format_addr(host, port)}: {exc.strerror}") from None
    family, _, _, _, sockaddr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        claim_port_exclusively(sock)
        sock.bind(sockaddr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise StartupError(f"cannot listen on {format_addr(host, port)}: {reason}") from None
    return sock


class Listener:
    """One thread multiplexing accept() and non-blocking connect()s, so close() is immediate."""

    def __init__(
        self, sock: socket.socket, post: Callable[[ListenerReport], None], limits: Limits
    ) -> None:
        self._sock = sock
        self._post = post
        self._limits = limits
        self._requests: queue.SimpleQueue[tuple[str, int] | None] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._dials: dict[socket.socket, tuple[str, int, float]] = {}
        self._thread = threading.Thread(target=self._run, name="p2pchat-listener")
        self._closed = False

    @property
    def port(self) -> int:
        """The port actually listened on."""
        return int(self._sock.getsockname()[1])

    def start(self) -> None:
        """Start the thread."""
        self._sock.setblocking(False)
        self._wake_r.setblocking(False)
        self._selector.register(self._sock, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread.start()

    def dial(self, host: str, port: int) -> None:
        """Start connecting to host:port; the outcome is posted as Connected or DialFailed."""
        self._requests.put((host, port))
        self._wake()

    def close(self) -> None:
        """Stop accepting, abandon pending dials, join the thread; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._requests.put(None)
        self._wake()
        if self._thread.is_alive() or self._thread.ident is not None:
            self._thread.join()
        self._selector.close()
        for sock in (self._sock, self._wake_r, self._wake_w, *self._dials):
            sock.close()
        self._dials.clear()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _run(self) -> None:
        while True:
            timeout = None
            if self._dials:
                timeout = max(0.0, min(d for _, _, d in self._dials.values()) - time.monotonic())
            for key, _ in self._selector.select(timeout):
                try:
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        self._drain_wake()
                        if not self._take_requests():
                            return
                    else:
                        self._finish_dial(key.fileobj)  # type: ignore[arg-type]
                except Exception:
                    # This thread must outlive any one bad dial or accept.
                    log.exception("listener: %s failed", key.data)
            self._expire_dials()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _take_requests(self) -> bool:
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return True
            if request is None:
                return False
            self._start_dial(*request)

    def _accept(self) -> None:
        try:
            sock, addr = self._sock.accept()
        except BlockingIOError:
            return
        except OSError as exc:
            # Out of file descriptors and the like: pause instead of spinning on the ready socket.
            log.warning("accept failed: %s", exc.strerror or exc)
            time.sleep(ACCEPT_ERROR_PAUSE)
            return
        sock.setblocking(True)
        self._post(Accepted(sock, _unmap(addr[0]), addr[1]))

    def _start_dial(self, host: str, port: int) -> None:
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            self._post(ev.DialFailed(host, port, exc.strerror or str(exc)))
            return
        sock.setblocking(False)
        try:
            code = sock.connect_ex((host, port))
        except OSError as exc:
            code = exc.errno or errno.EINVAL
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            self._post(ev.DialFailed(host, port, os.strerror(code)))
            return
        self._dials[sock] = (host, port, time.monotonic() + self._limits.connect_timeout)
        self._selector.register(sock, selectors.EVENT_WRITE, "dial")

    def _finish_dial(self, sock: socket.socket) -> None:
        host, port, _ = self._dials.pop(sock)
        self._selector.unregister(sock)
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            sock.close()
            self._post(ev.DialFailed(host, port, os.strerror(code)))
            return
        sock.setblocking(True)
        self._post(Connected(sock, host, port))

    def _expire_dials(self) -> None:
        now = time.monotonic()
        for sock, (host, port, deadline) in list(self._dials.items()):
            if now >= deadline:
                del self._dials[sock]
                self._selector.unregister(sock)
                sock.close()
                self._post(ev.DialFailed(host, port, "timed out"))


def _unmap(host: str) -> str:
    """'::ffff:1.2.3.4' -> '1.2.3.4', so IPv4 peers look the same on dual-stack sockets."""
    return host[7:] if host.startswith("::ffff:") and "." in host else host
