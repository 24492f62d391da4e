"""Real processes with the POSIX-only calls hidden (tests/nonposix), as on Windows: the
fallbacks carry chats, file transfers (open and private rooms) and the data dir's lock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import ChatProcess, Cluster
from tests.e2e.test_files import (
    TRANSFER_TIMEOUT,
    downloads,
    offer_and_wait,
    sha256_of,
)

NONPOSIX = str(Path(__file__).resolve().parents[1] / "nonposix")
HIDDEN = {"PYTHONPATH": NONPOSIX}
CHUNK_FILE_BYTES = 3 * 1024 * 1024 + 12345  # a dozen chunks and a ragged end
BURST = 300  # lines typed at once: many frames in one batch, joined without sendmsg


def start(cluster: Cluster, nick: str, *args: str, hidden: bool = True) -> ChatProcess:
    where = str(cluster.root / f"{nick}-downloads")
    env = HIDDEN if hidden else None
    return cluster.start(nick, "--downloads", where, *args, env=env).ready()


def test_the_mode_hides_every_posix_only_call() -> None:
    probe = (
        "import os, select, signal, socket\n"
        "assert not any(hasattr(os, n) for n in ('sendfile', 'preadv', 'pread'))\n"
        "assert not hasattr(socket.socket, 'sendmsg') and not hasattr(signal, 'SIGHUP')\n"
        "try:\n    import fcntl\nexcept ImportError:\n    pass\nelse:\n    raise SystemExit(3)\n"
        "try:\n    select.select([0], [], [], 0)\nexcept OSError:\n    print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, **HIDDEN},
        stdin=subprocess.PIPE,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


@pytest.mark.timeout(120)
def test_a_chat_among_three_nodes_without_posix_calls(cluster: Cluster) -> None:
    alice = start(cluster, "alice")
    bob = start(cluster, "bob", "--peer", alice.addr)
    carol = start(cluster, "carol", "--peer", alice.addr, hidden=False)  # a Linux desk too
    for node in (alice, bob, carol):
        node.wait_peers({alice.id, bob.id, carol.id} - {node.id})
    bob.send("hello from a desk without sendmsg\r")  # a Windows line end is no part of it
    for node in (alice, carol):
        node.wait_for(lambda e: e.get("text") == "hello from a desk without sendmsg")
    alice.send("\n".join(f"line {i}" for i in range(BURST)))
    for node in (bob, carol):
        node.wait_for(lambda e: e.get("text") == f"line {BURST - 1}", timeout=TRANSFER_TIMEOUT)
        texts = [e["text"] for e in node.events if e.get("text", "").startswith("line ")]
        assert texts == [f"line {i}" for i in range(BURST)]
    carol.send("and back")
    bob.wait_for(lambda e: e.get("text") == "and back")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("room", ["open", "private"])
def test_a_file_crosses_without_sendfile_or_preadv(
    cluster: Cluster, tmp_path: Path, room: str
) -> None:
    source = tmp_path / "photo.raw"
    source.write_bytes(os.urandom(CHUNK_FILE_BYTES))
    secret = tmp_path / "secret"
    secret.write_text("correct horse battery")
    extra = ("--secret-file", str(secret)) if room == "private" else ()
    alice = start(cluster, "alice", *extra)
    bob = start(cluster, "bob", "--peer", alice.addr, *extra)
    carol = start(cluster, "carol", "--peer", alice.addr, *extra, hidden=False)
    for node in (alice, bob, carol):
        node.wait_peers({alice.id, bob.id, carol.id} - {node.id})
    # From a hidden sender to a hidden and a normal receiver, and from a normal one back.
    for sender, receivers in ((alice, [bob, carol]), (carol, [bob])):
        offer_id = offer_and_wait(sender, f"/share {source}", receivers, source.name)
        for receiver in receivers:
            receiver.send(f"/accept {offer_id}")
        for receiver in receivers:
            done = receiver.wait_for(
                lambda e, o=offer_id: e["event"] in ("file_done", "file_failed") and e["id"] == o,
                timeout=TRANSFER_TIMEOUT,
            )
            assert done["event"] == "file_done", done
            got = Path(done["path"])
            assert got.parent == downloads(receiver, cluster).resolve()
            assert sha256_of(got) == sha256_of(source)


def test_the_data_dir_lock_holds_and_is_freed_by_a_crash(cluster: Cluster) -> None:
    first = start(cluster, "solo")
    cmd = [sys.executable, "-m", "p2pchat", "--data-dir", str(cluster.root / "solo")]
    second = subprocess.run(
        [*cmd, "--no-discovery", "--bind", "127.0.0.1", "--port", "0"],
        env={**os.environ, **HIDDEN},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert second.returncode == 2
    assert "another p2pchat is running" in second.stderr
    assert second.stderr.count("\n") == 1  # one line: no warning, no traceback
    first.kill()  # SIGKILL: the lock is not released by us
    again = start(cluster, "solo")
    assert again.id == first.id  # the same identity, from the same data dir
    assert again.terminate() == 0
    assert start(cluster, "solo").id == first.id  # and after a clean quit
