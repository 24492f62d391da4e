"""Verify before vouching: straight from its author a message shows at once and is checked
soon after; a bad one is withdrawn everywhere and is never relayed, served or stored."""

from __future__ import annotations

import itertools

import pytest

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.messages import (
    Chat,
    PeerAddress,
    PeerList,
    SyncBatch,
    SyncRequest,
    with_fields,
)
from p2pchat.simnet import SimNet
from tests.core.peers import LIMITS, P1, P1_KEYS, P2_KEYS, link, make_mesh, signed_chat

pytestmark = pytest.mark.timeout(120)


def garbage(chat: Chat) -> Chat:
    """chat as its author sent it, with a signature that does not verify."""
    return with_fields(chat, signature=bytes(64))


def sent(out: list[act.Action]) -> list[object]:
    return [a.message for a in out if isinstance(a, act.Send)]


def shown(out: list[act.Action]) -> list[vw.View]:
    return [a.view for a in out if isinstance(a, act.Show)]


def test_a_bad_message_from_its_author_is_withdrawn_before_it_is_relayed() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    link(m, 2, P2_KEYS, nick="bob")  # nobody told us ann and bob are linked: we relay
    good = signed_chat(P1_KEYS, 1, 1, "good", nick="ann")
    out = m.handle(ev.FramesReceived(1, (good,)), 0.0, 0.0)
    assert [type(v) for v in shown(out)] == [vw.MessageShown]
    assert act.Store(good) in out and act.Send((2,), good) in out  # checked, stored, passed on
    assert out.index(act.Store(good)) < out.index(act.Send((2,), good))
    bad = garbage(signed_chat(P1_KEYS, 2, 2, "bad", nick="ann"))
    out = m.handle(ev.FramesReceived(1, (bad,)), 0.1, 0.0)
    assert [type(v) for v in shown(out)] == [vw.MessageShown, vw.Withdrawn]
    assert bad not in sent(out) and not [a for a in out if isinstance(a, act.Store)]
    assert m.history.get(P1, 2) is None and m.counters["withdrawn"] == 1


def test_a_bad_message_is_withdrawn_before_a_sync_could_serve_it() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    link(m, 2, P2_KEYS, nick="bob")
    for conn, keys in ((1, P2_KEYS), (2, P1_KEYS)):  # ann and bob link to each other
        others = (PeerAddress(keys.node_id, "10.0.0.9", 5000),)
        m.handle(ev.FramesReceived(conn, (PeerList(others, True),)), 0.0, 0.0)
    bad = garbage(signed_chat(P1_KEYS, 1, 1, "bad", nick="ann"))
    out = m.handle(ev.FramesReceived(1, (bad,)), 0.0, 0.0)
    assert [type(v) for v in shown(out)] == [vw.MessageShown]  # shown before it is checked
    out = m.handle(ev.FramesReceived(2, (SyncRequest({}, 0),)), 0.01, 0.0)  # bob asks us
    batches = [s for s in sent(out) if isinstance(s, SyncBatch)]
    assert batches and all(bad not in b.messages for b in batches)
    assert vw.Withdrawn(bad.msg_id, P1, "ann") in shown(out)
    assert not [a for a in out if isinstance(a, act.Store)]


def test_the_check_comes_soon_even_when_nobody_asks_and_a_resent_copy_is_checked_first() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    bad = garbage(signed_chat(P1_KEYS, 1, 1, "bad", nick="ann"))
    m.handle(ev.FramesReceived(1, (bad,)), 0.0, 0.0)
    out = m.handle(ev.Tick(), LIMITS.check_delay, 0.0)
    assert shown(out) == [vw.Withdrawn(bad.msg_id, P1, "ann")]
    again = m.handle(ev.FramesReceived(1, (bad,)), 1.0, 0.0)  # the same again, from ann
    assert not [v for v in shown(again) if isinstance(v, vw.MessageShown)]
    real = signed_chat(P1_KEYS, 1, 1, "real", nick="ann")  # a valid one with its ID is new
    out = m.handle(ev.FramesReceived(1, (real,)), 2.0, 0.0)
    assert act.Store(real) in out  # checked at once, as everything with that ID now is


def test_a_burst_is_checked_in_batches_off_the_hot_path() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    count = LIMITS.check_batch_messages * 2 + 10
    chats = [signed_chat(P1_KEYS, s, s, f"m{s}", nick="ann") for s in range(1, count + 1)]
    out = m.handle(ev.FramesReceived(1, tuple(chats)), 0.0, 0.0)
    assert not [a for a in out if isinstance(a, act.Store)]
    stored: list[act.Action] = []
    now, turns = LIMITS.check_delay, 0
    while len(stored) < count:
        out = m.handle(ev.Tick(), now, 0.0)
        stored += [a for a in out if isinstance(a, act.Store)]
        turns += 1
        now = m.next_deadline() or now
    assert turns == 3 and stored == [act.Store(c) for c in chats]


def test_a_room_withdraws_a_bad_message_everywhere_and_a_late_joiner_never_sees_it() -> None:
    net = SimNet(seed=4)
    names = ["a", "b", "c"]
    for name in names:
        net.add_node(name)
    for x, y in itertools.pairwise(names):
        net.introduce(y, x)
    assert net.run_until(net.full_mesh, timeout=10.0)
    net.run(3.0)
    author = net.crypto("a")
    unsigned = Chat(author.node_id, 1, 1, 100.0, "a", "not signed", author.public_key)
    bad = with_fields(unsigned, signature=bytes(64))
    for to in ("b", "c"):
        assert net.send_as("a", to, bad)
    net.run(1.0)
    for name in ("b", "c"):
        views = net.nodes[name].views
        assert any(isinstance(v, vw.MessageShown) and v.text == "not signed" for v in views)
        assert any(isinstance(v, vw.Withdrawn) and v.msg_id == bad.msg_id for v in views)
        assert (author.node_id, 1) not in net.nodes[name].disk
    net.inject("c", ev.SendChat("still talking"))
    net.add_node("d")
    net.introduce("d", "b")
    assert net.run_until(lambda: net.full_mesh() and net.converged(), timeout=20.0)
    late = net.nodes["d"]
    assert "still talking" in late.texts() and "not signed" not in late.texts()
    assert not any(isinstance(v, vw.Withdrawn) for v in late.views)
