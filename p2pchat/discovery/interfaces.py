"""Which addresses this host has, and which of them to advertise over mDNS."""

from __future__ import annotations

import ipaddress

import ifaddr

from p2pchat.core.diagnosis import InterfaceAddress, InterfaceKind

WILDCARDS = frozenset({"0.0.0.0", "::", ""})
MAX_BROADCAST_PREFIX = 31  # /31 and /32 links have no broadcast address
# Interface names of container bridges, VMs, VPNs and tunnels: their addresses are offered last.
VIRTUAL_INTERFACE_PREFIXES = (
    "docker",
    "br-",
    "veth",
    "virbr",
    "vmnet",
    "vboxnet",
    "lxc",
    "cni",
    "flannel",
    "podman",
    "tun",
    "tap",
    "wg",
    "utun",
    "ppp",
    "tailscale",
    "zt",
    "ham",
)


def local_addresses() -> list[str]:
    """Every IP address assigned to a local network interface (IPv6 without scope)."""
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            if text not in found:
                found.append(text)
    return found


def interface_addresses(scope: tuple[str, ...] | None = None) -> list[InterfaceAddress]:
    """Each IPv4 address of each interface (only those in scope, if given), and its kind."""
    found: list[InterfaceAddress] = []
    for adapter in ifaddr.get_adapters():
        name = str(adapter.nice_name)
        for ip in adapter.ips:
            if not isinstance(ip.ip, str) or (scope is not None and ip.ip not in scope):
                continue
            found.append(InterfaceAddress(name, ip.ip, ip.network_prefix, _kind(name, ip.ip)))
    return found


def ipv4_prefixes() -> list[tuple[str, int]]:
    """(address, prefix length) of every IPv4 address of a local interface."""
    found: list[tuple[str, int]] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and (ip.ip, ip.network_prefix) not in found:
                found.append((ip.ip, ip.network_prefix))
    return found


def interface_networks(scope: tuple[str, ...] | None) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of the interfaces in scope (None: every one but loopback)."""
    return [
        ipaddress.IPv4Network(f"{ip}/{prefix}", strict=False)
        for ip, prefix in ipv4_prefixes()
        if (ip in scope if scope is not None else not ipaddress.IPv4Address(ip).is_loopback)
    ]


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
    """Addresses for peers to dial: the bound one, else the chosen interfaces, else IPv4 of
    every interface but loopback, most likely to work first (private LAN ranges, then others,
    then container bridges, VPNs and tunnels; link-local last)."""
    if bind_host not in WILDCARDS:
        return (bind_host,)
    if interfaces:
        return interfaces
    ranked: list[tuple[int, str]] = []
    loopback: list[str] = []
    for found in interface_addresses():
        if found.kind is InterfaceKind.LOOPBACK:
            loopback.append(found.address)
        elif found.kind is InterfaceKind.LAN:
            ranked.append(
                (0 if ipaddress.IPv4Address(found.address).is_private else 1, found.address)
            )
        else:
            ranked.append((2 if found.kind is InterfaceKind.VIRTUAL else 3, found.address))
    lan = [ip for _, ip in sorted(ranked, key=lambda pair: pair[0])]
    return tuple(dict.fromkeys(lan or loopback))


def unknown_interfaces(requested: tuple[str, ...]) -> list[str]:
    """The requested addresses that no local interface has."""
    have = {str(ipaddress.ip_address(a)) for a in local_addresses()}
    return [a for a in requested if str(ipaddress.ip_address(a)) not in have]


def _kind(name: str, ip: str) -> InterfaceKind:
    address = ipaddress.IPv4Address(ip)
    if address.is_loopback:
        return InterfaceKind.LOOPBACK
    if address.is_link_local:
        return InterfaceKind.LINK_LOCAL
    if name.lower().startswith(VIRTUAL_INTERFACE_PREFIXES):
        return InterfaceKind.VIRTUAL
    return InterfaceKind.LAN
