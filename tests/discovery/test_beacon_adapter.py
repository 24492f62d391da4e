"""Beacon discovery on 127.0.0.1 in this process: what it reports, and what hostile datagrams
cannot make it do. A private UDP port, never the default one, and only loopback."""

from __future__ import annotations

import contextlib
import queue
import socket
import time

import pytest

from p2pchat.core import events as ev
from p2pchat.core.beacon import Beacon, decode_beacon, encode_beacon, encode_probe
from p2pchat.core.limits import Limits
from p2pchat.discovery.broadcast import (
    ANSWER_BURST,
    SOURCE_BURST,
    BeaconConfig,
    BeaconDiscovery,
)

ME = "a" * 32
OTHER = "b" * 32
TAG = "c" * 32
WAIT = 5.0
QUIET = 1.0  # how long nothing more must arrive after a flood (events, not sleeps, end it early)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def heard() -> object:
    port = free_udp_port()
    posted: queue.SimpleQueue[object] = queue.SimpleQueue()
    config = BeaconConfig(ME, "lobby", Limits(), ("127.0.0.1",), None, "", port)
    beacon = BeaconDiscovery(config)
    beacon.start(4000, posted.put)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    try:
        yield posted, lambda data: sender.sendto(data, ("127.0.0.1", port)), beacon, port
    finally:
        sender.close()
        beacon.close()


def drain(posted: queue.SimpleQueue[object], until: float = QUIET) -> list[object]:
    found: list[object] = []
    deadline = time.monotonic() + until
    while (left := deadline - time.monotonic()) > 0:
        try:
            found.append(posted.get(timeout=left))
        except queue.Empty:
            break
    return found


def test_a_beacon_of_our_room_is_reported_once_and_ours_and_others_are_not(heard: object) -> None:
    posted, send, _, _ = heard  # type: ignore[misc]
    send(encode_beacon(Beacon(ME, 4000, room="lobby")))  # our own, heard back
    send(encode_beacon(Beacon(OTHER, 5000, room="elsewhere")))
    send(encode_beacon(Beacon(OTHER, 5000, room="lobby")))
    send(encode_beacon(Beacon(OTHER, 5000, room="lobby")))  # the same again: reported once
    found = drain(posted)
    assert found == [ev.PeerDiscovered((("127.0.0.1", 5000),), OTHER, "beacon")]


def test_garbage_and_a_flood_from_one_address_change_little(heard: object) -> None:
    posted, send, _, port = heard  # type: ignore[misc]
    for data in (b"", b"\x00" * 600, b"{" * 400, b'{"p2pchat":"p2pchat-beacon"}', b"\xff" * 40):
        send(data)
    for i in range(2000):  # many node IDs from one address, as fast as it can send
        send(encode_beacon(Beacon(f"{i:032x}", 5000, room="lobby")))
    found = drain(posted)
    assert all(isinstance(e, ev.PeerDiscovered) for e in found)
    assert len(found) <= SOURCE_BURST + 2  # the burst, and a token or two while it ran
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as elsewhere:  # another host
        elsewhere.bind(("127.0.0.2", 0))
        elsewhere.sendto(encode_beacon(Beacon(OTHER, 6000, room="lobby")), ("127.0.0.1", port))
        honest = drain(posted)
    assert honest == [ev.PeerDiscovered((("127.0.0.2", 6000),), OTHER, "beacon")]


def test_our_room_name_with_another_passphrase_is_told_once() -> None:
    port = free_udp_port()
    posted: queue.SimpleQueue[object] = queue.SimpleQueue()
    config = BeaconConfig(ME, "team", Limits(), ("127.0.0.1",), TAG, "abc", port)
    beacon = BeaconDiscovery(config)
    beacon.start(4000, posted.put)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for node in (OTHER, "d" * 32):
                other = Beacon(node, 5000, tag="e" * 32, hint="abc")
                sender.sendto(encode_beacon(other), ("127.0.0.1", port))
            sender.sendto(encode_beacon(Beacon(OTHER, 5000, tag=TAG)), ("127.0.0.1", port))
        found = drain(posted)
    finally:
        beacon.close()
    assert found == [
        ev.OtherPassphraseSeen(OTHER),
        ev.PeerDiscovered((("127.0.0.1", 5000),), OTHER, "beacon"),
    ]


def test_it_sends_its_own_beacon_on_loopback_only_when_scoped_there() -> None:
    port = free_udp_port()
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(("", port))
    listener.settimeout(WAIT)
    beacon = BeaconDiscovery(BeaconConfig(ME, "lobby", Limits(), ("127.0.0.1",), None, "", port))
    try:
        beacon.start(4321, lambda event: None)
        data, source = listener.recvfrom(1024)
    finally:
        beacon.close()
        listener.close()
    assert source[0] == "127.0.0.1"
    assert data == encode_beacon(Beacon(ME, 4321, room="lobby"))


def test_a_probe_is_answered_with_our_beacon_and_a_flood_of_probes_only_a_few_times() -> None:
    port = free_udp_port()
    config = BeaconConfig(ME, "lobby", Limits(), ("127.0.0.1",), None, "", port, nick="ann")
    beacon = BeaconDiscovery(config)
    beacon.start(4321, lambda event: None)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as asker:
            asker.bind(("127.0.0.1", 0))
            asker.settimeout(WAIT)
            asker.sendto(encode_probe(), ("127.0.0.1", port))
            data, _ = asker.recvfrom(1024)
            assert decode_beacon(data, Limits()) == Beacon(ME, 4321, room="lobby", nick="ann")
            beacon.announce("bea")  # a new nick is what the next answer says
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:  # another source
                other.bind(("127.0.0.2", 0))
                other.settimeout(WAIT)
                other.sendto(encode_probe(), ("127.0.0.1", port))
                data, _ = other.recvfrom(1024)
            assert decode_beacon(data, Limits()) == Beacon(ME, 4321, room="lobby", nick="bea")
            for _ in range(200):  # spoofing costs nothing: the answers are few, whatever comes
                asker.sendto(encode_probe(), ("127.0.0.1", port))
            asker.settimeout(QUIET)
            answers = 0
            with contextlib.suppress(TimeoutError):
                while True:
                    asker.recvfrom(1024)
                    answers += 1
    finally:
        beacon.close()
    assert 1 <= answers <= ANSWER_BURST + 2


def test_a_private_room_answers_a_probe_without_name_or_nick() -> None:
    port = free_udp_port()
    config = BeaconConfig(ME, "team", Limits(), ("127.0.0.1",), TAG, "abc", port, nick="ann")
    beacon = BeaconDiscovery(config)
    beacon.start(4321, lambda event: None)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as asker:
            asker.bind(("127.0.0.1", 0))
            asker.settimeout(WAIT)
            asker.sendto(encode_probe(), ("127.0.0.1", port))
            data, _ = asker.recvfrom(1024)
    finally:
        beacon.close()
    assert decode_beacon(data, Limits()) == Beacon(ME, 4321, tag=TAG, hint="abc")
    assert b"ann" not in data and b"team" not in data
