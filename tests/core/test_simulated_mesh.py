"""Many Mesh cores over the in-memory network: topologies, flooding, tie-break, faults."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.simnet import SimNet


def names(n: int) -> list[str]:
    return [f"n{i}" for i in range(n)]


def build(n: int, seed: int = 0) -> SimNet:
    net = SimNet(seed=seed)
    for name in names(n):
        net.add_node(name)
    return net


def force_topology(net: SimNet, edges: set[frozenset[str]]) -> None:
    """Cut every pair that is not an edge, then introduce the edges."""
    for a, b in itertools.combinations(list(net.nodes), 2):
        if frozenset((a, b)) not in edges:
            net.partition([a], [b])
    for edge in edges:
        a, b = sorted(edge)
        net.introduce(a, b)


def everyone_says_hi(net: SimNet) -> dict[str, Counter[str]]:
    for name in net.nodes:
        net.inject(name, ev.SendChat(f"hi from {name}"))
    net.run(2.0)
    return {name: Counter(node.texts()) for name, node in net.nodes.items()}


def assert_exactly_once(net: SimNet) -> None:
    expected = Counter(f"hi from {name}" for name in net.nodes)
    for name, got in everyone_says_hi(net).items():
        assert got == expected, name


def chain(n: int) -> set[frozenset[str]]:
    return {frozenset(p) for p in itertools.pairwise(names(n))}


def star(n: int) -> set[frozenset[str]]:
    return {frozenset(("n0", leaf)) for leaf in names(n)[1:]}


@pytest.mark.parametrize("topology", [chain, star], ids=["chain", "star"])
def test_flooding_reaches_everyone_once_when_links_are_missing(topology: object) -> None:
    net = build(6)
    edges = topology(6)  # type: ignore[operator]
    force_topology(net, edges)
    net.run(2.0)
    for name in net.nodes:
        expected = {b for e in edges if name in e for b in e} - {name}
        assert net.linked(name) == expected
    assert_exactly_once(net)


def test_a_peer_chain_becomes_a_full_mesh_by_gossip() -> None:
    net = build(8)
    for a, b in itertools.pairwise(names(8)):
        net.introduce(b, a)
    assert net.run_until(net.full_mesh, timeout=5.0)
    assert_exactly_once(net)


def test_everyone_dialling_everyone_leaves_one_link_per_pair() -> None:
    net = build(6, seed=3)
    for a, b in itertools.permutations(names(6), 2):
        net.introduce(a, b, source="mdns")
    assert net.run_until(net.full_mesh, timeout=5.0)
    net.run(3.0)
    assert net.full_mesh()
    assert len(net._ends) == 6 * 5  # one link per pair, two ends each
    for node in net.nodes.values():
        joins = [v for v in node.views if isinstance(v, vw.PeerJoined)]
        leaves = [v for v in node.views if isinstance(v, vw.PeerLeft)]
        assert len(joins) == 5 and leaves == [], node.name
    assert_exactly_once(net)


@pytest.mark.parametrize("silent", [False, True], ids=["crash", "cable-cut"])
def test_dead_node_is_reported_and_the_rest_keep_chatting(silent: bool) -> None:
    net = build(5)
    for a, b in itertools.pairwise(names(5)):
        net.introduce(b, a)
    assert net.run_until(net.full_mesh, timeout=5.0)
    net.kill("n2", silent=silent)
    killed_at = net.now

    def all_noticed() -> bool:
        return all(
            any(isinstance(v, vw.PeerLeft) for v in net.nodes[n].views)
            for n in ("n0", "n1", "n3", "n4")
        )

    assert net.run_until(all_noticed, timeout=10.0)
    limit = net.limits.peer_timeout + 0.1 if silent else 0.1
    assert net.now - killed_at <= limit
    del net.nodes["n2"]
    assert_exactly_once(net)


def test_partition_heals_into_a_full_mesh_again() -> None:
    net = build(6, seed=5)
    for a, b in itertools.pairwise(names(6)):
        net.introduce(b, a)
    assert net.run_until(net.full_mesh, timeout=5.0)
    left, right = names(6)[:3], names(6)[3:]
    net.partition(left, right)
    net.run(net.limits.peer_timeout + 2.0)
    for name in left:
        assert net.linked(name) == set(left) - {name}
    net.heal()
    assert net.run_until(net.full_mesh, timeout=30.0)
    assert_exactly_once(net)


@pytest.mark.timeout(240)  # 55-65 s of CPU alone on our 2-core machine, invariants on
def test_hundred_nodes_form_a_mesh_and_deliver_once() -> None:
    net = build(100, seed=11)
    for a, b in itertools.pairwise(names(100)):
        net.introduce(b, a)
    assert net.run_until(net.full_mesh, timeout=20.0, step=0.5)
    for name in ("n0", "n50", "n99"):
        net.inject(name, ev.SendChat(f"hi from {name}"))
    net.run(1.0)
    for node in net.nodes.values():
        assert sorted(node.texts()) == ["hi from n0", "hi from n50", "hi from n99"]
