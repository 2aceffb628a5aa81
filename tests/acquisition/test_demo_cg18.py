"""The cg-18 demo scenario runs to completion through the shared demo fixture (what `calibrate --demo` uses).

The demo balance has a +2 ppm sensitivity error and, at the back right, an eccentricity error ε with ε · 70 g = 3 d
(d = 0.1 mg). By hand, as in test_nawi_cg18: the demo operator puts the 70 g weight (conventional mass m_c) where
each action says; the true back-right and centre indications differ by ε · m_c = 3 d · m_c / 70 g (3 d within
1e-10 g, so rounding both to d shifts them alike) and their noise and settling remnants differ by less than d, so
the back-right difference ΔI is 2 d, 3 d or 4 d and the others are −d, 0 or +d: |ΔI_ecc|max = ε · m_c within d.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from api.demo.nawi_cg18 import CERTIFIED, ECCENTRICITY, SENSITIVITY
from tests.acquisition.conftest import DemoRun

D = 0.0001  # readability of the demo balance (g)


def test_cg18_demo_finds_the_simulated_sensitivity_and_eccentricity_errors(demo_run: Callable[..., DemoRun]) -> None:
    run = demo_run("nawi-calibration-cg18")
    assert run.outcome.state == "completed", run.outcome.message
    errors = [r for r in run.outcome.results if r.quantity == "error of indication"]
    assert len(errors) == 5
    for r in errors:
        assert r.point is not None
        assert r.value == pytest.approx(SENSITIVITY * CERTIFIED[r.point][0], abs=1.5e-4)
    ecc = next(r for r in run.outcome.results if r.quantity == "eccentricity |ΔI_ecc|max")
    assert list(ECCENTRICITY) == ["back-right"]
    expected = ECCENTRICITY["back-right"] * CERTIFIED[70.0][0]  # 3 d, the demo's eccentricity at 70 g
    assert expected == pytest.approx(3 * D, abs=1e-10)
    assert ecc.point == 70.0 and ecc.value == pytest.approx(expected, abs=1.0001 * D)
    # ΔI in the procedure's order: front left, back left, back right, front right
    deltas = [float(x) for x in ecc.note.removeprefix("differences: ").split(", ")]
    assert len(deltas) == 4 and deltas[2] == pytest.approx(expected, abs=1.0001 * D)
    assert all(abs(x) <= 1.0001 * D for i, x in enumerate(deltas) if i != 2)
    assert run.outcome.readings == run.engine.store.count(run_id=run.outcome.run_id) > 0
