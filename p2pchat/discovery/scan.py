"""--scan: try the chat's port on every address of the local subnets (opt-in, never beyond them).

For networks that drop both multicast and broadcast. Each open port is only a hint: the node
dials it and the handshake tells whether a node of our room listens there.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator

from p2pchat.core import events as ev
from p2pchat.core.limits import DEFAULT_PORT
from p2pchat.discovery.interfaces import ipv4_prefixes

log = logging.getLogger(__name__)

Post = Callable[[object], None]

WIDEST_PREFIX = 22  # a bigger subnet is scanned only in the /22 around our own address
MAX_TARGETS = 1024  # in all, whatever interfaces the host has
IN_FLIGHT = 64  # connection attempts at once
CONNECT_TIMEOUT = 0.5  # seconds; a LAN host answers far sooner
MIN_RESCAN_SECONDS = 30.0  # however often we are asked to look again


def scan_targets(scope: tuple[str, ...] | None) -> list[str]:
    """The addresses to try: every host of each in-scope IPv4 subnet (at most a /22 around our
    own address), never our own addresses, never loopback unless it is in the scope."""
    own = {ip for ip, _ in ipv4_prefixes()}
    targets: dict[str, None] = {}  # ordered, and cheap to look up
    for ip, prefix in ipv4_prefixes():
        address = ipaddress.IPv4Address(ip)
        if scope is not None and ip not in scope:
            continue
        if scope is None and (address.is_loopback or address.is_link_local):
            continue
        network = ipaddress.IPv4Network(f"{ip}/{max(prefix, WIDEST_PREFIX)}", strict=False)
        for host in network.hosts():
            text = str(host)
            if text not in own:
                targets[text] = None
            if len(targets) >= MAX_TARGETS:
                return list(targets)
    return list(targets)


def open_ports(targets: list[str], port: int, stop: threading.Event) -> Iterator[str]:
    """The targets that accept a TCP connection on port, IN_FLIGHT at a time, until stop."""
    waiting = iter(targets)
    with selectors.DefaultSelector() as selector:
        deadlines: dict[socket.socket, float] = {}

        def fill() -> None:
            while len(deadlines) < IN_FLIGHT and not stop.is_set():
                host = next(waiting, None)
                if host is None:
                    return
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                code = sock.connect_ex((host, port))
                if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                    sock.close()
                    continue
                selector.register(sock, selectors.EVENT_WRITE, host)
                deadlines[sock] = time.monotonic() + CONNECT_TIMEOUT

        try:
            yield from _poll(selector, deadlines, fill, stop)
        finally:
            for sock in list(deadlines):
                _drop(selector, deadlines, sock)


class SubnetScan:
    """Scans at start, when the network changes, and when asked to look again (bounded)."""

    def __init__(self, scope: tuple[str, ...] | None, port: int = DEFAULT_PORT) -> None:
        self._scope = scope
        self._port = port
        self._post: Post | None = None
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._last = float("-inf")
        self._thread = threading.Thread(target=self._run, name="p2pchat-scan")

    def start(self, port: int, post: Post) -> None:
        """Begin the first scan (our own listening port is not needed: we try the default)."""
        self._post = post
        self._wanted.set()
        self._thread.start()

    def rediscover(self) -> None:
        """Scan again, unless the last scan was less than MIN_RESCAN_SECONDS ago."""
        if time.monotonic() - self._last >= MIN_RESCAN_SECONDS:
            self._wanted.set()

    def network_changed(self) -> None:
        """New subnets: scan them (no sooner than MIN_RESCAN_SECONDS after the last scan)."""
        self.rediscover()

    def announce(self, nick: str) -> None:
        """Nothing to do: a scan carries no nick."""

    def close(self) -> None:
        """Stop scanning; idempotent."""
        self._stop.set()
        self._wanted.set()
        if self._thread.ident is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stop.is_set():
                return
            targets = scan_targets(self._scope)
            try:
                found = list(open_ports(targets, self._port, self._stop))
            except OSError as exc:  # out of file descriptors, say: try again later
                log.warning("scan stopped: %s", exc)
                found = []
            self._last = time.monotonic()  # the gap counts from the end of a scan
            log.info(
                "scan: %d of %d addresses have port %d open", len(found), len(targets), self._port
            )
            if found and self._post is not None:
                self._post(ev.PeerDiscovered(tuple((h, self._port) for h in found), None, "scan"))


def _poll(
    selector: selectors.BaseSelector,
    deadlines: dict[socket.socket, float],
    fill: Callable[[], None],
    stop: threading.Event,
) -> Iterator[str]:
    """Connections as they complete or time out, refilled up to IN_FLIGHT."""
    fill()
    while deadlines and not stop.is_set():
        for key, _ in selector.select(timeout=0.05):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            ok = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            _drop(selector, deadlines, sock)
            if ok:
                yield str(key.data)
        now = time.monotonic()
        for sock in [s for s, d in deadlines.items() if d <= now]:
            _drop(selector, deadlines, sock)
        fill()


def _drop(
    selector: selectors.BaseSelector, deadlines: dict[socket.socket, float], sock: socket.socket
) -> None:
    selector.unregister(sock)
    del deadlines[sock]
    with contextlib.suppress(OSError):
        sock.close()
