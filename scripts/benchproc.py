"""Processes the benchmarks drive: JSON lines in, arrivals timed as they are read (127.0.0.1)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

BASELINES = Path(__file__).resolve().parent / "baselines"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MESSAGE_TEXT = re.compile(r'"text": "([^ "]+)')


class Proc:
    """One process speaking the JSON-lines contract; arrivals are timed as lines are read."""

    def __init__(self, cmd: list[str], name: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            cwd=BASELINES,
            env={**os.environ, **(env or {})},
        )
        self.cond = threading.Condition()
        self.ready = False
        self.joined = 0
        self.arrivals: dict[str, float] = {}
        self.copies: Counter[str] = Counter()
        self.stats: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []  # everything else that is not a message
        self.thread = threading.Thread(target=self._read, name=f"bench-{name}", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            now = time.time()
            # The bench shares the 2 cores with the nodes: message lines are not fully parsed.
            found = MESSAGE_TEXT.search(line) if '"event": "message"' in line else None
            if found is not None:
                if '"own": true' not in line and '"backfill": true' not in line:
                    with self.cond:
                        self.arrivals.setdefault(found.group(1), now)
                        self.copies[found.group(1)] += 1
                        self.cond.notify_all()
                continue
            event = json.loads(line)
            kind = event.get("event")
            with self.cond:
                if kind == "peer_joined":
                    self.joined += 1
                elif kind == "peer_left":
                    self.joined -= 1
                elif kind == "ready":
                    self.ready = True
                elif kind == "stats":
                    self.stats.append(event)
                else:
                    self.events.append({**event, "at": now})
                self.cond.notify_all()

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def wait(self, predicate: Any, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self), timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(5)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def peak_rss_mb(self) -> float:
        return self._status_mb("VmHWM:")

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS:")

    def event(self, kind: str, timeout: float, **fields: Any) -> dict[str, Any] | None:
        """The first event of kind with these fields, waiting up to timeout."""

        def found(p: Proc) -> dict[str, Any] | None:
            for event in p.events:
                if event.get("event") == kind and all(event.get(k) == v for k, v in fields.items()):
                    return event
            return None

        with self.cond:
            self.cond.wait_for(lambda: found(self) is not None, timeout)
            return found(self)

    def _status_mb(self, key: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
        return 0.0


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 right now."""
    socks = [socket.socket() for _ in range(count)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports
