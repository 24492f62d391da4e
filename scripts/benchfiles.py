"""File transfer benchmark: p2pchat against a plain socket copy of the same file, 127.0.0.1.

One run writes a file of random bytes, then copies it in rounds: with the plain-socket
baseline, and with p2pchat in an open room and in a private, encrypted one, each timed from
`/accept` (or "go") until the receiver reports the file checked and in place. The figures are
medians over the rounds, and p2pchat's share of the plain copy's speed is taken per round.
While p2pchat moves the file, the sender also chats (one message every CHAT_INTERVAL
seconds) to show the chat stays responsive, and both processes' resident memory is sampled
to show it stays flat.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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
KINDS = ("raw", "open", "private")


@dataclass
class Transfer:
    """How one copy of the file went."""

    seconds: float = 0.0
    mib_per_s: float = 0.0
    intact: bool = False
    rss_mb_before: float = 0.0
    rss_mb_peak: float = 0.0
    chat_ms: dict[str, float] = field(default_factory=dict)
    cpu_send: float = 0.0  # CPU seconds the sending process used for the copy
    cpu_recv: float = 0.0


@dataclass
class FileFigures:
    """The raw copy and p2pchat's copies of one file."""

    size_mib: int
    raw: Transfer
    p2pchat: Transfer
    p2pchat_private: Transfer
    rounds: int = 1
    # Per round, p2pchat's speed over the plain copy's in that same round: median, min, max.
    share_open: tuple[float, float, float] = (0.0, 0.0, 0.0)
    share_private: tuple[float, float, float] = (0.0, 0.0, 0.0)


def run(size_mib: int, rounds: int, node_env: dict[str, str] | None = None) -> FileFigures:
    """Write a size_mib file, copy it each way in rounds, clean up (node_env: more environment
    for the p2pchat nodes, e.g. tests/nonposix on PYTHONPATH)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-files-"))
    try:
        source = workdir / "payload.bin"
        digest = _write_random(source, size_mib * 1024 * 1024)
        copies: dict[str, list[Transfer]] = {kind: [] for kind in KINDS}
        previous = _RawCopy(source, workdir / "warmup.bin")  # untimed: frees a file's pages
        previous.prepare()
        previous.go()
        for round_ in range(rounds):
            print(f"  round {round_ + 1} of {rounds}...", file=sys.stderr, flush=True)
            for kind in KINDS:
                copy = (
                    _RawCopy(source, workdir / "raw-copy.bin")
                    if kind == "raw"
                    else _ChatCopy(
                        source,
                        workdir / f"{kind}{round_}",
                        private=kind == "private",
                        env=node_env or {},
                    )
                )
                copy.prepare()
                # The previous copy's file goes just before this one starts: see _ChatCopy.
                previous.target.unlink()
                copies[kind].append(copy.go())
                previous = copy
                copies[kind][-1].intact = _sha256(copy.target) == digest
        previous.target.unlink()
        return FileFigures(
            size_mib,
            _median(copies["raw"]),
            _median(copies["open"]),
            _median(copies["private"]),
            rounds,
            _shares(copies["open"], copies["raw"]),
            _shares(copies["private"], copies["raw"]),
        )
    finally:
        shutil.rmtree(workdir)


def _shares(copies: list[Transfer], raw: list[Transfer]) -> tuple[float, float, float]:
    ratios = sorted(c.mib_per_s / r.mib_per_s for c, r in zip(copies, raw, strict=True))
    return statistics.median(ratios), ratios[0], ratios[-1]


def _median(runs: list[Transfer]) -> Transfer:
    """The median run's time and speed; the worst memory and chat figures of all runs."""
    middle = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    chats = [r.chat_ms for r in runs if r.chat_ms]
    return Transfer(
        seconds=middle.seconds,
        mib_per_s=middle.mib_per_s,
        intact=all(r.intact for r in runs),
        cpu_send=statistics.median(r.cpu_send for r in runs),
        cpu_recv=statistics.median(r.cpu_recv for r in runs),
        rss_mb_before=max(r.rss_mb_before for r in runs),
        rss_mb_peak=max(r.rss_mb_peak for r in runs),
        chat_ms={
            "messages": sum(c["messages"] for c in chats),
            "p50": statistics.median(c["p50"] for c in chats),
            "max": max(c["max"] for c in chats),
        }
        if chats
        else {},
    )


def _write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(WRITE_BLOCK, left))
            digest.update(block)
            out.write(block)
            left -= len(block)
    os.sync()  # its writeback would otherwise fall into some copy
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(WRITE_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class _Copy:
    """One copy of the file between two processes: prepare, then go (timed), then stop."""

    source: Path
    target: Path  # where the copy lands (known once it has)
    _procs: list[Proc]

    def stop(self) -> None:
        """Stop both processes (again is harmless)."""
        for proc in self._procs:
            proc.stop()


class _RawCopy(_Copy):
    """The baseline: a plain socket copy between two processes."""

    def __init__(self, source: Path, target: Path) -> None:
        self.source = source
        self.target = target
        self._procs: list[Proc] = []

    def prepare(self) -> None:
        """Start both ends; they wait for "go"."""
        port = free_ports(1)[0]
        py, script = sys.executable, str(BASELINES / "filecopy.py")
        base = [py, script, "--port", str(port), "--path"]
        self._procs = [
            Proc([*base, str(self.target), "recv"], "recv"),
            Proc([*base, str(self.source), "send"], "send"),
        ]
        for proc in self._procs:
            if not proc.wait(lambda p: p.ready, READY_TIMEOUT):
                self.stop()
                raise RuntimeError("the plain copy baseline did not start")

    def go(self) -> Transfer:
        """Copy the file once, timed until the receiver has written it all."""
        receiver, sender = self._procs
        try:
            cpu = [p.cpu_seconds() for p in self._procs]
            started = time.time()
            sender.send("go\n")
            done = receiver.event("done", COPY_TIMEOUT)
            if done is None or sender.event("done", COPY_TIMEOUT) is None:
                raise RuntimeError("the plain copy did not finish")
            return _transfer(self.source, done["at"] - started, sender, receiver, cpu)
        finally:
            self.stop()


class _ChatCopy(_Copy):
    """Two p2pchat nodes: one shares the file, the other accepts it.

    Every copy, of either kind, starts just after the previous copy's file is deleted: on a
    virtual machine that hands free memory back to its host, writing into long-freed pages
    costs a host page fault each, and a copy then runs at a third of its speed or less. The
    nodes start, join and offer before that moment, so both kinds write into the same warm
    pages and the comparison is of the software, not of the host's memory.
    """

    def __init__(self, source: Path, workdir: Path, *, private: bool, env: dict[str, str]) -> None:
        self.source = source
        self._env = env
        self.target = workdir / "downloads" / source.name
        self._workdir = workdir
        self._private = private
        self._procs: list[Proc] = []
        self._offer = ""

    def prepare(self) -> None:
        """Start both nodes, link them, and have the sender offer the file."""
        ports = free_ports(2)
        env = {**self._env, **({"P2PCHAT_SECRET": SECRET} if self._private else {})}
        for index, nick in enumerate(("sender", "receiver")):
            cmd = [sys.executable, "-m", "p2pchat", "--ui", "json", "--no-discovery"]
            cmd += ["--bind", "127.0.0.1", "--port", str(ports[index]), "--nick", nick]
            cmd += ["--data-dir", str(self._workdir / nick)]
            cmd += ["--downloads", str(self.target.parent)]
            if index:
                cmd += ["--peer", f"127.0.0.1:{ports[0]}"]
            self._procs.append(Proc(cmd, nick, env))
        sender, receiver = self._procs
        try:
            for proc in self._procs:
                if not proc.wait(lambda p: p.ready and p.joined >= 1, READY_TIMEOUT):
                    raise RuntimeError(f"p2pchat {proc.name} did not join")
            sender.send(f"/share {self.source}\n")
            offer = receiver.event("file_offer", COPY_TIMEOUT)
            if offer is None:
                raise RuntimeError("the offer did not arrive")
            self._offer = offer["id"]
        except BaseException:
            self.stop()
            raise

    def go(self) -> Transfer:
        """Accept the offer, timed until the receiver reports the file checked and in place."""
        sender, receiver = self._procs
        try:
            rss_before = sum(p.rss_mb() for p in self._procs)
            sampler = _RssSampler(self._procs)
            chatter = _Chatter(sender)
            cpu = [p.cpu_seconds() for p in self._procs]
            started = time.time()
            receiver.send(f"/accept {self._offer}\n")
            done = receiver.event("file_done", COPY_TIMEOUT, id=self._offer)
            chatter.stop()
            sampler.stop()
            if done is None:
                raise RuntimeError("the file did not arrive")
            self.target = Path(done["path"])
            result = _transfer(self.source, done["at"] - started, sender, receiver, cpu)
            result.rss_mb_before = rss_before
            result.rss_mb_peak = sampler.peak
            result.chat_ms = chatter.latencies(receiver)
            return result
        finally:
            self.stop()


def _transfer(
    source: Path, seconds: float, sender: Proc, receiver: Proc, cpu: list[float]
) -> Transfer:
    result = Transfer(seconds, source.stat().st_size / 1024 / 1024 / seconds)
    result.cpu_send = sender.cpu_seconds() - cpu[0]
    result.cpu_recv = receiver.cpu_seconds() - cpu[1]
    return result


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
