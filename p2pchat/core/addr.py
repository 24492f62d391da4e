"""Host:port text, both ways, for IPv4, IPv6 and names."""

from __future__ import annotations

MAX_PORT = 65535


def format_addr(host: str, port: int) -> str:
    """host:port, with IPv6 hosts in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_hostport(text: str) -> tuple[str, int]:
    """Split 'host:port' or '[v6]:port'; raise ValueError with a user-facing reason."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"{text!r} is not [IPv6]:PORT")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or ":" in host:
            raise ValueError(f"{text!r} is not HOST:PORT")
    if not host:
        raise ValueError(f"{text!r} has no host")
    if not port_text.isdigit() or not 1 <= int(port_text) <= MAX_PORT:
        raise ValueError(f"{text!r} has no valid port (1-{MAX_PORT})")
    return host, int(port_text)
