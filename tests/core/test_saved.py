"""Saved transfer records: what the core saves has one of their two shapes, and comes back."""

from __future__ import annotations

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core.saved import SavedIncoming, SavedOutgoing, saved_transfer
from tests.core.peers import P1_KEYS, link, make_mesh
from tests.core.test_filedesk import OFFER_ID, SHA, of, offered_to_us, step


def saved_records() -> tuple[dict[str, object], ...]:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    offered_to_us(m)
    step(m, ev.AcceptFile(OFFER_ID))
    [save] = of(
        step(m, ev.OfferFile("/srv/big.iso", "big.iso", 5000, SHA, None, 7)), act.SaveTransfers
    )
    assert isinstance(save, act.SaveTransfers)
    return save.records


def test_what_the_core_saves_has_a_shape_and_restores_the_same() -> None:
    records = saved_records()
    typed = [saved_transfer(record) for record in records]
    assert [type(t) for t in typed] == [dict, dict]  # TypedDicts are plain dicts
    outgoing = [dict(t) for t in typed if t is not None and "path" in t]
    assert outgoing == [{"offer": outgoing[0]["offer"], "path": "/srv/big.iso", "mtime_ns": 7}]
    later = make_mesh(transfers=[dict(t) for t in typed if t is not None])
    assert later.files.incoming[OFFER_ID].state == "accepted"
    assert later.files.incoming[OFFER_ID].nick == "ann"
    [restored] = later.files.outgoing.values()
    assert restored.path == "/srv/big.iso" and restored.mtime_ns == 7


def test_records_without_a_shape_are_refused_and_optional_fields_get_defaults() -> None:
    assert saved_transfer({}) is None
    assert saved_transfer({"offer": 1, "path": "/p"}) is None
    assert saved_transfer({"offer": "o", "path": 5}) is None
    assert saved_transfer({"offer": "o", "path": "/p", "mtime_ns": "5"}) is None
    assert saved_transfer({"offer": "o", "path": "/p", "mtime_ns": True}) is None
    assert saved_transfer({"offer": "o"}) is None  # neither a path nor a state
    assert saved_transfer({"offer": "o", "state": "done", "nick": 3}) is None
    assert saved_transfer({"offer": "o", "path": "/p"}) == SavedOutgoing(
        offer="o", path="/p", mtime_ns=0
    )
    assert saved_transfer({"offer": "o", "state": "done", "extra": 1}) == SavedIncoming(
        offer="o", state="done", nick="?", detail=""
    )
