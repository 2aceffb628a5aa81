"""The cg-18 demo scenario runs to completion through the shared demo fixture (what `calibrate --demo` uses)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from api.demo.nawi_cg18 import CERTIFIED, SENSITIVITY
from tests.acquisition.conftest import DemoRun


def test_cg18_demo_finds_the_simulated_sensitivity_error(demo_run: Callable[..., DemoRun]) -> None:
    run = demo_run("nawi-calibration-cg18")
    assert run.outcome.state == "completed", run.outcome.message
    errors = [r for r in run.outcome.results if r.quantity == "error of indication"]
    assert len(errors) == 5
    for r in errors:
        assert r.point is not None
        assert r.value == pytest.approx(SENSITIVITY * CERTIFIED[r.point][0], abs=1.5e-4)
    assert run.outcome.readings == run.engine.store.count(run_id=run.outcome.run_id) > 0
