#!/usr/bin/env python3
"""Long seed sweep of the chaos simulator: scripts/simulate.py --seeds 0-49 --nodes 100.

Each seed runs many p2pchat cores in virtual time with loss, reordering, partitions, crashes
and restarts, then checks that every node holds the same messages in the same order and showed
none twice. A failing seed is printed with the command that reruns it alone. Pure CPU: nothing
touches the network.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchat.simulation import Chaos, run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-19", help="a seed or a range A-B (default 0-19)")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--duration", type=float, default=60.0, help="virtual seconds of chaos")
    parser.add_argument("--loss", type=float, default=0.05, help="share of chat frames lost")
    parser.add_argument("--crashes", type=int, default=6)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--codec", action="store_true", help="encode every frame (slower)")
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    seeds = range(int(first), int(last or first) + 1)
    chaos = Chaos(
        nodes=args.nodes,
        messages=args.messages,
        duration=args.duration,
        loss=args.loss,
        crashes=args.crashes,
        partitions=args.partitions,
        ping_after_silence=2.0 if args.nodes > 50 else 1.0,
        codec=args.codec,
    )
    failed = []
    for seed in seeds:
        started = time.monotonic()
        outcome = run_chaos(seed, chaos)
        print(f"{outcome.summary()} [{time.monotonic() - started:.1f} s]", flush=True)
        if not outcome.ok:
            failed.append(seed)
    if failed:
        print(f"{len(failed)} failing seed(s): {failed}; rerun one with --seeds {failed[0]}")
        return 1
    print(f"all {len(seeds)} seeds passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
