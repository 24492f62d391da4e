"""`p2pchat doctor` and hosts with several interfaces (issue 13), in namespaces (scripts/lan).

Every doctor here runs inside a namespace the test built: its probes (mDNS, beacon, scan) never
touch this machine's own interfaces.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from p2pchat.core.limits import DEFAULT_PORT
from tests.e2e.harness import Cluster
from tests.e2e.netlan import Lan
from tests.e2e.test_discovery import JOIN_TIMEOUT, ip_in, start_on

pytestmark = pytest.mark.netns

DOCTOR_SECONDS = "4"
DOCTOR_TIMEOUT = 40.0


def doctor(lan: Lan, i: int, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
    """Run `p2pchat doctor --json` on host i: its exit code and its JSON."""
    cmd = ["ip", "netns", "exec", lan.host_ns(i), sys.executable, "-m", "p2pchat", "doctor"]
    done = subprocess.run(
        [*cmd, "--json", "--seconds", DOCTOR_SECONDS, *args],
        capture_output=True,
        text=True,
        timeout=DOCTOR_TIMEOUT,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode in (0, 1), done.stderr[-1000:]
    return done.returncode, json.loads(done.stdout)


def checks(report: Any) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def test_doctor_names_dropped_multicast_and_finds_the_peer_by_beacon(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(2)
    net.faults("nomulticast")
    a = start_on(cluster, net, 1, "--nick", "alice", mdns=True)
    code, report = doctor(net, 2)
    assert code == 0
    assert report["peers_found"] == [
        {"id": a.id, "nick": "alice", "addr": f"198.18.0.1:{DEFAULT_PORT}", "via": "beacon"}
    ]
    found = checks(report)
    assert not found["mDNS"]["ok"] and "drops multicast" in found["mDNS"]["detail"]
    assert found["mDNS"]["advice"]
    assert found["beacon"]["ok"] and found["peers"]["ok"]
    assert found["interfaces"]["ok"] and "eth0 198.18.0.2/24" in found["interfaces"]["detail"]
    assert not [e for e in a.events if e["event"] in ("error", "problem")]  # a stayed calm


def test_doctor_sees_every_layer_on_a_healthy_lan_and_a_chat_beside_it(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(2)
    a = start_on(cluster, net, 1, "--nick", "alice", mdns=True)
    code, report = doctor(net, 2)
    assert code == 0 and all(check["ok"] for check in report["checks"]), report
    assert {(p["id"], p["via"]) for p in report["peers_found"]} == {
        (a.id, "mdns"),
        (a.id, "beacon"),
    }
    # Beside the chat, on its own host: the port is that chat's, and it is no peer of ours.
    code, beside = doctor(net, 1)
    assert code == 1 and beside["peers_found"] == []
    port = checks(beside)["chat port"]
    assert port["ok"] and "alice in room 'lobby'" in port["detail"]
    assert "on this machine too: alice#" in checks(beside)["peers"]["detail"]


def test_doctor_with_scan_finds_the_peer_where_multicast_and_broadcast_are_dropped(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(3)
    net.faults("nobroadcast")
    a = start_on(cluster, net, 1, "--nick", "alice", mdns=True)
    code, report = doctor(net, 3)
    assert code == 1 and report["peers_found"] == []
    found = checks(report)
    assert not found["beacon"]["ok"] and "--scan" in found["beacon"]["advice"]
    assert not found["peers"]["ok"] and "--join CODE" in found["peers"]["advice"]
    code, scanned = doctor(net, 3, "--scan")
    assert code == 0
    assert scanned["peers_found"] == [
        {"id": a.id, "nick": "alice", "addr": f"198.18.0.1:{DEFAULT_PORT}", "via": "scan"}
    ]
    assert checks(scanned)["scan"]["ok"]


def test_doctor_names_a_firewall_that_blocks_the_chat_port(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    if shutil.which("nft") is None:
        pytest.skip("needs nftables (nft); .ci/run installs it")
    net = lan(2)
    a = start_on(cluster, net, 1, "--nick", "alice", mdns=True)
    rules = (
        "table inet p2pt_firewall {\n chain in {\n type filter hook input priority 0;\n"
        f" tcp dport {DEFAULT_PORT} drop\n }}\n}}\n"
    )
    cmd = ["ip", "netns", "exec", net.host_ns(1), "nft", "-f", "-"]
    subprocess.run(cmd, input=rules, text=True, check=True, timeout=10)
    code, report = doctor(net, 2)
    assert [p["id"] for p in report["peers_found"]] == [a.id, a.id]  # seen by both layers
    peers = checks(report)["peers"]
    assert not peers["ok"] and "does not answer" in peers["detail"]
    assert "firewall" in peers["advice"] and f"TCP {DEFAULT_PORT}" in peers["advice"]
    assert code == 0


def add_interface(lan: Lan, i: int, name: str, address: str) -> None:
    """A container bridge or VPN look-alike on host i: a link that leads nowhere (a bridge
    with no ports, or one end of a veth pair whose other end stays in the namespace)."""
    kind = ("type", "bridge") if name.startswith("docker") else ("type", "veth", "peer", f"{name}p")
    ip_in(lan, i, "link", "add", name, *kind)
    ip_in(lan, i, "addr", "add", address, "dev", name)
    ip_in(lan, i, "link", "set", name, "up")


def test_hosts_with_container_and_vpn_interfaces_meet_once_over_the_lan(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(2)
    for i in (1, 2):
        add_interface(net, i, "docker0", "172.17.0.1/16")  # the same on every Docker host
        add_interface(net, i, "tun0", f"10.8.0.{i}/24")  # a VPN that does not reach the LAN
    a = start_on(cluster, net, 1, "--nick", "alice", mdns=True)
    b = start_on(cluster, net, 2, "--nick", "bob", mdns=True)
    for node, other in ((a, b), (b, a)):
        node.wait_peers({other.id}, timeout=JOIN_TIMEOUT)
    a.send("/invite")
    invite = a.wait_for(lambda e: e["event"] == "invite")
    assert invite["addrs"][0] == f"198.18.0.1:{DEFAULT_PORT}"  # the LAN first
    b.send("over the LAN")
    a.wait_for(lambda e: e.get("text") == "over the LAN")
    a.send("/peers")
    a.wait_for(lambda e: e["event"] == "peers")
    for node, other in ((a, b), (b, a)):
        joins = [e for e in node.events if e["event"] == "peer_joined" and e["id"] == other.id]
        assert len(joins) == 1, joins  # one person, shown once
        assert joins[0]["addr"].startswith("198.18.0.")
        assert not [e for e in node.events if e["event"] in ("error", "peer_left")]
    code, report = doctor(net, 2)
    assert code == 0
    detail = checks(report)["interfaces"]["detail"]
    assert detail.startswith("advertised first: eth0 198.18.0.2/24")
    assert "docker0 172.17.0.1/16" in detail and "tun0 10.8.0.2/24" in detail
