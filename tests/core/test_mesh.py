"""The node core, one Mesh at a time: exact actions for handshakes, tie-break, flooding, timers."""

from __future__ import annotations

import random

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.crypto import auth_signing_bytes
from p2pchat.core.directrecords import KnownMember
from p2pchat.core.history import History
from p2pchat.core.limits import MAX_LAMPORT, PROTOCOL_VERSION, Limits
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import (
    Auth,
    Bye,
    Chat,
    Direct,
    ErrorFrame,
    Hello,
    NickChange,
    PeerAddress,
    PeerList,
    Ping,
    Pong,
    SyncBatch,
    SyncRequest,
    decode_message,
    encode_message,
    with_fields,
)
from tests.core.peers import (
    HIGH_KEYS,
    LIMITS,
    LOW,
    LOW_KEYS,
    ME,
    ME_KEYS,
    OTHER,
    OTHER_KEYS,
    P1,
    P1_KEYS,
    P2,
    P2_KEYS,
    P3,
    P3_KEYS,
    auth,
    hello,
    link,
    make_mesh,
    open_link,
    our_ephemeral,
    our_nonce,
    signed_chat,
    without_logs,
)


def test_connection_starts_with_our_hello() -> None:
    m = make_mesh()
    out = open_link(m, 1)
    own = Hello(
        PROTOCOL_VERSION,
        ME,
        "me",
        "lobby",
        4000,
        ME_KEYS.public_key,
        ME_KEYS.dh_public,
        our_nonce(1),
        "",
        our_ephemeral(1),
    )
    assert out == [act.Send((1,), own)]


def test_hello_is_answered_with_auth_and_auth_establishes_the_link() -> None:
    m = make_mesh()
    open_link(m, 1)
    out = m.handle(ev.FramesReceived(1, (hello(OTHER_KEYS, "bob"),)), 0.0, 0.0)
    assert len(out) == 1 and isinstance(out[0], act.Send)
    assert m.peer_ids() == []
    out = without_logs(m.handle(ev.FramesReceived(1, (auth(OTHER_KEYS, m, 1, "bob"),)), 0.0, 0.0))
    assert out == [
        act.Show(vw.PeerJoined(OTHER, "bob", "bob", "10.0.0.1:5000")),
        act.Trust("bob", OTHER),
        act.Send((1,), PeerList((), complete=True)),
        act.Send((1,), SyncRequest({}, 0)),
        act.RememberMember(KnownMember(OTHER, "bob", OTHER_KEYS.dh_public, 0.0)),
    ]
    assert m.peer_ids() == [OTHER]


def test_auth_covers_the_hello_and_nick_so_nothing_can_be_swapped_between() -> None:
    genuine = hello(OTHER_KEYS, "bob")
    ours = make_mesh().own_hello(our_nonce(1), our_ephemeral(1))
    signed = auth_signing_bytes(genuine, ours, "bob")
    swapped = (
        (with_fields(genuine, dh=HIGH_KEYS.dh_public), "bob"),
        (with_fields(genuine, ek=b"x" * 32), "bob"),
        (genuine, "eve"),
    )
    for received, nick in swapped:
        m = make_mesh()
        open_link(m, 1)
        m.handle(ev.FramesReceived(1, (received,)), 0.0, 0.0)
        out = m.handle(ev.FramesReceived(1, (Auth(OTHER_KEYS.sign(signed), nick),)), 0.0, 0.0)
        assert any(isinstance(a, act.Close) for a in out)
        assert m.peer_ids() == []


def test_a_relayed_auth_is_useless_on_another_link() -> None:
    # Eve dials Bob (us) and reads our HELLO; she dials Alice with a HELLO of her own that
    # carries our nonce, and passes Alice's HELLO and AUTH on to us. The AUTH covers the link
    # Alice saw (with Eve's ID and keys in it), not ours: the link is refused.
    bob = make_mesh()
    open_link(bob, 1)
    ours = bob.links.by_conn[1].handshake.own
    eves_hello_to_alice = with_fields(hello(HIGH_KEYS, "eve"), nonce=ours.nonce)
    alices_hello = hello(OTHER_KEYS, "alice")
    alices_auth = Auth(
        OTHER_KEYS.sign(auth_signing_bytes(alices_hello, eves_hello_to_alice, "alice")), "alice"
    )
    bob.handle(ev.FramesReceived(1, (alices_hello,)), 0.0, 0.0)
    out = bob.handle(ev.FramesReceived(1, (alices_auth,)), 0.0, 0.0)
    assert act.Close(1, "authentication failed (bad signature)", flush=True) in out
    assert bob.peer_ids() == []
    assert not [a for a in out if isinstance(a, act.Show) and isinstance(a.view, vw.PeerJoined)]


def test_auth_signed_by_another_key_is_refused() -> None:
    m = make_mesh()
    open_link(m, 1)
    m.handle(ev.FramesReceived(1, (hello(OTHER_KEYS, "bob"),)), 0.0, 0.0)
    forged = auth(HIGH_KEYS, m, 1, "bob")
    out = m.handle(ev.FramesReceived(1, (forged,)), 0.0, 0.0)
    assert any(isinstance(a, act.Close) for a in out)
    assert m.peer_ids() == []


def test_hello_whose_id_is_not_its_key_is_refused() -> None:
    m = make_mesh()
    open_link(m, 1)
    stolen = with_fields(hello(OTHER_KEYS), key=HIGH_KEYS.public_key)
    out = m.handle(ev.FramesReceived(1, (stolen,)), 0.0, 0.0)
    sends = [a.message for a in out if isinstance(a, act.Send)]
    assert isinstance(sends[0], ErrorFrame) and sends[0].code == "identity"


def test_version_mismatch_sends_an_error_both_sides_can_show_then_closes() -> None:
    m = make_mesh()
    open_link(m, 1)
    ours, theirs = PROTOCOL_VERSION, PROTOCOL_VERSION + 1
    future = with_fields(hello(OTHER_KEYS, "bob"), version=theirs)
    out = without_logs(m.handle(ev.FramesReceived(1, (future,)), 0.0, 0.0))
    assert out == [
        act.Send(
            (1,),
            ErrorFrame(
                "version",
                f"peer me#{ME[:8]} speaks protocol {ours}, we speak {theirs}",
                PROTOCOL_VERSION,
            ),
        ),
        act.Show(vw.Problem(f"peer bob#{OTHER[:8]} speaks protocol {theirs}, we speak {ours}")),
        act.Close(1, f"protocol version {theirs}", flush=True),
    ]
    assert m.peer_ids() == []


def test_error_frame_instead_of_hello_is_shown_in_our_own_words() -> None:
    m = make_mesh()
    open_link(m, 1, outbound=True)
    refusal = ErrorFrame("version", "peer bob#77777777 speaks protocol 0, we speak 1", 0)
    out = without_logs(m.handle(ev.FramesReceived(1, (refusal,)), 0.0, 0.0))
    sentence = f"it speaks protocol 0, we speak {PROTOCOL_VERSION}"
    text = f"the peer at 10.0.0.1:5000 refused the connection: {sentence}"
    assert out[0] == act.Show(vw.Problem(text))
    assert isinstance(out[-1], act.Close)


def test_an_unauthenticated_refusal_cannot_put_its_text_on_screen() -> None:
    # Before authentication nobody knows who sent it: its text (which may hold newlines that
    # fake chat lines) is never shown, and an unknown code is not repeated either.
    for code in ("version", "alice: click evil.example"):
        m = make_mesh()
        open_link(m, 1, outbound=True)
        forged = "bye\n[12:00:00] alice: my new address is evil.example"
        out = m.handle(ev.FramesReceived(1, (ErrorFrame(code, forged, 9),)), 0.0, 0.0)
        shown = " ".join(a.view.text for a in out if isinstance(a, act.Show))  # type: ignore[union-attr]
        assert "alice" not in shown and "evil" not in shown and "\n" not in shown
        assert "refused the connection" in shown


def test_other_room_is_refused() -> None:
    m = make_mesh()
    open_link(m, 1)
    out = m.handle(ev.FramesReceived(1, (hello(OTHER_KEYS, room="other"),)), 0.0, 0.0)
    sends = [a for a in out if isinstance(a, act.Send)]
    assert isinstance(sends[0].message, ErrorFrame) and sends[0].message.code == "room"
    assert m.peer_ids() == []


def test_private_room_hides_nick_and_room_and_needs_the_same_tag() -> None:
    tag = "ab" * 16
    m = make_mesh(room_tag=tag)
    out = open_link(m, 1)
    own = out[0].message  # type: ignore[union-attr]
    assert isinstance(own, Hello) and (own.nick, own.room, own.tag) == ("-", "-", tag)
    out = m.handle(ev.FramesReceived(1, (hello(OTHER_KEYS, "-", "-", tag="cd" * 16),)), 0.0, 0.0)
    assert any(isinstance(a, act.Close) for a in out)
    open_link(m, 2)
    m.handle(ev.FramesReceived(2, (hello(OTHER_KEYS, "-", "-", tag=tag),)), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(2, (auth(OTHER_KEYS, m, 2, "bob"),)), 0.0, 0.0)
    assert act.Show(vw.PeerJoined(OTHER, "bob", "bob", "10.0.0.2:5000")) in out


def test_connection_to_ourselves_is_closed_and_never_redialled() -> None:
    m = make_mesh()
    out = m.handle(ev.PeerDiscovered((("10.0.0.9", 4000),), None, "static"), 0.0, 0.0)
    assert act.Dial("10.0.0.9", 4000) in out
    m.handle(ev.ConnectionMade(1, True, "10.0.0.9", 4000, our_nonce(1), b"e" * 32), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(1, (hello(ME_KEYS, "me", port=4000),)), 0.0, 0.0)
    assert act.Close(1, "connected to ourselves", flush=True) in out
    later = m.handle(ev.Tick(), 100.0, 100.0)
    assert not [a for a in later if isinstance(a, act.Dial)]


def test_first_frame_must_be_hello() -> None:
    m = make_mesh()
    open_link(m, 1)
    out = m.handle(ev.FramesReceived(1, (Ping(1, "0" * 16, 0.0),)), 0.0, 0.0)
    assert any(isinstance(a, act.Close) for a in out)


def test_handshake_deadline_closes_silent_connections() -> None:
    m = make_mesh()
    open_link(m, 1)
    assert m.next_deadline() == LIMITS.handshake_timeout
    out = m.handle(ev.Tick(), LIMITS.handshake_timeout, 0.0)
    assert act.Close(1, "handshake timed out", flush=False) in out


def test_pending_connections_are_capped_in_total_and_per_address() -> None:
    limits = Limits(max_pending_connections=3, max_pending_per_address=2)
    m = Mesh(ME_KEYS, "me", "lobby", 4000, limits=limits, rng=random.Random())
    for conn in (1, 2):
        m.handle(ev.ConnectionMade(conn, False, "10.0.0.1", 40000 + conn, b"n" * 16), 0.0, 0.0)
    out = m.handle(ev.ConnectionMade(3, False, "10.0.0.1", 40003, b"n" * 16), 0.0, 0.0)
    assert act.Close(3, "too many pending connections from this address", flush=False) in out
    m.handle(ev.ConnectionMade(4, False, "10.0.0.2", 40004, b"n" * 16), 0.0, 0.0)
    out = m.handle(ev.ConnectionMade(5, False, "10.0.0.3", 40005, b"n" * 16), 0.0, 0.0)
    assert act.Close(5, "too many pending connections", flush=False) in out


def tie_break(me_keys: object, peer_keys: object, first: str) -> tuple[list[act.Action], Mesh]:
    """Both nodes dialled each other: conn 1 is ours (outbound), conn 2 is theirs (inbound)."""
    m = make_mesh(me_keys)  # type: ignore[arg-type]
    open_link(m, 1, outbound=True)
    open_link(m, 2)
    order = (1, 2) if first == "ours" else (2, 1)
    for conn in order:
        m.handle(ev.FramesReceived(conn, (hello(peer_keys),)), 0.0, 0.0)  # type: ignore[arg-type]
    m.handle(ev.FramesReceived(order[0], (auth(peer_keys, m, order[0]),)), 0.0, 0.0)  # type: ignore[arg-type]
    last = m.handle(ev.FramesReceived(order[1], (auth(peer_keys, m, order[1]),)), 0.0, 0.0)  # type: ignore[arg-type]
    return without_logs(last), m


def test_tie_break_keeps_the_link_dialled_by_the_smaller_id() -> None:
    # We are smaller: keep conn 1 (ours) whichever hello came first.
    for first in ("ours", "theirs"):
        out, m = tie_break(LOW_KEYS, HIGH_KEYS, first)
        assert out[:2] == [
            act.Send((2,), Bye("duplicate")),
            act.Close(2, "duplicate link", flush=True),
        ]
    # We are larger: keep conn 2 (theirs).
    for first in ("ours", "theirs"):
        out, m = tie_break(HIGH_KEYS, LOW_KEYS, first)
        assert out[:2] == [
            act.Send((1,), Bye("duplicate")),
            act.Close(1, "duplicate link", flush=True),
        ]
        # Never a second join, never a leave.
        assert not [a for a in out if isinstance(a, act.Show)]
        assert m.peer_ids() == [LOW]


def test_duplicate_bye_switches_links_without_a_leave() -> None:
    m = make_mesh(HIGH_KEYS)
    link(m, 1, LOW_KEYS)
    out = m.handle(ev.FramesReceived(1, (Bye("duplicate"),)), 0.1, 0.0)
    assert not [a for a in out if isinstance(a, act.Show)]
    out = link(m, 2, LOW_KEYS)
    assert not [a for a in out if isinstance(a, act.Show)]
    assert m.peer_ids() == [LOW]


def test_duplicate_bye_without_replacement_ends_in_a_leave() -> None:
    m = make_mesh(HIGH_KEYS)
    link(m, 1, LOW_KEYS)
    m.handle(ev.FramesReceived(1, (Bye("duplicate"),)), 0.0, 0.0)
    out = m.handle(ev.Tick(), LIMITS.handshake_timeout + 0.1, 0.0)
    assert [a.view for a in out if isinstance(a, act.Show)] == [
        vw.PeerLeft(LOW, "peer", "peer", "lost", "10.0.0.1:5000")
    ]


def full_mesh_of_three(m: Mesh) -> None:
    """Link P1, P2, P3 and tell m that they all link to each other."""
    for conn, keys in ((1, P1_KEYS), (2, P2_KEYS), (3, P3_KEYS)):
        link(m, conn, keys, nick=f"n{conn}")
    everyone = {P1: 1, P2: 2, P3: 3, ME: 9}
    for conn, keys in ((1, P1_KEYS), (2, P2_KEYS), (3, P3_KEYS)):
        others = tuple(
            PeerAddress(i, f"10.0.0.{c}", 5000) for i, c in everyone.items() if i != keys.node_id
        )
        m.handle(ev.FramesReceived(conn, (PeerList(others, True),)), 0.0, 0.0)


def test_chat_from_its_author_is_shown_at_once_checked_stored_once_and_not_relayed() -> None:
    m = make_mesh()
    full_mesh_of_three(m)
    chat = signed_chat(P3_KEYS, 1, 1, "hi", nick="n3")
    out = without_logs(m.handle(ev.FramesReceived(3, (chat,)), 0.0, 5.0))
    assert out == [
        act.Show(vw.MessageShown(chat.msg_id, P3, "n3", "n3", "hi", 1.0, 1, False, False)),
    ]
    assert m.handle(ev.FramesReceived(2, (chat,)), 0.0, 5.0) == []
    out = m.handle(ev.Tick(), LIMITS.check_delay, 5.0)
    assert [a for a in out if isinstance(a, act.Store)] == [act.Store(chat)]
    assert m.counters["checked_later"] == 1 and m.counters["withdrawn"] == 0


def test_a_relayed_chat_is_checked_and_stored_before_it_is_shown() -> None:
    m = make_mesh()
    full_mesh_of_three(m)
    chat = signed_chat(P3_KEYS, 1, 1, "hi", nick="n3")
    out = without_logs(m.handle(ev.FramesReceived(2, (chat,)), 0.0, 5.0))  # from n2, not n3
    assert out == [
        act.Store(chat),
        act.Show(vw.MessageShown(chat.msg_id, P3, "n3", "n3", "hi", 1.0, 1, False, False)),
    ]
    forged = with_fields(signed_chat(P3_KEYS, 2, 2, "hi"), text="I owe you")
    assert without_logs(m.handle(ev.FramesReceived(2, (forged,)), 0.0, 5.0)) == []
    assert m.history.get(P3, 2) is None and m.counters["rejected"] == 1


def test_chat_is_relayed_to_a_peer_the_author_does_not_reach() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="a")
    link(m, 2, P2_KEYS, nick="b")
    # P1 (the author) links only to us; P2 links only to us.
    m.handle(ev.FramesReceived(1, (PeerList((PeerAddress(ME, "10.0.0.9", 4000),), True),)), 0, 0)
    m.handle(ev.FramesReceived(2, (PeerList((PeerAddress(ME, "10.0.0.9", 4000),), True),)), 0, 0)
    chat = signed_chat(P1_KEYS, 1, 1, "hi", nick="a")
    out = m.handle(ev.FramesReceived(1, (chat,)), 0.0, 5.0)
    assert act.Send((2,), chat) in out


def test_forged_altered_and_misattributed_messages_are_dropped_and_counted() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="relay")
    real = signed_chat(P2_KEYS, 1, 1, "the real one", nick="b")
    forged = with_fields(real, text="forged text")  # same ID, signature does not cover it
    out = m.handle(ev.FramesReceived(1, (forged,)), 0.0, 0.0)
    assert not [a for a in out if isinstance(a, act.Show | act.Store)]
    # The forgery did not take the ID: the real message is still accepted.
    out = m.handle(ev.FramesReceived(1, (real,)), 0.0, 0.0)
    assert [a.view.text for a in out if isinstance(a, act.Show)] == ["the real one"]  # type: ignore[union-attr]
    # An altered copy of what we hold is not a harmless duplicate.
    out = m.handle(ev.FramesReceived(1, (with_fields(real, nick="evil"),)), 0.0, 0.0)
    assert not [a for a in out if isinstance(a, act.Show)]
    # Someone else's key cannot author in P2's name.
    stolen = signed_chat(P3_KEYS, 2, 2, "in your name", nick="b")
    out = m.handle(ev.FramesReceived(1, (with_fields(stolen, author=P2),)), 0.0, 0.0)
    assert not [a for a in out if isinstance(a, act.Show)]
    assert m.counters["rejected"] == 3


def test_repeated_invalid_messages_disconnect_and_ban_the_peer() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="troll")
    bad = with_fields(signed_chat(P1_KEYS, 1, 1, "x"), text="changed")
    for seq in range(1, LIMITS.max_strikes + 1):
        m.handle(ev.FramesReceived(1, (with_fields(bad, seq=seq),)), 0.0, 0.0)
    out = m.handle(ev.Tick(), LIMITS.check_delay, 0.0)  # straight from it: checked now
    withdrawn = [a.view for a in out if isinstance(a, act.Show)]
    assert [v.msg_id for v in withdrawn if isinstance(v, vw.Withdrawn)][:2] == [
        f"{P1}:1",
        f"{P1}:2",
    ]
    assert not [a for a in out if isinstance(a, act.Store)]
    assert m.history.get(P1, 1) is None and m.counters["withdrawn"] == LIMITS.max_strikes
    assert act.Close(1, "too many invalid messages", flush=False) in out
    assert m.peer_ids() == []
    again = m.handle(ev.ConnectionMade(2, False, "10.0.0.1", 40002, b"n" * 16), 1.0, 0.0)
    assert act.Close(2, "address banned for invalid messages", flush=False) in again


def test_strikes_outlive_a_reconnect_and_fade_only_with_time() -> None:
    m = make_mesh()
    bad = with_fields(signed_chat(P1_KEYS, 1, 1, "x"), text="changed")
    link(m, 1, P1_KEYS)
    for seq in range(1, LIMITS.max_strikes):  # one strike short of a ban
        out = m.handle(ev.FramesReceived(1, (with_fields(bad, seq=seq),)), 0.0, 0.0)
        out += m.handle(ev.Tick(), LIMITS.check_delay, 0.0)
        assert not any(isinstance(a, act.Close) for a in out)
    m.handle(ev.ConnectionLost(1, "reset"), 0.0, 0.0)
    link(m, 2, P1_KEYS)  # a fresh link does not wipe the slate
    m.handle(ev.FramesReceived(2, (with_fields(bad, seq=99),)), 1.0, 0.0)
    out = m.handle(ev.Tick(), 1.0 + LIMITS.check_delay, 0.0)
    assert act.Close(2, "too many invalid messages", flush=False) in out
    later = LIMITS.strike_memory + 100.0
    assert m.guard.strikes(P1, later) == 0


def test_own_message_is_signed_stored_shown_and_sent_to_every_peer() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS)
    link(m, 2, P2_KEYS, nick="other")
    out = m.handle(ev.SendChat("hello"), 0.0, 1234.0)
    stored = out[0]
    assert isinstance(stored, act.Store)
    chat = stored.chat
    assert (chat.author, chat.seq, chat.lamport, chat.text) == (ME, 1, 1, "hello")
    assert out[1:] == [
        act.Show(vw.MessageShown(chat.msg_id, ME, "me", "me", "hello", 1234.0, 1, False, True)),
        act.Send((1, 2), chat),
    ]
    other = make_mesh(P3_KEYS)
    link(other, 1, ME_KEYS, nick="me")
    shown = other.handle(ev.FramesReceived(1, (chat,)), 0.0, 0.0)
    assert any(isinstance(a, act.Show) for a in shown)
    # Our own message coming back through a relay is not shown again.
    assert m.handle(ev.FramesReceived(1, (chat,)), 0.0, 0.0) == []


def test_sequence_numbers_continue_after_a_restart() -> None:
    m = make_mesh(last_seq=41)
    out = m.handle(ev.SendChat("again"), 0.0, 0.0)
    assert isinstance(out[0], act.Store) and out[0].chat.seq == 42


def test_lamport_clock_moves_past_what_we_receive() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS)
    m.handle(ev.FramesReceived(1, (signed_chat(OTHER_KEYS, 1, 50, "x"),)), 0.0, 0.0)
    out = m.handle(ev.SendChat("y"), 0.0, 0.0)
    sends = [a for a in out if isinstance(a, act.Send)]
    assert isinstance(sends[0].message, Chat) and sends[0].message.lamport == 51


def test_a_forged_huge_clock_cannot_pin_the_room_clock() -> None:
    # One message may raise our clock by at most max_lamport_leap: pinning the clock at the
    # top (where order would fall back to author IDs) would take 2**33 accepted messages.
    m = make_mesh()
    link(m, 1, OTHER_KEYS)
    m.handle(ev.FramesReceived(1, (signed_chat(OTHER_KEYS, 1, 2**63 - 1, "tick"),)), 0.0, 0.0)
    out = m.handle(ev.SendChat("still fine"), 0.0, 0.0)
    sent = next(a.message for a in out if isinstance(a, act.Send))
    assert isinstance(sent, Chat) and sent.lamport == LIMITS.max_lamport_leap + 1
    assert decode_message(encode_message(sent), LIMITS) == sent
    # And it saturates far below the wire limit, whatever happens.
    m.room.lamport = MAX_LAMPORT - 1
    m.handle(ev.FramesReceived(1, (signed_chat(OTHER_KEYS, 2, 2**63 - 1, "tock"),)), 0.0, 0.0)
    assert m.lamport == MAX_LAMPORT


def test_direct_message_is_sealed_for_its_recipient_only() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    link(m, 2, P2_KEYS, nick="bob")
    out = m.handle(ev.SendDirect("bob", "psst"), 0.0, 0.0)
    sends = [a for a in out if isinstance(a, act.Send)]
    assert len(sends) == 1 and sends[0].conns == (2,)
    direct = sends[0].message
    assert isinstance(direct, Direct) and b"psst" not in direct.box
    shown = [a.view for a in out if isinstance(a, act.Show)]
    assert isinstance(shown[0], vw.MessageShown) and shown[0].direct and shown[0].own
    bob = make_mesh(P2_KEYS, "bob")
    link(bob, 1, ME_KEYS, nick="me")
    got = [
        a.view
        for a in bob.handle(ev.FramesReceived(1, (direct,)), 0.0, 0.0)
        if isinstance(a, act.Show)
    ]
    assert isinstance(got[0], vw.MessageShown) and got[0].text == "psst" and got[0].to_id == P2
    ann = make_mesh(P1_KEYS, "ann")
    link(ann, 1, ME_KEYS, nick="me")
    assert not [
        a for a in ann.handle(ev.FramesReceived(1, (direct,)), 0.0, 0.0) if isinstance(a, act.Show)
    ]


def test_two_peers_with_one_nick_are_told_apart_by_short_id() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="alex")
    out = without_logs(link(m, 2, P2_KEYS, nick="alex"))
    joined = next(a.view for a in out if isinstance(a, act.Show))
    assert isinstance(joined, vw.PeerJoined) and joined.display == f"alex#{P2[:8]}"
    out = m.handle(ev.SendDirect("alex", "which one?"), 0.0, 0.0)
    problem = next(a.view for a in out if isinstance(a, act.Show))
    assert isinstance(problem, vw.Problem) and f"alex#{P1[:8]}" in problem.text
    out = m.handle(ev.SendDirect(f"alex#{P2[:4]}", "you"), 0.0, 0.0)
    assert [a.conns for a in out if isinstance(a, act.Send)] == [(2,)]


def test_a_known_nick_with_another_key_is_flagged_loudly() -> None:
    m = make_mesh(trusted={"alice": P1})
    out = link(m, 1, P2_KEYS, nick="alice")
    problems = [
        a.view.text for a in out if isinstance(a, act.Show) and isinstance(a.view, vw.Problem)
    ]  # type: ignore[union-attr]
    assert problems and problems[0].startswith("WARNING:") and P1[:8] in problems[0]
    out = m.handle(ev.ShowWhois("alice"), 0.0, 0.0)
    whois = [a.view for a in out if isinstance(a, act.Show)]
    assert {(w.node_id, w.online, w.first_seen) for w in whois} == {
        (P2, True, False),
        (P1, False, True),
    }  # type: ignore[union-attr]


def test_nick_change_is_sent_announced_and_shown() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS)
    out = m.handle(ev.ChangeNick("neo"), 0.0, 0.0)
    assert out == [
        act.Send((1,), NickChange("neo")),
        act.Announce("neo"),
        act.Show(vw.NickChanged(ME, "me", "neo", own=True, display="me", new_display="neo")),
    ]
    assert m.handle(ev.ChangeNick("bad nick"), 0.0, 0.0)[0] == act.Show(
        vw.Problem(
            "cannot use nick 'bad nick': "
            "a nick has no spaces, '#', control, format or invisible characters"
        )
    )


def test_peer_table_lists_linked_peers_with_rtt() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS, nick="ann")
    now, pings = 0.0, []
    while not pings:  # the link stays silent: it gets a ping
        now = m.next_deadline() or now
        out = m.handle(ev.Tick(), now, 0.0)
        pings = [a.message for a in out if isinstance(a, act.Send) and isinstance(a.message, Ping)]
    assert LIMITS.ping_after_silence <= now <= LIMITS.ping_after_silence * 1.25
    m.handle(ev.FramesReceived(1, (Pong(pings[0].nonce),)), now + 0.002, 0.0)
    out = m.handle(ev.ShowPeers(), now + 1.0, 0.0)
    table = out[0].view  # type: ignore[union-attr]
    assert isinstance(table, vw.PeerTable)
    (row,) = table.rows
    assert row.nick == "ann" and row.addr == "10.0.0.1:5000" and row.connected_for == now + 1.0
    assert row.rtt is not None and abs(row.rtt - 0.002) < 1e-9


def test_silent_peer_is_declared_gone_after_the_timeout_and_redialled() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS, nick="ann")
    now = 0.0
    while True:
        now = m.next_deadline() or now
        out = m.handle(ev.Tick(), now, 0.0)
        if any(isinstance(a, act.Close) for a in out):
            break
    assert now == LIMITS.peer_timeout  # its timer is set for the timeout, not the next ping
    assert act.Show(vw.PeerLeft(OTHER, "ann", "ann", "timed out", "10.0.0.1:5000")) in out
    assert act.Rediscover() in out
    lost_at = now
    while True:
        now = m.next_deadline() or now
        if act.Dial("10.0.0.1", 5000) in m.handle(ev.Tick(), now, 0.0):
            break
    assert now - lost_at <= LIMITS.redial_first_delay * (1 + LIMITS.redial_jitter)


def test_redial_backoff_grows_and_is_capped() -> None:
    m = make_mesh()
    m.handle(ev.PeerDiscovered((("10.0.0.5", 5000),), None, "static"), 0.0, 0.0)
    now, gaps = 0.0, []
    for _ in range(12):
        m.handle(ev.DialFailed("10.0.0.5", 5000, "refused"), now, 0.0)
        failed_at = now
        while True:
            due = m.next_deadline()
            assert due is not None
            now = due
            if act.Dial("10.0.0.5", 5000) in m.handle(ev.Tick(), now, 0.0):
                break
        gaps.append(now - failed_at)
    jitter = 1 + LIMITS.redial_jitter
    assert gaps[0] <= LIMITS.redial_first_delay * jitter
    assert gaps[3] > gaps[0]
    assert max(gaps) <= LIMITS.redial_max_delay * jitter


def test_a_network_change_dials_a_backed_off_address_at_once() -> None:
    # A laptop started with --peer before its Wi-Fi was up: the dials failed and backed off.
    m = make_mesh()
    dial = act.Dial("10.0.0.5", 5000)
    assert dial in m.handle(ev.PeerDiscovered((("10.0.0.5", 5000),), None, "static"), 0.0, 0.0)
    now = 0.0
    for _ in range(6):
        m.handle(ev.DialFailed("10.0.0.5", 5000, "network unreachable"), now, 0.0)
        while dial not in m.handle(ev.Tick(), now := m.next_deadline() or now, 0.0):
            pass
    m.handle(ev.DialFailed("10.0.0.5", 5000, "network unreachable"), now, 0.0)
    assert dial not in m.handle(ev.Tick(), now + 1.0, 0.0)  # backed off for seconds
    assert dial in m.handle(ev.NetworkChanged(), now + 1.1, 0.0)


def test_quit_is_reported_and_the_peer_is_not_redialled() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS, nick="ann")
    out = m.handle(ev.FramesReceived(1, (Bye("quit"),)), 1.0, 0.0)
    assert act.Show(vw.PeerLeft(OTHER, "ann", "ann", "quit", "10.0.0.1:5000")) in out
    assert not any(isinstance(a, act.Dial) for a in m.handle(ev.Tick(), 1000.0, 0.0))


def test_gossip_introduces_new_peers_to_each_other() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="a")
    out = link(m, 2, P2_KEYS, nick="b", port=6000)
    sends = [a for a in out if isinstance(a, act.Send)]
    assert act.Send((2,), PeerList((PeerAddress(P1, "10.0.0.1", 5000),), True)) in sends
    out = m.handle(ev.Tick(), LIMITS.links_announce_delay, 0.0)
    both = (PeerAddress(P1, "10.0.0.1", 5000), PeerAddress(P2, "10.0.0.2", 6000))
    assert act.Send((1, 2), PeerList(both, True)) in out
    out = m.handle(ev.FramesReceived(1, (PeerList((PeerAddress(OTHER, "10.0.0.7", 7000),)),)), 0, 0)
    assert act.Dial("10.0.0.7", 7000) in out


def test_shutdown_says_bye_and_closes_everything() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS)
    link(m, 2, P2_KEYS, nick="b")
    out = m.handle(ev.Shutdown(), 0.0, 0.0)
    assert out == [
        act.Send((1, 2), Bye("quit")),
        act.Close(1, "shutting down", flush=True),
        act.Close(2, "shutting down", flush=True),
    ]
    assert m.next_deadline() is None


def test_hello_after_the_handshake_is_a_protocol_violation() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS)
    out = m.handle(ev.FramesReceived(1, (hello(OTHER_KEYS),)), 0.0, 0.0)
    assert any(isinstance(a, act.Close) for a in out)
    assert m.peer_ids() == []


def test_peer_with_many_addresses_is_dialled_once_and_timers_stay_in_the_future() -> None:
    m = make_mesh()
    addresses = (("10.0.0.7", 5000), ("10.0.1.7", 5000), ("10.0.2.7", 5000))
    out = m.handle(ev.PeerDiscovered(addresses, OTHER, "mdns"), 0.0, 0.0)
    assert [a for a in out if isinstance(a, act.Dial)] == [act.Dial("10.0.0.7", 5000)]
    deadline = m.next_deadline()
    assert deadline is None or deadline > 0.0


def test_link_up_asks_for_what_we_lack_and_answers_what_the_peer_lacks() -> None:
    m = make_mesh()
    m.handle(ev.SendChat("one"), 0.0, 100.0)
    m.handle(ev.SendChat("two"), 0.0, 100.0)
    out = link(m, 1, OTHER_KEYS)
    assert act.Send((1,), SyncRequest({ME: 2}, 0)) in out  # horizon 0: we let nothing go
    out = m.handle(ev.FramesReceived(1, (SyncRequest({}, 0),)), 0.0, 0.0)
    batch = next(a.message for a in out if isinstance(a, act.Send))
    assert isinstance(batch, SyncBatch)
    assert [c.text for c in batch.messages] == ["one", "two"] and not batch.more


def test_backfill_is_verified_shown_marked_stored_and_summed_up() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS, nick="ann")
    missed = tuple(signed_chat(OTHER_KEYS, s, s, f"m{s}", nick="ann") for s in (1, 2, 3))
    forged = with_fields(signed_chat(OTHER_KEYS, 4, 4, "m4", nick="ann"), text="changed")
    out = m.handle(ev.FramesReceived(1, (SyncBatch((*missed, forged), {}, False),)), 0.0, 0.0)
    shown = [a.view for a in out if isinstance(a, act.Show)]
    assert [v.text for v in shown if isinstance(v, vw.MessageShown)] == ["m1", "m2", "m3"]
    assert all(v.backfill for v in shown if isinstance(v, vw.MessageShown))
    assert shown[-1] == vw.Notice("3 messages you missed arrived via ann")
    assert [a.chat.seq for a in out if isinstance(a, act.Store)] == [1, 2, 3]
    assert not [a for a in out if isinstance(a, act.Send)]


def test_history_we_asked_for_is_metered_but_arrives_over_later_rounds() -> None:
    # A backlog larger than the author's burst (spam served by sync, or a busy author) takes
    # the burst now; the round stops there instead of asking for more, and the rest comes in a
    # later round once the bucket has refilled. Nothing is dropped for good.
    burst = int(LIMITS.author_burst)
    m = make_mesh()
    link(m, 1, OTHER_KEYS)  # the link asks for a sync at once
    backlog = [signed_chat(OTHER_KEYS, s, s, f"m{s}") for s in range(1, burst + 101)]
    out = m.handle(
        ev.FramesReceived(1, (SyncBatch(tuple(backlog[: burst + 50]), {}, True),)), 0.0, 0.0
    )
    assert len([a for a in out if isinstance(a, act.Store)]) == burst
    assert not [a for a in out if isinstance(a, act.Send)]  # no "more" while throttled
    assert m.guard.throttled == 1
    later = 100.0  # the bucket is full again
    out = m.handle(ev.FramesReceived(1, (Ping(1, "f" * 16, 0.0),)), later, 0.0)
    assert act.Send((1,), SyncRequest({OTHER: burst}, 1)) in out
    rest = tuple(backlog[burst:])
    out = m.handle(ev.FramesReceived(1, (SyncBatch(rest, {}, False),)), later, 0.0)
    assert [a.chat.seq for a in out if isinstance(a, act.Store)] == list(
        range(burst + 1, burst + 101)
    )


def test_an_unasked_batch_changes_nothing() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS)
    m.handle(ev.FramesReceived(1, (SyncBatch((), {}, False),)), 0.0, 0.0)  # the answer
    unasked = SyncBatch((signed_chat(P1_KEYS, 1, 1, "pushed"),), {P1: 5, OTHER: 2**63 - 1}, False)
    out = m.handle(ev.FramesReceived(1, (unasked,)), 0.0, 0.0)
    assert not [a for a in out if isinstance(a, act.Store | act.Show)]
    assert m.history.version_vector() == {}


def test_one_batch_cannot_silence_a_member() -> None:
    # The attack: floors {alice: 2**63 - 1} in a batch. Alice's later messages still arrive,
    # live and by sync, and the floor is not passed on to anyone who syncs with us.
    m = make_mesh()
    link(m, 1, OTHER_KEYS, nick="alice")
    link(m, 2, P1_KEYS, nick="eve")
    m.handle(ev.FramesReceived(1, (signed_chat(OTHER_KEYS, 1, 1, "one", nick="alice"),)), 0.0, 0.0)
    fake_authors = {f"{i:032x}": 10**9 for i in range(500)}
    poisoned = SyncBatch((), {OTHER: 2**63 - 1, **fake_authors}, False)
    m.handle(ev.FramesReceived(2, (poisoned,)), 0.0, 0.0)
    assert m.history.version_vector() == {OTHER: 1}  # no fake authors, no silenced one
    for seq in (2, 3, 4):
        chat = signed_chat(OTHER_KEYS, seq, seq, f"after {seq}", nick="alice")
        out = m.handle(ev.FramesReceived(1, (chat,)), 1.0, 0.0)
        assert act.Store(chat) in out
    answer = m.handle(ev.FramesReceived(2, (SyncRequest({OTHER: 0}, 0),)), 1.0, 0.0)
    batch = next(a.message for a in answer if isinstance(a, act.Send))
    assert isinstance(batch, SyncBatch) and batch.floors == {} and len(batch.messages) == 4


def test_batch_with_more_asks_again() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS)
    part = (signed_chat(OTHER_KEYS, 1, 1, "a"),)
    out = m.handle(ev.FramesReceived(1, (SyncBatch(part, {}, True),)), 0.0, 0.0)
    assert act.Send((1,), SyncRequest({OTHER: 1}, 1)) in out


def test_gap_in_live_traffic_asks_the_sender() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS)
    m.handle(ev.FramesReceived(1, (SyncBatch((), {}, False),)), 0.0, 0.0)
    m.handle(ev.FramesReceived(1, (signed_chat(OTHER_KEYS, 1, 1, "a"),)), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(1, (signed_chat(OTHER_KEYS, 3, 3, "c"),)), 10.0, 0.0)
    # Horizon 0: the window we started from was empty, so nothing older was left out.
    assert [a.message for a in out if isinstance(a, act.Send)][-1] == SyncRequest({OTHER: 1}, 0)


def test_ping_with_another_digest_starts_a_sync_and_far_clocks_are_flagged() -> None:
    m = make_mesh()
    link(m, 1, OTHER_KEYS, nick="ann")
    m.handle(ev.FramesReceived(1, (SyncBatch((), {}, False),)), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(1, (Ping(1, "f" * 16, 1000.0 + 600.0),)), 10.0, 1000.0)
    pong = next(a.message for a in out if isinstance(a, act.Send) and isinstance(a.message, Pong))
    assert pong.nonce == 1 and (pong.digest, pong.recent) == m.roomsync.digest_pair()
    assert act.Send((1,), SyncRequest({}, 0)) in out
    assert (
        act.Show(vw.Notice("ann's clock is +600 s off ours (message order is not affected)")) in out
    )
    again = m.handle(ev.FramesReceived(1, (Ping(2, "f" * 16, 1600.0),)), 20.0, 1000.0)
    assert not [a for a in again if isinstance(a, act.Show)]


def test_start_shows_ready_then_the_stored_history() -> None:
    history = History(LIMITS)
    for seq in (1, 2, 3):
        history.add(signed_chat(OTHER_KEYS, seq, seq, f"old {seq}", nick="ann"), 0.0)
    m = make_mesh(history=history, replay_on_start=2)
    out = m.handle(ev.Started(mdns=True), 0.0, 0.0)
    views = [a.view for a in out if isinstance(a, act.Show)]
    assert views[0] == vw.Ready(ME, "me", "lobby", 4000, True, False)
    assert views[1] == vw.Notice("1 older messages in history; /history N shows more")
    assert [v.text for v in views[2:4]] == ["old 2", "old 3"]  # type: ignore[union-attr]
    assert views[4:] == [vw.HistoryEnd(2)]
    assert m.lamport == 3
    listing = m.handle(ev.ShowHistory(10), 0.0, 0.0)[0].view  # type: ignore[union-attr]
    assert isinstance(listing, vw.HistoryListing) and len(listing.messages) == 3


def test_spamming_author_is_throttled_and_its_excess_not_relayed() -> None:
    limits = Limits(author_rate=1.0, author_burst=3.0)
    m = Mesh(ME_KEYS, "me", "lobby", 4000, limits=limits, rng=random.Random())
    link(m, 1, P1_KEYS, nick="spam")
    link(m, 2, P2_KEYS)
    shown = 0
    for seq in range(1, 11):
        spam = signed_chat(P1_KEYS, seq, seq, f"{seq}", nick="spam")
        # Relayed by P2 (from its own link an author is slowed down instead: test_backpressure).
        out = m.handle(ev.FramesReceived(2, (spam,)), 0.0, 0.0)
        shown += sum(1 for a in out if isinstance(a, act.Show))
        assert not [a for a in out if isinstance(a, act.Send) and a.message == spam]
    assert shown == 3
    assert m.guard.throttled == 7


def notices(actions: list[act.Action]) -> list[str]:
    return [
        a.view.text for a in actions if isinstance(a, act.Show) and isinstance(a.view, vw.Notice)
    ]


def test_a_node_that_found_nobody_says_once_what_to_do() -> None:
    m = make_mesh()
    m.handle(ev.Started(mdns=True), 0.0, 0.0)
    assert m.next_deadline() == LIMITS.alone_hint_seconds
    assert notices(m.handle(ev.Tick(), LIMITS.alone_hint_seconds - 0.1, 0.0)) == []
    hint = notices(m.handle(ev.Tick(), LIMITS.alone_hint_seconds, 0.0))
    assert len(hint) == 1 and "nobody found in room 'lobby' after 10 s" in hint[0]
    assert "p2pchat doctor" in hint[0] and "/invite" in hint[0] and "--scan" in hint[0]
    assert "/connect HOST" in hint[0]
    assert notices(m.handle(ev.Tick(), 1000.0, 0.0)) == []  # once


def test_a_node_that_found_someone_in_time_says_nothing() -> None:
    m = make_mesh()
    m.handle(ev.Started(mdns=True), 0.0, 0.0)
    link(m, 1, OTHER_KEYS)
    later = m.handle(ev.Tick(), LIMITS.alone_hint_seconds + 1, 0.0)
    assert not [t for t in notices(later) if "nobody found" in t]
