"""Discovery by mDNS alone, restricted to loopback (never the real network)."""

from __future__ import annotations

import socket
import threading
import time

from zeroconf import DNSIncoming

from p2pchat.core.limits import SERVICE_TYPE
from tests.e2e.harness import Cluster

LOOPBACK = ("--interface", "127.0.0.1")
MDNS_GROUP = "224.0.0.251"
MDNS_PORT = 5353
DISCOVERY_TIMEOUT = 20.0


def test_nodes_find_each_other_by_mdns_alone_and_rooms_stay_apart(cluster: Cluster) -> None:
    nodes = [cluster.start(f"m{i}", *LOOPBACK, mdns=True).ready() for i in range(3)]
    stranger = cluster.start("stranger", *LOOPBACK, "--room", "elsewhere", mdns=True).ready()
    ids = {n.id for n in nodes}
    for node in nodes:
        node.wait_peers(ids - {node.id}, timeout=DISCOVERY_TIMEOUT)
    nodes[2].send("found you all")
    for node in nodes:
        node.wait_for(lambda e: e.get("text") == "found you all")
    assert stranger.linked() == set()
    assert not stranger.messages()
    for node in nodes:
        assert stranger.id not in node.linked()


class GoodbyeCounter:
    """Counts mDNS responses on loopback that withdraw (TTL 0) a given p2pchat instance."""

    def __init__(self, instance_prefix: str) -> None:
        self.prefix = instance_prefix
        self.count = 0
        self._cond = threading.Condition()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.sock.bind(("", MDNS_PORT))
        membership = socket.inet_aton(MDNS_GROUP) + socket.inet_aton("127.0.0.1")
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="goodbye-counter")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(9000)
            except TimeoutError:
                continue
            message = DNSIncoming(data)
            if any(
                record.name == SERVICE_TYPE
                and record.ttl == 0
                and getattr(record, "alias", "").startswith(self.prefix)
                for record in message.answers()
            ):
                with self._cond:
                    self.count += 1
                    self._cond.notify_all()

    def wait(self, count: int, timeout: float) -> int:
        """Wait until count goodbyes were seen (or timeout); return how many were."""
        with self._cond:
            self._cond.wait_for(lambda: self.count >= count, timeout)
            return self.count

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def test_quitting_node_really_sends_all_three_mdns_goodbyes(cluster: Cluster) -> None:
    node = cluster.start("leaver", *LOOPBACK, mdns=True).ready()
    other = cluster.start("stayer", *LOOPBACK, mdns=True).ready()
    other.wait_peers({node.id}, timeout=DISCOVERY_TIMEOUT)
    counter = GoodbyeCounter(f"leaver-{node.id[:12]}")
    try:
        started = time.monotonic()
        assert node.terminate() == 0
        assert time.monotonic() - started < 3.0
        assert counter.wait(3, timeout=2.0) == 3
    finally:
        counter.close()


def test_a_wrong_passphrase_is_named_within_seconds_without_any_manual_step(
    cluster: Cluster,
) -> None:
    # Issue 12: with discovery, a node whose passphrase differs simply saw nobody.
    right = {"P2PCHAT_SECRET": "correct horse battery staple"}
    wrong = {"P2PCHAT_SECRET": "incorrect horse battery staple"}
    alice = cluster.start("alice", *LOOPBACK, "--room", "team", mdns=True, env=right).ready()
    eve = cluster.start("eve", *LOOPBACK, "--room", "team", mdns=True, env=wrong).ready()
    for node in (alice, eve):
        told = node.wait_for(
            lambda e: e["event"] == "error" and "another passphrase" in e["message"],
            timeout=DISCOVERY_TIMEOUT,
        )
        assert "private room with the name 'team'" in told["message"]
