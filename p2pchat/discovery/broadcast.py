"""Beacon discovery: UDP broadcast on the local subnets, for networks that filter multicast.

Each node sends its beacon (p2pchat.core.beacon) to the directed broadcast address of each
interface it may use, at start, when asked to look again, and then with backoff; it hears the
beacons of others on the same UDP port and reports those of its room as addresses to dial.
A probe (from `p2pchat doctor`) is answered with our beacon, straight to its source.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import select
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from p2pchat.core import events as ev
from p2pchat.core.beacon import (
    MAX_BEACON_BYTES,
    Beacon,
    BeaconMatch,
    decode_beacon,
    encode_beacon,
    is_probe,
    match_beacon,
)
from p2pchat.core.limits import DEFAULT_PORT, Limits
from p2pchat.discovery.interfaces import broadcast_targets, interface_networks
from p2pchat.netutil import share_port

log = logging.getLogger(__name__)

Post = Callable[[object], None]

FIRST_INTERVAL = 2.0  # seconds between the first rounds; doubled up to MAX_INTERVAL
MAX_INTERVAL = 30.0
MIN_GAP = 2.0  # never more than one round every MIN_GAP seconds, whatever asks for one
SOURCE_RATE = 1.0  # beacons a second heard from one address (more are dropped)
SOURCE_BURST = 5.0
MAX_SOURCES = 256  # addresses whose rate we track, and node addresses we remember reporting
REPORT_EVERY = 10.0  # a node at one address is reported again at most this often
REPORT_RATE = 5.0  # reports a second in all, whatever the sources (spoofed ones are free)
REPORT_BURST = 20.0
ANSWER_RATE = 1.0  # probes answered a second in all (an answer goes where the source says)
ANSWER_BURST = 4.0
NETWORKS_TTL = 5.0  # how long the networks of our interfaces are taken as they were read
POLL_SECONDS = 1.0


class BeaconError(Exception):
    """The beacon cannot run here; the message is one line for the user."""


@dataclass(frozen=True)
class BeaconConfig:
    """Who we are, our room, and the interfaces we may use (scope None: every LAN interface)."""

    node_id: str
    room: str
    limits: Limits
    scope: tuple[str, ...] | None = None
    room_tag: str | None = None
    room_hint: str = ""
    udp_port: int = DEFAULT_PORT
    nick: str = ""  # an open room only: a private room's beacon names nobody


class BeaconDiscovery:
    """Sends and hears beacons on one thread; every method returns at once."""

    def __init__(self, config: BeaconConfig) -> None:
        self._config = config
        self._sock: socket.socket | None = None
        self._waker: tuple[socket.socket, socket.socket] | None = None  # (read, write)
        self._thread = threading.Thread(target=self._run, name="p2pchat-beacon")
        self._lock = threading.Lock()
        self._due = 0.0  # when the next round goes out
        self._interval = FIRST_INTERVAL
        self._last_round = float("-inf")
        self._closing = False
        self._post: Post | None = None
        self._beacon = b""
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # ip -> tokens, t
        self._reported: OrderedDict[tuple[str, str, int], float] = OrderedDict()
        self._all_reports = (REPORT_BURST, time.monotonic())  # tokens, when counted
        self._answers = (ANSWER_BURST, time.monotonic())
        self._port = 0
        self._networks: list[ipaddress.IPv4Network] = []
        self._networks_read = float("-inf")
        self._told_other_passphrase = False

    def start(self, port: int, post: Post) -> None:
        """Open the UDP socket (raise BeaconError if impossible) and start sending and hearing."""
        self._post, self._port = post, port
        self._beacon = self._encode(self._config.nick)
        self._sock = _open_receiver(self._config.udp_port)
        self._waker = socket.socketpair()
        self._thread.start()

    def rediscover(self) -> None:
        """Send a round soon (the network may have changed) and start the backoff again."""
        with self._lock:
            self._interval = FIRST_INTERVAL
            self._due = max(time.monotonic(), self._last_round + MIN_GAP)
        self._wake()

    def network_changed(self) -> None:
        """The host's addresses changed: send a round from the new ones soon."""
        self.rediscover()

    def announce(self, nick: str) -> None:
        """Carry our new nick (an open room only)."""
        self._beacon = self._encode(nick)

    def close(self) -> None:
        """Stop the thread and close the sockets; idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        self._wake()
        if self._thread.ident is not None:
            self._thread.join()
        for sock in (self._sock, *(self._waker or ())):
            if sock is not None:
                sock.close()

    def _encode(self, nick: str) -> bytes:
        cfg = self._config
        private = cfg.room_tag is not None
        return encode_beacon(
            Beacon(
                cfg.node_id,
                self._port,
                room=None if private else cfg.room,
                tag=cfg.room_tag,
                hint=cfg.room_hint,
                nick="" if private else nick,
            )
        )

    # ---------------------------------------------------------------- thread

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None and self._waker is not None
        wake_r = self._waker[0]
        while True:
            with self._lock:
                if self._closing:
                    return
                wait = max(0.0, min(self._due - time.monotonic(), POLL_SECONDS))
            readable, _, _ = select.select([sock, wake_r], [], [], wait)
            if wake_r in readable:
                with contextlib.suppress(OSError):
                    wake_r.recv(64)
            if sock in readable:
                self._hear(sock)
            if time.monotonic() >= self._due:
                self._send_round()

    def _send_round(self) -> None:
        with self._lock:
            now = time.monotonic()
            self._last_round = now
            self._due = now + self._interval
            self._interval = min(self._interval * 2, MAX_INTERVAL)
        for local, broadcast in broadcast_targets(self._config.scope):
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
                    out.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                    out.bind((local, 0))
                    out.sendto(self._beacon, (broadcast, self._config.udp_port))
            except OSError as exc:
                log.debug("beacon to %s from %s failed: %s", broadcast, local, exc)

    def _hear(self, sock: socket.socket) -> None:
        try:
            data, source = sock.recvfrom(MAX_BEACON_BYTES + 1)
        except OSError:
            return
        host = str(source[0])
        if len(data) > MAX_BEACON_BYTES or not self._allow(host) or not self._from_lan(host):
            return
        if is_probe(data):
            if self._answer_allowed():
                with contextlib.suppress(OSError):
                    sock.sendto(self._beacon, source)
            return
        beacon = decode_beacon(data, self._config.limits)
        if beacon is None or beacon.node_id == self._config.node_id or self._post is None:
            return
        cfg = self._config
        match = match_beacon(beacon, cfg.room, cfg.room_tag, cfg.room_hint)
        if match is BeaconMatch.OTHER_PASSPHRASE and not self._told_other_passphrase:
            self._told_other_passphrase = True
            self._post(ev.OtherPassphraseSeen(beacon.node_id))
        elif (
            match is BeaconMatch.SAME_ROOM
            and self._first_report(beacon, host)
            and self._report_allowed()
        ):
            self._post(ev.PeerDiscovered(((host, beacon.port),), beacon.node_id, "beacon"))

    def _from_lan(self, host: str) -> bool:
        """Only a unicast source on the network of one of our interfaces (in scope, if one is
        given; loopback only if the scope names it) is a neighbour we may dial."""
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            return False
        if address.is_unspecified or address.is_multicast or address.is_reserved:
            return False
        now = time.monotonic()
        if now - self._networks_read >= NETWORKS_TTL:
            self._networks, self._networks_read = interface_networks(self._config.scope), now
        return any(
            address in network
            and address not in (network.network_address, network.broadcast_address)
            for network in self._networks
        )

    def _report_allowed(self) -> bool:
        """One bucket for all reports: spoofed sources are free, our dialling is not."""
        allowed, self._all_reports = _take(self._all_reports, REPORT_RATE, REPORT_BURST)
        return allowed

    def _answer_allowed(self) -> bool:
        """One bucket for all answers: a spoofed probe cannot aim many of ours at one host."""
        allowed, self._answers = _take(self._answers, ANSWER_RATE, ANSWER_BURST)
        return allowed

    def _allow(self, host: str) -> bool:
        """A token bucket per sending address: a flood from one host costs us little."""
        bucket = self._buckets.pop(host, (SOURCE_BURST, time.monotonic()))
        allowed, self._buckets[host] = _take(bucket, SOURCE_RATE, SOURCE_BURST)
        while len(self._buckets) > MAX_SOURCES:
            self._buckets.popitem(last=False)
        return allowed

    def _first_report(self, beacon: Beacon, host: str) -> bool:
        """True if this node at this address was not reported within REPORT_EVERY."""
        key, now = (beacon.node_id, host, beacon.port), time.monotonic()
        last = self._reported.pop(key, None)
        self._reported[key] = now if last is None or now - last >= REPORT_EVERY else last
        while len(self._reported) > MAX_SOURCES:
            self._reported.popitem(last=False)
        return last is None or now - last >= REPORT_EVERY

    def _wake(self) -> None:
        if self._waker is not None:
            with contextlib.suppress(OSError):
                self._waker[1].send(b"x")


def _take(
    bucket: tuple[float, float], rate: float, burst: float
) -> tuple[bool, tuple[float, float]]:
    """Take a token from a (tokens, when counted) bucket: whether there was one, and the bucket."""
    now = time.monotonic()
    tokens, then = bucket
    tokens = min(burst, tokens + (now - then) * rate)
    allowed = tokens >= 1.0
    return allowed, (tokens - 1.0 if allowed else tokens, now)


def _open_receiver(udp_port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        share_port(sock)  # several nodes on one host hear every beacon
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        # Broadcasts reach only sockets bound to the wildcard address; the scope filters.
        sock.bind(("", udp_port))
    except OSError as exc:
        sock.close()
        raise BeaconError(f"UDP port {udp_port} cannot be used: {exc.strerror or exc}") from None
    return sock
