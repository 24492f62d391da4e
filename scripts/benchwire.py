#!/usr/bin/env python3
"""Time encode_message and decode_message (parse and validate) per wire message, in one thread.

    .venv/bin/python scripts/benchwire.py [--repeat 15] [--json]

Prints, for a few typical messages, their size in bytes and the best time in µs of encoding
and of decoding one (the best of --repeat runs, so other load on the machine counts least).
Run it at two commits to compare them (docs/BENCHMARKS.md, "Wire messages"). Pure CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchat.core.entries import AUTHOR_ONLY_KINDS, EntryKind
from p2pchat.core.limits import Limits
from p2pchat.core.messages import (
    Chat,
    Direct,
    Hello,
    Message,
    PeerAddress,
    PeerList,
    Ping,
    SyncBatch,
    decode_message,
    encode_message,
)

BATCH_CHATS = 50
TARGET_SECONDS = 0.02  # of CPU per timed run; runs are repeated and the best kept
A = "a" * 32
B = "b" * 32
KEY = bytes(range(32))
SIG = bytes(range(64))


def samples() -> dict[str, Message]:
    """Typical messages: a chat line, a ping, a sync batch of 50 chats, a hello, and others."""

    def chat(seq: int) -> Chat:
        text = f"message {seq}: a line of chat of an everyday length, with ünïcode ✓"
        return Chat(A, seq, seq + 7, 1_700_000_000.25 + seq, "alice", text, KEY, SIG)

    def entry(kind: EntryKind, text: str) -> Chat:
        ref = f"{A if kind in AUTHOR_ONLY_KINDS else B}:41"
        return Chat(A, 50, 57, 1_700_000_050.25, "alice", text, KEY, SIG, kind, ref)

    return {
        "Chat": chat(1),
        "Chat reaction": entry(EntryKind.REACT, "👍"),
        "Chat edit": entry(EntryKind.EDIT, chat(1).text),
        "Chat delete": entry(EntryKind.DELETE, ""),
        "Chat reply": entry(EntryKind.REPLY, chat(1).text),
        "Ping": Ping(7, "0123456789abcdef", 1_700_000_000.5, "fedcba9876543210"),
        f"SyncBatch ({BATCH_CHATS} chats)": SyncBatch(
            tuple(chat(seq) for seq in range(1, BATCH_CHATS + 1)), {B: 3}, True
        ),
        "Hello": Hello(3, A, "alice", "lobby", 41234, KEY, KEY[::-1], bytes(16), "ab" * 16, KEY),
        "Direct": Direct(A, B, "0123456789abcdef", 1_700_000_000.5, KEY, KEY, bytes(120), SIG),
        "PeerList (8)": PeerList(
            tuple(PeerAddress(f"{i:032x}", f"192.168.1.{i}", 41234) for i in range(8)), True
        ),
    }


def best_us(call: Callable[[], object], repeat: int) -> float:
    """The best CPU time of one call in µs (this thread's, so waits for a core do not count)."""
    timer = timeit.Timer(call, timer=time.thread_time)
    number = 1
    while timer.timeit(number) < TARGET_SECONDS:
        number *= 2
    return min(timer.repeat(repeat, number)) / number * 1e6


def measure(repeat: int) -> dict[str, dict[str, float]]:
    """{message: {bytes, encode_us, decode_us}} for every sample."""
    limits = Limits()
    figures: dict[str, dict[str, float]] = {}
    for name, message in samples().items():
        payload = encode_message(message)
        assert decode_message(payload, limits) == message
        figures[name] = {
            "bytes": len(payload),
            "encode_us": best_us(lambda m=message: encode_message(m), repeat),
            "decode_us": best_us(lambda p=payload: decode_message(p, limits), repeat),
        }
    return figures


def main() -> int:
    """Measure and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs; the best is kept")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = measure(args.repeat)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{'message':<22} {'bytes':>6} {'encode µs':>10} {'decode µs':>10}")
    for name, row in figures.items():
        print(
            f"{name:<22} {row['bytes']:>6.0f} {row['encode_us']:>10.2f} {row['decode_us']:>10.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
