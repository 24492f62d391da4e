"""Which addresses this host has, and which of them to advertise over mDNS."""

from __future__ import annotations

import ipaddress

import ifaddr

WILDCARDS = frozenset({"0.0.0.0", "::", ""})
MAX_BROADCAST_PREFIX = 31  # /31 and /32 links have no broadcast address


def local_addresses() -> list[str]:
    """Every IP address assigned to a local network interface (IPv6 without scope)."""
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            if text not in found:
                found.append(text)
    return found


def ipv4_prefixes() -> list[tuple[str, int]]:
    """(address, prefix length) of every IPv4 address of a local interface."""
    found: list[tuple[str, int]] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and (ip.ip, ip.network_prefix) not in found:
                found.append((ip.ip, ip.network_prefix))
    return found


def broadcast_targets(scope: tuple[str, ...] | None) -> list[tuple[str, str]]:
    """(local address, directed broadcast address) for each IPv4 interface we may use.

    scope: only the interfaces with these addresses (loopback too, if named); None: every
    interface but loopback. Never the limited broadcast 255.255.255.255, which could leave by
    an interface outside the scope; /31 and /32 links have no broadcast address.
    """
    targets: list[tuple[str, str]] = []
    for ip, prefix in ipv4_prefixes():
        address = ipaddress.IPv4Address(ip)
        if scope is not None and ip not in scope:
            continue
        if (scope is None and address.is_loopback) or prefix >= MAX_BROADCAST_PREFIX:
            continue
        network = ipaddress.IPv4Network(f"{ip}/{prefix}", strict=False)
        targets.append((ip, str(network.broadcast_address)))
    return targets


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
