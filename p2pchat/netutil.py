"""Socket settings that mean the same on every platform (named by what they do, not by flag).

At package level, not in transport/ or discovery/: both use them, and neither imports the other.
"""

from __future__ import annotations

import socket


def claim_port_exclusively(sock: socket.socket) -> None:
    """Set sock so its bind fails while another socket listens on the port, yet a port left in
    TIME_WAIT can be taken again: SO_REUSEADDR on POSIX; on Windows, where SO_REUSEADDR would
    let us take a port another program listens on, SO_EXCLUSIVEADDRUSE."""
    exclusive = getattr(socket, "SO_EXCLUSIVEADDRUSE", None)
    if exclusive is not None:
        sock.setsockopt(socket.SOL_SOCKET, exclusive, 1)
    else:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


def share_port(sock: socket.socket) -> None:
    """Set a UDP sock so that several sockets on this host can bind its port and each hear the
    broadcasts and multicasts sent to it (SO_REUSEPORT where it exists, as BSD and Linux need)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
