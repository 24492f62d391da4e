"""Real p2pchat processes on 127.0.0.1, joined only by --peer."""

from __future__ import annotations

import itertools
import socket
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from p2pchat.core.limits import PROTOCOL_VERSION
from p2pchat.core.messages import ErrorFrame
from tests.e2e.harness import Cluster, chain
from tests.rawpeer import RawPeer, json_frame

HELLO_TIMEOUT = 10.0
LEAN_TIMEOUT = 10.0


def test_peer_chain_becomes_full_mesh_and_every_message_arrives_once(cluster: Cluster) -> None:
    nodes = list(chain(cluster, 5))
    ids = {n.id for n in nodes}
    for node in nodes:
        node.wait_peers(ids - {node.id})
    for node in nodes:
        node.send(f"hello from {node.nick}")
    expected = Counter(f"hello from {n.nick}" for n in nodes)
    for node in nodes:
        got = node.wait_count(lambda e: e["event"] == "message", len(nodes))
        assert Counter(m["text"] for m in got) == expected
        own = [m for m in got if m["own"]]
        assert [m["text"] for m in own] == [f"hello from {node.nick}"]
        assert all(m["msg_id"].startswith(m["from_id"] + ":") for m in got)
    # A second round proves no duplicate of the first one was still on its way.
    nodes[0].send("second round")
    for node in nodes:
        node.wait_for(lambda e: e.get("text") == "second round")
        texts = Counter(m["text"] for m in node.messages())
        assert texts == expected + Counter(["second round"])

    # Lean flooding: once every node knows its neighbours' links (a moment after the mesh
    # formed), each delivery costs about one copy, not one from every neighbour.
    def totals() -> tuple[int, int]:
        stats = [n.stats() for n in nodes]
        return sum(s["chat_frames_in"] for s in stats), sum(s["delivered_live"] for s in stats)

    deadline = time.monotonic() + LEAN_TIMEOUT
    for round_ in itertools.count():
        frames_before, deliveries_before = totals()
        for node in nodes:
            node.send(f"round {round_} from {node.nick}")
        for node in nodes:
            node.wait_count(lambda e, r=round_: e.get("text", "").startswith(f"round {r} "), 5)
        frames, deliveries = totals()
        assert deliveries - deliveries_before == len(nodes) * (len(nodes) - 1)
        if frames - frames_before <= 1.2 * (deliveries - deliveries_before):
            break
        assert time.monotonic() < deadline, f"still {frames - frames_before} copies"


def test_sigkilled_node_is_reported_gone_and_the_rest_keep_chatting(cluster: Cluster) -> None:
    nodes = list(chain(cluster, 4))
    ids = {n.id for n in nodes}
    for node in nodes:
        node.wait_peers(ids - {node.id})
    victim = nodes[1]
    victim.kill()
    rest = [n for n in nodes if n is not victim]
    for node in rest:
        left = node.wait_for(lambda e: e["event"] == "peer_left" and e["id"] == victim.id)
        assert left["nick"] == victim.nick
    rest[0].send("still here?")
    for node in rest:
        node.wait_for(lambda e: e.get("text") == "still here?")


def test_sigterm_says_goodbye_and_exits_zero_quickly(cluster: Cluster) -> None:
    a, b = chain(cluster, 2)
    a.wait_peers({b.id})
    b.wait_peers({a.id})  # a can see the link up a moment before b does: b says bye to peers
    started = time.monotonic()
    assert b.terminate() == 0
    elapsed = time.monotonic() - started
    left = a.wait_for(lambda e: e["event"] == "peer_left")
    assert left["reason"] == "quit"
    assert elapsed < 2.0 + 1.0  # the 2 s, plus interpreter teardown slack
    assert not any("Traceback" in line for line in b.stderr)


def test_end_of_input_and_quit_command_exit_zero(cluster: Cluster) -> None:
    a, b = chain(cluster, 2)
    a.wait_peers({b.id})
    a.close_stdin()
    assert a._reap(5.0) == 0
    b.wait_for(lambda e: e["event"] == "peer_left")
    b.send("/quit")
    assert b._reap(5.0) == 0


def test_nick_change_direct_message_and_peer_table(cluster: Cluster) -> None:
    a, b, c = chain(cluster, 3)
    for node in (a, b, c):
        node.wait_peers({a.id, b.id, c.id} - {node.id})
    b.send("/nick bobby")
    a.wait_for(lambda e: e["event"] == "nick" and e["new"] == "bobby")
    a.send("/msg bobby just for you")
    dm = b.wait_for(lambda e: e["event"] == "message" and e["direct"])
    assert dm["text"] == "just for you" and dm["from_id"] == a.id and dm["to_id"] == b.id
    a.send("/peers")
    table = a.wait_for(lambda e: e["event"] == "peers")
    assert {p["nick"] for p in table["peers"]} == {"bobby", c.nick}
    assert all(p["addr"].startswith("127.0.0.1:") for p in table["peers"])
    c.send("after the dm")
    a.wait_for(lambda e: e.get("text") == "after the dm")
    b.wait_for(lambda e: e.get("text") == "after the dm")
    assert not [m for m in c.messages() if m["direct"]]
    a.send("/msg nobody hi")
    assert (
        "nobody called nobody has been met"
        in a.wait_for(lambda e: e["event"] == "error")["message"]
    )


def test_same_nick_is_told_apart_by_short_id(cluster: Cluster) -> None:
    first = cluster.start("alex").ready()
    second = cluster.start("alex2", "--peer", first.addr).ready()
    second.wait_peers({first.id})
    second.send("/nick alex")
    first.wait_for(lambda e: e["event"] == "nick" and e["new"] == "alex")
    second.send("which alex am I?")
    msg = first.wait_for(lambda e: e.get("text") == "which alex am I?")
    assert msg["display"] == f"alex#{second.id[:8]}"


def test_version_mismatch_is_shown_on_both_sides(cluster: Cluster) -> None:
    node = cluster.start("alice").ready()
    ours, future = PROTOCOL_VERSION, PROTOCOL_VERSION + 1
    peer = RawPeer(node.port, "future", version=future)
    try:
        peer.send(peer.hello())
        assert peer.recv().__class__.__name__ == "Hello"
        refusal = peer.recv()
        assert isinstance(refusal, ErrorFrame) and refusal.code == "version"
        assert refusal.text == f"peer alice#{node.id[:8]} speaks protocol {ours}, we speak {future}"
        assert peer.drain_until_closed() == b""
    finally:
        peer.close()
    shown = node.wait_for(lambda e: e["event"] == "error")
    expected = f"peer future#{peer.node_id[:8]} speaks protocol {future}, we speak {ours}"
    assert shown["message"] == expected


def test_garbage_and_oversize_frames_close_only_that_connection(cluster: Cluster) -> None:
    a, b = chain(cluster, 2)
    a.wait_peers({b.id})
    attacks = [
        b"\xff\xff\xff\xff",  # 4 GiB frame announced: refused from the header alone
        struct.pack(">I", 5) + b"hello",  # not JSON
        json_frame({"t": "ping", "n": 1}),  # anything but hello first
        json_frame({"t": "hello", "v": 1, "id": "f" * 32, "nick": "x", "room": "lobby", "port": 0}),
    ]
    for attack in attacks:
        peer = RawPeer(a.port)
        peer.send_raw(attack)
        peer.drain_until_closed()  # the node closes the connection
        peer.close()
    authed = RawPeer(a.port, "authed")
    authed.handshake()
    authed.send_payload(b'{"t":"chat","from":"nope"}')  # an invalid chat after a handshake
    authed.drain_until_closed()
    authed.close()
    b.send("still fine")
    a.wait_for(lambda e: e.get("text") == "still fine")
    assert a.proc.poll() is None


def test_peer_that_never_reads_costs_the_others_nothing(cluster: Cluster) -> None:
    a, b, c = chain(cluster, 3)
    for node in (a, b, c):
        node.wait_peers({a.id, b.id, c.id} - {node.id})
    stuck = RawPeer(a.port, "stuck", rcvbuf=4096)
    try:
        stuck.handshake()
        a.wait_for(lambda e: e["event"] == "peer_joined" and e["nick"] == "stuck")
        count, text = 600, "x" * 15000  # ~9 MB: more than the stuck peer's buffers hold
        for i in range(count):
            a.send(f"{i} {text}")
        for node in (b, c):
            got = node.wait_count(lambda e: e["event"] == "message", count, timeout=60)
            assert len({m["msg_id"] for m in got}) == count
        left = a.wait_for(lambda e: e["event"] == "peer_left" and e["nick"] == "stuck")
        assert left["reason"] in ("send queue overflow (peer not reading)", "timed out")
    finally:
        stuck.close()


def run_cli(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "p2pchat", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_startup_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cases = [
            ["--bind", "127.0.0.1", "--port", str(port), "--no-discovery"],
            ["--peer", "no-such-host.invalid:1", "--no-discovery"],
            ["--peer", "127.0.0.1:0", "--no-discovery"],
            ["--interface", "192.0.2.77"],
            ["--nick", "two words", "--no-discovery"],
            ["--port", "70000"],
        ]
        errors = []
        for i, args in enumerate(cases):
            result = run_cli("--data-dir", str(tmp_path / str(i)), *args)
            assert result.returncode == 2, (args, result.stderr)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("p2pchat: "), (args, result.stderr)
            errors.append(lines[0])
    assert errors[0] == f"p2pchat: cannot listen on 127.0.0.1:{port}: address already in use"
    assert "cannot resolve 'no-such-host.invalid'" in errors[1]
    assert "no local interface has address 192.0.2.77" in errors[3]


def test_second_node_on_the_same_data_dir_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    first = cluster.start("solo").ready()
    result = run_cli("--data-dir", str(tmp_path / "solo"), "--no-discovery", "--bind", "127.0.0.1")
    assert result.returncode == 2
    assert "another p2pchat is running" in result.stderr
    assert first.proc.poll() is None


def test_message_ids_never_repeat_across_restarts(cluster: Cluster) -> None:
    node = cluster.start("again").ready()
    node.send("one")
    first = node.wait_for(lambda e: e.get("text") == "one")["msg_id"]
    assert node.terminate() == 0
    node = cluster.start("again").ready()
    node.send("two")
    second = node.wait_for(lambda e: e.get("text") == "two")["msg_id"]
    assert first.rsplit(":", 1)[0] == second.rsplit(":", 1)[0]
    assert int(second.rsplit(":", 1)[1]) == int(first.rsplit(":", 1)[1]) + 1


def test_connect_command_joins_by_hand(cluster: Cluster) -> None:
    a = cluster.start("hand-a").ready()
    b = cluster.start("hand-b").ready()
    b.send(f"/connect {a.addr}")
    a.wait_peers({b.id})
    b.wait_peers({a.id})
    b.send("/connect nowhere.invalid:1")
    assert "cannot resolve" in b.wait_for(lambda e: e["event"] == "error")["message"]


def test_without_a_terminal_the_default_interface_is_plain_lines(tmp_path: Path) -> None:
    result = run_cli("--data-dir", str(tmp_path / "d"), "--no-discovery", "--bind", "127.0.0.1")
    assert result.returncode == 0
    assert result.stdout.startswith("p2pchat: you are ")
    assert "open room: anyone on this network can read and join" in result.stdout


def test_in_json_mode_an_error_never_overtakes_the_answers_to_earlier_lines(
    cluster: Cluster,
) -> None:
    # Issue 12: a typo's error came out before the answers to the lines typed before it.
    node = cluster.start("alice").ready()
    for _ in range(3):
        node.send("/peers")
        node.send("/stats")
        node.send("/frobnicate")
    node.wait_count(lambda e: e["event"] == "error", 3)
    kinds = [e["event"] for e in node.events if e["event"] in ("peers", "stats", "error")]
    assert kinds == ["peers", "stats", "error"] * 3


def piped(text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "p2pchat",
            "--ui",
            "plain",
            "--no-discovery",
            "--bind",
            "127.0.0.1",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        input=text,
        check=False,
    )


def test_piped_lines_wait_until_they_reached_a_peer(cluster: Cluster, tmp_path: Path) -> None:
    # Issue 12: `echo hello | p2pchat` exited before it had linked to anyone; the line arrived
    # only when that data dir joined again some day.
    alice = cluster.start("alice").ready()
    result = piped("hello from a pipe\n", "--data-dir", str(tmp_path / "p"), "--peer", alice.addr)
    assert result.returncode == 0, result.stderr
    assert "all 1 messages reached a peer" in result.stderr
    alice.wait_for(lambda e: e.get("text") == "hello from a pipe")


def test_piped_lines_that_reach_nobody_say_so_and_exit_non_zero(tmp_path: Path) -> None:
    result = piped("nobody hears this\n", "--data-dir", str(tmp_path / "p"), "--wait", "1")
    assert result.returncode == 3
    assert "1 of 1 messages reached no peer within 1 s; they are stored" in result.stderr
    # Nothing typed: nothing to wait for.
    quiet = piped("", "--data-dir", str(tmp_path / "q"))
    assert quiet.returncode == 0 and "reached" not in quiet.stderr
