"""The file desk on its own: a host, an outbox and a members directory, no mesh, no handshake."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.crypto import Crypto, offer_signing_bytes
from p2pchat.core.filedesk import FileDesk
from p2pchat.core.limits import Limits
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import FileOffer, FileRequest, with_fields
from p2pchat.core.outbox import Outbox
from tests.core.peers import ME_KEYS, P1_KEYS, P2_KEYS

SHA = "ab" * 32
NOW = 1_800_000_000.0


@dataclass
class Host:
    """The node the desk belongs to, as little as it needs."""

    crypto: Crypto = ME_KEYS
    nick: str = "me"
    room: str = "lobby"
    limits: Limits = field(default_factory=Limits)
    wall: float = NOW
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def node_id(self) -> str:
        return self.crypto.node_id

    def random_id(self) -> str:
        return f"{next(self.ids):016x}"


def desk_with(*peers: tuple[str, int]) -> tuple[FileDesk, Outbox, Members]:
    outbox = Outbox()
    members = Members(outbox)
    for node_id, conn in peers:
        members.peers[node_id] = Peer(node_id, f"n{conn}", conn, "10.0.0.1", 5000, 0.0, 0.0)
    return FileDesk(Host(), outbox, members), outbox, members


def offer_by(keys: object, offer_id: str = "00112233445566aa") -> FileOffer:
    unsigned = FileOffer(offer_id, keys.node_id, "", "a.txt", 10, SHA, NOW, keys.public_key, b"")  # type: ignore[attr-defined]
    return with_fields(unsigned, signature=keys.sign(offer_signing_bytes("lobby", unsigned)))  # type: ignore[attr-defined]


def test_an_offer_in_someone_elses_name_is_a_verdict_not_a_strike() -> None:
    desk, outbox, members = desk_with((P1_KEYS.node_id, 1), (P2_KEYS.node_id, 2))
    relayed = offer_by(P2_KEYS)
    wrong = desk.on_message(members.peers[P1_KEYS.node_id], relayed)
    assert wrong == "a file offer in someone else's name"
    assert outbox.take() == [] and desk.incoming == {}
    forged = with_fields(offer_by(P1_KEYS), size=11)  # signed for 10 bytes
    assert desk.on_message(members.peers[P1_KEYS.node_id], forged) == (
        "a file offer with a bad signature"
    )


def test_an_honest_offer_is_shown_and_accepting_it_asks_the_runtime_to_receive() -> None:
    desk, outbox, members = desk_with((P1_KEYS.node_id, 1))
    offer = offer_by(P1_KEYS)
    assert desk.on_message(members.peers[P1_KEYS.node_id], offer) == ""
    [shown] = outbox.take()
    assert isinstance(shown, act.Show) and isinstance(shown.view, vw.FileOffered)
    assert shown.view.from_nick == "n1"
    desk.handle(ev.AcceptFile(offer.offer_id))
    assert any(isinstance(a, act.PrepareReceive) for a in outbox.take())


def test_our_offer_goes_to_every_linked_member_and_a_request_is_served() -> None:
    desk, outbox, members = desk_with((P1_KEYS.node_id, 1), (P2_KEYS.node_id, 2))
    desk.handle(ev.OfferFile("/home/me/a.pdf", "a.pdf", 5, SHA, None))
    sends = [a for a in outbox.take() if isinstance(a, act.Send)]
    [offer_send] = [s for s in sends if isinstance(s.message, FileOffer)]
    assert sorted(offer_send.conns) == [1, 2]
    offer_id = offer_send.message.offer_id
    assert offer_id == f"{1:016x}"  # the host's random_id
    assert desk.on_message(members.peers[P2_KEYS.node_id], FileRequest(offer_id, 0)) == ""
    assert any(isinstance(a, act.ServeFile) for a in outbox.take())
