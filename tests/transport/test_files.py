"""Moving file bytes: the sink that writes, checks and places a file; the pump that streams it."""

from __future__ import annotations

import errno
import io
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from blake3 import blake3

from p2pchat.core import events as ev
from p2pchat.core.actions import ServeFile
from p2pchat.core.errors import ProtocolError
from p2pchat.core.linkprotocol import CHUNK_MARK, chunk_tag
from p2pchat.core.messages import FileOffer
from p2pchat.transport.files import FilePump, FileSink, FileSpan
from p2pchat.transport.transfers import hash_file

OFFER_ID = "0123456789abcdef"


def offer_of(data: bytes, name: str = "notes.txt") -> FileOffer:
    digest = blake3(data).hexdigest()
    return FileOffer(OFFER_ID, "a" * 32, "", name, len(data), digest, 1.0, b"k" * 32, b"s" * 64)


class Posted(list[object]):
    """Collects what a sink or pump posts, from any thread; calls on_finished on a finish."""

    on_finished: Callable[[], None] = staticmethod(lambda: None)

    def __call__(self, item: object) -> None:
        self.append(item)
        if isinstance(item, ev.ReceiveFinished):
            self.on_finished()


@pytest.fixture
def sinks() -> Iterator[list[FileSink]]:
    """Sinks made by a test, stopped after it (each has a hashing thread once opened)."""
    made: list[FileSink] = []
    yield made
    for sink in made:
        sink.abort(delete=False)


def sink_of(
    sinks: list[FileSink],
    offer: FileOffer,
    downloads: Path,
    posted: Posted | None = None,
    append: Callable[[Path], BinaryIO] | None = None,
) -> FileSink:
    sink = FileSink(
        offer, downloads, posted if posted is not None else Posted(), "peer", append=append
    )
    sinks.append(sink)
    return sink


def feed(sink: FileSink, data: bytes, chunk: int = 1000) -> None:
    for start in range(0, len(data), chunk):
        sink.write(memoryview(data[start : start + chunk]))


def test_a_file_arrives_under_its_name_and_only_after_its_check(
    sinks: list[FileSink], tmp_path: Path
) -> None:
    data = os.urandom(5000)
    sink = sink_of(sinks, offer_of(data), tmp_path / "dl")
    assert sink.open() == 0
    feed(sink, data)
    assert not (tmp_path / "dl" / "notes.txt").exists()
    ok, path = sink.finish()
    assert ok and Path(path) == (tmp_path / "dl" / "notes.txt").resolve()
    assert Path(path).read_bytes() == data
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["notes.txt"]


def test_an_empty_file_is_complete_at_once(sinks: list[FileSink], tmp_path: Path) -> None:
    sink = sink_of(sinks, offer_of(b""), tmp_path)
    assert sink.open() == 0
    ok, path = sink.finish()
    assert ok and Path(path).read_bytes() == b""


def test_a_partial_file_resumes_where_it_stopped(sinks: list[FileSink], tmp_path: Path) -> None:
    data = os.urandom(10_000)
    first = sink_of(sinks, offer_of(data), tmp_path)
    first.open()
    feed(first, data[:3000])
    first.abort(delete=False)  # chunks not yet written by then are dropped, not waited for
    second = sink_of(sinks, offer_of(data), tmp_path)
    offset = second.open()
    assert offset in (0, 1000, 2000, 3000)
    feed(second, data[offset:])
    ok, path = second.finish()
    assert ok and Path(path).read_bytes() == data


def test_a_partial_file_longer_than_the_offer_starts_over(
    sinks: list[FileSink], tmp_path: Path
) -> None:
    data = b"x" * 100
    sink = sink_of(sinks, offer_of(data), tmp_path)
    sink.part.write_bytes(b"y" * 500)
    assert sink.open() == 0


def test_corrupt_or_short_files_are_never_presented_as_complete(
    sinks: list[FileSink], tmp_path: Path
) -> None:
    data = os.urandom(4000)
    corrupt = sink_of(sinks, offer_of(data), tmp_path)
    corrupt.open()
    feed(corrupt, data[:-1] + bytes([data[-1] ^ 1]))
    ok, reason = corrupt.finish()
    assert not ok and "BLAKE3" in reason
    assert list(tmp_path.iterdir()) == []  # the bad bytes are gone too
    short = sink_of(sinks, offer_of(data), tmp_path)
    short.open()
    feed(short, data[:1000])
    ok, reason = short.finish()
    assert not ok and "1000 of 4000" in reason
    assert [p.name for p in tmp_path.iterdir()] == [short.part.name]  # kept for a resume


def test_bytes_beyond_the_offered_size_are_a_protocol_error(
    sinks: list[FileSink], tmp_path: Path
) -> None:
    sink = sink_of(sinks, offer_of(b"abc"), tmp_path)
    sink.open()
    with pytest.raises(ProtocolError):
        sink.write(memoryview(b"abcd"))


def test_nothing_is_overwritten_a_numbered_name_is_used(
    sinks: list[FileSink], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_bytes(b"mine")
    (tmp_path / "notes (1).txt").write_bytes(b"mine too")
    data = b"theirs"
    sink = sink_of(sinks, offer_of(data), tmp_path)
    sink.open()
    feed(sink, data)
    ok, path = sink.finish()
    assert ok and Path(path).name == "notes (2).txt"
    assert (tmp_path / "notes.txt").read_bytes() == b"mine"
    assert (tmp_path / "notes (1).txt").read_bytes() == b"mine too"


@pytest.mark.parametrize(
    ("hostile", "saved"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("..", "file"),
        ("C:\\Windows\\evil.dll", "evil.dll"),
        (".bashrc", "bashrc"),
        ("tab\tand\nnewline", "tab_and_newline"),
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),
    ],
)
def test_hostile_names_stay_inside_the_downloads_folder(
    sinks: list[FileSink], tmp_path: Path, hostile: str, saved: str
) -> None:
    downloads = tmp_path / "dl"
    sink = sink_of(sinks, offer_of(b"data", hostile), downloads)
    sink.open()
    assert sink.part.parent == downloads
    feed(sink, b"data")
    ok, path = sink.finish()
    assert ok and Path(path) == downloads.resolve() / saved
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "dl",
        f"dl/{saved}",
    ]


class FillingDisk(io.RawIOBase):
    """A file on a disk with room for `room` more bytes: then every write fails (ENOSPC)."""

    def __init__(self, path: Path, room: int, fail: Exception | None = None) -> None:
        self._file = path.open("ab", buffering=0)
        self._room = room
        self._fail = fail or OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        size = memoryview(data).nbytes
        if size > self._room:
            raise self._fail
        self._room -= size
        return self._file.write(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def test_a_full_disk_fails_the_transfer_and_keeps_what_was_written(
    sinks: list[FileSink], tmp_path: Path
) -> None:
    data = os.urandom(3000)
    posted = Posted()
    full = threading.Event()
    posted.on_finished = full.set

    def append(path: Path) -> BinaryIO:
        # Buffered as a real file is: the short chunks must still fail as they are written.
        return io.BufferedWriter(FillingDisk(path, 1500))  # type: ignore[return-value]

    sink = sink_of(sinks, offer_of(data), tmp_path, posted, append)
    sink.open()
    feed(sink, data)
    assert full.wait(10)
    [finished] = [p for p in posted if isinstance(p, ev.ReceiveFinished)]
    assert not finished.ok and finished.detail.startswith("disk full")
    assert sink.finish() == (False, finished.detail)
    assert sink.part.read_bytes() == data[:1000]


def test_an_unexpected_write_error_fails_the_transfer_without_stalling_the_link(
    sinks: list[FileSink], tmp_path: Path
) -> None:
    data = os.urandom(100 * 1000)  # many more chunks than the disk writer queues
    posted = Posted()

    def append(path: Path) -> BinaryIO:
        return FillingDisk(path, 0, ValueError("odd"))  # type: ignore[return-value]

    sink = sink_of(sinks, offer_of(data), tmp_path, posted, append)
    sink.open()
    feed(sink, data)  # must not wait forever for a writer that gave up
    assert sink.finish() == (False, "cannot write the file: ValueError")
    [finished] = [p for p in posted if isinstance(p, ev.ReceiveFinished)]
    assert finished.detail == "cannot write the file: ValueError"


class FakeLink:
    """A link that takes chunks (or refuses after limit of them)."""

    def __init__(self, limit: int | None = None) -> None:
        self.chunks: list[bytes] = []
        self.limit = limit

    def send_chunk(self, header: bytes, span: FileSpan, stop: threading.Event) -> bool:
        try:
            if stop.is_set() or (self.limit is not None and len(self.chunks) >= self.limit):
                return False
            self.chunks.append(header + span.read())
            return True
        finally:
            span.close()


def pump(
    path: Path, size: int, link: FakeLink, *, offset: int = 0, stopped: bool = False
) -> Posted:
    """Run a pump over path to its end; what it posted."""
    posted = Posted()
    serve = ServeFile(7, "b" * 32, OFFER_ID, str(path), offset, size)
    sender = FilePump(link, serve, post=posted, chunk_bytes=1000)
    if stopped:
        sender.stop()
    sender.start()
    sender.join(10)
    return posted


def test_a_pump_streams_tagged_chunks_from_the_offset(tmp_path: Path) -> None:
    data = os.urandom(4500)
    path = tmp_path / "src"
    path.write_bytes(data)
    link = FakeLink()
    posted = pump(path, len(data), link, offset=1500)
    header = CHUNK_MARK + chunk_tag(OFFER_ID)
    assert all(c.startswith(header) for c in link.chunks)
    assert [len(c) - len(header) for c in link.chunks] == [1000, 1000, 1000]
    assert b"".join(c[len(header) :] for c in link.chunks) == data[1500:]
    assert posted[-1] == ev.ServeFinished(OFFER_ID, 7, "b" * 32, True, "")
    progress = [p for p in posted if isinstance(p, ev.TransferProgress)]
    assert progress[-1] == ev.TransferProgress(OFFER_ID, 4500, 4500, True, "b" * 32)


def test_a_pump_refuses_a_changed_file_reports_a_lost_link_and_is_quiet_when_stopped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "src"
    path.write_bytes(b"z" * 3000)
    changed = "the file changed since it was offered"
    assert pump(path, 2999, FakeLink()) == [ev.ServeFinished(OFFER_ID, 7, "b" * 32, False, changed)]
    cut = pump(path, 3000, FakeLink(limit=1))
    assert cut[-1] == ev.ServeFinished(OFFER_ID, 7, "b" * 32, False, "link closed")
    quiet = pump(path, 3000, FakeLink(), stopped=True)
    assert not [p for p in quiet if isinstance(p, ev.ServeFinished)]


def test_hash_file_measures_regular_files_only(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")
    name, size, digest, mtime_ns = hash_file(str(path))
    assert (name, size, digest) == ("f.bin", 5, blake3(b"hello").hexdigest())
    assert mtime_ns == path.stat().st_mtime_ns
    with pytest.raises(ValueError):
        hash_file(str(tmp_path))
    with pytest.raises(ValueError):
        hash_file(str(tmp_path / "missing"))


class ShrinkingLink(FakeLink):
    """Truncates the file being sent after its first chunk."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def send_chunk(self, header: bytes, span: FileSpan, stop: threading.Event) -> bool:
        if not self.chunks:
            os.truncate(self.path, 1500)
        return super().send_chunk(header, span, stop)


def test_a_file_cut_short_while_sent_keeps_the_frames_whole_and_fails_the_transfer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "src"
    path.write_bytes(b"z" * 3000)
    link = ShrinkingLink(path)
    posted = pump(path, 3000, link)
    header = CHUNK_MARK + chunk_tag(OFFER_ID)
    assert b"".join(c[len(header) :] for c in link.chunks) == b"z" * 1500 + bytes(1500)
    reason = "the file changed while it was sent"
    assert posted[-1] == ev.ServeFinished(OFFER_ID, 7, "b" * 32, False, reason)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_span_reads_and_sends_its_bytes_and_zeros_past_the_end(tmp_path: Path) -> None:
    data = os.urandom(70_000)
    path = tmp_path / "src"
    path.write_bytes(data)
    before = open_fds()
    with path.open("rb") as source:
        inside = FileSpan(source.fileno(), 1000, 60_000)
        past_end = FileSpan(source.fileno(), 69_000, 4000)
        assert inside.read() == data[1000:61_000]
        assert past_end.read() == data[69_000:] + bytes(3000)
        ours, theirs = socket.socketpair()
        with ours, theirs:
            theirs.settimeout(10)
            inside.send_to(ours)
            past_end.send_to(ours)
            ours.shutdown(socket.SHUT_WR)
            received = b"".join(iter(lambda: theirs.recv(65536), b""))
        assert received == data[1000:61_000] + data[69_000:] + bytes(3000)
        for span in (inside, past_end, inside):
            span.close()  # twice is harmless
    assert open_fds() == before


@pytest.mark.parametrize("fast", [True, False], ids=["preadv+sendfile", "seek+read+sendall"])
def test_a_span_reads_and_sends_the_same_bytes_with_or_without_the_posix_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    if not fast:  # as on Windows: no preadv, no sendfile
        for name in ("preadv", "sendfile"):
            monkeypatch.delattr(os, name, raising=False)
    data = os.urandom(300_000)
    path = tmp_path / "source.bin"
    path.write_bytes(data)
    with path.open("rb") as source:
        # Two spans of one file share its offset: each still reads its own bytes.
        first, second = FileSpan(source.fileno(), 1000, 5000), FileSpan(source.fileno(), 7, 9)
        assert bytes(second.read(b"hd")) == b"hd" + data[7:16]
        assert bytes(first.read()) == data[1000:6000]
        past_end = FileSpan(source.fileno(), len(data) - 4, 10)  # the file shrank: zeros
        assert bytes(past_end.read()) == data[-4:] + bytes(6)
        a, b = socket.socketpair()
        with a, b:
            first.send_to(a)
            past_end.send_to(a)
            a.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := b.recv(65536):
                received += chunk
        for span in (first, second, past_end):
            span.close()
    assert received == data[1000:6000] + data[-4:] + bytes(6)
