"""Balances: EURAMET cg-18 v4.0 calibration and OIML R76-1:2006 verification (acquisition.methods.nawi).

The printed worked examples of cg-18 v4.0 (Appendix H) could not be retrieved through the project's search tools,
so the calibration tests use a hand-calculated case for a 220 g / d = 0.1 mg balance, written out below; the
t-quantiles are taken from scipy directly (independently of the uncertainty engine). All masses in g.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from acquisition.methods.nawi import (
    R76_MPE_INITIAL,
    AirBuoyancy,
    Balance,
    LoadPoint,
    ReferenceWeight,
    UncertaintyLine,
    WeighingPoint,
    adjustment_term,
    changeover_error,
    discrimination_changeover_test,
    discrimination_test,
    eccentricity,
    eccentricity_test,
    errors_of_indication,
    minimum_weight,
    r76_mpe,
    repeatability,
    repeatability_test,
    uncertainty_line,
    verdict,
    weighing_test,
)

# ----------------------------------------------------------------------------- the hand-calculated cg-18 case
# Balance Max = 220 g, d = 0.1 mg = 0.0001 g.
# Repeatability at 100 g: 100.0001, 100.0000, 100.0001, 100.0002, 100.0001 -> mean 100.0001,
#   deviations 0, -1e-4, 0, +1e-4, 0 -> sum of squares 2e-8, s^2 = 2e-8/4 = 5e-9, s = 7.0711e-5 g, nu = 4.
# Eccentricity at 100 g: centre 100.0000, off-centre 100.0002, 99.9997, 100.0001, 100.0003
#   -> differences +2e-4, -3e-4, +1e-4, +3e-4 -> |dI|max = 3e-4 g.
# Weights: 100 g E2 certificate +0.02 mg, U = 0.05 mg (k = 2); 50 g E2 -0.01 mg, U = 0.03 mg (k = 2);
#          200 g F1 by class (MPE 1.0 mg); 20 g F1 by class (MPE 0.25 mg).
# Unless a test says otherwise the air density is "measured" as exactly ρ_0 = 1.2 kg/m³ with no uncertainty and the
# instrument adjusted before the calibration, so that the buoyancy terms are zero and the other terms show; the
# buoyancy cases have tests of their own below.
BAL = Balance(220.0, 0.0001)
REP = [100.0001, 100.0000, 100.0001, 100.0002, 100.0001]
W100 = ReferenceWeight(100.0, 0.00002, U=0.00005, k=2.0, class_mpe=0.00016)
W50 = ReferenceWeight(50.0, -0.00001, U=0.00003, k=2.0, class_mpe=0.0001)
W200 = ReferenceWeight(200.0, mpe=0.001)
W20 = ReferenceWeight(20.0, mpe=0.00025)
POINTS = [
    LoadPoint((W50,), 50.0000),
    LoadPoint((W100,), 100.0001),
    LoadPoint((W100, W50), 150.0002),
    LoadPoint((W200,), 200.0003),
    LoadPoint((W200, W20), 220.0003),
    LoadPoint((W100,), 100.0002, direction="down"),
]
EXACT = AirBuoyancy(1.2, 0.0, adjusted=True)
ECC = eccentricity(100.0, 100.0000, [100.0002, 99.9997, 100.0001, 100.0003])
NO_ECC = eccentricity(100.0, 100.0, [100.0, 100.0, 100.0, 100.0])


def _calibrate(**kw: object) -> list:  # type: ignore[type-arg]
    rep = repeatability(100.0, REP)
    kw.setdefault("air", EXACT)
    return errors_of_indication(BAL, POINTS, rep, ECC, **kw)  # type: ignore[arg-type]


def test_repeatability_standard_deviation() -> None:
    """s from 5 readings, divisor n - 1 (cg-18 v4.0 6.1): hand value 7.0711e-5 g (above)."""
    r = repeatability(100.0, REP)
    assert r.n == 5
    assert r.mean == pytest.approx(100.0001, abs=1e-12)
    assert r.s == pytest.approx(math.sqrt(5e-9), rel=1e-9)
    assert r.as_result().value == pytest.approx(7.0711e-5, rel=1e-4)


def test_repeatability_needs_enough_readings() -> None:
    """cg-18 v4.0 5.1: at least 5 indications, or 3 at 100 kg and above."""
    with pytest.raises(ValueError, match="at least 5"):
        repeatability(100.0, [100.0, 100.0001, 100.0])
    assert repeatability(100_000.0, [100_000.0, 100_010.0, 100_000.0]).n == 3
    with pytest.raises(ValueError, match="must be a finite number"):
        repeatability(100.0, [100.0, math.nan, 100.0, 100.0, 100.0])


def test_eccentricity_methods() -> None:
    """Differences to one centre (methods 1/2), to each own centre (method 4), net of zeros (method 3)."""
    e1 = eccentricity(100.0, 100.0, [100.0002, 99.9997, 100.0001, 100.0003])
    assert e1.max_abs == pytest.approx(3e-4, abs=1e-12)
    # u_rel = 3e-4 / (2 * 100 * sqrt 3) = 3e-4 / 346.4102 = 8.6603e-7
    assert e1.u_relative() == pytest.approx(8.6603e-7, rel=1e-4)
    # method 4: centres drift 100.0000 -> 100.0003; off-centre minus its own centre: +1e-4, -1e-4, 0, +1e-4
    e4 = eccentricity(100.0, [100.0, 100.0001, 100.0002, 100.0003], [100.0001, 100.0, 100.0002, 100.0004])
    assert e4.deltas == pytest.approx((1e-4, -1e-4, 0.0, 1e-4), abs=1e-12)
    # method 3: zeros 0, +1e-4, 0, 0, -1e-4; centre 100.0 net 100.0; off-centre nets 100.0001, 100.0, 100.0, 100.0
    # -> deltas +1e-4, 0, 0, 0
    e3 = eccentricity(100.0, 100.0, [100.0002, 100.0, 100.0, 99.9999], zeros=[0.0, 0.0001, 0.0, 0.0, -0.0001])
    assert e3.deltas == pytest.approx((1e-4, 0.0, 0.0, 0.0), abs=1e-12)
    with pytest.raises(ValueError, match="one per off-centre"):
        eccentricity(100.0, [100.0, 100.0], [100.0, 100.0, 100.0, 100.0])
    with pytest.raises(ValueError, match="no-load indications"):
        eccentricity(100.0, 100.0, [100.0, 100.0, 100.0, 100.0], zeros=[0.0])


def test_error_and_uncertainty_single_weight() -> None:
    """100 g (one E2 piece with a certificate), cg-18 v4.0 7.1: hand calculation.

    E = 100.0001 - 0 - (100 + 0.00002) = 8.0e-5 g.
    u(ecc) = 3e-4 * 100.0001 / (2 * 100 * sqrt 3) = 8.66026e-5 (cg-18 7.1.1: every load, a single piece too).
    u^2 = (1e-4)^2/12 [zero] + (1e-4)^2/12 [load] + s^2 + (0.00005/2)^2 + u(ecc)^2
        = 8.3333e-10 + 8.3333e-10 + 5e-9 + 6.25e-10 + 7.50002e-9 = 1.479168e-8  ->  u = 1.216211e-4 g.
    nu_eff = u^4 / (s^4 / 4) = (1.479168e-8)^2 / (2.5e-17 / 4) = 35.007 -> 35 (GUM G.6.4), k = t_0.97725(35).
    """
    r = _calibrate()[1]
    assert r.quantity == "error of indication" and r.point == 100.0 and r.unit == "g"
    assert r.value == pytest.approx(8.0e-5, abs=1e-12)
    assert r.budget["u"] == pytest.approx(1.216211e-4, rel=1e-5)
    assert r.budget["dof"] == pytest.approx(35.007, abs=1e-3)
    k = stats.t.ppf(0.5 + 0.9545 / 2, 35)
    assert r.k == pytest.approx(k, rel=1e-5)
    assert pytest.approx(k * 1.216211e-4, rel=1e-5) == r.U
    rows = {row["input"]: row for row in r.budget["rows"]}
    # every contribution of cg-18 7.1.1 and 7.1.2 is a row, with its unit and source; those at zero say why
    assert set(rows) == {"IL", "dI_digL", "dI_rep", "dI_ecc", "I0", "dI_dig0", "m_c", "dm_B", "dm_Ba", "dm_D",
                         "dm_conv"}  # fmt: skip
    assert rows["dI_ecc"]["u"] == pytest.approx(8.66026e-5, rel=1e-5)
    for row in rows.values():
        assert row["unit"] == "g" and "source" in row
        if row["u"] == 0.0:
            assert row["note"].startswith(("zero", "the reading")), row
    assert "adjusted immediately before" in rows["dm_Ba"]["note"]
    assert "acclimatised" in rows["dm_conv"]["note"]


def test_error_and_uncertainty_two_weights_with_eccentricity() -> None:
    """150 g = 100 g + 50 g (two bodies): standards summed linearly, eccentricity included (cg-18 7.1.1, 7.1.2).

    E = 150.0002 - (150 + 0.00002 - 0.00001) = 1.9e-4 g.
    u(m_c) = 0.000025 + 0.000015 = 4.0e-5 (linear sum) -> 1.6e-9.
    u(ecc) = 3e-4 * 150.0002 / (2 * 100 * sqrt 3) = 1.29904e-4 -> 1.68751e-8.
    u^2 = 1.66667e-9 + 5e-9 + 1.6e-9 + 1.68751e-8 = 2.51418e-8 -> u = 1.58562e-4 g.
    """
    r = _calibrate()[2]
    assert r.value == pytest.approx(1.9e-4, abs=1e-12)
    assert r.budget["u"] == pytest.approx(1.58562e-4, rel=1e-4)
    ecc_row = next(row for row in r.budget["rows"] if row["input"] == "dI_ecc")
    assert abs(ecc_row["contribution"]) == pytest.approx(1.29904e-4, rel=1e-4)
    mc_row = next(row for row in r.budget["rows"] if row["input"] == "m_c")
    assert mc_row["u"] == pytest.approx(4.0e-5, rel=1e-9)


def test_class_mpe_weight_and_buoyancy_and_fixed_k() -> None:
    """200 g F1 used by its class: u = MPE/sqrt 3; air density not measured, instrument adjusted: buoyancy bound
    MPE/4 rectangular (R111-1:2004 10.1); eccentricity 3e-4 * 200.0003 / (2 * 100 * sqrt 3); k fixed at 2.

    u^2 = 1.66667e-9 + 5e-9 + (0.001/sqrt 3)^2 + (0.00025/sqrt 3)^2 + (1.732054e-4)^2
        = 1.66667e-9 + 5e-9 + 3.33333e-7 + 2.08333e-8 + 3.00001e-8 = 3.908335e-7 -> u = 6.251667e-4,
    U = 1.2503334e-3 g.
    """
    r = _calibrate(coverage_factor=2.0, air=AirBuoyancy(None, adjusted=True))[3]
    assert r.value == pytest.approx(3.0e-4, abs=1e-12)
    assert r.k == 2.0
    assert pytest.approx(1.2503334e-3, rel=1e-6) == r.U
    assert r.budget["coverage_probability"] is None
    buoyancy = next(row for row in r.budget["rows"] if row["input"] == "dm_B")
    assert buoyancy["distribution"] == "rectangular" and "not measured" in buoyancy["source"]


def test_buoyancy_cases_of_a_100_g_e2_weight() -> None:
    """δm_B and δm_Ba of a 100 g E2 weight (MPE 0.16 mg) in each case, by hand (cg-18 v4.0 7.1.2; R111-1 10.1).

    Class only, ρ_a not measured: u = 0.16 mg / (4 √3) = 2.3094e-5 g.
    Class only, ρ_a = 1.10 ± 0.0015 kg/m³: half-width 0.04 mg · (0.10 + 0.003)/0.12 = 3.43333e-5 g, u = 1.98224e-5.
    ρ = 7950 ± 30 kg/m³ (standard), ρ_a = 1.10 ± 0.0015: 1/ρ − 1/ρ_c = 50/(7950·8000) = 7.86164e-7 m³/kg;
      δm_B = −100 g · (−0.10) · 7.86164e-7 = +7.86164e-6 g;
      u² = 100² · [(7.86164e-7 · 0.0015)² + (0.10 · 30 / 7950²)²] -> u = 4.74811e-6 g.
    ρ known, ρ_a not measured (u(ρ_a) = 0.12/√3 = 0.0692820): u² = 100² · [(7.86164e-7 · 0.069282)²
      + (0.069282 · 30 / 7950²)²] (the second at second order, GUM 5.1.2) -> u = 6.36244e-6 g.
    Not adjusted before the calibration: δm_Ba half-width 100 g · 0.12 / 8000 = 1.5e-3 g, u = 1.5e-3/√3
      = 8.66025e-4 g.
    """
    by_class = ReferenceWeight(100.0, U=0.00005, class_mpe=0.00016)
    known = ReferenceWeight(100.0, U=0.00005, density=7950.0, u_density=30.0)
    measured = AirBuoyancy(1.10, 0.0015, adjusted=True)
    assumed = AirBuoyancy(None, adjusted=True)
    assert by_class.buoyancy(assumed).u == pytest.approx(2.3094e-5, rel=1e-4)
    assert by_class.buoyancy(measured).u == pytest.approx(1.98224e-5, rel=1e-4)
    term = known.buoyancy(measured)
    assert term.value == pytest.approx(7.86164e-6, rel=1e-5) and term.u == pytest.approx(4.74811e-6, rel=1e-4)
    assert known.buoyancy(assumed).u == pytest.approx(6.36244e-6, rel=1e-4)
    assert adjustment_term(100.0, AirBuoyancy()).u == pytest.approx(8.66025e-4, rel=1e-6)
    assert adjustment_term(100.0, assumed).u == 0.0
    with pytest.raises(ValueError, match="density is not known and no class MPE"):
        ReferenceWeight(100.0, U=0.00005).buoyancy(assumed)
    with pytest.raises(ValueError, match="outside 0.5..1.5"):
        AirBuoyancy(1100.0)
    # the whole point: the measured-air, known-density correction enters E itself
    rep = repeatability(100.0, REP)
    pts = [LoadPoint((known,), 100.0001)]
    r = errors_of_indication(BAL, pts, rep, NO_ECC, air=measured, min_loads=1)[0]
    assert r.value == pytest.approx(100.0001 - (100.0 + 7.86164e-6), abs=1e-10)


def test_decreasing_load_and_large_nu_gives_k_near_2() -> None:
    """The decreasing-load point is reported as such; with nu_eff ~ 2e4, k = t_0.97725 -> 2.000 (cg-18 App. E)."""
    res = _calibrate()
    assert "decreasing" in res[5].note and "increasing" in res[1].note
    assert res[5].value == pytest.approx(1.8e-4, abs=1e-12)
    assert res[3].k == pytest.approx(2.0, abs=1e-3)


def test_calibration_argument_errors() -> None:
    rep = repeatability(100.0, REP)
    with pytest.raises(ValueError, match="at least 5 distinct test loads"):
        errors_of_indication(BAL, POINTS[:3], rep, ECC)
    with pytest.raises(ValueError, match="eccentricity test result"):
        errors_of_indication(BAL, POINTS, rep, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="certificate U"):
        ReferenceWeight(100.0)
    with pytest.raises(ValueError, match="direction"):
        LoadPoint((W100,), 100.0, direction="sideways")
    with pytest.raises(ValueError, match="increasing limits"):
        Balance(60.0, 0.01, intervals=((60.0, 0.02), (15.0, 0.01)))


def test_mean_of_readings_and_multi_interval_and_type_approved() -> None:
    """s/sqrt(N) for a mean of N readings; d at load from the interval; zero rounding d0/(4 sqrt 3) when approved.

    Balance 60 kg-style multi-interval scaled to g: d = 0.01 up to 15 g, 0.02 up to 60 g; type approved.
    Point 50 g, N = 4 readings, no eccentricity difference found, weight 50 g E2 (u = 1.5e-5):
    u^2 = (0.01/(4 sqrt 3))^2 + 0.02^2/12 + (s/2)^2 + (1.5e-5)^2
        = 2.08333e-6 + 3.33333e-5 + 1.25e-9 + 2.25e-10 = 3.54181e-5 -> u = 5.95131e-3 g.
    """
    bal = Balance(60.0, 0.02, intervals=((15.0, 0.01), (60.0, 0.02)), type_approved=True)
    rep = repeatability(100.0, REP)
    pts = [LoadPoint((W50,), 50.0, n_readings=4)] * 1
    res = errors_of_indication(bal, pts, rep, NO_ECC, air=EXACT, min_loads=1)
    assert res[0].budget["u"] == pytest.approx(5.95131e-3, rel=1e-4)
    assert bal.d_at(15.0) == 0.01 and bal.d_at(15.02) == 0.02


def test_repeatability_pick_greater_of_enclosing() -> None:
    """Two repeatability tests (50 g: s small, 200 g: s large): a 100 g point takes the greater s (cg-18 7.1.1)."""
    small = repeatability(50.0, [50.0, 50.0, 50.0, 50.0, 50.0001])
    large = repeatability(200.0, [200.0, 200.0003, 200.0, 200.0003, 200.0])
    pts = [LoadPoint((W100,), 100.0001)]
    r = errors_of_indication(BAL, pts, [small, large], NO_ECC, air=EXACT, min_loads=1)[0]
    rep_row = next(row for row in r.budget["rows"] if row["input"] == "dI_rep")
    assert rep_row["u"] == pytest.approx(large.s, rel=1e-12)
    assert large.s > small.s


def test_uncertainty_line_and_minimum_weight() -> None:
    """Envelope line through U at the smallest load: U(50)=0.2 mg, U(100)=0.3 mg, U(200)=0.4 mg.

    U0 = 2e-4 g; slopes (3e-4 - 2e-4)/100 = 1e-6, (4e-4 - 2e-4)/200 = 1e-6 -> alpha = 1e-6.
    Minimum weight for 0.1 % with SF = 2: m = 2 * 2e-4 / (1e-3 - 2e-6) = 4e-4 / 9.98e-4 = 0.400802 g.
    """
    from acquisition.methods.base import PointResult

    rs = [
        PointResult("error of indication", m, "g", 0.0, "g", U=u, k=2.0)
        for m, u in ((100.0, 3e-4), (50.0, 2e-4), (200.0, 4e-4))
    ]
    line = uncertainty_line(rs)
    assert pytest.approx(2e-4) == line.U0 and line.alpha == pytest.approx(1e-6)
    assert all(line.at(r.point) >= r.U * (1 - 1e-12) for r in rs)  # type: ignore[arg-type,operator]
    assert minimum_weight(line, 1e-3, safety_factor=2.0) == pytest.approx(0.400802, rel=1e-5)
    with pytest.raises(ValueError, match="never met"):
        minimum_weight(UncertaintyLine(2e-4, 1e-3), 1e-3)


# ------------------------------------------------------------------------------------------------------- R76


@pytest.mark.parametrize(
    ("cls", "e", "load", "mpe"),
    [
        # R76-1:2006 Table 6, class III, e = 1 g: 0.5 e up to 500 e inclusive, 1 e up to 2000 e, 1.5 e to 10000 e
        ("III", 1.0, 0.0, 0.5),
        ("III", 1.0, 500.0, 0.5),
        ("III", 1.0, 501.0, 1.0),
        ("III", 1.0, 2000.0, 1.0),
        ("III", 1.0, 2001.0, 1.5),
        ("III", 1.0, 10000.0, 1.5),
        # class II, e = 0.01 g: 5000 e = 50 g is still 0.5 e; 50.01 g is 1 e; 20000 e = 200 g is 1 e
        ("II", 0.01, 50.0, 0.005),
        ("II", 0.01, 50.01, 0.01),
        ("II", 0.01, 200.0, 0.01),
        ("II", 0.01, 200.01, 0.015),
        # class I, e = 0.001 g: 50000 e = 50 g -> 0.5 e; 200000 e = 200 g -> 1 e; above: 1.5 e without limit
        ("I", 0.001, 50.0, 0.0005),
        ("I", 0.001, 50.001, 0.001),
        ("I", 0.001, 200.001, 0.0015),
        # class IIII, e = 50 g: 50 e = 2500 g -> 0.5 e, 51 e -> 1 e
        ("IIII", 50.0, 2500.0, 25.0),
        ("IIII", 50.0, 2550.0, 50.0),
    ],
)
def test_r76_mpe_table_boundaries(cls: str, e: float, load: float, mpe: float) -> None:
    assert r76_mpe(load, e, cls) == pytest.approx(mpe, rel=1e-12)
    assert r76_mpe(load, e, cls, in_service=True) == pytest.approx(2 * mpe, rel=1e-12)  # R76-1 3.5.2


def test_r76_mpe_errors_and_edition() -> None:
    assert R76_MPE_INITIAL.edition == "OIML R76-1:2006 3.5.1 Table 6"
    with pytest.raises(ValueError, match="exceeds the range of class III"):
        r76_mpe(10001.0, 1.0, "III")
    with pytest.raises(ValueError, match="accuracy class"):
        r76_mpe(1.0, 1.0, "V")
    with pytest.raises(ValueError, match="e must be > 0"):
        r76_mpe(1.0, 0.0, "III")
    assert r76_mpe(1.0, 1.0, " iii ") == 0.5


def test_changeover_point_method() -> None:
    """R76-1 A.4.4.3, hand calculation: e = 5 g, L = 1000 g, I = 1000 g, the indication changes to 1005 g
    after adding 1.5 g. P = I + e/2 - dL = 1000 + 2.5 - 1.5 = 1001 g, E = P - L = +1 g."""
    assert changeover_error(1000.0, 1000.0, 1.5, 5.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="changeover was missed"):
        changeover_error(1000.0, 1000.0, 6.0, 5.0)


def test_weighing_test_both_sides_of_the_limit_and_zero_correction() -> None:
    """Class III, e = 5 g, Max 15 kg. 1000 g = 200 e -> MPE 0.5 e = 2.5 g; 5000 g = 1000 e -> 1 e = 5 g.

    Zero: I = 0, dL = 2.0 -> E0 = 0 + 2.5 - 2.0 - 0 = +0.5 g.
    1000 g: I = 1000, dL = 0.5 -> E = +2.0, Ec = +1.5 (<= 2.5 pass).
    5000 g: I = 5005, dL = 1.0 -> E = 5005 + 2.5 - 1 - 5000 = 6.5, Ec = 6.0 (> 5 fail).
    5000 g decreasing: I = 5005, dL = 2.5 -> E = 5.0, Ec = 4.5 (pass).
    """
    pts = [
        WeighingPoint(1000.0, 1000.0, 0.5),
        WeighingPoint(5000.0, 5005.0, 1.0),
        WeighingPoint(5000.0, 5005.0, 2.5, direction="down"),
    ]
    res = weighing_test(pts, 5.0, "III", zero=WeighingPoint(0.0, 0.0, 2.0))
    assert [r.value for r in res] == pytest.approx([1.5, 6.0, 4.5])
    assert [r.mpe for r in res] == pytest.approx([2.5, 5.0, 5.0])
    assert [r.conformity for r in res] == ["pass", "fail", "pass"]
    assert "simple acceptance" in res[0].rule and "Table 6" in res[0].reference
    assert verdict(res) == "fail"
    assert verdict(res[:1] + res[2:]) == "pass"
    # in service the limits double: 6.0 <= 10 passes
    assert weighing_test(pts[1:2], 5.0, "III", in_service=True, zero=WeighingPoint(0.0, 0.0, 2.0))[0].conformity == (
        "pass"
    )


def test_weighing_test_exactly_at_the_limit_passes() -> None:
    """Indication-minus-load with d < e: class II, e = 0.1 g, 1000 g = 10000 e -> MPE 1 e = 0.1 g.
    Error exactly 0.1 g passes (|E| <= MPE), 0.11 g fails."""
    res = weighing_test([WeighingPoint(1000.0, 1000.1), WeighingPoint(1000.0, 1000.11)], 0.1, "II")
    assert [r.conformity for r in res] == ["pass", "fail"]


def test_eccentricity_test() -> None:
    """Class III, e = 1 g, Max 3 kg, load 1 kg = 1000 e -> MPE 1 g: errors 0, +1, -1, +1.5 (fail), 0."""
    res = eccentricity_test(1000.0, [1000.0, 1001.0, 999.0, 1001.5, 1000.0], 1.0, "III", 3000.0)
    assert res[0].note == "centre"
    assert [r.conformity for r in res] == ["pass", "pass", "pass", "fail", "pass"]
    # 4 support points: about Max/3 = 1000 g; 800 g < 0.9 * 1000 is refused. 6 support points: Max/5 = 600 g is fine.
    with pytest.raises(ValueError, match="too small"):
        eccentricity_test(800.0, [800.0] * 5, 1.0, "III", 3000.0, support_points=4)
    assert len(eccentricity_test(600.0, [600.0] * 5, 1.0, "III", 3000.0, support_points=6)) == 5
    with pytest.raises(ValueError, match="exceeds Max"):
        eccentricity_test(3100.0, [3100.0] * 5, 1.0, "III", 3000.0)


def test_repeatability_test() -> None:
    """Class III, e = 10 g, 3000 g = 300 e -> MPE 5 g. Results 3000, 3010, 3000: spread 10 g > 5 -> fail;
    with changeover dL = 6, 2, 4 (E = I + 5 - dL - L): results 2999, 3013, 3001 -> spread 14 fail;
    3000, 3000, 3005 -> spread 5 = MPE -> pass (at the limit)."""
    assert repeatability_test(3000.0, [3000.0, 3010.0, 3000.0], 10.0, "III").conformity == "fail"
    r = repeatability_test(3000.0, [3000.0, 3010.0, 3000.0], 10.0, "III", added=[6.0, 2.0, 4.0])
    assert r.value == pytest.approx(14.0)
    ok = repeatability_test(3000.0, [3000.0, 3000.0, 3005.0], 10.0, "III")
    assert ok.value == pytest.approx(5.0) and ok.mpe == pytest.approx(5.0) and ok.conformity == "pass"
    with pytest.raises(ValueError, match="at least 2"):
        repeatability_test(3000.0, [3000.0], 10.0, "III")


def test_discrimination_test() -> None:
    """R76-1 3.8.2: adding 1.4 d must change the indication: +d passes, no change fails."""
    assert discrimination_test(1000.0, 1000.0, 1001.0, 1.0).conformity == "pass"
    assert discrimination_test(1000.0, 1000.0, 1000.0, 1.0).conformity == "fail"
    assert discrimination_test(0.5, 0.5, 0.51, 0.01).conformity == "pass"
    with pytest.raises(ValueError, match="d must be > 0"):
        discrimination_test(1000.0, 1000.0, 1001.0, 0.0)
    with pytest.raises(ValueError, match="no judged results"):
        verdict([])


@pytest.mark.parametrize(
    ("below", "back", "after", "conformity"),
    [
        (5.00, 5.01, 5.02, "pass"),  # I − d reached, one 0.1 d back shows I, + 1.4 d shows I + d
        (5.00, 5.00, 5.02, "pass"),  # "back" is not judged (A.4.8.2 compares with the initial I only)
        (5.00, 5.01, 5.01, "fail"),  # no change for 1.4 d
        (5.00, 5.00, 5.01, "fail"),  # stuck one digit low after the weight went back: I, not I + d
        (5.00, 5.01, 5.03, "fail"),  # 2 d: not "increased by one actual scale interval"
        (5.01, 5.01, 5.02, "notAssessed"),  # the indication never fell: no changeover point
        (4.99, 5.00, 5.01, "notAssessed"),  # fell by 2 d: the search overshot
    ],
)
def test_discrimination_changeover_test(below: float, back: float, after: float, conformity: str) -> None:
    """R76-1:2006 A.4.8.2 with d = 0.01 g at 5 g: initial I = 5.01 g (load + ten 0.1 d weights)."""
    row = discrimination_changeover_test(5.0, 5.01, below, back, after, 0.01)
    assert row.conformity == conformity
    assert row.value == pytest.approx(after - 5.01, abs=1e-12) and row.mpe == 0.01
    assert row.reference == "OIML R76-1:2006 3.8.2.2, A.4.8.2"
    if conformity == "notAssessed":
        assert "changeover point not reached" in row.note and "I − d = 5 g" in row.note
    else:
        assert "I + d = 5.02 g required" in row.note


def test_discrimination_changeover_test_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="d must be > 0"):
        discrimination_changeover_test(5.0, 5.01, 5.0, 5.01, 5.02, 0.0)
    with pytest.raises(ValueError, match="after"):
        discrimination_changeover_test(5.0, 5.01, 5.0, 5.01, math.nan, 0.01)
