"""/search through the JSON-lines contract, with a real process on 127.0.0.1."""

from __future__ import annotations

from tests.e2e.harness import Cluster


def test_search_answers_with_messages_as_they_stand(cluster: Cluster) -> None:
    node = cluster.start("node0").ready()
    node.send("the quick brown fox")
    node.send("a lazy dog")
    node.send('AND "quick" *')
    first, _, third = node.wait_count(lambda e: e["event"] == "message", 3)
    node.send(f"/edit {first['msg_id']} the slow brown fox")
    node.wait_for(lambda e: e["event"] == "edited")
    node.send(f"/delete {third['msg_id']}")
    node.wait_for(lambda e: e["event"] == "deleted")
    node.send("/search brown FOX")
    found = node.wait_for(lambda e: e["event"] == "search")
    assert found["words"] == "brown FOX"
    (hit,) = found["messages"]
    assert hit["msg_id"] == first["msg_id"] and hit["text"] == "the slow brown fox"
    assert hit["edited"] is True and hit["own"] is True
    node.send('/search quick "AND')
    nothing = node.wait_for(lambda e: e["event"] == "search" and e["words"] == 'quick "AND')
    assert nothing["messages"] == []
