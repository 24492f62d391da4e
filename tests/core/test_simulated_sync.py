"""History over the simulated network: late joiners, healed partitions, restarts, chaos sweeps."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.simnet import SimNet
from p2pchat.simulation import Chaos, run_chaos


def mesh_of(count: int, seed: int = 0, **kwargs: float) -> tuple[SimNet, list[str]]:
    net = SimNet(seed=seed, **kwargs)  # type: ignore[arg-type]
    names = [f"n{i}" for i in range(count)]
    for name in names:
        net.add_node(name)
    for a, b in itertools.pairwise(names):
        net.introduce(b, a)
    assert net.run_until(net.full_mesh, timeout=10.0)
    return net, names


def chat(net: SimNet, names: list[str], count: int, prefix: str, gap: float = 0.01) -> None:
    for i in range(count):
        net.inject(names[i % len(names)], ev.SendChat(f"{prefix}{i}"))
        net.run(gap)


def settled(net: SimNet) -> bool:
    return net.full_mesh() and net.converged()


def shown_once(net: SimNet, name: str) -> bool:
    counts = Counter(m.msg_id for m in net.nodes[name].messages())
    return all(c == 1 for c in counts.values())


def test_late_joiner_gets_all_200_earlier_messages_in_the_same_order() -> None:
    net, names = mesh_of(4, jitter=0.005)
    chat(net, names, 200, "early ")
    late = net.add_node("late")
    net.introduce("late", names[2])
    assert net.run_until(lambda: settled(net), timeout=20.0)
    assert len(late.transcript()) == 200
    assert late.transcript() == net.nodes[names[0]].transcript()
    backfilled = [m for m in late.messages() if m.backfill]
    assert len(backfilled) == 200 and shown_once(net, "late")
    notices = [v.text for v in late.views if isinstance(v, vw.Notice)]
    assert notices and "messages you missed arrived via" in notices[0]


def test_fresh_joiner_gets_only_the_recent_window() -> None:
    net, names = mesh_of(3)
    chat(net, names, net.limits.backfill_messages + 100, "m", gap=0.001)
    late = net.add_node("late")
    net.introduce("late", names[0])
    assert net.run_until(net.full_mesh, timeout=10.0)
    net.run(5.0)
    assert len(late.transcript()) == net.limits.backfill_messages
    assert late.transcript() == net.nodes[names[0]].transcript()[-net.limits.backfill_messages :]


def test_fresh_joiner_keeps_its_window_when_it_starts_with_an_authors_first_message() -> None:
    # No author in the window's first batch has older messages (so no floor marks the cut):
    # the follow-up requests still carry the window's start as their horizon.
    net, names = mesh_of(2)
    chat(net, names[:1], 200, "old ", gap=0.001)
    chat(net, names[1:], net.limits.backfill_messages, "new ", gap=0.001)
    late = net.add_node("late")
    net.introduce("late", names[1])
    assert net.run_until(net.full_mesh, timeout=10.0)
    net.run(5.0)
    assert late.transcript() == net.nodes[names[1]].transcript()[200:]


def test_restart_fetches_a_message_older_than_anything_it_held() -> None:
    # Found by scripts/simulate.py --seeds 0 --nodes 30: n2 comes back holding n1's reply
    # (Lamport clock 2) but not n0's first message (clock 1), sent before anyone spoke, and
    # too old for the pings' check of the newest messages to notice.
    net, names = mesh_of(3)
    net.kill("n2")
    for name, text in (("n0", "first"), ("n1", "reply")):
        net.inject(name, ev.SendChat(text))
        net.run(0.5)
    chat(net, names[:2], net.limits.recent_check_messages + 8, "later ")
    n1 = net.nodes["n1"]
    reply = next(c for c in n1.mesh.history.ordered() if c.author == n1.node_id)
    assert reply.lamport == 2
    net.nodes["n2"].disk = {(reply.author, reply.seq): reply}  # it stored the reply, not "first"
    node = net.restart("n2", introduce_to=["n0"])
    assert net.run_until(lambda: settled(net), timeout=30.0)
    assert node.transcript() == n1.transcript() and shown_once(net, "n2")


def test_partition_heals_into_identical_logs() -> None:
    net, names = mesh_of(6, seed=4, jitter=0.01)
    chat(net, names, 20, "before ")
    left, right = names[:3], names[3:]
    net.partition(left, right)
    net.run(net.limits.peer_timeout + 2)
    chat(net, left, 15, "left ")
    chat(net, right, 25, "right ")
    assert not net.converged()
    net.heal()
    assert net.run_until(lambda: settled(net), timeout=60.0)
    assert len(net.nodes["n0"].transcript()) == 60
    assert all(shown_once(net, n) for n in names)


def test_clocks_that_disagree_change_nothing_in_order() -> None:
    # Wall clocks do not take part in the order: only Lamport clocks and author IDs do.
    net, names = mesh_of(3)
    for i in range(30):
        net.inject(names[i % 3], ev.SendChat(f"{i}"))
    net.run(2.0)
    assert net.converged()
    lamports = [c.lamport for c in net.nodes[names[0]].mesh.history.ordered()]
    assert lamports == sorted(lamports)


def test_crashed_node_restarts_catches_up_and_shows_nothing_twice() -> None:
    net, names = mesh_of(4, seed=2)
    chat(net, names, 30, "before ")
    net.run(net.limits.check_delay)  # what came straight from its authors is checked, stored
    net.kill("n1", silent=True)
    chat(net, ["n0", "n2", "n3"], 30, "while away ")
    node = net.restart("n1", introduce_to=["n3"])
    assert net.run_until(lambda: settled(net), timeout=30.0)
    assert len(node.transcript()) == 60
    assert shown_once(net, "n1")
    assert sum(1 for m in node.messages() if m.restored) == 30  # replayed from its log
    assert sum(1 for m in node.messages() if m.backfill) == 30  # synced while it watched
    own_before = sum(1 for author, _ in node.transcript() if author == node.node_id)
    net.inject("n1", ev.SendChat("after"))  # the seq continues after the restart
    assert node.mesh.seq == own_before + 1


def test_a_lost_message_is_recovered_from_the_gap_it_leaves() -> None:
    net, names = mesh_of(3, seed=9, loss=0.3)
    chat(net, names, 40, "lossy ")
    net.loss = 0.0
    assert net.run_until(lambda: settled(net), timeout=30.0)
    assert len(net.nodes["n0"].transcript()) == 40


def test_peer_dialled_twice_by_one_node_keeps_one_link_without_a_leave() -> None:
    net = SimNet(seed=6)
    net.add_node("a")
    net.add_node("b")
    second = net.alias("a", "10.9.0.1")
    net.introduce("b", "a")
    net.inject("b", ev.PeerDiscovered((second,), None, "static"))
    net.run(net.limits.handshake_timeout * 2)
    assert net.full_mesh()
    assert len(net._ends) == 2
    for node in net.nodes.values():
        assert [
            type(v).__name__ for v in node.views if isinstance(v, vw.PeerJoined | vw.PeerLeft)
        ] == ["PeerJoined"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chaos_sweep_small(seed: int) -> None:
    outcome = run_chaos(seed, Chaos(nodes=25, messages=80, duration=40.0))
    assert outcome.ok, outcome.summary()


@pytest.mark.timeout(480)  # 115-120 s of CPU alone on our 2-core machine, invariants on
def test_chaos_with_a_hundred_nodes() -> None:
    chaos = Chaos(
        nodes=100,
        messages=40,
        duration=20.0,
        crashes=4,
        partitions=1,
        partition_length=8.0,
        ping_after_silence=2.0,
        codec=False,
    )
    outcome = run_chaos(7, chaos)
    assert outcome.ok, outcome.summary()
