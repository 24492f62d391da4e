"""Direct messages to a member who is away, with real processes on 127.0.0.1 through the JSON
contract: alice writes to carol while carol is gone, and leaves too; carol comes back linked only
to bob and gets it from him, keeps it across her own restart; alice, back, sees "delivered"."""

from __future__ import annotations

import time

from tests.e2e.harness import ChatProcess, Cluster

LINK_TIMEOUT = 30.0


def is_dm(event: dict[str, object], text: str) -> bool:
    return event["event"] == "message" and event["text"] == text and event["direct"] is True


def left(node: ChatProcess, other: ChatProcess) -> None:
    node.wait_for(lambda e: e["event"] == "peer_left" and e["id"] == other.id, LINK_TIMEOUT)


def test_carol_gets_alices_dm_from_bob_after_both_were_away(cluster: Cluster) -> None:
    text = "the key is under the mat"
    bob = cluster.start("bob").ready()
    alice = cluster.start("alice", "--peer", bob.addr).ready()
    carol = cluster.start("carol", "--peer", bob.addr).ready()
    alice.wait_peers({bob.id, carol.id}, LINK_TIMEOUT)
    carol.wait_peers({alice.id, bob.id}, LINK_TIMEOUT)

    assert carol.terminate() == 0
    left(alice, carol)
    left(bob, carol)
    alice.send(f"/msg carol {text}")
    own = alice.wait_for(lambda e: is_dm(e, text))
    assert own["own"] is True and own["to_id"] == carol.id and own["dm_status"] == "queued"
    queued = alice.wait_for(lambda e: e["event"] == "dm_status")
    assert (queued["msg_id"], queued["to_id"], queued["status"]) == (
        own["msg_id"],
        carol.id,
        "queued",
    )
    assert queued["holders"] == 1
    assert alice.terminate() == 0
    left(bob, alice)
    assert not [e for e in bob.events if e.get("text") == text]  # bob holds it sealed

    returned = time.monotonic()
    carol = cluster.start("carol", "--peer", bob.addr).ready()
    got = carol.wait_for(lambda e: is_dm(e, text), LINK_TIMEOUT)
    took = time.monotonic() - returned
    print(f"\ncarol's return to the DM on her screen: {took:.2f} s (process start included)")
    assert got["msg_id"] == own["msg_id"] and got["from_id"] == alice.id
    assert got["own"] is False and got["restored"] is False
    carol.send("/stats")
    carol.wait_for(lambda e: e["event"] == "stats")
    assert sum(1 for e in carol.events if is_dm(e, text)) == 1

    # Kept: after her own restart carol sees it again, once, from her log.
    assert carol.terminate() == 0
    carol = cluster.start("carol", "--peer", bob.addr).ready()
    carol.wait_for(lambda e: e["event"] == "history_end")
    carol.wait_peers({bob.id}, LINK_TIMEOUT)
    restored = [e for e in carol.events if is_dm(e, text)]
    assert len(restored) == 1 and restored[0]["restored"] is True

    # Alice, back, learns it was delivered: bob kept carol's receipt for her.
    alice = cluster.start("alice", "--peer", bob.addr).ready()
    delivered = alice.wait_for(
        lambda e: e["event"] == "dm_status" and e["status"] == "delivered", LINK_TIMEOUT
    )
    assert (delivered["msg_id"], delivered["to_id"]) == (own["msg_id"], carol.id)
    mine = [e for e in alice.events if is_dm(e, text)]
    assert len(mine) == 1 and mine[0]["restored"] is True
    assert sum(1 for e in carol.events if is_dm(e, text)) == 1
