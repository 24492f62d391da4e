"""A deterministic in-memory network that drives many Mesh cores in virtual time.

Every frame goes through the real codec and validation, links keep FIFO order, and faults
(kills, silent partitions) are scheduled in virtual time, so runs reproduce from a seed.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.codec import FrameDecoder, encode_frame
from p2pchat.core.limits import Limits
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import decode_message, encode_message

SIM_PORT = 7000
SIM_EPOCH = 1_700_000_000.0


@dataclass(eq=False)
class SimNode:
    """One virtual node: its core plus everything it showed, logged and persisted."""

    name: str
    host: str
    mesh: Mesh
    views: list[vw.View] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    persisted_seq: int = 0
    rediscovers: int = 0
    alive: bool = True
    next_tick: float | None = None

    def messages(self) -> list[vw.MessageShown]:
        """Every message this node showed, in the order shown."""
        return [v for v in self.views if isinstance(v, vw.MessageShown)]

    def texts(self) -> list[str]:
        """Texts of the room (non-direct) messages this node showed."""
        return [m.text for m in self.messages() if not m.direct]


@dataclass(eq=False)
class _End:
    node: SimNode
    peer_conn: int
    decoder: FrameDecoder
    open: bool = True


class SimNet:
    """Virtual LAN of Mesh cores with latency, partitions and crashes."""

    def __init__(self, seed: int = 0, limits: Limits | None = None, latency: float = 0.001) -> None:
        self.limits = limits or Limits()
        self.rng = random.Random(seed)
        self.now = 0.0
        self.latency = latency
        self.nodes: dict[str, SimNode] = {}
        self._listeners: dict[tuple[str, int], SimNode] = {}
        self._ends: dict[int, _End] = {}
        self._next_conn = 1
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = 0
        self._cut: set[frozenset[str]] = set()
        self.frames_sent = 0

    def add_node(self, name: str, *, nick: str | None = None, room: str = "lobby") -> SimNode:
        """Create and start a node listening at a host of its own."""
        node_id = f"{self.rng.getrandbits(128):032x}"
        host = f"10.0.{len(self.nodes) // 250}.{len(self.nodes) % 250 + 1}"
        mesh = Mesh(
            node_id,
            nick or name,
            room,
            SIM_PORT,
            limits=self.limits,
            rng=random.Random(self.rng.getrandbits(64)),
        )
        node = SimNode(name, host, mesh)
        self.nodes[name] = node
        self._listeners[(host, SIM_PORT)] = node
        return node

    def address(self, name: str) -> tuple[str, int]:
        """Where a node listens."""
        return (self.nodes[name].host, SIM_PORT)

    def introduce(self, name: str, other: str, source: str = "static") -> None:
        """Tell node `name` about `other`'s address, as --peer would."""
        self.inject(name, ev.PeerDiscovered((self.address(other),), None, source))

    def inject(self, name: str, event: ev.Event) -> None:
        """Feed an event to a node now."""
        node = self.nodes[name]
        if node.alive:
            self._handle(node, event)

    def run(self, duration: float) -> None:
        """Advance virtual time by duration, processing everything due."""
        end = self.now + duration
        while self._queue and self._queue[0][0] <= end:
            when, _, fn = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            fn()
        self.now = end

    def run_until(self, predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
        """Advance until predicate holds or timeout of virtual time passes; True if it held."""
        deadline = self.now + timeout
        while self.now < deadline:
            if predicate():
                return True
            self.run(step)
        return predicate()

    def kill(self, name: str, *, silent: bool = False) -> None:
        """Stop a node; peers see its links close, or (silent) just stop hearing from it."""
        node = self.nodes[name]
        node.alive = False
        del self._listeners[(node.host, SIM_PORT)]
        for conn, end in list(self._ends.items()):
            if end.node is node:
                self._drop_end(conn, notify_peer=not silent)

    def partition(self, side_a: list[str], side_b: list[str]) -> None:
        """Silently drop all traffic (and dials) between the two sides."""
        for a in side_a:
            for b in side_b:
                self._cut.add(frozenset((a, b)))

    def heal(self) -> None:
        """Remove every partition."""
        self._cut.clear()

    def linked(self, name: str) -> set[str]:
        """Names of the nodes this node has a live link with."""
        by_id = {n.mesh.node_id: n.name for n in self.nodes.values()}
        return {by_id[i] for i in self.nodes[name].mesh.peer_ids() if i in by_id}

    def full_mesh(self, names: list[str] | None = None) -> bool:
        """True if every listed live node links to every other."""
        names = names or [n for n, node in self.nodes.items() if node.alive]
        return all(self.linked(n) >= set(names) - {n} for n in names)

    # ---------------------------------------------------------------- engine

    def _schedule(self, delay: float, fn: Callable[[], None]) -> None:
        self._counter += 1
        heapq.heappush(self._queue, (self.now + delay, self._counter, fn))

    def _handle(self, node: SimNode, event: ev.Event) -> None:
        actions = node.mesh.handle(event, self.now, SIM_EPOCH + self.now)
        for action in actions:
            self._execute(node, action)
        self._plan_tick(node)

    def _plan_tick(self, node: SimNode) -> None:
        deadline = node.mesh.next_deadline()
        if deadline is not None and (node.next_tick is None or deadline < node.next_tick):
            node.next_tick = deadline
            self._schedule(max(0.0, deadline - self.now), lambda: self._tick(node, deadline))

    def _tick(self, node: SimNode, planned: float) -> None:
        if not node.alive or node.next_tick != planned:
            return
        node.next_tick = None
        deadline = node.mesh.next_deadline()
        if deadline is not None and deadline <= self.now:
            self._handle(node, ev.Tick())
            after = node.mesh.next_deadline()
            if after is not None and after <= self.now:
                raise RuntimeError(f"{node.name}: timers make no progress at {self.now}")
        else:
            self._plan_tick(node)

    def _execute(self, node: SimNode, action: act.Action) -> None:
        match action:
            case act.Dial():
                self._dial(node, action.host, action.port)
            case act.Send():
                payload = encode_message(action.message)
                frame = encode_frame(payload, self.limits.max_frame_bytes)
                for conn in action.conns:
                    self._transmit(conn, frame)
            case act.Close():
                self._drop_end(action.conn, notify_peer=True)
            case act.Show():
                node.views.append(action.view)
            case act.PersistSeq():
                node.persisted_seq = action.seq
            case act.Rediscover():
                node.rediscovers += 1
            case act.Log():
                node.logs.append(action.text)
            case act.Announce():
                pass

    def _dial(self, node: SimNode, host: str, port: int) -> None:
        target = self._listeners.get((host, port))
        if target is None or frozenset((node.name, target.name)) in self._cut:
            delay = self.limits.connect_timeout if target is not None else self.latency
            self._schedule(
                delay, lambda: self.inject(node.name, ev.DialFailed(host, port, "refused"))
            )
            return
        out_conn, in_conn = self._next_conn, self._next_conn + 1
        self._next_conn += 2
        max_frame = self.limits.max_frame_bytes
        self._ends[out_conn] = _End(node, in_conn, FrameDecoder(max_frame))
        self._ends[in_conn] = _End(target, out_conn, FrameDecoder(max_frame))
        self._schedule(
            self.latency,
            lambda: self.inject(node.name, ev.ConnectionMade(out_conn, True, host, port)),
        )
        self._schedule(
            self.latency,
            lambda: self.inject(
                target.name, ev.ConnectionMade(in_conn, False, node.host, 40000 + out_conn)
            ),
        )

    def _transmit(self, conn: int, frame: bytes) -> None:
        end = self._ends.get(conn)
        if end is None or not end.open:
            return
        peer = self._ends.get(end.peer_conn)
        if peer is None or frozenset((end.node.name, peer.node.name)) in self._cut:
            return
        self.frames_sent += 1
        peer_conn = end.peer_conn

        def arrive() -> None:
            receiver = self._ends.get(peer_conn)
            if receiver is None or not receiver.open or not receiver.node.alive:
                return
            messages = tuple(decode_message(p, self.limits) for p in receiver.decoder.feed(frame))
            self._handle(receiver.node, ev.FramesReceived(peer_conn, messages))

        self._schedule(self.latency, arrive)

    def _drop_end(self, conn: int, *, notify_peer: bool) -> None:
        end = self._ends.pop(conn, None)
        if end is None:
            return
        end.open = False
        peer_conn = end.peer_conn
        peer = self._ends.get(peer_conn)
        if peer is None:
            return
        if notify_peer and frozenset((end.node.name, peer.node.name)) not in self._cut:

            def lost() -> None:
                if self._ends.pop(peer_conn, None) is not None:
                    self.inject(peer.node.name, ev.ConnectionLost(peer_conn, "closed by peer"))

            self._schedule(self.latency, lost)
        elif not notify_peer:
            peer.peer_conn = -1
