"""`flow-meter-calibration`: plan, evaluation by hand, and the demo (Promass 83 against a MASS 6000) end to end.

Expected numbers come from hand calculations and from the demo's configured truth (the Promass simulator's error
curve and the master's certificate), never from the procedure's output. Units: m³/h, L, %, °C.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from acquisition.procedures.base import InstrumentUnderTest, RunContext, StandardUsed, Step, StepData
from acquisition.procedures.flow_calibration import FlowMeterCalibration
from registry.db import session_scope
from registry.models import Conformity, EnvironmentRecord, Run
from tests.acquisition.conftest import DemoRun

PROC = FlowMeterCalibration()
# the demo's configured truth, restated: Promass error (%) at each test flow (m³/h)
METER_ERROR = {1.0: 0.35, 2.5: 0.22, 5.0: 0.12, 10.0: 0.06, 15.0: 0.04}
# the master certificate's U (%, k = 2) that applies at each flow: the larger U of the two neighbouring
# certificate points (0.5: 0.10, 2: 0.08, 10: 0.06, 40: 0.06); at 10 m³/h the pair (2, 10) is used
MASTER_U = {1.0: 0.10, 2.5: 0.08, 5.0: 0.08, 10.0: 0.08, 15.0: 0.06}
ROWS = (
    {"point": 0.5, "value": 0.08, "unit": "%", "U": 0.10, "k": 2},
    {"point": 40.0, "value": 0.02, "unit": "%", "U": 0.06, "k": 2},
)


def _context(range_max: float | None = 18.0, range_unit: str = "m³/h", **params: Any) -> RunContext:
    inst = InstrumentUnderTest(1, "flow meter", "E+H", "Promass 83", "P1", 0.0, range_max, range_unit, 0.001, "L", "")
    master = StandardUsed("master", "M50", "master meter", 0.5, 40.0, "m³/h", "0.1", "C-9", ROWS)
    return RunContext("r1", {**PROC.definition.parameters, **params}, inst, {"master": master})


def test_plan_default_flows_from_the_meters_range() -> None:
    """Range 18 m³/h: flows 1.8, 4.5, 9, 13.5, 18 m³/h; 60 s at 1.8 m³/h = 1.8/3.6 · 60 = 30 L; three runs."""
    steps = PROC.plan(_context())
    actions = [s.action for s in steps if s.action is not None]
    assert [a.params["flow_m3_h"] for a in actions[::3]] == pytest.approx([1.8, 4.5, 9.0, 13.5, 18.0])
    assert actions[0].params["volume_l"] == pytest.approx(30.0)
    assert actions[0].params["low_m3_h"] == pytest.approx(1.71) and actions[0].params["high_m3_h"] == pytest.approx(
        1.89
    )
    assert len(steps) == 5 * (3 * 5 + 1)
    assert [s.id for s in steps[:5]] == [
        "q1-1-meter-start",
        "q1-1-master-start",
        "q1-1-run",
        "q1-1-master-end",
        "q1-1-meter-end",
    ]
    assert {s.quantity for s in steps if s.role == "meter"} == {"totalizer"}
    assert steps[15].id == "q1-water" and steps[15].environment


@pytest.mark.parametrize(
    ("ctx", "message"),
    [
        (_context(range_max=None), "flows_m3_h"),
        (_context(range_unit="kg/s"), "flows_m3_h"),
        (_context(flows_m3_h=[1.0, 2.0, 2.0]), "distinct"),
        (_context(flows_m3_h=[1.0, 2.0, 3.0], curve_degree=2), "at least 4 flow rates"),
        (_context(flows_m3_h=[1.0, 50.0], curve_degree=None), "outside the master meter's certified range"),
        (_context(volumes_l=[10.0, 20.0]), "one volume per flow"),
        (_context(accuracy_class=2), "q3_m3_h and r"),
        (_context(accuracy_class=2, q3_m3_h=10.0, r=100, flows_m3_h=[0.05, 1, 2, 5]), "outside the meter's rated"),
        (_context(runs=0), "runs"),
    ],
)
def test_plan_refuses_with_the_reason(ctx: RunContext, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PROC.plan(ctx)


def _data(steps: list[Step], readings: dict[str, float]) -> dict[str, StepData]:
    return {s.id: StepData(s, (readings[s.id],) if s.id in readings else (), "kg") for s in steps}


def test_evaluate_by_hand_with_a_class() -> None:
    """Four flows, one run each, both totalisers in kg (the density cancels): master 0 -> 100 kg, meter 0 -> 100.5
    kg. Master error interpolated on 0.5 m³/h (+0.08 %) .. 40 m³/h (+0.02 %): e_m(q) = 0.08 − 0.06 (q − 0.5)/39.5;
    E = 100 (100.5 (1 + e_m/100)/100 − 1). Class 2 with Q3 = 10, R = 100: Q2 = 0.16 m³/h, so all four flows are in
    the upper zone, MPE 2 % (OIML R49-1:2013 4.2), E ≈ 0.56 % passes."""
    flows = [1.0, 2.0, 5.0, 10.0]
    ctx = _context(
        flows_m3_h=flows,
        runs=1,
        water_temperature_c=20.0,
        accuracy_class=2,
        q3_m3_h=10.0,
        r=100,
        curve_degree=1,
        volumes_l=100.0,
    )
    steps = PROC.plan(ctx)
    readings: dict[str, float] = {}
    for j in range(1, 5):
        readings |= {f"q{j}-1-meter-start": 0.0, f"q{j}-1-meter-end": 100.5}
        readings |= {f"q{j}-1-master-start": 0.0, f"q{j}-1-master-end": 100.0}
    points = PROC.evaluate(ctx, _data(steps, readings))
    for q, p in zip(flows, points, strict=True):
        e_m = 0.08 - 0.06 * (q - 0.5) / 39.5
        assert p.value == pytest.approx(100 * (100.5 * (1 + e_m / 100) / 100 - 1), rel=1e-9)
        assert (p.point, p.mpe, p.conformity) == (q, 2.0, "pass")
        assert p.evidence["error_curve"]["degree"] == 1
    # the points lie on a line: E falls with q as the master's error does, slope 100.5/100 · (−0.06/39.5) %/(m³/h)
    assert points[0].evidence["error_curve"]["coefficients"][1] == pytest.approx(-1.005 * 0.06 / 39.5, rel=1e-6)


def test_demo_finds_the_promass_error_curve(demo_run: Callable[..., DemoRun]) -> None:
    """Bound |E − e| <= 0.003 %: both rigs carry the same true total (one virtual clock); the Promass totaliser is
    a float32 in kg, ±1.2e-4 kg per reading near 2000 kg (about 0.0015 % of the smallest 16.7 L run), and the start
    and stop transients (≈ 5 time constants of 0.05 s out of >= 60 s of flow, i.e. <= 0.4 % of the volume) pass at
    lower flows whose errors differ by <= 0.31 % (<= 0.0013 %). The master's +0.03..+0.08 % is corrected through
    its certificate; without that correction the errors would be off by more than the bound.

    U by hand: the master's certificate u = U/2 dominates; with it the master's drift since its previous certificate
    (the demo's errors changed by 0.02 %: rectangular, u = 0.02/√3) and the water temperature difference between the
    meters (±0.5 K by default at 22 °C, β ≈ 2.3·10⁻⁴ /K, handbook value: half-width 0.0115 %, u = 0.0115/√3); the
    resolution terms (0.001 L over >= 16.7 L) and the repeatability (float32 rounding) add < 1 % to u_c, ν_eff is
    large, so U ≈ 1.96 · √((U_cert/2)² + (0.02/√3)² + (0.0115/√3)²) (within 3 %)."""
    run = demo_run("flow-meter-calibration")
    assert run.outcome.state == "completed", run.outcome.message
    results = run.outcome.results
    assert [r.point for r in results] == list(METER_ERROR)
    for r in results:
        assert r.point is not None
        assert abs(r.value - METER_ERROR[r.point]) <= 0.003, (r.point, r.value)
        expanded = r.U
        u_c = math.sqrt((MASTER_U[r.point] / 2) ** 2 + (0.02 / math.sqrt(3)) ** 2 + (0.0115 / math.sqrt(3)) ** 2)
        assert expanded == pytest.approx(1.96 * u_c, rel=0.03)
        rows = {row["input"]: row for row in r.budget["rows"]}
        assert "-PREV" in rows["de_drift"]["source"] and "0.5 K" in rows["dE_T"]["source"]
        assert r.k is not None and 1.95 < r.k < 2.1
        assert (r.mpe, r.conformity) == (None, "notAssessed")
        curve = r.evidence["error_curve"]
        assert curve["degree"] == 2 and math.isfinite(curve["chi2"])
        # a quadratic through this convex curve stays within 0.05 % of it at the test flows (it cannot pass
        # through all five points exactly)
        assert abs(curve["fitted"] - METER_ERROR[r.point]) < 0.05
    with session_scope(run.registry, "test") as s:
        row = s.get(Run, run.outcome.run_id)
        assert row is not None and row.overall is Conformity.NOT_ASSESSED
        temps = s.scalars(select(EnvironmentRecord).where(EnvironmentRecord.run_id == row.id)).all()
        assert len(temps) == 5 and all(abs(t.value - 22.0) < 0.1 for t in temps)
