"""Several "machines" made of network namespaces on a private bridge: mDNS alone, cuts, healing."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import ChatProcess, Cluster
from tests.e2e.netlan import Lan

DISCOVERY_TIMEOUT = 20.0
SYNC_TIMEOUT = 30.0
LOSS_SYNC_TIMEOUT = 60.0
POLL_INTERVAL = 0.2

pytestmark = pytest.mark.netns


def start_on(cluster: Cluster, lan: Lan, i: int, *args: str) -> ChatProcess:
    """A node on host i with mDNS on all of that host's interfaces."""
    prefix = ("ip", "netns", "exec", lan.host_ns(i))
    return cluster.start(f"h{i}", *args, prefix=prefix, bind=None, mdns=True).ready()


def test_hosts_find_each_other_by_mdns_alone(cluster: Cluster, lan: Callable[[int], Lan]) -> None:
    net = lan(3)
    nodes = [start_on(cluster, net, i) for i in (1, 2, 3)]
    ids = {n.id for n in nodes}
    for node in nodes:
        node.wait_peers(ids - {node.id}, timeout=DISCOVERY_TIMEOUT)
        peers = [e for e in node.events if e["event"] == "peer_joined"]
        assert all(p["addr"].startswith("198.18.0.") for p in peers)
    nodes[0].send("across the bridge")
    for node in nodes:
        node.wait_for(lambda e: e.get("text") == "across the bridge")


def test_cut_cable_is_noticed_and_the_mesh_heals(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(3)
    a, b, c = (start_on(cluster, net, i) for i in (1, 2, 3))
    for node in (a, b, c):
        node.wait_peers({a.id, b.id, c.id} - {node.id}, timeout=DISCOVERY_TIMEOUT)
    net.set_link(3, up=False)
    for node, gone in ((a, c), (b, c), (c, a), (c, b)):
        left = node.wait_for(lambda e, g=gone: e["event"] == "peer_left" and e["id"] == g.id)
        # "lost": the cut came while two simultaneous dials were being settled (the peer had
        # said it keeps its other link, and neither link came back).
        assert left["reason"] in ("timed out", "connection error: Connection timed out", "lost")
    a.send("while c is away")
    b.wait_for(lambda e: e.get("text") == "while c is away")
    net.set_link(3, up=True)
    for node in (a, b, c):
        node.wait_peers({a.id, b.id, c.id} - {node.id}, timeout=DISCOVERY_TIMEOUT)
    c.send("back again")
    for node in (a, b):
        node.wait_for(lambda e: e.get("text") == "back again")


@pytest.mark.timeout(150)
def test_a_file_transfer_resumes_after_its_cable_is_cut_and_plugged_back(
    cluster: Cluster, lan: Callable[[int], Lan], tmp_path: Path
) -> None:
    net = lan(2)
    downloads = tmp_path / "downloads"
    a = start_on(cluster, net, 1, "--downloads", str(tmp_path / "unused"))
    b = start_on(cluster, net, 2, "--downloads", str(downloads))
    a.wait_peers({b.id}, timeout=DISCOVERY_TIMEOUT)
    net.shape(2, "80mbit")  # 48 MiB then take about 5 s: time to cut the cable part-way
    source = tmp_path / "film.mkv"
    data = os.urandom(48 * 1024 * 1024)
    source.write_bytes(data)
    a.send(f"/share {source}")
    offer = b.wait_for(lambda e: e["event"] == "file_offer", timeout=SYNC_TIMEOUT)
    b.send(f"/accept {offer['id']}")
    b.wait_for(lambda e: e["event"] == "file_progress" and e["done"] > 0, timeout=SYNC_TIMEOUT)
    net.set_link(2, up=False)
    b.wait_for(lambda e: "link lost, will resume" in e.get("message", ""), timeout=SYNC_TIMEOUT)
    [part] = downloads.glob(".film.mkv.*.part")
    kept = part.stat().st_size
    assert 0 < kept < len(data)
    net.set_link(2, up=True)
    since = len(b.events)
    b.wait_for(lambda e: "resuming at" in e.get("message", ""), timeout=SYNC_TIMEOUT, since=since)
    done = b.wait_for(lambda e: e["event"] == "file_done", timeout=SYNC_TIMEOUT, since=since)
    assert Path(done["path"]).read_bytes() == data
    assert not list(downloads.glob("*.part"))
    a.wait_for(lambda e: e["event"] == "file_done" and e.get("sending"), timeout=SYNC_TIMEOUT)


def same_histories(
    nodes: list[ChatProcess], count: int, timeout: float = SYNC_TIMEOUT
) -> list[str]:
    """Wait until every node holds count messages, in one order; return that order."""
    deadline = time.monotonic() + timeout
    while True:
        histories = [n.history() for n in nodes]
        if all(len(h) == count and h == histories[0] for h in histories):
            return histories[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"histories differ: sizes {[len(h) for h in histories]}")
        time.sleep(POLL_INTERVAL)


def test_split_mesh_chats_on_both_sides_then_heals_to_identical_logs(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(4)
    nodes = [start_on(cluster, net, i) for i in (1, 2, 3, 4)]
    ids = {n.id for n in nodes}
    for node in nodes:
        node.wait_peers(ids - {node.id}, timeout=DISCOVERY_TIMEOUT)
    nodes[0].send("before the split")
    same_histories(nodes, 1)
    net.faults("split", "1,2", "3,4")
    left, right = nodes[:2], nodes[2:]
    for node in left:
        for gone in right:
            node.wait_for(lambda e, g=gone: e["event"] == "peer_left" and e["id"] == g.id)
    for i in range(6):
        left[i % 2].send(f"left side {i}")
        right[i % 2].send(f"right side {i}")
    net.faults("heal")
    for node in nodes:
        node.wait_peers(ids - {node.id}, timeout=DISCOVERY_TIMEOUT)
    order = same_histories(nodes, 13)
    assert len(set(order)) == 13
    for node in nodes:
        shown = [m["msg_id"] for m in node.messages()]
        assert len(shown) == len(set(shown)) == 13


def test_twenty_percent_packet_loss_loses_no_message(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(3)
    nodes = [start_on(cluster, net, i) for i in (1, 2, 3)]
    ids = {n.id for n in nodes}
    for node in nodes:
        node.wait_peers(ids - {node.id}, timeout=DISCOVERY_TIMEOUT)
    net.faults("loss", "20")
    for i in range(30):
        nodes[i % 3].send(f"through the noise {i}")
    same_histories(nodes, 30, timeout=LOSS_SYNC_TIMEOUT)
    net.faults("heal")
    for node in nodes:
        shown = [m["msg_id"] for m in node.messages()]
        assert len(shown) == len(set(shown)) == 30


def test_a_third_of_links_cut_still_reaches_everyone(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(6)
    # 5 of the 15 host pairs cannot talk; every host still has a path to every other.
    net.faults("cut", "1-2", "1-3", "2-4", "3-5", "4-6")
    nodes = [start_on(cluster, net, i) for i in range(1, 7)]
    for node in nodes:
        node.wait_for(lambda e: e["event"] == "peer_joined", timeout=DISCOVERY_TIMEOUT)
    for i, node in enumerate(nodes):
        node.send(f"from host {i + 1}")
    same_histories(nodes, 6)
    for node in nodes:
        shown = Counter(m["text"] for m in node.messages())
        assert shown == Counter(f"from host {i}" for i in range(1, 7))
