"""File sharing between real processes on 127.0.0.1: sizes, resume, checks, hostile input."""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time
from pathlib import Path

import pytest

from p2pchat.core.limits import DEFAULT_LIMITS
from p2pchat.core.linkprotocol import CHUNK_MARK, chunk_tag
from p2pchat.core.messages import FileEnd, FileRequest, FileStop
from tests.e2e.harness import ChatProcess, Cluster, Event
from tests.rawpeer import RawPeer

CHUNK = DEFAULT_LIMITS.file_chunk_bytes
TRANSFER_TIMEOUT = 60.0
POLL_INTERVAL = 0.01
SPARSE_BYTES = 256 * 1024 * 1024
RESUME_BYTES = 768 * 1024 * 1024
DISK_LIMIT_BYTES = 1024 * 1024


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def start(cluster: Cluster, nick: str, *args: str, **kwargs: object) -> ChatProcess:
    downloads = cluster.root / f"{nick}-downloads"
    return cluster.start(nick, "--downloads", str(downloads), *args, **kwargs).ready()  # type: ignore[arg-type]


def downloads(node: ChatProcess, cluster: Cluster) -> Path:
    return cluster.root / f"{node.nick}-downloads"


def is_event(kind: str, offer_id: str | None = None, **fields: object) -> object:
    def match(event: Event) -> bool:
        if event["event"] != kind or (offer_id is not None and event.get("id") != offer_id):
            return False
        return all(event.get(k) == v for k, v in fields.items())

    return match


def offer_and_wait(
    sender: ChatProcess, command: str, receivers: list[ChatProcess], name: str
) -> str:
    """Type command at sender; the offer ID once every receiver has seen the offer."""
    since = [len(r.events) for r in receivers]
    mine = len(sender.events)
    sender.send(command)
    own = sender.wait_for(
        is_event("file_offer", own=True, name=name), timeout=TRANSFER_TIMEOUT, since=mine
    )
    for receiver, start_at in zip(receivers, since, strict=True):
        receiver.wait_for(is_event("file_offer", own["id"], name=name), since=start_at)
    return str(own["id"])


def pair(cluster: Cluster, *extra: str) -> tuple[ChatProcess, ChatProcess]:
    alice = start(cluster, "alice", *extra)
    bob = start(cluster, "bob", "--peer", alice.addr, *extra)
    alice.wait_peers({bob.id})
    bob.wait_peers({alice.id})
    return alice, bob


# ---------------------------------------------------------------- sizes


@pytest.mark.timeout(120)
def test_files_of_every_awkward_size_arrive_intact_at_every_accepting_peer(
    cluster: Cluster, tmp_path: Path
) -> None:
    rng = random.Random(7)
    sources = tmp_path / "sources"
    sources.mkdir()
    sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, rng.randrange(1, 5 * CHUNK)]
    files = []
    for size in sizes:
        path = sources / f"f{size}.bin"
        path.write_bytes(rng.randbytes(size))
        files.append(path)
    sparse = sources / "sparse.img"
    with sparse.open("wb") as out:
        out.truncate(SPARSE_BYTES)
        out.seek(SPARSE_BYTES // 2)
        out.write(b"in the middle")
    files.append(sparse)

    alice = start(cluster, "alice")
    bob = start(cluster, "bob", "--peer", alice.addr)
    carol = start(cluster, "carol", "--peer", alice.addr)
    for node in (alice, bob, carol):
        node.wait_peers({alice.id, bob.id, carol.id} - {node.id})
    for path in files:
        offer_id = offer_and_wait(alice, f"/share {path}", [bob, carol], path.name)
        for receiver in (bob, carol):
            receiver.send(f"/accept {offer_id[:6]}")
        for receiver in (bob, carol):
            done = receiver.wait_for(
                lambda e, o=offer_id: e["event"] in ("file_done", "file_failed") and e["id"] == o,
                timeout=TRANSFER_TIMEOUT,
            )
            assert done["event"] == "file_done", done
            got = Path(done["path"])
            assert got.parent == downloads(receiver, cluster).resolve()
            assert got.name == path.name and got.stat().st_size == path.stat().st_size
            assert sha256_of(got) == sha256_of(path)
    for receiver in (bob, carol):
        left = sorted(p.name for p in downloads(receiver, cluster).iterdir())
        assert left == sorted(p.name for p in files)  # no .part file is left behind
    # A file offered to one peer reaches only that peer.
    direct = files[1]
    offer_id = offer_and_wait(alice, f"/send bob {direct}", [bob], direct.name)
    assert not [e for e in carol.events if e.get("id") == offer_id]
    bob.send(f"/accept {offer_id}")
    renamed = bob.wait_for(is_event("file_done", offer_id), timeout=TRANSFER_TIMEOUT)
    assert Path(renamed["path"]).name == "f1 (1).bin"  # the first f1.bin is not overwritten


# ---------------------------------------------------------------- resume


def big_sparse_file(path: Path, size: int) -> Path:
    with path.open("wb") as out:
        out.truncate(size)
        for i in range(8):
            out.seek(i * size // 8)
            out.write(os.urandom(4096))
    return path


def interrupted_transfer(cluster: Cluster, source: Path) -> tuple[ChatProcess, ChatProcess, str]:
    """alice offers source, bob accepts; (alice, bob, offer ID) once it is part-way there."""
    alice, bob = pair(cluster)
    offer_id = offer_and_wait(alice, f"/share {source}", [bob], source.name)
    bob.send(f"/accept {offer_id}")
    progress = bob.wait_for(is_event("file_progress", offer_id), timeout=TRANSFER_TIMEOUT)
    assert progress["done"] < RESUME_BYTES, "the transfer finished before it could be cut"
    return alice, bob, offer_id


@pytest.mark.timeout(120)
def test_a_transfer_resumes_after_the_receiver_is_killed_and_restarted(
    cluster: Cluster, tmp_path: Path
) -> None:
    source = big_sparse_file(tmp_path / "disk.img", RESUME_BYTES)
    alice, bob, offer_id = interrupted_transfer(cluster, source)
    # Progress counts bytes received; the disk writer may not have written them yet.
    part = downloads(bob, cluster) / f".disk.img.{offer_id}.part"
    deadline = time.monotonic() + TRANSFER_TIMEOUT
    while part.stat().st_size == 0 and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
    bob.kill()
    kept = part.stat().st_size
    assert 0 < kept < RESUME_BYTES

    again = cluster.start("bob", "--downloads", str(downloads(bob, cluster)), "--peer", alice.addr)
    again.ready()
    notice = again.wait_for(
        lambda e: "resuming at" in e.get("message", ""), timeout=TRANSFER_TIMEOUT
    )
    assert "disk.img" in notice["message"]
    first = again.wait_for(is_event("file_progress", offer_id))
    assert first["done"] >= kept  # resumed, not started over
    done = again.wait_for(is_event("file_done", offer_id), timeout=TRANSFER_TIMEOUT)
    assert sha256_of(Path(done["path"])) == sha256_of(source)
    assert not list(downloads(bob, cluster).glob("*.part"))


@pytest.mark.timeout(120)
def test_a_transfer_resumes_after_the_sender_is_killed_and_restarted(
    cluster: Cluster, tmp_path: Path
) -> None:
    source = big_sparse_file(tmp_path / "video.mkv", RESUME_BYTES)
    alice, bob, offer_id = interrupted_transfer(cluster, source)
    alice.kill()
    bob.wait_for(lambda e: "will resume" in e.get("message", ""))

    again = cluster.start("alice", "--downloads", str(tmp_path / "unused"), "--peer", bob.addr)
    again.ready()
    since = len(bob.events)
    bob.wait_for(lambda e: "resuming at" in e.get("message", ""), since=since)
    done = bob.wait_for(is_event("file_done", offer_id), timeout=TRANSFER_TIMEOUT, since=since)
    assert sha256_of(Path(done["path"])) == sha256_of(source)
    again.wait_for(is_event("file_done", offer_id, sending=True))


# ---------------------------------------------------------------- checks


def test_a_file_changed_after_its_offer_is_refused_or_caught_by_its_hash(
    cluster: Cluster, tmp_path: Path
) -> None:
    alice, bob = pair(cluster)
    visible = tmp_path / "edited.txt"
    visible.write_bytes(b"first version " * 1000)
    offer_id = offer_and_wait(alice, f"/share {visible}", [bob], visible.name)
    visible.write_bytes(b"second version" * 1000)  # same size, new mtime
    bob.send(f"/accept {offer_id}")
    failed = bob.wait_for(is_event("file_failed", offer_id), timeout=TRANSFER_TIMEOUT)
    assert "changed since it was offered" in failed["reason"]

    sneaky = tmp_path / "sneaky.bin"
    sneaky.write_bytes(bytes(100_000))
    stamp = sneaky.stat()
    offer_id = offer_and_wait(alice, f"/share {sneaky}", [bob], sneaky.name)
    with sneaky.open("r+b") as edit:  # a bit flips on disk; the mtime is put back
        edit.seek(50_000)
        edit.write(b"\x01")
    os.utime(sneaky, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    bob.send(f"/accept {offer_id}")
    failed = bob.wait_for(is_event("file_failed", offer_id), timeout=TRANSFER_TIMEOUT)
    assert "BLAKE3" in failed["reason"]
    told = alice.wait_for(is_event("file_failed", offer_id, sending=True))
    assert "BLAKE3" in told["reason"]
    assert list(downloads(bob, cluster).iterdir()) == []  # nothing presented, nothing kept


def test_a_declined_or_unanswered_offer_writes_nothing(cluster: Cluster, tmp_path: Path) -> None:
    alice, bob = pair(cluster)
    source = tmp_path / "unwanted.txt"
    source.write_text("no thanks")
    first = offer_and_wait(alice, f"/share {source}", [bob], source.name)
    offer_and_wait(alice, f"/send bob {source}", [bob], source.name)
    bob.send(f"/decline {first}")
    bob.wait_for(lambda e: "declined unwanted.txt" in e.get("message", ""))
    bob.send("/transfers")
    table = bob.wait_for(is_event("transfers"))
    assert sorted(t["state"] for t in table["transfers"]) == ["declined", "offered"]
    assert not downloads(bob, cluster).exists()
    assert not [e for e in alice.events if e["event"] == "file_progress"]


@pytest.mark.timeout(90)
def test_a_full_disk_fails_the_transfer_on_both_sides(cluster: Cluster, tmp_path: Path) -> None:
    limit = (
        "import os, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({DISK_LIMIT_BYTES}, {DISK_LIMIT_BYTES})); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    alice = start(cluster, "alice")
    bob = start(cluster, "bob", "--peer", alice.addr, prefix=(sys.executable, "-c", limit))
    bob.wait_peers({alice.id})
    source = tmp_path / "huge.bin"
    source.write_bytes(os.urandom(4 * DISK_LIMIT_BYTES))
    offer_id = offer_and_wait(alice, f"/share {source}", [bob], source.name)
    bob.send(f"/accept {offer_id}")
    failed = bob.wait_for(is_event("file_failed", offer_id), timeout=TRANSFER_TIMEOUT)
    assert failed["reason"].startswith("disk full")
    told = alice.wait_for(is_event("file_failed", offer_id, sending=True))
    assert "disk full" in told["reason"]
    assert [p.name for p in downloads(bob, cluster).iterdir()] == [f".huge.bin.{offer_id}.part"]
    bob.send("/stats")  # still alive and answering
    bob.wait_for(is_event("stats"))


# ---------------------------------------------------------------- hostile peers


@pytest.mark.parametrize(
    ("hostile", "saved"),
    [("../../etc/passwd", "passwd"), ("/etc/shadow", "shadow"), ("a\tb\nc", "a_b_c")],
)
def test_hostile_names_land_inside_downloads(cluster: Cluster, hostile: str, saved: str) -> None:
    bob = start(cluster, "bob")
    raw = RawPeer(bob.port)
    try:
        raw.handshake()
        data = os.urandom(CHUNK + 10)
        offer = raw.offer("0123456789abcdef", hostile, data)
        raw.send(offer)
        shown = bob.wait_for(is_event("file_offer", offer.offer_id))
        assert shown["name"] == saved
        bob.send(f"/accept {offer.offer_id}")
        request = raw.recv_until(FileRequest)
        assert request == FileRequest(offer.offer_id, 0)
        tag = CHUNK_MARK + chunk_tag(offer.offer_id)
        raw.send_payload(tag + data[:CHUNK])
        raw.send_payload(tag + data[CHUNK:])
        raw.send(FileEnd(offer.offer_id, len(data)))
        done = bob.wait_for(is_event("file_done", offer.offer_id))
        assert Path(done["path"]) == downloads(bob, cluster).resolve() / saved
        assert Path(done["path"]).read_bytes() == data
    finally:
        raw.close()


def test_a_peer_that_sends_more_than_it_offered_is_cut_off_and_nothing_is_kept(
    cluster: Cluster,
) -> None:
    bob = start(cluster, "bob")
    raw = RawPeer(bob.port)
    try:
        raw.handshake()
        offer = raw.offer("00000000000000ff", "small.txt", b"tiny")
        raw.send(offer)
        bob.wait_for(is_event("file_offer", offer.offer_id))
        bob.send(f"/accept {offer.offer_id}")
        raw.recv_until(FileRequest)
        tag = CHUNK_MARK + chunk_tag(offer.offer_id)
        raw.send_payload(tag + b"far more than four bytes")
        raw.drain_until_closed()
        bob.wait_for(lambda e: e["event"] == "peer_left" and e["id"] == raw.node_id)
        assert not [p for p in downloads(bob, cluster).iterdir() if p.name == "small.txt"]
        bob.send("/stats")
        bob.wait_for(is_event("stats"))
    finally:
        raw.close()


def test_requests_for_files_that_were_not_offered_to_the_asker_are_refused(
    cluster: Cluster, tmp_path: Path
) -> None:
    alice, bob = pair(cluster)
    secret = tmp_path / "for-bob-only.txt"
    secret.write_text("private")
    offer_id = offer_and_wait(alice, f"/send bob {secret}", [bob], secret.name)
    raw = RawPeer(alice.port)
    try:
        raw.handshake()
        for asked in (offer_id, "0123456789abcdef"):
            raw.send(FileRequest(asked, 0))
            stop = raw.recv_until(FileStop)
            assert isinstance(stop, FileStop) and stop.offer_id == asked
    finally:
        raw.close()


def test_sharing_what_cannot_be_shared_says_why_at_once(cluster: Cluster, tmp_path: Path) -> None:
    alice = start(cluster, "alice")  # alone: nothing else makes the node write to its screen
    alice.send(f"/share {tmp_path / 'missing.txt'}")
    missing = alice.wait_for(lambda e: e["event"] == "error")
    assert missing["message"] == f"cannot share {tmp_path / 'missing.txt'}: no such file"
    alice.send(f"/share {tmp_path}")
    since = alice.events.index(missing) + 1
    folder = alice.wait_for(lambda e: e["event"] == "error", since=since)
    assert folder["message"] == f"cannot share {tmp_path}: not a regular file"
