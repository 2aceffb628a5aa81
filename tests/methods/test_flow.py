"""Water meters (OIML R49 / ISO 4064) and flow-meter error curves: acquisition.methods.flow.

No worked example of R49-2/ISO 4064-2 was available in the stored copies, so the numeric cases are hand
calculations written out in the comments (units: m³/h, L, %).
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from acquisition.methods import PointResult
from acquisition.methods.flow import (
    R49_MPE,
    MasterCurvePoint,
    MasterRun,
    allowed_flow_range,
    flow_meter_error_curve,
    flow_rates,
    gravimetric_volume,
    master_error_at,
    mpe_percent,
    water_density,
    water_expansion,
    water_meter_point,
    water_meter_verification,
    zone,
)

# DN15 meter, Q3 = 2.5 m³/h, R = 160: Q1 = 2.5/160 = 0.015625, Q2 = 1.6 Q1 = 0.025, Q4 = 1.25 Q3 = 3.125 m³/h.
RATES = flow_rates(2.5, 160)


def test_flow_rates_from_q3_and_r() -> None:
    """OIML R49-1:2013 4.1: Q4 = 1.25 Q3, Q2 = 1.6 Q1, R = Q3/Q1 (hand calculation above)."""
    assert RATES.q1 == pytest.approx(0.015625, rel=1e-12)
    assert RATES.q2 == pytest.approx(0.025, rel=1e-12)
    assert RATES.q4 == pytest.approx(3.125, rel=1e-12)
    assert RATES.nominal("q3") == 2.5


@pytest.mark.parametrize(
    ("cls", "q", "t", "mpe"),
    [
        (2, 0.025, 20.0, 2.0),  # exactly Q2: upper zone
        (2, 0.0249, 20.0, 5.0),  # just below Q2: lower zone
        (2, 0.015625, 20.0, 5.0),  # exactly Q1
        (2, 3.125, 20.0, 2.0),  # exactly Q4
        (2, 2.5, 30.0, 2.0),  # 30 °C is still the <= 30 °C row
        (2, 2.5, 30.1, 3.0),  # above 30 °C
        (2, 0.02, 50.0, 5.0),  # lower zone does not depend on temperature
        (1, 2.5, 20.0, 1.0),
        (1, 2.5, 30.1, 2.0),
        (1, 0.02, 20.0, 3.0),
    ],
)
def test_mpe_table_boundaries(cls: int, q: float, t: float, mpe: float) -> None:
    """OIML R49-1:2013 4.2 as summarised in METROLOGY.md: class 2 ±2/±3 %/±5 %, class 1 ±1/±2 %/±3 %."""
    assert mpe_percent(cls, RATES, q, t) == mpe


def test_mpe_outside_rated_range_and_bad_class() -> None:
    with pytest.raises(ValueError, match="outside the meter's rated range"):
        zone(RATES, 3.2)
    with pytest.raises(ValueError, match="outside the meter's rated range"):
        mpe_percent(2, RATES, 0.015, 20.0)
    with pytest.raises(ValueError, match="accuracy class must be 1 or 2"):
        mpe_percent(3, RATES, 2.5, 20.0)
    assert "R49-1:2013" in R49_MPE.edition


def test_allowed_test_flow() -> None:
    """Q1 and Q2 tested between 1.0 and 1.1 times the rate, Q3 between 0.9 and 1.0 times."""
    assert allowed_flow_range(RATES, "Q3") == pytest.approx((2.25, 2.5))
    assert allowed_flow_range(RATES, "Q1") == pytest.approx((0.015625, 0.0171875))
    with pytest.raises(ValueError, match="unknown test point"):
        allowed_flow_range(RATES, "Q5")


RUNS_Q3 = [MasterRun(0.0, 100.5, 0.0, 100.2), MasterRun(0.0, 100.4, 0.0, 100.2), MasterRun(0.0, 100.6, 0.0, 100.2)]


def _q3_point(**kw: object) -> PointResult:
    args: dict[str, object] = {
        "flow_rate": 2.45,
        "meter_resolution": 0.05,
        "master_resolution": 0.01,
        "master_error": 0.2,
        "master_U": 0.1,
        "master_k": 2.0,
        "rates": RATES,
        "nominal": "Q3",
        "accuracy_class": 2,
    }
    args.update(kw)
    return water_meter_point(RUNS_Q3, **args)  # type: ignore[arg-type]


def test_worked_example_at_q3_against_master_meter() -> None:
    """Hand calculation (no R49-2 worked example available).

    Master certificate at Q3: e = +0.20 %, U = 0.10 % (k = 2). Three runs of the master register 100.20 L each:
    V_ref = 100.20/1.002 = 100.00 L. Meter registers 100.50, 100.40, 100.60 L -> E_i = 0.5, 0.4, 0.6 %.
    mean E = 0.5 %, s = 0.1 %, u_rep = 0.1/√3 = 0.057735 % (ν = 2).
    Meter register d = 0.05 L: each reading ±0.025 L rectangular, u = 0.014434 L, c = 100/V_ref = 1 %/L (two).
    Master register d = 0.01 L: u = 0.0028868 L, c = 100·100.5/(100.2·100) = 1.002994 %/L (two).
    Master error: u = 0.05 %, c = (100 + 0.5)/(100 + 0.2) = 1.002994.
    u_c² = 0.057735² + 2·0.014434² + 2·(0.0028868·1.002994)² + (0.05·1.002994)² = 0.0062818 -> u_c = 0.079258 %.
    ν_eff = u_c⁴/(0.057735⁴/2) = 7.10 -> 7; k = t_0.975(7) = 2.3646; U = 0.18741 %. MPE (class 2, Q3, 20 °C) 2 %.
    """
    p = _q3_point()
    u_rep = 0.1 / math.sqrt(3)
    u_m = 0.025 / math.sqrt(3)
    c_r = 100 * 100.5 / (100.2 * 100.0)
    u_r = 0.005 / math.sqrt(3) * c_r
    u_e = 0.05 * 100.5 / 100.2
    u_c = math.sqrt(u_rep**2 + 2 * u_m**2 + 2 * u_r**2 + u_e**2)
    assert u_c == pytest.approx(0.079258, abs=2e-6)
    assert p.value == pytest.approx(0.5, abs=1e-12)
    assert p.budget["u"] == pytest.approx(u_c, rel=1e-9)
    assert p.budget["dof"] == pytest.approx(u_c**4 / (u_rep**4 / 2), rel=1e-9)
    assert p.k == pytest.approx(stats.t.ppf(0.975, 7), rel=1e-9)
    expanded = p.U
    assert expanded == pytest.approx(0.18741, abs=1e-5)
    assert p.mpe == 2.0
    assert p.conformity == "pass"
    assert "simple acceptance" in p.rule
    assert "R49-1:2013 4.2" in p.reference
    assert p.point == 2.45 and p.point_unit == "m³/h" and p.unit == "%"
    rows = {r["input"]: r for r in p.budget["rows"]}
    assert set(rows) == {"E_bar", "dE_T", "dm_start", "dm_stop", "dr_start", "dr_stop", "de_master", "de_drift"}
    # the one budget shape (methods.base.budget_json): every row says where it comes from and in which unit
    assert all(r["source"] for r in rows.values())
    assert rows["dm_start"]["unit"] == rows["dr_stop"]["unit"] == "L" and rows["de_master"]["unit"] == "%"
    assert rows["dm_start"]["u"] == pytest.approx(u_m, rel=1e-9)  # in L; c = 1 %/L turns it into %
    assert rows["de_master"]["contribution"] == pytest.approx(-u_e, rel=1e-9)  # E falls as the master's error rises
    assert p.budget["U"] == pytest.approx(p.budget["k"] * u_c, rel=1e-9)
    # terms left at zero say why
    for name in ("dE_T", "de_drift"):
        assert rows[name]["u"] == 0.0 and rows[name]["note"].startswith("zero:")
    assert "note" not in rows["E_bar"] and "note" not in rows["de_master"]  # three runs, a certified master


def _shifted(error_percent: float) -> list[MasterRun]:
    """Runs whose mean error is ``error_percent`` against a master with no error (V_ref = 100 L)."""
    return [MasterRun(0.0, 100.0 + error_percent + dv, 0.0, 100.0) for dv in (-0.01, 0.0, 0.01)]


@pytest.mark.parametrize(("error", "simple", "guarded"), [(1.95, "pass", "fail"), (2.05, "fail", "fail")])
def test_decision_both_sides_of_the_mpe(error: float, simple: str, guarded: str) -> None:
    """E = 1.95 % is inside ±2 % (simple: pass) but within U of the limit (guarded: fail); 2.05 % fails both."""
    common = {"flow_rate": 2.4, "meter_resolution": 0.01, "master_resolution": 0.01, "master_U": 0.1}
    p = water_meter_point(_shifted(error), rates=RATES, accuracy_class=2, **common)  # type: ignore[arg-type]
    assert p.value == pytest.approx(error, abs=1e-9)
    assert p.conformity == simple
    g = water_meter_point(_shifted(error), rates=RATES, accuracy_class=2, rule="guarded", **common)  # type: ignore[arg-type]
    assert g.conformity == guarded
    assert "guarded acceptance" in g.rule


def test_negative_limit_and_lower_zone() -> None:
    """At Q1 (lower zone) the class 2 limit is ±5 %: −4.9 % passes, −5.1 % fails."""
    common = {"flow_rate": 0.016, "meter_resolution": 0.001, "master_resolution": 0.001, "rates": RATES}
    ok = water_meter_point(_shifted(-4.9), accuracy_class=2, nominal="Q1", **common)  # type: ignore[arg-type]
    bad = water_meter_point(_shifted(-5.1), accuracy_class=2, nominal="Q1", **common)  # type: ignore[arg-type]
    assert (ok.mpe, ok.conformity) == (5.0, "pass")
    assert (bad.mpe, bad.conformity) == (5.0, "fail")


def test_flow_outside_the_allowed_test_range_is_refused() -> None:
    with pytest.raises(ValueError, match="adjust the valve"):
        _q3_point(flow_rate=2.6)
    with pytest.raises(ValueError, match="adjust the valve"):
        _q3_point(flow_rate=2.2)
    assert _q3_point(flow_rate=2.25).conformity == "pass"


def test_verification_needs_every_point_to_pass() -> None:
    good = _q3_point()
    common = {"flow_rate": 2.4, "meter_resolution": 0.01, "master_resolution": 0.01, "master_U": 0.1}
    bad = water_meter_point(_shifted(2.5), rates=RATES, accuracy_class=2, **common)  # type: ignore[arg-type]
    assert water_meter_verification([good, good]).conformity == "pass"
    assert water_meter_verification([good, bad]).conformity == "fail"
    with pytest.raises(ValueError, match="no test points"):
        water_meter_verification([])
    unjudged = _q3_point(accuracy_class=None, nominal=None)
    assert unjudged.conformity == "notAssessed" and unjudged.mpe is None
    with pytest.raises(ValueError, match="needs a conformity"):
        water_meter_verification([unjudged])


def test_single_run_has_no_repeatability_and_says_so() -> None:
    p = water_meter_point(
        [MasterRun(10.0, 110.0, 5.0, 105.0)], flow_rate=2.0, meter_resolution=0.05, master_resolution=0.01
    )
    # E = 0; u² = 2 (0.025/√3)² + 2 (0.005/√3)² -> u = 0.020817 %, ν = ∞, k = 1.96
    assert p.value == pytest.approx(0.0, abs=1e-12)
    assert p.budget["u"] == pytest.approx(math.sqrt(2 * (0.025**2 + 0.005**2) / 3), rel=1e-9)
    assert p.k == pytest.approx(1.959964, rel=1e-6)
    assert "one run only" in p.note
    rows = {r["input"]: r for r in p.budget["rows"]}
    assert rows["E_bar"]["u"] == 0.0 and "one run only" in rows["E_bar"]["note"]
    assert "U = 0" in rows["de_master"]["note"]  # no master U given: the row says to check the certificate


def test_master_curve_interpolation() -> None:
    curve = [MasterCurvePoint(3.0, 0.3, 0.2), MasterCurvePoint(1.0, 0.1, 0.1)]
    e, U, k = master_error_at(curve, 2.0)  # halfway: 0.2 %; the larger U (0.2 %) of the neighbours
    assert e == pytest.approx(0.2)
    assert (U, k) == (0.2, 2.0)
    assert master_error_at(curve, 1.0)[0] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="outside the master meter's certified range"):
        master_error_at(curve, 3.5)
    with pytest.raises(ValueError, match="empty"):
        master_error_at([], 1.0)


def test_water_density_tanaka() -> None:
    """Tanaka et al., Metrologia 38 (2001) 301, Table: 998.2067 kg/m³ at 20 °C, 997.0470 at 25 °C,
    maximum 999.9750 near 4 °C."""
    assert water_density(20.0) == pytest.approx(998.2067, abs=1e-4)
    assert water_density(25.0) == pytest.approx(997.0470, abs=2e-4)
    assert water_density(4.0) == pytest.approx(999.9750, abs=1e-4)
    with pytest.raises(ValueError, match="0..40 °C"):
        water_density(45.0)


def test_gravimetric_volume_with_buoyancy() -> None:
    """99.8 kg net at 20 °C, air 1.2 kg/m³, weights 8000 kg/m³ (hand calculation):
    1.2/8000 = 0.00015; 1.2/998.2067 = 0.00120216; m = 99.8·0.99985/0.99879784 = 99.905126 kg;
    V = 1000·99.905126/998.2067 = 100.08461 L."""
    assert gravimetric_volume(99.8, 20.0) == pytest.approx(100.08461, abs=2e-5)
    with pytest.raises(ValueError, match="net balance indication"):
        gravimetric_volume(-1.0, 20.0)


def _pt(q: float, e: float, U: float = 0.2) -> PointResult:
    return PointResult("relative error of indication", q, "m³/h", e, "%", U=U, k=2.0)


def test_error_curve_line_and_polynomial() -> None:
    """Points exactly on E = 0.1 + 0.2 Q fit to a = 0.1, b = 0.2 (χ² = 0); on E = 1 − 0.5 Q + 0.1 Q² the
    quadratic fit predicts E(2.5) = 1 − 1.25 + 0.625 = 0.375 %."""
    line = flow_meter_error_curve([_pt(q, 0.1 + 0.2 * q) for q in (3.0, 1.0, 2.0)], degree=1)
    assert line.coefficients == pytest.approx((0.1, 0.2), abs=1e-12)
    assert line.predict(2.0)[0] == pytest.approx(0.5, abs=1e-12)
    assert line.chi2 == pytest.approx(0.0, abs=1e-18)
    assert [p.point for p in line.points] == [1.0, 2.0, 3.0]
    quad = flow_meter_error_curve([_pt(q, 1 - 0.5 * q + 0.1 * q * q) for q in (0.5, 1.0, 2.0, 3.0)], degree=2)
    y, u = quad.predict(2.5)
    assert y == pytest.approx(0.375, abs=1e-10)
    assert u > 0
    plain = flow_meter_error_curve([_pt(1.0, 0.1)])
    assert plain.degree is None
    with pytest.raises(ValueError, match="no curve was fitted"):
        plain.predict(1.0)
    with pytest.raises(ValueError, match="needs at least 3 flow rates"):
        flow_meter_error_curve([_pt(1.0, 0.1), _pt(2.0, 0.2)], degree=1)
    with pytest.raises(ValueError, match="no U > 0"):
        flow_meter_error_curve([_pt(1.0, 0.1), _pt(2.0, 0.2), _pt(3.0, 0.3, U=0.0)], degree=1)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one run"):
        water_meter_point([], flow_rate=1.0, meter_resolution=0.1, master_resolution=0.1)
    with pytest.raises(ValueError, match="meter resolution"):
        water_meter_point(RUNS_Q3, flow_rate=1.0, meter_resolution=0.0, master_resolution=0.1)
    with pytest.raises(ValueError, match="stop reading must exceed start"):
        water_meter_point(
            [MasterRun(100.0, 0.0, 0.0, 100.0)], flow_rate=1.0, meter_resolution=0.1, master_resolution=0.1
        )
    with pytest.raises(ValueError, match="needs the meter's rates"):
        water_meter_point(RUNS_Q3, flow_rate=1.0, meter_resolution=0.1, master_resolution=0.1, accuracy_class=2)
    with pytest.raises(ValueError, match="rule must be"):
        _q3_point(rule="non-binary")
    with pytest.raises(ValueError, match="R = Q3/Q1 must be > 1.6"):
        flow_rates(2.5, 1.5)
    with pytest.raises(ValueError, match="Q3"):
        flow_rates(float("nan"), 100)


def test_temperature_difference_and_master_drift_enter_u() -> None:
    """The Q3 point of the worked example with ΔT ≤ 0.5 K between the meters at 20 °C and a master that drifted
    0.03 % since its previous certificate (both rectangular). β of water at 20 °C = 2.07·10⁻⁴ /K (handbook value):
    δE_T half-width 100 · 2.07e-4 · 0.5 = 0.01035 %, u = 0.005976 %; drift u = 0.03/√3 = 0.017321 %, sensitivity
    c_e = 100.5/100.2 as for the certificate's error. u_c² = 0.0062818 + 0.005976² + (0.017321·1.002994)²
    = 0.0062818 + 3.5712e-5 + 3.0183e-4 = 0.0066193 -> u_c = 0.081359 %."""
    p = _q3_point(temperature_difference=0.5, master_drift=0.03, drift_source="change between C-1 and C-2")
    rows = {r["input"]: r for r in p.budget["rows"]}
    assert rows["dE_T"]["u"] == pytest.approx(0.01035 / math.sqrt(3), rel=2e-3)
    assert rows["de_drift"]["u"] == pytest.approx(0.03 / math.sqrt(3), rel=1e-12)
    assert "C-1 and C-2" in rows["de_drift"]["source"] and "0.5 K" in rows["dE_T"]["source"]
    assert p.budget["u"] == pytest.approx(0.081359, rel=1e-3)
    assert water_expansion(20.0) == pytest.approx(2.07e-4, rel=3e-3)
