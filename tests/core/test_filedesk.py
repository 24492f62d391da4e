"""File sharing in the pure core: offers, acceptance, requests, resume and what is refused."""

from __future__ import annotations

import random

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.crypto import offer_signing_bytes
from p2pchat.core.limits import Limits
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import (
    Bye,
    FileEnd,
    FileOffer,
    FileRequest,
    FileStop,
    Message,
    with_fields,
)
from p2pchat.security.keys import NodeKeys
from tests.core.peers import ME_KEYS, P1, P1_KEYS, P2, P2_KEYS, link, make_mesh

SHA = "ab" * 32
NOW = 1_800_000_000.0
OFFER_ID = "00112233445566aa"


def signed_offer(
    keys: NodeKeys,
    offer_id: str = OFFER_ID,
    *,
    to: str = "",
    name: str = "notes.txt",
    size: int = 1000,
) -> FileOffer:
    unsigned = FileOffer(offer_id, keys.node_id, to, name, size, SHA, NOW, keys.public_key, b"")
    return with_fields(unsigned, signature=keys.sign(offer_signing_bytes("lobby", unsigned)))


def step(m: Mesh, event: object) -> list[act.Action]:
    return m.handle(event, 10.0, NOW)  # type: ignore[arg-type]


def receive(m: Mesh, conn: int, message: Message) -> list[act.Action]:
    return step(m, ev.FramesReceived(conn, (message,)))


def sent(actions: list[act.Action], kind: type) -> list[tuple[tuple[int, ...], Message]]:
    return [
        (a.conns, a.message)
        for a in actions
        if isinstance(a, act.Send) and isinstance(a.message, kind)
    ]


def shown(actions: list[act.Action], kind: type) -> list[vw.View]:
    return [a.view for a in actions if isinstance(a, act.Show) and isinstance(a.view, kind)]


def of(actions: list[act.Action], kind: type) -> list[act.Action]:
    return [a for a in actions if isinstance(a, kind)]


def two_peers() -> Mesh:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    link(m, 2, P2_KEYS, nick="bob")
    return m


def offered_to_us(m: Mesh, offer: FileOffer | None = None, conn: int = 1) -> FileOffer:
    offer = offer or signed_offer(P1_KEYS)
    out = receive(m, conn, offer)
    assert len(shown(out, vw.FileOffered)) == 1
    return offer


# ------------------------------------------------------------------ offering


def test_a_room_offer_goes_signed_to_every_linked_peer() -> None:
    m = two_peers()
    out = step(m, ev.OfferFile("/home/me/a.pdf", "a.pdf", 5, SHA, None))
    [(conns, offer)] = sent(out, FileOffer)
    assert sorted(conns) == [1, 2]
    assert isinstance(offer, FileOffer) and offer.to == "" and offer.author == m.node_id
    assert ME_KEYS.verify(offer.key, offer.signature, offer_signing_bytes("lobby", offer))
    [view] = shown(out, vw.FileOffered)
    assert isinstance(view, vw.FileOffered) and view.own and not view.direct
    [save] = of(out, act.SaveTransfers)
    assert isinstance(save, act.SaveTransfers) and save.records[0]["path"] == "/home/me/a.pdf"


def test_a_direct_offer_goes_only_to_its_peer_and_later_peers_see_only_room_offers() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    out = step(m, ev.OfferFile("/x/direct.bin", "direct.bin", 5, SHA, "ann"))
    [(conns, offer)] = sent(out, FileOffer)
    assert conns == (1,) and isinstance(offer, FileOffer) and offer.to == P1
    step(m, ev.OfferFile("/x/room.bin", "room.bin", 5, SHA, None))
    out = link(m, 2, P2_KEYS, nick="bob")
    names = [o.name for _, o in sent(out, FileOffer) if isinstance(o, FileOffer)]
    assert names == ["room.bin"]


def test_a_direct_offer_to_an_unknown_nick_offers_nothing() -> None:
    m = two_peers()
    out = step(m, ev.OfferFile("/x/a", "a", 5, SHA, "nobody"))
    assert not sent(out, FileOffer) and not of(out, act.SaveTransfers)
    assert shown(out, vw.Problem)


def test_old_offers_are_not_shown_to_newcomers() -> None:
    m = make_mesh()
    step(m, ev.OfferFile("/x/old.bin", "old.bin", 5, SHA, None))
    fresh = link(make_mesh(), 1, P1_KEYS, wall=NOW)
    assert not sent(fresh, FileOffer)
    late = link(m, 1, P1_KEYS, wall=NOW + m.limits.offer_announce_seconds + 1)
    assert not sent(late, FileOffer)
    m2 = make_mesh()
    step(m2, ev.OfferFile("/x/new.bin", "new.bin", 5, SHA, None))
    assert sent(link(m2, 1, P1_KEYS, wall=NOW + 60), FileOffer)


# ------------------------------------------------------------------ receiving


def test_an_offer_is_shown_and_nothing_is_prepared_until_it_is_accepted() -> None:
    m = two_peers()
    out = receive(m, 1, signed_offer(P1_KEYS, name="../../etc/passwd"))
    [view] = shown(out, vw.FileOffered)
    assert isinstance(view, vw.FileOffered)
    assert (view.name, view.from_nick, view.own) == ("passwd", "ann", False)
    assert not of(out, act.PrepareReceive) and not of(out, act.SaveTransfers)
    out = step(m, ev.AcceptFile(OFFER_ID[:6]))
    [prepare] = of(out, act.PrepareReceive)
    assert isinstance(prepare, act.PrepareReceive) and prepare.conn == 1
    [save] = of(out, act.SaveTransfers)
    assert isinstance(save, act.SaveTransfers) and save.records[0]["state"] == "accepted"


def test_accept_without_an_id_takes_the_one_waiting_offer_but_never_guesses() -> None:
    m = two_peers()
    offered_to_us(m, signed_offer(P2_KEYS, "2222222222222222"), conn=2)
    [prepare] = of(step(m, ev.AcceptFile("")), act.PrepareReceive)
    assert isinstance(prepare, act.PrepareReceive)
    assert prepare.offer.offer_id == "2222222222222222" and prepare.conn == 2
    # With two waiting, the newest may be spam: the user is asked for the ID instead.
    offered_to_us(m, signed_offer(P1_KEYS, "1111111111111111"))
    offered_to_us(m, signed_offer(P1_KEYS, "3333333333333333"))
    out = step(m, ev.AcceptFile(""))
    assert not of(out, act.PrepareReceive)
    [problem] = shown(out, vw.Problem)
    assert "2 offers are waiting: 11111111 (notes.txt from ann), 33333333" in problem.text  # type: ignore[union-attr]


def test_a_declined_offer_prepares_nothing_and_an_ambiguous_id_is_refused() -> None:
    m = two_peers()
    offered_to_us(m, signed_offer(P1_KEYS, "aaaa000000000001"))
    offered_to_us(m, signed_offer(P1_KEYS, "aaaa000000000002"))
    out = step(m, ev.AcceptFile("aaaa"))
    assert not of(out, act.PrepareReceive) and shown(out, vw.Problem)
    out = step(m, ev.DeclineFile("aaaa000000000001"))
    assert not of(out, act.PrepareReceive) and not sent(out, FileRequest)
    assert m.files.incoming["aaaa000000000001"].state == "declined"


def test_forged_offers_are_rejected() -> None:
    m = two_peers()
    genuine = signed_offer(P1_KEYS)
    for forged in (
        with_fields(genuine, name="other.txt"),
        with_fields(genuine, size=1),
        with_fields(genuine, author=P2),
        with_fields(signed_offer(P2_KEYS), author=P1),
    ):
        before = m.counters["rejected"]
        out = receive(m, 1, forged)
        assert not shown(out, vw.FileOffered)
        assert m.counters["rejected"] == before + 1


def test_a_direct_offer_for_someone_else_is_ignored() -> None:
    m = two_peers()
    out = receive(m, 1, signed_offer(P1_KEYS, to=P2))
    assert not shown(out, vw.FileOffered)


def test_a_transfer_requests_from_what_is_on_disk_and_finishes_on_fileend() -> None:
    m = two_peers()
    offer = offered_to_us(m)
    step(m, ev.AcceptFile(OFFER_ID))
    out = step(m, ev.ReceiveReady(OFFER_ID, 1, 400))
    assert sent(out, FileRequest) == [((1,), FileRequest(OFFER_ID, 400))]
    [progress] = shown(out, vw.FileProgress)
    assert isinstance(progress, vw.FileProgress) and progress.done == 400
    assert not of(receive(m, 2, FileEnd(OFFER_ID, offer.size)), act.FinishReceive)
    assert of(receive(m, 1, FileEnd(OFFER_ID, offer.size)), act.FinishReceive)
    out = step(m, ev.ReceiveFinished(OFFER_ID, True, "/dl/notes.txt"))
    [done] = shown(out, vw.FileDone)
    assert isinstance(done, vw.FileDone) and done.path == "/dl/notes.txt" and not done.sending
    [save] = of(out, act.SaveTransfers)
    assert isinstance(save, act.SaveTransfers) and save.records[0]["state"] == "done"


def test_a_lost_link_pauses_the_transfer_and_the_next_link_resumes_it() -> None:
    m = two_peers()
    offered_to_us(m)
    step(m, ev.AcceptFile(OFFER_ID))
    step(m, ev.ReceiveReady(OFFER_ID, 1, 0))
    out = step(m, ev.ConnectionLost(1, "reset"))
    assert of(out, act.AbortReceive) == [act.AbortReceive(OFFER_ID, delete=False)]
    assert m.files.incoming[OFFER_ID].state == "accepted"
    out = link(m, 3, P1_KEYS, nick="ann")
    [prepare] = of(out, act.PrepareReceive)
    assert isinstance(prepare, act.PrepareReceive) and prepare.conn == 3
    out = step(m, ev.ReceiveReady(OFFER_ID, 3, 700))
    assert sent(out, FileRequest) == [((3,), FileRequest(OFFER_ID, 700))]


def receiving_on(m: Mesh, conn: int) -> None:
    offered_to_us(m, conn=conn)
    step(m, ev.AcceptFile(OFFER_ID))
    step(m, ev.ReceiveReady(OFFER_ID, conn, 0))
    assert m.files.incoming[OFFER_ID].state == "receiving"


def test_a_transfer_moves_to_the_new_link_when_the_old_one_is_dropped_as_a_duplicate() -> None:
    # The peer dialled again (the old socket looked dead to it): the newer link wins.
    m = two_peers()
    receiving_on(m, 1)
    out = link(m, 3, P1_KEYS, nick="ann")
    assert act.Close(1, "duplicate link", flush=True) in out
    assert of(out, act.AbortReceive) == [act.AbortReceive(OFFER_ID, delete=False)]
    [prepare] = of(out, act.PrepareReceive)
    assert isinstance(prepare, act.PrepareReceive) and prepare.conn == 3
    out = step(m, ev.ReceiveReady(OFFER_ID, 3, 4096))
    assert sent(out, FileRequest) == [((3,), FileRequest(OFFER_ID, 4096))]


def test_a_transfer_moves_to_the_spare_link_when_the_peer_drops_the_other() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann", outbound=True)
    link(m, 3, P1_KEYS, nick="ann", outbound=True)  # we dialled twice: conn 3 waits as a spare
    receiving_on(m, 1)
    out = receive(m, 1, Bye("duplicate"))
    assert of(out, act.AbortReceive) == [act.AbortReceive(OFFER_ID, delete=False)]
    [prepare] = of(out, act.PrepareReceive)
    assert isinstance(prepare, act.PrepareReceive) and prepare.conn == 3


def test_serving_stops_on_a_link_dropped_as_a_duplicate() -> None:
    m = two_peers()
    step(m, ev.OfferFile("/f", "f.bin", 1000, SHA, None, 1))
    [offer] = [o.offer for o in m.files.outgoing.values()]
    out = receive(m, 1, FileRequest(offer.offer_id, 0))
    assert of(out, act.ServeFile)
    out = link(m, 3, P1_KEYS, nick="ann")
    assert act.StopServe(1, offer.offer_id) in out


def test_quitting_does_not_announce_paused_transfers() -> None:
    m = two_peers()
    receiving_on(m, 1)
    out = step(m, ev.Shutdown())
    assert not shown(out, vw.Notice)


def test_a_failed_check_tells_the_sender_and_keeps_nothing_as_done() -> None:
    m = two_peers()
    offered_to_us(m)
    step(m, ev.AcceptFile(OFFER_ID))
    out = step(m, ev.ReceiveFinished(OFFER_ID, False, "disk full"))
    [(conns, stop)] = sent(out, FileStop)
    assert conns == (1,) and isinstance(stop, FileStop) and "disk full" in stop.reason
    assert shown(out, vw.FileFailed) and m.files.incoming[OFFER_ID].state == "failed"


def test_the_sender_stopping_fails_the_transfer_and_deletes_the_part() -> None:
    m = two_peers()
    offered_to_us(m)
    step(m, ev.AcceptFile(OFFER_ID))
    assert not shown(receive(m, 2, FileStop(OFFER_ID, "not from the sender")), vw.FileFailed)
    out = receive(m, 1, FileStop(OFFER_ID, "the file changed since it was offered"))
    assert of(out, act.AbortReceive) == [act.AbortReceive(OFFER_ID, delete=True)]
    [failed] = shown(out, vw.FileFailed)
    assert isinstance(failed, vw.FileFailed) and "changed" in failed.reason


def test_cancelling_a_download_tells_the_sender_and_deletes_the_part() -> None:
    m = two_peers()
    offered_to_us(m)
    step(m, ev.AcceptFile(OFFER_ID))
    out = step(m, ev.CancelTransfer(OFFER_ID[:4]))
    assert sent(out, FileStop) == [((1,), FileStop(OFFER_ID, "cancelled"))]
    assert of(out, act.AbortReceive) == [act.AbortReceive(OFFER_ID, delete=True)]


def test_offer_spam_pushes_out_only_the_spammers_own_offers() -> None:
    limits = Limits(max_offers=10, max_pending_offers=3)
    m = Mesh(ME_KEYS, "me", "lobby", 4000, limits=limits, rng=random.Random(1))
    link(m, 1, P1_KEYS, nick="ann")
    link(m, 2, P2_KEYS, nick="spam")
    offered_to_us(m, signed_offer(P1_KEYS, "1111111111111111"))
    for i in range(15):  # within the offer meter's burst
        receive(m, 2, signed_offer(P2_KEYS, f"{i + 0x100:016x}"))
    pending = [i.offer.author for i in m.files.incoming.values() if i.state == "offered"]
    assert pending.count(P1) == 1 and pending.count(P2) == limits.max_pending_offers
    spam = [o for o in m.files.incoming if o.startswith("00000000000001")]
    assert spam == [f"{i + 0x100:016x}" for i in (12, 13, 14)]


def test_full_offer_table_forgets_the_oldest_finished_offer() -> None:
    m = Mesh(ME_KEYS, "me", "lobby", 4000, limits=Limits(max_offers=2), rng=random.Random(1))
    link(m, 1, P1_KEYS, nick="ann")
    offered_to_us(m, signed_offer(P1_KEYS, "1111111111111111"))
    offered_to_us(m, signed_offer(P1_KEYS, "2222222222222222"))
    step(m, ev.AcceptFile("2222222222222222"))
    offered_to_us(m, signed_offer(P1_KEYS, "3333333333333333"))
    assert sorted(m.files.incoming) == ["2222222222222222", "3333333333333333"]


# ------------------------------------------------------------------ serving


def our_offer(m: Mesh, target: str | None = None) -> FileOffer:
    out = step(m, ev.OfferFile("/srv/big.iso", "big.iso", 5000, SHA, target))
    [(_, offer)] = sent(out, FileOffer)
    assert isinstance(offer, FileOffer)
    return offer


def test_streams_per_peer_are_bounded_and_the_rest_wait_their_turn() -> None:
    limits = Limits(max_serves_per_peer=2)
    m = Mesh(ME_KEYS, "me", "lobby", 4000, limits=limits, rng=random.Random(1))
    link(m, 1, P1_KEYS, nick="ann")
    offers = [our_offer(m) for _ in range(4)]
    served = []
    for offer in offers:
        served += of(receive(m, 1, FileRequest(offer.offer_id, 0)), act.ServeFile)
    assert [a.offer_id for a in served] == [o.offer_id for o in offers[:2]]  # type: ignore[union-attr]
    # One finishes: the oldest waiting one starts, from the offset it asked for.
    done = ev.ServeFinished(offers[0].offer_id, 1, P1, True, "")
    [third] = of(step(m, done), act.ServeFile)
    assert isinstance(third, act.ServeFile) and third.offer_id == offers[2].offer_id


def test_a_request_starts_serving_from_its_offset_and_the_end_is_announced() -> None:
    m = two_peers()
    offer = our_offer(m)
    out = receive(m, 1, FileRequest(offer.offer_id, 1234))
    assert of(out, act.ServeFile) == [
        act.ServeFile(1, P1, offer.offer_id, "/srv/big.iso", 1234, 5000)
    ]
    out = step(m, ev.ServeFinished(offer.offer_id, 1, P1, True, ""))
    assert sent(out, FileEnd) == [((1,), FileEnd(offer.offer_id, 5000))]
    [done] = shown(out, vw.FileDone)
    assert isinstance(done, vw.FileDone) and done.sending and done.peer_nick == "ann"


def test_requests_that_are_not_allowed_get_a_filestop() -> None:
    m = two_peers()
    direct = our_offer(m, "bob")
    cases = [
        FileRequest("0000000000000000", 0),  # no such offer
        FileRequest(direct.offer_id, 0),  # offered to bob, asked by ann
        FileRequest(our_offer(m).offer_id, 5001),  # beyond the end
    ]
    for request in cases:
        out = receive(m, 1, request)
        assert not of(out, act.ServeFile)
        [(conns, _)] = sent(out, FileStop)
        assert conns == (1,)


def test_a_new_request_replaces_the_old_stream_and_cancel_stops_all() -> None:
    m = two_peers()
    offer = our_offer(m)
    receive(m, 1, FileRequest(offer.offer_id, 0))
    out = receive(m, 1, FileRequest(offer.offer_id, 99))
    assert of(out, act.StopServe) == [act.StopServe(1, offer.offer_id)]
    receive(m, 2, FileRequest(offer.offer_id, 0))
    out = step(m, ev.CancelTransfer(offer.offer_id))
    assert sorted(a.conn for a in of(out, act.StopServe) if isinstance(a, act.StopServe)) == [1, 2]
    assert [sorted(c) for c, _ in sent(out, FileStop)] == [[1, 2]]  # one withdrawal to all
    assert not m.files.outgoing


def test_a_receiver_that_stops_ends_its_stream_only() -> None:
    m = two_peers()
    offer = our_offer(m)
    receive(m, 1, FileRequest(offer.offer_id, 0))
    receive(m, 2, FileRequest(offer.offer_id, 0))
    out = receive(m, 1, FileStop(offer.offer_id, "the receiver stopped: disk full"))
    assert of(out, act.StopServe) == [act.StopServe(1, offer.offer_id)]
    assert list(m.files.outgoing[offer.offer_id].serving) == [P2]


# ------------------------------------------------------------------ restart


def test_saved_transfers_come_back_and_resume_when_the_peer_links() -> None:
    m = two_peers()
    offered_to_us(m)
    step(m, ev.AcceptFile(OFFER_ID))
    out = step(m, ev.OfferFile("/srv/big.iso", "big.iso", 5000, SHA, None))
    [save] = of(out, act.SaveTransfers)
    assert isinstance(save, act.SaveTransfers)
    later = make_mesh(transfers=[*save.records, {"offer_id": "broken"}, {}])
    assert later.files.incoming[OFFER_ID].state == "accepted"
    [outgoing] = later.files.outgoing.values()
    assert outgoing.path == "/srv/big.iso"
    out = link(later, 5, P1_KEYS, nick="ann", wall=NOW)
    [prepare] = of(out, act.PrepareReceive)
    assert isinstance(prepare, act.PrepareReceive) and prepare.conn == 5
    assert [o for _, o in sent(out, FileOffer)] == [outgoing.offer]


def last_save(out: list[act.Action]) -> list[dict[str, object]]:
    saves = of(out, act.SaveTransfers)
    assert saves
    return list(saves[-1].records)  # type: ignore[union-attr]


def test_finished_declined_and_cancelled_offers_never_come_back_as_new() -> None:
    # Issue 12: after a restart, a finished or cancelled offer came back as new, and accepting
    # it again made "notes (1).txt". Now every finished state is remembered.
    m = two_peers()
    ids = ["1111111111111111", "2222222222222222", "3333333333333333"]
    for offer_id in ids:
        offered_to_us(m, signed_offer(P1_KEYS, offer_id))
    step(m, ev.AcceptFile(ids[0]))
    out = step(m, ev.ReceiveFinished(ids[0], True, "/dl/notes.txt"))
    step(m, ev.DeclineFile(ids[1]))
    step(m, ev.AcceptFile(ids[2]))
    out = step(m, ev.CancelTransfer(ids[2]))
    later = make_mesh(transfers=last_save(out))
    assert {i: later.files.incoming[i].state for i in ids} == {
        ids[0]: "done",
        ids[1]: "declined",
        ids[2]: "failed",
    }
    # The sender announces its offers again when it links: none is shown as new.
    link(later, 5, P1_KEYS, nick="ann", wall=NOW)
    again = [receive(later, 5, signed_offer(P1_KEYS, offer_id)) for offer_id in ids]
    assert not [v for out in again for v in shown(out, vw.FileOffered)]
    assert shown(step(later, ev.AcceptFile("")), vw.Problem)  # nothing is waiting


def test_a_withdrawn_offer_leaves_every_screen_and_cannot_be_accepted() -> None:
    sender = two_peers()
    offer = our_offer(sender)
    out = step(sender, ev.CancelTransfer(offer.offer_id))
    [(conns, stop)] = sent(out, FileStop)
    assert sorted(conns) == [1, 2] and stop == FileStop(offer.offer_id, "withdrawn by the sender")
    receiver = make_mesh(P1_KEYS, "ann")
    link(receiver, 1, ME_KEYS, nick="me")
    receive(receiver, 1, offer)
    out = receive(receiver, 1, stop)
    [failed] = shown(out, vw.FileFailed)
    assert isinstance(failed, vw.FileFailed) and failed.reason == "withdrawn by its sender"
    assert receiver.files.incoming[offer.offer_id].state == "withdrawn"
    assert shown(step(receiver, ev.AcceptFile("")), vw.Problem)
    assert last_save(out)[0]["state"] == "withdrawn"


def test_the_transfer_table_lists_both_directions() -> None:
    m = two_peers()
    offered_to_us(m)
    our_offer(m)
    [table] = shown(step(m, ev.ShowTransfers()), vw.TransferTable)
    assert isinstance(table, vw.TransferTable)
    assert sorted((r.sending, r.state) for r in table.rows) == [
        (False, "offered"),
        (True, "shared"),
    ]
