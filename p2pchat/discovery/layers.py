"""Several discovery layers (mDNS, beacon) behind the one face the node knows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from p2pchat.core import events as ev
from p2pchat.discovery.broadcast import BeaconError
from p2pchat.discovery.mdns import DiscoveryError

LayerName = Literal["mDNS", "beacon"]
Post = Callable[[object], None]


class Layer(Protocol):
    """One way of finding peers; every method returns without blocking long."""

    def start(self, port: int, post: Post) -> None: ...
    def rediscover(self) -> None: ...
    def announce(self, nick: str) -> None: ...
    def close(self) -> None: ...


class DiscoveryLayers:
    """Runs each layer; one that cannot start is reported in one line, and the others go on."""

    def __init__(self, layers: list[tuple[LayerName, Layer]]) -> None:
        self._layers = layers
        self._running: list[Layer] = []

    @property
    def names(self) -> tuple[LayerName, ...]:
        """The layers asked for."""
        return tuple(name for name, _ in self._layers)

    def start(self, port: int, post: Post) -> None:
        """Start every layer; say which could not start, and why, as a problem line."""
        for name, layer in self._layers:
            try:
                layer.start(port, post)
            except (DiscoveryError, BeaconError) as exc:
                others = [n for n, _ in self._layers if n != name]
                still = f"{' and '.join(others)} and " if others else ""
                post(ev.ShowProblem(f"{name} discovery is off: {exc} ({still}--peer still work)"))
                layer.close()
            else:
                self._running.append(layer)

    def rediscover(self) -> None:
        """Look again on every layer."""
        for layer in self._running:
            layer.rediscover()

    def announce(self, nick: str) -> None:
        """Tell every layer our new nick."""
        for layer in self._running:
            layer.announce(nick)

    def close(self) -> None:
        """Stop every layer."""
        for layer in self._running:
            layer.close()
        self._running = []
