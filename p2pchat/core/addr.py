"""Host:port text, both ways, for IPv4, IPv6 and names."""

from __future__ import annotations

MAX_PORT = 65535


def format_addr(host: str, port: int) -> str:
    """host:port, with IPv6 hosts in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_hostport(text: str, default_port: int | None = None) -> tuple[str, int]:
    """Split 'host:port' or '[v6]:port' (or a bare host, '[v6]' or v6 address: default_port);
    raise ValueError with a user-facing reason."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if sep and not rest and default_port is not None:
            rest = f":{default_port}"
        if not sep or not rest.startswith(":"):
            raise ValueError(f"{text!r} is not [IPv6]:PORT")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if default_port is not None and (not sep or ":" in host):
            host, port_text = text, str(default_port)  # a bare name, IPv4 or IPv6 address
        elif not sep or ":" in host:
            raise ValueError(f"{text!r} is not HOST:PORT")
    if not host:
        raise ValueError(f"{text!r} has no host")
    if not port_text.isdigit() or not 1 <= int(port_text) <= MAX_PORT:
        raise ValueError(f"{text!r} has no valid port (1-{MAX_PORT})")
    return host, int(port_text)
