"""Which interfaces a host has and which addresses it offers first: a made-up host's adapters."""

from __future__ import annotations

import ifaddr
import pytest

from p2pchat.core.diagnosis import InterfaceKind
from p2pchat.discovery import interfaces

HOST = [
    ("lo", [("127.0.0.1", 8)]),
    ("docker0", [("172.17.0.1", 16)]),
    ("tun0", [("10.8.0.2", 24)]),
    ("wlan0", [("169.254.7.7", 16)]),
    ("eth1", [("100.64.3.9", 24)]),  # a carrier-grade NAT address on a real NIC: not private
    ("eth0", [("192.168.1.20", 24), (("fe80::1", 0, 2), 64)]),
]


@pytest.fixture(autouse=True)
def made_up_host(monkeypatch: pytest.MonkeyPatch) -> None:
    adapters = [
        ifaddr.Adapter(name, name, [ifaddr.IP(ip, prefix, name) for ip, prefix in ips])
        for name, ips in HOST
    ]
    monkeypatch.setattr(interfaces.ifaddr, "get_adapters", lambda: adapters)


def test_each_address_has_its_kind() -> None:
    kinds = {found.address: found.kind for found in interfaces.interface_addresses()}
    assert kinds == {
        "127.0.0.1": InterfaceKind.LOOPBACK,
        "172.17.0.1": InterfaceKind.VIRTUAL,
        "10.8.0.2": InterfaceKind.VIRTUAL,
        "169.254.7.7": InterfaceKind.LINK_LOCAL,
        "100.64.3.9": InterfaceKind.LAN,
        "192.168.1.20": InterfaceKind.LAN,
    }
    scoped = interfaces.interface_addresses(("192.168.1.20",))
    assert [(f.name, f.address, f.prefix) for f in scoped] == [("eth0", "192.168.1.20", 24)]


def test_the_lan_is_offered_first_and_bridges_vpns_and_self_assigned_last() -> None:
    assert interfaces.advertise_addresses("0.0.0.0", None) == (
        "192.168.1.20",
        "100.64.3.9",
        "172.17.0.1",
        "10.8.0.2",
        "169.254.7.7",
    )
    assert interfaces.advertise_addresses("192.168.1.20", None) == ("192.168.1.20",)
    assert interfaces.advertise_addresses("0.0.0.0", ("10.8.0.2",)) == ("10.8.0.2",)


def test_a_host_with_only_loopback_offers_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    only = [ifaddr.Adapter("lo", "lo", [ifaddr.IP("127.0.0.1", 8, "lo")])]
    monkeypatch.setattr(interfaces.ifaddr, "get_adapters", lambda: only)
    assert interfaces.advertise_addresses("0.0.0.0", None) == ("127.0.0.1",)


def test_broadcast_goes_out_of_every_lan_interface_but_loopback_and_point_to_point() -> None:
    targets = interfaces.broadcast_targets(None)
    assert ("192.168.1.20", "192.168.1.255") in targets
    assert ("172.17.0.1", "172.17.255.255") in targets
    assert not [t for t in targets if t[0] == "127.0.0.1"]
    assert interfaces.broadcast_targets(("127.0.0.1",)) == [("127.0.0.1", "127.255.255.255")]
