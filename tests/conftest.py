"""Shared test set-up: hypothesis profiles and a simulator loop per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from simulators.runner import SimulatorThread

# CI: deterministic examples (a red build must be reproducible), no per-example deadline on a noisy machine.
settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("default", max_examples=100, deadline=None)
settings.load_profile("default")


@pytest.fixture
def sim_thread() -> Iterator[SimulatorThread]:
    """An asyncio loop in a background thread for simulators; everything on it is stopped after the test."""
    with SimulatorThread() as lab:
        yield lab
