"""The node core, one Mesh at a time: exact actions for handshakes, tie-break, flooding, timers."""

from __future__ import annotations

import random

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.history import History
from p2pchat.core.limits import MAX_LAMPORT, PROTOCOL_VERSION, Limits
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import (
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
)

ME = "5" * 32
LOW = "1" * 32
HIGH = "9" * 32
OTHER = "7" * 32
LIMITS = Limits()


def mesh(node_id: str = ME, nick: str = "me") -> Mesh:
    return Mesh(node_id, nick, "lobby", 4000, limits=LIMITS, rng=random.Random(1))


def hello(node_id: str, nick: str = "peer", room: str = "lobby", port: int = 5000) -> Hello:
    return Hello(PROTOCOL_VERSION, node_id, nick, room, port)


def without_logs(actions: list[act.Action]) -> list[act.Action]:
    return [a for a in actions if not isinstance(a, act.Log)]


def link(m: Mesh, conn: int, peer: str, *, outbound: bool = False, nick: str = "peer") -> None:
    host = f"10.0.0.{conn}"
    m.handle(ev.ConnectionMade(conn, outbound, host, 5000 if outbound else 40000 + conn), 0.0, 0.0)
    m.handle(ev.FramesReceived(conn, (hello(peer, nick),)), 0.0, 0.0)


def test_connection_starts_with_our_hello() -> None:
    m = mesh()
    out = m.handle(ev.ConnectionMade(1, False, "10.0.0.1", 40001), 0.0, 0.0)
    assert out == [act.Send((1,), Hello(PROTOCOL_VERSION, ME, "me", "lobby", 4000))]


def test_valid_hello_establishes_the_link_and_reports_the_join() -> None:
    m = mesh()
    m.handle(ev.ConnectionMade(1, False, "10.0.0.1", 40001), 0.0, 0.0)
    out = without_logs(m.handle(ev.FramesReceived(1, (hello(OTHER, "bob"),)), 0.0, 0.0))
    assert out == [
        act.Show(vw.PeerJoined(OTHER, "bob", "bob", "10.0.0.1:5000")),
        act.Send((1,), PeerList((), complete=True)),
        act.Send((1,), SyncRequest({}, 0)),
    ]
    assert m.peer_ids() == [OTHER]


def test_version_mismatch_sends_an_error_both_sides_can_show_then_closes() -> None:
    m = mesh()
    m.handle(ev.ConnectionMade(1, False, "10.0.0.1", 40001), 0.0, 0.0)
    future = Hello(2, OTHER, "bob", "lobby", 5000)
    out = without_logs(m.handle(ev.FramesReceived(1, (future,)), 0.0, 0.0))
    assert out == [
        act.Send(
            (1,),
            ErrorFrame(
                "version", f"peer me#{ME[:8]} speaks protocol 1, we speak 2", PROTOCOL_VERSION
            ),
        ),
        act.Show(vw.Problem(f"peer bob#{OTHER[:8]} speaks protocol 2, we speak 1")),
        act.Close(1, "protocol version 2", flush=True),
    ]
    assert m.peer_ids() == []


def test_error_frame_instead_of_hello_is_shown() -> None:
    m = mesh()
    m.handle(ev.ConnectionMade(1, True, "10.0.0.1", 5000), 0.0, 0.0)
    refusal = ErrorFrame("version", "peer bob#77777777 speaks protocol 0, we speak 1", 0)
    out = without_logs(m.handle(ev.FramesReceived(1, (refusal,)), 0.0, 0.0))
    assert act.Show(vw.Problem(refusal.text)) in out
    assert isinstance(out[-1], act.Close)


def test_other_room_is_refused() -> None:
    m = mesh()
    m.handle(ev.ConnectionMade(1, False, "10.0.0.1", 40001), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(1, (hello(OTHER, room="other"),)), 0.0, 0.0)
    sends = [a for a in out if isinstance(a, act.Send)]
    assert isinstance(sends[0].message, ErrorFrame) and sends[0].message.code == "room"
    assert m.peer_ids() == []


def test_connection_to_ourselves_is_closed_and_never_redialled() -> None:
    m = mesh()
    out = m.handle(ev.PeerDiscovered((("10.0.0.9", 4000),), None, "static"), 0.0, 0.0)
    assert act.Dial("10.0.0.9", 4000) in out
    m.handle(ev.ConnectionMade(1, True, "10.0.0.9", 4000), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(1, (hello(ME, "me", port=4000),)), 0.0, 0.0)
    assert act.Close(1, "connected to ourselves", flush=True) in out
    later = m.handle(ev.Tick(), 100.0, 100.0)
    assert not [a for a in later if isinstance(a, act.Dial)]


def test_first_frame_must_be_hello() -> None:
    m = mesh()
    m.handle(ev.ConnectionMade(1, False, "10.0.0.1", 40001), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(1, (Ping(1, "0" * 16, 0.0),)), 0.0, 0.0)
    assert any(isinstance(a, act.Close) for a in out)


def test_handshake_deadline_closes_silent_connections() -> None:
    m = mesh()
    m.handle(ev.ConnectionMade(1, False, "10.0.0.1", 40001), 0.0, 0.0)
    assert m.next_deadline() == LIMITS.handshake_timeout
    out = m.handle(ev.Tick(), LIMITS.handshake_timeout, 0.0)
    assert act.Close(1, "handshake timed out", flush=False) in out


def test_pending_connections_are_capped() -> None:
    m = Mesh(ME, "me", "lobby", 4000, limits=Limits(max_pending_connections=2), rng=random.Random())
    for conn in (1, 2):
        m.handle(ev.ConnectionMade(conn, False, "10.0.0.1", 40000 + conn), 0.0, 0.0)
    out = m.handle(ev.ConnectionMade(3, False, "10.0.0.1", 40003), 0.0, 0.0)
    assert act.Close(3, "too many pending connections", flush=False) in out


def tie_break(me: str, peer: str, first: str) -> tuple[list[act.Action], Mesh]:
    """Both nodes dialled each other: conn 1 is ours (outbound), conn 2 is theirs (inbound)."""
    m = mesh(me)
    m.handle(ev.ConnectionMade(1, True, "10.0.0.2", 5000), 0.0, 0.0)
    m.handle(ev.ConnectionMade(2, False, "10.0.0.2", 40002), 0.0, 0.0)
    order = (1, 2) if first == "ours" else (2, 1)
    m.handle(ev.FramesReceived(order[0], (hello(peer),)), 0.0, 0.0)
    return without_logs(m.handle(ev.FramesReceived(order[1], (hello(peer),)), 0.0, 0.0)), m


def test_tie_break_keeps_the_link_dialled_by_the_smaller_id() -> None:
    # We are smaller: keep conn 1 (ours) whichever hello came first.
    out, m = tie_break(LOW, HIGH, first="ours")
    assert out[:2] == [act.Send((2,), Bye("duplicate")), act.Close(2, "duplicate link", flush=True)]
    out, m = tie_break(LOW, HIGH, first="theirs")
    assert out[:2] == [act.Send((2,), Bye("duplicate")), act.Close(2, "duplicate link", flush=True)]
    # We are larger: keep conn 2 (theirs).
    out, m = tie_break(HIGH, LOW, first="ours")
    assert out[:2] == [act.Send((1,), Bye("duplicate")), act.Close(1, "duplicate link", flush=True)]
    out, m = tie_break(HIGH, LOW, first="theirs")
    assert out[:2] == [act.Send((1,), Bye("duplicate")), act.Close(1, "duplicate link", flush=True)]
    # Never a second join, never a leave.
    assert not [a for a in out if isinstance(a, act.Show)]
    assert m.peer_ids() == [LOW]


def test_duplicate_bye_switches_links_without_a_leave() -> None:
    m = mesh(HIGH)
    link(m, 1, LOW)
    out = m.handle(ev.FramesReceived(1, (Bye("duplicate"),)), 0.1, 0.0)
    assert not [a for a in out if isinstance(a, act.Show)]
    out = m.handle(ev.ConnectionMade(2, False, "10.0.0.1", 40002), 0.2, 0.0)
    out = m.handle(ev.FramesReceived(2, (hello(LOW),)), 0.2, 0.0)
    assert not [a for a in out if isinstance(a, act.Show)]
    assert m.peer_ids() == [LOW]


def test_duplicate_bye_without_replacement_ends_in_a_leave() -> None:
    m = mesh(HIGH)
    link(m, 1, LOW)
    m.handle(ev.FramesReceived(1, (Bye("duplicate"),)), 0.0, 0.0)
    out = m.handle(ev.Tick(), LIMITS.handshake_timeout + 0.1, 0.0)
    assert [a.view for a in out if isinstance(a, act.Show)] == [
        vw.PeerLeft(LOW, "peer", "peer", "lost", "10.0.0.1:5000")
    ]


def test_chat_is_shown_once_and_forwarded_to_all_but_sender_and_author() -> None:
    m = mesh()
    link(m, 1, "1" * 32, nick="a")
    link(m, 2, "2" * 32, nick="b")
    link(m, 3, "3" * 32, nick="c")
    chat = Chat("3" * 32, 1, 1, 1.0, "c", "hi")
    out = without_logs(m.handle(ev.FramesReceived(1, (chat,)), 0.0, 5.0))
    assert out == [
        act.Store(chat),
        act.Show(vw.MessageShown(chat.msg_id, "3" * 32, "c", "c", "hi", 1.0, 1, False, False)),
        act.Send((2,), chat),
    ]
    assert m.handle(ev.FramesReceived(2, (chat,)), 0.0, 5.0) == []


def test_own_message_is_numbered_persisted_shown_and_sent_to_every_peer() -> None:
    m = mesh()
    link(m, 1, "1" * 32)
    link(m, 2, "2" * 32, nick="other")
    out = m.handle(ev.SendChat("hello"), 0.0, 1234.0)
    chat = Chat(ME, 1, 1, 1234.0, "me", "hello")
    assert out == [
        act.Store(chat),
        act.Show(vw.MessageShown(chat.msg_id, ME, "me", "me", "hello", 1234.0, 1, False, True)),
        act.Send((1, 2), chat),
    ]
    # Our own message coming back through a relay is not shown again.
    assert m.handle(ev.FramesReceived(1, (chat,)), 0.0, 0.0) == []


def test_sequence_numbers_continue_after_a_restart() -> None:
    m = Mesh(ME, "me", "lobby", 4000, limits=LIMITS, rng=random.Random(), last_seq=41)
    out = m.handle(ev.SendChat("again"), 0.0, 0.0)
    assert isinstance(out[0], act.Store) and out[0].chat.seq == 42


def test_lamport_clock_moves_past_what_we_receive() -> None:
    m = mesh()
    link(m, 1, OTHER)
    m.handle(ev.FramesReceived(1, (Chat(OTHER, 1, 50, 0.0, "peer", "x"),)), 0.0, 0.0)
    out = m.handle(ev.SendChat("y"), 0.0, 0.0)
    sends = [a for a in out if isinstance(a, act.Send)]
    assert isinstance(sends[0].message, Chat) and sends[0].message.lamport == 51


def test_direct_message_goes_only_to_its_recipient() -> None:
    m = mesh()
    link(m, 1, "1" * 32, nick="ann")
    link(m, 2, "2" * 32, nick="bob")
    out = m.handle(ev.SendDirect("bob", "psst"), 0.0, 0.0)
    sends = [a for a in out if isinstance(a, act.Send)]
    assert len(sends) == 1 and sends[0].conns == (2,)
    assert isinstance(sends[0].message, Direct)
    shown = [a.view for a in out if isinstance(a, act.Show)]
    assert isinstance(shown[0], vw.MessageShown) and shown[0].direct and shown[0].own


def test_direct_message_for_us_is_shown_as_direct() -> None:
    m = mesh()
    link(m, 1, OTHER, nick="ann")
    dm = Direct(OTHER, ME, "00000000000000aa", 1.0, "ann", "hi you")
    out = without_logs(m.handle(ev.FramesReceived(1, (dm,)), 0.0, 0.0))
    assert len(out) == 1
    view = out[0].view  # type: ignore[union-attr]
    assert isinstance(view, vw.MessageShown) and view.direct and view.to_id == ME


def test_two_peers_with_one_nick_are_told_apart_by_short_id() -> None:
    m = mesh()
    link(m, 1, "1" * 32, nick="alex")
    out = without_logs(m.handle(ev.ConnectionMade(2, False, "10.0.0.2", 40002), 0.0, 0.0))
    out = without_logs(m.handle(ev.FramesReceived(2, (hello("2" * 32, "alex"),)), 0.0, 0.0))
    joined = next(a.view for a in out if isinstance(a, act.Show))
    assert isinstance(joined, vw.PeerJoined) and joined.display == "alex#22222222"
    out = m.handle(ev.SendDirect("alex", "which one?"), 0.0, 0.0)
    problem = next(a.view for a in out if isinstance(a, act.Show))
    assert isinstance(problem, vw.Problem) and "alex#11111111" in problem.text
    out = m.handle(ev.SendDirect("alex#2222", "you"), 0.0, 0.0)
    assert [a.conns for a in out if isinstance(a, act.Send)] == [(2,)]


def test_nick_change_is_sent_announced_and_shown() -> None:
    m = mesh()
    link(m, 1, OTHER)
    out = m.handle(ev.ChangeNick("neo"), 0.0, 0.0)
    assert out == [
        act.Send((1,), NickChange("neo")),
        act.Announce("neo"),
        act.Show(vw.NickChanged(ME, "me", "neo", own=True)),
    ]
    assert m.handle(ev.ChangeNick("bad nick"), 0.0, 0.0)[0] == act.Show(
        vw.Problem("cannot use nick 'bad nick': a nick has no spaces, '#' or control characters")
    )


def test_peer_table_lists_linked_peers_with_rtt() -> None:
    m = mesh()
    link(m, 1, OTHER, nick="ann")
    out = m.handle(ev.Tick(), LIMITS.ping_interval, 0.0)
    ping = next(a for a in out if isinstance(a, act.Send)).message
    assert isinstance(ping, Ping)
    m.handle(ev.FramesReceived(1, (Pong(ping.nonce),)), LIMITS.ping_interval + 0.002, 0.0)
    out = m.handle(ev.ShowPeers(), 3.0, 0.0)
    table = out[0].view  # type: ignore[union-attr]
    assert isinstance(table, vw.PeerTable)
    (row,) = table.rows
    assert row.nick == "ann" and row.addr == "10.0.0.1:5000" and row.connected_for == 3.0
    assert row.rtt is not None and abs(row.rtt - 0.002) < 1e-9


def test_silent_peer_is_declared_gone_after_the_timeout_and_redialled() -> None:
    m = mesh()
    link(m, 1, OTHER, nick="ann")
    now = 0.0
    while True:
        now = m.next_deadline() or now
        out = m.handle(ev.Tick(), now, 0.0)
        if any(isinstance(a, act.Close) for a in out):
            break
    assert now == LIMITS.peer_timeout
    assert act.Show(vw.PeerLeft(OTHER, "ann", "ann", "timed out", "10.0.0.1:5000")) in out
    assert act.Rediscover() in out
    # The peer's listening address is redialled after the first backoff step.
    lost_at = now
    while True:
        now = m.next_deadline() or now
        if act.Dial("10.0.0.1", 5000) in m.handle(ev.Tick(), now, 0.0):
            break
    assert now - lost_at <= LIMITS.redial_first_delay * (1 + LIMITS.redial_jitter)


def test_redial_backoff_grows_and_is_capped() -> None:
    m = mesh()
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


def test_quit_is_reported_and_the_peer_is_not_redialled() -> None:
    m = mesh()
    link(m, 1, OTHER, nick="ann", outbound=False)
    out = m.handle(ev.FramesReceived(1, (Bye("quit"),)), 1.0, 0.0)
    assert act.Show(vw.PeerLeft(OTHER, "ann", "ann", "quit", "10.0.0.1:5000")) in out
    assert m.next_deadline() is None or not any(
        isinstance(a, act.Dial) for a in m.handle(ev.Tick(), 1000.0, 0.0)
    )


def test_gossip_introduces_new_peers_to_each_other() -> None:
    m = mesh()
    link(m, 1, "1" * 32, nick="a")
    m.handle(ev.ConnectionMade(2, False, "10.0.0.2", 40002), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(2, (hello("2" * 32, "b", port=6000),)), 0.0, 0.0)
    sends = [a for a in out if isinstance(a, act.Send)]
    assert act.Send((2,), PeerList((PeerAddress("1" * 32, "10.0.0.1", 5000),), True)) in sends
    # The others hear of the new link a moment later, in one complete list for everyone.
    out = m.handle(ev.Tick(), LIMITS.links_announce_delay, 0.0)
    both = (PeerAddress("1" * 32, "10.0.0.1", 5000), PeerAddress("2" * 32, "10.0.0.2", 6000))
    assert act.Send((1, 2), PeerList(both, True)) in out
    # What a peer tells us about others is dialled.
    out = m.handle(ev.FramesReceived(1, (PeerList((PeerAddress(OTHER, "10.0.0.7", 7000),)),)), 0, 0)
    assert act.Dial("10.0.0.7", 7000) in out


def test_shutdown_says_bye_and_closes_everything() -> None:
    m = mesh()
    link(m, 1, "1" * 32)
    link(m, 2, "2" * 32, nick="b")
    out = m.handle(ev.Shutdown(), 0.0, 0.0)
    assert out == [
        act.Send((1, 2), Bye("quit")),
        act.Close(1, "shutting down", flush=True),
        act.Close(2, "shutting down", flush=True),
    ]
    assert m.next_deadline() is None


def test_hello_after_the_handshake_is_a_protocol_violation() -> None:
    m = mesh()
    link(m, 1, OTHER)
    out = m.handle(ev.FramesReceived(1, (hello(OTHER),)), 0.0, 0.0)
    assert any(isinstance(a, act.Close) for a in out)
    assert m.peer_ids() == []


def test_a_forged_huge_clock_saturates_instead_of_breaking_the_room() -> None:
    m = mesh()
    link(m, 1, OTHER)
    forged = Chat(OTHER, 1, 2**63 - 1, 0.0, "peer", "tick tock")
    m.handle(ev.FramesReceived(1, (forged,)), 0.0, 0.0)
    out = m.handle(ev.SendChat("still fine"), 0.0, 0.0)
    sent = next(a.message for a in out if isinstance(a, act.Send))
    assert isinstance(sent, Chat) and sent.lamport == MAX_LAMPORT
    assert decode_message(encode_message(sent), LIMITS) == sent


def test_peer_with_many_addresses_is_dialled_once_and_timers_stay_in_the_future() -> None:
    m = mesh()
    addresses = (("10.0.0.7", 5000), ("10.0.1.7", 5000), ("10.0.2.7", 5000))
    out = m.handle(ev.PeerDiscovered(addresses, OTHER, "mdns"), 0.0, 0.0)
    assert [a for a in out if isinstance(a, act.Dial)] == [act.Dial("10.0.0.7", 5000)]
    deadline = m.next_deadline()
    assert deadline is None or deadline > 0.0


def test_link_up_asks_for_what_we_lack_and_answers_what_the_peer_lacks() -> None:
    m = mesh()
    m.handle(ev.SendChat("one"), 0.0, 100.0)
    m.handle(ev.SendChat("two"), 0.0, 100.0)
    m.handle(ev.ConnectionMade(1, False, "10.0.0.1", 40001), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(1, (hello(OTHER),)), 0.0, 0.0)
    assert act.Send((1,), SyncRequest({ME: 2}, 1)) in out
    out = m.handle(ev.FramesReceived(1, (SyncRequest({}, 0),)), 0.0, 0.0)
    batches = [a.message for a in out if isinstance(a, act.Send)]
    assert isinstance(batches[0], SyncBatch)
    assert [c.text for c in batches[0].messages] == ["one", "two"]
    assert not batches[0].more


def test_backfill_is_shown_marked_stored_and_summed_up() -> None:
    m = mesh()
    link(m, 1, OTHER, nick="ann")
    missed = tuple(Chat(OTHER, s, s, 50.0, "ann", f"m{s}") for s in (1, 2, 3))
    out = m.handle(ev.FramesReceived(1, (SyncBatch(missed, {}, False),)), 0.0, 0.0)
    shown = [a.view for a in out if isinstance(a, act.Show)]
    assert [v.text for v in shown if isinstance(v, vw.MessageShown)] == ["m1", "m2", "m3"]
    assert all(v.backfill for v in shown if isinstance(v, vw.MessageShown))
    assert shown[-1] == vw.Notice("3 messages you missed arrived via ann")
    assert [a.chat.seq for a in out if isinstance(a, act.Store)] == [1, 2, 3]
    # Nothing of a backfill is flooded on.
    assert not [a for a in out if isinstance(a, act.Send)]


def test_batch_with_more_asks_again() -> None:
    m = mesh()
    link(m, 1, OTHER)
    part = (Chat(OTHER, 1, 1, 0.0, "peer", "a"),)
    out = m.handle(ev.FramesReceived(1, (SyncBatch(part, {}, True),)), 0.0, 0.0)
    assert act.Send((1,), SyncRequest({OTHER: 1}, 1)) in out


def test_gap_in_live_traffic_asks_the_sender() -> None:
    m = mesh()
    link(m, 1, OTHER)
    m.handle(ev.FramesReceived(1, (SyncBatch((), {}, False),)), 0.0, 0.0)
    m.handle(ev.FramesReceived(1, (Chat(OTHER, 1, 1, 0.0, "peer", "a"),)), 0.0, 0.0)
    out = m.handle(ev.FramesReceived(1, (Chat(OTHER, 3, 3, 0.0, "peer", "c"),)), 10.0, 0.0)
    assert [a.message for a in out if isinstance(a, act.Send)][-1] == SyncRequest({OTHER: 1}, 1)


def test_ping_with_another_digest_starts_a_sync_and_far_clocks_are_flagged() -> None:
    m = mesh()
    link(m, 1, OTHER, nick="ann")
    m.handle(ev.FramesReceived(1, (SyncBatch((), {}, False),)), 0.0, 0.0)
    ping = Ping(1, "f" * 16, 1000.0 + 600.0)
    out = m.handle(ev.FramesReceived(1, (ping,)), 10.0, 1000.0)
    assert act.Send((1,), Pong(1)) in out
    assert act.Send((1,), SyncRequest({}, 0)) in out
    assert (
        act.Show(vw.Notice("ann's clock is +600 s off ours (message order is not affected)")) in out
    )
    again = m.handle(ev.FramesReceived(1, (Ping(2, "f" * 16, 1600.0),)), 20.0, 1000.0)
    assert not [a for a in again if isinstance(a, act.Show)]


def test_start_shows_ready_then_the_stored_history() -> None:
    history = History(LIMITS)
    for seq in (1, 2, 3):
        history.add(Chat(OTHER, seq, seq, 0.0, "ann", f"old {seq}"), 0.0)
    m = Mesh(
        ME,
        "me",
        "lobby",
        4000,
        limits=LIMITS,
        rng=random.Random(),
        history=history,
        replay_on_start=2,
    )
    out = m.handle(ev.Started(mdns=True), 0.0, 0.0)
    views = [a.view for a in out if isinstance(a, act.Show)]
    assert views[0] == vw.Ready(ME, "me", "lobby", 4000, True)
    assert views[1] == vw.Notice("1 older messages in history; /history N shows more")
    assert [v.text for v in views[2:]] == ["old 2", "old 3"]  # type: ignore[union-attr]
    assert m.lamport == 3
    listing = m.handle(ev.ShowHistory(10), 0.0, 0.0)[0].view  # type: ignore[union-attr]
    assert isinstance(listing, vw.HistoryListing) and len(listing.messages) == 3
