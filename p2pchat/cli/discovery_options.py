"""Discovery's options (--bind, --interface, --no-mdns, --no-beacon, --scan...) made into its scope.

The scope is the interfaces discovery keeps to; the layers are what the chat runs in it.
"""

from __future__ import annotations

import argparse

from p2pchat.cli.exits import UsageError
from p2pchat.core.limits import Limits
from p2pchat.discovery.interfaces import WILDCARDS, advertise_addresses, unknown_interfaces
from p2pchat.discovery.layers import DiscoveryLayers, Layer, LayerName
from p2pchat.security.room import room_hint, room_tag


def checked_interfaces(addresses: list[str]) -> tuple[str, ...] | None:
    """The --interface addresses (None: every interface); UsageError if this machine lacks one."""
    interfaces = tuple(addresses) or None
    if interfaces:
        missing = unknown_interfaces(interfaces)
        if missing:
            raise UsageError(f"no local interface has address {missing[0]} (see --interface)")
    return interfaces


def discovery_scope(bind: str, interfaces: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The interfaces discovery keeps to: --bind's address, else --interface's (None: all)."""
    return (bind,) if bind not in WILDCARDS else interfaces


def room_tag_and_hint(room: str, key: bytes | None) -> tuple[str | None, str]:
    """What discovery shows of a private room (its tag and hint); (None, "") for an open room."""
    if key is None:
        return None, ""
    return room_tag(key), room_hint(room)


def discovery_layers(
    args: argparse.Namespace,
    interfaces: tuple[str, ...] | None,
    *,
    node_id: str,
    nick: str,
    key: bytes | None,
    limits: Limits,
) -> DiscoveryLayers | None:
    """The discovery layers the options ask for, each kept to the discovery scope.

    None when there is nothing to run: no layer, and a scope that no network change can move.
    Each layer's module is imported only when it runs (zeroconf's is heavy)."""
    scope = discovery_scope(args.bind, interfaces)
    tag, hint = room_tag_and_hint(args.room, key)
    layers: list[tuple[LayerName, Layer]] = []
    if not (args.no_mdns or args.no_discovery):
        from p2pchat.discovery.mdns import MdnsConfig, MdnsDiscovery

        mdns = MdnsConfig(
            node_id=node_id,
            nick=nick,
            room=args.room,
            advertise=advertise_addresses(args.bind, interfaces),
            interfaces=scope,
            room_tag=tag,
            room_hint=hint,
        )
        layers.append(("mDNS", MdnsDiscovery(mdns)))
    if not (args.no_beacon or args.no_discovery):
        from p2pchat.discovery.broadcast import BeaconConfig, BeaconDiscovery

        beacon = BeaconConfig(node_id, args.room, limits, scope, tag, hint, nick=nick)
        layers.append(("beacon", BeaconDiscovery(beacon)))
    if args.scan:
        from p2pchat.discovery.scan import SubnetScan

        layers.append(("scan", SubnetScan(scope)))
    # Without layers the watch still runs: a network change makes the node dial --peer again.
    return DiscoveryLayers(layers, follow=scope is None) if layers or scope is None else None
