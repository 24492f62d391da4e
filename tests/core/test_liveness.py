"""Liveness: silent links get pings, busy ones none, and a node's pings stay few in any room."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Pong, SyncBatch, SyncRequest
from p2pchat.simnet import SimNet
from tests.core.peers import OTHER_KEYS, link, make_mesh

pytestmark = pytest.mark.timeout(120)


def mesh_of(n: int, limits: Limits | None = None, seed: int = 3) -> SimNet:
    """n nodes, every one introduced to the one before it, run until they form a full mesh."""
    net = SimNet(seed=seed, limits=limits or Limits())
    names = [f"n{i}" for i in range(n)]
    for name in names:
        net.add_node(name)
    for a, b in itertools.pairwise(names):
        net.introduce(b, a)
    assert net.run_until(net.full_mesh, timeout=30.0)
    return net


def pings_sent(net: SimNet) -> dict[str, int]:
    return {name: node.sent["Ping"] for name, node in net.nodes.items()}


def nobody_left(net: SimNet) -> bool:
    return not any(isinstance(v, vw.PeerLeft) for n in net.nodes.values() for v in n.views)


def test_a_link_that_carries_messages_is_never_pinged() -> None:
    net = mesh_of(2)
    before = pings_sent(net)
    for second in range(30):
        if second == 3:  # both sides talk now; silences before this were real
            before = pings_sent(net)
        net.inject(f"n{second % 2}", ev.SendChat(f"message {second}"))
        net.run(1.0)
    assert pings_sent(net) == before
    assert nobody_left(net)


def test_an_idle_room_of_thirty_sends_a_bounded_number_of_pings_and_keeps_every_link() -> None:
    limits = Limits()
    net = mesh_of(30, limits)
    net.run(10.0)
    before = pings_sent(net)
    idle = 30.0
    net.run(idle)
    per_second = {n: (count - before[n]) / idle for n, count in pings_sent(net).items()}
    cap = limits.max_pings_per_second
    assert max(per_second.values()) <= cap + cap / idle  # the bucket's burst, once
    # Each of the 435 links is heard often enough: none timed out, none was redialled.
    assert nobody_left(net) and net.full_mesh()
    # Every link got pings from one side or the other: the room's pings cover every link at
    # least once per peer_timeout (a ping per link and second was the old cost: 29 a node).
    links = 30 * 29 / 2
    assert sum(per_second.values()) >= links / limits.peer_timeout
    assert sum(per_second.values()) / 30 < 29 / 3


def test_past_the_cap_the_ping_rate_grows_just_enough_that_no_link_times_out() -> None:
    limits = replace(Limits(), max_pings_per_second=0.5)  # 11 peers need about 1.7 a second
    net = mesh_of(12, limits)
    net.run(40.0)
    assert nobody_left(net) and net.full_mesh()


def test_a_silent_killed_peer_is_noticed_within_the_timeout() -> None:
    limits = Limits()
    net = mesh_of(5, limits)
    net.run(4.0)
    net.kill("n2", silent=True)  # a cut cable: no FIN, nothing
    killed_at = net.now

    def everyone_noticed() -> bool:
        return all(
            any(isinstance(v, vw.PeerLeft) for v in net.nodes[n].views)
            for n in ("n0", "n1", "n3", "n4")
        )

    assert net.run_until(everyone_noticed, timeout=limits.peer_timeout + 1.0)
    assert net.now - killed_at <= limits.peer_timeout + 0.1


def test_a_pong_with_another_digest_starts_a_sync() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS, nick="ann")
    m.handle(ev.FramesReceived(1, (SyncBatch((), {}, False),)), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(1, (Pong(9, "f" * 16, "e" * 16),)), 10.0, 0.0)
    assert act.Send((1,), SyncRequest({}, 0)) in out


def test_a_pong_without_digests_starts_nothing() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS, nick="ann")
    m.handle(ev.FramesReceived(1, (SyncBatch((), {}, False),)), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(1, (Pong(9),)), 10.0, 0.0)
    assert not [a for a in out if isinstance(a, act.Send)]
