"""The inbox budget: readers wait when the node is behind, and stop waiting when told."""

from __future__ import annotations

import threading

from p2pchat.transport.budget import InboxBudget


def test_take_and_give() -> None:
    budget = InboxBudget(100)
    assert budget.take(60, lambda: False)
    assert budget.available == 40
    budget.give(60)
    assert budget.available == 100


def test_reader_waits_until_the_node_gives_back() -> None:
    budget = InboxBudget(100)
    budget.take(100, lambda: False)
    took = threading.Event()

    def reader() -> None:
        if budget.take(50, lambda: False):
            took.set()

    thread = threading.Thread(target=reader)
    thread.start()
    assert not took.wait(0.1)
    budget.give(100)
    assert took.wait(5)
    thread.join()


def test_waiting_reader_stops_when_its_link_closes() -> None:
    budget = InboxBudget(10)
    budget.take(10, lambda: False)
    closing = threading.Event()
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(budget.take(5, closing.is_set)))
    thread.start()
    closing.set()
    budget.wake()
    thread.join(5)
    assert result == [False]


def test_batch_bigger_than_the_budget_takes_all_of_it() -> None:
    budget = InboxBudget(10)
    assert budget.take(1000, lambda: False)
    assert budget.available == 0
    budget.give(1000)
    assert budget.available == 10
