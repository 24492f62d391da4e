"""Offline DMs with real keys: hostile holders (altering, replaying, forging receipts), the
holding time, the bounds of what a holder keeps, and rate limits."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.crypto import receipt_signing_bytes
from p2pchat.core.directrecords import DirectStatus, KnownMember
from p2pchat.core.limits import Limits
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import Direct, Pong, Receipt, with_fields
from p2pchat.security.keys import NodeKeys
from tests.core.peers import LIMITS, ME_KEYS, P1_KEYS, P2_KEYS, P3_KEYS, P6_KEYS, link, make_mesh

pytestmark = pytest.mark.timeout(60)

DAY = 86400.0
WALL = 1_800_000_000.0
ALICE, BOB, CAROL, MALLORY, DAVE = ME_KEYS, P2_KEYS, P3_KEYS, P1_KEYS, P6_KEYS


def carol_known() -> KnownMember:
    return KnownMember(CAROL.node_id, "carol", CAROL.dh_public, WALL - DAY)


def alice_with_bob(**kwargs: object) -> tuple[Mesh, list[act.Action]]:
    """Alice, linked to bob (conn 1), writes to carol, who is away: what she sent."""
    alice = make_mesh(
        ALICE, "alice", known=[carol_known()], trusted={"carol": CAROL.node_id}, **kwargs
    )
    alice.handle(ev.Started(mdns=False), 0.0, WALL)
    link(alice, 1, BOB, nick="bob", wall=WALL)
    out = alice.handle(ev.SendDirect("carol", "meet at noon"), 1.0, WALL + 1)
    return alice, out


def handed_dm() -> Direct:
    _, out = alice_with_bob()
    [direct] = [a.message for a in out if isinstance(a, act.Send)]
    assert isinstance(direct, Direct) and direct.to == CAROL.node_id
    return direct


def node(keys: NodeKeys, nick: str, limits: Limits = LIMITS, **kwargs: object) -> Mesh:
    mesh = Mesh(keys, nick, "lobby", 4000, limits=limits, rng=random.Random(1), **kwargs)  # type: ignore[arg-type]
    mesh.handle(ev.Started(mdns=False), 0.0, WALL)
    return mesh


def shown_dms(out: list[act.Action]) -> list[vw.MessageShown]:
    return [a.view for a in out if isinstance(a, act.Show) and isinstance(a.view, vw.MessageShown)]


def receipts(out: list[act.Action]) -> list[tuple[tuple[int, ...], Receipt]]:
    return [
        (a.conns, a.message)
        for a in out
        if isinstance(a, act.Send) and isinstance(a.message, Receipt)
    ]


def receipt_from(keys: NodeKeys, direct: Direct, *, author: str | None = None) -> Receipt:
    unsigned = Receipt(
        author or keys.node_id, direct.author, direct.nonce, WALL + 5, keys.public_key, b""
    )
    return with_fields(unsigned, signature=keys.sign(receipt_signing_bytes(unsigned)))


def strikes(mesh: Mesh, keys: NodeKeys) -> int:
    return mesh.guard.strikes(keys.node_id, 10.0)


def test_the_writer_hands_a_dm_for_an_away_member_to_those_online_and_says_queued() -> None:
    _, out = alice_with_bob()
    [send] = [a for a in out if isinstance(a, act.Send)]
    assert send.conns == (1,)
    [status] = [
        a.view
        for a in out
        if isinstance(a, act.Show) and isinstance(a.view, vw.DirectStatusChanged)
    ]
    assert (status.status, status.holders, status.to_nick) == (DirectStatus.QUEUED, 1, "carol")
    [stored] = [a.row for a in out if isinstance(a, act.StoreDirect)]
    assert stored.status is DirectStatus.QUEUED and stored.frame and stored.text == "meet at noon"


def test_a_holder_keeps_it_sealed_and_hands_it_on_when_the_recipient_links() -> None:
    direct = handed_dm()
    bob = node(BOB, "bob")
    link(bob, 1, ALICE, nick="alice", wall=WALL)
    out = bob.handle(ev.FramesReceived(1, (direct,)), 2.0, WALL + 2)
    assert shown_dms(out) == []
    [hold] = [a.held for a in out if isinstance(a, act.Hold)]
    assert hold.key == direct.msg_id and hold.recipient == CAROL.node_id
    assert hold.expires == direct.ts + Limits().held_max_age
    out = link(bob, 2, CAROL, nick="carol", wall=WALL + 3600)
    assert [
        a.message
        for a in out
        if isinstance(a, act.Send) and a.conns == (2,) and isinstance(a.message, Direct)
    ] == [direct]
    # Carol's receipt lets bob drop it, and goes on to alice, linked to bob.
    receipt = receipt_from(CAROL, direct)
    out = bob.handle(ev.FramesReceived(2, (receipt,)), 3601.0, WALL + 3601)
    assert [a.key for a in out if isinstance(a, act.Release)] == [direct.msg_id]
    assert receipts(out) == [((1,), receipt)]
    # Had alice been away, bob would have kept the receipt for her, and handed it over later.
    bob.handle(ev.ConnectionLost(1, "gone"), 3602.0, WALL + 3602)
    out = bob.handle(ev.FramesReceived(2, (receipt,)), 3603.0, WALL + 3603)
    assert [a.held.key for a in out if isinstance(a, act.Hold)] == [f"ack:{direct.msg_id}"]
    out = link(bob, 3, ALICE, nick="alice", wall=WALL + 7200)
    assert receipts(out) == [((3,), receipt)]
    assert [a.key for a in out if isinstance(a, act.Release)] == [f"ack:{direct.msg_id}"]
    # Alice, restarted before she read it, hands the DM out again: bob knows it arrived.
    bob.handle(ev.ConnectionLost(2, "gone"), 7201.0, WALL + 7201)
    out = bob.handle(ev.FramesReceived(3, (direct,)), 7202.0, WALL + 7202)
    assert not any(isinstance(a, act.Hold) for a in out) and len(bob.directs.hold) == 0


def test_the_recipient_opens_a_handed_on_dm_once_and_answers_every_copy() -> None:
    direct = handed_dm()
    carol = node(CAROL, "carol")
    link(carol, 1, BOB, nick="bob", wall=WALL + DAY)
    out = carol.handle(ev.FramesReceived(1, (direct,)), 5.0, WALL + DAY)
    [dm] = shown_dms(out)
    assert (dm.text, dm.author, dm.nick, dm.direct) == (
        "meet at noon",
        ALICE.node_id,
        "alice",
        True,
    )
    [(conns, receipt)] = receipts(out)
    assert conns == (1,) and receipt.direct_id == direct.msg_id and receipt.to == ALICE.node_id
    [row] = [a.row for a in out if isinstance(a, act.StoreDirect)]
    assert row.status is DirectStatus.RECEIVED and row.text == "meet at noon" and row.frame == b""
    # A holder that replays it: not shown again, answered again (so it drops its copy).
    out = carol.handle(ev.FramesReceived(1, (direct,)), 6.0, WALL + DAY + 1)
    assert shown_dms(out) == [] and len(receipts(out)) == 1
    # ... also after carol's restart, from the IDs she kept.
    again = node(CAROL, "carol", seen_directs={direct.msg_id: direct.ts})
    link(again, 1, BOB, nick="bob", wall=WALL + 2 * DAY)
    out = again.handle(ev.FramesReceived(1, (direct,)), 7.0, WALL + 2 * DAY)
    assert shown_dms(out) == [] and len(receipts(out)) == 1


def test_a_holder_that_alters_the_dm_gets_it_refused_and_a_strike() -> None:
    direct = handed_dm()
    for altered in (
        with_fields(direct, box=direct.box[:-1] + bytes([direct.box[-1] ^ 1])),
        with_fields(direct, ts=direct.ts + 60),
        with_fields(direct, author=MALLORY.node_id),
    ):
        carol = node(CAROL, "carol")
        link(carol, 1, BOB, nick="bob", wall=WALL + 10)
        out = carol.handle(ev.FramesReceived(1, (altered,)), 5.0, WALL + 10)
        assert shown_dms(out) == [] and receipts(out) == []
        assert strikes(carol, BOB) == 1
        # The real one, brought afterwards, still opens.
        out = carol.handle(ev.FramesReceived(1, (direct,)), 6.0, WALL + 11)
        assert [d.text for d in shown_dms(out)] == ["meet at noon"]


def test_a_forged_receipt_does_not_mark_the_dm_delivered_and_a_true_one_does() -> None:
    alice, out = alice_with_bob()
    [direct] = [a.message for a in out if isinstance(a, act.Send)]
    assert isinstance(direct, Direct)

    def delivered(actions: list[act.Action]) -> bool:
        return any(
            isinstance(a, act.SetDirectStatus) and a.status is DirectStatus.DELIVERED
            for a in actions
        )

    # Bob signs a receipt in carol's name: refused, a strike.
    out = alice.handle(
        ev.FramesReceived(1, (receipt_from(BOB, direct, author=CAROL.node_id),)), 2.0, WALL + 2
    )
    assert not delivered(out) and strikes(alice, BOB) == 1
    # Bob's own, well signed: he is not the recipient, so it means nothing.
    out = alice.handle(ev.FramesReceived(1, (receipt_from(BOB, direct),)), 3.0, WALL + 3)
    assert not delivered(out)
    # Carol's, altered on the way: refused.
    true = receipt_from(CAROL, direct)
    out = alice.handle(ev.FramesReceived(1, (replace_ts(true),)), 4.0, WALL + 4)
    assert not delivered(out)
    # Carol's, as she signed it: delivered, once.
    out = alice.handle(ev.FramesReceived(1, (true,)), 5.0, WALL + 5)
    assert delivered(out)
    [status] = [
        a.view
        for a in out
        if isinstance(a, act.Show) and isinstance(a.view, vw.DirectStatusChanged)
    ]
    assert status.status is DirectStatus.DELIVERED and status.msg_id == direct.msg_id
    out = alice.handle(ev.FramesReceived(1, (true,)), 6.0, WALL + 6)
    assert not delivered(out)


def replace_ts(receipt: Receipt) -> Receipt:
    return with_fields(receipt, ts=receipt.ts + 1)


def test_held_frames_and_undelivered_dms_go_after_a_week() -> None:
    direct = handed_dm()
    bob = node(BOB, "bob")
    link(bob, 1, ALICE, nick="alice", wall=WALL)
    bob.handle(ev.FramesReceived(1, (direct,)), 2.0, WALL + 2)
    assert len(bob.directs.hold) == 1
    week = Limits().held_max_age
    bob.handle(ev.Tick(), week - 10.0, WALL + week - 10)
    assert len(bob.directs.hold) == 1  # not a moment early
    due = bob.next_deadline()
    assert due is not None and due <= week + 2.0
    out = bob.handle(ev.Tick(), week + 2.0, WALL + week + 2)
    assert [a.key for a in out if isinstance(a, act.Release)] == [direct.msg_id]
    assert len(bob.directs.hold) == 0 and bob.counters["directs_expired_held"] == 1
    # A DM signed longer ago than the holding time is not taken to hold.
    late = node(BOB, "bob")
    link(late, 1, ALICE, nick="alice", wall=WALL + week + 2)
    out = late.handle(ev.FramesReceived(1, (direct,)), 1.0, WALL + week + 2)
    assert not any(isinstance(a, act.Hold) for a in out)

    alice, _ = alice_with_bob()
    out = alice.handle(ev.Tick(), week + 2.0, WALL + week + 2)
    [status] = [
        a.view
        for a in out
        if isinstance(a, act.Show) and isinstance(a.view, vw.DirectStatusChanged)
    ]
    assert status.status is DirectStatus.EXPIRED
    assert any(isinstance(a, act.SetDirectStatus) and a.status is DirectStatus.EXPIRED for a in out)
    assert len(alice.directs.outgoing) == 0


def test_a_dm_that_waited_almost_the_holding_time_is_still_taken() -> None:
    direct = handed_dm()
    carol = node(CAROL, "carol")
    when = WALL + Limits().held_max_age - 60
    link(carol, 1, BOB, nick="bob", wall=when)
    out = carol.handle(ev.FramesReceived(1, (direct,)), 5.0, when)
    assert [d.text for d in shown_dms(out)] == ["meet at noon"]


def test_a_flooding_author_crowds_out_itself_not_the_others() -> None:
    limits = replace(Limits(), max_held_per_recipient=4, max_held_per_author=100, max_held=6)
    bob = node(BOB, "bob", limits=limits)
    link(bob, 1, ALICE, nick="alice", wall=WALL)
    link(bob, 2, MALLORY, nick="mallory", wall=WALL)

    def dm(keys: NodeKeys, to: NodeKeys, i: int) -> Direct:
        from p2pchat.core.crypto import direct_signing_bytes

        unsigned = Direct(
            keys.node_id, to.node_id, f"{i:016x}", WALL + i, keys.public_key, b"e" * 32, b"box", b""
        )
        return with_fields(unsigned, signature=keys.sign(direct_signing_bytes(unsigned)))

    honest = [dm(ALICE, CAROL, i) for i in range(2)]
    bob.handle(ev.FramesReceived(1, tuple(honest)), 1.0, WALL + 10)
    flood = [dm(MALLORY, CAROL, 100 + i) for i in range(20)]
    bob.handle(ev.FramesReceived(2, tuple(flood)), 2.0, WALL + 20)
    held = {h.key for h in bob.directs.hold.for_recipient(CAROL.node_id)}
    assert {d.msg_id for d in honest} <= held
    assert len(held) == 4
    # In the total bound too, the flooder gives way: dave's DMs are all kept, and mallory
    # ends up holding no more than alice.
    others = [dm(ALICE, DAVE, 200 + i) for i in range(3)]
    bob.handle(ev.FramesReceived(1, tuple(others)), 3.0, WALL + 30)
    assert len(bob.directs.hold) == 6
    kept = bob.directs.hold.for_recipient(CAROL.node_id) + bob.directs.hold.for_recipient(
        DAVE.node_id
    )
    assert {d.msg_id for d in others} <= {h.key for h in kept}
    by_mallory = sum(1 for h in kept if h.author == MALLORY.node_id)
    assert by_mallory <= sum(1 for h in kept if h.author == ALICE.node_id)
    bob.directs.hold.check_invariants()


def test_a_holder_takes_no_more_from_an_author_than_its_rate_allows() -> None:
    limits = replace(Limits(), author_rate=1.0, author_burst=3.0)
    bob = node(BOB, "bob", limits=limits)
    link(bob, 1, MALLORY, nick="mallory", wall=WALL)
    from p2pchat.core.crypto import direct_signing_bytes

    frames = []
    for i in range(10):
        unsigned = Direct(
            MALLORY.node_id,
            CAROL.node_id,
            f"{i:016x}",
            WALL,
            MALLORY.public_key,
            b"e" * 32,
            b"box",
            b"",
        )
        frames.append(with_fields(unsigned, signature=MALLORY.sign(direct_signing_bytes(unsigned))))
    bob.handle(ev.FramesReceived(1, tuple(frames)), 1.0, WALL + 1)
    assert 0 < len(bob.directs.hold) <= 4


def test_the_writer_refuses_more_than_its_backlog_with_a_reason() -> None:
    limits = replace(Limits(), max_pending_directs=2)
    alice = node(ALICE, "alice", limits, known=[carol_known()])
    for i in range(3):
        out = alice.handle(ev.SendDirect("carol", f"note {i}"), 1.0 + i, WALL + i)
    [problem] = [a.view for a in out if isinstance(a, act.Show) and isinstance(a.view, vw.Problem)]
    assert "2 direct messages are still waiting" in problem.text
    assert len(alice.directs.outgoing) == 2


def signed_dm(
    keys: NodeKeys, to: NodeKeys, i: int, ts: float = WALL, box: bytes = b"box"
) -> Direct:
    from p2pchat.core.crypto import direct_signing_bytes

    unsigned = Direct(
        keys.node_id, to.node_id, f"{i:016x}", ts, keys.public_key, b"e" * 32, box, b""
    )
    return with_fields(unsigned, signature=keys.sign(direct_signing_bytes(unsigned)))


def test_replays_of_a_dm_taken_before_cost_its_writer_nothing_and_get_few_answers() -> None:
    # Found in review: a replayed ID (its signature zeroed) was charged to the writer and
    # answered every time, so any member could use up the writer's budget and lose its next DM.
    limits = replace(Limits(), author_rate=0.01, author_burst=2.0, repeat_dm_burst=5.0)
    direct = handed_dm()
    carol = node(CAROL, "carol", limits)
    link(carol, 1, BOB, nick="bob", wall=WALL + 10)
    link(carol, 2, MALLORY, nick="mallory", wall=WALL + 10)
    assert [
        d.text for d in shown_dms(carol.handle(ev.FramesReceived(1, (direct,)), 1.0, WALL + 10))
    ]
    replays = tuple(with_fields(direct, signature=b"\0" * 64) for _ in range(50))
    out = carol.handle(ev.FramesReceived(2, replays), 2.0, WALL + 11)
    assert shown_dms(out) == [] and len(receipts(out)) == 5  # the meter's burst, then nothing
    # Alice's budget is untouched: her next DM, brought by bob, is taken.
    alice, _ = alice_with_bob()
    out = alice.handle(ev.SendDirect("carol", "second"), 3.0, WALL + 12)
    [second] = [a.message for a in out if isinstance(a, act.Send)]
    out = carol.handle(ev.FramesReceived(1, (second,)), 3.0, WALL + 12)
    assert [d.text for d in shown_dms(out)] == ["second"]


def test_a_relay_passes_a_dm_on_once_per_link_and_never_a_stale_one() -> None:
    bob = node(BOB, "bob")
    link(bob, 1, MALLORY, nick="mallory", wall=WALL)
    link(bob, 2, CAROL, nick="carol", wall=WALL)
    direct = signed_dm(ALICE, CAROL, 1, ts=WALL, box=b"x" * 1000)
    out = bob.handle(ev.FramesReceived(1, (direct,) * 20), 1.0, WALL + 1)
    assert [a.conns for a in out if isinstance(a, act.Send) and isinstance(a.message, Direct)] == [
        (2,)
    ]
    stale = signed_dm(ALICE, CAROL, 2, ts=WALL - 30 * DAY)
    out = bob.handle(ev.FramesReceived(1, (stale,)), 2.0, WALL + 2)
    assert not any(isinstance(a, act.Send) for a in out)


def test_a_dm_for_an_away_member_goes_to_a_few_holders_only() -> None:
    from tests.core.peers import test_keys

    alice = make_mesh(ALICE, "alice", known=[carol_known()], trusted={"carol": CAROL.node_id})
    alice.handle(ev.Started(mdns=False), 0.0, WALL)
    others = [k for k in (test_keys(i) for i in range(20, 40)) if k.node_id != CAROL.node_id]
    for conn, keys in enumerate(others[:12], start=1):
        link(alice, conn, keys, nick=f"m{conn}", wall=WALL + conn)
    assert len(alice.peer_ids()) == 12
    out = alice.handle(ev.SendDirect("carol", "hi"), 0.0, WALL + 20)
    conns = [a.conns for a in out if isinstance(a, act.Send) and isinstance(a.message, Direct)]
    assert len(conns) == Limits().max_holders
    [status] = [
        a.view
        for a in out
        if isinstance(a, act.Show) and isinstance(a.view, vw.DirectStatusChanged)
    ]
    assert status.holders == Limits().max_holders


def test_a_member_with_a_broken_key_for_dms_gets_a_reason_not_a_crash() -> None:
    broken = KnownMember(CAROL.node_id, "carol", b"\0" * 32, WALL)
    alice = node(ALICE, "alice", known=[broken])
    out = alice.handle(ev.SendDirect("carol", "hi"), 1.0, WALL + 1)
    [problem] = [a.view for a in out if isinstance(a, act.Show) and isinstance(a.view, vw.Problem)]
    assert "not usable" in problem.text and len(alice.directs.outgoing) == 0


def test_a_dm_its_linked_recipient_did_not_acknowledge_is_sent_again() -> None:
    alice = node(ALICE, "alice")
    link(alice, 1, CAROL, nick="carol", wall=WALL)
    out = alice.handle(ev.SendDirect("carol", "did you get this?"), 1.0, WALL + 1)
    [first] = [a.message for a in out if isinstance(a, act.Send) and isinstance(a.message, Direct)]
    resent = []
    for second in range(2, 40):
        out = alice.handle(ev.Tick(), float(second), WALL + second)
        alice.handle(ev.FramesReceived(1, (Pong(0),)), float(second), WALL + second)  # alive
        resent += [
            a.message for a in out if isinstance(a, act.Send) and isinstance(a.message, Direct)
        ]
    assert resent == [first]  # once, after direct_resend_interval


def test_a_refused_frame_leaves_the_hold_as_it_was() -> None:
    from p2pchat.core.directhold import DirectHold, HoldVerdict

    limits = replace(Limits(), max_held_per_recipient=2, max_held=2, max_held_per_author=10)
    hold = DirectHold(limits)
    assert hold.add(signed_dm(ALICE, CAROL, 1), WALL + DAY, 100)[0] is HoldVerdict.HELD
    assert hold.add(signed_dm(BOB, DAVE, 2), WALL + DAY, 100)[0] is HoldVerdict.HELD
    # Mallory's frame for carol: her own bound lets alice's go, the total then refuses it,
    # and alice's comes back.
    verdict, given_up = hold.add(signed_dm(MALLORY, CAROL, 3), WALL + DAY, 100)
    assert (verdict, given_up) == (HoldVerdict.REFUSED, [])
    assert len(hold) == 2 and hold.get(signed_dm(ALICE, CAROL, 1).msg_id) is not None
    hold.check_invariants()
