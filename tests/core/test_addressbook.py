"""The address book on its own: shares by source, fair turns, one dial per node, backoff."""

from __future__ import annotations

import random

from p2pchat.core.addressbook import AddressBook
from p2pchat.core.limits import Limits

LIMITS = Limits(max_mdns_addresses=4, max_gossip_peers=3, max_known_addresses=10)
NOBODY: frozenset[str] = frozenset()


def book() -> AddressBook:
    return AddressBook(LIMITS, random.Random(1))


def test_a_source_keeps_only_its_share_oldest_out_first() -> None:
    b = book()
    for i in range(10):
        assert b.learn(((f"10.0.0.{i}", 1),), None, "mdns", float(i))
    assert sorted(k[0] for k in b.known) == [f"10.0.0.{i}" for i in range(6, 10)]
    assert b.learn((("10.9.9.9", 1),), None, "user", 0.0)  # the user's never count


def test_a_full_book_makes_room_from_the_biggest_share_but_not_from_given_addresses() -> None:
    b = book()
    for i in range(10):
        b.learn(((f"10.1.0.{i}", 1),), None, "static", 0.0)
    assert not b.learn((("10.2.0.1", 1),), None, "beacon", 0.0)  # only given ones: no room
    assert len(b.known) == 10


def test_turns_are_fair_between_sources_and_one_dial_per_claimed_node() -> None:
    b = book()
    b.learn(tuple((f"10.0.0.{i}", 1) for i in range(3)), None, "user", 0.0)
    b.learn((("10.5.0.1", 1),), "x" * 32, "mdns", 0.0)
    b.learn((("10.5.0.2", 1),), "x" * 32, "mdns", 0.0)  # the same node, another address
    due = b.due(0.0, NOBODY, room=3)
    assert [a.host for a in due] == ["10.0.0.0", "10.5.0.1", "10.0.0.1"]
    assert b.pending_dials == 3
    assert "10.5.0.2" not in [a.host for a in b.due(0.0, NOBODY, room=10)]


def test_a_linked_node_is_not_dialled_and_a_spoofable_address_goes_after_failures() -> None:
    b = book()
    b.learn((("10.0.0.1", 1),), None, "user", 0.0)
    [address] = b.due(0.0, NOBODY, room=1)
    address.dialing = False
    b.verify(address, "p" * 32)
    assert b.due(100.0, {"p" * 32}, room=1) == []
    b.learn((("10.7.0.1", 1),), None, "beacon", 0.0)
    spoofed = b.get(("10.7.0.1", 1))
    assert spoofed is not None
    for _ in range(LIMITS.max_unproven_dial_failures):
        b.retry_later(spoofed, 0.0)
    assert b.get(("10.7.0.1", 1)) is None


def test_our_own_addresses_are_never_learnt() -> None:
    b = book()
    b.own.add(("10.0.0.1", 4000))
    b.learn((("10.0.0.1", 4000),), None, "user", 0.0)
    assert b.known == {}
