"""mDNS discovery with zeroconf: advertise this node, browse for its room, report what is seen."""

from __future__ import annotations

import ipaddress
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from zeroconf import (
    InterfaceChoice,
    IPVersion,
    ServiceBrowser,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
)

from p2pchat.core import events as ev
from p2pchat.core.limits import PROTOCOL_VERSION, SERVICE_TYPE
from p2pchat.core.messages import is_node_id
from p2pchat.discovery.errors import DiscoveryError
from p2pchat.discovery.interfaces import advertise_addresses

log = logging.getLogger(__name__)

RESOLVE_TIMEOUT_MS = 500
RESOLVE_ATTEMPTS = 4
INSTANCE_NICK_CHARS = 24
INSTANCE_ID_CHARS = 12

Post = Callable[[object], None]

__all__ = ["DiscoveryError", "MdnsConfig", "MdnsDiscovery", "open_zeroconf"]


@dataclass(frozen=True)
class MdnsConfig:
    """Who we are and where mDNS may run (interfaces None: all of them)."""

    node_id: str
    nick: str
    room: str
    advertise: tuple[str, ...]
    interfaces: tuple[str, ...] | None = None
    room_tag: str | None = None  # a private room: its tag instead of its name, and no nick
    room_hint: str = ""  # a private room: 12 bits of its name (security.room.room_hint)


class MdnsDiscovery:
    """Registers `_p2pchat._tcp.local.` and browses it; all slow zeroconf calls run on a worker."""

    def __init__(self, config: MdnsConfig) -> None:
        self._config = config
        self._nick = config.nick
        self._advertise = config.advertise
        self._zc: Zeroconf | None = None
        self._browser: ServiceBrowser | None = None
        self._info: ServiceInfo | None = None
        self._post: Post | None = None
        self._port = 0
        self._names: dict[str, str] = {}
        self._tasks: queue.SimpleQueue[tuple[str, str, int] | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._work, name="p2pchat-mdns")
        self._closed = False
        self._closing = threading.Event()

    def start(self, port: int, post: Post) -> None:
        """Open the mDNS sockets (raise DiscoveryError if impossible); register and browse async."""
        self._port = port
        self._post = post
        try:
            self._zc = open_zeroconf(self._config.interfaces)
        except OSError as exc:
            raise DiscoveryError(f"mDNS cannot start: {exc.strerror or exc}") from None
        self._worker.start()
        self._tasks.put(("register", "", 0))

    def rediscover(self) -> None:
        """Re-announce and restart browsing (zeroconf alone does not re-find peers after a cut)."""
        self._tasks.put(("rediscover", "", 0))

    def network_changed(self) -> None:
        """The host's addresses changed: reopen the sockets, advertise the new addresses, look
        again (only when mDNS runs on all interfaces: given ones are fixed)."""
        self._tasks.put(("reopen", "", 0))

    def announce(self, nick: str) -> None:
        """Advertise a new nick in TXT."""
        self._tasks.put(("announce", nick, 0))

    def close(self) -> None:
        """Send goodbyes (all of them), stop browsing, close sockets, join threads; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        if self._worker.ident is not None:
            # Queued work is skipped; at most one short resolve is still under way.
            self._tasks.put(None)
            self._worker.join()
        if self._browser is not None:
            self._browser.cancel()
        if self._zc is not None:
            # unregister_service() returns after the first of three goodbyes and close() then
            # cancels the rest; unregister_all_services() waits for all three.
            try:
                self._zc.unregister_all_services()
            except Exception as exc:
                log.warning("mDNS goodbye failed: %s", exc)
            self._zc.close()

    # ---------------------------------------------------------------- worker

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            if self._closing.is_set():
                continue
            kind, arg, attempt = task
            try:
                self._do(kind, arg, attempt)
            except Exception as exc:
                log.warning("mDNS %s failed: %s", kind, exc)

    def _do(self, kind: str, arg: str, attempt: int) -> None:
        zc = self._zc
        assert zc is not None
        if kind == "register":
            self._info = self._service_info()
            zc.register_service(self._info)
            self._browser = self._new_browser(zc)
        elif kind == "rediscover":
            if self._info is not None:
                zc.update_service(self._info)
            if self._browser is not None:
                self._browser.cancel()
                self._browser = self._new_browser(zc)
        elif kind == "reopen" and self._config.interfaces is None:
            zc.update_interfaces(InterfaceChoice.All, IPVersion.V4Only)
            self._advertise = advertise_addresses("0.0.0.0", None)
            if self._info is not None:
                self._info = self._service_info()
                zc.update_service(self._info)
            if self._browser is not None:
                self._browser.cancel()
                self._browser = self._new_browser(zc)
        elif kind == "announce":
            self._nick = arg
            if self._info is not None:
                self._info = self._service_info()
                zc.update_service(self._info)
        elif kind == "added" and not self._resolve(zc, arg) and attempt + 1 < RESOLVE_ATTEMPTS:
            self._tasks.put(("added", arg, attempt + 1))
        elif kind == "removed":
            node_id = self._names.pop(arg, None)
            if node_id is not None and self._post is not None:
                self._post(ev.PeerWithdrawn(node_id))

    def _new_browser(self, zc: Zeroconf) -> ServiceBrowser:
        return ServiceBrowser(zc, SERVICE_TYPE, handlers=[self._on_change])

    def _on_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        # Runs on zeroconf's browser thread: hand over, never block it.
        if state_change is ServiceStateChange.Removed:
            self._tasks.put(("removed", name, 0))
        else:
            self._tasks.put(("added", name, 0))

    def _resolve(self, zc: Zeroconf, name: str) -> bool:
        """Look the instance up (cache first, then a short query); False to try again later."""
        info = ServiceInfo(SERVICE_TYPE, name)
        if not info.load_from_cache(zc) and not info.request(zc, RESOLVE_TIMEOUT_MS):
            return False
        if info.port is None:
            return False
        props = info.decoded_properties
        node_id = props.get("id") or ""
        if not is_node_id(node_id) or node_id == self._config.node_id:
            return True
        cfg = self._config
        same_room = (
            props.get("tag") == cfg.room_tag if cfg.room_tag else props.get("room") == cfg.room
        )
        if not same_room or props.get("v") != str(PROTOCOL_VERSION):
            hint = props.get("rh")
            if cfg.room_tag and hint and hint == cfg.room_hint and self._post is not None:
                # Another tag with our room name's hint: likely our room, another passphrase.
                self._post(ev.OtherPassphraseSeen(node_id))
            log.debug("mDNS: %s is in another room or protocol", name)
            return True
        addresses = tuple((a, info.port) for a in _usable(info.parsed_addresses()))
        if addresses and self._post is not None:
            self._names[name] = node_id
            self._post(ev.PeerDiscovered(addresses, node_id, "mdns"))
        return True

    def _service_info(self) -> ServiceInfo:
        cfg = self._config
        properties = {"id": cfg.node_id, "v": str(PROTOCOL_VERSION)}
        if cfg.room_tag:
            # A private room shows neither its name nor who is in it (12 bits of hint).
            properties["tag"] = cfg.room_tag
            if cfg.room_hint:
                properties["rh"] = cfg.room_hint
            instance = f"p2pchat-{cfg.node_id[:INSTANCE_ID_CHARS]}"
        else:
            properties.update(nick=self._nick, room=cfg.room)
            nick = "".join(c if c.isalnum() or c in "-_" else "-" for c in self._nick)
            instance = f"{nick[:INSTANCE_NICK_CHARS]}-{cfg.node_id[:INSTANCE_ID_CHARS]}"
        return ServiceInfo(
            SERVICE_TYPE,
            f"{instance}.{SERVICE_TYPE}",
            port=self._port,
            properties=properties,
            server=f"p2pchat-{cfg.node_id[:INSTANCE_ID_CHARS]}.local.",
            parsed_addresses=list(self._advertise),
        )


def open_zeroconf(interfaces: tuple[str, ...] | None) -> Zeroconf:
    """A zeroconf instance on these interfaces' addresses (None: all interfaces, IPv4)."""
    if interfaces is None:
        return Zeroconf(interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only)
    v6 = any(":" in i for i in interfaces)
    v4 = any(":" not in i for i in interfaces)
    version = IPVersion.All if v4 and v6 else IPVersion.V6Only if v6 else IPVersion.V4Only
    return Zeroconf(interfaces=list(interfaces), ip_version=version)


def _usable(addresses: list[str]) -> list[str]:
    usable = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        if address.is_multicast or address.is_unspecified:
            continue
        usable.append(str(address))
    return usable
