"""Seeded chaos runs of many cores on SimNet: loss, reordering, partitions, crashes, restarts.

After the chaos everything heals and every crashed node restarts from what it stored; the run
then checks that all nodes hold exactly the messages that were sent, in one order, and that no
node showed any message twice.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace

from p2pchat.core import events as ev
from p2pchat.core.limits import Limits
from p2pchat.simnet import SimNet

SETTLE_TIMEOUT = 300.0
SETTLE_STEP = 0.5


@dataclass(frozen=True)
class Chaos:
    """What a run does; every field has a default that the quick test sweep uses."""

    nodes: int = 100
    messages: int = 150
    duration: float = 60.0
    loss: float = 0.05
    jitter: float = 0.02
    crashes: int = 6
    partitions: int = 2
    partition_length: float = 12.0
    ping_after_silence: float = 1.0
    codec: bool = True


@dataclass
class Outcome:
    """What a run found; ok is True when every check passed."""

    seed: int
    chaos: Chaos
    sent: int = 0
    settled_after: float = 0.0
    frames: int = 0
    lost_frames: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if the run converged with no duplicate and nothing missing."""
        return not self.problems

    def summary(self) -> str:
        """One line for logs; says how to reproduce a failure."""
        state = "ok" if self.ok else "FAILED: " + "; ".join(self.problems[:3])
        return (
            f"seed {self.seed}: {self.chaos.nodes} nodes, {self.sent} messages, "
            f"{self.frames} frames ({self.lost_frames} lost), settled in "
            f"{self.settled_after:.1f} s virtual: {state}"
        )


def run_chaos(seed: int, chaos: Chaos | None = None) -> Outcome:
    """Run one seeded scenario and check the invariants."""
    chaos = chaos or Chaos()
    # Retention and the fresh-joiner window are larger than the run, so "everything" is checkable.
    limits = replace(
        Limits(),
        backfill_messages=100_000,
        ping_after_silence=chaos.ping_after_silence,
        peer_timeout=chaos.ping_after_silence * 4,
    )
    net = SimNet(seed=seed, limits=limits, jitter=chaos.jitter, loss=chaos.loss, codec=chaos.codec)
    rng = random.Random(seed ^ 0x5EED)
    outcome = Outcome(seed, chaos)
    names = [f"n{i}" for i in range(chaos.nodes)]
    for i, name in enumerate(names):
        net.add_node(name)
        if i:
            net.introduce(name, names[rng.randrange(i)])
    net.run(5.0)

    events = _plan(rng, names, chaos)
    start = net.now
    for at, kind, arg in events:
        net.run(max(0.0, start + at - net.now))
        _apply(net, rng, (kind, arg), outcome)
    net.run(max(0.0, start + chaos.duration - net.now))

    net.heal()
    for name in names:
        if not net.nodes[name].alive:
            net.restart(name, introduce_to=[rng.choice(net.live())])
    settle_start = net.now
    settled = net.run_until(
        lambda: net.full_mesh() and net.converged(), SETTLE_TIMEOUT, step=SETTLE_STEP
    )
    outcome.settled_after = net.now - settle_start
    outcome.frames = net.frames_sent
    outcome.lost_frames = net.frames_lost
    _check(net, outcome, settled)
    return outcome


def _plan(rng: random.Random, names: list[str], chaos: Chaos) -> list[tuple[float, str, str]]:
    events = [(rng.uniform(0, chaos.duration), "send", "") for _ in range(chaos.messages)]
    for _ in range(chaos.crashes):
        at = rng.uniform(0, chaos.duration * 0.8)
        events.append((at, "crash", rng.choice(names)))
        events.append((at + rng.uniform(3, chaos.duration * 0.3), "restart", ""))
    for _ in range(chaos.partitions):
        at = rng.uniform(0, chaos.duration * 0.7)
        events.append((at, "split", ""))
        events.append((at + chaos.partition_length, "heal", ""))
    return sorted(events)


def _apply(net: SimNet, rng: random.Random, event: tuple[str, str], outcome: Outcome) -> None:
    kind, arg = event
    names = list(net.nodes)
    live = net.live()
    if kind == "send" and live:
        outcome.sent += 1
        net.inject(rng.choice(live), ev.SendChat(f"message {outcome.sent}"))
    elif kind == "crash" and net.nodes[arg].alive and len(live) > 2:
        net.kill(arg, silent=rng.random() < 0.5)
    elif kind == "restart":
        dead = [n for n in names if not net.nodes[n].alive]
        if dead and live:
            net.restart(rng.choice(dead), introduce_to=[rng.choice(live)])
    elif kind == "split":
        shuffled = names[:]
        rng.shuffle(shuffled)
        cut = rng.randrange(1, len(shuffled))
        net.partition(shuffled[:cut], shuffled[cut:])
    elif kind == "heal":
        net.heal()


def _check(net: SimNet, outcome: Outcome, settled: bool) -> None:
    if not settled:
        linked = sum(len(net.linked(n)) for n in net.live())
        outcome.problems.append(f"did not settle ({linked} link ends, converged={net.converged()})")
    sent = {key for node in net.nodes.values() for key in node.disk if key[0] == node.node_id}
    for name, node in net.nodes.items():
        held = node.transcript()
        if set(held) != sent:
            missing, extra = len(sent - set(held)), len(set(held) - sent)
            outcome.problems.append(f"{name} holds {len(held)}: {missing} missing, {extra} extra")
        shown = Counter(m.msg_id for m in node.messages() if not m.direct)
        twice = [msg_id for msg_id, count in shown.items() if count > 1]
        if twice:
            outcome.problems.append(f"{name} showed {len(twice)} messages twice, e.g. {twice[0]}")
