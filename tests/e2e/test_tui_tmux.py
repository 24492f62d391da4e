"""Two real nodes in full-screen mode, each in a tmux pane: type in one, read the other's screen."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCREEN_TIMEOUT = 20.0
POLL = 0.1
KEY_PAUSE = 0.15


class Tmux:
    """A private tmux server (its own socket) with one session per node."""

    def __init__(self, name: str) -> None:
        self.socket = name

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return result.stdout

    def start(self, session: str, command: list[str]) -> None:
        env = " ".join(f"{k}={v}" for k, v in (("TERM", "xterm-256color"), ("COLUMNS", "100")))
        line = env + " " + " ".join(command)
        self.run("new-session", "-d", "-s", session, "-x", "110", "-y", "24", line)

    def screen(self, session: str) -> str:
        return self.run("capture-pane", "-p", "-t", session)

    def type(self, session: str, *keys: str) -> None:
        # One key at a time, like a person: a burst would look like a paste to the app.
        for key in keys:
            self.run("send-keys", "-t", session, key)
            time.sleep(KEY_PAUSE)

    def wait_for(self, session: str, text: str) -> str:
        deadline = time.monotonic() + SCREEN_TIMEOUT
        while True:
            screen = self.screen(session)
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared on {session}:\n{screen}")
            time.sleep(POLL)

    def kill(self) -> None:
        self.run("kill-server")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux (.ci/run installs it)")
    server = Tmux(f"p2pchat-test-{os.getpid()}")
    try:
        yield server
    finally:
        server.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_people_chat_in_full_screen(tmux: Tmux, tmp_path: Path) -> None:
    port = free_port()
    base = [sys.executable, "-m", "p2pchat", "--no-mdns", "--bind", "127.0.0.1"]
    tmux.start(
        "alice", [*base, "--nick", "alice", "--port", str(port), "--data-dir", str(tmp_path / "a")]
    )
    tmux.start(
        "bob",
        [*base, "--nick", "bob", "--peer", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "b")],
    )
    tmux.wait_for("bob", "● alice")
    tmux.wait_for("alice", "● bob")
    assert "OPEN room" in tmux.screen("alice")
    tmux.type("alice", *"hello from alice", "Enter")
    tmux.wait_for("bob", "alice: hello from alice")
    tmux.type("bob", "a", "l", "Tab", *"hi there", "Enter")  # Tab completes the nick
    screen = tmux.wait_for("alice", "bob: alice: hi there")
    assert "1 peer" in screen
    tmux.type("bob", *"/quit", "Enter")
    tmux.wait_for("alice", "bob left: quit")
    tmux.type("alice", *"/quit", "Enter")
    deadline = time.monotonic() + SCREEN_TIMEOUT
    while "alice" in tmux.run("list-sessions") and time.monotonic() < deadline:
        time.sleep(POLL)
    assert "alice" not in tmux.run("list-sessions")
