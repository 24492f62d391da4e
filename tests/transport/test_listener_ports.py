"""The chat port is claimed so that a second listener fails on every platform."""

from __future__ import annotations

import socket

import pytest

from p2pchat.netutil import claim_port_exclusively
from p2pchat.transport.listener import StartupError, open_listener


class Recording:
    """Stands in for a socket: records the options set on it."""

    def __init__(self) -> None:
        self.options: list[tuple[int, int, int]] = []

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.options.append((level, option, value))


def test_posix_reuses_a_port_in_time_wait_and_windows_claims_it_exclusively(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(socket, "SO_EXCLUSIVEADDRUSE", raising=False)
    posix = Recording()
    claim_port_exclusively(posix)  # type: ignore[arg-type]
    assert posix.options == [(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)]
    # Windows' SO_REUSEADDR would let a second program listen on the same port.
    monkeypatch.setattr(socket, "SO_EXCLUSIVEADDRUSE", -5, raising=False)
    windows = Recording()
    claim_port_exclusively(windows)  # type: ignore[arg-type]
    assert windows.options == [(socket.SOL_SOCKET, -5, 1)]


def test_a_second_listener_on_the_same_port_is_refused() -> None:
    first = open_listener("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        with pytest.raises(StartupError, match="address already in use"):
            open_listener("127.0.0.1", port)
    finally:
        first.close()
