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
    assert h.contiguous(A) == 3 and h.base(A) == 2
    assert not h.is_new(A, 2)


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


def test_floors_tell_a_peer_to_stop_waiting_for_what_we_pruned() -> None:
    h = history(history_messages=5)
    for seq in range(1, 11):
        h.add(chat(A, seq), 0.0)
    batch, floors, _ = h.missing_for({A: 2}, 1, recent=500, limit=100, max_bytes=10**6)
    assert [c.seq for c in batch] == [6, 7, 8, 9, 10] and floors == {A: 5}
    other = history()
    other.add(chat(A, 1), 0.0)
    other.raise_base(A, floors[A], 0.0)
    for c in batch:
        other.add(c, 0.0)
    assert other.contiguous(A) == 10 and not other.has_gap(A)


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
