"""Node runtimes in this process over real sockets on 127.0.0.1."""

from __future__ import annotations

import json
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.limits import Limits
from p2pchat.security.keys import NodeKeys
from p2pchat.store.log import open_log
from p2pchat.store.trust import TRUST_FILE, TrustStore
from p2pchat.transport.inbox import Inbox
from p2pchat.transport.listener import StartupError
from p2pchat.transport.node import Node, NodeConfig
from tests.rawpeer import RawPeer

WAIT = 10.0


class Views:
    """Collects what a node shows; wait() blocks until a matching view arrives."""

    def __init__(self) -> None:
        self.items: list[vw.View] = []
        self._cond = threading.Condition()

    def __call__(self, view: vw.View) -> None:
        with self._cond:
            self.items.append(view)
            self._cond.notify_all()

    def wait(self, predicate: Callable[[vw.View], bool], count: int = 1) -> list[vw.View]:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: len([v for v in self.items if predicate(v)]) >= count, WAIT
            )
            found = [v for v in self.items if predicate(v)]
        assert ok, f"only {len(found)}/{count} matching views: {self.items[-5:]}"
        return found


@pytest.fixture
def make_node() -> Iterator[Callable[..., tuple[Node, Views]]]:
    nodes: list[Node] = []

    def make(nick: str, limits: Limits | None = None, **kwargs: object) -> tuple[Node, Views]:
        views = Views()
        config = NodeConfig(nick=nick, bind_host="127.0.0.1", limits=limits or Limits(), **kwargs)  # type: ignore[arg-type]
        node = Node(config, NodeKeys.generate(), open_log(None, config.limits), views)
        nodes.append(node)
        node.start()
        return node, views

    yield make
    for node in nodes:
        node.close()


def joined(view: vw.View) -> bool:
    return isinstance(view, vw.PeerJoined)


def test_two_nodes_link_and_chat(make_node: Callable[..., tuple[Node, Views]]) -> None:
    a, a_views = make_node("a")
    _, b_views = make_node("b", static_peers=(("127.0.0.1", a.port),))
    a_views.wait(joined)
    b_views.wait(joined)
    a.post(ev.SendChat("hi b"))
    got = b_views.wait(lambda v: isinstance(v, vw.MessageShown))
    assert got[0].text == "hi b"  # type: ignore[union-attr]


def test_close_is_idempotent_and_joins_threads(
    make_node: Callable[..., tuple[Node, Views]],
) -> None:
    a, _ = make_node("a")
    a.close()
    a.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("p2pchat-")]


def test_port_in_use_is_a_startup_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = NodeConfig(nick="x", bind_host="127.0.0.1", port=taken.getsockname()[1])
        node = Node(config, NodeKeys.generate(), open_log(None, config.limits), lambda v: None)
        with pytest.raises(StartupError, match="address already in use"):
            node.start()
        node.close()


def test_overflowing_peer_is_dropped_and_the_others_get_everything(
    make_node: Callable[..., tuple[Node, Views]],
) -> None:
    limits = Limits(outbound_queue_bytes=1024 * 1024, file_queue_watermark=256 * 1024)
    a, a_views = make_node("a", limits=limits)
    unthrottled = Limits(author_burst=1e9)
    _, b_views = make_node("b", limits=unthrottled, static_peers=(("127.0.0.1", a.port),))
    a_views.wait(joined)
    stuck = RawPeer(a.port, "stuck", rcvbuf=4096)
    try:
        stuck.handshake()
        a_views.wait(joined, count=2)
        # Paced by what b has received, so only the stuck peer's queue can grow without end
        # (12 MB in all: more than its queue plus the kernel's socket buffers).
        batch, batches = 50, 60
        for n in range(batches):
            for i in range(n * batch, (n + 1) * batch):
                a.post(ev.SendChat(f"{i} " + "x" * 4000))
            b_views.wait(lambda v: isinstance(v, vw.MessageShown), count=(n + 1) * batch)
        count = batch * batches
        left = a_views.wait(lambda v: isinstance(v, vw.PeerLeft))
        assert left[0].nick == "stuck"  # type: ignore[union-attr]
        assert left[0].reason == "send queue overflow (peer not reading)"  # type: ignore[union-attr]
        got = b_views.wait(lambda v: isinstance(v, vw.MessageShown), count=count)
        assert [m.text.split()[0] for m in got] == [str(i) for i in range(count)]  # type: ignore[union-attr]
    finally:
        stuck.close()


def test_bad_input_closes_only_that_link(make_node: Callable[..., tuple[Node, Views]]) -> None:
    a, a_views = make_node("a")
    b, _ = make_node("b", static_peers=(("127.0.0.1", a.port),))
    a_views.wait(joined)
    bad = RawPeer(a.port, "bad")
    bad.handshake()
    bad.send_payload(b"{{{")
    bad.drain_until_closed()
    bad.close()
    b.post(ev.SendChat("after the attack"))
    got = a_views.wait(lambda v: isinstance(v, vw.MessageShown))
    assert got[0].text == "after the attack"  # type: ignore[union-attr]
    left = a_views.wait(lambda v: isinstance(v, vw.PeerLeft))
    assert left[0].nick == "bad" and "protocol error" in left[0].reason  # type: ignore[union-attr]


def test_inbox_takes_bounded_batches_that_end_at_a_shutdown() -> None:
    # The node thread is the only consumer; posting from many threads needs no lock.
    inbox = Inbox()
    for i in range(5):
        inbox.put(ev.SendChat(str(i)))
    inbox.put(ev.Shutdown())
    inbox.put(ev.Tick())
    assert inbox.take(None, 3) == [ev.SendChat("0"), ev.SendChat("1"), ev.SendChat("2")]
    assert inbox.take(None, 10) == [ev.SendChat("3"), ev.SendChat("4"), ev.Shutdown()]
    assert inbox.drain() == [ev.Tick()]
    assert inbox.take(time.monotonic(), 10) == [ev.Tick()]  # nothing came in time: a Tick


def test_a_node_takes_only_events_and_commands(
    make_node: Callable[..., tuple[Node, Views]],
) -> None:
    a, _ = make_node("a")
    with pytest.raises(TypeError):
        a.post("hello")
    a.post(ev.ShowPeers())


def test_small_inbox_pushes_back_instead_of_losing(
    make_node: Callable[..., tuple[Node, Views]],
) -> None:
    a, a_views = make_node("a")
    _, b_views = make_node(
        "b", limits=Limits(inbox_bytes=8 * 1024), static_peers=(("127.0.0.1", a.port),)
    )
    a_views.wait(joined)
    count = 500
    for i in range(count):
        a.post(ev.SendChat(f"{i} " + "y" * 1000))
    got = b_views.wait(lambda v: isinstance(v, vw.MessageShown), count=count)
    assert [m.text.split()[0] for m in got] == [str(i) for i in range(count)]  # type: ignore[union-attr]


def test_refusal_reaches_a_peer_that_keeps_talking(
    make_node: Callable[..., tuple[Node, Views]],
) -> None:
    a, _ = make_node("a")
    future = json.dumps(
        {
            "t": "hello",
            "v": 99,
            "id": secrets.token_hex(16),
            "nick": "fut",
            "room": "lobby",
            "port": 0,
        }
    ).encode()
    ping = json.dumps({"t": "ping", "n": 1, "h": "0" * 16, "w": 1.0}).encode()
    for _ in range(10):
        with socket.create_connection(("127.0.0.1", a.port), timeout=WAIT) as sock:
            stop = threading.Event()

            def chatter(s: socket.socket = sock, done: threading.Event = stop) -> None:
                try:
                    s.sendall(struct.pack(">I", len(future)) + future)
                    while not done.is_set():
                        s.sendall(struct.pack(">I", len(ping)) + ping)
                except OSError:
                    pass

            talker = threading.Thread(target=chatter)
            talker.start()
            received = b""
            try:
                while chunk := sock.recv(65536):
                    received += chunk
            except OSError:
                pass
            stop.set()
            talker.join()
            assert b'"code":"version"' in received


def test_finished_links_are_let_go(make_node: Callable[..., tuple[Node, Views]]) -> None:
    a, a_views = make_node("a")
    for i in range(20):
        short = RawPeer(a.port, f"short{i}")
        short.handshake()
        a_views.wait(joined, count=i + 1)
        short.close()
    a_views.wait(lambda v: isinstance(v, vw.PeerLeft), count=20)
    deadline = time.monotonic() + WAIT
    while a._links.held:  # white box: nothing of the old links is kept
        assert time.monotonic() < deadline, a._links.held
        time.sleep(0.05)


def test_refused_connections_start_no_threads(make_node: Callable[..., tuple[Node, Views]]) -> None:
    a, _ = make_node("a", limits=Limits(max_pending_connections=2))
    before = threading.active_count()
    socks = [socket.create_connection(("127.0.0.1", a.port), timeout=WAIT) for _ in range(12)]
    try:
        refused = 0
        for sock in socks[2:]:  # the node closes them at once: we read the end of the stream
            sock.settimeout(WAIT)
            refused += sock.recv(1) == b""
        assert refused == 10
        # Two pending links: a reader and a writer each; nothing for the ten refused.
        assert threading.active_count() - before <= 4
    finally:
        for sock in socks:
            sock.close()


class _CommitWatch:
    """A message log that records which of our texts were committed when each is shown."""

    def __init__(self, limits: Limits) -> None:
        self._log = open_log(None, limits)
        self._added: list[str] = []
        self.committed: set[str] = set()

    def add(self, room: str, chat: object, **kwargs: object) -> None:
        self._added.append(getattr(chat, "text", ""))
        self._log.add(room, chat, **kwargs)  # type: ignore[arg-type]

    def commit(self) -> None:
        self._log.commit()
        self.committed.update(self._added)
        self._added.clear()

    def __getattr__(self, name: str) -> object:
        return getattr(self._log, name)


def test_our_message_is_shown_only_once_it_is_committed() -> None:
    # A node killed between showing and committing lost the message it had shown as sent.
    limits = Limits()
    store = _CommitWatch(limits)
    shown_uncommitted: list[str] = []
    views = Views()

    def on_view(view: vw.View) -> None:
        if isinstance(view, vw.MessageShown) and view.text not in store.committed:
            shown_uncommitted.append(view.text)
        views(view)

    config = NodeConfig(nick="a", bind_host="127.0.0.1", limits=limits)
    node = Node(config, NodeKeys.generate(), store, on_view)  # type: ignore[arg-type]
    node.start()
    try:
        for i in range(20):
            node.post(ev.SendChat(f"line {i}"))
        views.wait(lambda v: isinstance(v, vw.MessageShown), 20)
    finally:
        node.close()
    assert shown_uncommitted == []


class _CountingTrust(TrustStore):
    """Known peers on disk, counting the writes."""

    def __init__(self, data_dir: Path, limits: Limits) -> None:
        super().__init__(data_dir, limits)
        self.writes = 0

    def flush(self) -> None:
        if self.dirty:
            self.writes += 1
        super().flush()


def _trusting_node(tmp_path: Path, limits: Limits) -> tuple[Node, Views, _CountingTrust]:
    views = Views()
    trust = _CountingTrust(tmp_path, limits)
    config = NodeConfig(nick="hub", bind_host="127.0.0.1", limits=limits)
    node = Node(config, NodeKeys.generate(), open_log(None, limits), views, trust=trust)
    node.start()
    return node, views, trust


def _known_nicks(tmp_path: Path) -> set[str]:
    path = tmp_path / TRUST_FILE
    return set(json.loads(path.read_text())) if path.exists() else set()


def test_known_peers_met_in_a_burst_are_written_once_and_all_at_close(tmp_path: Path) -> None:
    # Each write costs two fsyncs on the node thread: a forming mesh must not pay one per peer.
    node, views, trust = _trusting_node(tmp_path, Limits(trust_save_interval=WAIT * 10))
    peers = [RawPeer(node.port, f"peer{i}") for i in range(4)]
    try:
        for i, peer in enumerate(peers):
            peer.handshake()
            views.wait(joined, count=i + 1)
        assert trust.writes == 1  # the first at once; the rest wait for the interval
        assert 1 <= len(_known_nicks(tmp_path)) < len(peers)
    finally:
        node.close()
        for peer in peers:
            peer.close()
    assert trust.writes == 2
    assert _known_nicks(tmp_path) == {f"peer{i}" for i in range(4)}


def test_known_peers_are_written_when_the_interval_is_up(tmp_path: Path) -> None:
    node, views, _ = _trusting_node(tmp_path, Limits(trust_save_interval=0.2))
    peers = [RawPeer(node.port, f"peer{i}") for i in range(3)]
    try:
        for i, peer in enumerate(peers):
            peer.handshake()
            views.wait(joined, count=i + 1)
        deadline = time.monotonic() + WAIT
        while _known_nicks(tmp_path) != {"peer0", "peer1", "peer2"}:
            assert time.monotonic() < deadline, _known_nicks(tmp_path)
            time.sleep(0.05)
    finally:
        node.close()
        for peer in peers:
            peer.close()
