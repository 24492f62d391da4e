"""A small toolkit of hostile peers over real sockets, built on tests/rawpeer.py.

Everything here talks to 127.0.0.0/8 only (each address is checked): a raw member that keeps its
link alive and records what it gets (`Session`), a socket that nodes dial (`Listener`), a man in
the middle who passes one node's handshake on to another (`HandshakeRelay`) or every frame
between two nodes (`Relay`), identities planted in a data dir before a node first starts, and
builders for the frames an attacker sends (batches with floors, syncs, pings, gossip).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from blake3 import blake3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from p2pchat.core.crypto import chat_signing_bytes, offer_signing_bytes
from p2pchat.core.errors import ProtocolError
from p2pchat.core.limits import PROTOCOL_VERSION
from p2pchat.core.messages import (
    MAX_COUNTER,
    Auth,
    Chat,
    ErrorFrame,
    FileOffer,
    FileRequest,
    FileStop,
    Hello,
    Message,
    PeerAddress,
    PeerList,
    Ping,
    Pong,
    SyncBatch,
    SyncRequest,
    decode_message,
    encode_message,
    with_fields,
)
from p2pchat.security.keys import KEY_FILE, NodeKeys
from p2pchat.security.link import LinkCipher
from tests.rawpeer import LIMITS, TIMEOUT, RawPeer, frame

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
FOREVER = MAX_COUNTER  # the largest seq the wire allows: a floor meant to silence an author
WAIT = 10.0


def loopback(host: str) -> str:
    """host, if it is a loopback address; these tests never touch any other network."""
    if ipaddress.ip_address(host) not in LOOPBACK:
        raise AssertionError(f"{host} is not in {LOOPBACK}: hostile tests stay on loopback")
    return host


# ------------------------------------------------------------------ identities


def plant_identity(data_dir: Path) -> NodeKeys:
    """Keys written to data_dir before a node first starts there: we know its ID in advance."""
    signing, dh = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    raw, fmt = serialization.Encoding.Raw, serialization.PrivateFormat.Raw
    none = serialization.NoEncryption()
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    path.write_bytes(signing.private_bytes(raw, fmt, none) + dh.private_bytes(raw, fmt, none))
    path.chmod(0o600)
    return NodeKeys(signing, dh)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at host right now (for addresses that must not answer)."""
    with socket.socket() as sock:
        sock.bind((loopback(host), 0))
        port: int = sock.getsockname()[1]
    return port


# ---------------------------------------------------------------- frame builders


def signed_chat(
    keys: NodeKeys,
    seq: int,
    text: str,
    *,
    nick: str = "raw",
    lamport: int | None = None,
    ts: float | None = None,
    room: str = "lobby",
) -> Chat:
    """A room message by keys with any seq, nick, clock and time, validly signed."""
    unsigned = Chat(
        keys.node_id,
        seq,
        lamport or seq,
        time.time() if ts is None else ts,
        nick,
        text,
        keys.public_key,
    )
    return with_fields(unsigned, signature=keys.sign(chat_signing_bytes(room, unsigned)))


def batch(
    floors: dict[str, int] | None = None, msgs: Iterable[Chat] = (), *, more: bool = False
) -> SyncBatch:
    """A `batch` frame: messages and floors of our choosing."""
    return SyncBatch(tuple(msgs), dict(floors or {}), more)


def sync_request(versions: dict[str, int] | None = None, horizon: int = 0) -> SyncRequest:
    """A `sync` frame (by default: "I hold nothing, send me everything")."""
    return SyncRequest(dict(versions or {}), horizon)


def ping(nonce: int, digest: str = "0" * 16) -> Ping:
    """A `ping` frame whose digest (by default) matches nobody's history."""
    return Ping(nonce, digest, time.time())


def junk_addresses(count: int, port: int, prefix: tuple[int, int] = (127, 66)) -> list[PeerAddress]:
    """count made-up members at prefix.a.b:port, each with a random node ID (never real)."""
    out = []
    for i in range(count):
        host = loopback(f"{prefix[0]}.{prefix[1]}.{i // 250 + 1}.{i % 250 + 1}")
        out.append(PeerAddress(os.urandom(16).hex(), host, port))
    return out


def peer_lists(addresses: list[PeerAddress], *, complete: bool = False) -> list[PeerList]:
    """`peers` frames carrying addresses, as many as the per-frame limit needs."""
    size = LIMITS.max_gossip_peers
    return [
        PeerList(tuple(addresses[i : i + size]), complete) for i in range(0, len(addresses), size)
    ]


def offer_by(
    keys: NodeKeys, name: str, data: bytes, *, room: str = "lobby", to: str = ""
) -> FileOffer:
    """A file offer signed by keys (which need not be the sender's: offers in another's name)."""
    unsigned = FileOffer(
        os.urandom(8).hex(),
        keys.node_id,
        to,
        name,
        len(data),
        blake3(data).hexdigest(),
        time.time(),
        keys.public_key,
        b"",
    )
    return with_fields(unsigned, signature=keys.sign(offer_signing_bytes(room, unsigned)))


def error_frame(code: str, text: str, version: int = PROTOCOL_VERSION) -> bytes:
    """An `error` frame payload (in the clear before the cipher starts)."""
    return encode_message(ErrorFrame(code, text, version))


# ----------------------------------------------------------------------- sockets


class Listener:
    """A listening socket on loopback that nodes dial (`--peer`, gossip); we accept by hand."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((loopback(host), port))
        self.sock.listen(16)
        self.host, self.port = self.sock.getsockname()[:2]

    @property
    def addr(self) -> str:
        """host:port, as --peer takes it."""
        return f"{self.host}:{self.port}"

    def accept(self, timeout: float = WAIT) -> socket.socket:
        """The next connection a node made to us; fail after timeout."""
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        return conn

    def close(self) -> None:
        self.sock.close()


class Tarpit:
    """Listening sockets on one loopback address that accept every connection and never say a
    word: each dial to them holds the dialler's slot until its handshake deadline."""

    def __init__(self, count: int, host: str = "127.66.250.1") -> None:
        self.host = loopback(host)
        self.accepted = 0
        self._selector = selectors.DefaultSelector()
        self._held: list[socket.socket] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self.ports: list[int] = []
        for _ in range(count):
            sock = socket.socket()
            sock.bind((self.host, 0))
            sock.listen(16)
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ)
            self.ports.append(sock.getsockname()[1])
        self._thread = threading.Thread(target=self._run, name="tarpit")
        self._thread.start()

    def addresses(self) -> list[PeerAddress]:
        """Each of our listeners as a made-up member, with a random node ID."""
        return [PeerAddress(os.urandom(16).hex(), self.host, port) for port in self.ports]

    def wait_accepted(self, count: int, timeout: float = WAIT) -> None:
        """Wait until count connections came in."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.accepted < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"tarpit: {self.accepted}/{count} dials in {timeout}s")
                self._cond.wait(remaining)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()
        for sock in self._held:
            sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(0.05):
                listener: socket.socket = key.fileobj  # type: ignore[assignment]
                with contextlib.suppress(BlockingIOError):
                    conn, _ = listener.accept()
                    self._held.append(conn)
                    with self._cond:
                        self.accepted += 1
                        self._cond.notify_all()


def closed_by_peer(sock: socket.socket, timeout: float = WAIT) -> bytes:
    """Read until the other side closes; return what came. Fail if it stays open past timeout."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"the link stayed open for {timeout}s") from None
    return data


# ----------------------------------------------------------------------- session


class Session:
    """A raw peer after its handshake: a reader thread keeps every frame it gets.

    It answers pings (so the node keeps the link) and, unless told otherwise, answers each
    `sync` with an empty batch (so it holds none of the node's few sync slots). Sends are
    serialised, so the link cipher's counter stays in order whichever thread sends.
    """

    def __init__(self, peer: RawPeer, *, answer_syncs: bool = True) -> None:
        self.peer = peer
        self.answer_syncs = answer_syncs
        self.received: list[Message] = []
        self.closed = False
        self.close_reason = ""
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name=f"hostile-{peer.nick}")
        peer.sock.settimeout(None)
        # Frames leave at once: with Nagle a frame can wait for the ACK of the one before
        # (a delayed ACK: 40 ms), long enough to lose a race it is meant to win.
        peer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._thread.start()

    @classmethod
    @contextlib.contextmanager
    def member(cls, port: int, nick: str = "raw", **kwargs: Any) -> Iterator[Session]:
        """A raw member linked to the node at port (kwargs: answer_syncs, and as for RawPeer)."""
        answer_syncs = kwargs.pop("answer_syncs", True)
        for where in ("host", "source"):
            if kwargs.get(where) is not None:
                loopback(kwargs[where])
        peer = RawPeer(port, nick, **kwargs)
        try:
            peer.handshake()
        except BaseException:
            peer.close()
            raise
        session = cls(peer, answer_syncs=answer_syncs)
        try:
            yield session
        finally:
            session.close()

    @property
    def node_id(self) -> str:
        return self.peer.node_id

    @property
    def their_hello(self) -> Hello:
        assert self.peer.their_hello is not None
        return self.peer.their_hello

    def chat(self, seq: int, text: str, **kwargs: Any) -> Chat:
        """A room message signed by this peer, dated now (kwargs as for signed_chat)."""
        kwargs.setdefault("nick", self.peer.nick)
        return signed_chat(self.peer.keys, seq, text, room=self.peer.room, **kwargs)

    def send(self, *messages: Message) -> None:
        """Send frames, all in one write."""
        with self._send_lock:
            self.peer.send_many(list(messages))

    def send_payload(self, payload: bytes) -> None:
        """One frame of any payload, sealed."""
        with self._send_lock:
            self.peer.send_payload(payload)

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are (e.g. a frame in the clear on an encrypted link)."""
        with self._send_lock:
            self.peer.send_raw(data)

    def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float = WAIT, what: str = ""
    ) -> Message:
        """The first frame received that matches predicate; fail after timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.received:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed:
                    raise AssertionError(
                        f"{self.peer.nick}: no frame {what or predicate} within {timeout}s "
                        f"(closed={self.closed} {self.close_reason}); last {self.received[-3:]}"
                    )
                self._cond.wait(remaining)

    def round_trip(self, timeout: float = WAIT) -> int:
        """Send a `fetch` for an offer nobody made and wait for its `filestop`.

        The node handles a link's frames in order, so once this returns it has handled
        everything sent before. Returns how many frames had been received by then.
        """
        offer_id = os.urandom(8).hex()
        self.send(FileRequest(offer_id, 0))
        self.wait_for(
            lambda m: isinstance(m, FileStop) and m.offer_id == offer_id, timeout, "filestop"
        )
        with self._cond:
            return len(self.received)

    def count(self, kind: type[Message], upto: int | None = None) -> int:
        """How many frames of kind arrived (among the first upto)."""
        with self._cond:
            return sum(1 for m in self.received[:upto] if isinstance(m, kind))

    def wait_closed(self, timeout: float = WAIT) -> str:
        """Wait until the node ends the link; return why the reader stopped."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.peer.nick}: link still open after {timeout}s")
                self._cond.wait(remaining)
            return self.close_reason

    def close(self) -> None:
        """End the link and the reader thread."""
        with contextlib.suppress(OSError):
            self.peer.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join()
        self.peer.close()

    def _read(self) -> None:
        reason = "closed"
        try:
            while True:
                payload = self.peer.recv_frame()
                if payload[:1] != b"{":
                    continue  # a file chunk
                message = decode_message(payload, LIMITS)
                if isinstance(message, Ping):
                    self.send(Pong(message.nonce))
                elif isinstance(message, SyncRequest) and self.answer_syncs:
                    self.send(batch())
                with self._cond:
                    self.received.append(message)
                    self._cond.notify_all()
        except (AssertionError, OSError, ProtocolError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            with self._cond:
                self.closed = True
                self.close_reason = reason
                self._cond.notify_all()


# ------------------------------------------------------------------------ relays


class HandshakeRelay:
    """Eve tries to pass one node's handshake on to another, to pose as it (attack on v2).

    She dials the victim (Bob) and reads his HELLO; she dials the node to impersonate (Alice)
    with a HELLO of her own that carries Bob's nonce, and reads Alice's HELLO and AUTH. Then
    `pass_on` gives Alice's HELLO and AUTH to Bob, as if Alice were on Eve's socket.
    """

    def __init__(self, victim_port: int, target_port: int, source: str, nick: str = "eve") -> None:
        self.to_victim = RawPeer(victim_port, nick, source=loopback(source))
        self.to_target: RawPeer | None = None
        try:
            victim_hello = self.to_victim.recv()
            assert isinstance(victim_hello, Hello), victim_hello
            self.victim_hello = victim_hello
            self.to_target = RawPeer(
                target_port, nick, source=loopback(source), nonce=victim_hello.nonce
            )
            self.to_target.send(self.to_target.hello())
            target_hello = self.to_target.recv()
            assert isinstance(target_hello, Hello), target_hello
            self.target_hello = target_hello
            self.to_target.cipher.start(target_hello.node_id, target_hello.nonce, target_hello.ek)
            target_auth = self.to_target.recv()
            assert isinstance(target_auth, Auth), target_auth
            self.target_auth = target_auth
        except BaseException:
            self.close()
            raise

    def pass_on(self, *, own_ek: bool) -> None:
        """Give the target's HELLO and AUTH to the victim.

        own_ek False: both exactly as they came; the AUTH goes in the clear, since Eve holds no
        key of the victim's link. own_ek True: Eve puts her own ephemeral key in the HELLO, so
        the victim can open her AUTH frame, and only the signature is left to judge.
        """
        hello, auth = self.target_hello, self.target_auth
        victim = self.to_victim
        if not own_ek:
            victim.send(hello)
            victim.send_raw(frame(encode_message(auth)))
            return
        cipher = LinkCipher(hello.node_id, hello.nonce)
        victim.cipher = cipher
        victim.send(with_fields(hello, ek=cipher.ephemeral_public))
        cipher.start(self.victim_hello.node_id, self.victim_hello.nonce, self.victim_hello.ek)
        victim.send(auth)

    def victim_frames(self) -> list[Message]:
        """What the victim sent after its HELLO, until it closed the link (own_ek only: Eve
        holds the keys of that link then)."""
        frames = []
        while True:
            try:
                frames.append(self.to_victim.recv())
            except (AssertionError, ConnectionResetError):
                return frames

    def close(self) -> None:
        self.to_victim.close()
        if self.to_target is not None:
            self.to_target.close()


class Relay:
    """Eve between two nodes: she dials both, hands each the other's HELLO, then passes every
    frame on unchanged, keeps a copy of all bytes, and can slip in frames of her own."""

    def __init__(self, left_port: int, right_port: int, source: str) -> None:
        self.captured = bytearray()
        self.frames: dict[str, list[bytes]] = {"left": [], "right": []}  # by destination
        self._lock = threading.Lock()
        self._send_locks = {"left": threading.Lock(), "right": threading.Lock()}
        self._socks: dict[str, socket.socket] = {}
        self._threads: list[threading.Thread] = []
        try:
            for side, port in (("left", left_port), ("right", right_port)):
                sock = socket.socket()
                self._socks[side] = sock
                sock.bind((loopback(source), 0))
                sock.settimeout(TIMEOUT)
                sock.connect(("127.0.0.1", port))
            hellos = {side: _read_frame(sock) for side, sock in self._socks.items()}
        except BaseException:
            self.close()
            raise
        for sock in self._socks.values():
            sock.settimeout(None)
        self.hellos = {side: decode_message(h, LIMITS) for side, h in hellos.items()}
        self._socks["right"].sendall(frame(hellos["left"]))
        self._socks["left"].sendall(frame(hellos["right"]))
        for src, dst in (("left", "right"), ("right", "left")):
            thread = threading.Thread(target=self._pump, args=(src, dst), name=f"relay-{src}")
            self._threads.append(thread)
            thread.start()

    def inject(self, side: str, payload: bytes) -> None:
        """One frame of ours, between two relayed ones, to the node on side."""
        with self._send_locks[side]:
            self._socks[side].sendall(frame(payload))

    def sent_to(self, side: str) -> list[bytes]:
        """Payloads relayed to side so far."""
        with self._lock:
            return list(self.frames[side])

    def close(self) -> None:
        for sock in self._socks.values():
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join()
        for sock in self._socks.values():
            sock.close()

    def _pump(self, src: str, dst: str) -> None:
        source, target = self._socks[src], self._socks[dst]
        try:
            while True:
                payload = _read_frame(source)
                with self._lock:
                    self.captured += payload
                    self.frames[dst].append(payload)
                with self._send_locks[dst]:
                    target.sendall(frame(payload))
        except (OSError, EOFError):
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)


def _read_frame(sock: socket.socket) -> bytes:
    header = _read_exactly(sock, 4)
    (length,) = struct.unpack(">I", header)
    return _read_exactly(sock, length)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data
