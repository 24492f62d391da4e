#!/usr/bin/env python3
"""Benchmark p2pchat against a raw fan-out and a central relay, on 127.0.0.1 only.

One run starts N real processes of each system in turn, drives them through the same stdin /
JSON-lines contract, and measures:
- mesh formation: from the first process start until every node sees all N-1 peers;
- end-to-end latency p50/p99/max of one-to-all delivery at a steady rate across the room;
- burst throughput: one node sends as fast as it can; time until every node has every message;
  deliveries per second; anything lost or duplicated;
- copies received per delivered message and bytes on the wire (p2pchat's /stats);
- idle CPU per node over a quiet period, and peak RSS per node;
- (simulated) delivery and copies with a third of the links cut;
- file transfer: a 1 GiB file by p2pchat (open and private room) against a plain socket copy,
  with memory and chat latency during the transfer (see benchfiles.py).

usage: scripts/bench.py [--nodes 10] [--scale 5,10,20,30] [--json] [--chart bench.png]
                        [--file-mib 1024 | --file-mib 0] [--file-rounds 5] [--files-only]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NONPOSIX = ROOT / "tests" / "nonposix"  # sitecustomize that hides the POSIX-only calls
sys.path.insert(0, str(ROOT))

import benchfiles  # noqa: E402 - scripts beside this one
from benchproc import BASELINES, Proc, free_ports  # noqa: E402

SYSTEMS = ("p2pchat", "fanout", "relay")
READY_TIMEOUT = 60.0
PHASE_TIMEOUT = 120.0
# What the processes import, loaded once before anything is timed (see bytecode_cache).
WARMUP = (
    "import common, argparse, contextlib, json, socket, struct, threading, time;"
    "import p2pchat.cli.chat_command, p2pchat.cli.exits, p2pchat.ui.jsonlines"
)
WARMUP_TIMEOUT = 120.0


@dataclass
class Figures:
    """What one system achieved with one room size."""

    system: str
    nodes: int
    formation_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    latency_samples_ms: list[float] = field(default_factory=list)
    burst_messages: int = 0
    burst_senders: int = 0
    burst_s: float = 0.0
    deliveries_per_s: float = 0.0
    lost: int = 0
    duplicated: int = 0
    copies_per_delivery: float | None = None
    bytes_per_delivery: float | None = None
    idle_cpu_percent: float = 0.0
    peak_rss_mb: float = 0.0


class Room:
    """N members of one system; for the relay also its server (not counted as a member)."""

    def __init__(self, system: str, nodes: int, workdir: Path) -> None:
        self.system = system
        self.members: list[Proc] = []
        self.extra: list[Proc] = []
        py = sys.executable
        ports = free_ports(nodes + 1)
        self.started = time.monotonic()
        if system == "p2pchat":
            for i in range(nodes):
                cmd = [py, "-m", "p2pchat", "--ui", "json", "--no-discovery", "--bind", "127.0.0.1"]
                cmd += ["--rate-limit", "1000000"]  # measure the machinery, not the spam guard
                cmd += ["--port", str(ports[i]), "--nick", f"n{i}"]
                cmd += ["--data-dir", str(workdir / f"n{i}")]
                if i:
                    cmd += ["--peer", f"127.0.0.1:{ports[0]}"]
                self.members.append(Proc(cmd, f"n{i}"))
        elif system == "fanout":
            peers = ",".join(str(p) for p in ports[:nodes])
            for i in range(nodes):
                cmd = [py, str(BASELINES / "fanout.py"), "--port", str(ports[i]), "--peers", peers]
                self.members.append(Proc(cmd, f"n{i}"))
        else:
            server = Proc(
                [py, str(BASELINES / "relay.py"), "server", "--port", str(ports[-1])], "srv"
            )
            self.extra.append(server)
            server.wait(lambda p: p.ready, READY_TIMEOUT)
            for i in range(nodes):
                cmd = [py, str(BASELINES / "relay.py"), "client", "--server", str(ports[-1])]
                self.members.append(Proc(cmd, f"n{i}"))
        want = nodes - 1 if system != "relay" else 1
        for member in self.members:
            if not member.wait(lambda p, w=want: p.ready and p.joined >= w, READY_TIMEOUT):
                raise RuntimeError(f"{system}: {member.name} did not join the room")
        self.formation = time.monotonic() - self.started

    def all_procs(self) -> list[Proc]:
        return self.members + self.extra

    def stop(self) -> None:
        for proc in self.all_procs():
            proc.stop()


def wait_delivered(room: Room, texts: dict[str, int], timeout: float) -> bool:
    """Wait until each member has every text not sent by itself (texts: text -> sender index)."""
    deadline = time.monotonic() + timeout
    for index, member in enumerate(room.members):
        wanted = [t for t, sender in texts.items() if sender != index]
        remaining = max(0.0, deadline - time.monotonic())
        if not member.wait(lambda p, w=wanted: all(t in p.arrivals for t in w), remaining):
            return False
    return True


def measure_latency(room: Room, fig: Figures, rate: float, count: int, size: int) -> None:
    pad = "x" * max(0, size - 24)
    sent: dict[str, float] = {}
    senders: dict[str, int] = {}
    interval = 1.0 / rate
    start = time.monotonic() + 0.05
    for i in range(count):
        delay = start + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        text = f"L{i}"
        index = i % len(room.members)
        senders[text] = index
        sent[text] = time.time()
        room.members[index].send(f"{text} {pad}\n")
    wait_delivered(room, senders, PHASE_TIMEOUT)
    samples = [
        (member.arrivals[text] - sent[text]) * 1000
        for index, member in enumerate(room.members)
        for text, sender in senders.items()
        if sender != index and text in member.arrivals
    ]
    samples.sort()
    fig.latency_samples_ms = samples
    if samples:
        fig.latency_ms = {
            "p50": statistics.median(samples),
            "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
            "max": samples[-1],
        }


def measure_burst(room: Room, fig: Figures, count: int, size: int, senders: int) -> None:
    """`senders` members write their share of `count` messages at once, as fast as they can."""
    pad = "y" * max(0, size - 8)
    senders = max(1, min(senders, len(room.members)))
    texts = {f"B{i}": i % senders for i in range(count)}
    before = totals(room)
    started = time.time()
    for index in range(senders):
        room.members[index].send("".join(f"{t} {pad}\n" for t, s in texts.items() if s == index))
    wait_delivered(room, texts, PHASE_TIMEOUT)
    received = [
        (m.arrivals[t], m.copies[t])
        for i, m in enumerate(room.members)
        for t, sender in texts.items()
        if sender != i and t in m.arrivals
    ]
    last = max((at for at, _ in received), default=started)
    fig.burst_messages = count
    fig.burst_senders = senders
    fig.burst_s = last - started
    expected = count * (len(room.members) - 1)
    fig.deliveries_per_s = len(received) / fig.burst_s if fig.burst_s > 0 else 0.0
    fig.lost = expected - len(received)
    fig.duplicated = sum(copies - 1 for _, copies in received)
    after = totals(room)
    if before and after:
        frames = after["chat_frames_in"] - before["chat_frames_in"]
        delivered = after["delivered_live"] - before["delivered_live"]
        out_bytes = after["bytes_out"] - before["bytes_out"]
        if delivered:
            fig.copies_per_delivery = frames / delivered
            fig.bytes_per_delivery = out_bytes / delivered


def totals(room: Room) -> dict[str, int] | None:
    """Sum of /stats over p2pchat members (None for the baselines)."""
    if room.system != "p2pchat":
        return None
    counts = [len(m.stats) for m in room.members]
    for member in room.members:
        member.send("/stats\n")
    for member, seen in zip(room.members, counts, strict=True):
        member.wait(lambda p, s=seen: len(p.stats) > s, PHASE_TIMEOUT)
    summed: Counter[str] = Counter()
    for member in room.members:
        summed.update({k: v for k, v in member.stats[-1].items() if isinstance(v, int)})
    return dict(summed)


def measure_idle(room: Room, fig: Figures, seconds: float) -> None:
    members = room.members
    before = [m.cpu_seconds() for m in members]
    time.sleep(seconds)
    after = [m.cpu_seconds() for m in members]
    fig.idle_cpu_percent = max((a - b) / seconds * 100 for a, b in zip(after, before, strict=True))
    fig.peak_rss_mb = max(m.peak_rss_mb() for m in members)


def run_system(system: str, nodes: int, args: argparse.Namespace) -> Figures:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{system}-"))
    fig = Figures(system, nodes)
    room = Room(system, nodes, workdir)
    try:
        fig.formation_s = room.formation
        measure_latency(room, fig, args.rate, args.messages, args.size)
        measure_burst(room, fig, args.burst, args.size, args.burst_senders or nodes)
        measure_idle(room, fig, args.idle)
    finally:
        room.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return fig


def bytecode_cache(directory: Path) -> None:
    """Every process started from here on runs from bytecode cached in directory, filled now.

    As an installed p2pchat does (pip compiles it): where PYTHONDONTWRITEBYTECODE is set,
    every node compiled p2pchat's sources at start, about 0.1 s of CPU each, which for a room
    of 20 on 2 cores was a second of the mesh's formation. Nothing is written to the tree.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(directory)
    subprocess.run(
        [sys.executable, "-c", WARMUP], cwd=BASELINES, check=True, timeout=WARMUP_TIMEOUT
    )


def signature_ceiling(seconds: float = 1.0) -> dict[str, float]:
    """How many Ed25519 checks one core does per second, and the machine's delivery ceiling.

    Every delivery costs one check at its receiver, so no room on this machine can deliver more
    than cores x checks/s messages a second; the burst is reported against that ceiling.
    """
    from p2pchat.core.crypto import chat_signing_bytes
    from p2pchat.core.messages import Chat
    from p2pchat.security.keys import NodeKeys

    keys = NodeKeys.generate()
    chat = Chat(keys.node_id, 1, 1, time.time(), "n", "y" * 100, keys.public_key)
    data = chat_signing_bytes("lobby", chat)
    signature = keys.sign(data)
    checks, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(100):
            keys.verify(keys.public_key, signature, data)
        checks += 100
    per_core = checks / (time.perf_counter() - started)
    cores = os.cpu_count() or 1
    return {"checks_per_s_one_core": per_core, "cores": cores, "ceiling": per_core * cores}


def simulated_cut(nodes: int, seed: int = 1, messages: int = 50) -> dict[str, float]:
    """Delivery and copies with a third of the links cut, in the simulator (virtual time)."""
    from p2pchat.core import events as ev
    from p2pchat.core.messages import Chat
    from p2pchat.simnet import SimNet

    net = SimNet(seed=seed)
    names = [f"n{i}" for i in range(nodes)]
    for name in names:
        net.add_node(name)
    pairs = list(itertools.combinations(names, 2))
    random.Random(seed).shuffle(pairs)
    for a, b in pairs[: len(pairs) // 3]:
        net.partition([a], [b])
    for a, b in itertools.permutations(names, 2):
        net.introduce(a, b, source="mdns")
    net.run(10.0)
    frames = Counter[str]()
    transmit = net._transmit

    def counting(conn: int, message: Any, frame: bytes | None, lossy: bool) -> None:
        if isinstance(message, Chat):
            frames["chat"] += 1
        transmit(conn, message, frame, lossy)

    net._transmit = counting  # type: ignore[method-assign]
    for i in range(messages):
        net.inject(names[i % nodes], ev.SendChat(f"m{i}"))
        net.run(0.05)
    net.run(5.0)
    live = sum(1 for n in names for m in net.nodes[n].messages() if not m.backfill and not m.own)
    expected = messages * (nodes - 1)
    return {
        "links_cut": len(pairs) // 3,
        "delivered_live_percent": 100.0 * live / expected,
        "delivered_percent": 100.0 * min(len(net.nodes[n].transcript()) for n in names) / messages,
        "copies_per_delivery": frames["chat"] / expected,
    }


def print_tables(
    results: dict[int, dict[str, Figures]],
    cut: dict[int, dict[str, float]],
    ceiling: dict[str, float],
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for nodes, figs in results.items():
        table = Table(title=f"{nodes} nodes on 127.0.0.1", title_justify="left")
        table.add_column("figure")
        for system in figs:
            table.add_column(system, justify="right")
        if "fanout" in figs:
            table.add_column("p2pchat / fanout", justify="right")
        if "relay" in figs:
            table.add_column("p2pchat / relay", justify="right")
        rows = [
            ("mesh formed (s)", lambda f: f.formation_s, "{:.2f}"),
            ("latency p50 (ms)", lambda f: f.latency_ms.get("p50", 0.0), "{:.2f}"),
            ("latency p99 (ms)", lambda f: f.latency_ms.get("p99", 0.0), "{:.2f}"),
            ("latency max (ms)", lambda f: f.latency_ms.get("max", 0.0), "{:.2f}"),
            ("burst: deliveries/s", lambda f: f.deliveries_per_s, "{:,.0f}"),
            ("burst: senders", lambda f: f.burst_senders, "{}"),
            ("burst: time (s)", lambda f: f.burst_s, "{:.2f}"),
            ("burst: lost / duplicated", lambda f: f"{f.lost} / {f.duplicated}", "{}"),
            ("copies per delivery", lambda f: f.copies_per_delivery, "{:.3f}"),
            ("bytes sent per delivery", lambda f: f.bytes_per_delivery, "{:,.0f}"),
            ("idle CPU, busiest node (%)", lambda f: f.idle_cpu_percent, "{:.2f}"),
            ("peak RSS, largest node (MB)", lambda f: f.peak_rss_mb, "{:.1f}"),
        ]
        for label, get, fmt in rows:
            cells = []
            for fig in figs.values():
                value = get(fig)
                cells.append("-" if value is None else fmt.format(value))
            ours = get(figs["p2pchat"]) if "p2pchat" in figs else None
            for base in ("fanout", "relay"):
                if base in figs:
                    theirs = get(figs[base])
                    ratio = (
                        f"{ours / theirs:.2f}x"
                        if isinstance(ours, float | int)
                        and isinstance(theirs, float | int)
                        and theirs
                        else ""
                    )
                    cells.append(ratio)
            table.add_row(label, *cells)
        console.print(table)
        if "p2pchat" in figs:
            share = figs["p2pchat"].deliveries_per_s / ceiling["ceiling"]
            console.print(
                f"signature checks: {ceiling['checks_per_s_one_core']:,.0f}/s on one core, so at "
                f"most {ceiling['ceiling']:,.0f} deliveries/s on {ceiling['cores']:.0f} cores; "
                f"the p2pchat burst reached {share:.2f} of that ceiling"
            )
        if nodes in cut:
            c = cut[nodes]
            console.print(
                f"simulated, a third of the links cut ({c['links_cut']:.0f}): "
                f"{c['delivered_percent']:.0f}% delivered "
                f"({c['delivered_live_percent']:.0f}% live), "
                f"{c['copies_per_delivery']:.3f} copies per delivery"
            )


def print_file_table(files: benchfiles.FileFigures) -> None:
    """The file transfer phase as a table."""
    print(
        f"\nfile transfer of {files.size_mib} MiB on 127.0.0.1 (until checked and in place; "
        f"median of {files.rounds} rounds)"
    )
    head = (
        "copy",
        "seconds",
        "MiB/s",
        "vs plain",
        "intact",
        "CPU s send/recv",
        "RSS MB before/peak",
        "chat ms p50/max",
    )
    print("  ".join(f"{h:>18}" for h in head))
    rows = (
        ("plain socket", files.raw),
        ("p2pchat open", files.p2pchat),
        ("p2pchat private", files.p2pchat_private),
    )
    shares = {
        "plain socket": "1.00",
        "p2pchat open": "{:.2f} ({:.2f}-{:.2f})".format(*files.share_open),
        "p2pchat private": "{:.2f} ({:.2f}-{:.2f})".format(*files.share_private),
    }
    for name, copy in rows:
        share = shares[name]
        rss = f"{copy.rss_mb_before:.0f}/{copy.rss_mb_peak:.0f}" if copy.rss_mb_peak else "-"
        chat = copy.chat_ms
        latency = f"{chat['p50']:.1f}/{chat['max']:.1f}" if chat else "-"
        cells = (
            name,
            f"{copy.seconds:.2f}",
            f"{copy.mib_per_s:.0f}",
            share,
            "yes" if copy.intact else "NO",
            f"{copy.cpu_send:.2f}/{copy.cpu_recv:.2f}",
            rss,
            latency,
        )
        print("  ".join(f"{c:>18}" for c in cells))


def save_chart(results: dict[int, dict[str, Figures]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    nodes = max(results)
    fig, ax = plt.subplots(figsize=(7, 4))
    for system, figures in results[nodes].items():
        samples = figures.latency_samples_ms
        if samples:
            ys = [i / len(samples) for i in range(1, len(samples) + 1)]
            ax.plot(samples, ys, label=system)
    ax.set_xscale("log")
    ax.set_xlabel("one-to-all delivery latency (ms, log scale)")
    ax.set_ylabel("share of deliveries")
    ax.set_title(f"Latency distribution, {nodes} nodes on 127.0.0.1")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--scale", help="room sizes to compare, e.g. 5,10,20,30")
    parser.add_argument("--messages", type=int, default=500, help="latency phase messages")
    parser.add_argument("--rate", type=float, default=100.0, help="latency phase messages/s")
    parser.add_argument("--burst", type=int, default=5000, help="burst phase messages")
    parser.add_argument(
        "--burst-senders", type=int, default=0, help="members sending the burst (default: all)"
    )
    parser.add_argument("--size", type=int, default=100, help="message size in bytes")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument(
        "--file-mib",
        type=int,
        default=1024,
        help="file transfer phase: file size in MiB (0: skip it)",
    )
    parser.add_argument(
        "--file-rounds", type=int, default=5, help="file transfer phase: copies of each kind"
    )
    parser.add_argument(
        "--files-only", action="store_true", help="run only the file transfer phase"
    )
    parser.add_argument(
        "--nonposix",
        action="store_true",
        help="file phase: p2pchat nodes without the POSIX-only calls (tests/nonposix), to "
        "measure the fallbacks Windows uses",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--chart", type=Path, help="save a latency chart (PNG; needs matplotlib)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.scale.split(",")] if args.scale else [args.nodes]
    systems = [s for s in args.systems.split(",") if s in SYSTEMS]
    if args.files_only:
        sizes, systems = [], []
    ceiling = signature_ceiling() if sizes else {}
    bytecode = Path(tempfile.mkdtemp(prefix="bench-bytecode-"))
    try:
        bytecode_cache(bytecode)
        return report(args, sizes, systems, ceiling)
    finally:
        shutil.rmtree(bytecode, ignore_errors=True)


def report(
    args: argparse.Namespace, sizes: list[int], systems: list[str], ceiling: dict[str, float]
) -> int:
    """Run the phases asked for and print their figures."""
    results: dict[int, dict[str, Figures]] = {}
    cut: dict[int, dict[str, float]] = {}
    files = None
    if args.file_mib > 0:
        print(f"file transfer of {args.file_mib} MiB...", file=sys.stderr, flush=True)
        node_env = {"PYTHONPATH": str(NONPOSIX)} if args.nonposix else {}
        files = benchfiles.run(args.file_mib, max(1, args.file_rounds), node_env)
    for nodes in sizes:
        results[nodes] = {}
        for system in systems:
            print(f"running {system} with {nodes} nodes...", file=sys.stderr, flush=True)
            results[nodes][system] = run_system(system, nodes, args)
        cut[nodes] = simulated_cut(nodes)
    if args.json:
        out = {
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "settings": {k: v for k, v in vars(args).items() if k not in ("json", "chart")},
            "results": {
                str(n): {
                    s: {k: v for k, v in asdict(f).items() if k != "latency_samples_ms"}
                    for s, f in figs.items()
                }
                for n, figs in results.items()
            },
            "simulated_third_of_links_cut": {str(n): c for n, c in cut.items()},
            "signature_ceiling": ceiling,
            "file_transfer": None if files is None else asdict(files),
        }
        print(json.dumps(out, indent=2, default=str))
    else:
        if results:
            print_tables(results, cut, ceiling)
        if files is not None:
            print_file_table(files)
    if args.chart is not None and results:
        if save_chart(results, args.chart):
            print(f"chart saved to {args.chart}", file=sys.stderr)
        else:
            print(
                "no chart: matplotlib is not installed (pip install -e '.[bench]')", file=sys.stderr
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
