"""Relay choice: one copy per node in a full mesh, and everyone reached in any connected graph."""

from __future__ import annotations

import itertools
from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from p2pchat.core.relay import relay_targets

Graph = dict[str, frozenset[str]]


def graph(edges: list[tuple[str, str]], nodes: list[str]) -> Graph:
    links: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in edges:
        links[a].add(b)
        links[b].add(a)
    return {n: frozenset(v) for n, v in links.items()}


def knowledge(g: Graph, me: str) -> dict[str, frozenset[str] | None]:
    return {peer: g[peer] for peer in g[me]}


def spread(g: Graph, author: str) -> tuple[set[str], int]:
    """Deliver one message from author: (nodes reached, copies sent in all)."""
    reached = {author}
    queue = deque((peer, author) for peer in g[author])
    copies = len(g[author])
    while queue:
        node, sender = queue.popleft()
        if node in reached:
            continue
        reached.add(node)
        for target in relay_targets(node, author, sender, knowledge(g, node)):
            copies += 1
            queue.append((target, node))
    return reached, copies


def test_full_mesh_relays_nothing() -> None:
    nodes = [f"n{i}" for i in range(10)]
    g = graph(list(itertools.combinations(nodes, 2)), nodes)
    reached, copies = spread(g, "n3")
    assert reached == set(nodes) and copies == 9


def test_chain_and_star_get_one_copy_each() -> None:
    chain = [f"c{i}" for i in range(6)]
    g = graph(list(itertools.pairwise(chain)), chain)
    assert spread(g, "c0") == (set(chain), 5)
    assert spread(g, "c3") == (set(chain), 5)
    star = ["hub", "a", "b", "c", "d"]
    g = graph([("hub", leaf) for leaf in star[1:]], star)
    assert spread(g, "a") == (set(star), 4)


def test_two_hop_peer_gets_one_copy_from_its_designated_relay() -> None:
    g = graph(
        [("a", "r1"), ("a", "r2"), ("r1", "x"), ("r2", "x"), ("r1", "r2")], ["a", "r1", "r2", "x"]
    )
    assert relay_targets("r1", "a", "a", knowledge(g, "r1")) == ["x"]
    assert relay_targets("r2", "a", "a", knowledge(g, "r2")) == []


def test_unknown_lists_err_towards_an_extra_copy() -> None:
    neighbours: dict[str, frozenset[str] | None] = {"a": None, "x": None, "y": frozenset({"a"})}
    assert relay_targets("me", "a", "a", neighbours) == ["x", "y"]


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 12), st.data())
def test_every_connected_graph_is_fully_reached(size: int, data: st.DataObject) -> None:
    nodes = [f"n{i:02d}" for i in range(size)]
    tree = [(nodes[i], nodes[data.draw(st.integers(0, i - 1))]) for i in range(1, size)]
    extra = data.draw(
        st.lists(st.sampled_from(list(itertools.combinations(nodes, 2))), max_size=30)
    )
    g = graph(tree + extra, nodes)
    author = data.draw(st.sampled_from(nodes))
    reached, copies = spread(g, author)
    assert reached == set(nodes)
    assert copies <= 3 * (size - 1)
