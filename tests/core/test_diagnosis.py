"""The doctor's advice rules (pure): what each set of findings makes each check say."""

from __future__ import annotations

from dataclasses import replace

from p2pchat.core.beacon import BeaconMatch
from p2pchat.core.diagnosis import (
    BeaconFinding,
    Check,
    Diagnosis,
    Findings,
    InterfaceAddress,
    InterfaceKind,
    MdnsFinding,
    PortFinding,
    PortState,
    ScanFinding,
    Sighting,
    diagnose,
)

ALICE, BOB, CAROL = "a" * 32, "b" * 32, "c" * 32
ETH0 = InterfaceAddress("eth0", "192.168.1.20", 24, InterfaceKind.LAN)
LO = InterfaceAddress("lo", "127.0.0.1", 8, InterfaceKind.LOOPBACK)
DOCKER = InterfaceAddress("docker0", "172.17.0.1", 16, InterfaceKind.VIRTUAL)
TUN = InterfaceAddress("tun0", "10.8.0.2", 24, InterfaceKind.VIRTUAL)
AUTO = InterfaceAddress("wlan0", "169.254.3.4", 16, InterfaceKind.LINK_LOCAL)
SAME = BeaconMatch.SAME_ROOM


def findings(**changes: object) -> Findings:
    base = Findings(
        room="lobby",
        private=False,
        port=41234,
        seconds=8.0,
        interfaces=(LO, ETH0),
        chat_port=PortFinding(41234, PortState.FREE),
        mdns=MdnsFinding(other_hosts=3),
        beacon=BeaconFinding(sent_on=("192.168.1.20",)),
        scan=None,
        sightings=(),
        own_addresses=frozenset({"127.0.0.1", "192.168.1.20"}),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def seen(node: str, via: str, host: str = "192.168.1.30", **more: object) -> Sighting:
    fields: dict[str, object] = {"match": SAME, "nick": "alice", "room": "lobby", "reachable": True}
    fields.update(more)
    return Sighting(node, (host, 41234), via, **fields)  # type: ignore[arg-type]


def check(diagnosis: Diagnosis, name: str) -> Check:
    return next(c for c in diagnosis.checks if c.name == name)


def test_a_healthy_lan_passes_every_check_and_lists_each_layers_find() -> None:
    d = diagnose(findings(sightings=(seen(ALICE, "mdns"), seen(ALICE, "beacon"))))
    assert [c.name for c in d.checks] == ["interfaces", "chat port", "mDNS", "beacon", "peers"]
    assert all(c.ok and c.advice == "" for c in d.checks)
    assert [(p.node_id, p.via, p.addr, p.nick) for p in d.peers_found] == [
        (ALICE, "mdns", "192.168.1.30:41234", "alice"),
        (ALICE, "beacon", "192.168.1.30:41234", "alice"),
    ]
    assert "reached 1 node of room 'lobby': alice#aaaaaaaa" in check(d, "peers").detail
    assert d.to_json()["peers_found"] == [
        {"id": ALICE, "nick": "alice", "addr": "192.168.1.30:41234", "via": "mdns"},
        {"id": ALICE, "nick": "alice", "addr": "192.168.1.30:41234", "via": "beacon"},
    ]


def test_multicast_dropped_is_named_when_the_beacon_finds_whom_mdns_did_not() -> None:
    d = diagnose(findings(mdns=MdnsFinding(), sightings=(seen(ALICE, "beacon"),)))
    mdns = check(d, "mDNS")
    assert not mdns.ok and "drops multicast" in mdns.detail and "beacon found 1 node" in mdns.detail
    assert "nothing to do here" in mdns.advice
    assert check(d, "beacon").ok and check(d, "peers").ok
    assert [p.via for p in d.peers_found] == ["beacon"]


def test_broadcast_dropped_is_named_when_mdns_finds_whom_the_beacon_did_not() -> None:
    d = diagnose(findings(sightings=(seen(ALICE, "mdns"),)))
    beacon = check(d, "beacon")
    assert not beacon.ok and "drops broadcast" in beacon.detail
    assert "mDNS finds peers" in beacon.advice


def test_nobody_anywhere_says_what_to_try_next() -> None:
    d = diagnose(findings(mdns=MdnsFinding()))
    assert (
        not check(d, "mDNS").ok
        and "heard no mDNS from any other machine" in check(d, "mDNS").detail
    )
    beacon, peers = check(d, "beacon"), check(d, "peers")
    assert not beacon.ok and "--scan" in beacon.advice and "--join" in beacon.advice
    assert not peers.ok and "p2pchat doctor there too" in peers.advice
    assert d.peers_found == ()


def test_mdns_that_works_with_nobody_of_our_room_is_ok() -> None:
    d = diagnose(findings(mdns=MdnsFinding(shared=True, other_hosts=2)))
    mdns = check(d, "mDNS")
    assert mdns.ok and "heard mDNS from 2 other machines" in mdns.detail
    assert "shared with another program" in mdns.detail


def test_mdns_that_cannot_start_says_the_beacon_still_works() -> None:
    d = diagnose(findings(mdns=MdnsFinding(error="Address already in use", shared=True)))
    mdns = check(d, "mDNS")
    assert not mdns.ok and "Address already in use" in mdns.detail
    assert "beacon and --peer still work" in mdns.advice


def test_a_firewall_is_named_when_a_node_is_seen_but_its_port_does_not_answer() -> None:
    d = diagnose(findings(sightings=(seen(ALICE, "beacon", reachable=False),)))
    peers = check(d, "peers")
    assert not peers.ok and "alice#aaaaaaaa at 192.168.1.30:41234" in peers.detail
    assert "firewall" in peers.advice and "TCP 41234" in peers.advice
    assert [p.node_id for p in d.peers_found] == [ALICE]  # seen, though not reached


def test_the_address_shown_for_a_node_is_one_that_answered() -> None:
    dead = seen(ALICE, "mdns", host="10.8.0.9", reachable=False)
    live = seen(ALICE, "mdns", host="192.168.1.30", reachable=True)
    d = diagnose(findings(sightings=(dead, live)))
    assert [p.addr for p in d.peers_found] == ["192.168.1.30:41234"]


def test_nodes_on_this_machine_are_mentioned_but_are_not_peers() -> None:
    here = seen(BOB, "beacon", host="192.168.1.20", nick="me")
    d = diagnose(findings(mdns=MdnsFinding(), sightings=(here,)))
    assert d.peers_found == ()
    assert "on this machine too: me#bbbbbbbb" in check(d, "peers").detail


def test_other_rooms_and_another_passphrase_lead_the_advice() -> None:
    other = seen(CAROL, "beacon", room="dev", match=BeaconMatch.OTHER)
    d = diagnose(findings(sightings=(other,)))
    peers = check(d, "peers")
    assert "heard room 'dev'" in peers.detail and "--room 'dev'" in peers.advice
    assert check(d, "beacon").ok  # the beacon works; nobody of our room is there
    twin = seen(CAROL, "beacon", room=None, nick="", match=BeaconMatch.OTHER_PASSPHRASE)
    private = diagnose(findings(private=True, sightings=(twin,)))
    assert "another passphrase" in check(private, "peers").advice
    assert "1 node of private rooms" in check(private, "peers").detail


def test_a_private_room_never_shows_a_nick() -> None:
    d = diagnose(findings(private=True, sightings=(seen(ALICE, "beacon", nick="leak"),)))
    assert d.peers_found[0].nick is None
    assert "leak" not in check(d, "peers").detail


def test_interfaces_flag_loopback_self_assigned_and_virtual_ones() -> None:
    ok = check(diagnose(findings(interfaces=(LO, ETH0, DOCKER, AUTO))), "interfaces")
    assert ok.ok and ok.detail.startswith("advertised first: eth0 192.168.1.20/24")
    assert "docker0 172.17.0.1/16 (VPN, tunnel or container bridge, offered last)" in ok.detail
    assert "wlan0 169.254.3.4/16 (self-assigned, offered last)" in ok.detail
    cases = {
        (LO,): "connect to Wi-Fi or plug in a cable",
        (): "connect to Wi-Fi or plug in a cable",
        (LO, AUTO): "DHCP",
        (LO, TUN, DOCKER): "connect to the local network",
    }
    for interfaces, advice in cases.items():
        c = check(diagnose(findings(interfaces=interfaces)), "interfaces")
        assert not c.ok and advice in c.advice, interfaces
    scoped = check(diagnose(findings(interfaces=(LO,), scoped=True)), "interfaces")
    assert scoped.ok and "this machine only" in scoped.detail
    vpn = diagnose(findings(interfaces=(LO, ETH0, TUN), mdns=MdnsFinding()))
    assert "VPN" in check(vpn, "peers").advice


def test_the_chat_port_held_by_p2pchat_is_fine_and_by_another_program_is_explained() -> None:
    mine = PortFinding(41234, PortState.P2PCHAT, "alice in room 'lobby'")
    assert check(diagnose(findings(chat_port=mine)), "chat port").ok
    other = check(diagnose(findings(chat_port=PortFinding(41234, PortState.OTHER))), "chat port")
    assert not other.ok and "--peer HOST:PORT" in other.advice and "/invite" in other.advice
    bad = PortFinding(41234, PortState.UNUSABLE, "Permission denied")
    broken = check(diagnose(findings(chat_port=bad)), "chat port")
    assert not broken.ok and "Permission denied" in broken.detail and "--port N" in broken.advice


def test_the_scan_check_appears_only_with_a_scan_and_says_what_it_found() -> None:
    assert "scan" not in [c.name for c in diagnose(findings()).checks]
    found = diagnose(
        findings(mdns=MdnsFinding(), scan=ScanFinding(254, 1), sightings=(seen(ALICE, "scan"),))
    )
    assert (
        check(found, "scan").ok
        and "1 of 254 addresses have TCP 41234 open" in check(found, "scan").detail
    )
    assert "scan found 1 node" in check(found, "mDNS").detail
    empty = check(diagnose(findings(scan=ScanFinding(254, 0))), "scan")
    assert not empty.ok and "firewall" in empty.advice
    strangers = check(diagnose(findings(scan=ScanFinding(254, 2))), "scan")
    assert not strangers.ok and "none a p2pchat of room 'lobby'" in strangers.detail


def test_a_probe_that_could_not_go_out_says_why() -> None:
    d = diagnose(findings(beacon=BeaconFinding(error="192.168.1.20: Network is unreachable")))
    beacon = check(d, "beacon")
    assert not beacon.ok and "Network is unreachable" in beacon.detail


def test_hostile_floods_of_sightings_name_a_bounded_number_of_rooms() -> None:
    rooms = tuple(
        seen(f"{i:032x}", "beacon", room=f"room{i}", match=BeaconMatch.OTHER) for i in range(200)
    )
    peers = check(diagnose(findings(sightings=rooms)), "peers")
    assert "and 195 more" in peers.detail and len(peers.detail) < 300
