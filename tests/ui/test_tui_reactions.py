"""The reactors the full screen keeps per message, and the sidebar's away marks (pure)."""

from __future__ import annotations

from p2pchat.core import views as vw
from p2pchat.ui.tui.panels import AWAY_MARK, peer_list
from p2pchat.ui.tui.reactions import ReactionBook
from p2pchat.ui.tui.roster import Roster
from tests.ui.test_tui import ALICE, BOB, ME, message

MSG = f"{ALICE}:3"


def react(author: str, emoji: str, *, removed: bool = False, msg_id: str = MSG) -> vw.ReactionShown:
    return vw.ReactionShown(msg_id, author, "n", "n", emoji, removed, author == ME)


def test_counts_start_from_the_message_and_follow_each_reactor() -> None:
    book = ReactionBook()
    book.seen(message(ALICE, "alice", "hi", 3, reactions=(vw.ReactionCount("👍", 2, True),)))
    assert book.apply(react(BOB, "👍")) == (vw.ReactionCount("👍", 3, True),)
    assert book.apply(react(BOB, "👍")) == (vw.ReactionCount("👍", 3, True),)  # once each
    assert book.apply(react(ME, "👍", removed=True)) == (vw.ReactionCount("👍", 2, False),)
    assert book.apply(react(ALICE, "👍", removed=True)) == (vw.ReactionCount("👍", 1, False),)
    assert book.apply(react(BOB, "👍", removed=True)) == ()
    assert book.apply(react(BOB, "🎉", removed=True)) == ()  # nothing to take back
    assert book.apply(react(BOB, "👍", msg_id="unknown:1")) is None


def test_only_the_newest_messages_are_kept() -> None:
    book = ReactionBook(max_messages=2)
    for lamport in (1, 2, 3):
        book.seen(message(ALICE, "alice", "hi", lamport))
    assert book.apply(react(BOB, "👍", msg_id=f"{ALICE}:1")) is None
    assert book.apply(react(BOB, "👍", msg_id=f"{ALICE}:3")) == (vw.ReactionCount("👍", 1, False),)


def test_the_peer_table_and_presence_views_mark_peers_away() -> None:
    roster = Roster()
    row = vw.PeerRow(ALICE, "alice", "alice", "10.0.0.2:5000", 1.0, None, 0.0, "away", "lunch")
    roster.update(vw.PeerTable((row,), requested=False))
    assert f"{AWAY_MARK} alice" in peer_list(roster.peers.values()).plain
    assert "away: lunch" in peer_list(roster.peers.values()).plain
    roster.presence(vw.PresenceChanged(ALICE, "alice", "alice", "here", ""))
    assert "away" not in peer_list(roster.peers.values()).plain
