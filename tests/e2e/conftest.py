"""Fixtures for tests with real processes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Cluster
from tests.e2e.netlan import Lan


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A set of p2pchat processes, all stopped after the test."""
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop_all()


@pytest.fixture
def lan() -> Iterator[Callable[[int], Lan]]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (ip) to build network namespaces")
    built: list[Lan] = []

    def make(hosts: int) -> Lan:
        built.append(Lan(hosts))
        return built[-1]

    yield make
    for item in built:
        item.down()
