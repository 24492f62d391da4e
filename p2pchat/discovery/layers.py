"""Several discovery layers (mDNS, beacon) behind the one face the node knows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal, Protocol

from p2pchat.core import events as ev
from p2pchat.discovery.watch import Addresses, InterfaceWatch

LayerName = Literal["mDNS", "beacon", "scan"]
Post = Callable[[object], None]


class Layer(Protocol):
    """One way of finding peers; every method returns without blocking long."""

    def start(self, port: int, post: Post) -> None: ...
    def rediscover(self) -> None: ...
    def network_changed(self) -> None: ...
    def announce(self, nick: str) -> None: ...
    def close(self) -> None: ...


class DiscoveryLayers:
    """Runs each layer; one that cannot start is reported in one line, and the others go on.

    follow: watch the host's addresses (discovery not kept to given interfaces); on a change
    every layer follows the network, and one that could not start is tried again.
    """

    def __init__(self, layers: list[tuple[LayerName, Layer]], *, follow: bool = False) -> None:
        self._layers = layers
        self._running: list[Layer] = []
        self._down: list[tuple[LayerName, Layer]] = []
        self._lock = threading.Lock()
        self._port = 0
        self._post: Post | None = None
        self._watch = InterfaceWatch(self._network_changed) if follow else None

    @property
    def names(self) -> tuple[LayerName, ...]:
        """The layers asked for."""
        return tuple(name for name, _ in self._layers)

    def start(self, port: int, post: Post) -> None:
        """Start every layer; say which could not start, and why, as a problem line."""
        self._port, self._post = port, post
        with self._lock:
            for name, layer in self._layers:
                self._start(name, layer, tell=True)
        if self._watch is not None:
            self._watch.start()

    def rediscover(self) -> None:
        """Look again on every layer."""
        with self._lock:
            for layer in self._running:
                layer.rediscover()

    def announce(self, nick: str) -> None:
        """Tell every layer our new nick."""
        with self._lock:
            for layer in self._running:
                layer.announce(nick)

    def close(self) -> None:
        """Stop watching and every layer."""
        if self._watch is not None:
            self._watch.close()
        with self._lock:
            for layer in [*self._running, *(layer for _, layer in self._down)]:
                layer.close()
            self._running, self._down = [], []

    def _start(self, name: LayerName, layer: Layer, *, tell: bool) -> None:
        assert self._post is not None
        try:
            layer.start(self._port, self._post)
        except Exception as exc:  # DiscoveryError, BeaconError, or what zeroconf raises
            self._down.append((name, layer))
            if tell:
                others = [n for n, _ in self._layers if n != name]
                still = f"{' and '.join(others)} and " if others else ""
                problem = f"{name} discovery is off: {exc} ({still}--peer still work)"
                self._post(ev.ShowProblem(problem))
        else:
            self._running.append(layer)
            if not tell:
                self._post(ev.ShowProblem(f"{name} discovery works again"))

    def _network_changed(self, addresses: Addresses) -> None:
        """On the watcher's thread: layers follow the new addresses; those down try again; the
        node dials the addresses it knows again."""
        if self._post is not None:
            self._post(ev.NetworkChanged())
        with self._lock:
            for layer in self._running:
                layer.network_changed()
            down, self._down = self._down, []
            for name, layer in down:
                self._start(name, layer, tell=False)
