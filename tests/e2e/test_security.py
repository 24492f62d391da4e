"""Private rooms, unforgeable authors and hostile input, with real processes on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from p2pchat.core.messages import Chat, Hello, with_fields
from tests.e2e.harness import ChatProcess, Cluster
from tests.rawpeer import RawPeer, json_frame

SECRET = {"P2PCHAT_SECRET": "correct horse battery staple"}
WRONG = {"P2PCHAT_SECRET": "incorrect horse battery staple"}
SETTLE_TIMEOUT = 15.0


def private(cluster: Cluster, nick: str, env: dict[str, str], *peers: ChatProcess) -> ChatProcess:
    args = [arg for p in peers for arg in ("--peer", p.addr)]
    return cluster.start(nick, *args, env=env).ready()


def test_members_chat_and_a_wrong_passphrase_can_neither_read_nor_post(cluster: Cluster) -> None:
    alice = private(cluster, "alice", SECRET)
    assert alice.events[0]["private"] is True
    bob = private(cluster, "bob", SECRET, alice)
    eve = private(cluster, "eve", WRONG, alice, bob)
    alice.wait_peers({bob.id})
    bob.send("for members only")
    alice.wait_for(lambda e: e.get("text") == "for members only")
    eve.send("let me in")
    # Eve keeps being refused; give her attempts time, bounded by a round trip of real traffic.
    alice.send("still private")
    bob.wait_for(lambda e: e.get("text") == "still private")
    assert eve.linked() == set() and not [m for m in eve.messages() if not m["own"]]
    assert not [m for m in alice.messages() + bob.messages() if m["text"] == "let me in"]
    refused = eve.wait_for(lambda e: e["event"] == "error")
    assert "not in this private room" in refused["message"]


TAP_BUFFER_BYTES = 32 * 1024 * 1024
ETHERNET_HEADER_BYTES = 14  # what AF_PACKET puts before the IP header, on lo too


class LoopbackTap:
    """Records every frame on lo while it runs (root only): what an eavesdropper would see."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        # Room for bursts of other loopback traffic (other tests, a benchmark): a full buffer
        # drops packets, the HELLOs among them.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, TAP_BUFFER_BYTES)
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.1)
        self.packets: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loopback-tap")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.packets.append(self.sock.recv(65536))
            except TimeoutError:
                continue

    def stop(self, port: int) -> bytes:
        """Stop; the packets to or from TCP port (other tests' traffic on lo left out)."""
        self._stop.set()
        self._thread.join()
        self.sock.close()
        return b"".join(p for p in self.packets if port in _tcp_ports(p))


def _tcp_ports(packet: bytes) -> tuple[int, ...]:
    """(source, destination) of an IPv4 TCP packet as captured on lo, else ()."""
    ip = packet[ETHERNET_HEADER_BYTES:]
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_TCP:
        return ()
    tcp = ip[(ip[0] & 0x0F) * 4 :]
    return struct.unpack("!HH", tcp[:4]) if len(tcp) >= 4 else ()


@pytest.fixture
def tap() -> Iterator[type[LoopbackTap]]:
    if os.geteuid() != 0:
        pytest.skip("capturing loopback traffic needs root")
    yield LoopbackTap


def eavesdrop(cluster: Cluster, env: dict[str, str], tap_cls: type[LoopbackTap], tag: str) -> bytes:
    tap = tap_cls()
    port = 0
    try:
        first = cluster.start(f"ann{tag}", env=env).ready()
        port = first.port
        second = cluster.start(f"ben{tag}", "--peer", first.addr, env=env).ready()
        first.wait_peers({second.id})
        second.send(f"the launch code is {tag}1234")
        first.wait_for(lambda e: e.get("text") == f"the launch code is {tag}1234")
        first.send(f"/msg ben{tag} meet at the {tag}fountain")
        second.wait_for(lambda e: e.get("direct") is True)
    finally:
        captured = tap.stop(port)
    return captured


def test_an_eavesdropper_sees_only_ciphertext_in_any_room(
    cluster: Cluster, tap: type[LoopbackTap]
) -> None:
    # Open room: only the HELLOs are in the clear (so the tap works), never what is said.
    open_room = eavesdrop(cluster, {}, tap, "open")
    assert b'"t":"hello"' in open_room and b"annopen" in open_room
    for secret in (b"the launch code is open1234", b"openfountain", b'"t":"chat"'):
        assert secret not in open_room, secret
    captured = eavesdrop(cluster, SECRET, tap, "priv")
    for secret in (
        b"the launch code is priv1234",
        b"privfountain",
        b"annpriv",
        b"benpriv",
        b"lobby",
    ):
        assert secret not in captured, secret


def test_a_malicious_relay_can_neither_alter_nor_forge_nor_replay(cluster: Cluster) -> None:
    a = cluster.start("alice").ready()
    b = cluster.start("bob", "--peer", a.addr).ready()
    a.wait_peers({b.id})
    relay = RawPeer(a.port, "mallory")
    try:
        relay.handshake()
        a.wait_for(lambda e: e["event"] == "peer_joined" and e["nick"] == "mallory")
        b.send("transfer 10 euros")
        original = None
        while original is None:
            message = relay.recv()  # alice relays bob's message to us: we are not linked to him
            if isinstance(message, Chat) and message.text == "transfer 10 euros":
                original = message
        attacks = [
            with_fields(original, text="transfer 1000 euros"),  # altered in transit
            with_fields(original, seq=original.seq + 1, text="give mallory the keys"),  # forged seq
            with_fields(
                relay.chat(1, "in bob's name"), author=original.author
            ),  # bob's ID, our key
            original,  # replayed as is
        ]
        for attack in attacks:
            relay.send(attack)
        a.send("checkpoint")
        b.wait_for(lambda e: e.get("text") == "checkpoint")
        for node in (a, b):
            texts = [m["text"] for m in node.messages()]
            assert texts.count("transfer 10 euros") == 1
            assert not {"transfer 1000 euros", "give mallory the keys", "in bob's name"} & set(
                texts
            )
        # The forgery did not take bob's next ID: his real next message still arrives.
        b.send("the real next one")
        a.wait_for(lambda e: e.get("text") == "the real next one")
        # Two more invalid messages and mallory is cut off (five strikes).
        for text in ("x", "y"):
            relay.send(with_fields(original, text=text))
        left = a.wait_for(lambda e: e["event"] == "peer_left" and e["nick"] == "mallory")
        assert left["reason"] == "too many invalid messages"
    finally:
        relay.close()


def test_a_flood_of_idle_and_garbage_connections_does_not_stop_the_chat(cluster: Cluster) -> None:
    a = cluster.start("alice").ready()
    b = cluster.start("bob", "--peer", a.addr).ready()
    a.wait_peers({b.id})
    idle: list[socket.socket] = []
    try:
        for i in range(300):
            # From another loopback address, like an attacker's machine on the LAN.
            sock = socket.create_connection(
                ("127.0.0.1", a.port), timeout=5, source_address=("127.0.0.2", 0)
            )
            if i % 3 == 0:
                sock.sendall(json_frame({"t": "hello", "v": 1, "id": "x"}))  # garbage
            idle.append(sock)
        for i in range(20):
            b.send(f"through the flood {i}")
        a.wait_count(lambda e: e.get("text", "").startswith("through the flood"), 20)
        # A newcomer still gets in, and the flood is cleared within the handshake deadline.
        late = RawPeer(a.port, "late")
        late.handshake()
        late.close()
        for sock in idle:
            sock.settimeout(SETTLE_TIMEOUT)
            assert closed_by_peer(sock)
    finally:
        for sock in idle:
            sock.close()
    assert a.proc.poll() is None


def closed_by_peer(sock: socket.socket) -> bool:
    """Read until the peer closes (True) or the timeout passes (False)."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def test_private_hello_reveals_neither_room_nor_nick(cluster: Cluster) -> None:
    a = cluster.start("alice", env=SECRET).ready()
    peer = RawPeer(a.port)
    try:
        peer.send(peer.hello())
        theirs = peer.recv()
        assert isinstance(theirs, Hello)
        assert (theirs.nick, theirs.room) == ("-", "-") and theirs.tag
    finally:
        peer.close()
