"""Peers given by hand (--peer, /connect): HOST[:PORT] text to dialable IP addresses."""

from __future__ import annotations

import socket

from p2pchat.core.addr import parse_hostport
from p2pchat.core.limits import DEFAULT_PORT


def resolve_peer(spec: str) -> tuple[str, int]:
    """Turn 'host[:port]' into one dialable (ip, port), IPv4 first (no port: the default one);
    raise ValueError if impossible."""
    host, port = parse_hostport(spec, DEFAULT_PORT)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise ValueError(f"cannot resolve {host!r}: {reason}") from None
    for wanted in (socket.AF_INET, socket.AF_INET6):
        for family, _, _, _, sockaddr in infos:
            if family == wanted:
                return (str(sockaddr[0]).split("%")[0], port)
    raise ValueError(f"{host!r} has no IP address")
