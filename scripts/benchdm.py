#!/usr/bin/env python3
"""Benchmark direct messages to a member who is away, with real processes on 127.0.0.1 only.

Each round: bob, alice and carol meet; carol leaves; alice writes carol `backlog` DMs (queued,
handed to bob) and leaves too; carol starts again, given only bob's address. Measured: the time
from carol's process start, and from her link to bob, until every DM is on her screen; then
alice starts again and the time until she sees every DM delivered.

usage: scripts/benchdm.py [--rounds 5] [--backlog 1,100] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchproc import Proc, free_ports  # noqa: E402 - scripts beside this one

TIMEOUT = 60.0


def start(name: str, data: Path, port: int, peer: int | None) -> Proc:
    """A node on 127.0.0.1 without discovery (and --peer 127.0.0.1:peer)."""
    cmd = [sys.executable, "-m", "p2pchat", "--ui", "json", "--no-discovery", "--no-notify"]
    cmd += ["--bind", "127.0.0.1", "--port", str(port), "--nick", name]
    cmd += ["--data-dir", str(data / name)]
    if peer is not None:
        cmd += ["--peer", f"127.0.0.1:{peer}"]
    proc = Proc(cmd, name, env={"PYTHONPATH": str(ROOT)})
    if not proc.wait(lambda p: p.ready, TIMEOUT):
        raise SystemExit(f"{name} did not start")
    return proc


def joined(proc: Proc, count: int) -> bool:
    """Wait until proc links to count peers."""
    return proc.wait(lambda p: p.joined >= count, TIMEOUT)


def one_round(backlog: int, index: int) -> dict[str, float]:
    """One round with backlog DMs; the three times in seconds."""
    bob_port, alice_port, carol_port = free_ports(3)
    texts = [f"dm-{index}-{i}" for i in range(backlog)]
    with tempfile.TemporaryDirectory(prefix="p2pchat-benchdm-") as tmp:
        data = Path(tmp)
        procs: list[Proc] = []
        try:
            bob = start("bob", data, bob_port, None)
            alice = start("alice", data, alice_port, bob_port)
            carol = start("carol", data, carol_port, bob_port)
            procs += [bob, alice, carol]
            if not all(joined(p, 2) for p in procs):
                raise SystemExit("the three did not meet")
            carol.stop()
            if not alice.wait(lambda p: p.joined == 1, TIMEOUT):
                raise SystemExit("alice did not see carol leave")
            alice.send("".join(f"/msg carol {text}\n" for text in texts))

            def queued(p: Proc) -> bool:
                found = [e for e in p.events if e.get("event") == "dm_status"]
                return sum(e.get("status") == "queued" for e in found) >= backlog

            if not alice.wait(queued, TIMEOUT):
                raise SystemExit("alice's DMs were not queued")
            alice.stop()
            bob.wait(lambda p: p.joined == 0, TIMEOUT)

            returned = time.time()
            carol = start("carol", data, carol_port, bob_port)
            procs.append(carol)
            if not carol.wait(lambda p: all(t in p.arrivals for t in texts), TIMEOUT):
                raise SystemExit("carol did not get every DM")
            linked = carol.event("peer_joined", TIMEOUT)
            shown = max(carol.arrivals[t] for t in texts)
            if any(carol.copies[t] != 1 for t in texts):
                raise SystemExit("a DM was shown twice")

            back = time.time()
            alice = start("alice", data, alice_port, bob_port)
            procs.append(alice)

            def delivered(p: Proc) -> bool:
                found = [e for e in p.events if e.get("event") == "dm_status"]
                return sum(e.get("status") == "delivered" for e in found) >= backlog

            if not alice.wait(delivered, TIMEOUT):
                raise SystemExit("alice did not see every DM delivered")
            done = max(e["at"] for e in alice.events if e.get("status") == "delivered")
            return {
                "from_start_s": shown - returned,
                "from_link_s": shown - (linked["at"] if linked else returned),
                "delivered_s": done - back,
            }
        finally:
            for proc in procs:
                proc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backlog", default="1,100", help="DMs waiting for carol, per run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[int, list[dict[str, float]]] = {}
    for backlog in (int(b) for b in args.backlog.split(",")):
        results[backlog] = [one_round(backlog, i) for i in range(args.rounds)]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        "DMs waiting | carol's start → all shown | her link → all shown | alice's start → delivered"
    )
    print("            |     median      max      |   median      max     |   median      max")
    for backlog, rounds in results.items():
        cells = []
        for key in ("from_start_s", "from_link_s", "delivered_s"):
            values = [r[key] for r in rounds]
            cells.append(f"{statistics.median(values):8.3f} s {max(values):7.3f} s")
        print(f"{backlog:11d} | " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
