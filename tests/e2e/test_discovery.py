"""Finding each other on real networks (issue 13): in network namespaces built by scripts/lan."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable

import pytest

from p2pchat.core.limits import DEFAULT_PORT
from tests.e2e.harness import ChatProcess, Cluster
from tests.e2e.netlan import Lan

JOIN_TIMEOUT = 20.0
CONTROL_WAIT = 6.0  # how long nobody must appear where discovery cannot work

pytestmark = pytest.mark.netns


def start_on(
    cluster: Cluster,
    lan: Lan,
    i: int,
    *args: str,
    name: str = "",
    mdns: bool = False,
    env: dict[str, str] | None = None,
) -> ChatProcess:
    """A node on host i, on the default port unless args say otherwise."""
    prefix = ("ip", "netns", "exec", lan.host_ns(i))
    return cluster.start(
        name or f"h{i}", *args, prefix=prefix, bind=None, mdns=mdns, default_port=True, env=env
    ).ready()


def test_the_default_port_lets_a_peer_be_given_without_one(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(2)
    a = start_on(cluster, net, 1)
    assert a.events[0]["port"] == DEFAULT_PORT
    b = start_on(cluster, net, 2, "--peer", "198.18.0.1")
    b.wait_peers({a.id}, timeout=JOIN_TIMEOUT)
    b.send("/connect 198.18.0.1")  # and /connect without a port too
    b.send("hello")
    a.wait_for(lambda e: e.get("text") == "hello")
    assert not [e for e in b.events if e["event"] == "error"]


def test_a_taken_default_port_falls_back_to_a_free_one_and_says_so(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(2)
    first = start_on(cluster, net, 1)
    second = start_on(cluster, net, 1, name="second")
    port = second.events[0]["port"]
    assert port != DEFAULT_PORT
    notice = second.wait_for(lambda e: e["event"] == "notice")
    assert f"address already in use; listening on port {port} instead" in notice["message"]
    c = start_on(cluster, net, 2, "--peer", f"198.18.0.1:{port}")
    c.wait_peers({second.id}, timeout=JOIN_TIMEOUT)
    assert first.events[0]["port"] == DEFAULT_PORT


def test_with_multicast_dropped_the_beacon_finds_the_peer(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(2)
    net.faults("nomulticast")  # no mDNS: as on many campus, hotel and office Wi-Fi networks
    a = start_on(cluster, net, 1, mdns=True)
    b = start_on(cluster, net, 2, mdns=True)
    for node, other in ((a, b), (b, a)):
        node.wait_peers({other.id}, timeout=JOIN_TIMEOUT)
    b.send("found you")
    a.wait_for(lambda e: e.get("text") == "found you")


def test_the_multicast_fault_really_stops_mdns_and_the_beacon_alone_joins(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    # The control for the test above: through this bridge mDNS alone finds nobody...
    net = lan(4)
    net.faults("nomulticast")
    a = start_on(cluster, net, 1, "--no-beacon", mdns=True)
    b = start_on(cluster, net, 2, "--no-beacon", mdns=True)
    with pytest.raises(AssertionError, match="linked to 0"):
        a.wait_peers({b.id}, timeout=CONTROL_WAIT)
    # ...and the beacon alone does.
    c = start_on(cluster, net, 3, "--no-mdns", mdns=True)
    d = start_on(cluster, net, 4, "--no-mdns", mdns=True)
    c.wait_peers({d.id}, timeout=JOIN_TIMEOUT)


def udp_tcp_sent_on_eth0(lan: Lan, i: int) -> int:
    """Packets host i has sent out of eth0 (UDP and TCP), counted by nftables since set up."""
    ns = ["ip", "netns", "exec", lan.host_ns(i), "nft"]
    out = subprocess.run(
        [*ns, "list", "table", "inet", "p2pt_watch"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    return int(out.split("counter packets ")[1].split()[0])


def watch_eth0(lan: Lan, i: int) -> None:
    """Count host i's UDP and TCP packets out of eth0."""
    if shutil.which("nft") is None:
        pytest.skip("needs nftables (nft); .ci/run installs it")
    rules = (
        "table inet p2pt_watch {\n chain out {\n type filter hook output priority 0;\n"
        ' oifname "eth0" meta l4proto { tcp, udp } counter\n }\n}\n'
    )
    cmd = ["ip", "netns", "exec", lan.host_ns(i), "nft", "-f", "-"]
    subprocess.run(cmd, input=rules, text=True, check=True, timeout=10)


def test_a_node_bound_to_loopback_never_sends_a_packet_off_loopback(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(2)
    watch_eth0(net, 1)
    watch_eth0(net, 2)
    # Both with every discovery layer on; one bound to 127.0.0.1, the other to everything.
    local = start_on(cluster, net, 1, "--bind", "127.0.0.1", mdns=True)
    seen = start_on(cluster, net, 2, mdns=True)
    twin = start_on(cluster, net, 1, "--bind", "127.0.0.1", "--port", "0", name="twin", mdns=True)
    twin.wait_peers({local.id}, timeout=JOIN_TIMEOUT)  # discovery works, on loopback
    with pytest.raises(AssertionError, match="linked to 0"):
        seen.wait_peers({local.id}, timeout=CONTROL_WAIT)
    assert udp_tcp_sent_on_eth0(net, 1) == 0
    assert udp_tcp_sent_on_eth0(net, 2) > 0  # the counter counts: host 2 did advertise


def test_a_node_that_finds_nobody_says_what_to_do(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(2)
    net.faults("nobroadcast")  # neither mDNS nor the beacon can pass
    a = start_on(cluster, net, 1, mdns=True)
    b = start_on(cluster, net, 2, mdns=True)
    hint = b.wait_for(lambda e: "nobody found" in e.get("message", ""), timeout=JOIN_TIMEOUT)
    assert hint["event"] == "notice" and "/connect HOST" in hint["message"]
    b.send("/connect 198.18.0.1")  # what it says works
    b.wait_peers({a.id}, timeout=JOIN_TIMEOUT)


def ip_in(lan: Lan, i: int, *args: str) -> None:
    """Run `ip ARGS` on host i."""
    subprocess.run(["ip", "-n", lan.host_ns(i), *args], check=True, timeout=10)


FOLLOW_TIMEOUT = 15.0  # from the change to the join


def test_a_node_whose_network_comes_up_after_it_started_is_found_by_mdns(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    # A laptop that opens the chat before its Wi-Fi has an address. mDNS alone (no beacon):
    # its sockets must follow the new address.
    net = lan(2)
    ip_in(net, 2, "addr", "flush", "dev", "eth0")
    late = start_on(cluster, net, 2, "--no-beacon", mdns=True)
    early = start_on(cluster, net, 1, "--no-beacon", mdns=True)
    ip_in(net, 2, "addr", "add", "198.18.0.2/24", "dev", "eth0")
    ip_in(net, 2, "route", "replace", "224.0.0.0/4", "dev", "eth0")
    for node, other in ((late, early), (early, late)):
        node.wait_peers({other.id}, timeout=FOLLOW_TIMEOUT)


ADVERT_PROBE = """
import sys, time
from zeroconf import ServiceBrowser, ServiceInfo, Zeroconf
kind = "_p2pchat._tcp.local."
zc = Zeroconf(interfaces=[sys.argv[3]])  # the namespace's own eth0, never anything else
names = set()
def seen(zeroconf, service_type, name, state_change):
    names.add(name)
ServiceBrowser(zc, kind, handlers=[seen])
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    for name in list(names):
        info = ServiceInfo(kind, name)
        if info.request(zc, 500) and sys.argv[1] in info.parsed_addresses():
            print("found", info.parsed_addresses())
            zc.close()
            sys.exit(0)
    time.sleep(0.2)
zc.close()
sys.exit(1)
"""


def test_a_node_whose_address_changes_advertises_the_new_one(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    # A new lease: a newcomer that finds the node by mDNS must be given the address it has now.
    net = lan(3)
    moved = start_on(cluster, net, 1, "--no-beacon", mdns=True)
    ip_in(net, 1, "addr", "del", "198.18.0.1/24", "dev", "eth0")
    ip_in(net, 1, "addr", "add", "198.18.0.11/24", "dev", "eth0")
    ip_in(net, 1, "route", "replace", "224.0.0.0/4", "dev", "eth0")
    probe = ["ip", "netns", "exec", net.host_ns(3), sys.executable, "-c", ADVERT_PROBE]
    found = subprocess.run(
        [*probe, "198.18.0.11", str(FOLLOW_TIMEOUT), "198.18.0.3"],
        capture_output=True,
        text=True,
        timeout=FOLLOW_TIMEOUT + 10,
        check=False,
    )
    assert found.returncode == 0, found.stderr[-500:]
    newcomer = start_on(cluster, net, 3, "--no-beacon", mdns=True)
    newcomer.wait_peers({moved.id}, timeout=FOLLOW_TIMEOUT)


SCAN_TIMEOUT = 30.0


def test_with_multicast_and_broadcast_dropped_scan_finds_the_peer(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(3)
    net.faults("nobroadcast")
    a = start_on(cluster, net, 1, mdns=True)
    b = start_on(cluster, net, 3, "--scan", mdns=True)
    b.wait_peers({a.id}, timeout=SCAN_TIMEOUT)
    a.send("found by a scan")
    b.wait_for(lambda e: e.get("text") == "found by a scan")
    assert not [e for e in a.events if e["event"] == "error"]  # the probes did not upset a


def test_an_invite_code_joins_where_no_discovery_gets_through(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(2)
    net.faults("nobroadcast")
    a = start_on(cluster, net, 1, "--room", "project-x", mdns=True)
    a.send("/invite")
    invite = a.wait_for(lambda e: e["event"] == "invite")
    assert invite["addrs"] == [f"198.18.0.1:{DEFAULT_PORT}"] and invite["room"] == "project-x"
    b = start_on(cluster, net, 2, "--join", invite["code"].upper(), mdns=True)  # typed in caps
    assert b.events[0]["room"] == "project-x"
    b.wait_peers({a.id}, timeout=JOIN_TIMEOUT)


def test_a_private_invite_checks_the_passphrase_and_never_holds_it(
    cluster: Cluster, lan: Callable[[int], Lan]
) -> None:
    net = lan(2)
    right = {"P2PCHAT_SECRET": "correct horse battery"}
    a = start_on(cluster, net, 1, "--room", "team", "--private", mdns=True, env=right)
    a.send("/invite")
    code = a.wait_for(lambda e: e["event"] == "invite")["code"]
    assert "correct" not in code and "team" not in code
    prefix = ["ip", "netns", "exec", net.host_ns(2), sys.executable, "-m", "p2pchat"]
    wrong = subprocess.run(
        [*prefix, "--join", code, "--no-discovery", "--data-dir", str(cluster.root / "w")],
        env={**os.environ, "P2PCHAT_SECRET": "wrong horse battery"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert wrong.returncode == 2
    assert "that passphrase does not open the invite's room 'team'" in wrong.stderr
    b = start_on(cluster, net, 2, "--join", code, mdns=True, env=right)
    b.wait_peers({a.id}, timeout=JOIN_TIMEOUT)
