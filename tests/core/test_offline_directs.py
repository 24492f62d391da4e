"""Direct messages to members who are away: kept, handed to the members online, delivered when
the recipient comes back (also after its writer left), acknowledged, never shown twice."""

from __future__ import annotations

import pytest

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.directrecords import DirectStatus
from p2pchat.simnet import SimNet, SimNode

pytestmark = pytest.mark.timeout(60)

SETTLE = 30.0  # virtual seconds: ample for links to form and frames to cross


def room_of_three(seed: int = 0) -> SimNet:
    net = SimNet(seed=seed)
    for name in ("alice", "bob", "carol"):
        net.add_node(name)
    net.introduce("alice", "bob")
    net.introduce("carol", "bob")
    assert net.run_until(net.full_mesh, SETTLE)
    return net


def dms(node: SimNode) -> list[vw.MessageShown]:
    return [m for m in node.messages() if m.direct]


def statuses(node: SimNode) -> list[DirectStatus]:
    return [v.status for v in node.views if isinstance(v, vw.DirectStatusChanged)]


def gone(net: SimNet, name: str, *, of: list[str]) -> bool:
    return all(name not in net.linked(other) for other in of)


def test_a_dm_to_a_member_who_left_reaches_it_through_a_holder_after_its_writer_left() -> None:
    net = room_of_three()
    net.kill("carol")
    assert net.run_until(lambda: gone(net, "carol", of=["alice", "bob"]), SETTLE)
    net.inject("alice", ev.SendDirect("carol", "see you at noon"))
    alice, bob = net.nodes["alice"], net.nodes["bob"]
    [shown] = dms(alice)
    assert shown.own and shown.dm_status is DirectStatus.QUEUED and shown.to_nick == "carol"
    [queued] = [v for v in alice.views if isinstance(v, vw.DirectStatusChanged)]
    assert queued.status is DirectStatus.QUEUED and queued.holders == 1
    assert net.run_until(lambda: len(bob.mesh.directs.hold) == 1, SETTLE)
    assert dms(bob) == []  # bob holds it sealed; he is shown nothing
    net.kill("alice")
    net.run(1.0)

    carol = net.restart("carol", introduce_to=["bob"])
    assert net.run_until(lambda: len(dms(carol)) == 1, SETTLE)
    [got] = dms(carol)
    assert (got.text, got.author, got.own) == ("see you at noon", alice.node_id, False)
    assert got.msg_id == shown.msg_id
    # Carol's receipt made bob drop the DM; he keeps the receipt for alice.
    assert net.run_until(lambda: bob.mesh.directs.hold.get(shown.msg_id) is None, SETTLE)
    assert len(bob.mesh.directs.hold) == 1

    net.restart("alice", introduce_to=["bob"])
    assert net.run_until(lambda: DirectStatus.DELIVERED in statuses(alice), SETTLE)
    assert alice.direct_disk.directs[shown.msg_id].status is DirectStatus.DELIVERED
    assert alice.direct_disk.directs[shown.msg_id].frame == b""  # nothing kept to resend
    assert net.run_until(lambda: len(bob.mesh.directs.hold) == 0, SETTLE)
    net.run(5.0)
    assert len(dms(carol)) == 1  # shown once, whoever brought it


def test_the_dm_is_shown_again_after_the_recipients_restart_and_never_twice() -> None:
    net = room_of_three(seed=1)
    net.kill("carol")
    assert net.run_until(lambda: gone(net, "carol", of=["alice", "bob"]), SETTLE)
    net.inject("alice", ev.SendDirect("carol", "the key is under the mat"))
    net.run(1.0)
    carol = net.restart("carol", introduce_to=["bob"])
    assert net.run_until(lambda: len(dms(carol)) == 1, SETTLE)
    assert not dms(carol)[0].restored

    net.kill("carol")
    net.run(1.0)
    carol = net.restart("carol", introduce_to=["bob"])
    net.run(SETTLE)
    [again] = dms(carol)
    assert again.restored and again.text == "the key is under the mat"
    assert again.to_id == carol.node_id and not again.own


def test_a_dm_to_a_linked_member_is_acknowledged_and_shown_delivered() -> None:
    net = room_of_three(seed=2)
    net.inject("alice", ev.SendDirect("carol", "hi"))
    alice, carol = net.nodes["alice"], net.nodes["carol"]
    assert dms(alice)[0].dm_status is DirectStatus.SENT
    assert net.run_until(lambda: statuses(alice) == [DirectStatus.DELIVERED], SETTLE)
    assert [m.text for m in dms(carol)] == ["hi"]
    assert len(net.nodes["bob"].mesh.directs.hold) == 0  # nothing was handed out


def test_every_holder_and_the_writer_bring_it_but_it_is_shown_once_and_all_copies_go() -> None:
    net = SimNet(seed=3)
    for name in ("alice", "bob", "carol", "dave"):
        net.add_node(name)
    for name in ("alice", "carol", "dave"):
        net.introduce(name, "bob")
    assert net.run_until(net.full_mesh, SETTLE)
    net.kill("carol")
    assert net.run_until(lambda: gone(net, "carol", of=["alice", "bob", "dave"]), SETTLE)
    for i in range(3):
        net.inject("alice", ev.SendDirect("carol", f"note {i}"))
    holders = [net.nodes["bob"], net.nodes["dave"]]
    assert net.run_until(lambda: all(len(h.mesh.directs.hold) == 3 for h in holders), SETTLE)

    carol = net.restart("carol", introduce_to=["bob", "dave", "alice"])
    assert net.run_until(lambda: len(dms(carol)) == 3, SETTLE)
    alice = net.nodes["alice"]
    delivered = lambda: statuses(alice).count(DirectStatus.DELIVERED) == 3  # noqa: E731
    assert net.run_until(delivered, SETTLE)
    net.run(5.0)
    assert sorted(m.text for m in dms(carol)) == ["note 0", "note 1", "note 2"]
    assert all(len(h.mesh.directs.hold) == 0 for h in holders)
    assert len(alice.mesh.directs.outgoing) == 0


def test_a_dm_written_before_the_writers_restart_is_still_delivered() -> None:
    net = room_of_three(seed=4)
    net.kill("bob")
    net.kill("carol")
    assert net.run_until(lambda: not net.linked("alice"), SETTLE)
    net.inject("alice", ev.SendDirect("carol", "kept on my disk"))
    alice = net.nodes["alice"]
    assert statuses(alice) == [DirectStatus.QUEUED]
    net.kill("alice")
    alice = net.restart("alice")
    [restored] = dms(alice)
    assert restored.restored and restored.dm_status is DirectStatus.QUEUED
    carol = net.restart("carol", introduce_to=["alice"])
    assert net.run_until(lambda: len(dms(carol)) == 1, SETTLE)
    assert net.run_until(lambda: DirectStatus.DELIVERED in statuses(alice), SETTLE)


def test_a_holder_that_drops_the_dm_only_delays_it_until_writer_and_recipient_meet() -> None:
    net = room_of_three(seed=5)
    net.kill("carol")
    assert net.run_until(lambda: gone(net, "carol", of=["alice", "bob"]), SETTLE)
    net.inject("alice", ev.SendDirect("carol", "are you there?"))
    bob = net.nodes["bob"]
    assert net.run_until(lambda: len(bob.mesh.directs.hold) == 1, SETTLE)
    # bob loses everything he held (a hostile holder, or a lost disk)
    net.kill("bob")
    bob.direct_disk.held.clear()
    net.restart("bob", introduce_to=["alice"])
    carol = net.restart("carol", introduce_to=["bob"])
    assert net.run_until(lambda: len(dms(carol)) == 1, SETTLE)  # alice brings it herself
    assert net.run_until(lambda: DirectStatus.DELIVERED in statuses(net.nodes["alice"]), SETTLE)


def test_a_dm_to_somebody_never_met_is_refused_with_a_reason() -> None:
    net = room_of_three(seed=6)
    net.inject("alice", ev.SendDirect("zoe", "hello?"))
    alice = net.nodes["alice"]
    [problem] = [v for v in alice.views if isinstance(v, vw.Problem)]
    assert "nobody called zoe" in problem.text
    assert dms(alice) == []


def test_members_met_are_remembered_across_a_restart_to_write_to_them() -> None:
    net = room_of_three(seed=7)
    net.kill("carol")
    net.kill("bob")
    net.kill("alice")
    alice = net.restart("alice")  # alone: carol is known from the log only
    net.inject("alice", ev.SendDirect("carol", "when you are back"))
    [shown] = dms(alice)
    assert shown.dm_status is DirectStatus.QUEUED and shown.to_id == net.nodes["carol"].node_id


def test_dms_are_replayed_and_listed_among_the_room_messages_in_order() -> None:
    net = room_of_three(seed=8)
    alice = net.nodes["alice"]
    net.inject("alice", ev.SendChat("before"))
    net.inject("alice", ev.SendDirect("bob", "between"))
    net.inject("alice", ev.SendChat("after"))
    assert net.run_until(lambda: len(dms(net.nodes["bob"])) == 1, SETTLE)
    net.kill("alice")
    alice = net.restart("alice")
    assert [m.text for m in alice.messages()] == ["before", "between", "after"]
    assert all(m.restored for m in alice.messages())
    net.inject("alice", ev.ShowHistory(10))
    [listing] = [v for v in alice.views if isinstance(v, vw.HistoryListing)]
    assert [m.text for m in listing.messages] == ["before", "between", "after"]
    assert [m.direct for m in listing.messages] == [False, True, False]
