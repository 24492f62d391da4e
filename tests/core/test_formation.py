"""Mesh formation: of two nodes that learn of each other, the smaller ID dials, the other waits."""

from __future__ import annotations

import random

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core.messages import PeerAddress, PeerList
from p2pchat.simnet import SimNet
from tests.core.peers import LIMITS, LOW, LOW_KEYS, ME, OTHER, P1_KEYS, link, make_mesh

YIELD = LIMITS.dial_yield_delay


def dials(out: list[act.Action]) -> list[act.Dial]:
    return [a for a in out if isinstance(a, act.Dial)]


def told(entries: tuple[PeerAddress, ...]) -> ev.FramesReceived:
    """What our peer on conn 1 gossips."""
    return ev.FramesReceived(1, (PeerList(entries, True),))


def test_gossip_of_a_larger_id_is_dialled_at_once_of_a_smaller_one_after_a_wait() -> None:
    assert LOW < ME < OTHER
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="a")
    out = m.handle(
        told((PeerAddress(OTHER, "10.0.0.7", 7000), PeerAddress(LOW, "10.0.0.8", 8000))), 0, 0
    )
    assert dials(out) == [act.Dial("10.0.0.7", 7000)]
    assert dials(m.handle(ev.Tick(), YIELD / 2, 0.0)) == []
    assert dials(m.handle(ev.Tick(), YIELD, 0.0)) == [act.Dial("10.0.0.8", 8000)]


def test_a_smaller_id_that_dials_us_in_time_is_never_dialled() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="a")
    m.handle(told((PeerAddress(LOW, "10.0.0.2", 5000),)), 0.0, 0.0)
    link(m, 2, LOW_KEYS, nick="low")  # LOW dials us from 10.0.0.2 and listens at port 5000
    later = m.handle(ev.Tick(), YIELD, 0.0) + m.handle(ev.Tick(), YIELD * 2, 0.0)
    assert dials(later) == []
    assert sorted(m.peer_ids()) == sorted([LOW, P1_KEYS.node_id])


def test_discovery_waits_for_a_smaller_id_and_given_addresses_never_wait() -> None:
    m = make_mesh()
    found = m.handle(ev.PeerDiscovered((("10.0.0.5", 5000),), LOW, "beacon"), 0.0, 0.0)
    assert dials(found) == []
    assert dials(m.handle(ev.Tick(), YIELD, 0.0)) == [act.Dial("10.0.0.5", 5000)]
    m = make_mesh()
    found = m.handle(ev.PeerDiscovered((("10.0.0.6", 5000),), OTHER, "mdns"), 0.0, 0.0)
    assert dials(found) == [act.Dial("10.0.0.6", 5000)]
    given = m.handle(ev.PeerDiscovered((("10.0.0.9", 5000),), LOW, "user"), 0.0, 0.0)
    assert dials(given) == [act.Dial("10.0.0.9", 5000)]


def test_nodes_joining_one_by_one_through_one_member_dial_each_pair_once() -> None:
    # As in the benchmark: every node is given the first one's address, at staggered times.
    # Without the wait, a newcomer dialled the members it heard of while they dialled it.
    count = 12
    net = SimNet(seed=4, latency=0.002, jitter=0.01)
    for i in range(count):
        net.add_node(f"n{i}")
    rng = random.Random(4)
    for i in range(1, count):
        at = rng.uniform(0.0, 0.5)
        net._schedule(at, lambda i=i: net.introduce(f"n{i}", "n0"))  # type: ignore[misc]
    assert net.run_until(net.full_mesh, timeout=5.0)
    net.run(2.0)
    assert net.full_mesh()
    pairs = count * (count - 1) // 2
    assert (net._next_conn - 1) // 2 == pairs  # white box: connections opened, two ends each
    assert len(net._ends) == 2 * pairs


def test_waiting_for_a_node_to_dial_us_asks_discovery_nothing_until_our_dial_fails() -> None:
    m = make_mesh()
    out = m.handle(ev.PeerDiscovered((("10.0.0.5", 5000),), LOW, "mdns"), 0.0, 0.0)
    m.check_invariants()
    due = m.next_deadline()
    assert due is not None and due <= YIELD
    out += m.handle(ev.Tick(), due, 0.0)
    assert act.Rediscover() not in out and dials(out) == [act.Dial("10.0.0.5", 5000)]
    out = m.handle(ev.DialFailed("10.0.0.5", 5000, "refused"), YIELD + 0.1, 0.0)
    m.check_invariants()
    due = m.next_deadline()
    assert due is not None
    assert act.Rediscover() in out + m.handle(ev.Tick(), due, 0.0)
