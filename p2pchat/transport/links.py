"""The node's links: the live ones by connection ID, and the retiring ones until they end."""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from p2pchat.core.addr import format_addr
from p2pchat.core.limits import Limits
from p2pchat.core.linkprotocol import LinkProtocol
from p2pchat.transport.budget import InboxBudget
from p2pchat.transport.connection import Connection, LinkReport

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Traffic:
    """What links carried (the /stats counters only the transport can count)."""

    bytes_in: int = 0
    bytes_out: int = 0
    frames_in: int = 0
    frames_out: int = 0

    def add_link(self, conn: Connection) -> None:
        """Count what one link received and sent so far (its frames out are counted apart)."""
        self.bytes_in += conn.bytes_in
        self.bytes_out += conn.bytes_out
        self.frames_in += conn.frames_in

    def counters(self) -> tuple[tuple[str, int], ...]:
        """(name, value) pairs, as ShowStats carries them."""
        return (
            ("bytes_in", self.bytes_in),
            ("bytes_out", self.bytes_out),
            ("frames_in", self.frames_in),
            ("frames_out", self.frames_out),
        )


class Links:
    """Starts links, retires them (a flush gets flush_timeout) and lets go of ended ones.

    Used by the node thread only, and by close() after it.
    """

    def __init__(
        self, limits: Limits, post: Callable[[LinkReport], None], budget: InboxBudget
    ) -> None:
        self._limits = limits
        self._post = post
        self._budget = budget
        self._live: dict[int, Connection] = {}
        self._retiring: dict[int, tuple[Connection, float]] = {}
        self._ended = Traffic()  # what links let go of carried
        self._next_id = 1
        self._closed = False

    def open(self, sock: socket.socket, host: str, port: int, protocol: LinkProtocol) -> Connection:
        """Start a link on a connected socket (to host:port), speaking protocol."""
        conn_id = self._next_id
        self._next_id += 1
        label = f"{format_addr(host, port)}#{conn_id}"
        try:
            configure_socket(sock, self._limits)
        except OSError as exc:
            log.debug("socket options on %s: %s", label, exc)
        conn = Connection(
            conn_id, sock, label, self._post, self._limits, budget=self._budget, protocol=protocol
        )
        self._live[conn_id] = conn
        conn.start()
        return conn

    def get(self, conn_id: int) -> Connection | None:
        """The live link with this ID, if there is one."""
        return self._live.get(conn_id)

    def retire(self, conn_id: int, *, flush: bool) -> None:
        """Close a live link (flush: what is queued goes out first); unknown IDs are ignored."""
        conn = self._live.pop(conn_id, None)
        if conn is None:
            return
        conn.close(flush=flush)
        self._retiring[conn_id] = (conn, time.monotonic() + self._limits.flush_timeout)

    def deadline(self) -> float | None:
        """When reap() must run next to cut a flush that takes too long (None: no need)."""
        return min((d for _, d in self._retiring.values()), default=None)

    def reap(self) -> None:
        """Let go of retired links whose threads ended; cut those past their deadline."""
        now = time.monotonic()
        for conn_id, (conn, deadline) in list(self._retiring.items()):
            if conn.finished:
                conn.join()
                del self._retiring[conn_id]
                self._ended.add_link(conn)
            elif now >= deadline:
                conn.abort()

    @property
    def held(self) -> int:
        """Links not let go of yet, live or retiring."""
        return len(self._live) + len(self._retiring)

    def traffic(self, frames_out: int) -> Traffic:
        """What every link carried so far, with the frames the node sent (frames_out)."""
        ended = self._ended
        totals = Traffic(ended.bytes_in, ended.bytes_out, ended.frames_in, frames_out)
        for conn in self._all():
            totals.add_link(conn)
        return totals

    def close(self) -> None:
        """Give every link flush_timeout to send what it queued, then cut and join them all;
        idempotent."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + self._limits.flush_timeout
        for conn in self._all():
            conn.join(max(0.0, deadline - time.monotonic()))
        for conn in self._all():
            conn.abort()
            conn.join()
        self._live.clear()
        self._retiring.clear()

    def __enter__(self) -> Links:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _all(self) -> list[Connection]:
        return [*self._live.values(), *(c for c, _ in self._retiring.values())]


def configure_socket(sock: socket.socket, limits: Limits) -> None:
    """Low latency, TCP keepalive, and a bounded wait when the peer stops reading."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", limits.tcp_keepalive_idle),
        ("TCP_KEEPINTVL", limits.tcp_keepalive_interval),
        ("TCP_KEEPCNT", limits.tcp_keepalive_count),
    ):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)
    seconds = int(limits.write_stall_timeout)
    micros = int((limits.write_stall_timeout - seconds) * 1_000_000)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, micros))
