"""Suite-wide guards: no test may leave threads or child processes behind."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

LEAK_GRACE_SECONDS = 5.0


def child_pids() -> set[int]:
    """PIDs whose parent is this process (from /proc)."""
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.add(int(entry))
    return found


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail the test if it leaves threads or processes running after a short grace period."""
    threads_before = set(threading.enumerate())
    children_before = child_pids()
    yield
    deadline = time.monotonic() + LEAK_GRACE_SECONDS
    while True:
        threads = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        children = child_pids() - children_before
        if not threads and not children:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    names = sorted(t.name for t in threads)
    pytest.fail(f"test leaked threads {names} and processes {sorted(children)}")
