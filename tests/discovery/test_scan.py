"""--scan on loopback only (127.0.0.0/22 around 127.0.0.1), with a private port."""

from __future__ import annotations

import queue
import socket

from p2pchat.core import events as ev
from p2pchat.discovery.scan import SubnetScan, scan_targets

WAIT = 20.0


def test_the_targets_are_the_subnet_capped_at_a_22_without_our_own_address() -> None:
    targets = scan_targets(("127.0.0.1",))
    assert len(targets) == 1021  # a /22 has 1022 hosts; 127.0.0.1 is ours
    assert "127.0.0.1" not in targets
    assert {"127.0.0.2", "127.0.3.254"} <= set(targets)
    assert all(t.startswith("127.0.") for t in targets)


def test_without_a_scope_loopback_is_never_scanned() -> None:
    assert not [t for t in scan_targets(None) if t.startswith("127.")]


def test_a_scan_reports_the_addresses_where_the_port_is_open() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.9", 0))
        listener.listen()
        port = listener.getsockname()[1]
        posted: queue.SimpleQueue[object] = queue.SimpleQueue()
        scan = SubnetScan(("127.0.0.1",), port)
        scan.start(0, posted.put)
        try:
            found = posted.get(timeout=WAIT)
        finally:
            scan.close()
    assert found == ev.PeerDiscovered((("127.0.0.9", port),), None, "scan")
