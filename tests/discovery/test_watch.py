"""Following the network: a change is told once it holds; a flap is not told at all."""

from __future__ import annotations

import queue
import threading

from p2pchat.discovery.watch import Addresses, InterfaceWatch

WAIT = 5.0
EVERY = 0.01

LAN = frozenset({("198.18.0.2", 24)})
NONE: Addresses = frozenset()
OTHER = frozenset({("10.1.0.7", 16)})


def run(readings: list[Addresses]) -> list[Addresses]:
    """Feed the readings to a watch (the last one repeats); return what it told."""
    told: queue.SimpleQueue[Addresses] = queue.SimpleQueue()
    done = threading.Event()
    it = iter(readings)

    def read() -> Addresses:
        try:
            return next(it)
        except StopIteration:
            done.set()
            return readings[-1]

    watch = InterfaceWatch(told.put, EVERY, read)
    watch.start()
    try:
        assert done.wait(WAIT)
    finally:
        watch.close()
    found = []
    while not told.empty():
        found.append(told.get())
    return found


def test_a_link_that_comes_up_is_told_once_it_holds() -> None:
    assert run([NONE, NONE, LAN, LAN, LAN, LAN]) == [LAN]


def test_a_flap_that_goes_back_is_not_told() -> None:
    assert run([LAN, NONE, LAN, LAN, LAN]) == []


def test_a_new_address_after_another_is_told_each_time_it_holds() -> None:
    assert run([NONE, LAN, LAN, OTHER, OTHER, OTHER]) == [LAN, OTHER]


def test_a_change_before_the_thread_runs_is_still_told() -> None:
    # The layers start with the addresses of when the watch was made; the address changes
    # before the watch's thread first reads: that is a change, not its baseline.
    now = [LAN]
    told: queue.SimpleQueue[Addresses] = queue.SimpleQueue()
    watch = InterfaceWatch(told.put, EVERY, lambda: now[0])
    now[0] = OTHER
    watch.start()
    try:
        assert told.get(timeout=WAIT) == OTHER
    finally:
        watch.close()
