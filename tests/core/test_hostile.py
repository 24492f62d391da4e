"""The standing adversarial suite, core level: one test per attack on the security claims.

Each test drives a Mesh through real handshakes with a hostile peer and checks the worst that
peer can make us store, compute, show, trust or forget. Process-level versions of these attacks
are in tests/e2e/test_hostile.py, the hostile state machine in tests/core/test_hostile_machine.py.
"""

from __future__ import annotations

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.messages import (
    Chat,
    FileRequest,
    NickChange,
    PeerAddress,
    PeerList,
    Ping,
    Pong,
    SyncBatch,
    SyncRequest,
    with_fields,
)
from tests.core.peers import (
    LIMITS,
    ME,
    OTHER,
    OTHER_KEYS,
    P1,
    P1_KEYS,
    P2_KEYS,
    link,
    make_mesh,
    signed_chat,
)
from tests.core.test_filedesk import signed_offer


def above_us(i: int) -> str:
    """The i-th node ID above ours: a node we are the one to dial, at once (Dialer.yield_to)."""
    return f"{int(ME, 16) + 1 + i:032x}"


def shown(out: list[act.Action]) -> list[vw.View]:
    return [a.view for a in out if isinstance(a, act.Show)]


def sent(out: list[act.Action]) -> list[act.Send]:
    return [a for a in out if isinstance(a, act.Send)]


# ------------------------------------------------------------------ equivocation


def two_versions() -> tuple[Chat, Chat]:
    one = signed_chat(OTHER_KEYS, 1, 1, "pay alice", nick="alice")
    two = signed_chat(OTHER_KEYS, 1, 1, "pay mallory", nick="alice")
    return one, two


def test_an_author_who_signs_two_versions_gets_no_relay_struck() -> None:
    # Alice (the author) signs two versions of message 1; the honest relay passes the second
    # one on. Before: the relay was struck (and after five, banned); nodes showed different
    # texts for one ID. Now: no strike, one deterministic winner, a warning, and the winner
    # goes to the other peers so that the room converges.
    one, two = two_versions()
    winner = min(one, two, key=lambda c: c.signature)
    for first, second in ((one, two), (two, one)):
        m = make_mesh()
        link(m, 1, OTHER_KEYS, nick="alice")
        link(m, 2, P1_KEYS, nick="relay")
        link(m, 3, P2_KEYS, nick="carol")
        m.handle(ev.FramesReceived(1, (first,)), 0.0, 0.0)
        out = m.handle(ev.FramesReceived(2, (second,)), 0.0, 0.0)
        assert m.guard.strikes(P1, 0.0) == 0
        assert m.history.get(OTHER, 1) == winner
        warning = vw.Equivocation(winner.msg_id, OTHER, "alice", winner.text)
        assert shown(out) == [warning]
        assert act.Send((3,), winner) in out  # not back to the relay, not to the author
        assert (act.Store(second, replace=True) in out) == (second is winner)
        assert m.counters["equivocations"] == 1
        # A third copy of either changes nothing more.
        again = m.handle(ev.FramesReceived(2, (second,)), 0.0, 0.0)
        assert not shown(again) and not sent(again)


def test_an_altered_copy_with_a_bad_signature_is_still_the_relays_fault() -> None:
    one, _ = two_versions()
    m = make_mesh()
    link(m, 1, OTHER_KEYS, nick="alice")
    link(m, 2, P1_KEYS, nick="relay")
    m.handle(ev.FramesReceived(1, (one,)), 0.0, 0.0)
    m.handle(ev.FramesReceived(2, (with_fields(one, text="forged"),)), 0.0, 0.0)
    assert m.guard.strikes(P1, 0.0) == 1 and m.history.get(OTHER, 1) == one


# ---------------------------------------------------------------------- meters


def flood(m: object, conn: int, frames: list[object], now: float = 0.0) -> list[act.Action]:
    out: list[act.Action] = []
    for message in frames:
        out += m.handle(ev.FramesReceived(conn, (message,)), now, 0.0)  # type: ignore[attr-defined]
    return out


def test_pings_beyond_their_budget_are_ignored() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS)
    out = flood(m, 1, [Ping(n, "0" * 16, 0.0) for n in range(1000)])
    pongs = [a for a in sent(out) if isinstance(a.message, Pong)]
    assert len(pongs) == int(LIMITS.ping_burst)
    assert m.guard.metered == 1000 - int(LIMITS.ping_burst)


def test_sync_requests_beyond_their_budget_get_no_answer() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS)
    for seq in range(1, 50):
        m.handle(ev.SendChat(f"m{seq}"), 0.0, 0.0)
    out = flood(m, 1, [SyncRequest({}, 0) for _ in range(1000)])
    answers = [a for a in sent(out) if isinstance(a.message, SyncBatch)]
    assert len(answers) == int(LIMITS.sync_request_burst)


def test_nick_changes_beyond_their_budget_are_ignored_and_trust_stays_bounded() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="start")
    out = flood(m, 1, [NickChange(f"n{i}") for i in range(1000)])
    renames = [v for v in shown(out) if isinstance(v, vw.NickChanged)]
    trusted = [a for a in out if isinstance(a, act.Trust)]
    assert len(renames) == int(LIMITS.nick_burst)
    assert len(trusted) <= LIMITS.max_nicks_per_key
    assert m.peer_nick(P1) == f"n{int(LIMITS.nick_burst) - 1}"


def test_gossip_beyond_its_budget_is_ignored() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS)
    lists = [
        PeerList((PeerAddress(above_us(i), f"10.9.{i // 250}.{i % 250 + 1}", 7000),), False)
        for i in range(500)
    ]
    out = flood(m, 1, lists)
    dials = [a for a in out if isinstance(a, act.Dial)]
    assert len(dials) <= int(LIMITS.gossip_burst)


def test_offers_and_fetches_beyond_their_budget_are_ignored() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS)
    fetches = flood(m, 1, [FileRequest(f"{i:016x}", 0) for i in range(200)])
    refusals = [a for a in sent(fetches) if a.message.__class__.__name__ == "FileStop"]
    assert len(refusals) == int(LIMITS.fetch_burst)
    out = flood(m, 1, [signed_offer(P1_KEYS, f"{i:016x}") for i in range(200)])
    offers = [v for v in shown(out) if isinstance(v, vw.FileOffered)]
    assert len(offers) == int(LIMITS.offer_burst)  # each costs a signature check: bounded
    assert len(m.files.incoming) == LIMITS.max_pending_offers


def test_an_error_after_authentication_shows_on_one_line_under_the_peer() -> None:
    from p2pchat.core.messages import ErrorFrame

    m = make_mesh()
    link(m, 1, P1_KEYS, nick="bob")
    out = m.handle(ev.FramesReceived(1, (ErrorFrame("x", "bye\n[12:00] alice: hi", 3),)), 0.0, 0.0)
    [problem] = [v for v in shown(out) if isinstance(v, vw.Problem)]
    assert "\n" not in problem.text and problem.text.startswith("bob closed the link: ")


def test_own_frames_fit_in_a_frame_whatever_we_hold() -> None:
    # 10,000 authors in our vector: the request is cut to fit, and so are an answer's floors.
    from p2pchat.core import sync
    from p2pchat.core.messages import encode_message

    m = make_mesh()
    for i in range(LIMITS.max_tracked_authors):
        m.history.accept_floor(f"{i:032x}", 5, shown=5, now=0.0)
    request = sync.request(m.history, LIMITS)
    assert len(encode_message(request)) <= LIMITS.max_frame_bytes
    answer = sync.answer(m.history, SyncRequest(dict.fromkeys(request.versions, 1), 1), LIMITS)
    assert len(encode_message(answer)) <= LIMITS.max_frame_bytes
    assert OTHER not in request.versions


# ----------------------------------------------------------------------- nicks


def alice_known(**kwargs: object) -> object:
    m = make_mesh(trusted={"alice": OTHER}, **kwargs)
    link(m, 1, P1_KEYS, nick="mallory")
    return m


def test_a_message_cannot_borrow_the_nick_of_a_member_who_is_away() -> None:
    # Alice (OTHER) was met before and is offline; Mallory signs a message as "alice".
    m = alice_known()
    forged = signed_chat(P1_KEYS, 1, 1, "it's me, send the file", nick="alice")
    out = m.handle(ev.FramesReceived(1, (forged,)), 0.0, 0.0)  # type: ignore[attr-defined]
    [message] = [v for v in shown(out) if isinstance(v, vw.MessageShown)]
    assert message.display == f"alice#{P1[:8]}"
    [warning] = [v for v in shown(out) if isinstance(v, vw.Problem)]
    assert warning.text.startswith(f"WARNING: alice#{P1[:8]} uses the nick 'alice' with key")
    assert "first seen with key" in warning.text
    # Once per key and nick, not once per message; the mark stays on every message.
    out = m.handle(  # type: ignore[attr-defined]
        ev.FramesReceived(1, (signed_chat(P1_KEYS, 2, 2, "again", nick="alice"),)), 0.0, 0.0
    )
    assert [v.display for v in shown(out) if isinstance(v, vw.MessageShown)] == [f"alice#{P1[:8]}"]
    assert not [v for v in shown(out) if isinstance(v, vw.Problem)]


def test_a_look_alike_nick_is_marked_and_flagged() -> None:
    from p2pchat.security.confusables import skeletons

    m = alice_known(looks=skeletons)
    for seq, nick in enumerate(("\u0430lice", "aIice", "ALICE"), start=1):  # Cyrillic a, capital i
        chat = signed_chat(P1_KEYS, seq, seq, "hi", nick=nick)
        out = m.handle(ev.FramesReceived(1, (chat,)), 0.0, 0.0)  # type: ignore[attr-defined]
        [message] = [v for v in shown(out) if isinstance(v, vw.MessageShown)]
        assert message.display == f"{nick}#{P1[:8]}"
        [warning] = [v for v in shown(out) if isinstance(v, vw.Problem)]
        assert "which looks like 'alice'" in warning.text
    # The real owner is not marked for her own nick.
    link(m, 2, OTHER_KEYS, nick="alice")  # type: ignore[arg-type]
    assert m.display_name(OTHER, "alice") == "alice"  # type: ignore[attr-defined]


def test_nicks_with_invisible_or_fake_characters_are_refused_on_the_wire() -> None:
    import json

    from p2pchat.core.errors import ProtocolError
    from p2pchat.core.messages import decode_message, encode_message, nick_problem, normal_nick

    for bad in (
        "ali\u200bce",  # zero-width space
        "ali\u200dce",  # zero-width joiner
        "al\u00adice",  # soft hyphen
        "alice\u3164",  # Hangul filler
        "alice\ufe0f",  # variation selector
        "bob\uff03c0ffee",  # full-width number sign: fakes the #id
        "bob\ufe5fc0ffee",  # small number sign
        "\uff41lice",  # full-width a: not NFKC
        "ali\u202ece",  # bidi override
    ):
        assert nick_problem(bad, LIMITS) is not None, repr(bad)
        frame = json.loads(encode_message(signed_chat(P1_KEYS, 1, 1, "x")))
        frame["nick"] = bad
        try:
            decode_message(json.dumps(frame).encode(), LIMITS)
        except ProtocolError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
    assert normal_nick("\uff41lice") == "alice"
    assert nick_problem(normal_nick("bob\uff03c0ffee"), LIMITS) is not None
    assert (
        nick_problem("J\u00f6rg", LIMITS) is None and nick_problem("\u674e\u96f7", LIMITS) is None
    )


def test_the_trust_table_stays_bounded() -> None:
    from p2pchat.core.limits import Limits
    from p2pchat.core.trust import TrustTable

    table = TrustTable({}, Limits(max_known_nicks=50, max_nicks_per_key=3))
    assert [table.check(f"n{i}", P1).new for i in range(5)] == [True] * 3 + [False] * 2
    for i in range(100):
        table.check(f"x{i}", f"{i:032x}")
    assert table.first_seen("x49") is None and table.first_seen("x46") is not None


# ------------------------------------------------------------------ direct messages

DAY = 86400.0
WALL = 1_800_000_000.0


def dm_to_bob(text: str = "psst", wall: float = WALL) -> object:
    me = make_mesh()
    link(me, 1, P2_KEYS, nick="bob")
    out = me.handle(ev.SendDirect("bob", text), 0.0, wall)
    return next(a.message for a in out if isinstance(a, act.Send))


def bob(**kwargs: object) -> object:
    from tests.core.peers import ME_KEYS

    b = make_mesh(P2_KEYS, "bob", **kwargs)
    link(b, 1, ME_KEYS, nick="me")
    return b


def dms_shown(out: list[act.Action]) -> list[str]:
    return [v.text for v in shown(out) if isinstance(v, vw.MessageShown) and v.direct]


def test_a_direct_message_is_taken_once_even_after_the_memory_window_and_a_restart() -> None:
    direct = dm_to_bob()
    b = bob()
    out = b.handle(ev.FramesReceived(1, (direct,)), 0.0, WALL)  # type: ignore[attr-defined]
    assert dms_shown(out) == ["psst"]
    [remember] = [a for a in out if isinstance(a, act.RememberDirect)]
    # Replayed an hour later: still known.
    out = b.handle(ev.FramesReceived(1, (direct,)), 3600.0, WALL + 3600)  # type: ignore[attr-defined]
    assert dms_shown(out) == []
    # Replayed after a restart, with what the node persisted: still known.
    again = bob(seen_directs={remember.msg_id: remember.ts})
    out = again.handle(ev.FramesReceived(1, (direct,)), 0.0, WALL + DAY)  # type: ignore[attr-defined]
    assert dms_shown(out) == []
    # Replayed after the window (a week and a day), when the ID may have been forgotten:
    # refused by its signed time.
    late = bob()
    out = late.handle(ev.FramesReceived(1, (direct,)), 0.0, WALL + 9 * DAY)  # type: ignore[attr-defined]
    assert dms_shown(out) == []


def test_a_direct_message_that_waited_a_week_is_still_taken() -> None:
    direct = dm_to_bob()
    b = bob()
    out = b.handle(ev.FramesReceived(1, (direct,)), 0.0, WALL + 7 * DAY)  # type: ignore[attr-defined]
    assert dms_shown(out) == ["psst"]


def test_direct_messages_are_rate_limited_like_chats() -> None:
    import random

    from p2pchat.core.limits import Limits
    from p2pchat.core.mesh import Mesh
    from tests.core.peers import ME_KEYS

    me = make_mesh()
    link(me, 1, P2_KEYS, nick="bob")
    directs = []
    for i in range(6):
        out = me.handle(ev.SendDirect("bob", f"dm {i}"), 0.0, WALL)
        directs += [a.message for a in out if isinstance(a, act.Send)]
    limits = Limits(author_rate=1.0, author_burst=3.0)
    b = Mesh(P2_KEYS, "bob", "lobby", 4000, limits=limits, rng=random.Random(2))
    link(b, 1, ME_KEYS, nick="me")
    texts: list[str] = []
    for direct in directs:
        texts += dms_shown(b.handle(ev.FramesReceived(1, (direct,)), 0.0, WALL))
    assert texts == ["dm 0", "dm 1", "dm 2"]


# --------------------------------------------------------------- address book


def gossip(entries: list[tuple[str, str, int]]) -> PeerList:
    return PeerList(tuple(PeerAddress(i, h, p) for i, h, p in entries), False)


def test_gossip_cannot_fill_the_address_book_or_push_out_real_peers() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="eve")
    junk = [(above_us(i), f"10.66.{i // 250}.{i % 250 + 1}", 9000) for i in range(2000)]
    for start in range(0, len(junk), LIMITS.max_gossip_peers):
        m.handle(ev.FramesReceived(1, (gossip(junk[start : start + 256]),)), 0.0, 0.0)
    book = m.book.known  # white box: what the book holds
    assert sum(1 for a in book.values() if a.host.startswith("10.66.")) <= LIMITS.max_gossip_peers
    # A real member mDNS tells us about still gets in, and is dialled.
    m.handle(ev.PeerDiscovered((("10.1.1.1", 7000),), OTHER, "mdns"), 1.0, 0.0)
    assert ("10.1.1.1", 7000) in book
    # Junk dials fail; the real member is dialled in the next round, not behind all the junk.
    dialled = [a.key for a in book.values() if a.dialing]
    out: list[act.Action] = []
    for host, port in dialled:
        out += m.handle(ev.DialFailed(host, port, "refused"), 2.0, 0.0)
    out += m.handle(ev.Tick(), 2.0, 0.0)
    assert act.Dial("10.1.1.1", 7000) in out


def test_gossip_cannot_rename_an_address_a_handshake_proved() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="eve", outbound=True)  # dialled 10.0.0.1:5000, P1 answered
    link(m, 2, P2_KEYS, nick="bob")
    proven = m.book.known[("10.0.0.1", 5000)]
    assert proven.node_id == P1
    m.handle(ev.FramesReceived(2, (gossip([(OTHER, "10.0.0.1", 5000)]),)), 0.0, 0.0)
    assert proven.node_id == P1 and proven.hint is None
    # A claim that an unknown member's address is someone we link to does not stop the dial.
    out = m.handle(ev.FramesReceived(2, (gossip([(P1, "10.7.7.7", 7000)]),)), 0.0, 0.0)
    assert act.Dial("10.7.7.7", 7000) in out


def test_dials_to_silent_ports_do_not_use_up_the_inbound_slots() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS)
    silent = [(above_us(i), f"10.77.0.{i + 1}", 9000) for i in range(200)]
    out = m.handle(ev.FramesReceived(1, (gossip(silent),)), 0.0, 0.0)
    dials = [a for a in out if isinstance(a, act.Dial)]
    assert len(dials) == LIMITS.max_pending_dials
    for conn, dial in enumerate(dials, start=10):  # they connect, then say nothing
        m.handle(
            ev.ConnectionMade(conn, True, dial.host, dial.port, b"n" * 16, b"e" * 32), 0.1, 0.0
        )
    assert m.inbound_refusal("10.0.0.99", 0.2) is None
    out = m.handle(ev.ConnectionMade(99, False, "10.0.0.99", 40000, b"n" * 16, b"e" * 32), 0.2, 0.0)
    assert not [a for a in out if isinstance(a, act.Close)]


def test_two_versions_sent_to_different_members_converge_on_one() -> None:
    # In a full mesh nobody relays, so the two versions never meet by flooding: equal
    # histories with different newest contents (the ping's recent digest) start a recheck.
    from p2pchat.core.crypto import chat_signing_bytes
    from p2pchat.simnet import SimNet

    net = SimNet(seed=3)
    for name in ("a", "b", "h"):
        net.add_node(name)
    for name in ("a", "b", "h"):
        for other in {"a", "b", "h"} - {name}:
            net.introduce(name, other)
    assert net.run_until(net.full_mesh, 10.0)
    hostile = net.nodes["h"].mesh
    versions = []
    for text in ("pay alice", "pay mallory"):
        unsigned = Chat(hostile.node_id, 1, 1, 1.7e9, "h", text, hostile.crypto.public_key)
        sig = hostile.crypto.sign(chat_signing_bytes("lobby", unsigned))
        versions.append(with_fields(unsigned, signature=sig))
    net.send_as("h", "a", versions[0])
    net.send_as("h", "b", versions[1])
    winner = min(versions, key=lambda c: c.signature)

    def agreed() -> bool:
        held = [net.nodes[n].mesh.history.get(hostile.node_id, 1) for n in ("a", "b")]
        return held == [winner, winner]

    assert net.run_until(agreed, 10.0)
    # The member that showed the losing version is told which one everyone keeps.
    loser_at = "b" if winner is versions[0] else "a"
    warnings = [v for v in net.nodes[loser_at].views if isinstance(v, vw.Equivocation)]
    assert [w.text for w in warnings] == [winner.text]
    assert net.full_mesh()


def test_identities_behind_one_host_share_its_budgets_but_this_machine_does_not() -> None:
    # Keys are free: many identities on one host get host_share times one peer's budget in
    # all, not each their own. Several nodes on this very machine (loopback) are not limited.
    from p2pchat.core.guard import Guard, Meter

    guard = Guard(LIMITS)
    burst, share = int(LIMITS.ping_burst), LIMITS.host_share
    allowed = sum(
        guard.allow(Meter.PING, f"{key:032x}", 0.0, "10.5.5.5")
        for key in range(4 * share)
        for _ in range(burst)
    )
    assert allowed == burst * share
    loopback = sum(
        guard.allow(Meter.PING, f"{key:032x}", 0.0, "127.0.0.1")
        for key in range(100, 100 + 4 * share)
        for _ in range(burst)
    )
    assert loopback == burst * 4 * share
    # One strike each from many fresh keys: the host is cut off at host_share times five.
    host_total = LIMITS.max_strikes * share
    strikes = [guard.strike(f"{key:032x}", 0.0, "10.6.6.6") for key in range(host_total)]
    assert not any(strikes[:-1]) and strikes[-1]


def test_a_full_trust_table_leaves_every_new_nick_marked() -> None:
    # Found in review: 625 keys x 16 nicks filled the table, and then anyone could post as a
    # newcomer's nick unmarked. A nick the table could not remember keeps its short ID.
    import random

    from p2pchat.core.limits import Limits
    from p2pchat.core.mesh import Mesh

    limits = Limits(max_known_nicks=3)
    m = Mesh(P2_KEYS, "me", "lobby", 4000, limits=limits, rng=random.Random(1))
    link(m, 1, P1_KEYS, nick="filler")
    told = []
    for seq, nick in enumerate(("f1", "f2", "dave"), start=1):
        chat = signed_chat(P1_KEYS, seq, seq, "x", nick=nick)
        told += [v for v in shown(m.handle(ev.FramesReceived(1, (chat,)), 0.0, 0.0))]
    out = m.handle(
        ev.FramesReceived(1, (signed_chat(P1_KEYS, 4, 4, "it's dave", nick="dave"),)), 0.0, 0.0
    )
    [message] = [v for v in shown(out) if isinstance(v, vw.MessageShown)]
    assert message.display == f"dave#{P1[:8]}"
    # The user is told once that new nicks now keep their #id.
    full = [v for v in told if isinstance(v, vw.Problem) and "known nicks is full" in v.text]
    assert len(full) == 1


def test_the_direct_message_ledger_makes_room_without_reopening_replays() -> None:
    from p2pchat.core.dedup import DirectLedger, DirectVerdict

    ledger = DirectLedger(3, max_age=100.0, max_ahead=10.0, known={})
    for i, author in enumerate(("a" * 32, "b" * 32, "c" * 32, "d" * 32)):
        assert ledger.judge(f"{author}:d:{i}", 1000.0 + i, 1010.0) is DirectVerdict.NEW
        ledger.take(f"{author}:d:{i}", 1000.0 + i)
    assert len(ledger) == 3
    # The entry signed longest ago made room; a replay of it is refused by its author's floor.
    assert ledger.judge(f"{'a' * 32}:d:0", 1000.0, 1010.0) is DirectVerdict.TOO_OLD
    assert ledger.judge(f"{'a' * 32}:d:9", 1005.0, 1010.0) is DirectVerdict.NEW
    # Entries leave once the window has passed them.
    assert ledger.judge(f"{'e' * 32}:d:5", 1150.0, 1150.0) is DirectVerdict.NEW
    assert len(ledger) == 0


def test_a_relayed_direct_message_with_bad_content_strikes_nobody_but_its_author() -> None:
    # Found in review: the recipient struck whoever delivered the DM, so a member could get
    # an honest relay banned with five DMs it cannot look into.
    import json

    from p2pchat.core.crypto import direct_signing_bytes
    from p2pchat.core.messages import Direct
    from tests.core.peers import ME_KEYS

    victim = make_mesh()
    link(victim, 1, P1_KEYS, nick="relay")
    for n in range(6):
        box_key, box = P2_KEYS.seal(
            ME_KEYS.dh_public, json.dumps({"nick": "x", "text": ""}).encode()
        )
        unsigned = Direct(
            P2_KEYS.node_id,
            ME_KEYS.node_id,
            f"{n:016x}",
            1.0,
            P2_KEYS.public_key,
            box_key,
            box,
            b"",
        )
        bad = with_fields(unsigned, signature=P2_KEYS.sign(direct_signing_bytes(unsigned)))
        out = victim.handle(ev.FramesReceived(1, (bad,)), 0.0, 1.0)
        assert not [a for a in out if isinstance(a, act.Close)]
    assert victim.guard.strikes(P1, 0.0) == 0


def test_a_peer_cannot_keep_our_sync_slot_busy_with_empty_batches() -> None:
    # Found in review: an empty batch with more: true made us ask again at once, forever.
    m = make_mesh()
    link(m, 1, P1_KEYS)  # it asks P1 for a sync at once
    out = m.handle(ev.FramesReceived(1, (SyncBatch((), {}, True),)), 1.0, 0.0)
    assert not [a for a in out if isinstance(a, act.Send)]  # the session ended
    assert not m.members.peers[P1].sync.busy(1.0, LIMITS)


def test_two_peers_answering_just_in_time_cannot_keep_the_sync_slots() -> None:
    # Found in review: each answered with an empty batch just before the timeout and pinged
    # a new digest at once, so the freed slot went straight back to it; carol was never asked.
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="m1")  # each link asks for a sync at once: both slots taken
    link(m, 2, P2_KEYS, nick="m2")
    from tests.core.peers import P3_KEYS

    link(m, 3, P3_KEYS, nick="carol")  # no slot: carol waits in line
    now = 9.5
    out = m.handle(ev.FramesReceived(1, (SyncBatch((), {}, False),)), now, 0.0)
    requests = [a for a in sent(out) if isinstance(a.message, SyncRequest)]
    assert [a.conns for a in requests] == [(3,)]  # the freed slot goes to carol
    again = m.handle(ev.FramesReceived(1, (Ping(9, "f" * 16, 0.0),)), now + 0.1, 0.0)
    assert not [a for a in sent(again) if isinstance(a.message, SyncRequest)]  # m1 waits


def test_two_people_with_one_nick_stay_apart_in_renames_dms_and_warnings() -> None:
    # Issue 12: a rename read "alex is now known as carol", a DM echo "-> alex", and taking a
    # nick in use gave no warning.
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="alex")  # the first alex: the nick is this key's
    link(m, 2, P2_KEYS, nick="alex")  # the second one is marked
    second = f"alex#{P2_KEYS.node_id[:8]}"
    out = m.handle(ev.SendDirect(second, "which one?"), 0.0, 0.0)
    [echo] = [v for v in shown(out) if isinstance(v, vw.MessageShown)]
    assert echo.to_nick == second
    out = m.handle(ev.FramesReceived(2, (NickChange("carol"),)), 0.0, 0.0)
    [renamed] = [v for v in shown(out) if isinstance(v, vw.NickChanged)]
    assert renamed.display == second and renamed.new_display == "carol"
    out = m.handle(ev.ChangeNick("alex"), 0.0, 0.0)
    [warning] = [v for v in shown(out) if isinstance(v, vw.Problem)]
    assert "here already goes by 'alex': others see you as alex#" in warning.text


def test_messages_written_with_nobody_linked_count_as_unsent_until_a_peer_syncs() -> None:
    # Issue 12: `echo hello | p2pchat` quit before anyone had the message. The core now says
    # how many of ours reached no peer, and a peer's sync delivers them.
    m = make_mesh()

    def delivery() -> vw.Delivery:
        [view] = [v for v in shown(m.handle(ev.ShowDelivery(), 0.0, 0.0))]
        assert isinstance(view, vw.Delivery)
        return view

    m.handle(ev.SendChat("hello"), 0.0, 0.0)
    assert delivery() == vw.Delivery(sent=1, unsent=1, ever_linked=False)
    link(m, 1, P1_KEYS)
    m.handle(ev.FramesReceived(1, (SyncRequest({}, 0),)), 0.0, 0.0)  # the peer asks for it
    assert delivery() == vw.Delivery(sent=1, unsent=0, ever_linked=True)
    m.handle(ev.SendChat("live"), 0.0, 0.0)  # with a link, it leaves at once
    assert delivery().unsent == 0


def test_a_flood_of_spoofed_beacons_cannot_free_dial_slots_by_pushing_out_addresses() -> None:
    # Found by an attacker's review: a full beacon share dropped addresses still being dialled,
    # so 5,000 spoofed beacons made 4,745 dials against a limit of 32.
    m = make_mesh()
    dials = 0
    for i in range(5000):
        host = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
        event = ev.PeerDiscovered(((host, 41234),), f"{i:032x}", "beacon")
        dials += sum(isinstance(a, act.Dial) for a in m.handle(event, i * 0.001, 0.0))
    assert dials <= LIMITS.max_pending_dials


def test_an_address_only_discovery_vouched_for_is_dropped_after_a_few_failed_dials() -> None:
    m = make_mesh()
    out = m.handle(ev.PeerDiscovered((("10.0.0.99", 22),), None, "beacon"), 0.0, 0.0)
    dials, now = 0, 0.0
    for _ in range(50):
        for action in out:
            if isinstance(action, act.Dial):
                dials += 1
                m.handle(ev.DialFailed(action.host, action.port, "refused"), now, 0.0)
        now += 60.0
        out = m.handle(ev.Tick(), now, 0.0)
    assert dials == LIMITS.max_unproven_dial_failures
