"""Lines read from stdin: polled where the platform can, handed over by a thread where it
cannot (Windows), ended by end of input or a stop signal either way."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

import pytest

from p2pchat.ui import lines
from p2pchat.ui.lines import StdinLines

SIGNAL_DELAY = 0.2


@pytest.fixture(params=["polled", "handed over"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "handed over":  # as on Windows, whose select takes only sockets
        monkeypatch.setattr(lines, "_pollable", lambda fd: False)
    return str(request.param)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_lines_split_on_newlines_with_windows_line_ends_taken_off(
    mode: str, pipe: tuple[int, int]
) -> None:
    read_end, write_end = pipe
    os.write(write_end, "one\r\ntwo\nthree ünï\r\nlast".encode())
    os.close(write_end)
    with StdinLines(read_end) as typed:
        assert list(typed) == ["one", "two", "three ünï", "last"]
        assert typed.stopped_by is None


def test_a_stop_signal_ends_the_lines_while_waiting_for_input(
    mode: str, pipe: tuple[int, int]
) -> None:
    read_end, write_end = pipe
    os.write(write_end, b"before\n")
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(SIGNAL_DELAY, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        with StdinLines(read_end) as typed:
            timer.start()
            assert list(typed) == ["before"]
            assert typed.stopped_by == "SIGTERM"
    finally:
        timer.cancel()
        timer.join()
        os.close(write_end)  # the hand-over thread's read ends with the input
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is given back
