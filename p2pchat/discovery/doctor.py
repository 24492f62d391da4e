"""`p2pchat doctor`'s probes: what each discovery layer sees from here, in one short run.

Everything runs side by side for the run's seconds: mDNS browses for p2pchat nodes (and asks
which services exist, so any mDNS speaker answers), a raw socket counts the machines heard on
UDP 5353, the beacon probe asks every node in reach to answer, and with --scan the chat port is
tried on the local subnets. Then each node found is asked for its HELLO over TCP, which tells
whether a firewall stands between us. Every datagram and frame read is hostile input.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import queue
import select
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from zeroconf import ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from p2pchat.core.beacon import (
    BEACON_KIND,
    MAX_BEACON_BYTES,
    Beacon,
    BeaconMatch,
    beacon_from_fields,
    decode_beacon,
    encode_probe,
    match_beacon,
)
from p2pchat.core.codec import FrameDecoder
from p2pchat.core.diagnosis import (
    BeaconFinding,
    Findings,
    MdnsFinding,
    PortFinding,
    PortState,
    ScanFinding,
    Sighting,
    Via,
)
from p2pchat.core.errors import ProtocolError
from p2pchat.core.limits import DEFAULT_LIMITS, DEFAULT_PORT, SERVICE_TYPE, Limits
from p2pchat.core.messages import HIDDEN, Hello, decode_message
from p2pchat.discovery.interfaces import (
    WILDCARDS,
    broadcast_targets,
    interface_addresses,
    interface_networks,
    local_addresses,
)
from p2pchat.discovery.mdns import open_zeroconf
from p2pchat.discovery.scan import open_ports, scan_targets
from p2pchat.netutil import claim_port_exclusively, share_port

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 8.0  # the whole run takes about this and the TCP checks after it
PEEK_TIMEOUT = 1.5  # seconds for a node's TCP port to send its HELLO
MAX_HELLO_BYTES = 4096  # a HELLO is a few hundred bytes
PEEK_THREADS = 16
MAX_PEEKS = 64  # addresses whose HELLO is asked for in one run
MAX_SIGHTINGS = 256  # nodes noted in one run, whatever floods
MAX_DATAGRAMS = 4096  # read in one run on each socket, whatever floods
MDNS_PORT = 5353
MDNS_GROUP = "224.0.0.251"
SERVICE_ENUMERATION = "_services._dns-sd._udp.local."  # every mDNS responder answers this
RESOLVE_TIMEOUT_MS = 500
POLL_SECONDS = 0.2
ADDRESS_IN_USE = frozenset({errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)})


@dataclass(frozen=True, slots=True)
class DoctorConfig:
    """What to look for, where, and for how long (scope None: every interface)."""

    room: str
    room_tag: str | None = None
    room_hint: str = ""
    port: int = DEFAULT_PORT
    udp_port: int = DEFAULT_PORT
    seconds: float = DEFAULT_SECONDS
    scope: tuple[str, ...] | None = None
    bind_host: str = "0.0.0.0"
    scan: bool = False
    limits: Limits = DEFAULT_LIMITS


def examine(config: DoctorConfig) -> Findings:
    """Run every probe for config.seconds, then ask each node found for its HELLO."""
    own = frozenset(local_addresses())
    stop = threading.Event()
    mdns = _MdnsProbe(config, own)
    beacon = _BeaconProbe(config)
    scan = _ScanProbe(config, stop) if config.scan else None
    probes: list[_MdnsProbe | _BeaconProbe | _ScanProbe] = [mdns, beacon]
    if scan is not None:
        probes.append(scan)
    try:
        for probe in probes:
            probe.start()
        chat_port = chat_port_state(config, own)
        stop.wait(config.seconds)
    finally:
        stop.set()
        for probe in probes:
            probe.close()
    sightings = _reached([*mdns.sightings, *beacon.sightings], scan, config, own)
    return Findings(
        room=config.room,
        private=config.room_tag is not None,
        port=config.port,
        seconds=config.seconds,
        interfaces=tuple(interface_addresses(config.scope)),
        chat_port=chat_port,
        mdns=mdns.finding(),
        beacon=beacon.finding(),
        scan=None if scan is None else ScanFinding(scan.targets, len(scan.open)),
        sightings=tuple(sightings[:MAX_SIGHTINGS]),
        own_addresses=own,
        scoped=config.scope is not None,
    )


def chat_port_state(config: DoctorConfig, own: frozenset[str]) -> PortFinding:
    """Whether the chat port is free here, or held by a p2pchat (which?) or another program."""
    port = config.port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            claim_port_exclusively(sock)  # as the node does
            sock.bind(("" if config.bind_host in WILDCARDS else config.bind_host, port))
            return PortFinding(port, PortState.FREE)
        except OSError as exc:
            if exc.errno not in ADDRESS_IN_USE:
                return PortFinding(port, PortState.UNUSABLE, exc.strerror or str(exc))
    # A node may listen on one address only: ask loopback first, then ours in scope.
    for host in ("127.0.0.1", *sorted(a for a in own if _in_scope(a, config.scope))):
        if ":" in host:
            continue
        hello = peek_hello(host, port, config.limits)
        if hello is not None:
            return PortFinding(port, PortState.P2PCHAT, _describe(hello))
    return PortFinding(port, PortState.OTHER)


def peek_hello(host: str, port: int, limits: Limits, timeout: float = PEEK_TIMEOUT) -> Hello | None:
    """The HELLO a p2pchat node sends on connect, or None (nothing listens, a firewall, or not
    a p2pchat: anything else is no HELLO). We then hang up before any handshake."""
    deadline = time.monotonic() + timeout
    decoder = FrameDecoder(MAX_HELLO_BYTES)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                data = sock.recv(MAX_HELLO_BYTES)
                if not data:
                    return None
                for payload in decoder.feed(data):
                    message = decode_message(payload, limits)
                    return message if isinstance(message, Hello) else None
    except (OSError, ProtocolError):
        return None
    return None


# ------------------------------------------------------------------------------- probes


class _MdnsProbe:
    """Browses for p2pchat nodes and counts the machines heard speaking mDNS at all."""

    def __init__(self, config: DoctorConfig, own: frozenset[str]) -> None:
        self._config = config
        self._own = own
        self._zc: Zeroconf | None = None
        self._browsers: list[ServiceBrowser] = []
        self._names: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._resolve_all, name="p2pchat-doctor-mdns")
        self._listener: socket.socket | None = None
        self._hearer = threading.Thread(target=self._hear, name="p2pchat-doctor-5353")
        self._stop = threading.Event()
        self._heard: set[str] = set()
        self._error: str | None = None
        self._shared = False
        self.sightings: list[Sighting] = []

    def start(self) -> None:
        """Open the sockets and start browsing; a failure is noted, not raised."""
        self._shared = _port_held(MDNS_PORT)
        try:
            self._zc = open_zeroconf(self._config.scope)
        except OSError as exc:
            self._error = exc.strerror or str(exc)
            return
        with contextlib.suppress(OSError):
            self._listener = _mdns_listener(self._config.scope)
            self._hearer.start()
        self._worker.start()
        for service in (SERVICE_TYPE, SERVICE_ENUMERATION):
            self._browsers.append(ServiceBrowser(self._zc, service, handlers=[self._on_change]))

    def close(self) -> None:
        """Stop browsing and hearing; close the sockets."""
        self._stop.set()
        self._names.put(None)
        for browser in self._browsers:
            browser.cancel()
        for thread in (self._worker, self._hearer):
            if thread.ident is not None:
                thread.join()
        if self._listener is not None:
            self._listener.close()
        if self._zc is not None:
            self._zc.close()

    def finding(self) -> MdnsFinding:
        """What mDNS showed (after close)."""
        return MdnsFinding(self._error, self._shared, len(self._heard - self._own))

    def _on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if service_type == SERVICE_TYPE and state_change is not ServiceStateChange.Removed:
            self._names.put(name)

    def _resolve_all(self) -> None:
        seen: set[str] = set()
        while (name := self._names.get()) is not None:
            if name in seen or len(seen) >= MAX_SIGHTINGS or self._zc is None:
                continue
            seen.add(name)
            info = ServiceInfo(SERVICE_TYPE, name)
            try:
                if not info.load_from_cache(self._zc) and not info.request(
                    self._zc, RESOLVE_TIMEOUT_MS
                ):
                    continue
            except Exception as exc:  # zeroconf closing under us, or a bad record
                log.debug("mDNS resolve of %s failed: %s", name, exc)
                continue
            self.sightings.extend(self._sightings(info))

    def _sightings(self, info: ServiceInfo) -> Iterator[Sighting]:
        props = info.decoded_properties
        version = props.get("v") or ""
        fields: dict[str, object] = {
            key: value for key in ("id", "room", "tag", "rh", "nick") if (value := props.get(key))
        }
        fields.update(p2pchat=BEACON_KIND, v=int(version) if version.isdigit() else None)
        fields["port"] = info.port
        beacon = beacon_from_fields(fields, self._config.limits)
        if beacon is None:
            return
        for address in info.parsed_addresses():
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(address.split("%")[0]).version == 4:
                    yield self._sighting(beacon, address, "mdns")

    def _sighting(self, beacon: Beacon, host: str, via: Via) -> Sighting:
        cfg = self._config
        match = match_beacon(beacon, cfg.room, cfg.room_tag, cfg.room_hint)
        return Sighting(beacon.node_id, (host, beacon.port), via, match, beacon.nick, beacon.room)

    def _hear(self) -> None:
        sock = self._listener
        assert sock is not None
        for _ in range(MAX_DATAGRAMS):
            if not _readable(sock, self._stop):
                return
            with contextlib.suppress(OSError):
                _, source = sock.recvfrom(9000)
                self._heard.add(str(source[0]))


class _BeaconProbe:
    """Asks every node in reach for its beacon, and hears the beacons broadcast meanwhile."""

    def __init__(self, config: DoctorConfig) -> None:
        self._config = config
        self._senders: list[tuple[socket.socket, str, str]] = []  # socket, local, broadcast
        self._listener: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="p2pchat-doctor-beacon")
        self._stop = threading.Event()
        self._sent_on: list[str] = []
        self._error: str | None = None
        self._not_hearing: str | None = None
        self._networks = interface_networks(config.scope)
        self.sightings: list[Sighting] = []

    def start(self) -> None:
        """Open the sockets and send the first probe; failures are noted, not raised."""
        try:
            self._listener = _beacon_listener(self._config.udp_port)
        except OSError as exc:
            self._not_hearing = exc.strerror or str(exc)
        for local, broadcast in broadcast_targets(self._config.scope):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                sock.bind((local, 0))
            except OSError as exc:
                self._error = f"{local}: {exc.strerror or exc}"
                sock.close()
                continue
            self._senders.append((sock, local, broadcast))
        self._send()
        self._thread.start()

    def close(self) -> None:
        """Stop and close the sockets."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join()
        for sock, _, _ in self._senders:
            sock.close()
        if self._listener is not None:
            self._listener.close()

    def finding(self) -> BeaconFinding:
        """What the beacon showed (after close)."""
        return BeaconFinding(tuple(self._sent_on), self._error, self._not_hearing)

    def _send(self) -> None:
        probe = encode_probe()
        for sock, local, broadcast in self._senders:
            try:
                sock.sendto(probe, (broadcast, self._config.udp_port))
            except OSError as exc:
                self._error = f"{local}: {exc.strerror or exc}"
            else:
                if local not in self._sent_on:
                    self._sent_on.append(local)

    def _run(self) -> None:
        socks = [s for s, _, _ in self._senders] + ([self._listener] if self._listener else [])
        again: float | None = (
            time.monotonic() + self._config.seconds / 2
        )  # once more, in case one was lost
        for _ in range(MAX_DATAGRAMS):
            if self._stop.is_set() or not socks:
                return
            if again is not None and time.monotonic() >= again:
                again = None
                self._send()
            readable, _, _ = select.select(socks, [], [], POLL_SECONDS)
            for sock in readable:
                with contextlib.suppress(OSError):
                    data, source = sock.recvfrom(MAX_BEACON_BYTES + 1)
                    self._heard(data, str(source[0]))

    def _heard(self, data: bytes, host: str) -> None:
        if len(self.sightings) >= MAX_SIGHTINGS or not self._from_lan(host):
            return
        beacon = decode_beacon(data, self._config.limits)
        if beacon is None:
            return
        cfg = self._config
        match = match_beacon(beacon, cfg.room, cfg.room_tag, cfg.room_hint)
        sighting = Sighting(beacon.node_id, (host, beacon.port), "beacon", match, beacon.nick)
        sighting = replace(sighting, room=beacon.room)
        if sighting not in self.sightings:
            self.sightings.append(sighting)

    def _from_lan(self, host: str) -> bool:
        with contextlib.suppress(ValueError):
            address = ipaddress.IPv4Address(host)
            return any(address in network for network in self._networks)
        return False


class _ScanProbe:
    """Tries the chat port on every address of the local subnets (--scan)."""

    def __init__(self, config: DoctorConfig, stop: threading.Event) -> None:
        self._config = config
        self._stop = stop
        self._thread = threading.Thread(target=self._run, name="p2pchat-doctor-scan")
        self.targets = 0
        self.open: list[str] = []

    def start(self) -> None:
        """Begin scanning."""
        self._thread.start()

    def close(self) -> None:
        """Stop scanning (the run is over)."""
        if self._thread.ident is not None:
            self._thread.join()

    def _run(self) -> None:
        targets = scan_targets(self._config.scope)
        self.targets = len(targets)
        with contextlib.suppress(OSError):
            self.open.extend(open_ports(targets, self._config.port, self._stop))


# ------------------------------------------------------------------------------- helpers


def _reached(
    sightings: list[Sighting],
    scan: _ScanProbe | None,
    config: DoctorConfig,
    own: frozenset[str],
) -> list[Sighting]:
    """The sightings with whether each node's TCP port answered; the scan's open ports that
    turned out to be p2pchat nodes added as sightings of their own."""
    wanted = list(
        dict.fromkeys(
            s.addr for s in sightings if s.addr[0] not in own and s.match is BeaconMatch.SAME_ROOM
        )
    )
    scanned = [] if scan is None else [(host, config.port) for host in scan.open]
    addresses = list(dict.fromkeys([*wanted, *scanned]))[:MAX_PEEKS]
    with ThreadPoolExecutor(max_workers=PEEK_THREADS) as pool:
        hellos = dict(
            zip(
                addresses,
                pool.map(lambda a: peek_hello(a[0], a[1], config.limits), addresses),
                strict=True,
            )
        )
    reached = [
        replace(s, reachable=(h := hellos.get(s.addr)) is not None and h.node_id == s.node_id)
        if s.addr in hellos
        else s
        for s in sightings
    ]
    for addr in scanned:
        hello = hellos.get(addr)
        if hello is not None:
            reached.append(_hello_sighting(hello, addr, config))
    return reached


def _hello_sighting(hello: Hello, addr: tuple[str, int], config: DoctorConfig) -> Sighting:
    private = bool(hello.tag)
    beacon = Beacon(
        hello.node_id,
        addr[1],
        room=None if private else hello.room,
        tag=hello.tag or None,
        version=hello.version,
    )
    match = match_beacon(beacon, config.room, config.room_tag, config.room_hint)
    nick = "" if private or hello.nick == HIDDEN else hello.nick
    return Sighting(hello.node_id, addr, "scan", match, nick, beacon.room, reachable=True)


def _describe(hello: Hello) -> str:
    if hello.tag:
        return "a private room"
    return f"{hello.nick} in room {hello.room!r}"


def _in_scope(address: str, scope: tuple[str, ...] | None) -> bool:
    return scope is None or address in scope


def _port_held(port: int) -> bool:
    """True if another socket holds this UDP port (we could not bind it without sharing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("", port))
        except OSError as exc:
            return exc.errno in ADDRESS_IN_USE
    return False


def _mdns_listener(scope: tuple[str, ...] | None) -> socket.socket:
    """A socket sharing UDP 5353 that hears the mDNS group on the interfaces in scope."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        share_port(sock)
        sock.bind(("", MDNS_PORT))
        for found in interface_addresses(scope):
            if scope is None and found.address.startswith("127."):
                continue
            membership = socket.inet_aton(MDNS_GROUP) + socket.inet_aton(found.address)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    except OSError:
        sock.close()
        raise
    return sock


def _beacon_listener(udp_port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        share_port(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.bind(("", udp_port))
    except OSError:
        sock.close()
        raise
    return sock


def _readable(sock: socket.socket, stop: threading.Event) -> bool:
    """Wait until sock has a datagram (True) or stop is set (False)."""
    while not stop.is_set():
        readable, _, _ = select.select([sock], [], [], POLL_SECONDS)
        if readable:
            return True
    return False
