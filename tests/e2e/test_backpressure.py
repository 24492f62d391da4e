"""A long paste from an honest author over the receiver's rate limit: slowed down by TCP, every
line shown live and once, none dropped and fetched again (real processes, JSON contract)."""

from __future__ import annotations

import time

import pytest

from p2pchat.core.limits import Limits
from tests.e2e.harness import Cluster

RATE = 100  # --rate-limit 100 (the default): bursts of 1000
LINES = 2000  # 1000 over the burst (660 KB): about 10 s of slowing down


@pytest.mark.timeout(90)
def test_a_paste_over_the_rate_limit_arrives_whole_and_live(cluster: Cluster) -> None:
    bob = cluster.start("bob", "--rate-limit", str(RATE)).ready()
    alice = cluster.start("alice", "--peer", bob.addr).ready()
    alice.wait_peers({bob.id})
    bob.wait_peers({alice.id})
    started = time.monotonic()
    for i in range(LINES):
        alice.send(f"line {i:03d}")
    got = bob.wait_count(lambda e: e["event"] == "message", LINES, timeout=60)
    elapsed = time.monotonic() - started
    assert sorted(m["text"] for m in got) == sorted(f"line {i:03d}" for i in range(LINES))
    assert len({m["msg_id"] for m in got}) == LINES  # each once
    stats = bob.stats()
    assert stats["slowed_down"] >= 1
    # Nearly all live. Known gap: a sync that starts while the link is paused can bring the
    # last few by backfill (its batch is metered like relayed messages); see the note.
    assert stats["delivered_live"] >= 0.95 * LINES, stats
    # Held to its rate on average: what is over its burst, and over what one read could hold
    # (taken as it was read), took at least its time.
    limits = Limits()
    credit = 10 * RATE + limits.recv_bytes / limits.min_chat_frame_bytes
    assert elapsed >= 0.8 * (LINES - credit) / RATE, elapsed
