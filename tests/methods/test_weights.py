"""Weights by comparison (OIML R111-1:2004): air density, ABBA/ABA, conventional mass, U, class conformity."""

from __future__ import annotations

import math

import pytest

from acquisition.methods.weights import (
    R111_MPE_MG,
    AirDensity,
    Comparator,
    ReferenceWeight,
    TestWeight,
    WeightCalibration,
    air_density,
    air_density_with_uncertainty,
    calibrate_weight,
    cycle_differences,
    eccentricity_u,
    mpe_mg,
    r111_conformity,
    resolution_u,
    sensitivity_from_weight,
)

# EA-4/02 M:2013 (rev. 01), Supplement 2, example S2 "Calibration of a weight of nominal value 10 kg":
# readings (g) of the comparator in three ABBA cycles, standard first (A = standard, B = unknown).
EA402_S2_CYCLES = [
    [0.010, 0.020, 0.025, 0.015],
    [0.025, 0.050, 0.055, 0.020],
    [0.025, 0.045, 0.040, 0.020],
]


def ea402_s2(weight_class: str = "M1") -> WeightCalibration:
    """The S2 inputs mapped onto R111's terms: the drift δm_D is u_inst, the comparator's δm_C a further
    rectangular term; S2 has no separate sensitivity, resolution, eccentricity or magnetism terms."""
    s2 = "not a separate term in EA-4/02 S2 (the comparator's effects are its δm_C row)"
    return calibrate_weight(
        TestWeight(10_000.0, weight_class),
        ReferenceWeight(10_000.005, U=0.045, k=2.0, drift=0.015, drift_source="EA-4/02 S2 δm_D, ±15 mg"),
        EA402_S2_CYCLES,
        pooled_s=0.025,
        buoyancy_half_width=0.010,
        comparator=Comparator(
            other_half_width=0.010,
            notes={"sensitivity": s2, "resolution": s2, "eccentricity": s2, "magnetism": s2},
        ),
    )


def test_ea402_s2_ten_kilogram_weight() -> None:
    """EA-4/02 M:2013 S2 (pp. 26-27): m_X = 10 000.025 g ± 59 mg (k = 2).

    Standard m_S = 10 000.005 g, U = 45 mg (k = 2); drift of the standard within ±15 mg (rectangular); observed
    differences +0.010, +0.030, +0.020 g, mean 0.020 g, pooled s = 25 mg so u = 25/√3 = 14.4 mg; comparator
    ±10 mg and buoyancy ±10 mg (rectangular, no corrections). Standard uncertainties (mg): 45/2 = 22.5,
    15/√3 = 8.66, 25/√3 = 14.4, 10/√3 = 5.77, 10/√3 = 5.77;
    u(m_X) = √(22.5² + 8.66² + 14.4² + 5.77² + 5.77²) = 29.3 mg, U = 2·29.3 = 58.5 mg, stated as 59 mg.
    """
    r = ea402_s2()
    assert r.differences == pytest.approx((0.010, 0.030, 0.020), abs=1e-12)
    assert r.conventional_mass == pytest.approx(10_000.025, abs=1e-9)
    assert r.u_mg == pytest.approx(29.3, abs=0.05)
    assert r.U_mg == pytest.approx(58.5, abs=0.1)
    pr = r.point_result
    assert (pr.quantity, pr.point, pr.point_unit, pr.unit, pr.k) == (
        "conventional mass deviation (m_c - m_0)",
        10_000.0,
        "g",
        "mg",
        2.0,
    )
    assert pr.value == pytest.approx(25.0, abs=1e-6)  # m_c − m_0 = 25 mg
    # M1 10 kg: δm = 500 mg; 25 + 58.5 <= 500 and 58.5 <= 166.7 -> pass
    assert (pr.mpe, pr.conformity) == (500.0, "pass")
    rows = {row["input"]: row for row in r.budget["rows"]}
    assert rows["drift_r"]["u"] == pytest.approx(0.015 / math.sqrt(3), rel=1e-12)
    assert rows["comparator"]["u"] == pytest.approx(0.010 / math.sqrt(3), rel=1e-12)
    for name in ("sensitivity", "resolution", "eccentricity", "magnetism"):
        assert rows[name]["u"] == 0.0 and "EA-4/02 S2" in rows[name]["note"]
    assert r.budget["U"] == pytest.approx(r.U_mg / 1000, rel=1e-12) and r.budget["unit"] == "g"


def test_ea402_s2_uncertainty_too_large_for_f2() -> None:
    """F2 10 kg: δm = 160 mg, δm/3 = 53.3 mg < U = 58.5 mg: within δm − U but the class cannot be verified (5.2)."""
    r = ea402_s2("F2")
    assert r.conformity == "notAssessed"
    assert not r.uncertainty_ok
    assert "5.2" in r.point_result.note


def test_ea402_s2_fails_f1() -> None:
    """F1 10 kg: δm = 50 mg; 25 + 58.5 = 83.5 mg > 50 mg -> fail."""
    assert ea402_s2("F1").conformity == "fail"


def test_cycle_differences_abba_and_aba() -> None:
    # ABBA (I_A1, I_B1, I_B2, I_A2) = (1.0, 1.5, 1.7, 1.2): (1.5 − 1.0 − 1.2 + 1.7)/2 = 0.5
    # ABA (I_A1, I_B, I_A2) = (1.0, 1.6, 1.2): 1.6 − (1.0 + 1.2)/2 = 0.5
    assert cycle_differences([[1.0, 1.5, 1.7, 1.2]]) == pytest.approx([0.5])
    assert cycle_differences([[1.0, 1.6, 1.2]], "ABA") == pytest.approx([0.5])


def test_air_density_cipm2007_hand_calculation() -> None:
    """CIPM-2007 (Picard et al., Metrologia 45 (2008) 149, Appendix A1) at t = 20 °C, p = 101 325 Pa, h = 50 %.

    Hand calculation: T = 293.15 K;
    p_sv = exp(1.2378847e-5·T² − 1.9121316e-2·T + 33.93711047 − 6.3431645e3/T) = 2339.16 Pa
      (IAPWS steam tables: 2.3393 kPa at 20 °C);
    f = 1.00062 + 3.14e-8·101325 + 5.6e-7·400 = 1.0040256;  x_v = 0.5·f·p_sv/p = 0.0115893;
    Z = 1 − (p/T)(1.58123e-6 − 2.9331e-8·20 + 1.1043e-10·400 + (5.707e-6 − 2.051e-8·20)x_v
        + (1.9898e-4 − 2.376e-6·20)x_v²) + (p/T)²(1.83e-11 − 0.765e-8 x_v²) = 0.9996148;
    ρ = p·M_a/(Z·R·T)·(1 − x_v(1 − M_v/M_a)) with M_a = 28.96546 g/mol, M_v = 18.01528 g/mol,
      R = 8.314472 J/(mol K): 101325·0.02896546/(0.9996148·8.314472·293.15)·(1 − 0.0115893·0.378036)
      = 1.204561·0.995619... = 1.199314 kg/m³.
    """
    assert air_density(20.0, 1013.25, 50.0) == pytest.approx(1.199314, abs=2e-6)
    # dry air, same t and p: x_v = 0, Z = 0.9996431 -> 1.204557 kg/m³
    assert air_density(20.0, 1013.25, 0.0) == pytest.approx(1.204557, abs=2e-6)
    # more CO2 -> heavier air: M_a rises by 12.011e-3·Δx (relative +12.011·0.0001/28.96546 = 4.1e-5)
    ratio = air_density(20.0, 1013.25, 0.0, x_co2=0.0005) / air_density(20.0, 1013.25, 0.0)
    assert ratio == pytest.approx(1 + 12.011e-4 / 28.96546, rel=1e-9)


def test_air_density_r111_approximation() -> None:
    """OIML R111-1:2004 E.3-1 at 20 °C, 1013.25 hPa, 50 %:
    (0.34848·1013.25 − 0.009·50·exp(1.22))/293.15 = (353.0974 − 1.52425)/293.15 = 1.199294 kg/m³,
    within 2·10⁻⁴ (relative, R111 E.3) of the CIPM value 1.199314 above, and close to ρ_0 = 1.2 kg/m³.
    """
    approx = air_density(20.0, 1013.25, 50.0, formula="r111")
    assert approx == pytest.approx(1.199294, abs=2e-6)
    for t, p, h in [(20.0, 1013.25, 50.0), (23.0, 1000.0, 40.0), (30.0, 1100.0, 80.0), (15.0, 950.0, 30.0)]:
        full = air_density(t, p, h)
        assert abs(air_density(t, p, h, formula="r111") - full) / full < 2e-4


def test_air_density_uncertainty_sensitivities() -> None:
    """Near-ideal gas: ∂ρ/∂p ≈ ρ/p = 1.1993/1013.25 = 1.1836e-3 per hPa, ∂ρ/∂t ≈ −ρ/T = −4.091e-3 per K
    (plus the vapour term, which makes it about −4.4e-3). With u_p = 0.5 hPa alone (formula 22e-6 relative):
    u = √((1.19e-3·0.5)² + (1.199·22e-6)²) = 5.95e-4 kg/m³."""
    a = air_density_with_uncertainty(20.0, 1013.25, 50.0, u_t=0.0, u_p=0.5, u_h=0.0)
    assert isinstance(a, AirDensity)
    rows = {r["input"]: r for r in a.budget["rows"]}
    assert rows["p"]["sensitivity"] == pytest.approx(1.1836e-3, rel=0.01)
    assert -4.7e-3 < rows["t"]["sensitivity"] < -4.0e-3
    assert a.u == pytest.approx(math.hypot(1.1892e-3 * 0.5, 1.199314 * 22e-6), rel=0.01)


def test_buoyancy_corrected_calibration_hand_calculation() -> None:
    """1 kg E2 against a 1 kg E1 reference (R111 C.4.3, C.6), all hand-worked:

    m_cr = 1000.000 120 g, U = 0.080 mg (k=2) -> 0.040 mg; ρ_r = 8000 ± 5 (u) kg/m³, ρ_t = 7950 ± 70 kg/m³
    (Table B.7 stainless steel 7950, U = 140 k=2); ρ_a = 1.15 kg/m³, u = 0.002 kg/m³; ρ_al = ρ_0.
    ABBA readings (g): [0, 0.00030, 0.00034, 0.00004], [0.00002, 0.00028, 0.00030, 0] ->
      ΔI = (0.00030 − 0 − 0.00004 + 0.00034)/2 = 0.00030; (0.00028 − 0.00002 − 0 + 0.00030)/2 = 0.00028;
      mean 0.00029 g, s = 1.41421e-5 g, u_w = s/√2 = 1.0e-5 g.
    C_b = 1000.00012·(1.15 − 1.2)·(1/7950 − 1/8000) = −0.05·7.8616e-7·1000.00012 = −3.9308e-5 g.
    m_ct = 1000.000120 + 0.000290 − 0.0000393 = 1000.0003707 g -> m_c − m_0 = 0.37069 mg.
    u_b² = (m_cr(ρ_r − ρ_t)/(ρ_r ρ_t))²u²(ρ_a) + (m_cr(ρ_a − ρ_0))²u²(ρ_t)/ρ_t⁴ + (m_cr(ρ_a − ρ_0))²u²(ρ_r)/ρ_r⁴
    (R111-1:2004 C.6.3 as read here, with ρ_al = ρ_0), the square roots of the three terms being
      term1 = (1000·(8000−7950)/(8000·7950)·0.002) = 1.5723e-6 g
      term2 = 1000·0.05·70/7950² = 5.5378e-5 g
      term3 = 1000·0.05·5/8000² = 3.906e-6 g  -> u_b = 5.5537e-5 g
    comparator d = 0.00001 g: u_d = 1e-5/√6 = 4.0825e-6 g.
    u_c² = 0.04e-3² + 1.0e-5² + 5.5537e-5² + 4.0825e-6² -> u_c = 6.9290e-5 g, U = 0.13858 mg.
    E2 1 kg: δm = 1.6 mg; 0.371 + 0.139 <= 1.6 and 0.139 <= 0.533 -> pass.
    """
    r = calibrate_weight(
        TestWeight(1000.0, "E2", density=7950.0, u_density=70.0),
        ReferenceWeight(1000.000120, U=0.000080, k=2.0, density=8000.0, u_density=5.0),
        [[0.0, 0.00030, 0.00034, 0.00004], [0.00002, 0.00028, 0.00030, 0.0]],
        air_density=1.15,
        u_air_density=0.002,
        comparator=Comparator(resolution=0.00001),
    )
    assert r.mean_difference == pytest.approx(0.00029, abs=1e-12)
    assert r.buoyancy_correction == pytest.approx(-3.9308e-5, rel=1e-4)
    assert r.deviation_mg == pytest.approx(0.37069, abs=2e-5)
    rows = {row["input"]: row for row in r.budget["rows"]}
    assert rows["buoyancy"]["u"] == pytest.approx(5.5537e-5, rel=1e-3)
    assert rows["dI"]["u"] == pytest.approx(1.0e-5, rel=1e-9)
    assert rows["dI"]["dof"] == 1
    assert r.U_mg == pytest.approx(0.13858, rel=1e-4)
    assert (r.mpe_mg, r.conformity) == (1.6, "pass")


def test_default_density_from_material_and_sensitivity() -> None:
    """Unknown densities -> R111 Table B.7 stainless steel 7950 kg/m³ for both: no buoyancy correction
    (1/ρ_t − 1/ρ_r = 0); sensitivity S = 0.5 halves ΔI: Δm = 0.0004/0.5 = 0.0008 g; u_s = 0.0008·0.01 = 8e-6 g."""
    r = calibrate_weight(
        TestWeight(200.0, "F1"),
        ReferenceWeight(200.0, U=0.0001),
        [[0.0, 0.0004, 0.0004, 0.0], [0.0, 0.0004, 0.0004, 0.0]],
        air_density=1.1,
        comparator=Comparator(sensitivity=0.5, u_sensitivity_rel=0.01),
        pooled_s=0.00001,
    )
    assert r.buoyancy_correction == 0.0
    assert r.conventional_mass == pytest.approx(200.0008, abs=1e-12)
    rows = {row["input"]: row for row in r.budget["rows"]}
    assert rows["sensitivity"]["u"] == pytest.approx(8e-6, rel=1e-9)


def test_comparator_terms_r111_c64_hand_calculation() -> None:
    """R111-1:2004 C.6.4 terms (as read here) by hand, g:
    sensitivity weight m_s = 0.002 g, u(m_s) = 0.000002 g; ΔI_s = 0.001996 g, u(ΔI_s) = 0.000004 g:
      S = 0.001996/0.002 = 0.998, u_rel = √((1e-3)² + (0.000004/0.001996)²) = √(1e-6 + 4.016e-6) = 2.23964e-3;
    resolution d = 0.0001 g: u_d = (0.0001/2)/√3·√2 = 4.08248e-5 g;
    eccentricity D = 0.0003 g, d1 = 5 mm, d2 = 50 mm: u_E = 0.1·0.0003/(2√3) = 8.66025e-6 g."""
    sens, u_rel = sensitivity_from_weight(0.002, 0.000002, 0.001996, 0.000004)
    assert sens == pytest.approx(0.998, rel=1e-12)
    assert u_rel == pytest.approx(2.23964e-3, rel=1e-5)
    assert resolution_u(0.0001) == pytest.approx(4.08248e-5, rel=1e-5)
    assert eccentricity_u(0.0003, 5.0, 50.0) == pytest.approx(8.66025e-6, rel=1e-5)
    with pytest.raises(ValueError, match="give both in g"):
        sensitivity_from_weight(2.0, 0.0, 0.002, 0.0)  # m_s in mg by mistake
    with pytest.raises(ValueError, match="d2"):
        eccentricity_u(0.0003, 5.0, 0.0)


def test_full_r111_budget_at_method_level() -> None:
    """500 g F1 against an E2 reference of equal density (no buoyancy correction; air at ρ_0, u(ρ_a) = 0 -> u_b = 0
    since ρ_a − ρ_0 = 0 and ρ_r = ρ_t), every C.6 term by hand (mg):
    ABBA ΔI = 1.00, 1.02, 0.98 mg (mean 1.00, s = 0.02): u_w = 0.02/√3 = 0.011547 (C.6.1);
    S = 0.998, u_rel = 2.23964e-3 (above): Δm = 1.00/0.998 = 1.002004, u_s = 1.002004·2.23964e-3 = 0.0022441;
    d = 0.01 mg: u_d = 0.0040825; u_E = 0.0086603 (D = 0.3 mg, d1/d2 = 0.1); u_ma = 0.002 (given, normal);
    reference U = 0.25 mg (k = 2): 0.125; drift half-width 0.05 mg: 0.05/√3 = 0.028868 (C.6.2).
    u_c² = 0.011547² + 0.0022441² + 0.0040825² + 0.0086603² + 0.002² + 0.125² + 0.028868²
         = 1.3333e-4 + 5.036e-6 + 1.6667e-5 + 7.5e-5 + 4e-6 + 0.015625 + 8.3333e-4 = 0.0166924, u_c = 0.129199,
    U = 0.258398 mg. m_c − m_0 = 0.1 + 1.002004 = 1.102004 mg. F1 500 g: δm = 2.5 mg; 1.102 + 0.258 <= 2.5 and
    0.258 <= 0.833 -> pass."""
    sens, u_rel = sensitivity_from_weight(0.002, 0.000002, 0.001996, 0.000004)
    comparator = Comparator(
        resolution=0.00001,
        sensitivity=sens,
        u_sensitivity_rel=u_rel,
        eccentricity_u=eccentricity_u(0.0003, 5.0, 50.0),
        magnetism_u=0.000002,
    )
    r = calibrate_weight(
        TestWeight(500.0, "F1", density=8000.0, u_density=70.0),
        ReferenceWeight(500.0001, U=0.00025, density=8000.0, u_density=5.0, drift=0.00005, drift_source="history"),
        [[0.0, 0.00100, 0.00100, 0.0], [0.0, 0.00102, 0.00102, 0.0], [0.0, 0.00098, 0.00098, 0.0]],
        air_density=1.2,
        comparator=comparator,
    )
    terms_mg = {
        "dI": 0.02 / math.sqrt(3),
        "sensitivity": 1.00 / 0.998 * math.sqrt(1e-6 + (0.000004 / 0.001996) ** 2),
        "resolution": 0.01 / math.sqrt(6),
        "eccentricity": 0.1 * 0.3 / (2 * math.sqrt(3)),
        "magnetism": 0.002,
        "m_cr": 0.125,
        "drift_r": 0.05 / math.sqrt(3),
        "buoyancy": 0.0,
    }
    u_c = math.sqrt(sum(u**2 for u in terms_mg.values()))
    assert u_c == pytest.approx(0.129199, abs=2e-6)
    rows = {row["input"]: row for row in r.budget["rows"]}
    assert set(rows) == set(terms_mg)
    for name, u in terms_mg.items():
        assert rows[name]["u"] * 1000 == pytest.approx(u, rel=1e-9, abs=1e-15), name
    assert rows["eccentricity"]["distribution"] == "rectangular" and rows["resolution"]["distribution"] == "triangular"
    assert "history" in rows["drift_r"]["source"]
    assert "zero" in rows["buoyancy"]["note"]
    assert r.deviation_mg == pytest.approx(1.102004, abs=1e-6)
    assert r.U_mg == pytest.approx(2 * u_c, rel=1e-9)
    assert r.U_mg == pytest.approx(0.258398, abs=5e-6)
    assert (r.mpe_mg, r.conformity) == (2.5, "pass")


def test_mpe_table_lookups() -> None:
    """R111-1:2004 Table 1 (METROLOGY.md): 1 kg E2 1.6 mg, 50 kg M3 25 000 mg, 1 mg E1 0.003 mg, 100 mg M2 1.6."""
    assert mpe_mg(1000, "E2") == 1.6
    assert mpe_mg(50_000, "M3") == 25_000
    assert mpe_mg(0.001, "E1") == 0.003
    assert mpe_mg(0.1, "M2") == 1.6
    assert R111_MPE_MG.edition.startswith("OIML R111-1:2004")
    with pytest.raises(ValueError, match="no 0.05 g weight"):
        mpe_mg(0.05, "M2")
    with pytest.raises(ValueError, match="pass mpe_mg explicitly"):
        mpe_mg(100_000, "F1")  # 100 kg row not verified
    with pytest.raises(ValueError, match="not encoded"):
        mpe_mg(1000, "M1-2")
    with pytest.raises(ValueError, match="1-2-5 series"):
        mpe_mg(300, "F1")


def test_conformity_at_and_beyond_the_limits() -> None:
    """|dev| + U ≤ δm passes exactly at the limit (12 + 4 = 16), fails just above; U = δm/3 exactly passes."""
    assert r111_conformity(12.0, 4.0, 16.0)[0] == "pass"
    assert r111_conformity(-12.0, 4.0, 16.0)[0] == "pass"
    assert r111_conformity(12.001, 4.0, 16.0)[0] == "fail"
    assert r111_conformity(-12.001, 4.0, 16.0)[0] == "fail"
    assert r111_conformity(0.0, 3.0, 9.0)[:2] == ("pass", True)
    assert r111_conformity(0.0, 3.001, 9.0)[:2] == ("notAssessed", False)


def test_conformity_at_the_limits_written_in_decimal() -> None:
    """An E2 200 g weight (δm = 0.3 mg, R111-1:2004 Table 1) with U = 0.1 mg = δm/3 and |m_c − m_0| = 0.2 mg, so
    |m_c − m_0| + U = 0.3 mg = δm: both limits met exactly, though 0.3/3 and 0.2 + 0.1 are not exact in binary."""
    assert r111_conformity(0.0, 0.1, mpe_mg(200, "E2"))[:2] == ("pass", True)
    assert r111_conformity(0.2, 0.1, mpe_mg(200, "E2"))[:2] == ("pass", True)
    assert r111_conformity(0.2001, 0.1, mpe_mg(200, "E2"))[0] == "fail"
    assert r111_conformity(0.0, 0.1001, mpe_mg(200, "E2"))[:2] == ("notAssessed", False)


def test_bad_arguments() -> None:
    ref = ReferenceWeight(1000.0, U=0.0001)
    t = TestWeight(1000.0, "F1")
    cyc = [[0.0, 0.001, 0.001, 0.0], [0.0, 0.001, 0.001, 0.0]]
    with pytest.raises(ValueError, match="4 readings"):
        calibrate_weight(t, ref, [[0.0, 0.1, 0.2]], air_density=1.2)
    with pytest.raises(ValueError, match="at least 2 cycles or give pooled_s"):
        calibrate_weight(t, ref, cyc[:1], air_density=1.2)
    with pytest.raises(ValueError, match="air_density"):
        calibrate_weight(t, ref, cyc)
    with pytest.raises(ValueError, match="not both"):
        calibrate_weight(t, ref, cyc, air_density=1.2, buoyancy_half_width=0.001)
    with pytest.raises(ValueError, match="kg/m³"):
        calibrate_weight(t, ref, cyc, air_density=1200.0)
    with pytest.raises(ValueError, match="equal nominal value"):
        calibrate_weight(t, ReferenceWeight(500.0, U=0.0001), cyc, air_density=1.2)
    with pytest.raises(ValueError, match="not g/cm³"):
        calibrate_weight(TestWeight(1000.0, "F1", density=7.95), ref, cyc, air_density=1.2)
    with pytest.raises(ValueError, match="material"):
        calibrate_weight(TestWeight(1000.0, "F1", material="unobtainium"), ref, cyc, air_density=1.2)
    with pytest.raises(ValueError, match="ABBA"):
        cycle_differences(cyc, "AB")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="in hPa"):
        air_density(20.0, 101325.0, 50.0)
    with pytest.raises(ValueError, match="percent"):
        air_density(20.0, 1013.25, 120.0)
    with pytest.raises(ValueError, match="finite"):
        air_density(math.nan, 1013.25, 50.0)
    with pytest.raises(ValueError, match="unknown air density formula"):
        air_density(20.0, 1013.25, 50.0, formula="ideal")  # type: ignore[arg-type]
