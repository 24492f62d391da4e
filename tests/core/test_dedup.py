"""The seen window: each message counts once, memory stays bounded, old IDs stay seen."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from p2pchat.core.dedup import RecentIds, SeenMessages
from p2pchat.core.limits import Limits

A = "a" * 32


def test_in_order_messages_keep_the_window_empty() -> None:
    seen = SeenMessages(Limits())
    assert all(seen.add(A, seq, now=0.0) for seq in range(1, 1001))
    assert seen.window_size == 0
    assert seen.high_water(A) == 1000
    assert not seen.add(A, 500, now=0.0)


def test_gap_waits_in_the_window_until_filled() -> None:
    seen = SeenMessages(Limits())
    assert seen.add(A, 1, 0.0)
    assert seen.add(A, 3, 0.0)
    assert seen.window_size == 1 and seen.high_water(A) == 1
    assert (A, 2) not in seen
    assert seen.add(A, 2, 0.0)
    assert seen.window_size == 0 and seen.high_water(A) == 3


def test_window_is_bounded_in_entries_and_old_ids_stay_seen() -> None:
    seen = SeenMessages(Limits(seen_window_entries=10))
    for seq in range(2, 1002):  # seq 1 never arrives: everything waits above the mark
        assert seen.add(A, seq, 0.0)
    assert seen.window_size <= 10
    for seq in range(2, 1002):
        assert not seen.add(A, seq, 0.0), seq


def test_window_is_bounded_in_age() -> None:
    seen = SeenMessages(Limits(seen_window_seconds=60.0))
    seen.add(A, 5, now=0.0)
    seen.add(A, 9, now=100.0)
    assert seen.window_size == 1
    assert not seen.add(A, 5, now=101.0)


def test_author_count_is_bounded() -> None:
    seen = SeenMessages(Limits(max_tracked_authors=50))
    for i in range(500):
        seen.add(f"{i:032x}", 1, 0.0)
    assert seen.author_count <= 50


@given(st.lists(st.integers(min_value=1, max_value=60), max_size=300), st.integers(1, 20))
def test_no_id_is_ever_reported_new_twice(seqs: list[int], window: int) -> None:
    seen = SeenMessages(Limits(seen_window_entries=window))
    reported = [seq for seq in seqs if seen.add(A, seq, 0.0)]
    assert len(reported) == len(set(reported))
    assert seen.window_size <= window


def test_recent_ids_bounded_and_deduplicating() -> None:
    recent = RecentIds(max_entries=3, max_age=10.0)
    assert recent.add("x", 0.0)
    assert not recent.add("x", 1.0)
    for name in "abcdef":
        recent.add(name, 2.0)
    assert len(recent) == 3
    recent.add("z", 50.0)
    assert len(recent) == 1
