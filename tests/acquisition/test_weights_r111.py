"""`weight-calibration-r111`: plan and evaluation by hand, and the demo end to end on the simulated comparator.

End to end (demo scenario, :mod:`lab.weights_r111`): the virtual operator puts the reference's certified
conventional mass (200.000 05 g) or the test weight's true conventional mass on the MT-SICS comparator (d = 0.01 mg,
noise 0.01 mg). Both weights have density 8000 kg/m³, so the buoyancy correction m_cr(ρ_a − ρ_0)(1/ρ_t − 1/ρ_r) is
zero and the expected conventional mass is the configured truth itself; the expected U follows from the budget
terms of R111-1:2004 C.6 worked out below; the MPE is R111-1:2004 Table 1 (F1 200 g: 1.0 mg, METROLOGY.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from acquisition.procedures.base import (
    CertificateRecord,
    InstrumentUnderTest,
    RunContext,
    StandardUsed,
    Step,
    StepData,
)
from acquisition.procedures.weights_r111 import WeightCalibrationR111
from lab.base import DemoScenario
from lab.weights_r111 import (
    CENTRING_DISTANCE_MM,
    COMPARATOR_D_G,
    COMPARATOR_ECCENTRICITY_D2_MM,
    COMPARATOR_ECCENTRICITY_G,
    COMPARATOR_REPEATABILITY_G,
    COMPARATOR_SENSITIVITY_U_REL,
    REFERENCE_G,
    REFERENCE_PREVIOUS_G,
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


SENSITIVITY_ROW = {"quantity": "sensitivity", "value": 1.0, "U_rel": 0.0002, "k": 2}
ECCENTRICITY_ROW = {"quantity": "eccentricity", "point": 100.0, "value": 0.0001, "unit": "g", "distance_mm": 40.0}
COMPARATOR_ROWS = ({"quantity": "resolution", "value": 0.01, "unit": "mg"}, SENSITIVITY_ROW, ECCENTRICITY_ROW)


def context(
    parameters: Mapping[str, Any] | None = None,
    *,
    reference: Sequence[Mapping[str, Any]] = (REFERENCE_ROW,),
    reference_class: str = "E2",
    history: Sequence[CertificateRecord] = (),
    comparator: Sequence[Mapping[str, Any]] = COMPARATOR_ROWS,
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

    ref = StandardUsed(
        "reference",
        "STD-reference",
        "reference weight",
        0.0,
        200.0,
        "g",
        reference_class,
        "CERT-reference",
        tuple(reference),
        calibrated_on=date(2026, 5, 4),
        history=tuple(history),
    )
    return RunContext(
        run_id="r1",
        parameters={**proc.definition.parameters, **(parameters or {})},
        instrument=InstrumentUnderTest(1, "Quả cân", "", "", "W-1", 200.0, 200.0, "g", None, "", weight_class),
        standards={
            "reference": ref,
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
        ({"comparator": (SENSITIVITY_ROW, ECCENTRICITY_ROW)}, "comparator_d_g"),
        ({"comparator": (*COMPARATOR_ROWS[:1], ECCENTRICITY_ROW)}, "its sensitivity is unknown"),
        ({"comparator": COMPARATOR_ROWS[:2]}, "no eccentricity data"),
        ({"comparator": (*COMPARATOR_ROWS[:2], {**ECCENTRICITY_ROW, "distance_mm": None})}, "distance_mm"),
        ({"comparator": (*COMPARATOR_ROWS[:2], {**ECCENTRICITY_ROW, "value": {"D": 1}})}, "needs numbers point"),
        ({"comparator": (*COMPARATOR_ROWS[:1], {**SENSITIVITY_ROW, "U_rel": "?"}, ECCENTRICITY_ROW)}, "U_rel"),
        ({"comparator": (*COMPARATOR_ROWS[:1], {**SENSITIVITY_ROW, "k": 0}, ECCENTRICITY_ROW)}, "k > 0"),
        ({"parameters": {"sensitivity_weight_g": 0.01}}, "sensitivity_weight_U_g, sensitivity_indication_g"),
        ({"parameters": {"weights_meet_magnetism_limits": False}}, "magnetism_u_g"),
        ({"reference_class": ""}, "give reference_drift_g"),
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
        SENSITIVITY_ROW,
        ECCENTRICITY_ROW,
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
    assert r.evidence["air_density"]["value"] == pytest.approx(1.124106, abs=1e-6)
    c_b = 200.00005 * (rho_a - 1.2) * (1 / 7950 - 1 / 8000)
    assert c_b == pytest.approx(-1.19330e-5, rel=1e-4)
    assert r.evidence["buoyancy_correction_g"] == pytest.approx(c_b, rel=1e-9)
    assert r.value == pytest.approx((200.00005 + 0.00059333333 + c_b - 200.0) * 1000, abs=1e-6)
    assert r.value == pytest.approx(0.631400, abs=1e-6)
    rows = {row["input"]: row for row in r.budget["rows"]}
    assert rows["dI"]["u"] == pytest.approx(6.6667e-6, rel=1e-4)
    assert rows["dI"]["dof"] == 2
    assert rows["resolution"]["u"] == pytest.approx(0.00001 / math.sqrt(6), rel=1e-9)  # triangular, half-width d
    assert r.evidence["environment"]["pressure"] == {"mean": 950.0, "u": 0.5, "n": 1}
    assert "Pressure 950 hPa from parameter pressure_hpa" in r.note
    assert (r.quantity, r.point, r.unit, r.mpe, r.conformity) == (
        "conventional mass deviation (m_c - m_0)",
        200.0,
        "mg",
        1.0,
        "pass",
    )


PREVIOUS = CertificateRecord(
    "CERT-REF-2024",
    date(2024, 5, 2),
    ({**REFERENCE_ROW, "value": 200.00002},),  # 0.03 mg lighter than in the certificate in force
)


def test_evaluate_full_r111_budget_with_balance_terms_and_drift_from_history() -> None:
    """F2 200 g against the E2 reference, every R111-1:2004 C.6 term worked by hand (mg unless stated):

    Readings (g), ABBA: ΔI = (B1 − A1 − A2 + B2)/2 = 0.00200, 0.00201, 0.00199; mean 0.00200 g; s = 0.01 mg;
    u_w = 0.01/√3 = 0.0057735, ν = 2 (C.6.1).
    Sensitivity weight (C.6.4.1): m_s = 10 mg, U(m_s) = 0.01 mg (k = 2) -> u = 0.005; ΔI_s = 10.02 mg, u = 0.01:
      S = 10.02/10 = 1.002, u_rel² = (0.005/10)² + (0.01/10.02)² = 2.5e-7 + 9.96012e-7 = 1.246012e-6,
      u_rel = 1.116249e-3; Δm = ΔI/S = 2.00/1.002 = 1.996008; u_s = 1.996008·1.116249e-3 = 0.0022280.
    Resolution d = 0.01 mg (C.6.4.2): u_d = (0.01/2)/√3·√2 = 0.0040825.
    Eccentricity (C.6.4.3): D = 0.1 mg at 100 g, scaled to 200 g: 0.2 mg; d2 = 40 mm, d1 = 4 mm:
      u_E = (4/40)·0.2/(2√3) = 0.0057735.
    Magnetism (C.6.4.4): 0, the weights meet the R111 limits (declared).
    Reference (C.6.2): U/k = 0.1/2 = 0.05; drift: certificates CERT-REF-2024 200.000 02 g and CERT-reference
      200.000 05 g -> |change| = 0.03 mg, rectangular: u_inst = 0.03/√3 = 0.017321.
    Buoyancy (C.6.3): ρ_t = ρ_r = 8000 kg/m³ so C_b = 0; ρ_a by R111 E.3-1 at 20 °C, 1013.25 hPa, 50 %:
      1.199294 kg/m³; u_b = m(ρ_a − ρ_0)·√(u²(ρ_t) + u²(ρ_r))/ρ² (ρ_al = ρ_0) = 200e3·0.000706·√(70² + 5²)/8000²
      = 0.000155 mg (computed below).
    u_c² = 0.05² + 0.017321² + 0.0057735² + u_b² + 0.0022280² + 0.0040825² + 0.0057735²
         = 0.0025 + 0.0003 + 3.3333e-5 + 2.4e-8 + 4.9642e-6 + 1.6667e-5 + 3.3333e-5 = 0.0028883 -> u_c = 0.053743,
    U = 2·u_c = 0.10749 mg. m_ct = 200.00005 g + 1.996008 mg -> m_c − m_0 = 2.046008 mg.
    F2 200 g: δm = 3.0 mg; 2.046 + 0.107 <= 3.0 and 0.107 <= 1.0 -> pass.
    """
    proc = WeightCalibrationR111()
    ctx = context(
        {
            "air_density_formula": "r111",
            "test_density_kg_m3": 8000.0,
            "test_density_U_kg_m3": 140.0,
            "sensitivity_weight_g": 0.010,
            "sensitivity_weight_U_g": 0.00001,
            "sensitivity_indication_g": 0.01002,
            "sensitivity_indication_u_g": 0.00001,
            "centring_distance_mm": 4.0,
        },
        history=(PREVIOUS,),
        weight_class="F2",
    )
    cycles = [
        [200.00005, 200.00205, 200.00206, 200.00006],
        [200.00004, 200.00206, 200.00205, 200.00005],
        [200.00005, 200.00203, 200.00205, 200.00005],
    ]
    env = {"temperature": 20.0, "humidity": 50.0, "pressure": 1013.25}
    (r,) = proc.evaluate(ctx, _data(proc.plan(ctx), cycles, env))

    rho_a = (0.34848 * 1013.25 - 0.009 * 50 * math.exp(0.061 * 20)) / 293.15
    assert rho_a == pytest.approx(1.199294, abs=1e-6)
    mg = 1e-3  # g per mg
    u_w = 0.01 / math.sqrt(3)
    sens = 10.02 / 10.0
    u_rel = math.sqrt((0.005 / 10) ** 2 + (0.01 / 10.02) ** 2)
    assert u_rel == pytest.approx(1.116249e-3, rel=1e-6)
    dm = 2.00 / sens
    u_s = dm * u_rel
    u_d = 0.01 / 2 / math.sqrt(3) * math.sqrt(2)
    u_e = 4 / 40 * 0.2 / (2 * math.sqrt(3))
    u_ref = 0.1 / 2
    u_inst = 0.03 / math.sqrt(3)
    u_b = 200e3 * (1.2 - rho_a) * math.hypot(70.0, 5.0) / 8000.0**2  # mg
    assert u_b == pytest.approx(0.000155, abs=2e-6)
    u_c = math.sqrt(u_w**2 + u_s**2 + u_d**2 + u_e**2 + u_ref**2 + u_inst**2 + u_b**2)
    assert u_c == pytest.approx(0.053743, abs=1e-6)

    assert r.value == pytest.approx(0.05 + dm, abs=1e-6)
    assert r.value == pytest.approx(2.046008, abs=1e-6)
    assert r.U is not None and r.U / (2 * u_c) == pytest.approx(1.0, rel=1e-6)
    assert (r.mpe, r.conformity, r.k) == (3.0, "pass", 2.0)

    b = r.budget
    # the one budget shape, with the keys readers use kept
    assert {"model", "unit", "rows", "u", "dof", "k", "coverage_probability", "U"} <= set(b)
    assert b["unit"] == "g" and b["U"] == pytest.approx(2 * u_c * mg, rel=1e-6) and b["k"] == 2.0
    assert r.evidence["conventional_mass_g"] == pytest.approx(200.00005 + dm * mg, abs=1e-10)
    assert r.evidence["cycles"] == 3 and r.evidence["air_density_kg_m3"] == pytest.approx(rho_a, abs=1e-9)
    rows = {row["input"]: row for row in b["rows"]}
    expected = {
        "dI": u_w,
        "sensitivity": u_s,
        "resolution": u_d,
        "eccentricity": u_e,
        "magnetism": 0.0,
        "m_cr": u_ref,
        "drift_r": u_inst,
        "buoyancy": u_b,
    }
    assert set(rows) == set(expected)
    for name, u in expected.items():
        assert rows[name]["u"] == pytest.approx(u * mg, rel=1e-4, abs=1e-12), name
    assert rows["dI"]["dof"] == 2
    for name, clause in [
        ("dI", "C.6.1"),
        ("m_cr", "C.6.2"),
        ("drift_r", "C.6.2"),
        ("buoyancy", "C.6.3"),
        ("sensitivity", "C.6.4.1"),
        ("resolution", "C.6.4.2"),
        ("eccentricity", "C.6.4.3"),
        ("magnetism", "C.6.4.4"),
    ]:
        assert clause in rows[name]["source"], name
    drift = rows["drift_r"]["source"]
    assert "CERT-REF-2024" in drift and "CERT-reference" in drift and "rectangular" in drift
    assert rows["drift_r"]["distribution"] == "rectangular"
    assert "magnetism limits" in rows["magnetism"]["note"]
    assert "unverified" in rows["eccentricity"]["source"]
    assert "d1 = 4 mm" in rows["eccentricity"]["source"] and "scaled to 200 g" in rows["eccentricity"]["source"]


@pytest.mark.parametrize(
    ("kwargs", "half_width_g", "source"),
    [
        # with history: |200.000 05 − 200.000 02| g = 0.03 mg
        ({"history": (PREVIOUS,)}, 0.00003, "between certificates CERT-REF-2024"),
        # an explicit parameter overrides the history
        ({"history": (PREVIOUS,), "parameters": {"reference_drift_g": 0.00001}}, 0.00001, "reference_drift_g"),
        # no earlier certificate: E2 200 g MPE 0.3 mg (R111 Table 1) / 3 = 0.1 mg
        ({}, 0.0001, "one third of its class E2 MPE 0.3 mg"),
        # an earlier certificate that does not certify 200 g is no history for it: the class bound again
        (
            {"history": (CertificateRecord("OLD", date(2024, 1, 1), ({**REFERENCE_ROW, "point": 100.0},)),)},
            0.0001,
            "E2",
        ),
    ],
)
def test_reference_drift_sources(kwargs: dict[str, Any], half_width_g: float, source: str) -> None:
    proc = WeightCalibrationR111()
    ctx = context(**kwargs)
    cycles = [[200.0, 200.0006, 200.0006, 200.0], [200.0, 200.0006, 200.0006, 200.0]]
    (r,) = proc.evaluate(
        ctx, _data(proc.plan(ctx), [*cycles, cycles[0]], {"temperature": 20.0, "humidity": 50.0, "pressure": 1000.0})
    )
    row = next(row for row in r.budget["rows"] if row["input"] == "drift_r")
    assert row["u"] == pytest.approx(half_width_g / math.sqrt(3), rel=1e-6)
    assert source in row["source"]


def test_certified_sensitivity_and_zero_terms_say_why() -> None:
    """Certificate sensitivity S = 1, U_rel = 2e-4 (k = 2) -> u_rel = 1e-4; ΔI = 0.6 mg -> u_s = 6e-5 mg.
    eccentricity_u_g = 0 and reference_drift_g = 0 given: their rows are zero with the reason."""
    proc = WeightCalibrationR111()
    ctx = context({"eccentricity_u_g": 0.0, "reference_drift_g": 0.0})
    cycles = [[200.0, 200.0006, 200.0006, 200.0]] * 3
    (r,) = proc.evaluate(
        ctx, _data(proc.plan(ctx), cycles, {"temperature": 20.0, "humidity": 50.0, "pressure": 1000.0})
    )
    rows = {row["input"]: row for row in r.budget["rows"]}
    assert rows["sensitivity"]["u"] == pytest.approx(0.0006 * 1e-4, rel=1e-6)
    assert "U_rel = 0.0002" in rows["sensitivity"]["source"]
    assert rows["eccentricity"]["u"] == 0.0 and "eccentricity_u_g = 0" in rows["eccentricity"]["note"]
    assert rows["drift_r"]["u"] == 0.0 and "reference_drift_g = 0" in rows["drift_r"]["note"]
    # the three equal cycle differences give s = 0: its row says so
    assert rows["dI"]["u"] == 0.0 and "equal" in rows["dI"]["note"]
    assert all(row["u"] > 0 or row.get("note") for row in r.budget["rows"])


# ---------------------------------------------------------------------------------------------- end to end

# R111-1:2004 C.6 budget floor for the demo (mg), worked by hand:
#   reference U/k = 0.1/2 = 0.05 (C.6.2);
#   its drift u_inst: previous certificate 200.000 03 g, in force 200.000 05 g -> |change| = 0.02 mg, the half-width of
#     a rectangular: 0.02/√3 = 0.011547 (C.6.2);
#   comparator resolution d = 0.01 mg: (d/2)/√3·√2 = d/√6 = 0.0040825 (C.6.4.2);
#   certified repeatability s = 0.02 mg over n = 3 cycles: s/√3 = 0.011547 (C.6.1);
#   eccentricity D = 0.05 mg at 200 g, d2 = 30 mm, d1 = 3 mm: (3/30)·0.05/(2√3) = 0.0014434 (C.6.4.3);
#   magnetism 0 (weights meet the R111 limits, C.6.4.4).
# u² = 0.0025 + 0.00013333 + 0.000016667 + 0.00013333 + 0.0000020833 = 0.0027854 mg², u = 0.052777 mg,
# U = 2u = 0.105554 mg.
# On top, in quadrature: the sensitivity u_s = |Δm|·u_rel(S) with u_rel = 0.0002/2 = 1e-4 and |Δm| <= 4.1 mg
# (the heavy case below): <= 0.00041 mg; the buoyancy term at most m(ρ_a − ρ_0)u(ρ)/ρ² for the test (u = 70) and
# the reference (u = 15) densities: with |ρ_a − ρ_0| <= 0.03 kg/m³ that is 200·0.03·70/8000² = 0.0066 mg and
# 0.0014 mg (the ρ_a term vanishes: equal densities).
U_FLOOR_MG = 2 * math.sqrt(
    (REFERENCE_U_G / 2 * 1000) ** 2
    + ((REFERENCE_G - REFERENCE_PREVIOUS_G) * 1000 / math.sqrt(3)) ** 2
    + (COMPARATOR_D_G * 1000 / math.sqrt(6)) ** 2
    + (COMPARATOR_REPEATABILITY_G * 1000 / math.sqrt(3)) ** 2
    + (CENTRING_DISTANCE_MM / COMPARATOR_ECCENTRICITY_D2_MM * COMPARATOR_ECCENTRICITY_G * 1000 / (2 * math.sqrt(3)))
    ** 2
)
U_CEILING_MG = 2 * math.sqrt(
    (U_FLOOR_MG / 2) ** 2 + 0.0066**2 + 0.0014**2 + (4.1 * COMPARATOR_SENSITIVITY_U_REL / 2) ** 2
)


def test_demo_weight_conforms_to_f1(demo_run: Callable[..., DemoRun]) -> None:
    run = demo_run(PROCEDURE)
    assert run.outcome.state == "completed", run.outcome.message
    (r,) = run.outcome.results
    assert (r.quantity, r.point, r.point_unit, r.unit) == ("conventional mass deviation (m_c - m_0)", 200.0, "g", "mg")
    # no buoyancy correction (equal densities): m_c = m_cr + (true test − true reference) = the configured truth
    expected_mg = (REFERENCE_G + (TEST_MASS_G - REFERENCE_G) - 200.0) * 1000  # 0.60 mg
    assert expected_mg == pytest.approx(0.60, abs=1e-9)
    assert r.value == pytest.approx(expected_mg, abs=3 * COMPARATOR_D_G * 1000)  # within 3 d
    assert r.evidence["buoyancy_correction_g"] == pytest.approx(0.0, abs=1e-12)
    rows = {row["input"]: row for row in r.budget["rows"]}
    assert set(rows) == {"m_cr", "drift_r", "dI", "buoyancy", "sensitivity", "resolution", "eccentricity", "magnetism"}
    # drift from the demo reference's two certificates: |200.000 05 − 200.000 03| g = 0.02 mg half-width, both named
    assert rows["drift_r"]["u"] == pytest.approx(0.00002 / math.sqrt(3), rel=1e-6)
    assert rows["drift_r"]["source"].count("DEMO-DEMO-W-E2-200-") == 2 and "-PREV" in rows["drift_r"]["source"]
    assert rows["magnetism"]["u"] == 0.0 and "magnetism limits" in rows["magnetism"]["note"]
    assert rows["eccentricity"]["u"] == pytest.approx(0.1 * 0.00005 / (2 * math.sqrt(3)), rel=1e-9)
    assert round(U_FLOOR_MG, 6) == 0.105554
    assert r.U is not None and U_FLOOR_MG * (1 - 1e-9) <= r.U <= U_CEILING_MG
    assert r.k == 2.0
    # F1 200 g: δm = 1.0 mg; 0.60 + 0.106 <= 1.0 and 0.106 <= 0.333 -> pass
    assert (r.mpe, r.conformity) == (1.0, "pass")
    # air density at the simulated lab (21 °C, 52 %RH, 1008 hPa), R111 E.3-1 by hand:
    # (0.34848·1008 − 0.009·52·exp(0.061·21))/294.15 = 1.18845 kg/m³; the simulated room drifts ±0.15 °C
    assert r.evidence["air_density"]["value"] == pytest.approx(1.18845, abs=0.002)
    assert r.evidence["air_density"]["formula"] == "cipm2007"

    # every kept comparator value is the last reading stored for its step (the stable one)
    store = run.engine.store
    run_id = run.outcome.run_id
    for i, cycle in enumerate(r.evidence["readings_g"], start=1):
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
    # 4.0 + 0.106 > 1.0 mg (R111-1:2004 5.3.1); U itself is still fine (5.2)
    assert r.conformity == "fail" and "5.3.1" in r.note
    assert r.U is not None and U_FLOOR_MG * (1 - 1e-9) <= r.U <= U_CEILING_MG
    with session_factory(run.registry)() as s:
        row = s.get(Run, run.outcome.run_id)
        assert row is not None and row.overall is Conformity.FAIL
