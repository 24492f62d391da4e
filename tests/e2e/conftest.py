"""Fixtures for tests with real processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Cluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A set of p2pchat processes, all stopped after the test."""
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop_all()
