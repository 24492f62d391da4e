"""One link over a socket pair: chat frames and file chunks share it, in order, with no leaks."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest

from p2pchat.core import events as ev
from p2pchat.core.codec import FrameDecoder, encode_frame, frame_prefix
from p2pchat.core.limits import Limits
from p2pchat.core.linkprotocol import AEAD_TAG_BYTES, CHUNK_MARK, LinkProtocol, chunk_tag
from p2pchat.core.messages import Hello, Pong, encode_message
from p2pchat.security.keys import NodeKeys
from p2pchat.security.link import LinkCipher
from p2pchat.transport.budget import InboxBudget
from p2pchat.transport.connection import Connection
from p2pchat.transport.files import FileSpan
from tests.ciphers import linked_ciphers

TIMEOUT = 10.0
LIMITS = Limits()
HEADER = CHUNK_MARK + chunk_tag("0123456789abcdef")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def link(
    ours: socket.socket, cipher: LinkCipher | None = None, posted: list[object] | None = None
) -> Connection:
    post = posted.append if posted is not None else (lambda _: None)
    protocol = LinkProtocol(LIMITS, cipher)
    conn = Connection(1, ours, "test", post, LIMITS, budget=InboxBudget(1 << 20), protocol=protocol)
    conn.start()
    return conn


def read_frames(theirs: socket.socket, count: int) -> list[bytes]:
    decoder = FrameDecoder(LIMITS.max_frame_bytes + AEAD_TAG_BYTES)
    frames: list[bytes] = []
    theirs.settimeout(TIMEOUT)
    while len(frames) < count:
        data = theirs.recv(1 << 16)
        assert data, "the link closed early"
        frames += decoder.feed(data)
    return frames


def test_chunks_go_through_the_kernel_between_chat_frames_in_order(tmp_path: Path) -> None:
    data = os.urandom(3 * LIMITS.file_chunk_bytes)
    path = tmp_path / "src"
    path.write_bytes(data)
    before = open_fds()
    ours, theirs = socket.socketpair()
    conn = link(ours)
    never = threading.Event()
    with path.open("rb") as source:
        step = LIMITS.file_chunk_bytes
        for index in range(3):
            assert conn.send(Pong(index))
            assert conn.send_chunk(HEADER, FileSpan(source.fileno(), index * step, step), never)
        conn.flush()
        frames = read_frames(theirs, 6)
    assert frames[0::2] == [encode_message(Pong(index)) for index in range(3)]
    assert all(f.startswith(HEADER) for f in frames[1::2])
    assert b"".join(f[len(HEADER) :] for f in frames[1::2]) == data
    conn.close(flush=True)
    theirs.close()
    conn.join(TIMEOUT)
    assert conn.finished
    assert open_fds() == before


def test_a_private_link_seals_each_chunk(tmp_path: Path) -> None:
    data = os.urandom(5000)
    path = tmp_path / "src"
    path.write_bytes(data)
    ours, theirs = socket.socketpair()
    cipher, peer = linked_ciphers(bytes(32))
    conn = link(ours, cipher)
    with path.open("rb") as source:
        assert conn.send_chunk(HEADER, FileSpan(source.fileno(), 0, 5000), threading.Event())
    [sealed] = read_frames(theirs, 1)
    assert data not in sealed
    assert peer.open(sealed) == HEADER + data
    conn.close(flush=True)
    theirs.close()
    conn.join(TIMEOUT)


def test_spans_still_queued_when_the_link_is_cut_are_let_go(tmp_path: Path) -> None:
    path = tmp_path / "src"
    path.write_bytes(os.urandom(LIMITS.file_chunk_bytes))
    before = open_fds()
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    conn = link(ours)
    stop = threading.Event()
    queued = 0
    with path.open("rb") as source:
        # Nobody reads the other end: the writer blocks on the first span, the rest wait.
        for _ in range(3):
            span = FileSpan(source.fileno(), 0, LIMITS.file_chunk_bytes)
            queued += conn.send_chunk(HEADER, span, stop)
            if conn.queued_bytes > LIMITS.file_queue_watermark:
                break
    assert queued >= 2
    conn.abort()
    conn.join(TIMEOUT)
    theirs.close()
    assert conn.finished
    with path.open("rb") as source:
        assert not conn.send_chunk(HEADER, FileSpan(source.fileno(), 0, 1), stop)
    assert open_fds() == before


def test_frames_ahead_of_a_large_one_are_delivered_even_if_it_never_completes() -> None:
    ours, theirs = socket.socketpair()
    posted: list[object] = []
    conn = link(ours, posted=posted)
    pong = encode_frame(encode_message(Pong(7)), LIMITS.max_frame_bytes)
    theirs.sendall(pong + frame_prefix(200_000, LIMITS.max_frame_bytes) + bytes(1000))
    theirs.close()  # the large frame stops short
    conn.join(TIMEOUT)
    assert conn.finished
    received = [p for p in posted if hasattr(p, "messages")]
    assert [m for r in received for m in r.messages] == [Pong(7)]  # type: ignore[attr-defined]
    assert isinstance(posted[-1], ev.ConnectionLost)


def test_a_frame_too_large_is_refused_before_it_spends_a_nonce() -> None:

    from p2pchat.core.errors import LocalProtocolError

    ours, theirs = socket.socketpair()
    cipher, peer = linked_ciphers(None)
    conn = link(ours, cipher)
    with pytest.raises(LocalProtocolError):
        conn.send(Pong(1), bytes(LIMITS.max_frame_bytes + 1))
    assert conn.send(Pong(1))
    conn.flush()
    [sealed] = read_frames(theirs, 1)
    assert peer.open(sealed) == encode_message(Pong(1))  # the counter did not move
    conn.close(flush=True)
    theirs.close()
    conn.join(TIMEOUT)


def test_without_sendmsg_frames_are_joined_and_arrive_whole_and_in_order() -> None:
    class NoSendmsg(socket.socket):
        def __getattribute__(self, name: str) -> object:
            if name == "sendmsg":  # as on Windows
                raise AttributeError(name)
            return super().__getattribute__(name)

    a, theirs = socket.socketpair()
    ours = NoSendmsg(a.family, a.type, fileno=a.detach())
    assert not hasattr(ours, "sendmsg")
    conn = link(ours)
    big = os.urandom(200_000)  # a few of these pass JOIN_BYTES: more than one send
    frames = [big if i % 50 == 0 else f"frame {i}".encode() for i in range(500)]
    for frame in frames:  # any payload goes: the link frames what it is given
        assert conn.send(Pong(0), frame)
    conn.flush()
    assert read_frames(theirs, len(frames)) == frames
    conn.close(flush=True)
    theirs.close()
    conn.join(TIMEOUT)
    assert conn.finished and conn.bytes_out == sum(len(f) + 4 for f in frames)


def test_a_link_whose_sends_fail_is_reported_lost_once() -> None:
    ours, theirs = socket.socketpair()
    posted: list[object] = []
    conn = link(ours, posted=posted)
    # The peer reads no more, yet keeps its side open: our send fails first (the writer), and
    # the writer's shutdown then ends the reader's wait too.
    theirs.shutdown(socket.SHUT_RD)
    for _ in range(20):
        if not conn.send(Pong(0), os.urandom(64 * 1024)):
            break
        conn.flush()
    conn.join(TIMEOUT)
    conn.close(flush=False)
    conn.join(TIMEOUT)
    lost = [e for e in posted if isinstance(e, ev.ConnectionLost)]
    assert len(lost) == 1, lost
    assert lost[0].reason.startswith("send failed")
    theirs.close()


def test_our_hello_stays_in_the_clear_even_after_the_cipher_started() -> None:
    # The reader starts the cipher as it decodes the peer's HELLO, which can happen before
    # the node thread sends ours: ours must still go out in the clear (a race seen by hand).
    keys = NodeKeys.generate()
    cipher = LinkCipher(keys.node_id, b"A" * 16, bytes(32))
    peer = LinkCipher("b" * 32, b"B" * 16, bytes(32))
    cipher.start("b" * 32, b"B" * 16, peer.ephemeral_public)
    ours, theirs = socket.socketpair()
    protocol = LinkProtocol(LIMITS, cipher)
    conn = Connection(
        1, ours, "test", lambda _: None, LIMITS, budget=InboxBudget(1 << 20), protocol=protocol
    )  # never started: the frames stay in its queue, to be looked at
    hello = Hello(1, keys.node_id, "-", "-", 1, keys.public_key, keys.dh_public, b"A" * 16, "x")
    assert conn.send(hello)
    assert conn.send(Pong(1))
    frames = FrameDecoder(1 << 20).feed(b"".join(conn._pending))  # type: ignore[arg-type]
    assert json.loads(frames[0])["t"] == "hello"
    peer.start(keys.node_id, b"A" * 16, cipher.ephemeral_public)
    assert json.loads(peer.open(frames[1]))["t"] == "pong"
    ours.close()
    theirs.close()
