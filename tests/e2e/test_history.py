"""History with real processes on 127.0.0.1: late joiners, restarts, SIGKILL, `history`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.e2e.harness import ChatProcess, Cluster, chain

SYNC_TIMEOUT = 30.0
POLL_INTERVAL = 0.2


def wait_same_history(nodes: list[ChatProcess], count: int) -> list[str]:
    """Wait until every node's stored history has count messages and all are equal."""
    deadline = time.monotonic() + SYNC_TIMEOUT
    while True:
        histories = [n.history() for n in nodes]
        if all(len(h) == count for h in histories) and all(h == histories[0] for h in histories):
            return histories[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"histories differ: sizes {[len(h) for h in histories]}")
        time.sleep(POLL_INTERVAL)


def test_late_joiner_gets_the_200_earlier_messages_in_the_same_order(cluster: Cluster) -> None:
    nodes = list(chain(cluster, 3))
    for node in nodes:
        node.wait_peers({n.id for n in nodes} - {node.id})
    for i in range(200):
        nodes[i % 3].send(f"early {i}")
    for node in nodes:
        node.wait_count(lambda e: e["event"] == "message", 200, SYNC_TIMEOUT)
    late = cluster.start("late", "--peer", nodes[1].addr).ready()
    got = late.wait_count(lambda e: e["event"] == "message", 200, SYNC_TIMEOUT)
    assert all(m["backfill"] for m in got)
    assert len({m["msg_id"] for m in got}) == 200
    order = wait_same_history([*nodes, late], 200)
    assert [m["msg_id"] for m in got] == order  # backfill arrives oldest first
    assert any("you missed" in e.get("message", "") for e in late.events)


def test_restart_shows_the_stored_history_after_ready(cluster: Cluster) -> None:
    a, b = chain(cluster, 2)
    a.wait_peers({b.id})
    for i in range(5):
        b.send(f"keep {i}")
    a.wait_count(lambda e: e["event"] == "message", 5)
    assert a.terminate() == 0
    again = cluster.start("node0").ready()
    replay = again.wait_count(lambda e: e["event"] == "message", 5)
    assert [m["text"] for m in replay] == [f"keep {i}" for i in range(5)]
    assert all(m["restored"] and not m["backfill"] for m in replay)
    assert again.events[0]["event"] == "ready"
    end = again.wait_for(lambda e: e["event"] == "history_end")
    assert end["count"] == 5 and again.events.index(end) == 6  # right after the restored ones


def test_sigkilled_node_restarts_catches_up_and_shows_nothing_twice(cluster: Cluster) -> None:
    a, b, c = chain(cluster, 3)
    for node in (a, b, c):
        node.wait_peers({a.id, b.id, c.id} - {node.id})
    for i in range(10):
        (a, b, c)[i % 3].send(f"before {i}")
    for node in (a, b, c):
        node.wait_count(lambda e: e["event"] == "message", 10)
    c.kill()
    for i in range(15):
        (a, b)[i % 2].send(f"while dead {i}")
    a.wait_count(lambda e: e["event"] == "message", 25)
    c2 = cluster.start("node2", "--peer", a.addr).ready()
    got = c2.wait_count(lambda e: e["event"] == "message", 25, SYNC_TIMEOUT)
    assert max(Counter(m["msg_id"] for m in c2.messages()).values()) == 1
    assert len(got) == 25
    c2.send("back")
    a.wait_for(lambda e: e.get("text") == "back")
    wait_same_history([a, b, c2], 26)


def test_history_command_prints_the_stored_log(cluster: Cluster, tmp_path: Path) -> None:
    a, b = chain(cluster, 2)
    a.wait_peers({b.id})
    a.send("first")
    b.wait_for(lambda e: e.get("text") == "first")  # so "second" has the later Lamport clock
    b.send("second")
    a.wait_count(lambda e: e["event"] == "message", 2)
    b.wait_count(lambda e: e["event"] == "message", 2)
    assert a.terminate() == 0
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "p2pchat",
            "history",
            "--json",
            "--data-dir",
            str(tmp_path / "node0"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["first", "second"]
    assert {r["room"] for r in rows} == {"lobby"}
    plain = subprocess.run(
        [sys.executable, "-m", "p2pchat", "history", "--data-dir", str(tmp_path / "node0")],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "room 'lobby'" in plain.stdout and "second" in plain.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "p2pchat", "history", "--data-dir", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert missing.returncode == 2 and missing.stderr.startswith("p2pchat: no message log")


def test_ephemeral_node_keeps_nothing_on_disk(cluster: Cluster, tmp_path: Path) -> None:
    node = cluster.start("ghost", "--ephemeral").ready()
    node.send("gone tomorrow")
    node.wait_for(lambda e: e.get("text") == "gone tomorrow")
    assert node.terminate() == 0
    assert not (tmp_path / "ghost").exists()


def test_a_restarted_node_serves_its_stored_history_to_a_newcomer(cluster: Cluster) -> None:
    # What comes back from disk must still carry its authors' keys and signatures: the
    # newcomer checks every message it is given, and nobody else holds them.
    a, b = chain(cluster, 2)
    a.wait_peers({b.id})
    for i in range(5):
        b.send(f"stored {i}")
    a.wait_count(lambda e: e["event"] == "message", 5)
    assert b.terminate() == 0
    assert a.terminate() == 0
    again = cluster.start("node0").ready()
    late = cluster.start("late", "--peer", again.addr).ready()
    got = late.wait_count(lambda e: e["event"] == "message", 5, SYNC_TIMEOUT)
    assert [m["text"] for m in got] == [f"stored {i}" for i in range(5)]
    late.send("after")
    again.wait_for(lambda e: e.get("text") == "after")


def test_the_history_command_keeps_two_people_with_one_nick_apart_and_dates_each_day(
    tmp_path: Path,
) -> None:
    # Issue 12: `p2pchat history` showed both alexes as plain "alex", and times without dates.
    from p2pchat.core.limits import Limits
    from p2pchat.core.messages import Chat, with_fields
    from p2pchat.store.log import open_log
    from p2pchat.store.trust import TrustStore

    first, second = "a" * 32, "b" * 32
    log = open_log(tmp_path, Limits())
    day = 86400.0
    base = time.time() - 3 * day
    for seq, (author, when) in enumerate(((first, base), (second, base + day)), start=1):
        chat = Chat(author, seq, seq, when, "alex", f"hello {seq}", b"k" * 32, b"s" * 64)
        log.add("lobby", with_fields(chat, seq=1))
    log.close()
    trust = TrustStore(tmp_path)
    trust.remember("alex", first)
    trust.flush()
    result = subprocess.run(
        [sys.executable, "-m", "p2pchat", "history", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert any("alex: hello 1" in line and "#" not in line for line in lines)
    assert any(f"alex#{second[:8]}: hello 2" in line for line in lines)
    assert sum(1 for line in lines if line.startswith("────")) == 2  # one line per day
