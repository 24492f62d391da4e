"""The node runtime: one thread owns the Mesh core and carries out its actions on real sockets."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import platformdirs

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.addr import format_addr
from p2pchat.core.crypto import Crypto
from p2pchat.core.files import human_size, safe_file_name
from p2pchat.core.history import History
from p2pchat.core.limits import DEFAULT_LIMITS, NONCE_BYTES, Limits
from p2pchat.core.link import LinkProtocol, chunk_tag
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import encode_message
from p2pchat.discovery.interfaces import advertise_addresses
from p2pchat.discovery.layers import DiscoveryLayers
from p2pchat.fsutil import write_atomically
from p2pchat.security.confusables import skeletons
from p2pchat.security.link import LinkCipher
from p2pchat.security.room import room_tag
from p2pchat.store.log import MessageLog
from p2pchat.store.trust import TrustStore
from p2pchat.transport.budget import InboxBudget, Received
from p2pchat.transport.connection import Connection, configure_socket
from p2pchat.transport.files import FilePump, FileSink, hash_file, part_name
from p2pchat.transport.listener import Accepted, Connected, Listener, StartupError, open_listener

log = logging.getLogger(__name__)

OVERFLOW_REASON = "send queue overflow (peer not reading)"
ANNOUNCE_HASHING_BYTES = 64 * 1024 * 1024  # hashing takes a noticeable moment from here
TRANSFERS_FILE = "transfers-{room}.json"  # room: a hash of the room name (offers are per room)

Post = Callable[[object], None]


@dataclass(frozen=True)
class NodeConfig:
    """Everything a node needs to know at start."""

    nick: str
    room: str = "lobby"
    bind_host: str = "0.0.0.0"
    port: int = 0
    port_fallback: bool = False  # the port is taken: listen on any free one, and say so
    interfaces: tuple[str, ...] | None = None  # discovery kept to these (None: all)
    static_peers: tuple[tuple[str, int], ...] = ()
    limits: Limits = field(default=DEFAULT_LIMITS)
    replay_on_start: int | None = None
    room_key: bytes | None = None  # set: a private room
    downloads: Path | None = None  # where received files go (None: the user's downloads)
    state_dir: Path | None = None  # where transfers are remembered (None: nowhere)


class Node:
    """A running chat node: listener, per-peer threads, discovery, and the thread owning state."""

    def __init__(
        self,
        config: NodeConfig,
        crypto: Crypto,
        log: MessageLog,
        on_view: Callable[[vw.View], None],
        discovery: DiscoveryLayers | None = None,
        *,
        on_flush: Callable[[], None] | None = None,
        trust: TrustStore | None = None,
    ) -> None:
        self.config = config
        self.crypto = crypto
        self.node_id = crypto.node_id
        self.room_tag = "" if config.room_key is None else room_tag(config.room_key)
        self._trust = trust or TrustStore(None)
        self._log = log
        self._on_view = on_view
        self._discovery = discovery
        self._limits = config.limits
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._connections: dict[int, Connection] = {}
        self._retiring: dict[int, tuple[Connection, float]] = {}
        self._overflowed: list[int] = []
        self._deferred: list[act.Action] = []
        self._to_flush: set[Connection] = set()
        self._sinks: dict[str, tuple[FileSink, Connection]] = {}
        self._pumps: dict[tuple[int, str], FilePump] = {}
        self._retired_pumps: list[FilePump] = []
        self._jobs: list[threading.Thread] = []
        self._defer_links = False
        self._on_flush = on_flush
        self._closed_traffic = {"bytes_in": 0, "bytes_out": 0, "frames_in": 0}
        self._frames_out = 0
        self._budget = InboxBudget(config.limits.inbox_bytes)
        self._next_conn = 1
        self._listener: Listener | None = None
        self._mesh: Mesh | None = None
        self._thread = threading.Thread(target=self._run, name="p2pchat-node")
        self._stopped = threading.Event()
        self._closed = False
        self._close_lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port the node listens on (the real one when configured as 0)."""
        if self._listener is None:
            raise RuntimeError("node not started")
        return self._listener.port

    def start(self) -> None:
        """Listen, load history, start threads and discovery; raise StartupError if it cannot."""
        config = self.config
        taken = ""
        try:
            sock = open_listener(config.bind_host, config.port)
        except StartupError as exc:
            if not config.port_fallback:
                raise
            sock = open_listener(config.bind_host, 0)
            taken = f"{exc}; listening on port {sock.getsockname()[1]} instead"
        self._listener = Listener(sock, self.post, self._limits)
        transfers = self._load_transfers()
        stored = self._log.load(config.room)
        history = History(self._limits)
        history.restore(stored.messages, stored.floors, time.monotonic())
        self._mesh = Mesh(
            self.crypto,
            config.nick,
            config.room,
            self._listener.port,
            limits=self._limits,
            rng=random.Random(),
            last_seq=self._log.own_seq(config.room, self.node_id),
            history=history,
            replay_on_start=config.replay_on_start,
            room_tag=self.room_tag,
            trusted=self._trust.known(),
            transfers=transfers,
            looks=skeletons,
            seen_directs=self._log.seen_directs(
                config.room,
                time.time() - self._limits.direct_max_age,
                self._limits.max_seen_directs,
            ),
        )
        # Queued before any connection can be, so Ready and the replay come first.
        mdns = self._discovery is not None and "mDNS" in self._discovery.names
        self.post(ev.Started(mdns=mdns, port_taken=taken))
        self._listener.start()
        self._thread.start()
        port = self._listener.port
        if self._discovery is not None:
            self._discovery.start(port, self.post)  # a layer that cannot start says so
        if self.config.static_peers:
            self.post(ev.PeerDiscovered(self.config.static_peers, None, "static"))

    def post(self, event: object) -> None:
        """Hand an event to the node thread (safe from any thread)."""
        self._inbox.put(event)

    def close(self) -> None:
        """Say goodbye, withdraw from mDNS, close sockets, join every thread; idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._thread.is_alive():
            self.post(ev.Shutdown())
            self._thread.join()
        for pump in [*self._pumps.values(), *self._retired_pumps]:
            pump.stop()
        for sink, _ in self._sinks.values():
            sink.abort(delete=False)
        if self._discovery is not None:
            self._discovery.close()
        if self._listener is not None:
            self._listener.close()
        self._drain_inbox()
        self._flush_trust()
        deadline = time.monotonic() + self._limits.flush_timeout
        for conn in self._all_connections():
            conn.join(max(0.0, deadline - time.monotonic()))
        for conn in self._all_connections():
            conn.abort()
            conn.join()
        for thread in [*self._pumps.values(), *self._retired_pumps, *self._jobs]:
            thread.join()
        self._connections.clear()
        self._retiring.clear()

    def __enter__(self) -> Node:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------- node thread

    def _run(self) -> None:
        mesh = self._mesh
        assert mesh is not None
        while True:
            batch = self._next_batch(mesh)
            for item in batch:
                try:
                    self._dispatch(mesh, item)
                except Exception:
                    log.exception("internal error handling %s", type(item).__name__)
            try:
                self._end_batch(mesh)
            except Exception:
                log.exception("internal error finishing a batch")
            self._reap()
            if any(isinstance(item, ev.Shutdown) for item in batch):
                return

    def _next_batch(self, mesh: Mesh) -> list[object]:
        """Wait for work (or the next timer), then take what else is already queued, bounded."""
        wake = _earliest(mesh.next_deadline(), self._retire_deadline())
        try:
            if wake is None:
                first = self._inbox.get()
            else:
                first = self._inbox.get(timeout=max(0.0, wake - time.monotonic()))
        except queue.Empty:
            first = ev.Tick()
        batch = [first]
        while len(batch) < self._limits.node_batch_events and not isinstance(
            batch[-1], ev.Shutdown
        ):
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _end_batch(self, mesh: Mesh) -> None:
        """One commit for the batch, then the sends that had to wait for it, then the UI flush."""
        self._log.commit()
        self._flush_trust()
        self._defer_links = False
        deferred, self._deferred = self._deferred, []
        self._overflowed.clear()
        self._execute(deferred)
        for conn_id in list(self._overflowed):
            self._feed(mesh, ev.ConnectionLost(conn_id, OVERFLOW_REASON))
        for conn in self._to_flush:
            conn.flush()
        self._to_flush.clear()
        if self._on_flush is not None:
            self._on_flush()

    def _dispatch(self, mesh: Mesh, item: object) -> None:
        if isinstance(item, Received):
            self._budget.give(item.nbytes)
            item = ev.FramesReceived(item.conn_id, item.messages)
        elif isinstance(item, ev.ConnectionLost):
            self._retire(item.conn, flush=False)
        elif isinstance(item, ev.ShowStats):
            item = ev.ShowStats(tuple(self._traffic().items()))
        elif isinstance(item, ev.ShowInvite):
            config = self.config
            item = ev.ShowInvite(advertise_addresses(config.bind_host, config.interfaces))
        elif isinstance(item, ev.ShareFile):
            self._start_job(f"hash-{len(self._jobs)}", self._measure, item)
            return
        elif isinstance(item, _FromJob):
            self._show(item.view)
            return
        elif isinstance(item, Accepted | Connected):
            made = self._adopt(item)
            if made is None:
                return
            item = made
        if isinstance(item, ev.Event):
            self._feed(mesh, item)

    def _feed(self, mesh: Mesh, event: ev.Event) -> None:
        """Run one event through the core; overflows found while sending are handled at once."""
        pending = [event]
        while pending:
            self._overflowed.clear()
            self._execute(mesh.handle(pending.pop(0), time.monotonic(), time.time()))
            pending += [ev.ConnectionLost(c, OVERFLOW_REASON) for c in self._overflowed]

    def _adopt(self, item: Accepted | Connected) -> ev.ConnectionMade | None:
        outbound = isinstance(item, Connected)
        assert self._mesh is not None
        refusal = None if outbound else self._mesh.inbound_refusal(item.host, time.monotonic())
        if refusal is not None:
            # Closed before any thread starts for it: a flood of refused connections is cheap.
            item.sock.close()
            log.info("refused %s: %s", format_addr(item.host, item.port), refusal)
            return None
        conn_id = self._next_conn
        self._next_conn += 1
        label = f"{format_addr(item.host, item.port)}#{conn_id}"
        try:
            configure_socket(item.sock, self._limits)
        except OSError as exc:
            log.debug("socket options on %s: %s", label, exc)
        nonce = os.urandom(NONCE_BYTES)
        cipher = LinkCipher(self.node_id, nonce, self.config.room_key)
        ephemeral = cipher.ephemeral_public
        own = self._mesh.own_hello(nonce, ephemeral)  # what the peer's HELLO is judged against
        conn = Connection(
            conn_id,
            item.sock,
            label,
            self.post,
            self._limits,
            budget=self._budget,
            protocol=LinkProtocol(self._limits, cipher, own),
        )
        self._connections[conn_id] = conn
        conn.start()
        return ev.ConnectionMade(conn_id, outbound, item.host, item.port, nonce, ephemeral)

    def _execute(self, actions: list[act.Action]) -> None:
        for action in actions:
            if self._defer_links and isinstance(action, act.Send | act.Close | act.Show):
                # Our own message must be committed before anything leaves after it, and
                # before the screen says it was sent (a crash then would lose it unseen).
                self._deferred.append(action)
                continue
            try:
                self._carry_out(action)
            except Exception:
                # One action that fails (a bug) must not drop the ones after it.
                log.exception("internal error carrying out %s", type(action).__name__)

    def _carry_out(self, action: act.Action) -> None:
        """Do one action of the core."""
        match action:
            case act.Send():
                self._send(action)
            case act.Show():
                self._show(action.view)
            case act.Close():
                self._retire(action.conn, flush=action.flush)
                log.debug("closed link %d: %s", action.conn, action.reason)
            case act.Dial():
                assert self._listener is not None
                self._listener.dial(action.host, action.port)
            case act.Store():
                self._log.add(self.config.room, action.chat, replace=action.replace)
                if action.chat.author == self.node_id:
                    self._defer_links = True
            case act.Rediscover():
                if self._discovery is not None:
                    self._discovery.rediscover()
            case act.RememberDirect():
                self._log.add_seen_direct(self.config.room, action.msg_id, action.ts)
            case act.Trust():
                self._trust.remember(action.nick, action.node_id)
            case (
                act.PrepareReceive()
                | act.FinishReceive()
                | act.AbortReceive()
                | act.ServeFile()
                | act.StopServe()
                | act.SaveTransfers()
            ):
                self._file_action(action)
            case act.Announce():
                if self._discovery is not None:
                    self._discovery.announce(action.nick)
            case act.Log():
                log.log(action.level, "%s", action.text)

    def _send(self, action: act.Send) -> None:
        payload = encode_message(action.message)
        if len(payload) > self._limits.max_frame_bytes:
            # The core builds frames that fit; if one does not, it is not sent (and no link
            # spends a nonce on it), and everything else still goes.
            log.error("not sending a %s of %d bytes", type(action.message).__name__, len(payload))
            return
        self._frames_out += len(action.conns)
        for conn_id in action.conns:
            conn = self._connections.get(conn_id)
            if conn is None:
                continue
            self._to_flush.add(conn)
            if not conn.send(action.message, payload):
                log.warning("dropping %s: %s", conn.label, OVERFLOW_REASON)
                self._retire(conn_id, flush=False)
                self._overflowed.append(conn_id)

    def _file_action(
        self,
        action: act.PrepareReceive
        | act.FinishReceive
        | act.AbortReceive
        | act.ServeFile
        | act.StopServe
        | act.SaveTransfers,
    ) -> None:
        match action:
            case act.PrepareReceive():
                conn = self._connections.get(action.conn)
                if conn is None:
                    return
                self._drop_sink(action.offer.offer_id, delete=False)  # a stale one, if any
                sink = FileSink(action.offer, self._downloads(), self.post, action.offer.author)
                self._sinks[action.offer.offer_id] = (sink, conn)
                conn.chunk_sinks[chunk_tag(action.offer.offer_id)] = sink.write
                self._start_job(
                    f"open-{action.offer.offer_id[:8]}", self._open_sink, sink, action.conn
                )
            case act.FinishReceive():
                entry = self._sinks.pop(action.offer_id, None)
                if entry is not None:
                    sink, conn = entry
                    conn.chunk_sinks.pop(chunk_tag(action.offer_id), None)
                    self._start_job(f"finish-{action.offer_id[:8]}", self._finish_sink, sink)
            case act.AbortReceive():
                if not self._drop_sink(action.offer_id, delete=action.delete) and action.delete:
                    self._delete_parts(action.offer_id)
            case act.ServeFile():
                conn = self._connections.get(action.conn)
                if conn is None:
                    return
                pump = FilePump(
                    conn, action, post=self.post, chunk_bytes=self._limits.file_chunk_bytes
                )
                self._pumps = {k: p for k, p in self._pumps.items() if p.is_alive()}
                self._pumps[(action.conn, action.offer_id)] = pump
                pump.start()
            case act.StopServe():
                stopping = self._pumps.pop((action.conn, action.offer_id), None)
                if stopping is not None:
                    stopping.stop()
                    self._retired_pumps = [p for p in self._retired_pumps if p.is_alive()]
                    self._retired_pumps.append(stopping)
            case act.SaveTransfers():
                self._save_transfers(action.records)

    def _drop_sink(self, offer_id: str, *, delete: bool) -> bool:
        """Stop receiving offer_id (if we were); True if there was a sink to stop."""
        entry = self._sinks.pop(offer_id, None)
        if entry is None:
            return False
        sink, conn = entry
        conn.chunk_sinks.pop(chunk_tag(offer_id), None)
        sink.abort(delete=delete)
        return True

    def _downloads(self) -> Path:
        return self.config.downloads or Path(platformdirs.user_downloads_dir())

    def _open_sink(self, sink: FileSink, conn_id: int) -> None:
        try:
            offset = sink.open()
        except OSError as exc:
            self.post(
                ev.ReceiveFinished(sink.offer.offer_id, False, f"cannot open: {exc.strerror}")
            )
            return
        if sink.failed is None:  # not aborted while it opened
            self.post(ev.ReceiveReady(sink.offer.offer_id, conn_id, offset))

    def _finish_sink(self, sink: FileSink) -> None:
        ok, detail = sink.finish()
        self.post(ev.ReceiveFinished(sink.offer.offer_id, ok, detail))

    def _measure(self, request: ev.ShareFile) -> None:
        with contextlib.suppress(OSError):
            size = Path(request.path).expanduser().stat().st_size
            if size >= ANNOUNCE_HASHING_BYTES:
                notice = vw.Notice(f"checking {request.path} ({human_size(size)}) to offer it")
                self.post(_FromJob(notice))
        try:
            name, size, digest, mtime_ns = hash_file(request.path)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.post(_FromJob(vw.Problem(f"cannot share {request.path}: {reason}")))
            return
        path = str(Path(request.path).expanduser().resolve())
        # The offered name is already a safe one: peers reject control characters in names.
        offer = ev.OfferFile(path, safe_file_name(name), size, digest, request.target, mtime_ns)
        self.post(offer)

    def _start_job(self, name: str, target: Callable[..., None], *args: object) -> None:
        job = threading.Thread(target=target, args=args, name=f"p2pchat-{name}")
        self._jobs = [j for j in self._jobs if j.is_alive()]
        self._jobs.append(job)
        job.start()

    def _delete_parts(self, offer_id: str) -> None:
        for part in self._downloads().glob(part_name("*", offer_id)):
            with contextlib.suppress(OSError):
                part.unlink()

    def _load_transfers(self) -> list[dict[str, object]]:
        state_dir = self.config.state_dir
        if state_dir is None:
            return []
        try:
            data = json.loads(self._transfers_path(state_dir).read_text())
        except (OSError, ValueError):
            return []
        return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []

    def _transfers_path(self, state_dir: Path) -> Path:
        room = hashlib.sha256(self.config.room.encode()).hexdigest()[:16]
        return state_dir / TRANSFERS_FILE.format(room=room)

    def _save_transfers(self, records: tuple[dict[str, object], ...]) -> None:
        state_dir = self.config.state_dir
        if state_dir is None:
            return
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            data = json.dumps(list(records), indent=1).encode()
            write_atomically(self._transfers_path(state_dir), data)
        except OSError as exc:
            log.warning("cannot save transfers: %s", exc)

    def _flush_trust(self) -> None:
        try:
            self._trust.flush()
        except OSError as exc:
            log.warning("cannot save known peers: %s", exc.strerror or exc)

    def _show(self, view: vw.View) -> None:
        try:
            self._on_view(view)
        except Exception:
            log.exception("user interface failed to show %s", type(view).__name__)

    def _retire(self, conn_id: int, *, flush: bool) -> None:
        conn = self._connections.pop(conn_id, None)
        if conn is None:
            return
        conn.close(flush=flush)
        self._retiring[conn_id] = (conn, time.monotonic() + self._limits.flush_timeout)

    def _retire_deadline(self) -> float | None:
        return min((d for _, d in self._retiring.values()), default=None)

    def _reap(self) -> None:
        now = time.monotonic()
        for conn_id, (conn, deadline) in list(self._retiring.items()):
            if conn.finished:
                conn.join()
                del self._retiring[conn_id]
                self._closed_traffic["bytes_in"] += conn.bytes_in
                self._closed_traffic["bytes_out"] += conn.bytes_out
                self._closed_traffic["frames_in"] += conn.frames_in
            elif now >= deadline:
                conn.abort()

    def _traffic(self) -> dict[str, int]:
        totals = dict(self._closed_traffic)
        for conn in self._all_connections():
            totals["bytes_in"] += conn.bytes_in
            totals["bytes_out"] += conn.bytes_out
            totals["frames_in"] += conn.frames_in
        totals["frames_out"] = self._frames_out
        return totals

    def _all_connections(self) -> list[Connection]:
        return [*self._connections.values(), *(c for c, _ in self._retiring.values())]

    def _drain_inbox(self) -> None:
        # Sockets handed over after the node thread stopped still need closing.
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Accepted | Connected):
                item.sock.close()


def _earliest(*times: float | None) -> float | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


@dataclass(frozen=True, slots=True)
class _FromJob:
    """A view from a job thread, shown by the node thread (which flushes the UI after)."""

    view: vw.View
