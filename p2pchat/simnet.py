"""A deterministic in-memory network that drives many Mesh cores in virtual time.

Every frame goes through the real codec and validation; each link keeps FIFO order while
latency varies between links (so paths reorder); content frames can be lost; nodes crash and
restart with what they had stored; partitions drop traffic silently. Runs reproduce from a seed.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.codec import FrameDecoder, encode_frame
from p2pchat.core.crypto import node_id_of
from p2pchat.core.directrecords import PENDING, HeldFrame, KnownMember, StoredDirect
from p2pchat.core.errors import ProtocolError
from p2pchat.core.history import History
from p2pchat.core.limits import Limits
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import Chat, Direct, Message, Pong, decode_message, encode_message

SIM_PORT = 7000
SIM_EPOCH = 1_700_000_000.0
THOROUGH_EVERY = 97  # steps between checks of every message of a history (linear in it)


class SimCrypto:
    """A fast stand-in for real keys in simulations: signatures anyone could forge, and DMs
    sealed in the clear. It keeps the protocol's checks exercised, not their security."""

    def __init__(self, seed: int) -> None:
        self._public: bytes = hashlib.sha256(b"sim key %d" % seed).digest()
        self._dh: bytes = hashlib.sha256(b"sim dh %d" % seed).digest()
        self._node_id = node_id_of(self._public)

    @property
    def node_id(self) -> str:
        """Derived from the public key, as for real keys."""
        return self._node_id

    @property
    def public_key(self) -> bytes:
        """32 bytes."""
        return self._public

    @property
    def dh_public(self) -> bytes:
        """32 bytes."""
        return self._dh

    def sign(self, data: bytes) -> bytes:
        """A keyed hash standing in for a signature."""
        return _sim_signature(self._public, data)

    def verify(self, public_key: bytes, signature: bytes, data: bytes) -> bool:
        """Checks the stand-in signature."""
        return signature == _sim_signature(public_key, data)

    def seal(self, their_dh_public: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
        """No encryption in the simulator."""
        return bytes(32), plaintext

    def unseal(self, ephemeral_public: bytes, ciphertext: bytes) -> bytes | None:
        """No encryption in the simulator."""
        return ciphertext


def _sim_signature(public_key: bytes, data: bytes) -> bytes:
    digest: bytes = hashlib.sha256(public_key + data).digest()
    return digest + digest


@dataclass(eq=False)
class DirectDisk:
    """What a node stored of direct messages: IDs taken, DMs, frames held, members met."""

    seen: dict[str, float] = field(default_factory=dict)
    directs: dict[str, StoredDirect] = field(default_factory=dict)
    held: dict[str, HeldFrame] = field(default_factory=dict)
    known: dict[str, KnownMember] = field(default_factory=dict)

    def keep(self, action: act.Action) -> None:
        """Store what a direct-message action asks to (others are ignored)."""
        match action:
            case act.RememberDirect():
                self.seen[action.msg_id] = action.ts
            case act.StoreDirect():
                self.directs[action.row.msg_id] = action.row
            case act.SetDirectStatus():
                row = self.directs.get(action.msg_id)
                if row is not None:
                    frame = row.frame if action.status in PENDING else b""
                    self.directs[action.msg_id] = replace(row, status=action.status, frame=frame)
            case act.Hold():
                self.held[action.held.key] = action.held
            case act.Release():
                self.held.pop(action.key, None)
            case act.RememberMember():
                self.known[action.member.node_id] = action.member


@dataclass(eq=False)
class SimNode:
    """One virtual node: its core, what it stored ("disk"), and what it showed this run."""

    name: str
    host: str
    node_id: str
    nick: str
    room: str
    mesh: Mesh
    disk: dict[tuple[str, int], Chat] = field(default_factory=dict)
    direct_disk: DirectDisk = field(default_factory=DirectDisk)
    views: list[vw.View] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    rediscovers: int = 0
    sent: Counter[str] = field(default_factory=Counter)  # frames sent, by message type
    alive: bool = True
    next_tick: float | None = None

    def messages(self) -> list[vw.MessageShown]:
        """Every message shown since this node last started, in the order shown."""
        return [v for v in self.views if isinstance(v, vw.MessageShown)]

    def texts(self) -> list[str]:
        """Texts of the room (non-direct) messages shown since this node last started."""
        return [m.text for m in self.messages() if not m.direct]

    def transcript(self) -> list[tuple[str, int]]:
        """IDs of the held room messages in transcript order."""
        return [(c.author, c.seq) for c in self.mesh.history.ordered()]


@dataclass(eq=False)
class _End:
    node: SimNode
    peer_conn: int
    decoder: FrameDecoder
    latency: float
    last_arrival: float = 0.0


class SimNet:
    """Virtual LAN of Mesh cores with latency, jitter, loss, partitions, crashes and restarts."""

    def __init__(
        self,
        seed: int = 0,
        *,
        limits: Limits | None = None,
        latency: float = 0.001,
        jitter: float = 0.0,
        loss: float = 0.0,
        codec: bool = True,
    ) -> None:
        self.seed = seed
        self.limits = limits or Limits()
        self.rng = random.Random(seed)
        self.now = 0.0
        self.latency = latency
        self.jitter = jitter
        self.loss = loss
        self.codec = codec
        self.nodes: dict[str, SimNode] = {}
        self._listeners: dict[tuple[str, int], SimNode] = {}
        self._ends: dict[int, _End] = {}
        self._next_conn = 1
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = 0
        self._steps = 0
        self._cut: set[frozenset[str]] = set()
        self.frames_sent = 0
        self.frames_lost = 0
        self._cryptos: dict[str, SimCrypto] = {}

    def add_node(self, name: str, *, nick: str | None = None, room: str = "lobby") -> SimNode:
        """Create and start a node listening at a host of its own."""
        crypto = SimCrypto(self.rng.getrandbits(64))
        count = len(self.nodes)
        host = f"10.0.{count // 250}.{count % 250 + 1}"
        mesh = self._new_mesh(crypto, nick or name, room, {}, DirectDisk())
        node = SimNode(name, host, crypto.node_id, nick or name, room, mesh)
        self._cryptos[name] = crypto
        self.nodes[name] = node
        self._listeners[(host, SIM_PORT)] = node
        self._handle(node, ev.Started(mdns=False))
        return node

    def crypto(self, name: str) -> SimCrypto:
        """A node's keys (tests sign, or fail to sign, as that node)."""
        return self._cryptos[name]

    def address(self, name: str) -> tuple[str, int]:
        """Where a node listens."""
        return (self.nodes[name].host, SIM_PORT)

    def alias(self, name: str, host: str) -> tuple[str, int]:
        """Give a node a second address (another interface) and return it."""
        self._listeners[(host, SIM_PORT)] = self.nodes[name]
        return (host, SIM_PORT)

    def introduce(self, name: str, other: str, source: ev.DiscoverySource = "static") -> None:
        """Tell node `name` about `other`'s address, as --peer would."""
        node_id = self.nodes[other].node_id if source == "mdns" else None
        self.inject(name, ev.PeerDiscovered((self.address(other),), node_id, source))

    def inject(self, name: str, event: ev.Event) -> None:
        """Feed an event to a node now (ignored if it is down)."""
        node = self.nodes[name]
        if node.alive:
            self._handle(node, event)

    def send_as(self, name: str, to: str, payload: Message | bytes) -> bool:
        """Send one frame (a message, or raw payload bytes) from node name over its link to
        node to, through the real codec, whatever name's core would do; False if not linked.

        For hostile nodes in tests: the receiver decodes and judges it like any frame.
        """
        sender, receiver = self.nodes[name], self.nodes[to]
        for conn, end in self._ends.items():
            peer = self._ends.get(end.peer_conn)
            if end.node is sender and peer is not None and peer.node is receiver:
                raw = encode_message(payload) if not isinstance(payload, bytes) else payload
                frame = encode_frame(raw, self.limits.max_frame_bytes)
                self._transmit(conn, Pong(0), frame, lossy=False)
                return True
        return False

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
        node.next_tick = None
        for key in [k for k, n in self._listeners.items() if n is node]:
            del self._listeners[key]
        for conn, end in list(self._ends.items()):
            if end.node is node:
                self._drop_end(conn, notify_peer=not silent)

    def restart(self, name: str, *, introduce_to: list[str] | None = None) -> SimNode:
        """Start a killed node again from what it had stored, like a restarted process."""
        node = self.nodes[name]
        assert not node.alive, f"{name} is running"
        node.mesh = self._new_mesh(
            self._cryptos[name], node.nick, node.room, node.disk, node.direct_disk
        )
        node.views = []
        node.alive = True
        self._listeners[(node.host, SIM_PORT)] = node
        self._handle(node, ev.Started(mdns=False))
        for other in introduce_to or []:
            self.introduce(name, other)
        return node

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
        by_id = {n.node_id: n.name for n in self.nodes.values()}
        return {by_id[i] for i in self.nodes[name].mesh.peer_ids() if i in by_id}

    def live(self) -> list[str]:
        """Names of the running nodes."""
        return [n for n, node in self.nodes.items() if node.alive]

    def full_mesh(self, names: list[str] | None = None) -> bool:
        """True if every listed live node links to every other."""
        names = names or self.live()
        return all(self.linked(n) >= set(names) - {n} for n in names)

    def converged(self) -> bool:
        """True if every live node holds the same messages in the same order."""
        transcripts = [self.nodes[n].transcript() for n in self.live()]
        return all(t == transcripts[0] for t in transcripts)

    # ---------------------------------------------------------------- engine

    def _new_mesh(
        self,
        crypto: SimCrypto,
        nick: str,
        room: str,
        disk: dict[tuple[str, int], Chat],
        directs: DirectDisk,
    ) -> Mesh:
        history = History(self.limits)
        history.restore(sorted(disk.values(), key=lambda c: (c.lamport, c.author)), {}, self.now)
        own = max((seq for author, seq in disk if author == crypto.node_id), default=0)
        return Mesh(
            crypto,
            nick,
            room,
            SIM_PORT,
            limits=self.limits,
            rng=random.Random(self.rng.getrandbits(64)),
            last_seq=own,
            history=history,
            seen_directs=dict(directs.seen),
            directs=sorted(directs.directs.values(), key=lambda d: (d.lamport, d.ts)),
            held=list(directs.held.values()),
            known=list(directs.known.values()),
        )

    def _schedule(self, delay: float, fn: Callable[[], None]) -> None:
        self._counter += 1
        heapq.heappush(self._queue, (self.now + delay, self._counter, fn))

    def _handle(self, node: SimNode, event: ev.Event) -> None:
        actions = node.mesh.handle(event, self.now, SIM_EPOCH + self.now)
        # After every step: all of it after a step that may have changed links, peers or
        # addresses (not routine, or it closed a link), else the constant-time part (and all
        # of it every THOROUGH_EVERY steps, for the history's entries).
        self._steps += 1
        changed = not ev.is_routine(event) or any(isinstance(a, act.Close) for a in actions)
        node.mesh.check_invariants(thorough=changed or self._steps % THOROUGH_EVERY == 0)
        for action in actions:
            self._execute(node, action)
        self._plan_tick(node)

    def _plan_tick(self, node: SimNode) -> None:
        deadline = node.mesh.next_deadline()
        if deadline is not None and (node.next_tick is None or deadline < node.next_tick):
            node.next_tick = deadline
            mesh = node.mesh
            self._schedule(max(0.0, deadline - self.now), lambda: self._tick(node, mesh, deadline))

    def _tick(self, node: SimNode, mesh: Mesh, planned: float) -> None:
        if not node.alive or node.mesh is not mesh or node.next_tick != planned:
            return
        node.next_tick = None
        deadline = mesh.next_deadline()
        if deadline is not None and deadline <= self.now:
            self._handle(node, ev.Tick())
            after = mesh.next_deadline()
            if after is not None and after <= self.now:
                raise RuntimeError(f"{node.name}: timers make no progress at {self.now}")
        else:
            self._plan_tick(node)

    def _execute(self, node: SimNode, action: act.Action) -> None:
        match action:
            case act.Dial():
                self._dial(node, action.host, action.port)
            case act.Send():
                message = action.message
                frame = None
                if self.codec:
                    frame = encode_frame(encode_message(message), self.limits.max_frame_bytes)
                lossy = isinstance(message, Chat | Direct)
                node.sent[type(message).__name__] += len(action.conns)
                for conn in action.conns:
                    self._transmit(conn, message, frame, lossy)
            case act.Close():
                self._drop_end(action.conn, notify_peer=True)
            case act.PauseReading():
                pass  # the simulated network has no flow control: frames arrive anyway
            case act.Show():
                node.views.append(action.view)
            case act.Store():
                node.disk[(action.chat.author, action.chat.seq)] = action.chat
            case act.Rediscover():
                node.rediscovers += 1
            case act.Log():
                node.logs.append(action.text)
            case (
                act.RememberDirect()
                | act.StoreDirect()
                | act.SetDirectStatus()
                | act.Hold()
                | act.Release()
                | act.RememberMember()
            ):
                node.direct_disk.keep(action)
            case act.Announce() | act.Trust():
                pass

    def _link_latency(self) -> float:
        return self.latency + self.rng.uniform(0.0, self.jitter)

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
        self._ends[out_conn] = _End(node, in_conn, FrameDecoder(max_frame), self._link_latency())
        self._ends[in_conn] = _End(target, out_conn, FrameDecoder(max_frame), self._link_latency())
        mesh, target_mesh = node.mesh, target.mesh
        rng = self.rng
        out_made = ev.ConnectionMade(
            out_conn, True, host, port, rng.randbytes(16), rng.randbytes(32)
        )
        in_made = ev.ConnectionMade(
            in_conn,
            False,
            node.host,
            40000 + out_conn % 20000,
            rng.randbytes(16),
            rng.randbytes(32),
        )
        self._schedule(self.latency, lambda: self._deliver(node, mesh, out_made))
        self._schedule(self.latency, lambda: self._deliver(target, target_mesh, in_made))

    def _deliver(self, node: SimNode, mesh: Mesh, event: ev.Event) -> None:
        """Feed an event to the incarnation of node it was meant for."""
        if node.alive and node.mesh is mesh:
            self._handle(node, event)

    def _transmit(self, conn: int, message: Message, frame: bytes | None, lossy: bool) -> None:
        end = self._ends.get(conn)
        if end is None:
            return
        peer = self._ends.get(end.peer_conn)
        if peer is None or frozenset((end.node.name, peer.node.name)) in self._cut:
            return
        self.frames_sent += 1
        if lossy and self.loss and self.rng.random() < self.loss:
            self.frames_lost += 1
            return
        arrival = max(self.now + end.latency, end.last_arrival)
        end.last_arrival = arrival
        peer_conn, receiver, mesh = end.peer_conn, peer.node, peer.node.mesh

        def arrive() -> None:
            receiving = self._ends.get(peer_conn)
            if receiving is None or not receiver.alive or receiver.mesh is not mesh:
                return
            if frame is None:
                messages: tuple[Message, ...] = (message,)
            else:
                try:
                    payloads = receiving.decoder.feed(frame)
                    messages = tuple(decode_message(p, self.limits) for p in payloads)
                except ProtocolError as exc:
                    # As the runtime does: bad input ends that one link, never the node.
                    self._drop_end(peer_conn, notify_peer=True)
                    self._handle(receiver, ev.ConnectionLost(peer_conn, f"protocol error: {exc}"))
                    return
            self._handle(receiver, ev.FramesReceived(peer_conn, messages))

        self._schedule(arrival - self.now, arrive)

    def _drop_end(self, conn: int, *, notify_peer: bool) -> None:
        end = self._ends.pop(conn, None)
        if end is None:
            return
        peer_conn = end.peer_conn
        peer = self._ends.get(peer_conn)
        if peer is None:
            return
        if notify_peer and frozenset((end.node.name, peer.node.name)) not in self._cut:
            receiver, mesh = peer.node, peer.node.mesh
            arrival = max(self.now + end.latency, end.last_arrival)

            def lost() -> None:
                if self._ends.pop(peer_conn, None) is not None:
                    self._deliver(receiver, mesh, ev.ConnectionLost(peer_conn, "closed by peer"))

            self._schedule(arrival - self.now, lost)
        elif not notify_peer:
            peer.peer_conn = -1
