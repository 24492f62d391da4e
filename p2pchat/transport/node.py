"""The node runtime: one thread owns the Mesh core and carries out its actions on real sockets."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import assert_never

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.addr import format_addr
from p2pchat.core.crypto import Crypto
from p2pchat.core.history import History
from p2pchat.core.limits import DEFAULT_LIMITS, NONCE_BYTES, Limits
from p2pchat.core.linkprotocol import LinkProtocol
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import encode_message
from p2pchat.core.transcript import direct_views, in_transcript_order, message_views
from p2pchat.discovery.interfaces import advertise_addresses
from p2pchat.discovery.layers import DiscoveryLayers
from p2pchat.security.confusables import skeletons
from p2pchat.security.link import LinkCipher
from p2pchat.security.room import room_tag
from p2pchat.store.log import NO_FTS_NOTICE, MessageLog, ids_and_answered
from p2pchat.store.transfers import TransferBook
from p2pchat.store.trust import TrustStore
from p2pchat.transport.budget import InboxBudget, Received
from p2pchat.transport.connection import Connection
from p2pchat.transport.inbox import Inbox, InboxItem, JobView
from p2pchat.transport.links import Links
from p2pchat.transport.listener import Accepted, Connected, Listener, StartupError, open_listener
from p2pchat.transport.transfers import FileTransfers

log = logging.getLogger(__name__)
Post = Callable[[ev.NodeInput], None]  # how the UI and the CLI hand the node what to do

OVERFLOW_REASON = "send queue overflow (peer not reading)"
SEARCH_HITS = 50  # messages /search shows at most


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
        self._inbox = Inbox()
        self._budget = InboxBudget(config.limits.inbox_bytes)
        self._links = Links(self._limits, self._inbox.put, self._budget)
        self._overflowed: list[int] = []
        self._deferred: list[act.Action] = []
        self._fts_told = False  # the notice that search is slow without FTS5, once
        self._to_flush: set[Connection] = set()
        self._defer_links = False
        self._on_flush = on_flush
        self._frames_out = 0
        self._book = TransferBook(config.state_dir, config.room)
        self._trust_saved = -config.limits.trust_save_interval  # when known peers were written
        self._trust_due: float | None = None  # when they are to be written next
        self._files = FileTransfers(
            self._links.get,
            self._inbox.put,
            self._limits,
            downloads=config.downloads,
            book=self._book,
        )
        self._listener: Listener | None = None
        self._mesh: Mesh | None = None
        self._thread = threading.Thread(target=self._run, name="p2pchat-node")
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
        self._listener = Listener(sock, self._inbox.put, self._limits)
        transfers = self._book.load()
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
            directs=self._log.directs.directs(config.room, self._limits.replay_directs),
            held=self._log.directs.held(config.room, time.time(), self._limits.max_held),
            known=self._log.directs.known(config.room, self._limits.max_known_members),
        )
        # Queued before any connection can be, so Ready and the replay come first.
        mdns = self._discovery is not None and "mDNS" in self._discovery.names
        self._inbox.put(ev.Started(mdns=mdns, port_taken=taken))
        self._listener.start()
        self._thread.start()
        port = self._listener.port
        if self._discovery is not None:
            self._discovery.start(port, self.post)  # a layer that cannot start says so
        if self.config.static_peers:
            self._inbox.put(ev.PeerDiscovered(self.config.static_peers, None, "static"))

    def post(self, item: object) -> None:
        """Hand an event or command (ev.NodeInput) to the node thread, from any thread;
        TypeError for anything else."""
        if not isinstance(item, ev.NodeInput):
            raise TypeError(f"a node takes events and commands, not {type(item).__name__}")
        self._inbox.put(item)

    def close(self) -> None:
        """Say goodbye, withdraw from mDNS, close sockets, join every thread; idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._thread.is_alive():
            self._inbox.put(ev.Shutdown())
            self._thread.join()
        self._files.stop()
        if self._discovery is not None:
            self._discovery.close()
        if self._listener is not None:
            self._listener.close()
        self._drain_inbox()
        self._flush_trust()
        self._links.close()
        self._files.close()

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
            wake = _earliest(mesh.next_deadline(), self._links.deadline(), self._trust_due)
            batch = self._inbox.take(wake, self._limits.node_batch_events)
            for item in batch:
                try:
                    self._dispatch(mesh, item)
                except Exception:
                    log.exception("internal error handling %s", type(item).__name__)
            try:
                self._end_batch(mesh)
            except Exception:
                log.exception("internal error finishing a batch")
            self._links.reap()
            if any(isinstance(item, ev.Shutdown) for item in batch):
                return

    def _end_batch(self, mesh: Mesh) -> None:
        """One commit for the batch, then the sends that had to wait for it, then the UI flush,
        then known peers, should they be due (their fsyncs delay no frame)."""
        self._log.commit()
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
        self._save_trust(time.monotonic())

    def _dispatch(self, mesh: Mesh, item: InboxItem) -> None:
        """Turn one inbox item into what the core takes, or handle it here."""
        match item:
            case Received():
                self._budget.give(item.nbytes)
                self._feed(mesh, ev.FramesReceived(item.conn_id, item.messages))
            case Accepted() | Connected():
                made = self._adopt(mesh, item)
                if made is not None:
                    self._feed(mesh, made)
            case ev.ShareFile():
                self._files.share(item)
            case ev.SearchLog():
                self._search(mesh, item.words)
            case JobView():
                self._show(item.view)
            case ev.ConnectionLost():
                self._links.retire(item.conn, flush=False)
                self._feed(mesh, item)
            case ev.ShowStats():
                traffic = self._links.traffic(self._frames_out)
                self._feed(mesh, ev.ShowStats(traffic.counters()))
            case ev.ShowInvite():
                config = self.config
                addresses = advertise_addresses(config.bind_host, config.interfaces)
                self._feed(mesh, ev.ShowInvite(addresses))
            case _:
                self._feed(mesh, item)

    def _feed(self, mesh: Mesh, event: ev.Event) -> None:
        """Run one event through the core; overflows found while sending are handled at once."""
        pending = [event]
        while pending:
            self._overflowed.clear()
            self._execute(mesh.handle(pending.pop(0), time.monotonic(), time.time()))
            pending += [ev.ConnectionLost(c, OVERFLOW_REASON) for c in self._overflowed]

    def _adopt(self, mesh: Mesh, item: Accepted | Connected) -> ev.ConnectionMade | None:
        """Start a link for a socket the listener handed over, unless the core refuses it."""
        outbound = isinstance(item, Connected)
        refusal = None if outbound else mesh.inbound_refusal(item.host, time.monotonic())
        if refusal is not None:
            # Closed before any thread starts for it: a flood of refused connections is cheap.
            item.sock.close()
            log.info("refused %s: %s", format_addr(item.host, item.port), refusal)
            return None
        nonce = os.urandom(NONCE_BYTES)
        cipher = LinkCipher(self.node_id, nonce, self.config.room_key)
        ephemeral = cipher.ephemeral_public
        own = mesh.own_hello(nonce, ephemeral)  # what the peer's HELLO is judged against
        protocol = LinkProtocol(self._limits, cipher, own)
        conn = self._links.open(item.sock, item.host, item.port, protocol)
        return ev.ConnectionMade(conn.conn_id, outbound, item.host, item.port, nonce, ephemeral)

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
            case act.PauseReading():
                paused = self._links.get(action.conn)
                if paused is not None:
                    paused.pause_reading(action.seconds)
            case act.Close():
                self._links.retire(action.conn, flush=action.flush)
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
            case act.StoreDirect():
                self._log.directs.add(self.config.room, action.row)
                if action.row.own:
                    self._defer_links = True  # committed before it is sent or shown
            case act.SetDirectStatus():
                self._log.directs.set_status(self.config.room, action.msg_id, action.status)
            case act.Hold():
                self._log.directs.hold(self.config.room, action.held)
            case act.Release():
                self._log.directs.release(self.config.room, action.key)
            case act.RememberMember():
                self._log.directs.remember(self.config.room, action.member)
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
                self._files.carry_out(action)
            case act.Announce():
                if self._discovery is not None:
                    self._discovery.announce(action.nick)
            case act.Log():
                log.log(action.level, "%s", action.text)
            case _:
                assert_never(action)

    def _send(self, action: act.Send) -> None:
        payload = encode_message(action.message)
        if len(payload) > self._limits.max_frame_bytes:
            # The core builds frames that fit; if one does not, it is not sent (and no link
            # spends a nonce on it), and everything else still goes.
            log.error("not sending a %s of %d bytes", type(action.message).__name__, len(payload))
            return
        self._frames_out += len(action.conns)
        for conn_id in action.conns:
            conn = self._links.get(conn_id)
            if conn is None:
                continue
            self._to_flush.add(conn)
            if not conn.send(action.message, payload):
                log.warning("dropping %s: %s", conn.label, OVERFLOW_REASON)
                self._links.retire(conn_id, flush=False)
                self._overflowed.append(conn_id)

    def _save_trust(self, now: float) -> None:
        """Write known peers if they changed, at most once per trust_save_interval: a forming
        mesh meets a new nick with each peer, and each write costs two fsyncs."""
        if not self._trust.dirty:
            self._trust_due = None
            return
        due = self._trust_saved + self._limits.trust_save_interval
        if now < due:
            self._trust_due = due
            return
        self._trust_saved = now
        self._trust_due = None
        self._flush_trust()

    def _flush_trust(self) -> None:
        try:
            self._trust.flush()
        except OSError as exc:
            log.warning("cannot save known peers: %s", exc.strerror or exc)

    def _search(self, mesh: Mesh, words: str) -> None:
        """Answer /search from the log (the node thread owns it): the newest SEARCH_HITS of the
        room's messages and DMs together."""
        room = self.config.room
        if not self._log.indexed and not self._fts_told:
            self._fts_told = True
            self._show(vw.Notice(NO_FTS_NOTICE))
        hits = [chat for _, chat in self._log.search(room, words, SEARCH_HITS)]
        entries = self._log.about(room, ids_and_answered(hits))
        views = message_views(hits, entries, mesh.display_name, self.node_id)
        directs = [direct for _, direct in self._log.search_directs(room, words, SEARCH_HITS)]
        found = in_transcript_order(
            views, direct_views(directs, mesh.display_name), newest_first=True
        )
        self._show(vw.SearchResults(words, tuple(found[:SEARCH_HITS])))

    def _show(self, view: vw.View) -> None:
        try:
            self._on_view(view)
        except Exception:
            log.exception("user interface failed to show %s", type(view).__name__)

    def _drain_inbox(self) -> None:
        # Sockets handed over after the node thread stopped still need closing.
        for item in self._inbox.drain():
            if isinstance(item, Accepted | Connected):
                item.sock.close()


def _earliest(*times: float | None) -> float | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None
