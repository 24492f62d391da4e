"""Tab completion and the nicks it offers (pure)."""

from __future__ import annotations

from p2pchat.core import views as vw
from p2pchat.ui.completion import LinkedNicks, common_prefix, complete
from p2pchat.ui.terminal import message_chars, too_long

ALICE = "a" * 32
ALEX1 = "1" * 32
ALEX2 = "2" * 32


def joined(node_id: str, nick: str) -> vw.PeerJoined:
    return vw.PeerJoined(node_id=node_id, nick=nick, display=nick, addr="127.0.0.1:1")


def test_a_nick_at_the_start_of_a_line_is_addressed_and_one_inside_is_a_word() -> None:
    assert complete("al", ["alice", "bob"]) == (2, "alice: ")
    assert complete("hi AL", ["alice", "bob"]) == (2, "alice ")
    assert complete("/msg b", ["alice", "bob"]) == (1, "bob ")


def test_several_matches_complete_to_what_they_share_and_none_change_nothing() -> None:
    assert complete("a", ["alex", "alice"]) == (1, "al")
    assert complete("zed", ["alice"]) is None
    assert complete("", ["alice"]) is None
    assert complete("hi ", ["alice"]) is None
    assert common_prefix(["Alex", "alice"]) == "Al"


def test_commands_complete_at_the_start_of_a_line_only() -> None:
    assert complete("/hel", []) == (4, "/help ")
    assert complete("/ms", []) == (3, "/msg ")
    assert complete("say /hel", ["alice"]) is None


def test_a_word_on_the_second_line_of_a_message_completes_too() -> None:
    assert complete("first\nal", ["alice"]) == (2, "alice ")


def test_two_peers_with_one_nick_complete_to_nick_and_id_never_to_the_bare_nick() -> None:
    # Issue 12: Tab completed "/msg a" to an ambiguous "alex".
    linked = LinkedNicks()
    for view in (joined(ALEX1, "alex"), joined(ALEX2, "alex"), joined(ALICE, "alice")):
        linked.see(view)
    names = linked.names()
    assert names == ["alex#11111111", "alex#22222222", "alice"]
    assert complete("/msg alex", names) == (4, "alex#")
    assert complete("/msg alex#2", names) == (6, "alex#22222222 ")


def test_the_linked_nicks_follow_leaves_renames_and_peer_tables() -> None:
    linked = LinkedNicks()
    linked.see(joined(ALEX1, "alex"))
    linked.see(joined(ALEX2, "alex"))
    linked.see(vw.PeerLeft(ALEX2, "alex", "alex", "bye", "127.0.0.1:1"))
    assert linked.names() == ["alex"]
    linked.see(vw.NickChanged(node_id=ALEX1, old="alex", new="carol", own=False))
    assert linked.names() == ["carol"]
    linked.see(vw.PeerTable(rows=(), requested=True))
    assert linked.names() == []


def test_a_line_over_the_limit_is_refused_by_what_would_be_sent() -> None:
    assert too_long("short", 10) is None
    assert too_long("x" * 11, 10) == "message too long (11 > 10 characters); nothing was sent"
    assert too_long("/msg bob " + "x" * 10, 10) is None  # the command itself does not count
    assert message_chars("/help") == 0
    assert message_chars("/msg bob hi") == 2
