"""The standing adversarial suite, core level: one test per attack on the security claims.

Each test drives a Mesh through real handshakes with a hostile peer and checks the worst that
peer can make us store, compute, show, trust or forget. Process-level versions of these attacks
are in tests/e2e/test_hostile.py, the hostile state machine in tests/core/test_hostile_machine.py.
"""

from __future__ import annotations

from dataclasses import replace

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
)
from tests.core.peers import (
    LIMITS,
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
    m.handle(ev.FramesReceived(2, (replace(one, text="forged"),)), 0.0, 0.0)
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
        PeerList((PeerAddress(f"{i:032x}", f"10.9.{i // 250}.{i % 250 + 1}", 7000),), False)
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
