"""A short campaign of the hostile state machine (a long one: scripts/fuzz.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.core.hostile_machine import HostileLan

TestHostileLan = HostileLan.TestCase
TestHostileLan.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
pytestmark = pytest.mark.timeout(300)
