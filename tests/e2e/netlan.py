"""A LAN of network namespaces (scripts/lan) for tests with real processes."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAN_SCRIPT = ROOT / "scripts" / "lan"
_lan_numbers = itertools.count(1)


class Lan:
    """A LAN built by scripts/lan under a name of its own; removed at the end."""

    def __init__(self, hosts: int) -> None:
        self.name = f"p2pt{os.getpid()}-{next(_lan_numbers)}"
        self.env = {**os.environ, "P2PCHAT_LAN": self.name}
        self.hosts = hosts
        result = self._lan("up", str(hosts))
        if result.returncode != 0:
            self._lan("down")
            pytest.skip(f"cannot build network namespaces: {result.stderr.strip()}")

    def host_ns(self, i: int) -> str:
        return f"{self.name}-h{i}"

    def faults(self, *args: str) -> None:
        """scripts/lan split/loss/heal on this LAN; skip the test if nftables is missing."""
        if shutil.which("nft") is None:
            pytest.skip("needs nftables (nft); .ci/run installs it")
        result = self._lan(*args)
        assert result.returncode == 0, result.stderr

    def set_link(self, i: int, up: bool) -> None:
        """Plug (up) or unplug host i's cable at the bridge."""
        state = "up" if up else "down"
        cmd = ["ip", "-n", f"{self.name}-br", "link", "set", f"h{i}", state]
        subprocess.run(cmd, check=True, timeout=10)

    def shape(self, i: int, rate: str) -> None:
        """Limit what host i receives to rate (tc token bucket at its bridge port)."""
        cmd = ["ip", "netns", "exec", f"{self.name}-br", "tc", "qdisc", "replace", "dev"]
        cmd += [f"h{i}", "root", "tbf", "rate", rate, "burst", "64kb", "latency", "50ms"]
        subprocess.run(cmd, check=True, timeout=10)

    def down(self) -> None:
        self._lan("down")

    def _lan(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LAN_SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
