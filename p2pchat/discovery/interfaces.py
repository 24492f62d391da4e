"""Which addresses this host has, and which of them to advertise over mDNS."""

from __future__ import annotations

import ipaddress

import ifaddr

WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def local_addresses() -> list[str]:
    """Every IP address assigned to a local network interface (IPv6 without scope)."""
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            if text not in found:
                found.append(text)
    return found


def advertise_addresses(bind_host: str, interfaces: tuple[str, ...] | None) -> tuple[str, ...]:
    """Addresses for peers to dial: the bound one, else the chosen interfaces, else LAN IPv4."""
    if bind_host not in WILDCARDS:
        return (bind_host,)
    if interfaces:
        return interfaces
    v4 = [a for a in local_addresses() if ":" not in a]
    lan = [a for a in v4 if not ipaddress.ip_address(a).is_loopback]
    return tuple(lan or v4)


def unknown_interfaces(requested: tuple[str, ...]) -> list[str]:
    """The requested addresses that no local interface has."""
    have = {str(ipaddress.ip_address(a)) for a in local_addresses()}
    return [a for a in requested if str(ipaddress.ip_address(a)) not in have]
