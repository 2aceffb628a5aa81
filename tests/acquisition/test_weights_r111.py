"""`weight-calibration-r111`: plan and evaluation by hand, and the demo end to end on the simulated comparator.

End to end (demo scenario, :mod:`api.demo.weights_r111`): the virtual operator puts the reference's certified
conventional mass (200.000 05 g) or the test weight's true conventional mass on the MT-SICS comparator (d = 0.01 mg,
noise 0.01 mg). Both weights have density 8000 kg/m³, so the buoyancy correction m_cr(ρ_a − ρ_0)(1/ρ_t − 1/ρ_r) is
zero and the expected conventional mass is the configured truth itself; the expected U follows from the budget
terms of R111-1:2004 C.6 worked out below; the MPE is R111-1:2004 Table 1 (F1 200 g: 1.0 mg, METROLOGY.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from acquisition.procedures.base import InstrumentUnderTest, RunContext, StandardUsed, Step, StepData
from acquisition.procedures.weights_r111 import WeightCalibrationR111
from api.demo.base import DemoScenario
from api.demo.weights_r111 import (
    COMPARATOR_D_G,
    COMPARATOR_REPEATABILITY_G,
    REFERENCE_G,
    REFERENCE_U_G,
    TEST_MASS_G,
    WeightR111Demo,
)
from registry.db import session_factory
from registry.models import Conformity, EnvironmentRecord, Result, Run, RunState
from tests.acquisition.conftest import DemoRun

PROCEDURE = "weight-calibration-r111"
LABELS = ("A1", "B1", "B2", "A2")

# ---------------------------------------------------------------------------------------------- hand-made context

REFERENCE_ROW = {
    "point": 200.0,
    "value": 200.00005,
    "unit": "g",
    "U": 0.0001,
    "k": 2,
    "density_kg_m3": 8000.0,
    "density_U_kg_m3": 10.0,
}


def context(
    parameters: Mapping[str, Any] | None = None,
    *,
    reference: Sequence[Mapping[str, Any]] = (REFERENCE_ROW,),
    comparator: Sequence[Mapping[str, Any]] = ({"quantity": "resolution", "value": 0.01, "unit": "mg"},),
    environment: Sequence[Mapping[str, Any]] = (
        {"quantity": "temperature", "U": 0.4, "k": 2},
        {"quantity": "humidity", "U": 4.0, "k": 2},
        {"quantity": "pressure", "U": 1.0, "k": 2},
    ),
    weight_class: str = "F1",
) -> RunContext:
    proc = WeightCalibrationR111()

    def std(role: str, kind: str, values: Sequence[Mapping[str, Any]], top: float | None) -> StandardUsed:
        return StandardUsed(role, f"STD-{role}", kind, 0.0, top, "g" if top else "", "", f"CERT-{role}", tuple(values))

    return RunContext(
        run_id="r1",
        parameters={**proc.definition.parameters, **(parameters or {})},
        instrument=InstrumentUnderTest(1, "Quả cân", "", "", "W-1", 200.0, 200.0, "g", None, "", weight_class),
        standards={
            "reference": std("reference", "reference weight", reference, 200.0),
            "comparator": std("comparator", "mass comparator", comparator, 220.0),
            "environment": std("environment", "thermo-hygro-barometer", environment, None),
        },
    )


def test_plan_env_then_abba_cycles_then_env() -> None:
    steps = WeightCalibrationR111().plan(context())
    assert [s.id for s in steps] == [
        "env-start",
        *(f"cycle-{i}-{label}" for i in (1, 2, 3) for label in LABELS),
        "env-end",
    ]
    assert steps[0].environment and steps[-1].environment and steps[0].role == "environment"
    weighings = steps[1:-1]
    assert {s.role for s in weighings} == {"comparator"}
    actions = [s.action for s in weighings]
    assert all(a is not None and a.kind == "place-weight" for a in actions)
    params = [a.params for a in actions if a is not None]
    # reference (A), test (B), test (B), reference (A) in every cycle, positions 1..4
    assert [p["weight"] for p in params[:4]] == ["reference", "test", "test", "reference"]
    assert [p["position"] for p in params[4:8]] == [1, 2, 3, 4]
    assert [p["cycle"] for p in params[::4]] == [1, 2, 3]
    assert all(p["nominal_g"] == 200.0 for p in params)
    # stable indications only: the comparator's flag and at most 5 d = 0.05 mg spread (d from the certificate in mg)
    crit = weighings[0].stability
    assert crit is not None and crit.require_flag and crit.max_spread == pytest.approx(5 * 0.00001)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parameters": {"nominal_g": 100.0}}, "no certified value for 100 g"),
        ({"weight_class": ""}, "R111 class"),
        ({"parameters": {"nominal_g": 300.0}}, "1-2-5 series"),
        ({"comparator": ()}, "comparator_d_g"),
        ({"environment": ({"quantity": "temperature", "U": 0.4, "k": 2},)}, "u_humidity_pct"),
        ({"parameters": {"cycles": 1}}, "cycles >= 2"),
        ({"parameters": {"cycles": 0}}, "cycles"),
        ({"parameters": {"test_material": "granite"}}, "test_density_kg_m3"),
        ({"parameters": {"test_density_kg_m3": 7900.0}}, "test_density_U_kg_m3"),
        ({"reference": ({**REFERENCE_ROW, "U": None},)}, "no U"),
    ],
)
def test_plan_refuses_what_it_cannot_do(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WeightCalibrationR111().plan(context(**kwargs))


def test_one_cycle_is_enough_with_a_certified_repeatability() -> None:
    rows = (
        {"quantity": "resolution", "value": 0.00001, "unit": "g"},
        {"quantity": "repeatability", "point": 200.0, "value": 0.00002, "unit": "g"},
    )
    steps = WeightCalibrationR111().plan(context({"cycles": 1}, comparator=rows))
    assert len(steps) == 6


def _data(steps: list[Step], cycles: list[list[float]], env: Mapping[str, float]) -> dict[str, StepData]:
    readings = iter(v for cycle in cycles for v in cycle)
    out = {}
    for s in steps:
        if s.environment:
            out[s.id] = StepData(s, tuple(env.values()), "", tuple(env))
        else:
            out[s.id] = StepData(s, (next(readings),), "g")
    return out


def test_evaluate_by_hand_with_buoyancy_and_pressure_from_a_parameter() -> None:
    """Test weight of unknown density (stainless steel, R111 Table B.7: 7950 kg/m³, U 140 k=2), reference 8000 kg/m³;
    the thermo-hygrometer has no barometer, so the pressure 950 hPa is a parameter. R111 E.3-1 air density at
    20 °C, 950 hPa, 50 %: ρ_a = (0.34848·950 − 0.009·50·exp(1.22))/293.15 = (331.056 − 1.52425)/293.15
    = 1.124106 kg/m³.
    ABBA readings (g): ΔI = (B1 − A1 − A2 + B2)/2 = 0.00060, 0.00060, 0.00058; mean 0.000593333 g;
    s = √(((0.00000667)² · 2 + (0.00001333)²)/2) = 1.1547e-5 g, u_w = s/√3 = 6.6667e-6 g (no certified
    repeatability). C_b = m_cr(ρ_a − ρ_0)(1/ρ_t − 1/ρ_r) = 200.00005·(−0.075894)·(1/7950 − 1/8000) = −1.19330e-5 g.
    m_ct = 200.00005 + 0.000593333 − 0.0000119330 = 200.000631400 g -> m_c − m_0 = 0.631400 mg.
    """
    proc = WeightCalibrationR111()
    ctx = context({"air_density_formula": "r111", "pressure_hpa": 950.0, "u_pressure_hpa": 0.5})
    cycles = [
        [200.00005, 200.00065, 200.00066, 200.00006],
        [200.00004, 200.00064, 200.00065, 200.00005],
        [200.00005, 200.00062, 200.00064, 200.00005],
    ]
    (r,) = proc.evaluate(ctx, _data(proc.plan(ctx), cycles, {"temperature": 20.0, "humidity": 50.0}))
    rho_a = (0.34848 * 950 - 0.009 * 50 * math.exp(0.061 * 20)) / 293.15
    assert r.budget["air_density"]["value"] == pytest.approx(1.124106, abs=1e-6)
    c_b = 200.00005 * (rho_a - 1.2) * (1 / 7950 - 1 / 8000)
    assert c_b == pytest.approx(-1.19330e-5, rel=1e-4)
    assert r.budget["buoyancy_correction_g"] == pytest.approx(c_b, rel=1e-9)
    assert r.value == pytest.approx((200.00005 + 0.00059333333 + c_b - 200.0) * 1000, abs=1e-6)
    assert r.value == pytest.approx(0.631400, abs=1e-6)
    rows = {row["input"]: row for row in r.budget["rows"]}
    assert rows["dI"]["u"] == pytest.approx(6.6667e-6, rel=1e-4)
    assert rows["dI"]["dof"] == 2
    assert rows["resolution"]["u"] == pytest.approx(0.00001 / math.sqrt(6), rel=1e-9)  # triangular, half-width d
    assert r.budget["environment"]["pressure"] == {"mean": 950.0, "u": 0.5, "n": 1}
    assert "Pressure 950 hPa from parameter pressure_hpa" in r.note
    assert (r.quantity, r.point, r.unit, r.mpe, r.conformity) == (
        "conventional mass deviation (m_c - m_0)",
        200.0,
        "mg",
        1.0,
        "pass",
    )


# ---------------------------------------------------------------------------------------------- end to end

# R111-1:2004 C.6 budget floor for the demo (mg): reference U/k = 0.1/2 = 0.05; comparator resolution d = 0.01 mg
# as a triangular of half-width d, d/√6 = 0.0040825; certified repeatability s = 0.02 mg over n = 3 cycles,
# s/√3 = 0.011547. u = √(0.05² + 0.0040825² + 0.011547²) = 0.051478 mg, U = 2u = 0.102956 mg.
# The buoyancy term adds at most, in quadrature, m(ρ_a − ρ_0)u(ρ)/ρ² for the test (u = 70) and the reference (u = 15)
# densities: with |ρ_a − ρ_0| <= 0.03 kg/m³ that is 200·0.03·70/8000² = 0.0066 mg and 0.0014 mg, so
# U <= 2·√(0.051478² + 0.0066² + 0.0014²) = 0.1038 mg (the ρ_a term vanishes: equal densities).
U_FLOOR_MG = 2 * math.sqrt(
    (REFERENCE_U_G / 2 * 1000) ** 2
    + (COMPARATOR_D_G * 1000 / math.sqrt(6)) ** 2
    + (COMPARATOR_REPEATABILITY_G * 1000 / math.sqrt(3)) ** 2
)
U_CEILING_MG = 2 * math.sqrt((U_FLOOR_MG / 2) ** 2 + 0.0066**2 + 0.0014**2)


def test_demo_weight_conforms_to_f1(demo_run: Callable[..., DemoRun]) -> None:
    run = demo_run(PROCEDURE)
    assert run.outcome.state == "completed", run.outcome.message
    (r,) = run.outcome.results
    assert (r.quantity, r.point, r.point_unit, r.unit) == ("conventional mass deviation (m_c - m_0)", 200.0, "g", "mg")
    # no buoyancy correction (equal densities): m_c = m_cr + (true test − true reference) = the configured truth
    expected_mg = (REFERENCE_G + (TEST_MASS_G - REFERENCE_G) - 200.0) * 1000  # 0.60 mg
    assert expected_mg == pytest.approx(0.60, abs=1e-9)
    assert r.value == pytest.approx(expected_mg, abs=3 * COMPARATOR_D_G * 1000)  # within 3 d
    assert r.budget["buoyancy_correction_g"] == pytest.approx(0.0, abs=1e-12)
    assert round(U_FLOOR_MG, 6) == 0.102956
    assert r.U is not None and U_FLOOR_MG * (1 - 1e-9) <= r.U <= U_CEILING_MG
    assert r.k == 2.0
    # F1 200 g: δm = 1.0 mg; 0.60 + 0.103 <= 1.0 and 0.103 <= 0.333 -> pass
    assert (r.mpe, r.conformity) == (1.0, "pass")
    # air density at the simulated lab (21 °C, 52 %RH, 1008 hPa), R111 E.3-1 by hand:
    # (0.34848·1008 − 0.009·52·exp(0.061·21))/294.15 = 1.18845 kg/m³; the simulated room drifts ±0.15 °C
    assert r.budget["air_density"]["value"] == pytest.approx(1.18845, abs=0.002)
    assert r.budget["air_density"]["formula"] == "cipm2007"

    # every kept comparator value is the last reading stored for its step (the stable one)
    store = run.engine.store
    run_id = run.outcome.run_id
    for i, cycle in enumerate(r.budget["readings_g"], start=1):
        for label, kept in zip(LABELS, cycle, strict=True):
            stored = store.query(run_id=run_id, step=f"cycle-{i}-{label}#1")
            assert len(stored) >= 3, (i, label)  # at least the stability window
            assert stored[-1].value == kept and stored[-1].unit == "g"
        assert cycle[1] - cycle[0] == pytest.approx(TEST_MASS_G - REFERENCE_G, abs=4 * COMPARATOR_D_G)
    assert run.outcome.readings == store.count(run_id=run_id) >= 12 * 3 + 2 * 3

    with session_factory(run.registry)() as s:
        row = s.get(Run, run_id)
        assert row is not None and row.state is RunState.COMPLETED and row.overall is Conformity.PASS
        (stored_result,) = s.scalars(select(Result).where(Result.run_id == run_id)).all()
        assert stored_result.value == pytest.approx(r.value)
        assert stored_result.expanded_uncertainty == pytest.approx(r.U)
        assert stored_result.conformity is Conformity.PASS and stored_result.mpe == 1.0
        envs = s.scalars(select(EnvironmentRecord).where(EnvironmentRecord.run_id == run_id)).all()
        assert {(e.phase, e.quantity) for e in envs} == {
            (phase, q) for phase in ("env-start", "env-end") for q in ("temperature", "humidity", "pressure")
        }
        assert all(e.within_limits for e in envs)


def test_demo_weight_four_mg_heavy_fails(demo_run: Callable[..., DemoRun]) -> None:
    def heavy(demo: DemoScenario) -> None:
        assert isinstance(demo, WeightR111Demo)
        demo.test_mass_g = 200.004  # 4 mg heavy

    run = demo_run(PROCEDURE, prepare=heavy)
    assert run.outcome.state == "completed", run.outcome.message
    (r,) = run.outcome.results
    assert r.value == pytest.approx(4.0, abs=3 * COMPARATOR_D_G * 1000)
    # 4.0 + 0.103 > 1.0 mg (R111-1:2004 5.3.1); U itself is still fine (5.2)
    assert r.conformity == "fail" and "5.3.1" in r.note
    assert r.U is not None and U_FLOOR_MG * (1 - 1e-9) <= r.U <= U_CEILING_MG
    with session_factory(run.registry)() as s:
        row = s.get(Run, run.outcome.run_id)
        assert row is not None and row.overall is Conformity.FAIL
