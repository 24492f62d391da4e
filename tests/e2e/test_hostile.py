"""The standing adversarial suite, process level: one test per attack, real `p2pchat --ui json`
processes on 127.0.0.1 (no mDNS), hostile peers from tests/hostile.py on 127.0.0.0/8.

Each test asserts what the honest processes show in their JSON output. The core-level versions
of these attacks are in tests/core/test_hostile.py.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

import pytest

from p2pchat.core.limits import Limits
from p2pchat.core.messages import (
    Auth,
    ErrorFrame,
    Hello,
    NickChange,
    Pong,
    SyncBatch,
    SyncRequest,
    encode_message,
    with_fields,
)
from p2pchat.security.keys import NodeKeys
from tests.e2e.harness import ChatProcess, Cluster, Event
from tests.hostile import (
    FOREVER,
    HandshakeRelay,
    Listener,
    Relay,
    Session,
    Tarpit,
    batch,
    closed_by_peer,
    error_frame,
    free_port,
    junk_addresses,
    offer_by,
    peer_lists,
    ping,
    plant_identity,
    signed_chat,
    sync_request,
)
from tests.rawpeer import RawPeer

LIMITS = Limits()
DEADLINE = 10.0
RESPONSIVE = 5.0  # a chat must get through a flood within this


# ------------------------------------------------------------------ helpers


def barrier(node: ChatProcess) -> None:
    """A round trip through the node's event loop: every event it had is on stdout after it."""
    node.stats()


def events(node: ChatProcess, kind: str, **fields: object) -> list[Event]:
    """The node's events of kind so far whose fields have these values."""
    with node._cond:
        found = list(node.events)
    return [
        e for e in found if e["event"] == kind and all(e.get(k) == v for k, v in fields.items())
    ]


def texts(node: ChatProcess) -> list[str]:
    """Texts of every message event so far."""
    return [m["text"] for m in node.messages()]


def history(node: ChatProcess) -> dict[str, str]:
    """msg_id -> text of the node's stored history (via /history)."""
    since = len(node.events)
    node.send("/history 100000")
    event = node.wait_for(lambda e: e["event"] == "history", DEADLINE, "history", since)
    return {m["msg_id"]: m["text"] for m in event["messages"]}


def wait_any(
    nodes: list[ChatProcess], predicate: Callable[[Event], bool], timeout: float = DEADLINE
) -> tuple[ChatProcess, Event]:
    """The first of nodes to have an event matching predicate (checked each 50 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        for node in nodes:
            with node._cond:
                for event in node.events:
                    if predicate(event):
                        return node, event
        if time.monotonic() >= deadline:
            raise AssertionError(f"no node had an event {predicate} within {timeout}s")
        with nodes[0]._cond:
            nodes[0]._cond.wait(0.05)


def joined(node: ChatProcess, nick: str) -> Event:
    return node.wait_for(
        lambda e: e["event"] == "peer_joined" and e["nick"] == nick, DEADLINE, f"{nick} joined"
    )


def greeted(node: ChatProcess, source: str) -> bool:
    """True if the node sends its HELLO to a connection from source (False: closed at once)."""
    probe = socket.create_connection(("127.0.0.1", node.port), 5, source_address=(source, 0))
    try:
        return probe.recv(4) != b""
    except ConnectionResetError:
        return False
    finally:
        probe.close()


def pair(cluster: Cluster) -> tuple[ChatProcess, ChatProcess]:
    """Alice and Bob, linked."""
    alice = cluster.start("alice").ready()
    bob = cluster.start("bob", "--peer", alice.addr).ready()
    alice.wait_peers({bob.id})
    bob.wait_peers({alice.id})
    return alice, bob


# ------------------------------------------------------------ 1. relayed handshake


def test_a_relayed_handshake_does_not_pose_as_the_node_it_relays(cluster: Cluster) -> None:
    # Eve dials Bob and reads his HELLO, dials Alice with a HELLO of her own that carries Bob's
    # nonce, and gives Alice's HELLO and AUTH to Bob. Under v2 Alice's AUTH signed Bob's nonce,
    # so Bob took Eve's socket for Alice. Now it signs both HELLOs of the Alice-Eve link.
    alice = cluster.start("alice").ready()
    bob = cluster.start("bob").ready()
    # First as they came (the AUTH in the clear: Eve has no key of Bob's link, so it does not
    # even open); then with Eve's own ephemeral key in the HELLO, so that Bob can open the AUTH
    # and only its signature is left to judge. Each from its own address (a bad AUTH bans it).
    for own_ek, source in ((False, "127.0.0.66"), (True, "127.0.0.67")):
        eve = HandshakeRelay(bob.port, alice.port, source)
        try:
            assert eve.target_auth.nick == "alice"
            eve.pass_on(own_ek=own_ek)
            if own_ek:
                # Bob opened the AUTH (so he checked it) and refused its signature.
                replies = eve.victim_frames()
                assert [type(m) for m in replies] == [Auth, ErrorFrame], replies
                assert replies[1].code == "auth"  # type: ignore[union-attr]
            else:
                closed_by_peer(eve.to_victim.sock)  # the clear AUTH did not even open
        finally:
            eve.close()
    barrier(bob)
    assert events(bob, "peer_joined") == [], "Bob took Eve's socket for Alice"
    assert not [e for e in bob.events if e["event"] == "message"]
    # Bob and Alice can still link for real (nothing of Alice's was banned).
    bob.send(f"/connect {alice.addr}")
    bob.wait_peers({alice.id})
    assert joined(bob, "alice")["addr"] == alice.addr
    assert [e["addr"] for e in events(bob, "peer_joined")] == [alice.addr]


def test_a_full_relay_passes_bytes_unchanged_or_ends_the_link(cluster: Cluster) -> None:
    # Eve forwards Bob's exact HELLO to Alice and Alice's to Bob, then every frame. They link
    # through her, but she reads nothing, and one frame of her own (a fresh one, or a copy of
    # a frame she passed on) fails to decrypt and ends the link.
    alice = cluster.start("alice").ready()
    bob = cluster.start("bob").ready()
    injections = {
        "127.0.0.68": encode_message(signed_chat(NodeKeys.generate(), 1, "eve was here")),
        "127.0.0.69": None,  # a replay of the last frame she passed to Alice
    }
    for round_, (source, injected) in enumerate(injections.items(), 1):
        relay = Relay(bob.port, alice.port, source)  # left: Bob, right: Alice
        try:
            alice.wait_peers({bob.id})
            bob.wait_peers({alice.id})
            secret = f"for alice only {round_}"
            bob.send(secret)
            alice.wait_for(lambda e, s=secret: e.get("text") == s)
            assert secret.encode() not in relay.captured  # Eve sees only ciphertext
            alice.send(f"and back {round_}")
            bob.wait_for(lambda e, r=round_: e.get("text") == f"and back {r}")
            since = len(alice.events)
            relay.inject("right", injected or relay.sent_to("right")[-1])
            left = alice.wait_for(
                lambda e: e["event"] == "peer_left" and e["id"] == bob.id, since=since
            )
            assert "failed to decrypt" in left["reason"], left
            assert left["addr"] == f"{source}:{bob.port}"
            bob.wait_for(lambda e, n=round_: len(events(bob, "peer_left", id=alice.id)) >= n)
        finally:
            relay.close()
        assert texts(alice).count(secret) == 1
    assert "eve was here" not in texts(alice) + texts(bob)


def test_a_failed_handshake_bans_the_address_it_came_from(cluster: Cluster) -> None:
    # PROTOCOL.md and SECURITY.md: an ID that is not its key's hash, or an AUTH whose signature
    # fails, is refused and bans the address for 60 s, on links the node accepted too.
    bob = cluster.start("bob").ready()
    forger = RawPeer(bob.port, "eve", source="127.0.0.73")
    try:  # a HELLO whose ID is someone else's
        forger.send(with_fields(forger.hello(), node_id=NodeKeys.generate().node_id))
        assert isinstance(forger.recv(), Hello)
        refusal = forger.recv()
        assert isinstance(refusal, ErrorFrame) and refusal.code == "identity", refusal
    finally:
        forger.close()
    signer = RawPeer(bob.port, "eve", source="127.0.0.74")
    try:  # a good HELLO, then an AUTH signed over something else
        signer.send(signer.hello())
        theirs = signer.recv()
        assert isinstance(theirs, Hello)
        signer.cipher.start(theirs.node_id, theirs.nonce, theirs.ek)
        signer.send(Auth(signer.keys.sign(b"not the transcript"), "eve"))
        replies = [signer.recv(), signer.recv()]  # bob's AUTH, then his refusal
        assert isinstance(replies[1], ErrorFrame) and replies[1].code == "auth", replies
    finally:
        signer.close()
    barrier(bob)
    assert events(bob, "peer_joined") == []
    assert greeted(bob, "127.0.0.75")  # an address that did nothing wrong
    banned = {source: not greeted(bob, source) for source in ("127.0.0.73", "127.0.0.74")}
    assert banned == {"127.0.0.73": True, "127.0.0.74": True}, banned


# ------------------------------------------------------------------- 2. floors


def test_floors_from_a_member_silence_nobody(cluster: Cluster) -> None:
    # Eve, a member, claims in her batches that every author's messages up to 2**63-1 were
    # pruned: once in the answer to a real sync, once unasked. Floors never make a message
    # count as seen, and are cut to what can be shown: every later message still arrives,
    # also from Dave, whose ID Eve floored before his node ever started.
    dave_keys = plant_identity(cluster.root / "dave")
    alice = cluster.start("alice").ready()
    bob = cluster.start("bob", "--peer", alice.addr).ready()
    carol = cluster.start("carol", "--peer", alice.addr).ready()
    for node, others in ((alice, {bob.id, carol.id}), (bob, {alice.id, carol.id})):
        node.wait_peers(others)
    carol.wait_peers({alice.id, bob.id})
    alice.send("before the attack")
    for node in (bob, carol):
        node.wait_for(lambda e: e.get("text") == "before the attack")
    floors = dict.fromkeys((alice.id, bob.id, carol.id, dave_keys.node_id), FOREVER)
    eve = NodeKeys.generate()
    with (
        Session.member(bob.port, "eve", keys=eve, answer_syncs=False) as to_bob,
        Session.member(carol.port, "eve", keys=eve, answer_syncs=False) as to_carol,
    ):
        for session in (to_bob, to_carol):
            session.wait_for(lambda m: isinstance(m, SyncRequest), what="the node's sync")
            session.send(batch(floors))  # the answer to that sync
            session.send(batch(floors))  # and one nobody asked for
            session.round_trip()
        for i in range(1, 4):
            alice.send(f"after the attack {i}")
        dave = cluster.start("dave", "--peer", alice.addr).ready()
        assert dave.id == dave_keys.node_id
        dave.wait_peers({alice.id, bob.id, carol.id})
        dave.send("dave speaks")
        carol.send("carol speaks")
        for node in (bob, carol):
            node.wait_count(lambda e: e.get("text", "").startswith("after the attack"), 3)
            node.wait_for(lambda e: e.get("text") == "dave speaks")
        bob.wait_for(lambda e: e.get("text") == "carol speaks")
    for node in (bob, carol):
        shown = [m for m in node.messages() if m["text"].startswith("after the attack")]
        assert [m["text"] for m in shown] == [f"after the attack {i}" for i in (1, 2, 3)]
        assert not any(m["backfill"] for m in shown)  # live, not repaired later


# -------------------------------------------------------------- 3. nick borrowing


def test_a_member_cannot_borrow_the_nick_of_one_who_is_away(cluster: Cluster) -> None:
    alice, bob = pair(cluster)  # Bob now remembers alice's key
    alice.terminate()
    bob.wait_for(lambda e: e["event"] == "peer_left" and e["id"] == alice.id)
    with Session.member(bob.port, "mallory") as mallory:
        joined(bob, "mallory")
        short = mallory.node_id[:8]
        # The nick itself, a Cyrillic a (U+0430), a capital I for the l, another case.
        for seq, nick in enumerate(("alice", "\u0430lice", "aIice", "Alice"), 1):
            mallory.send(mallory.chat(seq, f"pay mallory {seq}", nick=nick))
            shown = bob.wait_for(lambda e, s=seq: e.get("text") == f"pay mallory {s}")
            assert shown["from_nick"] == nick
            assert shown["display"] == f"{nick}#{short}", shown
            warning = bob.wait_for(
                lambda e, n=nick: (
                    e["event"] == "error"
                    and e["message"].startswith("WARNING:")
                    and f"{n}#{short}" in e["message"]
                )
            )
            assert short in warning["message"] and alice.id[:8] in warning["message"]
        # The nick sealed in a direct message.
        mallory.send(mallory.peer.direct("it is me, alice", nick="alice"))
        shown = bob.wait_for(lambda e: e.get("text") == "it is me, alice")
        assert (shown["direct"], shown["display"]) == (True, f"alice#{short}"), shown
    # The nick in the handshake itself.
    since = len(bob.events)
    with Session.member(bob.port, "alice") as impostor:
        shown = bob.wait_for(lambda e: e["event"] == "peer_joined", since=since)
        assert shown["display"] == f"alice#{impostor.node_id[:8]}", shown
        bob.wait_for(
            lambda e: (
                e["event"] == "error"
                and e["message"].startswith("WARNING:")
                and impostor.node_id[:8] in e["message"]
            )
        )
        since = len(bob.events)
        bob.send("/whois alice")
        bob.wait_for(lambda e: e["event"] == "whois" and not e["online"], since=since)
        whois = [e for e in bob.events[since:] if e["event"] == "whois"]
        assert {(e["id"], e["first_seen"]) for e in whois} == {
            (alice.id, True),
            (impostor.node_id, False),
        }, whois
    warnings = [e for e in events(bob, "error") if e["message"].startswith("WARNING:")]
    assert len(warnings) == 5


# ----------------------------------------------------------------- 4. equivocation


def test_an_author_who_signs_two_versions_gets_one_text_everywhere(cluster: Cluster) -> None:
    # A raw author signs two versions of its message 1 and sends one to Alice, the other to
    # Bob. They pass them on to each other: no strike for the relay, the smaller signature
    # wins on both, an equivocation event says so, and Alice and Bob stay linked.
    alice, bob = pair(cluster)
    keys = NodeKeys.generate()
    with (
        Session.member(alice.port, "eve", keys=keys) as to_alice,
        Session.member(bob.port, "eve", keys=keys) as to_bob,
    ):
        joined(alice, "eve")
        joined(bob, "eve")
        now = time.time()
        one = to_alice.chat(1, "pay alice 10 euros", ts=now)
        two = to_bob.chat(1, "pay bob 10 euros", ts=now)
        winner = min(one, two, key=lambda c: c.signature)
        msg_id = one.msg_id
        to_alice.send(one)
        to_bob.send(two)
        for node in (alice, bob):
            first = node.wait_for(lambda e: e.get("msg_id") == msg_id)
            if first["text"] != winner.text:  # it held the loser: it must swap
                node.wait_for(lambda e: e["event"] == "equivocation")
        _, told = wait_any([alice, bob], lambda e: e["event"] == "equivocation")
        assert (told["msg_id"], told["from_id"], told["text"]) == (
            msg_id,
            keys.node_id,
            winner.text,
        )
        for node in (alice, bob):
            assert history(node)[msg_id] == winner.text
            stats = node.stats()
            assert stats["rejected"] == 0, stats
        alice.send("still linked")
        bob.wait_for(lambda e: e.get("text") == "still linked")
        assert not to_alice.closed and not to_bob.closed  # nobody cut the author's links either
    for node in (alice, bob):
        assert [e for e in events(node, "peer_left") if e["nick"] != "eve"] == []


# -------------------------------------------------------------------- 5. DMs


def test_a_direct_message_is_shown_once_even_across_a_restart(cluster: Cluster) -> None:
    bob = cluster.start("bob").ready()
    keys = NodeKeys.generate()
    with Session.member(bob.port, "mallory", keys=keys) as mallory:
        dm = mallory.peer.direct("meet me at noon")
        mallory.send(dm)
        shown = bob.wait_for(lambda e: e.get("text") == "meet me at noon")
        assert shown["direct"] is True and shown["msg_id"] == dm.msg_id
        mallory.send(dm)  # replayed at once
        mallory.round_trip()
    barrier(bob)
    assert texts(bob).count("meet me at noon") == 1
    assert bob.terminate() == 0
    bob = cluster.start("bob").ready()  # the same data dir
    with Session.member(bob.port, "mallory", keys=keys) as mallory:
        mallory.send(dm)  # the same DM again, after the restart
        old = mallory.peer.direct("signed nine days ago", ts=time.time() - 9 * 86400)
        ahead = mallory.peer.direct("signed two hours ahead", ts=time.time() + 2 * 3600)
        mallory.send(old, ahead)
        mallory.send(mallory.peer.direct("a fresh one"))
        bob.wait_for(lambda e: e.get("text") == "a fresh one")
    barrier(bob)
    assert [m["text"] for m in bob.messages() if m["direct"] and not m["restored"]] == [
        "a fresh one"
    ]
    kept = [m for m in bob.messages() if m["direct"] and m["restored"]]
    assert [m["text"] for m in kept] == ["meet me at noon"]  # from the log, once


def test_direct_messages_are_rate_limited_per_author(cluster: Cluster) -> None:
    rate = 5.0  # --rate-limit 5: bursts of 50
    bob = cluster.start("bob", "--rate-limit", str(rate)).ready()
    with Session.member(bob.port, "mallory") as mallory:
        started = time.monotonic()
        mallory.send(*[mallory.peer.direct(f"spam {i}") for i in range(300)])
        mallory.round_trip()
        elapsed = time.monotonic() - started
    barrier(bob)
    shown = [m for m in bob.messages() if m["direct"]]
    assert 10 * rate <= len(shown) <= 10 * rate + rate * elapsed + 1, (len(shown), elapsed)
    assert bob.stats()["throttled"] >= 300 - len(shown)


# ------------------------------------------------------- 6. refusals before auth


def test_a_refusal_before_authentication_never_shows_its_text(cluster: Cluster) -> None:
    # The node dials three raw sockets (--peer) that refuse it with an error frame as their
    # first frame; a fourth raw peer dials the node and sends its refusal instead of AUTH.
    # The text, made to look like a chat line, is never shown: only a fixed sentence.
    evil = "x\n[12:00:00] alice: evil"
    refusals = [("room", 3), ("version", 7), ("alice: evil", 3)]
    listeners = [Listener() for _ in refusals]
    try:
        peers = [arg for lst in listeners for arg in ("--peer", lst.addr)]
        bob = cluster.start("bob", *peers).ready()
        for listener, (code, version) in zip(listeners, refusals, strict=True):
            raw = RawPeer.over(listener.accept(), "eve")
            try:
                raw.recv()  # the node's HELLO
                raw.send_payload(error_frame(code, evil, version))
                closed_by_peer(raw.sock)
            finally:
                raw.close()
        raw = RawPeer(bob.port, "eve", source="127.0.0.70")
        try:
            raw.send(raw.hello())
            theirs = raw.recv()
            raw.cipher.start(theirs.node_id, theirs.nonce, theirs.ek)  # type: ignore[union-attr]
            raw.send_payload(error_frame("auth", evil))
            closed_by_peer(raw.sock)
        finally:
            raw.close()
        refused = bob.wait_count(lambda e: e["event"] == "error", len(refusals) + 1)
        barrier(bob)
    finally:
        for listener in listeners:
            listener.close()
    assert all("refused the connection" in e["message"] for e in refused), refused
    for event in bob.events:
        line = json.dumps(event, ensure_ascii=False)
        for word in ("alice", "evil", "12:00"):
            assert word not in line, event
    assert not [line for line in bob.stderr if "evil" in line]


def test_an_error_after_authentication_shows_on_one_line_under_its_sender(
    cluster: Cluster,
) -> None:
    # Once authenticated, a refusal's text is shown, but as one line under the sender's name:
    # it cannot pass for a chat line of someone else.
    bob = cluster.start("bob").ready()
    with Session.member(bob.port, "mallory") as mallory:
        joined(bob, "mallory")
        mallory.send(ErrorFrame("whatever", "x\n[12:00:00] alice: evil", 3))
        mallory.wait_closed()
    shown = bob.wait_for(lambda e: e["event"] == "error")
    assert shown["message"] == "mallory closed the link: x [12:00:00] alice: evil", shown
    left = bob.wait_for(lambda e: e["event"] == "peer_left")
    assert (left["nick"], left["reason"]) == ("mallory", "error: whatever"), left


# ------------------------------------------------------------------- 7. floods


def test_floods_of_pings_syncs_and_nicks_get_at_most_their_bursts(cluster: Cluster) -> None:
    alice, bob = pair(cluster)
    with Session.member(alice.port, "eve") as eve:
        joined(alice, "eve")
        started = time.monotonic()
        eve.send(*[ping(i) for i in range(1, 1001)])
        eve.send(*[sync_request() for _ in range(1000)])
        eve.send(*[NickChange(f"eve{i}") for i in range(100)])
        bob.send("through the flood")
        alice.wait_for(lambda e: e.get("text") == "through the flood", RESPONSIVE)
        upto = eve.round_trip()
        elapsed = time.monotonic() - started
        pongs, batches = eve.count(Pong, upto), eve.count(SyncBatch, upto)
        assert pongs <= LIMITS.ping_burst + LIMITS.ping_rate * elapsed + 1, (pongs, elapsed)
        assert batches <= LIMITS.sync_request_burst + LIMITS.sync_request_rate * elapsed + 1, (
            batches,
            elapsed,
        )
        assert pongs >= 1 and batches >= 1  # answered within the budget, not cut off
        barrier(alice)
        renames = events(alice, "nick", id=eve.node_id)
        assert len(renames) <= LIMITS.nick_burst + LIMITS.nick_rate * elapsed + 1, renames
        assert not eve.closed
    assert alice.proc.poll() is None and bob.proc.poll() is None
    assert [e for e in events(alice, "peer_left") if e["id"] == bob.id] == []
    alice.send("alive")
    bob.wait_for(lambda e: e.get("text") == "alive")


# ------------------------------------------------------------------ 8. gossip


def test_a_gossip_flood_does_not_keep_a_newcomer_out(cluster: Cluster) -> None:
    # 2000 made-up members: most at 127.66.a.b on a port nobody listens on (each dial is
    # refused at once, on loopback), the last 64 at a tarpit that takes the connection and says
    # nothing, so the node's dials to it wait for the handshake deadline. While every dial
    # slot is held that way, a real newcomer still gets in at once, and chats.
    alice = cluster.start("alice").ready()
    closed_port = free_port()
    tarpit = Tarpit(64)
    try:
        with Session.member(alice.port, "mallory") as mallory:
            joined(alice, "mallory")
            junk = junk_addresses(2000 - len(tarpit.ports), closed_port) + tarpit.addresses()
            mallory.send(*peer_lists(junk))
            mallory.round_trip()
            tarpit.wait_accepted(LIMITS.max_pending_dials)  # every dial slot is stuck
            carol = cluster.start("carol", "--peer", alice.addr).ready()
            alice.wait_peers({carol.id}, timeout=LIMITS.handshake_timeout)
            carol.wait_peers({alice.id})
            carol.send("made it in")
            alice.wait_for(lambda e: e.get("text") == "made it in")
            alice.send("welcome")
            carol.wait_for(lambda e: e.get("text") == "welcome")
            since = len(alice.events)
            alice.send("/peers")
            table = alice.wait_for(lambda e: e["event"] == "peers", since=since)
            assert {p["nick"] for p in table["peers"]} == {"mallory", "carol"}
    finally:
        tarpit.close()


# ---------------------------------------------------- more: clocks, strikes, nicks, offers


def test_a_member_cannot_take_over_the_address_of_another_node(cluster: Cluster) -> None:
    # Mallory links to Bob from Alice's host, claiming Alice's listening port in her HELLO. A
    # handshake proves who is on that socket, not who listens at host:port: Bob must go on
    # redialling Alice there (an address given with --peer is retried as long as Bob runs).
    port = free_port()
    alice = cluster.start("alice", "--port", str(port)).ready()
    bob = cluster.start("bob", "--peer", alice.addr).ready()
    bob.wait_peers({alice.id})

    def restart_alice(when: str) -> None:
        nonlocal alice
        assert alice.terminate() == 0
        bob.wait_for(lambda e: e["event"] == "peer_left" and e["id"] == alice.id)
        alice = cluster.start("alice", "--port", str(port)).ready()  # back, same address
        try:
            bob.wait_peers({alice.id}, timeout=DEADLINE)
        except AssertionError:
            raise AssertionError(f"{when}, Bob did not redial Alice at {alice.addr}") from None

    restart_alice("without Mallory")
    with Session.member(bob.port, "mallory", listen_port=alice.port):
        assert joined(bob, "mallory")["addr"] == alice.addr  # her claim
        restart_alice("once Mallory claimed Alice's port")


def test_a_forged_huge_clock_does_not_pin_the_room(cluster: Cluster) -> None:
    # A member signs a message with the largest clock the wire allows. It is shown, but it
    # raises clocks by at most max_lamport_leap: the room's next messages keep small clocks.
    alice, bob = pair(cluster)
    with Session.member(alice.port, "mallory") as mallory:
        mallory.send(mallory.chat(1, "from the end of time", lamport=FOREVER))
        for node in (alice, bob):  # Alice passes it on: Mallory told nobody whom she links to
            node.wait_for(lambda e: e.get("text") == "from the end of time")
        alice.send("after")
        after = bob.wait_for(lambda e: e.get("text") == "after")
        assert after["lamport"] <= LIMITS.max_lamport_leap + 10, after
        bob.send("reply")
        reply = alice.wait_for(lambda e: e.get("text") == "reply")
        assert after["lamport"] < reply["lamport"] <= LIMITS.max_lamport_leap + 10, reply


def test_strikes_outlive_a_reconnect_and_then_the_address_is_banned(cluster: Cluster) -> None:
    alice = cluster.start("alice").ready()
    keys = NodeKeys.generate()
    source = "127.0.0.71"
    with Session.member(alice.port, "mallory", keys=keys, source=source) as mallory:
        genuine = mallory.chat(1, "genuine")
        mallory.send(*[with_fields(genuine, text=f"forged {i}") for i in range(3)])  # 3 strikes
        mallory.round_trip()
    alice.wait_for(lambda e: e["event"] == "peer_left" and e["nick"] == "mallory")
    since = len(alice.events)
    with Session.member(alice.port, "mallory", keys=keys, source=source) as mallory:
        mallory.send(*[with_fields(genuine, text=f"forged {i}") for i in (3, 4)])  # 5 in all
        mallory.wait_closed()
    left = alice.wait_for(lambda e: e["event"] == "peer_left", since=since)
    assert (left["nick"], left["reason"]) == ("mallory", "too many invalid messages"), left
    # Banned: the next connection from that address is closed before any HELLO.
    assert not greeted(alice, source)
    assert greeted(alice, "127.0.0.72")
    barrier(alice)
    # Straight from its author a message shows before its signature is checked: the first
    # altered copy did, and was withdrawn when the next one came; no other ever showed.
    assert [t for t in texts(alice) if t.startswith("forged")] == ["forged 0"]
    withdrawn = [e["msg_id"] for e in alice.events if e["event"] == "withdrawn"]
    assert withdrawn == [genuine.msg_id]
    assert genuine.msg_id not in alice.history()
    assert alice.stats()["rejected"] == 5


@pytest.mark.parametrize(
    "nick",
    ["ali\u200bce", "\uff41lice", "bob\u00ad", "ev\u2066e"],
    ids=["zwsp", "fullwidth", "shy", "bidi"],
)
def test_a_nick_with_invisible_or_unnormal_characters_ends_the_link(
    cluster: Cluster, nick: str
) -> None:
    alice = cluster.start("alice").ready()
    # In the HELLO: refused before anything is shown.
    raw = RawPeer(alice.port, nick)
    try:
        raw.send(raw.hello())
        closed_by_peer(raw.sock)
    finally:
        raw.close()
    # In a rename and in a message, after a clean handshake: the link ends.
    with Session.member(alice.port, "mallory") as mallory:
        mallory.send(NickChange("mallory-renamed"))  # a clean rename is taken
        alice.wait_for(lambda e: e["event"] == "nick" and e["new"] == "mallory-renamed")
        mallory.send(NickChange(nick))
        mallory.wait_closed()
    with Session.member(alice.port, "mallory2") as mallory:
        mallory.send(mallory.chat(1, "hello", nick=nick))
        mallory.wait_closed()
    barrier(alice)
    assert [e["nick"] for e in events(alice, "peer_joined")] == ["mallory", "mallory2"]
    assert [e["new"] for e in events(alice, "nick")] == ["mallory-renamed"]
    assert alice.messages() == []
    left = events(alice, "peer_left")
    assert len(left) == 2 and all(e["reason"].startswith("protocol error") for e in left), left


def test_offers_are_metered_bounded_and_only_taken_from_their_author(cluster: Cluster) -> None:
    alice = cluster.start("alice").ready()
    victor = NodeKeys.generate()
    with Session.member(alice.port, "mallory") as mallory:
        started = time.monotonic()
        # Victor's genuine offer, passed on by Mallory: offers are never relayed.
        mallory.send(offer_by(victor, "from victor.txt", b"v"))
        mallory.send(*[offer_by(mallory.peer.keys, f"spam{i}.txt", b"x") for i in range(100)])
        mallory.round_trip()
        elapsed = time.monotonic() - started
        barrier(alice)
        offers = events(alice, "file_offer")
        assert all(o["from_id"] == mallory.node_id for o in offers), offers
        assert len(offers) <= LIMITS.offer_burst + LIMITS.offer_rate * elapsed + 1, len(offers)
        since = len(alice.events)
        alice.send("/transfers")
        table = alice.wait_for(lambda e: e["event"] == "transfers", since=since)
        assert len(table["transfers"]) <= LIMITS.max_pending_offers
        assert alice.stats()["rejected"] == 1  # the offer in Victor's name was struck
