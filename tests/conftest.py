"""Shared test set-up: hypothesis profiles and a simulator loop per test."""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from simulators.runner import SimulatorThread
from tests.support.postgres import PostgresServer, running_postgres

# CPython 3.11 corrupts its AST-constructor recursion counter when two threads build AST objects at once
# (gh-106905: "SystemError: AST constructor recursion depth mismatch"). In this suite the main thread parses
# (pytest's assertion rewriting, hypothesis) while simulator threads format tracebacks, which 3.11 does with
# ast.parse. Serialise ast.parse for the test process so a rare race cannot abort a CI run.
_ast_parse = ast.parse
_ast_lock = threading.RLock()


def _locked_parse(*args: Any, **kwargs: Any) -> Any:
    with _ast_lock:
        return _ast_parse(*args, **kwargs)


ast.parse = _locked_parse

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


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session (each test creates its own database)."""
    with running_postgres() as server:
        yield server
