"""Drive real `p2pchat --ui json` processes: start, type, wait for events under deadlines, stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Event = dict[str, Any]
DEFAULT_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0


class ChatProcess:
    """One p2pchat process in JSON mode; every stdout line is kept as a parsed event."""

    def __init__(
        self,
        data_dir: Path,
        nick: str,
        *args: str,
        prefix: tuple[str, ...] = (),
        bind: str | None = "127.0.0.1",
        mdns: bool = False,
        env: dict[str, str] | None = None,
        default_port: bool = False,
    ) -> None:
        cmd = [*prefix, sys.executable, "-m", "p2pchat", "--ui", "json", "--nick", nick]
        cmd += ["--data-dir", str(data_dir)]
        if not default_port and "--port" not in args:
            cmd += ["--port", "0"]  # many nodes on one host; the default port is tried in netns
        if bind is not None:
            cmd += ["--bind", bind]
        if not mdns:
            cmd.append("--no-discovery")
        cmd += list(args)
        self.nick = nick
        self.events: list[Event] = []
        self.stderr: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self._threads = [
            threading.Thread(target=self._read_stdout, name=f"harness-out-{nick}"),
            threading.Thread(target=self._read_stderr, name=f"harness-err-{nick}"),
        ]
        for thread in self._threads:
            thread.start()
        self.id = ""
        self.port = 0

    # ----------------------------------------------------------------- waiting

    def wait_for(
        self,
        predicate: Callable[[Event], bool],
        timeout: float = DEFAULT_TIMEOUT,
        what: str = "",
        since: int = 0,
    ) -> Event:
        """The first event (from index since) matching predicate; fail after timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[since:]:
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and self._eof):
                    raise AssertionError(
                        f"{self.nick}: no event {what or predicate} within {timeout}s; "
                        f"exit={self.proc.poll()} events={self.events[-5:]} "
                        f"stderr={self.stderr[-5:]}"
                    )
                self._cond.wait(remaining)

    def wait_count(
        self, predicate: Callable[[Event], bool], count: int, timeout: float = DEFAULT_TIMEOUT
    ) -> list[Event]:
        """Wait until at least count events match; return them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [e for e in self.events if predicate(e)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and self._eof):
                    raise AssertionError(
                        f"{self.nick}: {len(found)}/{count} matching events within {timeout}s; "
                        f"stderr={self.stderr[-5:]}"
                    )
                self._cond.wait(remaining)

    def ready(self, timeout: float = DEFAULT_TIMEOUT) -> ChatProcess:
        """Wait for the ready event; remember id and port."""
        event = self.wait_for(lambda e: e["event"] == "ready", timeout, "ready")
        self.id = event["id"]
        self.port = event["port"]
        return self

    def wait_peers(self, ids: set[str], timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until a peer_joined has been seen for every id (and no later peer_left)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                linked = self.linked()
                if ids <= linked:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.nick}: linked to {len(linked)}, want {len(ids)}")
                self._cond.wait(remaining)

    def linked(self) -> set[str]:
        """IDs joined and not left since, from the events so far."""
        linked: set[str] = set()
        with self._cond:
            for event in self.events:
                if event["event"] == "peer_joined":
                    linked.add(event["id"])
                elif event["event"] == "peer_left":
                    linked.discard(event["id"])
        return linked

    def history(self, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
        """msg_ids of the room's stored history in transcript order (via /history)."""
        with self._cond:
            since = len(self.events)
        self.send("/history 100000")
        event = self.wait_for(lambda e: e["event"] == "history", timeout, "history", since)
        return [m["msg_id"] for m in event["messages"]]

    def stats(self, timeout: float = DEFAULT_TIMEOUT) -> Event:
        """The node's traffic counters (via /stats)."""
        with self._cond:
            since = len(self.events)
        self.send("/stats")
        return self.wait_for(lambda e: e["event"] == "stats", timeout, "stats", since)

    def messages(self) -> list[Event]:
        """Every message event so far."""
        with self._cond:
            return [e for e in self.events if e["event"] == "message"]

    # ---------------------------------------------------------------- control

    def send(self, line: str) -> None:
        """Type one line."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    @property
    def addr(self) -> str:
        """127.0.0.1:port of this node."""
        return f"127.0.0.1:{self.port}"

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait, then kill; return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self._reap(timeout)

    def kill(self) -> None:
        """SIGKILL at once."""
        if self.proc.poll() is None:
            self.proc.kill()
        self._reap(STOP_TIMEOUT)

    def close_stdin(self) -> None:
        """End of input, as Ctrl-D would."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def _reap(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        for thread in self._threads:
            thread.join()
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        return code

    _eof = False

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsable", "line": line}
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.stderr.append(line.rstrip("\n"))


class Cluster:
    """Starts processes in one temp dir and guarantees they are all stopped at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[ChatProcess] = []

    def start(self, nick: str, *args: str, **kwargs: Any) -> ChatProcess:
        """Start a node with its own data dir (kwargs as for ChatProcess)."""
        proc = ChatProcess(self.root / nick, nick, *args, **kwargs)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        """SIGTERM every process still running (kill if it hangs)."""
        for proc in self.procs:
            if proc.proc.poll() is None:
                proc.proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            proc._reap(STOP_TIMEOUT)


def chain(cluster: Cluster, count: int, *extra: str) -> Iterator[ChatProcess]:
    """Start count nodes, each given only the previous one as --peer."""
    previous: ChatProcess | None = None
    for i in range(count):
        args = [*extra] + (["--peer", previous.addr] if previous else [])
        proc = cluster.start(f"node{i}", *args).ready()
        yield proc
        previous = proc
