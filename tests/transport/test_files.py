"""Moving file bytes: the sink that writes, checks and places a file; the pump that streams it."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from p2pchat.core import events as ev
from p2pchat.core.actions import ServeFile
from p2pchat.core.errors import ProtocolError
from p2pchat.core.messages import FileOffer
from p2pchat.transport.files import CHUNK_MARK, FilePump, FileSink, chunk_tag, hash_file

OFFER_ID = "0123456789abcdef"


def offer_of(data: bytes, name: str = "notes.txt") -> FileOffer:
    sha = hashlib.sha256(data).hexdigest()
    return FileOffer(OFFER_ID, "a" * 32, "", name, len(data), sha, 1.0, b"k" * 32, b"s" * 64)


class Posted(list[object]):
    """Collects what a sink or pump posts."""

    def __call__(self, item: object) -> None:
        self.append(item)


def feed(sink: FileSink, data: bytes, chunk: int = 1000) -> None:
    for start in range(0, len(data), chunk):
        sink.write(memoryview(data[start : start + chunk]))


def test_a_file_arrives_under_its_name_and_only_after_its_check(tmp_path: Path) -> None:
    data = os.urandom(5000)
    sink = FileSink(offer_of(data), tmp_path / "dl", Posted(), "peer")
    assert sink.open() == 0
    feed(sink, data)
    assert not (tmp_path / "dl" / "notes.txt").exists()
    ok, path = sink.finish()
    assert ok and Path(path) == (tmp_path / "dl" / "notes.txt").resolve()
    assert Path(path).read_bytes() == data
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["notes.txt"]


def test_an_empty_file_is_complete_at_once(tmp_path: Path) -> None:
    sink = FileSink(offer_of(b""), tmp_path, Posted(), "peer")
    assert sink.open() == 0
    ok, path = sink.finish()
    assert ok and Path(path).read_bytes() == b""


def test_a_partial_file_resumes_where_it_stopped(tmp_path: Path) -> None:
    data = os.urandom(10_000)
    first = FileSink(offer_of(data), tmp_path, Posted(), "peer")
    first.open()
    feed(first, data[:3000])
    first.abort(delete=False)
    second = FileSink(offer_of(data), tmp_path, Posted(), "peer")
    assert second.open() == 3000
    feed(second, data[3000:])
    ok, path = second.finish()
    assert ok and Path(path).read_bytes() == data


def test_a_partial_file_longer_than_the_offer_starts_over(tmp_path: Path) -> None:
    data = b"x" * 100
    sink = FileSink(offer_of(data), tmp_path, Posted(), "peer")
    sink.part.write_bytes(b"y" * 500)
    assert sink.open() == 0


def test_corrupt_or_short_files_are_never_presented_as_complete(tmp_path: Path) -> None:
    data = os.urandom(4000)
    corrupt = FileSink(offer_of(data), tmp_path, Posted(), "peer")
    corrupt.open()
    feed(corrupt, data[:-1] + bytes([data[-1] ^ 1]))
    ok, reason = corrupt.finish()
    assert not ok and "SHA-256" in reason
    assert list(tmp_path.iterdir()) == []  # the bad bytes are gone too
    short = FileSink(offer_of(data), tmp_path, Posted(), "peer")
    short.open()
    feed(short, data[:1000])
    ok, reason = short.finish()
    assert not ok and "1000 of 4000" in reason
    assert [p.name for p in tmp_path.iterdir()] == [short.part.name]  # kept for a resume


def test_bytes_beyond_the_offered_size_are_a_protocol_error(tmp_path: Path) -> None:
    sink = FileSink(offer_of(b"abc"), tmp_path, Posted(), "peer")
    sink.open()
    with pytest.raises(ProtocolError):
        sink.write(memoryview(b"abcd"))


def test_nothing_is_overwritten_a_numbered_name_is_used(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_bytes(b"mine")
    (tmp_path / "notes (1).txt").write_bytes(b"mine too")
    data = b"theirs"
    sink = FileSink(offer_of(data), tmp_path, Posted(), "peer")
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
    tmp_path: Path, hostile: str, saved: str
) -> None:
    downloads = tmp_path / "dl"
    sink = FileSink(offer_of(b"data", hostile), downloads, Posted(), "peer")
    sink.open()
    assert sink.part.parent == downloads
    feed(sink, b"data")
    ok, path = sink.finish()
    assert ok and Path(path) == downloads.resolve() / saved
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "dl",
        f"dl/{saved}",
    ]


def test_a_full_disk_fails_the_transfer_and_keeps_what_was_written(tmp_path: Path) -> None:
    data = os.urandom(3000)
    posted = Posted()
    sink = FileSink(offer_of(data), tmp_path, posted, "peer")
    sink.open()
    feed(sink, data[:1000])
    sink._file.close()  # type: ignore[union-attr]
    sink._file = open("/dev/full", "wb", buffering=0)  # noqa: SIM115 - every write: ENOSPC
    sink.write(memoryview(data[1000:2000]))
    [finished] = [p for p in posted if isinstance(p, ev.ReceiveFinished)]
    assert not finished.ok and finished.detail.startswith("disk full")
    assert sink.finish() == (False, finished.detail)
    assert sink.part.stat().st_size == 1000


class FakeLink:
    """A link that takes chunks (or refuses after limit of them)."""

    def __init__(self, limit: int | None = None) -> None:
        self.chunks: list[bytes] = []
        self.limit = limit

    def send_chunk(self, payload: bytes, stop: threading.Event) -> bool:
        if stop.is_set() or (self.limit is not None and len(self.chunks) >= self.limit):
            return False
        self.chunks.append(payload)
        return True


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
    name, size, sha, mtime_ns = hash_file(str(path))
    assert (name, size, sha) == ("f.bin", 5, hashlib.sha256(b"hello").hexdigest())
    assert mtime_ns == path.stat().st_mtime_ns
    with pytest.raises(ValueError):
        hash_file(str(tmp_path))
    with pytest.raises(ValueError):
        hash_file(str(tmp_path / "missing"))
