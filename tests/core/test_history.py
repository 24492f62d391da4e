"""The room history: dedup, gaps, retention bounds, version vectors and what sync sends."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from p2pchat.core.dedup import RecentIds
from p2pchat.core.history import History
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Chat

A = "a" * 32
B = "b" * 32
C = "c" * 32
LIMITS = Limits()


def chat(
    author: str, seq: int, lamport: int | None = None, ts: float = 1000.0, text: str = "x"
) -> Chat:
    return Chat(
        author, seq, seq if lamport is None else lamport, ts, "n", text or f"{author[0]}{seq}"
    )


def history(**changes: float) -> History:
    return History(replace(LIMITS, **changes))


def test_each_message_is_new_once() -> None:
    h = history()
    assert h.add(chat(A, 1), 0.0)
    assert not h.add(chat(A, 1), 0.0)
    assert (A, 1) in h and (A, 2) not in h


def test_in_order_messages_advance_the_version_vector() -> None:
    h = history()
    for seq in range(1, 6):
        h.add(chat(A, seq), 0.0)
    assert h.version_vector() == {A: 5}
    assert not h.has_gap(A)


def test_gap_is_seen_then_filled() -> None:
    h = history()
    h.add(chat(A, 1), 0.0)
    h.add(chat(A, 3), 0.0)
    assert h.contiguous(A) == 1 and h.has_gap(A)
    assert h.next_gap_deadline() == LIMITS.gap_timeout
    h.add(chat(A, 2), 1.0)
    assert h.contiguous(A) == 3 and not h.has_gap(A)
    assert h.next_gap_deadline() is None


def test_gap_nobody_fills_is_given_up_after_the_timeout() -> None:
    h = history()
    h.add(chat(A, 1), 0.0)
    h.add(chat(A, 3), 0.0)
    h.expire(LIMITS.gap_timeout - 0.1, 0.0)
    assert h.contiguous(A) == 1
    h.expire(LIMITS.gap_timeout, 0.0)
    assert h.contiguous(A) == 3 and h.floor(A) == 2
    # Given up is not seen: if the lost message turns up after all, it is still shown (late).
    assert h.base(A) == 0 and h.is_new(A, 2)
    assert h.add(chat(A, 2), 1.0) and not h.add(chat(A, 2), 1.0)


def test_transcript_order_is_lamport_then_author() -> None:
    h = history()
    h.add(chat(B, 1, lamport=5), 0.0)
    h.add(chat(A, 1, lamport=5), 0.0)
    h.add(chat(C, 1, lamport=2), 0.0)
    assert [(c.author, c.lamport) for c in h.ordered()] == [(C, 2), (A, 5), (B, 5)]
    assert [c.author for c in h.last(2)] == [A, B]


def test_retention_by_count_keeps_the_newest_and_never_readmits_old_ones() -> None:
    h = history(history_messages=10)
    for seq in range(1, 31):
        h.add(chat(A, seq), 0.0)
    assert len(h) == 10
    assert [c.seq for c in h.ordered()] == list(range(21, 31))
    assert not any(h.is_new(A, seq) for seq in range(1, 31))
    assert h.base(A) == 20


def test_retention_by_text_bytes() -> None:
    h = history(history_text_bytes=1000)
    for seq in range(1, 11):
        h.add(chat(A, seq, text="y" * 300), 0.0)
    assert len(h) == 3


def test_retention_by_age() -> None:
    h = history(history_days=1.0)
    h.add(chat(A, 1, ts=0.0), 0.0)
    h.add(chat(A, 2, ts=90_000.0), 0.0)
    dropped = h.expire(0.0, wall=90_000.0)
    assert [c.seq for c in dropped] == [1]
    assert [c.seq for c in h.ordered()] == [2]


def test_digest_depends_only_on_the_version_vector() -> None:
    one, two = history(), history()
    for seq in (1, 2, 3):
        one.add(chat(A, seq), 0.0)
    for seq in (3, 1, 2):
        two.add(chat(A, seq), 0.0)
    assert one.digest() == two.digest()
    two.add(chat(B, 1), 0.0)
    assert one.digest() != two.digest()


def test_missing_for_sends_what_the_peer_lacks_oldest_first() -> None:
    h = history()
    for seq in range(1, 6):
        h.add(chat(A, seq, lamport=seq * 2), 0.0)
        h.add(chat(B, seq, lamport=seq * 2 + 1), 0.0)
    batch, floors, more = h.missing_for({A: 3, B: 5}, 1, recent=500, limit=100, max_bytes=10**6)
    assert [(c.author, c.seq) for c in batch] == [(A, 4), (A, 5)]
    assert floors == {} and not more


def test_batches_are_limited_and_say_there_is_more() -> None:
    h = history()
    for seq in range(1, 11):
        h.add(chat(A, seq), 0.0)
    batch, _, more = h.missing_for({A: 0}, 1, recent=500, limit=4, max_bytes=10**6)
    assert [c.seq for c in batch] == [1, 2, 3, 4] and more
    batch, _, more = h.missing_for({A: 0}, 1, recent=500, limit=100, max_bytes=1)
    assert len(batch) == 1 and more


def test_fresh_peer_gets_only_the_recent_window_with_floors() -> None:
    h = history()
    for seq in range(1, 21):
        h.add(chat(A, seq, lamport=2 * seq), 0.0)
        h.add(chat(B, seq, lamport=2 * seq + 1), 0.0)
    batch, floors, more = h.missing_for({}, 0, recent=10, limit=100, max_bytes=10**6)
    assert [(c.author, c.seq) for c in batch] == [(a, s) for s in range(16, 21) for a in (A, B)]
    assert floors == {A: 15, B: 15} and not more


def test_peer_with_history_gets_every_author_back_to_its_horizon() -> None:
    h = history()
    for seq in range(1, 11):
        h.add(chat(A, seq, lamport=seq), 0.0)
    for seq in range(1, 601):
        h.add(chat(C, seq, lamport=10 + seq), 0.0)  # an author the peer never heard of
    batch, floors, more = h.missing_for({A: 10}, 1, recent=500, limit=1000, max_bytes=10**9)
    assert len(batch) == 600 and floors == {C: 0} and not more
    late, floors, _ = h.missing_for({A: 10}, 400, recent=500, limit=1000, max_bytes=10**9)
    assert late[0].seq == 390 and floors == {C: 389}


def test_horizon_counts_only_once_older_messages_were_let_go() -> None:
    # Found by scripts/simulate.py --seeds 0 --nodes 30: a node held B's reply (clock 2) but
    # not A's first message (clock 1), sent before A heard anything. Its horizon 2 made the
    # answer leave A:1 out and floor A at 1: given up for good, with version vectors (and
    # digests) equal to everyone's, so no sync ever asked for it again.
    peer = history()
    for c in (chat(A, 1, lamport=1), chat(B, 1, lamport=2), chat(A, 2, lamport=3)):
        peer.add(c, 0.0)
    ours = history()
    ours.add(chat(B, 1, lamport=2), 0.0)
    assert ours.horizon() == 0  # nothing let go: every message is wanted
    batch, floors, more = peer.missing_for(
        ours.version_vector(), ours.horizon(), recent=500, limit=100, max_bytes=10**6
    )
    assert [(c.author, c.seq) for c in batch] == [(A, 1), (A, 2)] and not more
    assert floors.get(A, 0) == 0
    # Once we started from a backfill window, or retention dropped messages (now or before
    # a restart), what is older than everything held was let go on purpose.
    ours.started_from_window()
    assert ours.horizon() == 2
    pruned = history(history_messages=1)
    pruned.add(chat(A, 1, lamport=1), 0.0)
    pruned.add(chat(A, 2, lamport=5), 0.0)
    assert pruned.horizon() == 5
    restored, unpruned = history(), history()
    restored.restore([chat(A, 8, lamport=9)], {A: 7}, 0.0)
    unpruned.restore([chat(A, 8, lamport=9)], {}, 0.0)
    assert restored.horizon() == 9 and unpruned.horizon() == 0


def test_floors_tell_a_peer_to_stop_waiting_for_what_we_pruned() -> None:
    h = history(history_messages=5)
    for seq in range(1, 11):
        h.add(chat(A, seq), 0.0)
    batch, floors, _ = h.missing_for({A: 2}, 1, recent=500, limit=100, max_bytes=10**6)
    assert [c.seq for c in batch] == [6, 7, 8, 9, 10] and floors == {A: 5}
    other = history()  # a newcomer: it holds nothing of A below the floor, and takes it
    for c in batch:
        other.add(c, 0.0)
    assert other.accept_floor(A, floors[A], shown=10, now=0.0) == 5
    assert other.contiguous(A) == 10 and not other.has_gap(A)
    # One that holds A's first messages keeps waiting (another peer may have 3..5), then
    # gives the hole up after gap_timeout like any other.
    older = history()
    older.add(chat(A, 1), 0.0)
    older.add(chat(A, 2), 0.0)
    for c in batch:
        older.add(c, 0.0)
    older.accept_floor(A, floors[A], shown=10, now=0.0)
    assert older.contiguous(A) == 2 and older.has_gap(A)
    older.expire(LIMITS.gap_timeout, 0.0)
    assert older.contiguous(A) == 10


def test_restore_keeps_bases() -> None:
    h = history()
    h.restore([chat(A, 8), chat(A, 9)], {A: 7}, 0.0)
    assert h.contiguous(A) == 9 and not h.is_new(A, 3) and h.max_seq(A) == 9


@given(
    st.lists(st.tuples(st.sampled_from([A, B]), st.integers(1, 40)), max_size=200),
    st.integers(1, 15),
)
def test_no_message_is_ever_accepted_twice_and_memory_is_bounded(
    adds: list[tuple[str, int]], limit: int
) -> None:
    h = history(history_messages=limit)
    accepted = [key for key in adds if h.add(chat(*key), 0.0)]
    assert len(accepted) == len(set(accepted))
    assert len(h) <= limit


def test_recent_ids_bounded_and_deduplicating() -> None:
    recent = RecentIds(max_entries=3, max_age=10.0)
    assert recent.add("x", 0.0)
    assert not recent.add("x", 1.0)
    for name in "abcdef":
        recent.add(name, 2.0)
    assert len(recent) == 3
    recent.add("z", 50.0)
    assert len(recent) == 1


def test_authors_with_nothing_held_are_forgotten_beyond_the_cap() -> None:
    h = history(history_messages=5, max_tracked_authors=20)
    for i in range(100):
        h.add(chat(f"{i:032x}", 1, lamport=i + 1), 0.0)
    assert len(h) == 5
    assert len(h.version_vector()) <= 20


def test_a_floor_cannot_silence_an_author() -> None:
    # One frame with floors {A: 2**63 - 1}: we stop waiting for nothing that exists, and A's
    # next message is still new.
    h = history()
    for seq in (1, 2, 3):
        h.add(chat(A, seq), 0.0)
    assert h.accept_floor(A, 2**63 - 1, shown=0, now=0.0) == 3
    assert h.contiguous(A) == 3 and h.is_new(A, 4) and h.add(chat(A, 4), 0.0)
    # Over a hole with messages held below it, a floor is not taken; and it never counts as
    # seen.
    h.add(chat(A, 9), 0.0)
    assert h.accept_floor(A, 2**63 - 1, shown=12, now=0.0) == 4
    assert h.is_new(A, 7) and h.is_new(A, 13) and not h.is_new(A, 9)
    # For an author we hold nothing of, it is bounded by what the peer showed signed.
    assert h.accept_floor(B, 2**63 - 1, shown=12, now=0.0) == 12 and h.is_new(B, 5)


def test_floors_for_authors_nobody_showed_add_nothing() -> None:
    h = history()
    for i in range(7000):
        assert h.accept_floor(f"{i:032x}", 10**9, shown=0, now=0.0) == 0
    assert h.version_vector() == {} and not h.tracks(f"{0:032x}")


def test_forgotten_authors_old_messages_are_not_shown_again() -> None:
    h = history(history_messages=5, max_tracked_authors=20)
    first = [chat(f"{i:032x}", 1, lamport=i + 1) for i in range(100)]
    for c in first:
        h.add(c, 0.0)
    assert len(h.version_vector()) <= 20
    replayed = [c for c in first if h.add(c, 0.0)]
    assert replayed == []
    # A new author is welcome, and so are forgotten authors' new messages (signed later).
    assert h.add(chat(C, 1, lamport=500, ts=2000.0), 0.0)
    assert h.add(chat(f"{0:032x}", 2, lamport=501, ts=2000.0), 0.0)


def test_a_flood_from_the_future_cannot_make_forgotten_members_count_as_seen() -> None:
    # Found in review: with the clock of forgotten authors' messages as the mark, a flood of
    # fresh authors with far-ahead clocks silenced every member who had been forgotten. The
    # mark is signed time now, and a time from the future counts as our own clock.
    h = history(history_messages=5, max_tracked_authors=20)
    wall = 1_800_000_000.0
    h.expire(0.0, wall)
    h.add(chat(A, 1, lamport=1, ts=wall - 60), 0.0)
    for i in range(100):
        h.add(chat(f"{i + 1000:032x}", 1, lamport=2**52, ts=1e11), 0.0)
    assert not h.tracks(A)
    assert h.add(chat(A, 2, lamport=3, ts=wall + 1), 0.0)  # alice's next message is new
    assert not h.add(chat(A, 1, lamport=1, ts=wall - 60), 0.0)  # her old one stays seen


def test_the_clock_after_a_restart_ignores_a_forged_leap() -> None:
    h = history()
    h.restore([chat(A, 1, lamport=10), chat(B, 1, lamport=2**53), chat(A, 2, lamport=11)], {}, 0.0)
    assert h.clock(max_leap=1000) == 11 + 1000
    assert history().clock(max_leap=1000) == 0


def test_replace_swaps_one_version_for_another() -> None:
    h = history()
    h.add(chat(A, 1, lamport=5, text="one"), 0.0)
    h.add(chat(B, 1, lamport=6), 0.0)
    other = chat(A, 1, lamport=9, text="other")
    assert h.replace(other) == chat(A, 1, lamport=5, text="one")
    assert [c.text for c in h.ordered()] == ["x", "other"] and h.get(A, 1) == other
    assert h.replace(chat(C, 1)) is None


def test_a_version_vector_can_be_cut_to_fit_keeping_active_authors() -> None:
    h = history(history_messages=3)
    for i in range(10):
        h.add(chat(f"{i:032x}", 1, lamport=i + 1), 0.0)
    cut = h.version_vector(max_entries=4)
    assert len(cut) == 4 and {f"{i:032x}" for i in (7, 8, 9)} <= set(cut)


def test_a_second_hole_gets_its_own_wait_and_timers_move_on() -> None:
    # Found by the hostile state machine: holes at 1 and 3..1000 below 1001; giving up the
    # first left the second one overdue at once, so the deadline never moved past now.
    h = history()
    h.add(chat(A, 2), 0.0)
    h.add(chat(A, 1001), 0.0)
    h.expire(LIMITS.gap_timeout, 0.0)
    assert h.floor(A) == 1 and h.contiguous(A) == 2
    deadline = h.next_gap_deadline()
    assert deadline is not None and deadline > LIMITS.gap_timeout
    h.expire(deadline, 0.0)
    assert h.contiguous(A) == 1001 and h.next_gap_deadline() is None


def test_one_peers_floor_does_not_close_a_hole_others_can_fill() -> None:
    # Found in review: Mallory shows alice:60 with floor 59 while we hold 1..4; the hole
    # 5..59 must stay open for honest peers (our vector stays at 4).
    h = history()
    for seq in (1, 2, 3, 4, 60):
        h.add(chat(A, seq), 0.0)
    assert h.accept_floor(A, 59, shown=60, now=0.0) <= 4
    assert h.contiguous(A) == 4 and h.has_gap(A)
    # A fresh joiner that holds nothing below the floor takes it (the recent window).
    fresh = history()
    for seq in (101, 102):
        fresh.add(chat(A, seq), 0.0)
    assert fresh.accept_floor(A, 100, shown=102, now=0.0) == 100
    assert fresh.contiguous(A) == 102 and not fresh.has_gap(A)


def test_a_forgotten_author_tracked_again_does_not_reopen_its_old_messages() -> None:
    # Found in review: once alice was tracked again (her next message), her seq 1, forgotten
    # with her, could be replayed and shown a second time.
    h = history(history_messages=5, max_tracked_authors=20)
    h.expire(0.0, 1000.0)
    first = chat(A, 1, lamport=1, ts=900.0)
    h.add(first, 0.0, 1000.0)
    for i in range(100):
        h.add(chat(f"{i + 1000:032x}", 1, lamport=2 + i, ts=990.0), 0.0, 1000.0)
    assert not h.tracks(A)
    assert h.add(chat(A, 2, lamport=200, ts=1001.0), 0.0, 1001.0) and h.tracks(A)
    assert not h.add(first, 0.0, 1001.0)


def test_the_mark_of_a_forgotten_author_is_the_time_its_message_arrived() -> None:
    # Found in review: one message a second signed an hour ahead kept moving the mark to
    # "now"; capped at its arrival time, a forgotten member with a lagging clock gets through.
    h = history(history_messages=2, max_tracked_authors=5)
    h.add(chat(A, 1, lamport=1, ts=100.0), 0.0, 100.0)
    for second in range(20):
        author = f"{second + 1000:032x}"
        h.add(chat(author, 1, lamport=2 + second, ts=200.0 + second + 3600), 0.0, 200.0 + second)
    assert not h.tracks(A)
    assert h.add(chat(A, 2, lamport=50, ts=215.0), 0.0, 225.0)  # her clock is 10 s behind
