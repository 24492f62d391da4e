"""Replies, reactions, edits and deletes as signed room entries: their rules, what a peer may
not send, the final state they fold to, and what live members, late joiners and restarts see."""

from __future__ import annotations

import itertools

import pytest

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.annotations import MAX_ENTRIES_ABOUT, RefIndex, final_state
from p2pchat.core.crypto import chat_signing_bytes
from p2pchat.core.entries import EntryKind, entry_problem
from p2pchat.core.errors import ProtocolError
from p2pchat.core.limits import DEFAULT_LIMITS, MAX_REACTION_CHARS
from p2pchat.core.messages import (
    Chat,
    Presence,
    PresenceStatus,
    decode_message,
    encode_message,
    with_fields,
)
from p2pchat.simnet import SimNet

pytestmark = pytest.mark.timeout(60)

A, B = "a" * 32, "b" * 32
KEY, SIG = b"k" * 32, b"s" * 64


def entry(author: str, seq: int, kind: EntryKind, ref: str = "", text: str = "x") -> Chat:
    return Chat(author, seq, seq, 1.0, "n", text, KEY, SIG, kind=kind, ref=ref)


@pytest.mark.parametrize(
    ("kind", "ref", "author", "text", "ok"),
    [
        (EntryKind.TEXT, "", A, "hi", True),
        (EntryKind.TEXT, f"{A}:1", A, "hi", False),  # a message is about nothing
        (EntryKind.ACTION, "", A, "waves", True),
        (EntryKind.REPLY, f"{B}:3", A, "yes", True),
        (EntryKind.REPLY, "", A, "yes", False),
        (EntryKind.REPLY, f"{B}:3", A, "", False),
        (EntryKind.REACT, f"{B}:3", A, "👍", True),
        (EntryKind.REACT, f"{B}:3", A, "👨‍👩‍👧", True),  # joined emoji
        (EntryKind.REACT, f"{B}:3", A, "lol", True),
        (EntryKind.REACT, f"{B}:3", A, "two words", False),
        (EntryKind.REACT, f"{B}:3", A, "x" * (MAX_REACTION_CHARS + 1), False),
        (EntryKind.REACT, f"{B}:3", A, "\u200f", False),  # invisible
        (EntryKind.UNREACT, f"{B}:3", A, "👍", True),
        (EntryKind.EDIT, f"{A}:3", A, "fixed", True),
        (EntryKind.EDIT, f"{B}:3", A, "fixed", False),  # only the author edits
        (EntryKind.EDIT, f"{A}:3", A, "", False),
        (EntryKind.DELETE, f"{A}:3", A, "", True),
        (EntryKind.DELETE, f"{B}:3", A, "", False),  # only the author deletes
        (EntryKind.DELETE, f"{A}:3", A, "why", False),
        (EntryKind.DELETE, "nonsense", A, "", False),
    ],
)
def test_each_kind_keeps_its_rules(
    kind: EntryKind, ref: str, author: str, text: str, ok: bool
) -> None:
    assert (entry_problem(kind, ref, author, text) is None) == ok


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"k":"edit"', b'"k":"delete"'),  # a delete with text
        (b'"re":"aaaa', b'"re":"bbbb'),  # an edit of someone else's message
        (b'"k":"edit"', b'"k":"rewrite"'),  # a kind we do not know
        (b'"re":"aaaa', b'"re":"AAAA'),  # not a message ID
        (b'"text":"fixed"', b'"text":""'),  # an edit without text
    ],
)
def test_a_peer_cannot_send_an_entry_that_breaks_its_rules(old: bytes, new: bytes) -> None:
    wire = encode_message(entry(A, 2, EntryKind.EDIT, f"{A}:1", "fixed"))
    assert decode_message(wire, DEFAULT_LIMITS) == entry(A, 2, EntryKind.EDIT, f"{A}:1", "fixed")
    assert old in wire
    with pytest.raises(ProtocolError):
        decode_message(wire.replace(old, new), DEFAULT_LIMITS)


def test_a_plain_message_goes_and_is_signed_as_before_and_an_entry_signs_kind_and_ref() -> None:
    plain = entry(A, 1, EntryKind.TEXT, text="hi")
    assert b'"k"' not in encode_message(plain) and b'"re"' not in encode_message(plain)
    assert chat_signing_bytes("lobby", plain).endswith(b'"n","hi"]')
    react = entry(A, 2, EntryKind.REACT, f"{B}:1", "👍")
    other = [
        with_fields(react, kind=EntryKind.UNREACT),
        with_fields(react, ref=f"{B}:2"),
    ]
    signed = chat_signing_bytes("lobby", react)
    assert all(chat_signing_bytes("lobby", o) != signed for o in other)


def test_the_final_state_takes_the_latest_edit_every_reaction_and_any_delete() -> None:
    message = entry(A, 1, EntryKind.TEXT, text="helo")
    about = f"{A}:1"
    entries = [
        entry(A, 3, EntryKind.EDIT, about, "hello!"),
        entry(A, 2, EntryKind.EDIT, about, "hello"),  # older: arrived late
        entry(B, 1, EntryKind.REACT, about, "👍"),
        entry(B, 2, EntryKind.REACT, about, "🎉"),
        entry(B, 3, EntryKind.UNREACT, about, "🎉"),
        entry(A, 4, EntryKind.REACT, about, "👍"),
        entry(B, 4, EntryKind.REACT, f"{A}:9", "😮"),  # about another message
    ]
    state = final_state(message, entries)
    assert (state.text, state.edited, state.deleted) == ("hello!", True, False)
    assert [(r.emoji, set(r.authors)) for r in state.reactions] == [("👍", {A, B})]
    # In any order of arrival, the same state.
    for order in itertools.islice(itertools.permutations(entries), 200):
        assert final_state(message, order) == state
    gone = final_state(message, [*entries, entry(A, 5, EntryKind.DELETE, about, "")])
    assert gone.deleted


def room_of(*names: str) -> SimNet:
    net = SimNet(seed=7)
    for name in names:
        net.add_node(name)
    for a, b in itertools.pairwise(names):
        net.introduce(b, a)
    assert net.run_until(net.full_mesh, timeout=10.0)
    return net


def last_msg_id(net: SimNet, name: str, text: str) -> str:
    return next(m.msg_id for m in net.nodes[name].messages() if m.text == text)


def views_of(net: SimNet, name: str, kind: type[object]) -> list[object]:
    return [v for v in net.nodes[name].views if isinstance(v, kind)]


def test_live_members_see_replies_reactions_edits_and_deletes_as_they_happen() -> None:
    net = room_of("alice", "bob", "carol")
    net.inject("alice", ev.SendChat("helo all"))
    net.inject("carol", ev.SendChat("oops, wrong room"))
    net.run(0.5)
    hello, oops = last_msg_id(net, "bob", "helo all"), last_msg_id(net, "bob", "oops, wrong room")
    net.inject("bob", ev.SendChat("hi alice", EntryKind.REPLY, hello))
    net.inject("bob", ev.SendChat("👍", EntryKind.REACT, hello))
    net.inject("carol", ev.SendChat("👍", EntryKind.REACT, hello))
    net.inject("alice", ev.SendChat("hello all", EntryKind.EDIT, hello))
    net.inject("carol", ev.SendChat("", EntryKind.DELETE, oops))
    net.run(0.5)
    for name in ("alice", "bob", "carol"):
        reply = next(m for m in net.nodes[name].messages() if m.text == "hi alice")
        # It quotes the answered message as it stands when the reply arrives.
        assert reply.reply_to == hello and reply.reply_text in ("helo all", "hello all")
        reactions = views_of(net, name, vw.ReactionShown)
        assert sorted((r.emoji, r.removed) for r in reactions) == [("👍", False)] * 2
        edits = views_of(net, name, vw.MessageEdited)
        assert [(e.msg_id, e.text) for e in edits] == [(hello, "hello all")]
        deletes = views_of(net, name, vw.MessageDeleted)
        assert [(d.msg_id, d.about) for d in deletes] == [(oops, "oops, wrong room")]
    # Reacting again takes it back, everywhere.
    net.inject("bob", ev.SendChat("👍", EntryKind.REACT, hello))
    net.run(0.5)
    for name in ("alice", "carol"):
        last = views_of(net, name, vw.ReactionShown)[-1]
        assert (last.emoji, last.removed, last.msg_id) == ("👍", True, hello)


def test_a_late_joiner_and_a_restart_see_only_the_final_state() -> None:
    net = room_of("alice", "bob")
    net.inject("alice", ev.SendChat("helo"))
    net.inject("alice", ev.SendChat("secret"))
    net.run(0.5)
    hello, secret = last_msg_id(net, "bob", "helo"), last_msg_id(net, "bob", "secret")
    net.inject("alice", ev.SendChat("hello", EntryKind.EDIT, hello))
    net.inject("alice", ev.SendChat("", EntryKind.DELETE, secret))
    net.inject("bob", ev.SendChat("🎉", EntryKind.REACT, hello))
    net.inject("bob", ev.SendChat("right", EntryKind.REPLY, hello))
    net.run(0.5)
    net.add_node("late")
    net.introduce("late", "bob")
    assert net.run_until(lambda: net.full_mesh() and net.converged(), timeout=20.0)

    def final_screen(name: str) -> dict[str, vw.MessageShown]:
        shown = {m.msg_id: m for m in net.nodes[name].messages()}
        for view in net.nodes[name].views:  # later changes apply to what was shown
            if isinstance(view, vw.MessageEdited):
                shown[view.msg_id] = with_text(shown[view.msg_id], view.text)
            elif isinstance(view, vw.MessageDeleted):
                shown.pop(view.msg_id, None)
        return shown

    screen = final_screen("late")
    assert secret not in screen and "secret" not in [m.text for m in screen.values()]
    assert screen[hello].text == "hello"
    reactions = {(r.emoji, r.count) for r in screen[hello].reactions} | {
        (r.emoji, 1) for r in views_of(net, "late", vw.ReactionShown)
    }
    assert reactions == {("🎉", 1)}
    assert sorted(m.text for m in screen.values()) == ["hello", "right"]
    net.kill("late")
    restarted = net.restart("late")
    restored = {m.msg_id: m for m in restarted.messages()}
    assert sorted(m.text for m in restored.values()) == ["hello", "right"]
    assert restored[hello].edited and restored[hello].restored
    assert [(r.emoji, r.count, r.own) for r in restored[hello].reactions] == [("🎉", 1, False)]
    assert not views_of(net, "late", vw.ReactionShown)  # carried by the message instead


def with_text(view: vw.MessageShown, text: str) -> vw.MessageShown:
    return vw.MessageShown(**{**{f: getattr(view, f) for f in view.__slots__}, "text": text})


def test_what_cannot_be_sent_is_told_and_nothing_leaves() -> None:
    net = room_of("alice", "bob")
    net.inject("alice", ev.SendChat("mine"))
    net.run(0.5)
    mine = last_msg_id(net, "bob", "mine")
    sent_before = net.nodes["bob"].mesh.seq
    for event in (
        ev.SendChat("not yours", EntryKind.EDIT, mine),
        ev.SendChat("", EntryKind.DELETE, mine),
        ev.SendChat("👍", EntryKind.REACT, f"{'f' * 32}:1"),
        ev.SendChat("hm", EntryKind.REPLY, "garbage"),
        ev.SendChat("two words", EntryKind.REACT, mine),
    ):
        net.inject("bob", event)
    problems = [p.text for p in views_of(net, "bob", vw.Problem)]
    assert len(problems) == 5, problems
    assert "only edit your own" in problems[0] and "only delete your own" in problems[1]
    assert net.nodes["bob"].mesh.seq == sent_before
    # A start of the author's ID will do, as long as only one author has it.
    short = f"{mine.split(':')[0][:6]}:{mine.split(':')[1]}"
    net.inject("bob", ev.SendChat("👀", EntryKind.REACT, short))
    net.run(0.5)
    assert [r.emoji for r in views_of(net, "alice", vw.ReactionShown)] == ["👀"]


def test_presence_reaches_linked_peers_and_newcomers_and_shows_in_peers() -> None:
    net = room_of("alice", "bob")
    net.inject("alice", ev.SetPresence(PresenceStatus.AWAY, "lunch\nback at 2"))
    net.run(0.5)
    seen = views_of(net, "bob", vw.PresenceChanged)
    assert [(p.nick, p.status, p.text) for p in seen] == [("alice", "away", "lunch back at 2")]
    carol = net.add_node("carol")
    net.introduce("carol", "bob")
    assert net.run_until(net.full_mesh, timeout=10.0)
    assert [(p.nick, p.status) for p in views_of(net, "carol", vw.PresenceChanged)] == [
        ("alice", "away")
    ]
    net.inject("carol", ev.ShowPeers())
    rows = next(v for v in reversed(carol.views) if isinstance(v, vw.PeerTable)).rows
    assert {(r.nick, r.status, r.status_text) for r in rows} == {
        ("alice", "away", "lunch back at 2"),
        ("bob", "here", ""),
    }
    # An idle UI does not undo the user's own /away; /back does.
    net.inject("alice", ev.SetPresence(PresenceStatus.HERE, auto=True))
    net.run(0.5)
    assert len(views_of(net, "bob", vw.PresenceChanged)) == 1
    net.inject("alice", ev.SetPresence(PresenceStatus.HERE))
    net.run(0.5)
    assert views_of(net, "bob", vw.PresenceChanged)[-1].status == "here"


def test_a_hostile_presence_is_refused_or_metered() -> None:
    wire = encode_message(Presence(PresenceStatus.AWAY, "lunch"))
    for bad in (
        (b'"away"', b'"gone"'),
        (b'"lunch"', b'"\\u001b[31m"'),
        (b'"lunch"', b'"' + b"x" * 500 + b'"'),
    ):
        with pytest.raises(ProtocolError):
            decode_message(wire.replace(*bad), DEFAULT_LIMITS)
    net = room_of("alice", "bob")
    for i in range(50):  # a flood of changes: a few lines at most
        status = PresenceStatus.AWAY if i % 2 == 0 else PresenceStatus.HERE
        net.send_as("alice", "bob", Presence(status, f"s{i}"))
    net.run(0.5)
    assert 1 <= len(views_of(net, "bob", vw.PresenceChanged)) <= 6


def test_a_message_indexes_a_bounded_number_of_entries_about_it() -> None:
    index = RefIndex()
    about = f"{A}:1"
    for seq in range(1, MAX_ENTRIES_ABOUT + 50):
        index.add(entry(f"{seq:032x}", 1, EntryKind.REACT, about, "👍"))
    assert len(index.about(about)) == MAX_ENTRIES_ABOUT
    index.remove(entry(f"{1:032x}", 1, EntryKind.REACT, about, "👍"))
    assert len(index) == MAX_ENTRIES_ABOUT - 1


def test_a_member_that_sends_an_edit_of_anothers_message_loses_its_link() -> None:
    net = room_of("alice", "bob", "mallory")
    net.inject("alice", ev.SendChat("the real text"))
    net.run(0.5)
    target = last_msg_id(net, "bob", "the real text")
    mallory = net.nodes["mallory"]
    own_edit = Chat(
        mallory.node_id, 5, 50, 1.0, "mallory", "pwned", KEY, SIG, EntryKind.EDIT,
        f"{mallory.node_id}:1",
    )  # fmt: skip
    wire = encode_message(own_edit).replace(
        f'"re":"{mallory.node_id}:1"'.encode(), f'"re":"{target}"'.encode()
    )
    assert net.send_as("mallory", "bob", wire)
    net.run(0.5)
    left = [v for v in views_of(net, "bob", vw.PeerLeft) if v.nick == "mallory"]
    assert left, "bob kept the link that carried the forged edit"
    assert not views_of(net, "bob", vw.MessageEdited)
    assert [m.text for m in net.nodes["bob"].messages()] == ["the real text"]
