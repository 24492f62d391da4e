"""An author over its rate limit on its own link is slowed down by TCP, not dropped; a relayed
flood is dropped as before; and even an author's own link gives at most one burst of credit."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.limits import Limits
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import Chat
from tests.core.peers import ME_KEYS, P1_KEYS, P2_KEYS, P3_KEYS, link, signed_chat

pytestmark = pytest.mark.timeout(60)

RATE = 10.0
LIMITS = replace(Limits(), author_rate=RATE, author_burst=RATE * 10, recv_bytes=300 * 50)
BURST = int(LIMITS.author_burst)
CREDIT = BURST + 50  # a burst, and what one read can hold


def chats(keys: object, count: int, first: int = 1) -> tuple[Chat, ...]:
    return tuple(
        signed_chat(keys, s, s, f"m{s}", nick="ann")  # type: ignore[arg-type]
        for s in range(first, first + count)
    )


def make_mesh() -> Mesh:
    return Mesh(ME_KEYS, "me", "lobby", 4000, limits=LIMITS, rng=random.Random(1))


def shown(out: list[act.Action]) -> int:
    return sum(1 for a in out if isinstance(a, act.Show) and isinstance(a.view, vw.MessageShown))


def pauses(out: list[act.Action]) -> list[act.PauseReading]:
    return [a for a in out if isinstance(a, act.PauseReading)]


def test_an_author_past_its_burst_is_slowed_down_not_dropped() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    out = m.handle(ev.FramesReceived(1, chats(P1_KEYS, BURST)), 0.0, 0.0)
    assert shown(out) == BURST and not pauses(out)  # within its burst: nothing to slow
    out = m.handle(ev.FramesReceived(1, chats(P1_KEYS, 30, BURST + 1)), 0.0, 0.0)
    assert shown(out) == 30  # over its limit, and all shown
    paused = pauses(out)
    assert paused and {p.conn for p in paused} == {1}
    assert paused[-1].seconds == pytest.approx(3.1)  # 30 over at 10 a second, and one more
    assert len(paused) < 30  # not one action per message
    assert m.counters["slowed_down"] == len(paused) and m.guard.throttled == 0


def test_an_author_in_debt_past_its_credit_is_dropped_until_it_paid() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    out = m.handle(ev.FramesReceived(1, chats(P1_KEYS, BURST + CREDIT + 20)), 0.0, 0.0)
    assert shown(out) == BURST + CREDIT  # its burst, and its credit
    assert m.guard.throttled == 20
    later = m.handle(ev.FramesReceived(1, chats(P1_KEYS, 1, BURST + CREDIT + 21)), 0.05, 0.0)
    assert shown(later) == 0  # still in debt up to its credit
    paid = CREDIT / RATE  # the debt is paid back at its rate...
    later = m.handle(ev.FramesReceived(1, chats(P1_KEYS, 1, BURST + CREDIT + 22)), paid, 0.0)
    assert shown(later) == 1  # ... and then it writes again


def test_a_relayed_flood_is_dropped_past_the_burst_without_pausing_the_relay() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS, nick="ann")
    link(m, 2, P2_KEYS, nick="bob")
    out = m.handle(ev.FramesReceived(2, chats(P3_KEYS, BURST + 30)), 0.0, 0.0)  # bob relays
    assert shown(out) == BURST and not pauses(out)
    assert m.guard.throttled == 30
