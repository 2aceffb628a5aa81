"""DMM calibration against a Fluke 5520A: acquisition.methods.electrical.

The worked examples (10 V DC and 1 V AC at 1 kHz) are hand calculations written out in the docstrings; the
specification figures they use are the rows quoted in each test (and in the module, with their ``verified`` flags):

* Fluke 5520A AC current: Operators Manual Supplement 7/11 p. 9, 1-year column (verified against that text).
* Fluke 5520A DC/AC voltage, DC current, resistance: Operators Manual PN 688739 ch. 1, 1 year (unverified).
* Keysight 3458A DC voltage: data sheet 5965-4971 DCV accuracy table (cross-checked against two transcriptions,
  unverified against the PDF): ±(ppm of reading + ppm of range) 24 h / 90 d / 1 y —
  0.1 V 2.5+3 / 5.0+3 / 9+3; 1 V 1.5+0.3 / 4.6+0.3 / 8+0.3; 10 V 0.5+0.05 / 4.1+0.05 / 8+0.05;
  100 V 2.5+0.3 / 6.0+0.3 / 10+0.3; 1000 V 2.5+0.1 / 6.0+0.1 / 10+0.1.
"""

from __future__ import annotations

import math

import pytest

from acquisition.methods.electrical import (
    FLUKE_5520A_1Y,
    HP_3458A_1Y,
    HP_3458A_24H,
    HP_3458A_90D,
    HP_3458A_OPT002_1Y,
    KEYSIGHT_34465A_1Y,
    calibrator_band,
    calibrator_limit,
    dmm_point,
    dmm_tolerance,
)

K99 = 2.5758293035489  # z_0.995 of the standard normal distribution (tables)


def test_coverage_factor_of_the_99_percent_specification() -> None:
    assert FLUKE_5520A_1Y.k == pytest.approx(K99, rel=1e-12)


def test_calibrator_limits_and_range_boundaries() -> None:
    # 10 V DC, 33 V range: 12 ppm · 10 V + 20 µV = 140 µV
    assert calibrator_limit(FLUKE_5520A_1Y, "DCV", 10.0) == pytest.approx(140e-6, rel=1e-12)
    # top of the 3.3 V range: 11 ppm · 3.299999 + 2 µV = 38.299989 µV; 3.3 V is on the 33 V range: 59.6 µV
    assert calibrator_limit(FLUKE_5520A_1Y, "DCV", 3.299999) == pytest.approx(38.299989e-6, rel=1e-9)
    assert calibrator_limit(FLUKE_5520A_1Y, "DCV", 3.3) == pytest.approx(59.6e-6, rel=1e-9)
    assert calibrator_limit(FLUKE_5520A_1Y, "DCV", -10.0) == pytest.approx(140e-6, rel=1e-12)
    with pytest.raises(ValueError, match="no 1 year specification for DCV"):
        calibrator_limit(FLUKE_5520A_1Y, "DCV", 1100.0)


def test_calibrator_ac_current_from_the_5520a_supplement() -> None:
    """Fluke 5520A Operators Manual Supplement (7/11) p. 9, AC Current (Sine Wave), LCOMP off, 1 year:
    0.33 to 3.29999 mA, 45 Hz to 1 kHz: ±(0.1 % of output + 0.15 µA) -> 1 mA at 500 Hz: 1.15 µA;
    3.3 to 32.9999 mA, 45 Hz to 1 kHz: 0.04 % + 2 µA -> 10 mA at 60 Hz: 6 µA; 1 to 5 kHz: 0.08 % + 2 µA -> 10 mA at
    1.5 kHz: 10 µA. At 1 kHz both bands apply and the larger limit is taken: 10 µA (1 to 5 kHz), not 6 µA.
    10 to 30 kHz: 0.4 % + 4 µA -> 10 mA at 30 kHz: 44 µA; beyond 30 kHz the table has no row."""
    assert calibrator_limit(FLUKE_5520A_1Y, "ACI", 1e-3, 500.0) == pytest.approx(1.15e-6, rel=1e-12)
    assert calibrator_limit(FLUKE_5520A_1Y, "ACI", 10e-3, 60.0) == pytest.approx(6e-6, rel=1e-12)
    assert calibrator_limit(FLUKE_5520A_1Y, "ACI", 10e-3, 1500.0) == pytest.approx(10e-6, rel=1e-12)
    assert calibrator_limit(FLUKE_5520A_1Y, "ACI", 10e-3, 1000.0) == pytest.approx(10e-6, rel=1e-12)
    assert calibrator_limit(FLUKE_5520A_1Y, "ACI", 10e-3, 30e3) == pytest.approx(44e-6, rel=1e-12)
    with pytest.raises(ValueError, match="at 40000 Hz"):
        calibrator_limit(FLUKE_5520A_1Y, "ACI", 10e-3, 40e3)
    assert "ACI" in FLUKE_5520A_1Y.verified
    assert calibrator_band(FLUKE_5520A_1Y, "ACI", 10e-3, 60.0).verified
    assert "ACV" not in FLUKE_5520A_1Y.verified and "DCV" not in FLUKE_5520A_1Y.verified


def test_calibrator_ac_voltage_row_by_hand_and_marked_unverified() -> None:
    """5520A AC voltage (sine), 0.33 to 3.29999 V, 45 Hz to 10 kHz, 1 year: ±(240 ppm of output + 50 µV), a row
    not verified against the manufacturer's text. 2 V at 400 Hz: a = 240e-6 · 2 + 50e-6 = 530 µV; 100 mV at 1 kHz
    (33 to 329.999 mV row, 200 ppm + 8 µV): a = 28 µV. Taken as bounds: u = 530 µV/√3 = 306.0 µV.
    One reading of 2.00010 V, resolution 1 µV, no DMM specification: u_c² = 306.0² + (1/√12)² µV² -> 306.0 µV."""
    assert calibrator_limit(FLUKE_5520A_1Y, "ACV", 2.0, 400.0) == pytest.approx(530e-6, rel=1e-12)
    assert calibrator_limit(FLUKE_5520A_1Y, "ACV", 0.1, 1000.0) == pytest.approx(28e-6, rel=1e-12)
    row = calibrator_band(FLUKE_5520A_1Y, "ACV", 2.0, 400.0)
    assert not row.verified and "unverified" in row.source and "AC Voltage" in row.source
    p = dmm_point(
        "ACV", 2.0, [2.00010], dmm_range=10.0, resolution=1e-6, frequency=400.0, dmm=None,
        calibrator_distribution="rectangular",
    )  # fmt: skip
    u_cal = 530e-6 / math.sqrt(3)
    assert p.evidence["calibrator_limit"] == pytest.approx(530e-6, rel=1e-12)
    assert p.budget["u"] == pytest.approx(math.sqrt(u_cal**2 + (1e-6 / math.sqrt(12)) ** 2), rel=1e-9)
    cal_row = next(r for r in p.budget["rows"] if r["input"] == "dV_cal")
    assert cal_row["u"] == pytest.approx(u_cal, rel=1e-9)
    assert "unverified" in cal_row["source"] and "0.33 to 3.29999 V" in cal_row["source"]
    assert "ACV 0.33 to 3.29999 V, 45 to 10000 Hz unverified" in p.note
    assert p.evidence["calibrator_row_verified"] is False


def test_a_verified_row_says_so_and_adds_no_unverified_note() -> None:
    """10 mA ACI at 60 Hz (verified row, a = 6 µA), no DMM specification: nothing in the note calls the calibrator
    row unverified, and the budget row cites the supplement as verified."""
    p = dmm_point("ACI", 10e-3, [10.001e-3, 10.002e-3], dmm_range=10e-3, resolution=1e-9, frequency=60.0, dmm=None)
    cal_row = next(r for r in p.budget["rows"] if r["input"] == "dV_cal")
    assert "verified against the manufacturer's text" in cal_row["source"] and "unverified" not in cal_row["source"]
    assert "unverified" not in p.note
    assert "compliance-voltage adder" in p.note  # the part of the supplement's row not modelled


def test_dmm_tolerance() -> None:
    # 10 V range, reading 10 V: 30 ppm of reading + 5 ppm of range = 300 + 50 µV = 350 µV
    assert dmm_tolerance(KEYSIGHT_34465A_1Y, "DCV", 10.0, 10.0) == pytest.approx(350e-6, rel=1e-12)
    # 1 V ACV at 1 kHz: 600 ppm of reading + 300 ppm of range = 900 µV
    assert dmm_tolerance(KEYSIGHT_34465A_1Y, "ACV", 1.0, 1.0, 1000.0) == pytest.approx(900e-6, rel=1e-12)
    with pytest.raises(ValueError, match="ranges in the table"):
        dmm_tolerance(KEYSIGHT_34465A_1Y, "DCV", 3.0, 1.0)
    with pytest.raises(ValueError, match="beyond the 10 V range"):
        dmm_tolerance(KEYSIGHT_34465A_1Y, "DCV", 10.0, 12.5)


def test_worked_example_10_v_dc() -> None:
    """Hand calculation: 5520A at 10 V DC, 34465A on its 10 V range (d = 10 µV), five readings
    10.00004, 10.00005, 10.00004, 10.00003, 10.00004 V.
    mean 10.00004 V -> E = 40 µV; s = √((0+1+0+1+0)/4)·10 µV = 7.0711 µV; u_rep = s/√5 = 3.1623 µV (ν = 4).
    u_res = 10 µV/√12 = 2.8868 µV. Calibrator a = 12 ppm·10 V + 20 µV = 140 µV at 99 % -> u = 140/2.5758 = 54.351 µV.
    u_c = √(3.1623² + 2.8868² + 54.351²) = 54.520 µV; ν_eff = u_c⁴/(3.1623⁴/4) ≈ 3.5e5 -> k = 1.960;
    U = 106.86 µV. Tolerance 350 µV; guarded acceptance |E| <= 350 − 106.86 = 243.1 µV -> pass."""
    p = dmm_point("DCV", 10.0, [10.00004, 10.00005, 10.00004, 10.00003, 10.00004], dmm_range=10.0, resolution=10e-6)
    u_rep = math.sqrt(0.5) * 10e-6 / math.sqrt(5)
    u_c = math.sqrt(u_rep**2 + (10e-6 / math.sqrt(12)) ** 2 + (140e-6 / K99) ** 2)
    assert u_c == pytest.approx(54.520e-6, rel=1e-4)
    assert p.value == pytest.approx(40e-6, abs=1e-11)
    assert p.budget["u"] == pytest.approx(u_c, rel=1e-9)
    assert p.k == pytest.approx(1.96, abs=1e-4)
    expanded = p.U
    assert expanded == pytest.approx(106.86e-6, rel=1e-4)
    assert p.mpe == pytest.approx(350.0012e-6, rel=1e-6)  # 30 ppm of the 10.00004 V reading + 50 µV
    assert p.conformity == "pass"
    assert "guarded acceptance" in p.rule and "ILAC G8" in p.rule
    assert (p.unit, p.point_unit, p.point) == ("V", "V", 10.0)
    assert "DCV 0 to 32.99999 V unverified" in p.note and "34465A 1 year DCV 10 V range row unverified" in p.note
    assert "unverified" in p.evidence["tolerance_source"]
    # the one budget shape: the set output V_cal is no contribution; each row has its source and unit
    rows = {r["input"]: r for r in p.budget["rows"]}
    assert set(rows) == {"I_bar", "dI_res", "dV_cal"}
    assert all(r["unit"] == "V" and r["source"] for r in rows.values())
    assert rows["dV_cal"]["u"] == pytest.approx(140e-6 / K99, rel=1e-9)
    assert "5520A" in rows["dV_cal"]["source"] and "unverified" in rows["dV_cal"]["source"]
    assert rows["I_bar"]["dof"] == 4 and rows["dI_res"]["dof"] is None  # None: infinitely many
    assert math.sqrt(sum(r["contribution"] ** 2 for r in rows.values())) == pytest.approx(u_c, rel=1e-9)
    assert p.budget["U"] == pytest.approx(p.budget["k"] * p.budget["u"], rel=1e-12)


def test_worked_example_1_v_ac_1_khz() -> None:
    """Hand calculation: 5520A at 1 V, 1 kHz; 34465A 1 V range (d = 1 µV); readings 1.00012, 1.00010, 1.00011,
    1.00013, 1.00009 V. mean 1.00011 V -> E = 110 µV; deviations +1, −1, 0, +2, −2 (×10 µV): s = √(10/4)·10 µV
    = 15.811 µV, u_rep = 7.0711 µV (ν = 4). u_res = 1/√12 = 0.28868 µV. Calibrator a = 240 ppm·1 V + 50 µV
    = 290 µV at 99 % -> u = 112.585 µV. u_c = √(50 + 0.0833 + 12675.4) = 112.807 µV; ν_eff ≈ 2.6e5 -> k = 1.960;
    U = 221.10 µV. Tolerance 600 ppm·1.00011 V + 300 µV = 900.07 µV; acceptance 679.0 µV -> pass."""
    readings = [1.00012, 1.00010, 1.00011, 1.00013, 1.00009]
    p = dmm_point("ACV", 1.0, readings, dmm_range=1.0, resolution=1e-6, frequency=1000.0)
    assert p.value == pytest.approx(110e-6, abs=1e-11)
    assert p.budget["u"] == pytest.approx(112.807e-6, rel=1e-4)
    expanded = p.U
    assert expanded == pytest.approx(221.10e-6, rel=1e-4)
    assert p.mpe == pytest.approx(900.066e-6, rel=1e-6)
    assert p.conformity == "pass"


@pytest.mark.parametrize(("reading", "guarded", "simple"), [(10.00030, "fail", "pass"), (10.00036, "fail", "fail")])
def test_decision_both_sides(reading: float, guarded: str, simple: str) -> None:
    """E = 300 µV is inside the ±350 µV tolerance but beyond the guarded acceptance limit 350 − U (U ≈ 107 µV);
    E = 360 µV is outside the tolerance."""
    readings = [reading] * 4
    g = dmm_point("DCV", 10.0, readings, dmm_range=10.0, resolution=10e-6)
    s = dmm_point("DCV", 10.0, readings, dmm_range=10.0, resolution=10e-6, rule="simple")
    assert (g.conformity, s.conformity) == (guarded, simple)
    assert "simple acceptance" in s.rule


def test_rectangular_calibrator_and_no_dmm_spec() -> None:
    """Spec taken as bounds: u = 140 µV/√3 = 80.829 µV; single reading: u_c² = 80.829² + 2.8868² -> 80.881 µV."""
    p = dmm_point(
        "DCV", 10.0, [10.0], dmm_range=10.0, resolution=10e-6, dmm=None, calibrator_distribution="rectangular"
    )
    assert p.budget["u"] == pytest.approx(math.sqrt((140e-6 / math.sqrt(3)) ** 2 + 1e-10 / 12), rel=1e-9)
    assert p.conformity == "notAssessed" and p.mpe is None
    assert "one reading only" in p.note
    rows = {r["input"]: r for r in p.budget["rows"]}
    assert rows["I_bar"]["u"] == 0.0 and "one reading only" in rows["I_bar"]["note"]
    assert "rectangular" in rows["dV_cal"]["source"]


def test_resistance_and_dc_current_points() -> None:
    """1 kΩ: a = 28 ppm·1000 Ω + 2 mΩ = 30 mΩ -> u = 11.647 mΩ; 34465A 1 kΩ range tolerance
    80 ppm·1000.01 + 10 ppm·1000 = 90.0008 mΩ. 10 mA DCI: a = 100 ppm·10 mA + 0.25 µA = 1.25 µA."""
    r = dmm_point("OHM", 1000.0, [1000.01, 1000.01], dmm_range=1e3, resolution=1e-3)
    assert r.evidence["calibrator_limit"] == pytest.approx(30e-3, rel=1e-12)
    assert r.mpe == pytest.approx(90.0008e-3, rel=1e-9)
    assert r.unit == "Ω"
    i = dmm_point("DCI", 10e-3, [10.0001e-3, 10.0002e-3], dmm_range=10e-3, resolution=1e-8)
    assert i.evidence["calibrator_limit"] == pytest.approx(1.25e-6, rel=1e-12)
    assert i.unit == "A"


def test_bad_arguments() -> None:
    ok = {"dmm_range": 10.0, "resolution": 1e-5}
    with pytest.raises(ValueError, match="unknown function"):
        dmm_point("VDC", 10.0, [10.0], **ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a frequency"):
        dmm_point("ACV", 1.0, [1.0], dmm_range=1.0, resolution=1e-6)
    with pytest.raises(ValueError, match="DC function"):
        dmm_point("DCV", 10.0, [10.0], frequency=50.0, **ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no readings"):
        dmm_point("DCV", 10.0, [], **ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reading 2 must be a finite number"):
        dmm_point("DCV", 10.0, [10.0, float("nan")], **ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="DMM resolution"):
        dmm_point("DCV", 10.0, [10.0], dmm_range=10.0, resolution=0.0)
    with pytest.raises(ValueError, match="rule must be"):
        dmm_point("DCV", 10.0, [10.0], rule="non-binary", **ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="calibrator_distribution"):
        dmm_point("DCV", 10.0, [10.0], calibrator_distribution="triangular", **ok)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "rng", "reading", "expected"),
    [
        # 1 year, 10 V range: 8 ppm · 10.00002 V + 0.05 ppm · 10 V = 80.00016 + 0.5 = 80.50016 µV
        (HP_3458A_1Y, 10.0, 10.00002, 80.50016e-6),
        # 24 hours, 10 V range: 0.5 ppm · 10.00002 V + 0.05 ppm · 10 V = 5.00001 + 0.5 = 5.50001 µV
        (HP_3458A_24H, 10.0, 10.00002, 5.50001e-6),
        # 90 days, 1 V range: 4.6 ppm · 1.000003 V + 0.3 ppm · 1 V = 4.6000138 + 0.3 = 4.9000138 µV
        (HP_3458A_90D, 1.0, 1.000003, 4.9000138e-6),
        # 1 year, 100 mV range: 9 ppm · 0.1 V + 3 ppm · 0.1 V = 0.9 + 0.3 = 1.2 µV
        (HP_3458A_1Y, 0.1, 0.1, 1.2e-6),
        # 1 year, 1000 V range at -1000 V: 10 ppm · 1000 V + 0.1 ppm · 1000 V = 10 mV + 0.1 mV = 10.1 mV
        (HP_3458A_1Y, 1000.0, -1000.0, 10.1e-3),
        # Option 002, 1 year, 10 V range: 4 ppm · 10 V + 0.05 ppm · 10 V = 40.5 µV
        (HP_3458A_OPT002_1Y, 10.0, 10.0, 40.5e-6),
    ],
)
def test_3458a_dc_voltage_tolerances_by_hand(spec: object, rng: float, reading: float, expected: float) -> None:
    assert dmm_tolerance(spec, "DCV", rng, reading) == pytest.approx(expected, rel=1e-9)  # type: ignore[arg-type]


def test_3458a_point_under_simple_acceptance_says_the_5520a_cannot_demonstrate_it() -> None:
    """3458A on 10 V, 1-year row 8 ppm + 0.05 ppm of range; five readings 10.000031, 10.000030, 10.000032,
    10.000031, 10.000031 V (mean 10.000031 V, E = 31 µV); tolerance 8e-6 · 10.000031 + 0.5e-6 = 80.500248 µV.
    5520A at 10 V: a = 140 µV -> u = 80.83 µV (rectangular): U ≈ 1.96 · 80.83 = 158 µV > tolerance, so the
    result says the reference cannot demonstrate the specification; simple acceptance: |E| <= tolerance -> pass."""
    readings = [10.000031, 10.000030, 10.000032, 10.000031, 10.000031]
    p = dmm_point(
        "DCV", 10.0, readings, dmm_range=10.0, resolution=1e-7, dmm=HP_3458A_1Y,
        calibrator_distribution="rectangular", rule="simple",
    )  # fmt: skip
    assert p.value == pytest.approx(31e-6, abs=1e-11)
    assert p.mpe == pytest.approx(8e-6 * 10.000031 + 0.05e-6 * 10.0, rel=1e-9)
    assert p.U is not None and p.mpe is not None and p.mpe < p.U
    assert p.conformity == "pass" and "simple acceptance" in p.rule
    assert "is not below the tolerance" in p.note
    assert "3458A 1 year DCV 10 V range row unverified" in p.note and "ACAL" in p.note
    assert "cross-checked" in p.evidence["tolerance_source"] and "5965-4971" in p.reference
    with pytest.raises(ValueError, match="no ACV rows"):
        dmm_point("ACV", 1.0, [1.0], dmm_range=1.0, resolution=1e-7, frequency=1000.0, dmm=HP_3458A_1Y)
