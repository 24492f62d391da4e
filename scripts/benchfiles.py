"""File transfer benchmark: p2pchat against a plain socket copy of the same file, 127.0.0.1.

One run writes a file of random bytes, copies it once with the plain-socket baseline and once
with p2pchat (an open room and a private, encrypted one): from `/accept` until the receiver
reports the file checked and in place. While p2pchat moves the file, the sender also chats
(one message every CHAT_INTERVAL seconds) to show the chat stays responsive, and both
processes' resident memory is sampled to show it stays flat.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchproc import BASELINES, Proc, free_ports

READY_TIMEOUT = 60.0
COPY_TIMEOUT = 600.0
CHAT_INTERVAL = 0.05
RSS_INTERVAL = 0.1
WRITE_BLOCK = 8 * 1024 * 1024
SECRET = "bench passphrase, not secret"


@dataclass
class Transfer:
    """How one copy of the file went."""

    seconds: float = 0.0
    mib_per_s: float = 0.0
    intact: bool = False
    rss_mb_before: float = 0.0
    rss_mb_peak: float = 0.0
    chat_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class FileFigures:
    """The raw copy and p2pchat's copies of one file."""

    size_mib: int
    raw: Transfer
    p2pchat: Transfer
    p2pchat_private: Transfer

    def share(self, copy: Transfer) -> float:
        """copy's speed as a share of the raw copy's."""
        return copy.mib_per_s / self.raw.mib_per_s if self.raw.mib_per_s else 0.0


def run(size_mib: int) -> FileFigures:
    """Write a size_mib file, copy it each way, clean up."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-files-"))
    try:
        source = workdir / "payload.bin"
        digest = _write_random(source, size_mib * 1024 * 1024)
        print("  plain socket copy...", file=sys.stderr, flush=True)
        raw = _raw_copy(source, workdir / "raw-copy.bin", digest)
        print("  p2pchat, open room...", file=sys.stderr, flush=True)
        open_room = _p2pchat_copy(source, workdir / "open", digest, private=False)
        print("  p2pchat, private room...", file=sys.stderr, flush=True)
        private = _p2pchat_copy(source, workdir / "private", digest, private=True)
        return FileFigures(size_mib, raw, open_room, private)
    finally:
        for path in sorted(workdir.rglob("*"), reverse=True):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink()
        workdir.rmdir()


def _write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(WRITE_BLOCK, left))
            digest.update(block)
            out.write(block)
            left -= len(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(WRITE_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _raw_copy(source: Path, target: Path, digest: str) -> Transfer:
    port = free_ports(1)[0]
    py, script = sys.executable, str(BASELINES / "filecopy.py")
    receiver = Proc([py, script, "recv", "--port", str(port), "--path", str(target)], "recv")
    sender = Proc([py, script, "send", "--port", str(port), "--path", str(source)], "send")
    try:
        for proc in (receiver, sender):
            if not proc.wait(lambda p: p.ready, READY_TIMEOUT):
                raise RuntimeError("the plain copy baseline did not start")
        started = time.time()
        sender.send("go\n")
        done = receiver.event("done", COPY_TIMEOUT)
        if done is None:
            raise RuntimeError("the plain copy did not finish")
        return _transfer(source, target, digest, done["at"] - started)
    finally:
        sender.stop()
        receiver.stop()


def _p2pchat_copy(source: Path, workdir: Path, digest: str, *, private: bool) -> Transfer:
    ports = free_ports(2)
    env = {"P2PCHAT_SECRET": SECRET} if private else {}
    procs = []
    for index, nick in enumerate(("sender", "receiver")):
        cmd = [sys.executable, "-m", "p2pchat", "--ui", "json", "--no-mdns"]
        cmd += ["--bind", "127.0.0.1", "--port", str(ports[index]), "--nick", nick]
        cmd += ["--data-dir", str(workdir / nick), "--downloads", str(workdir / "downloads")]
        if index:
            cmd += ["--peer", f"127.0.0.1:{ports[0]}"]
        procs.append(Proc(cmd, nick, env))
    sender, receiver = procs
    try:
        for proc in procs:
            if not proc.wait(lambda p: p.ready and p.joined >= 1, READY_TIMEOUT):
                raise RuntimeError(f"p2pchat {proc.name} did not join")
        sender.send(f"/share {source}\n")
        offer = receiver.event("file_offer", COPY_TIMEOUT)
        if offer is None:
            raise RuntimeError("the offer did not arrive")
        rss_before = sum(p.rss_mb() for p in procs)
        sampler = _RssSampler(procs)
        chatter = _Chatter(sender)
        started = time.time()
        receiver.send(f"/accept {offer['id']}\n")
        done = receiver.event("file_done", COPY_TIMEOUT, id=offer["id"])
        chatter.stop()
        sampler.stop()
        if done is None:
            raise RuntimeError("the file did not arrive")
        result = _transfer(source, Path(done["path"]), digest, done["at"] - started)
        result.rss_mb_before = rss_before
        result.rss_mb_peak = sampler.peak
        result.chat_ms = chatter.latencies(receiver)
        return result
    finally:
        for proc in procs:
            proc.stop()


def _transfer(source: Path, target: Path, digest: str, seconds: float) -> Transfer:
    size = source.stat().st_size
    intact = target.stat().st_size == size and _sha256(target) == digest
    target.unlink()
    return Transfer(seconds, size / 1024 / 1024 / seconds, intact)


class _RssSampler:
    """Samples the summed resident memory of some processes until stopped."""

    def __init__(self, procs: list[Proc]) -> None:
        self.peak = 0.0
        self._procs = procs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(RSS_INTERVAL):
            self.peak = max(self.peak, sum(p.rss_mb() for p in self._procs))


class _Chatter:
    """Sends a chat line every CHAT_INTERVAL seconds until stopped; times their arrival."""

    def __init__(self, sender: Proc) -> None:
        self.sent: dict[str, float] = {}
        self._sender = sender
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-chat")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def latencies(self, receiver: Proc) -> dict[str, float]:
        """p50 and max of the chat lines' delivery during the transfer, in ms."""
        receiver.wait(lambda p: all(t in p.arrivals for t in self.sent), READY_TIMEOUT)
        samples = sorted(
            (receiver.arrivals[t] - at) * 1000
            for t, at in self.sent.items()
            if t in receiver.arrivals
        )
        if not samples:
            return {}
        return {"messages": len(samples), "p50": statistics.median(samples), "max": samples[-1]}

    def _run(self) -> None:
        count = 0
        while not self._stop.wait(CHAT_INTERVAL):
            text = f"during-transfer-{count}"
            self.sent[text] = time.time()
            self._sender.send(f"{text}\n")
            count += 1
