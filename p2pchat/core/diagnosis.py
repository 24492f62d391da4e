"""What `p2pchat doctor` concludes from what it saw: one check per layer, advice, peers (pure).

The doctor's probes (p2pchat.discovery.doctor) gather Findings; diagnose() turns them into
checks a person can act on: for each failed check, what to do next, in one sentence or two.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from p2pchat.core.addr import format_addr
from p2pchat.core.beacon import BeaconMatch
from p2pchat.core.limits import SHORT_ID_CHARS

Via = Literal["mdns", "beacon", "scan"]
CheckName = Literal["interfaces", "chat port", "mDNS", "beacon", "scan", "peers"]

MAX_ROOMS_NAMED = 5  # other rooms named in the peers check (the rest are counted)
MAX_NAMES_SHOWN = 8  # nodes or interfaces named in one detail (the rest are counted)


class InterfaceKind(Enum):
    """What an interface address is good for."""

    LAN = "LAN"
    LOOPBACK = "loopback"
    LINK_LOCAL = "self-assigned"
    VIRTUAL = "VPN, tunnel or container bridge"


class PortState(Enum):
    """Who holds the chat's TCP port on this machine."""

    FREE = "free"
    P2PCHAT = "p2pchat"
    OTHER = "another program"
    UNUSABLE = "unusable"


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    """One IPv4 address of an interface, and its kind."""

    name: str
    address: str
    prefix: int
    kind: InterfaceKind


@dataclass(frozen=True, slots=True)
class PortFinding:
    """The chat port here: who holds it (detail: the error, or the p2pchat that listens)."""

    port: int
    state: PortState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MdnsFinding:
    """mDNS here: why it could not run (error), whether UDP 5353 is shared with another
    program, and how many other machines were heard speaking mDNS at all."""

    error: str | None = None
    shared: bool = False
    other_hosts: int = 0


@dataclass(frozen=True, slots=True)
class BeaconFinding:
    """The beacon probe: the interface addresses it went out of, why it could not (error), and
    why broadcasts could not be heard on the beacon port (not_hearing; answers still come)."""

    sent_on: tuple[str, ...] = ()
    error: str | None = None
    not_hearing: str | None = None


@dataclass(frozen=True, slots=True)
class ScanFinding:
    """The scan: addresses tried, and how many had the chat port open."""

    targets: int
    open_ports: int


@dataclass(frozen=True, slots=True)
class Sighting:
    """A node one layer saw: who it says it is, where, its room as it says (room None: a
    private room), and whether its TCP port answered with a p2pchat HELLO (None: not tried)."""

    node_id: str
    addr: tuple[str, int]
    via: Via
    match: BeaconMatch
    nick: str = ""
    room: str | None = None
    reachable: bool | None = None


@dataclass(frozen=True, slots=True)
class Findings:
    """Everything the doctor's probes saw in one run."""

    room: str
    private: bool
    port: int
    seconds: float
    interfaces: tuple[InterfaceAddress, ...]
    chat_port: PortFinding
    mdns: MdnsFinding
    beacon: BeaconFinding
    scan: ScanFinding | None  # None: no --scan
    sightings: tuple[Sighting, ...]
    own_addresses: frozenset[str]
    scoped: bool = False  # --interface or --bind chose the interfaces


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the diagnosis: advice is what to do when it failed ("" when ok)."""

    name: CheckName
    ok: bool
    detail: str
    advice: str = ""


@dataclass(frozen=True, slots=True)
class PeerFound:
    """A node of our room that one layer found (nick None where the room hides it)."""

    node_id: str
    nick: str | None
    addr: str
    via: Via


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The checks in order, and the peers each layer found."""

    checks: tuple[Check, ...]
    peers_found: tuple[PeerFound, ...]

    def to_json(self) -> dict[str, object]:
        """The JSON shape of `p2pchat doctor --json`."""
        return {
            "checks": [
                {"name": c.name, "ok": c.ok, "detail": c.detail, "advice": c.advice}
                for c in self.checks
            ],
            "peers_found": [
                {"id": p.node_id, "nick": p.nick, "addr": p.addr, "via": p.via}
                for p in self.peers_found
            ],
        }


def diagnose(findings: Findings) -> Diagnosis:
    """The checks and the peers found, from what the probes saw."""
    ours = [
        s
        for s in findings.sightings
        if s.match is BeaconMatch.SAME_ROOM and s.addr[0] not in findings.own_addresses
    ]
    checks = [
        _interfaces(findings),
        _chat_port(findings),
        _mdns(findings, ours),
        _beacon(findings, ours),
    ]
    if findings.scan is not None:
        checks.append(_scan(findings, findings.scan, ours))
    checks.append(_peers(findings, ours))
    found: dict[tuple[str, Via], PeerFound] = {}
    # Each node's address that answered is the one shown (a node may have several).
    by_answer = sorted(ours, key=lambda s: not s.reachable)
    order = {(s.node_id, s.via): i for i, s in reversed(list(enumerate(ours)))}
    for s in by_answer:
        nick = s.nick or None if not findings.private else None
        found.setdefault(
            (s.node_id, s.via), PeerFound(s.node_id, nick, format_addr(*s.addr), s.via)
        )
    peers = sorted(found.items(), key=lambda item: order[item[0]])
    return Diagnosis(tuple(checks), tuple(peer for _, peer in peers))


def _interfaces(f: Findings) -> Check:
    def named(kind: InterfaceKind) -> list[str]:
        return [f"{i.name} {i.address}/{i.prefix}" for i in f.interfaces if i.kind is kind]

    lan, virtual = named(InterfaceKind.LAN), named(InterfaceKind.VIRTUAL)
    link_local, loopback = named(InterfaceKind.LINK_LOCAL), named(InterfaceKind.LOOPBACK)
    others = [
        f"{_names(addresses)} ({kind.value}, offered last)"
        for kind, addresses in (
            (InterfaceKind.VIRTUAL, virtual),
            (InterfaceKind.LINK_LOCAL, link_local),
        )
        if addresses
    ]
    also = f"; also {'; '.join(others)}" if others else ""
    if lan:
        return Check("interfaces", True, f"advertised first: {_names(lan)}{also}")
    if f.scoped and loopback:
        detail = f"kept to {_names(loopback)} by --interface or --bind: chats on this machine only"
        return Check("interfaces", True, detail)
    if link_local:
        return Check(
            "interfaces",
            False,
            f"only a self-assigned address ({_names(link_local)}): the network gave this "
            "machine no address",
            "reconnect to the network (Wi-Fi or cable), or restart its router; if it stays so, "
            "ask the network's admin (its DHCP does not answer)",
        )
    if virtual:
        return Check(
            "interfaces",
            False,
            f"only VPN, tunnel or container interfaces are up: {_names(virtual)}",
            "connect to the local network (Wi-Fi or cable): p2pchat finds people on the LAN",
        )
    where = f"only loopback ({_names(loopback)})" if loopback else "no IPv4 address at all"
    return Check(
        "interfaces",
        False,
        f"{where}: this machine is on no network",
        "connect to Wi-Fi or plug in a cable, then run p2pchat doctor again",
    )


def _chat_port(f: Findings) -> Check:
    port, state = f.chat_port.port, f.chat_port.state
    if state is PortState.FREE:
        return Check("chat port", True, f"TCP {port} is free: a chat started here listens on it")
    if state is PortState.P2PCHAT:
        who = f" ({f.chat_port.detail})" if f.chat_port.detail else ""
        return Check("chat port", True, f"TCP {port} is a p2pchat running here{who}")
    if state is PortState.OTHER:
        return Check(
            "chat port",
            False,
            f"TCP {port} is held by another program",
            "p2pchat will listen on a free port instead and say which at start: others then "
            "need --peer HOST:PORT or your /invite code (or stop that program)",
        )
    return Check(
        "chat port",
        False,
        f"TCP {port} cannot be used here: {f.chat_port.detail}",
        "run p2pchat --port N with a port that is free; others then need --peer HOST:N or "
        "your /invite code",
    )


def _mdns(f: Findings, ours: list[Sighting]) -> Check:
    m = f.mdns
    shared = (
        "; UDP 5353 is shared with another program (a p2pchat, or a system mDNS service such "
        "as Avahi or Bonjour), which is fine"
        if m.shared
        else ""
    )
    if m.error is not None:
        return Check(
            "mDNS",
            False,
            f"mDNS cannot run here: {m.error}",
            "the beacon and --peer still work; for mDNS, stop the program that holds UDP 5353 "
            "without sharing it, or allow UDP 5353 in the firewall",
        )
    by_mdns = _ids(ours, "mdns")
    if by_mdns:
        return Check(
            "mDNS", True, f"found {_count(len(by_mdns), 'node')} of room {f.room!r}{shared}"
        )
    elsewhere = _ids(ours, "beacon", "scan") - by_mdns
    heard = (
        f"heard mDNS from {_count(m.other_hosts, 'other machine')}"
        if m.other_hosts
        else f"heard no mDNS from any other machine in {f.seconds:g} s"
    )
    if elsewhere:
        return Check(
            "mDNS",
            False,
            f"{heard}, yet the {_layers(ours, elsewhere)} found "
            f"{_count(len(elsewhere), 'node')} of room {f.room!r}: this network drops "
            f"multicast{shared}",
            "nothing to do here: the beacon finds peers where multicast is dropped; the "
            "network's admin can allow mDNS (multicast to 224.0.0.251, UDP 5353)",
        )
    if m.other_hosts:
        return Check("mDNS", True, f"mDNS works: {heard}, none in room {f.room!r}{shared}")
    return Check(
        "mDNS",
        False,
        f"{heard}{shared}",
        "nobody else may be on this network, or it drops multicast (common on guest, campus "
        "and hotel Wi-Fi); the beacon covers that case: see its check",
    )


def _beacon(f: Findings, ours: list[Sighting]) -> Check:
    b = f.beacon
    deaf = f" (broadcasts cannot be heard here: {b.not_hearing})" if b.not_hearing else ""
    if not b.sent_on:
        why = b.error or "no interface in use can broadcast"
        return Check(
            "beacon",
            False,
            f"no probe went out: {why}",
            "connect to a LAN (Wi-Fi or cable); mDNS and --peer do not need the beacon",
        )
    by_beacon = _ids(ours, "beacon")
    probed = f"probed on {_names(list(b.sent_on))}"
    if by_beacon:
        return Check(
            "beacon",
            True,
            f"{_count(len(by_beacon), 'node')} of room {f.room!r} answered; {probed}",
        )
    by_mdns = _ids(ours, "mdns")
    if by_mdns:
        return Check(
            "beacon",
            False,
            f"mDNS found {_count(len(by_mdns), 'node')} that did not answer the beacon ({probed}): "
            f"this network drops broadcast, or they run --no-beacon or an older p2pchat{deaf}",
            "nothing to do here: mDNS finds peers on this network",
        )
    answered = [s for s in f.sightings if s.via == "beacon"]
    if answered:
        return Check(
            "beacon",
            True,
            f"the beacon works: {_count(len({s.node_id for s in answered}), 'node')} of other "
            f"rooms answered; {probed}{deaf}",
        )
    return Check(
        "beacon",
        False,
        f"no node answered; {probed}{deaf}",
        "if others run p2pchat here, the network drops broadcast too: try p2pchat --scan, or "
        "/invite on a member and p2pchat --join CODE here, or p2pchat --peer HOST",
    )


def _scan(f: Findings, scan: ScanFinding, ours: list[Sighting]) -> Check:
    by_scan = _ids(ours, "scan")
    tried = f"{scan.open_ports} of {scan.targets} addresses have TCP {f.port} open"
    if by_scan:
        return Check("scan", True, f"{tried}: {_count(len(by_scan), 'node')} of room {f.room!r}")
    if scan.open_ports:
        return Check(
            "scan",
            False,
            f"{tried}, none a p2pchat of room {f.room!r}",
            "see the peers check for the rooms found; or the others run on another port: "
            "p2pchat --peer HOST:PORT",
        )
    return Check(
        "scan",
        False,
        f"none of the {scan.targets} addresses of the local subnets has TCP {f.port} open",
        f"the others may listen on another port (p2pchat --peer HOST:PORT), or a firewall on "
        f"their machine blocks TCP {f.port}: allow p2pchat there",
    )


def _peers(f: Findings, ours: list[Sighting]) -> Check:
    local = sorted(
        {
            _who(s, f.private)
            for s in f.sightings
            if s.match is BeaconMatch.SAME_ROOM and s.addr[0] in f.own_addresses
        }
    )
    here = f" (on this machine too: {_names(local)})" if local else ""
    reached = {s.node_id for s in ours if s.reachable}
    unreached = {s.node_id for s in ours if s.reachable is False} - reached
    if reached:
        names = _names(sorted({_who(s, f.private) for s in ours if s.node_id in reached}))
        detail = f"reached {_count(len(reached), 'node')} of room {f.room!r}: {names}{here}"
        if unreached:
            detail += f"; {_count(len(unreached), 'more')} found but not answering"
        return Check("peers", True, detail)
    if unreached:
        first = next(s for s in ours if s.node_id in unreached)
        who = f"{_who(first, f.private)} at {format_addr(*first.addr)}"
        return Check(
            "peers",
            False,
            f"found {who} (by {first.via}), but TCP {first.addr[1]} there does not answer{here}",
            f"a firewall on that machine blocks p2pchat: allow TCP {first.addr[1]}, UDP "
            f"{f.port} and UDP 5353 there (or its network separates the two of you)",
        )
    detail = f"nobody of room {f.room!r} found in {f.seconds:g} s{here}"
    other_rooms = sorted({s.room for s in f.sightings if s.room is not None and s.room != f.room})
    private = {s.node_id for s in f.sightings if s.room is None}
    passphrase = any(s.match is BeaconMatch.OTHER_PASSPHRASE for s in f.sightings)
    if other_rooms:
        shown = ", ".join(repr(r) for r in other_rooms[:MAX_ROOMS_NAMED])
        more = len(other_rooms) - MAX_ROOMS_NAMED
        detail += f"; heard room {shown}" + (f" and {more} more" if more > 0 else "")
    if private:
        detail += f"; heard {_count(len(private), 'node')} of private rooms"
    if passphrase:
        advice = (
            f"someone has a private room {f.room!r} with another passphrase: check yours with them"
        )
    elif other_rooms and not f.private:
        advice = f"others are in room {other_rooms[0]!r}: p2pchat --room {other_rooms[0]!r}"
    else:
        advice = (
            "start p2pchat on another machine and run p2pchat doctor there too; if both find "
            "nobody, this network blocks discovery: /invite on a member and p2pchat --join CODE "
            "here, or p2pchat --peer HOST, or try --scan"
        )
        if any(i.kind is InterfaceKind.VIRTUAL for i in f.interfaces):
            advice += "; a VPN that is on may keep you off the LAN: try without it"
    return Check("peers", False, detail, advice)


def _ids(sightings: list[Sighting], *via: Via) -> set[str]:
    return {s.node_id for s in sightings if s.via in via}


def _layers(sightings: list[Sighting], ids: set[str]) -> str:
    return " and ".join(sorted({s.via for s in sightings if s.node_id in ids}))


def _who(s: Sighting, private: bool) -> str:
    short = s.node_id[:SHORT_ID_CHARS]
    return f"{s.nick}#{short}" if s.nick and not private else short


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 or noun.endswith("more") else f"{n} {noun}s"


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES_SHOWN])
    more = len(names) - MAX_NAMES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")
