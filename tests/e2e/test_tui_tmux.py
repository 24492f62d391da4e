"""Two real nodes in full-screen mode, each in a tmux pane: type in one, read the other's screen."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from p2pchat.ui.format import LINE_GUTTER
from p2pchat.ui.tui.keys import PASTE_WINDOW_SECONDS

SCREEN_TIMEOUT = 20.0
POLL = 0.1
KEY_PAUSE = 0.15
EXIT_TIMEOUT = 5.0  # how long a node may take to exit once its terminal is gone


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

    def paste(self, session: str, text: str, folder: Path, *, bracketed: bool) -> None:
        """Paste text into a pane: marked as a paste, or as if typed (line breaks as Enter)."""
        source = folder / "paste.txt"
        source.write_text(text)
        self.run("load-buffer", "-b", "paste", str(source))
        self.run("paste-buffer", "-d", "-b", "paste", "-t", session, *(["-p"] if bracketed else []))

    def wait_for(self, session: str, text: str, times: int = 1) -> str:
        deadline = time.monotonic() + SCREEN_TIMEOUT
        while True:
            screen = self.screen(session)
            if screen.count(text) >= times:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared on {session}:\n{screen}")
            time.sleep(POLL)

    def kill(self) -> None:
        """Stop the server, then make sure no node it ran outlives it (a node whose terminal
        went away must exit on the SIGHUP; one that does not is killed, not left behind)."""
        pids = [int(p) for p in self.run("list-panes", "-a", "-F", "#{pane_pid}").split()]
        self.run("kill-server")
        deadline = time.monotonic() + EXIT_TIMEOUT
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if _alive(pid)]
            time.sleep(POLL)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # each pane is its own process group


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux (.ci/run installs it)")
    server = Tmux(f"p2pchat-test-{os.getpid()}")
    try:
        yield server
    finally:
        server.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_pair(tmux: Tmux, tmp_path: Path, *, plain: bool = False) -> None:
    """alice and bob linked over 127.0.0.1: in full screen, or in plain mode (the line editor)."""
    port = free_port()
    ui = ["--ui", "plain"] if plain else []
    base = [sys.executable, "-m", "p2pchat", *ui, "--no-discovery", "--bind", "127.0.0.1"]
    tmux.start(
        "alice", [*base, "--nick", "alice", "--port", str(port), "--data-dir", str(tmp_path / "a")]
    )
    tmux.start(
        "bob",
        [*base, "--nick", "bob", "--peer", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "b")],
    )
    joined = "→ {}" if plain else "● {}"
    tmux.wait_for("bob", joined.format("alice"))
    tmux.wait_for("alice", joined.format("bob"))


def test_two_people_chat_in_full_screen(tmux: Tmux, tmp_path: Path) -> None:
    start_pair(tmux, tmp_path)
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


def test_a_multi_line_paste_arrives_as_one_message(tmux: Tmux, tmp_path: Path) -> None:
    start_pair(tmux, tmp_path)
    # Marked as a paste (the app asked the terminal for bracketed paste).
    tmux.paste("alice", "first line\nsecond line\nthird line", tmp_path, bracketed=True)
    tmux.wait_for("alice", "3 lines, one message")
    tmux.type("alice", "Enter")
    screen = tmux.wait_for("bob", "alice: first line")
    assert f"{LINE_GUTTER}second line" in screen and f"{LINE_GUTTER}third line" in screen
    # Typed in one burst, as a terminal without bracketed paste sends it: Enter keys and all.
    tmux.run("send-keys", "-t", "bob", "one", "Enter", "two", "Enter", "three")
    tmux.wait_for("bob", "3 lines, one message")
    time.sleep(PASTE_WINDOW_SECONDS)  # a person reads it first (Enter right away is a new line)
    tmux.type("bob", "Enter")
    screen = tmux.wait_for("alice", "bob: one")
    assert f"{LINE_GUTTER}two" in screen and f"{LINE_GUTTER}three" in screen


def test_a_70_kb_paste_is_refused_at_once_and_nothing_typed_is_lost(
    tmux: Tmux, tmp_path: Path
) -> None:
    base = [sys.executable, "-m", "p2pchat", "--no-discovery", "--bind", "127.0.0.1", "--port", "0"]
    tmux.start("alice", [*base, "--nick", "alice", "--data-dir", str(tmp_path / "a")])
    tmux.wait_for("alice", "#lobby")
    tmux.type("alice", *"keep")
    text = "\n".join(f"{i:05d} " + "pasted words " * 5 for i in range(1000))  # 71 KB
    refused = f"paste too long ({4 + len(text)} > 16384 characters); nothing was added"
    for times, bracketed in enumerate((True, False), start=1):
        tmux.paste("alice", text, tmp_path, bracketed=bracketed)
        tmux.wait_for("alice", "paste too long (", times)
        tmux.wait_for("alice", refused, times)  # the line counts all of it, once it is in
    time.sleep(PASTE_WINDOW_SECONDS)  # a person reads it first (Enter right away is a new line)
    tmux.type("alice", *" me", "Enter")
    tmux.wait_for("alice", "alice: keep me")


def last_line(screen: str) -> str:
    return [line for line in screen.splitlines() if line.strip()][-1]


def test_plain_mode_on_a_terminal_prints_above_the_line_being_typed(
    tmux: Tmux, tmp_path: Path
) -> None:
    # Issue 12: incoming lines broke into the half-typed line, which then could not be edited.
    start_pair(tmux, tmp_path, plain=True)
    tmux.type("bob", *"half typ")
    tmux.wait_for("bob", "> half typ")
    tmux.type("alice", *"hello bob", "Enter")
    screen = tmux.wait_for("bob", "alice: hello bob")
    assert last_line(screen) == "> half typ"  # the typed line stays whole, below
    tmux.type("bob", "BSpace", *"ped", "Enter")
    tmux.wait_for("alice", "bob: half typed")
    tmux.type("bob", "Up")  # the line history
    tmux.wait_for("bob", "> half typed")


def test_plain_mode_sends_a_marked_paste_as_one_message_and_tab_completes_nicks(
    tmux: Tmux, tmp_path: Path
) -> None:
    start_pair(tmux, tmp_path, plain=True)
    tmux.paste("alice", "one\ntwo\nthree", tmp_path, bracketed=True)
    tmux.type("alice", "Enter")
    screen = tmux.wait_for("bob", "alice: one")
    assert f"{LINE_GUTTER}two" in screen and f"{LINE_GUTTER}three" in screen
    tmux.type("bob", *"/msg al", "Tab")
    tmux.type("bob", *"psst")
    tmux.wait_for("bob", "> /msg alice psst")  # the space came with the nick
    tmux.type("bob", "Enter")
    tmux.wait_for("alice", "bob → you (direct): psst")
