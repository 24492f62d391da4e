"""Replies, reactions, edits, deletes, /me and presence with real processes on 127.0.0.1,
through the JSON contract: live, for a late joiner, and after a restart."""

from __future__ import annotations

from tests.e2e.harness import ChatProcess, Cluster, chain

SYNC_TIMEOUT = 30.0


def msg_id_of(node: ChatProcess, text: str) -> str:
    event = node.wait_for(lambda e: e["event"] == "message" and e["text"] == text)
    return str(event["msg_id"])


def test_conversation_entries_live_late_and_restored(cluster: Cluster) -> None:
    alice, bob = chain(cluster, 2)
    alice.wait_peers({bob.id})
    alice.send("helo bob")
    alice.send("wrong room, sorry")
    hello, wrong = msg_id_of(bob, "helo bob"), msg_id_of(bob, "wrong room, sorry")
    bob.send(f"/reply {hello} hi alice")
    bob.send(f"/react {hello} 👍")
    alice.send(f"/edit {hello} hello bob")
    alice.send(f"/delete {wrong}")
    alice.send("/me waves")
    reply = alice.wait_for(lambda e: e["event"] == "message" and e["text"] == "hi alice")
    assert reply["reply_to"] == hello and reply["reply_text"] in ("helo bob", "hello bob")
    reaction = alice.wait_for(lambda e: e["event"] == "reaction")
    assert (reaction["msg_id"], reaction["emoji"], reaction["removed"]) == (hello, "👍", False)
    assert reaction["from_id"] == bob.id and not reaction["own"]
    edited = bob.wait_for(lambda e: e["event"] == "edited")
    assert (edited["msg_id"], edited["text"], edited["from_id"]) == (hello, "hello bob", alice.id)
    assert bob.wait_for(lambda e: e["event"] == "deleted")["msg_id"] == wrong
    action = bob.wait_for(lambda e: e["event"] == "message" and e["text"] == "waves")
    assert action["action"] is True
    # Only the author may edit or delete: an error event, nothing sent.
    bob.send(f"/edit {hello} mine now")
    assert "own" in bob.wait_for(lambda e: e["event"] == "error")["message"]
    # Away, with a status, reaches the peer; /peers shows it.
    bob.send("/away lunch")
    presence = alice.wait_for(lambda e: e["event"] == "presence")
    assert (presence["id"], presence["status"], presence["text"]) == (bob.id, "away", "lunch")
    alice.send("/peers")
    peers = alice.wait_for(lambda e: e["event"] == "peers")["peers"]
    assert [(p["status"], p["status_text"]) for p in peers] == [("away", "lunch")]

    # A late joiner sees the final state: the edited text, no deleted message, the reaction.
    late = cluster.start("late", "--peer", alice.addr).ready()
    late.wait_for(lambda e: e["event"] == "message" and e["text"] == "waves", SYNC_TIMEOUT)
    late.wait_for(lambda e: e["event"] == "presence" and e["id"] == bob.id, SYNC_TIMEOUT)
    texts, reactions = final_screen(late)
    assert sorted(texts.values()) == ["hello bob", "hi alice", "waves"]
    assert reactions[hello] == {"👍": 1}

    # After a restart the log replays the final state, changes folded into each message.
    assert late.terminate() == 0
    again = cluster.start("late").ready()
    again.wait_for(lambda e: e["event"] == "history_end")
    restored = {m["msg_id"]: m for m in again.messages()}
    assert sorted(m["text"] for m in restored.values()) == ["hello bob", "hi alice", "waves"]
    assert restored[hello]["edited"] is True and restored[hello]["restored"] is True
    assert restored[hello]["reactions"] == [{"emoji": "👍", "count": 1, "own": False}]
    assert not [e for e in again.events if e["event"] in ("reaction", "edited", "deleted")]


def final_screen(node: ChatProcess) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """The texts and reaction counts a screen shows once every event has been applied."""
    texts: dict[str, str] = {}
    reactions: dict[str, dict[str, int]] = {}
    for event in node.events:
        kind = event["event"]
        if kind == "message":
            texts[event["msg_id"]] = event["text"]
            reactions[event["msg_id"]] = {
                r["emoji"]: r["count"] for r in event.get("reactions", [])
            }
        elif kind == "edited":
            texts[event["msg_id"]] = event["text"]
        elif kind == "deleted":
            texts.pop(event["msg_id"], None)
        elif kind == "reaction":
            counts = reactions.setdefault(event["msg_id"], {})
            counts[event["emoji"]] = counts.get(event["emoji"], 0) + (-1 if event["removed"] else 1)
    return texts, reactions
