"""SortedRun behaves like a sorted list under any mix of adds, removals and pops."""

from __future__ import annotations

import bisect

from hypothesis import given
from hypothesis import strategies as st

from p2pchat.core.sortedrun import COMPACT_AFTER, SortedRun

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 50)),
        st.tuples(st.just("remove"), st.integers(0, 50)),
        st.tuples(st.just("pop"), st.just(0)),
    ),
    max_size=300,
)


@given(ops)
def test_matches_a_sorted_list(steps: list[tuple[str, int]]) -> None:
    run: SortedRun[int] = SortedRun()
    model: list[int] = []
    for op, value in steps:
        if op == "add":
            run.add(value)
            bisect.insort(model, value)
        elif op == "remove":
            run.remove(value)
            if value in model:
                model.remove(value)
        elif model:
            assert run.pop_first() == model.pop(0)
        assert list(run) == model
        assert len(run) == len(model)
        if model:
            assert run.first() == model[0] and run.last() == model[-1]
            assert run.at(-1) == model[-1] and run.at(0) == model[0]
            assert run.tail(3) == model[-3:]
            assert list(run.after(25)) == [v for v in model if v > 25]


def test_front_is_compacted_so_memory_stays_flat() -> None:
    run: SortedRun[int] = SortedRun()
    for i in range(COMPACT_AFTER * 10):
        run.add(i)
        if len(run) > 100:
            run.pop_first()
    assert len(run) == 100
    assert len(run._items) < COMPACT_AFTER * 3
