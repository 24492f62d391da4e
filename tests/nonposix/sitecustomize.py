"""Test mode: this Python looks like a platform without p2pchat's POSIX-only calls (Windows).

Put this directory on PYTHONPATH and every process started with it, node processes included,
has no os.sendfile, os.preadv or os.pread, no socket.sendmsg, no fcntl module, no
signal.SIGHUP, and a select() that takes sockets only, as on Windows. A fast path that is still
called without feature detection fails with AttributeError or ImportError; the fallbacks are
the only way left.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import stat
import sys
from typing import Any

HIDDEN_OS_CALLS = ("sendfile", "preadv", "pread")
WSAENOTSOCK = 10038  # what Windows' select says of a descriptor that is not a socket


class _Hidden:
    """A class attribute that is not there: hasattr() is False and a call fails."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        raise AttributeError(f"{self._name} is hidden (tests/nonposix: no such call on Windows)")


def _is_socket(item: Any) -> bool:
    if isinstance(item, socket.socket):
        return True
    fd = item if isinstance(item, int) else item.fileno()
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False


_select = select.select


def _sockets_only(rlist: Any, wlist: Any, xlist: Any, timeout: float | None = None) -> Any:
    for item in [*rlist, *wlist, *xlist]:
        if not _is_socket(item):
            raise OSError(
                WSAENOTSOCK, "An operation was attempted on something that is not a socket"
            )
    return _select(rlist, wlist, xlist, timeout)


for _name in HIDDEN_OS_CALLS:
    if hasattr(os, _name):
        delattr(os, _name)
socket.socket.sendmsg = _Hidden("socket.sendmsg")  # type: ignore[assignment,method-assign]
sys.modules["fcntl"] = None  # type: ignore[assignment]  # import fcntl: ImportError
if hasattr(signal, "SIGHUP"):
    del signal.SIGHUP
select.select = _sockets_only
