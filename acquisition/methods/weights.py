"""Calibration of weights by comparison with a reference weight (OIML R111-1:2004 Annex C).

Units in this module: masses, mass differences and indications in **g**; MPE, errors and their uncertainties in
results in **mg**; densities in **kg/m³**; temperature in **°C**, pressure in **hPa**, relative humidity in **%**.

* :func:`air_density` — CIPM-2007 equation (Picard et al., Metrologia 45 (2008) 149–155) or the approximation of
  OIML R111-1:2004 Annex E (E.3-1).
* :func:`cycle_differences` — ΔI per ABBA or ABA cycle (R111-1:2004 C.4.3).
* :func:`calibrate_weight` — conventional mass, budget per R111-1:2004 C.6 through the uncertainty engine, U (k = 2),
  and conformity to the class: |m_c − m_0| + U ≤ δm (R111-1:2004 5.3.1) and U ≤ δm/3 (5.2).
* :func:`sensitivity_from_weight`, :func:`resolution_u`, :func:`eccentricity_u` — the comparator terms of
  R111-1:2004 C.6.4.1–C.6.4.3.

The budget follows R111-1:2004 C.6 as this project reads it: C.6.1 weighing process (type A) u_w; C.6.2 reference
weight u(m_cr)² = (U/k)² + u_inst²; C.6.3 air buoyancy u_b; C.6.4 balance u_ba² = u_s² + u_d² + u_E² + u_ma²
(C.6.4.1 sensitivity, C.6.4.2 display resolution, C.6.4.3 eccentricity, C.6.4.4 magnetism); C.6.5 combined
u_c² = u_w² + u²(m_cr) + u_b² + u_ba²; U = k·u_c with k = 2. **Unverified**: the project's search tools reach only
the first pages of R111-1:2004, so these clause numbers and the C.6.4 formulas could not be checked against the
edition's text (see docs/methods/weights.md); each budget row's source says so.

Pure functions: no I/O; the run engine passes the readings.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from acquisition.methods.base import Budget, PointResult, Text, Words, budget_rows, finite, num
from uncertainty import Model, gum, normal, rectangular, triangular

R111 = "OIML R111-1:2004"
RHO_0 = 1.2
"""Reference air density ρ_0 for conventional mass, kg/m³ (OIML R111-1:2004 2.7 / OIML D 28)."""

CLASSES = ("E1", "E2", "F1", "F2", "M1", "M2", "M3")


@dataclass(frozen=True)
class RuleTable:
    """A rule table with the edition it was taken from. ``rows`` maps a key to its values; ``unit`` is theirs."""

    edition: str
    unit: str
    columns: tuple[str, ...]
    rows: Mapping[Any, tuple[float | None, ...]]
    note: str = ""


# nominal (g) -> MPE δm (mg) for E1, E2, F1, F2, M1, M2, M3; None where the class has no such weight.
# Rows 100 kg–5000 kg and the classes M1–2 and M2–3 are not encoded: not verified against the text.
R111_MPE_MG = RuleTable(
    edition="OIML R111-1:2004 Table 1",
    unit="mg",
    columns=CLASSES,
    rows={
        50_000: (25, 80, 250, 800, 2500, 8000, 25000),
        20_000: (10, 30, 100, 300, 1000, 3000, 10000),
        10_000: (5.0, 16, 50, 160, 500, 1600, 5000),
        5_000: (2.5, 8.0, 25, 80, 250, 800, 2500),
        2_000: (1.0, 3.0, 10, 30, 100, 300, 1000),
        1_000: (0.5, 1.6, 5.0, 16, 50, 160, 500),
        500: (0.25, 0.8, 2.5, 8.0, 25, 80, 250),
        200: (0.10, 0.3, 1.0, 3.0, 10, 30, 100),
        100: (0.05, 0.16, 0.5, 1.6, 5.0, 16, 50),
        50: (0.03, 0.10, 0.3, 1.0, 3.0, 10, 30),
        20: (0.025, 0.08, 0.25, 0.8, 2.5, 8.0, 25),
        10: (0.020, 0.06, 0.20, 0.6, 2.0, 6.0, 20),
        5: (0.016, 0.05, 0.16, 0.5, 1.6, 5.0, 16),
        2: (0.012, 0.04, 0.12, 0.4, 1.2, 4.0, 12),
        1: (0.010, 0.03, 0.10, 0.3, 1.0, 3.0, 10),
        0.5: (0.008, 0.025, 0.08, 0.25, 0.8, 2.5, None),
        0.2: (0.006, 0.020, 0.06, 0.20, 0.6, 2.0, None),
        0.1: (0.005, 0.016, 0.05, 0.16, 0.5, 1.6, None),
        0.05: (0.004, 0.012, 0.04, 0.12, 0.4, None, None),
        0.02: (0.003, 0.010, 0.03, 0.10, 0.3, None, None),
        0.01: (0.003, 0.008, 0.025, 0.08, 0.25, None, None),
        0.005: (0.003, 0.006, 0.020, 0.06, 0.20, None, None),
        0.002: (0.003, 0.006, 0.020, 0.06, 0.20, None, None),
        0.001: (0.003, 0.006, 0.020, 0.06, 0.20, None, None),
    },
    note="1 mg to 50 kg, classes E1 to M3; 100 kg to 5000 kg and M1-2/M2-3 not encoded (unverified)",
)

# material -> (assumed density, U at k = 2), kg/m³, for weights whose density was not measured.
R111_MATERIAL_DENSITY = RuleTable(
    edition="OIML R111-1:2004 B.7.9.3 Table B.7 (assumed densities of alloys; verify against the text)",
    unit="kg/m³",
    columns=("density", "U (k=2)"),
    rows={
        "platinum": (21_400.0, 150.0),
        "nickel silver": (8_600.0, 170.0),
        "brass": (8_400.0, 170.0),
        "stainless steel": (7_950.0, 140.0),
        "carbon steel": (7_700.0, 200.0),
        "iron": (7_800.0, 200.0),
        "cast iron (white)": (7_700.0, 400.0),
        "cast iron (grey)": (7_100.0, 600.0),
        "aluminium": (2_700.0, 130.0),
    },
)

AIR_DENSITY_FORMULA_REL_U = {
    # relative standard uncertainty of the formula itself
    "cipm2007": 22e-6,  # Picard et al. 2008, section 5 (uncertainty of the CIPM-2007 equation)
    "r111": 2e-4,  # OIML R111-1:2004 E.3 (approximation; stated for 900–1100 hPa, 10–30 °C, < 80 %RH)
}


def mpe_mg(nominal_g: float, weight_class: str) -> float:
    """MPE δm in mg of a weight of ``nominal_g`` grams in ``weight_class`` (OIML R111-1:2004 Table 1)."""
    nominal = finite("nominal", nominal_g, positive=True)
    if weight_class not in CLASSES:
        raise ValueError(
            f"weight class {weight_class!r} is not encoded; use one of {', '.join(CLASSES)} "
            "(M1-2 and M2-3 are not yet verified: pass mpe_mg explicitly)"
        )
    key = next((k for k in R111_MPE_MG.rows if math.isclose(k, nominal, rel_tol=1e-9)), None)
    if key is None:
        raise ValueError(
            f"no R111 nominal value {nominal_g} g in {R111_MPE_MG.edition} as encoded (1 mg to 50 kg, "
            "1-2-5 series); for 100 kg to 5000 kg pass mpe_mg explicitly"
        )
    value = R111_MPE_MG.rows[key][CLASSES.index(weight_class)]
    if value is None:
        raise ValueError(f"class {weight_class} has no {nominal_g} g weight ({R111_MPE_MG.edition})")
    return float(value)


# --------------------------------------------------------------------------------------------- air density


def _cipm2007(t: Any, p_hpa: Any, h: Any, x_co2: float) -> Any:
    """CIPM-2007 moist-air density (kg/m³), element-wise on floats or numpy arrays (t °C, p hPa, h %RH)."""
    T = t + 273.15
    p = p_hpa * 100.0
    # saturation vapour pressure (Pa) and enhancement factor: Picard et al. 2008, eqs. A1.6–A1.7
    p_sv = np.exp(1.2378847e-5 * T * T - 1.9121316e-2 * T + 33.93711047 - 6.3431645e3 / T)
    f = 1.00062 + 3.14e-8 * p + 5.6e-7 * t * t
    x_v = h / 100.0 * f * p_sv / p
    # compressibility factor (A1.4)
    Z = (
        1.0
        - p
        / T
        * (
            1.58123e-6
            - 2.9331e-8 * t
            + 1.1043e-10 * t * t
            + (5.707e-6 - 2.051e-8 * t) * x_v
            + (1.9898e-4 - 2.376e-6 * t) * x_v * x_v
        )
        + (p * p) / (T * T) * (1.83e-11 - 0.765e-8 * x_v * x_v)
    )
    M_a = (28.96546 + 12.011 * (x_co2 - 0.0004)) * 1e-3  # kg/mol (A1.3)
    M_v = 18.01528e-3  # kg/mol
    R = 8.314472  # J/(mol K)
    return p * M_a / (Z * R * T) * (1.0 - x_v * (1.0 - M_v / M_a))


def _r111_approx(t: Any, p_hpa: Any, h: Any) -> Any:
    """OIML R111-1:2004 E.3-1: ρ_a = (0.34848 p − 0.009 h exp(0.061 t)) / (273.15 + t), kg/m³."""
    return (0.34848 * p_hpa - 0.009 * h * np.exp(0.061 * t)) / (273.15 + t)


def _check_env(t: float, p: float, h: float) -> tuple[float, float, float]:
    t = finite("temperature (°C)", t)
    p = finite("pressure (hPa)", p, positive=True)
    h = finite("relative humidity (%)", h)
    if not -20.0 <= t <= 60.0:
        raise ValueError(f"temperature {t} °C is outside -20..60 °C; give it in degrees Celsius")
    if not 500.0 <= p <= 1200.0:
        raise ValueError(f"pressure {p} hPa is outside 500..1200 hPa; give it in hPa (1 hPa = 100 Pa)")
    if not 0.0 <= h <= 100.0:
        raise ValueError(f"relative humidity {h} % is outside 0..100 %; give it in percent, not as a fraction")
    return t, p, h


def air_density(
    t: float,
    p: float,
    h: float,
    *,
    formula: Literal["cipm2007", "r111"] = "cipm2007",
    x_co2: float = 0.0004,
) -> float:
    """Density of moist air in kg/m³ from temperature ``t`` (°C), pressure ``p`` (hPa) and humidity ``h`` (%RH).

    ``formula="cipm2007"`` is the CIPM-2007 equation (``x_co2``: CO2 mole fraction); ``"r111"`` the approximation
    of OIML R111-1:2004 E.3-1.
    """
    t, p, h = _check_env(t, p, h)
    if formula == "cipm2007":
        x = finite("x_co2", x_co2, nonneg=True)
        if x > 0.01:
            raise ValueError(f"x_co2 is a mole fraction (about 0.0004), got {x_co2}")
        return float(_cipm2007(t, p, h, x))
    if formula == "r111":
        return float(_r111_approx(t, p, h))
    raise ValueError(f"unknown air density formula {formula!r}; use 'cipm2007' or 'r111'")


@dataclass(frozen=True)
class AirDensity:
    """Air density ρ_a and its standard uncertainty (kg/m³) with the budget of t, p, h and the formula."""

    value: float
    u: float
    formula: str
    budget: dict[str, Any] = field(default_factory=dict)


def air_density_with_uncertainty(
    t: float,
    p: float,
    h: float,
    *,
    u_t: float,
    u_p: float,
    u_h: float,
    formula: Literal["cipm2007", "r111"] = "cipm2007",
    x_co2: float = 0.0004,
) -> AirDensity:
    """ρ_a (kg/m³) with u(ρ_a) propagated from standard uncertainties u_t (°C), u_p (hPa), u_h (%RH).

    The formula's own relative standard uncertainty (CIPM-2007: 22·10⁻⁶; R111 E.3-1: 2·10⁻⁴) is added as an input.
    """
    value = air_density(t, p, h, formula=formula, x_co2=x_co2)
    for name, u in (("u_t", u_t), ("u_p", u_p), ("u_h", u_h)):
        finite(name, u, nonneg=True)
    rel = AIR_DENSITY_FORMULA_REL_U[formula]
    x = float(x_co2)

    def rho(tt: Any, pp: Any, hh: Any, ff: Any) -> Any:
        base = _cipm2007(tt, pp, hh, x) if formula == "cipm2007" else _r111_approx(tt, pp, hh)
        return base * ff

    model = Model(rho, ("t", "p", "h", "formula"), ("rho_a",))
    res = gum(
        model,
        {
            "t": normal(float(t), float(u_t)),
            "p": normal(float(p), float(u_p)),
            "h": normal(float(h), float(u_h)),
            "formula": normal(1.0, rel),
        },
        coverage_factor=2.0,
        check_linearity=False,
    )["rho_a"]
    return AirDensity(value, res.u, formula, _budget_json(res.budget, "kg/m³"))


# --------------------------------------------------------------------------------------------- weighing


def cycle_differences(cycles: Sequence[Sequence[float]], scheme: Literal["ABBA", "ABA"] = "ABBA") -> list[float]:
    """ΔI per cycle in the readings' unit, A = reference weight, B = test weight (OIML R111-1:2004 C.4.3).

    ABBA cycle readings in weighing order ``[I_A1, I_B1, I_B2, I_A2]``: ΔI = (I_B1 − I_A1 − I_A2 + I_B2)/2.
    ABA cycle ``[I_A1, I_B, I_A2]``: ΔI = I_B − (I_A1 + I_A2)/2.
    """
    size = {"ABBA": 4, "ABA": 3}.get(scheme)
    if size is None:
        raise ValueError(f"unknown weighing scheme {scheme!r}; use 'ABBA' or 'ABA'")
    if isinstance(cycles, (str, bytes)) or len(cycles) == 0:
        raise ValueError("give at least one weighing cycle (a list of readings per cycle)")
    out = []
    for i, cyc in enumerate(cycles, start=1):
        if isinstance(cyc, (str, bytes)) or len(cyc) != size:
            raise ValueError(f"cycle {i}: an {scheme} cycle has {size} readings in weighing order, got {cyc!r}")
        r = [finite(f"cycle {i} reading {j}", v) for j, v in enumerate(cyc, start=1)]
        if scheme == "ABBA":
            out.append((r[1] - r[0] - r[3] + r[2]) / 2.0)
        else:
            out.append(r[1] - (r[0] + r[2]) / 2.0)
    return out


@dataclass(frozen=True)
class ReferenceWeight:
    """The reference weight: conventional mass (g) with its certificate U (g) at ``k``.

    ``density`` and ``u_density`` (standard) in kg/m³; None uses ``material`` (R111 Table B.7). ``drift`` is the
    half-width (g) of a rectangular instability since its calibration (R111-1:2004 C.6.2, u_inst), ``drift_source``
    where it came from (it goes into the budget row). ``air_density_at_calibration`` is ρ_al (kg/m³) of its last
    calibration, for the u_b correlation term; None means ρ_0.
    """

    conventional_mass: float
    U: float
    k: float = 2.0
    density: float | None = None
    u_density: float | None = None
    material: str = "stainless steel"
    drift: float = 0.0
    air_density_at_calibration: float | None = None
    drift_source: Words = ""


@dataclass(frozen=True)
class TestWeight:
    """The weight under calibration: nominal value (g), R111 class, density (kg/m³) as for the reference."""

    __test__ = False  # not a pytest test class

    nominal: float
    weight_class: str
    density: float | None = None
    u_density: float | None = None
    material: str = "stainless steel"


@dataclass(frozen=True)
class Comparator:
    """The mass comparator's terms (R111-1:2004 C.6.4), all in g except the dimensionless sensitivity.

    ``resolution`` d: u_d = (d/2)/√3·√2 = d/√6 (C.6.4.2: two readings per difference; a triangular of half-width d),
    None when not given (the row is then zero with a note). ``sensitivity`` S = indication change per unit mass
    (1 when the comparator indicates in g), with relative standard uncertainty ``u_sensitivity_rel``: Δm = ΔI/S,
    u_s = |Δm|·u_rel (C.6.4.1; see :func:`sensitivity_from_weight`). ``eccentricity_u`` u_E (C.6.4.3, see
    :func:`eccentricity_u`; rectangular) and ``magnetism_u`` u_ma (C.6.4.4) are standard uncertainties.
    ``other_half_width`` is a rectangular half-width for further comparator effects (EA-4/02 S2 "δm_C"); its row is
    left out when 0. ``sources`` and ``notes`` map a budget input (``sensitivity``, ``resolution``, ``eccentricity``,
    ``magnetism``) to where its value came from and, for a zero term, why it is zero.
    """

    resolution: float | None = None
    sensitivity: float = 1.0
    u_sensitivity_rel: float = 0.0
    eccentricity_u: float = 0.0
    magnetism_u: float = 0.0
    other_half_width: float = 0.0
    sources: Mapping[str, Words] = field(default_factory=dict)
    notes: Mapping[str, Words] = field(default_factory=dict)


def sensitivity_from_weight(m_s: float, u_m_s: float, dI_s: float, u_dI_s: float) -> tuple[float, float]:
    """Sensitivity S = ΔI_s/m_s and its relative standard uncertainty from a sensitivity weight (R111-1:2004
    C.6.4.1): u_rel(S)² = u²(m_s)/m_s² + u²(ΔI_s)/ΔI_s², so that u_s² = Δm²·u_rel² (C.6.4.1 as read here,
    unverified). ``m_s`` (g) and its standard uncertainty ``u_m_s`` (g); ``dI_s`` the indication change it gives
    (g) with standard uncertainty ``u_dI_s`` (g)."""
    m = finite("sensitivity weight m_s (g)", m_s, positive=True)
    dI = finite("indication change ΔI_s of the sensitivity weight (g)", dI_s, positive=True)
    u_m = finite("u(m_s) (g)", u_m_s, nonneg=True)
    u_dI = finite("u(ΔI_s) (g)", u_dI_s, nonneg=True)
    if not 0.5 <= dI / m <= 2.0:
        raise ValueError(
            f"the sensitivity weight of {m:g} g changed the indication by {dI:g} g (S = {dI / m:g}); give both in g "
            "(S should be near 1 for a comparator indicating in g)"
        )
    return dI / m, math.hypot(u_m / m, u_dI / dI)


def resolution_u(d: float) -> float:
    """u_d = (d/2)/√3 · √2 (g) for a digital comparator of scale interval ``d`` (g): two readings per difference
    (R111-1:2004 C.6.4.2)."""
    return finite("resolution d (g)", d, positive=True) / 2.0 / math.sqrt(3.0) * math.sqrt(2.0)


def eccentricity_u(D: float, d1: float, d2: float) -> float:
    """u_E = (d_1/d_2)·D/(2√3) (g), R111-1:2004 C.6.4.3 as read here (unverified): ``D`` (g) the difference between
    the largest and smallest indications of the comparator's eccentricity (off-centre) test, ``d1`` (mm) the
    estimated distance between the centres of the two weights on the pan, ``d2`` (mm) the distance from the pan's
    centre to the off-centre positions of that test. A rectangular of half-width (d_1/d_2)·D/2."""
    big_d = finite("eccentricity difference D (g)", D, nonneg=True)
    a = finite("distance d1 between the weights' centres (mm)", d1, nonneg=True)
    b = finite("distance d2 of the eccentricity test positions (mm)", d2, positive=True)
    return a / b * big_d / (2.0 * math.sqrt(3.0))


@dataclass(frozen=True)
class WeightCalibration:
    """Result of one weight calibration. Masses in g, deviation/U/MPE in mg, densities in kg/m³."""

    nominal: float
    weight_class: str
    conventional_mass: float
    deviation_mg: float
    u_mg: float
    U_mg: float
    k: float
    dof: float
    mpe_mg: float
    uncertainty_ok: bool
    conformity: str
    differences: tuple[float, ...]
    mean_difference: float
    buoyancy_correction: float
    air_density: float | None
    budget: Budget
    evidence: dict[str, Any]
    point_result: PointResult


def _budget_json(rows: Sequence[Any], unit: str) -> dict[str, Any]:
    return {"unit": unit, "rows": budget_rows(rows)}


def _density(name: str, density: float | None, u_density: float | None, material: str) -> tuple[float, float]:
    if density is None:
        row = R111_MATERIAL_DENSITY.rows.get(material)
        if row is None or row[0] is None or row[1] is None:
            raise ValueError(
                f"{name}: density unknown and material {material!r} not in {R111_MATERIAL_DENSITY.edition}; "
                f"give the density in kg/m³ or one of {', '.join(R111_MATERIAL_DENSITY.rows)}"
            )
        return float(row[0]), float(row[1]) / 2.0
    rho = finite(f"{name} density (kg/m³)", density, positive=True)
    if not 1000.0 <= rho <= 25_000.0:
        raise ValueError(f"{name} density {rho} is outside 1000..25000 kg/m³; give it in kg/m³, not g/cm³")
    u = 0.0 if u_density is None else finite(f"{name} u_density", u_density, nonneg=True)
    return rho, u


def r111_conformity(deviation_mg: float, U_mg: float, mpe: float) -> tuple[str, bool, str]:
    """Conformity of a weight to its class: ``(conformity, U ≤ δm/3, note)``; all arguments in mg.

    OIML R111-1:2004 5.3.1: m_0 − (δm − U) ≤ m_c ≤ m_0 + (δm − U), i.e. |m_c − m_0| + U ≤ δm ("pass", else
    "fail"); 5.2: U ≤ δm/3. A deviation within δm − U with U > δm/3 is ``notAssessed``: the calibration is not
    good enough to verify the class.
    """
    dev = finite("deviation", deviation_mg)
    U = finite("U", U_mg, nonneg=True)
    m = finite("MPE", mpe, positive=True)
    # the limits are equalities a certificate meets in decimal (0.1 mg = 0.3 mg / 3): compared with a relative slack
    # of 1e-9, far below any stated digit, so that binary rounding does not move a value at the limit outside it
    slack = 1.0 + 1e-9
    u_ok = m * slack >= 3.0 * U
    within = abs(dev) + U <= m * slack
    if within and u_ok:
        return "pass", True, ""
    if within:
        return "notAssessed", False, f"U = {U:g} mg exceeds δm/3 = {m / 3:g} mg (R111-1:2004 5.2): class not verified"
    note = f"|m_c − m_0| + U = {abs(dev) + U:g} mg exceeds δm = {m:g} mg (R111-1:2004 5.3.1)"
    if not u_ok:
        note += f"; U also exceeds δm/3 = {m / 3:g} mg (5.2)"
    return "fail", u_ok, note


_MODEL_TEXT = (
    "m_ct = m_cr + δm_inst + ΔI/S + C_b + δm_s + δm_d + δm_E + δm_ma "
    "(OIML R111-1:2004 C.4.3, C.6; clause numbers unverified)"
)
_SOURCES: dict[str, Text] = {
    "m_cr": Text(
        "khối lượng quy ước của quả cân chuẩn, U/k theo giấy chứng nhận (R111-1:2004 C.6.2)",
        "reference weight's conventional mass, certificate U/k (R111-1:2004 C.6.2)",
    ),
    "drift_r": Text(
        "độ không ổn định của quả cân chuẩn u_inst, phân bố chữ nhật (R111-1:2004 C.6.2)",
        "instability of the reference weight u_inst, rectangular (R111-1:2004 C.6.2)",
    ),
    "dI": Text(
        "quá trình cân, loại A: u_w = s/√n của các hiệu số chu trình (R111-1:2004 C.6.1)",
        "weighing process, type A: u_w = s/√n of the cycle differences (R111-1:2004 C.6.1)",
    ),
    "buoyancy": Text(
        "hiệu chính lực đẩy không khí C_b = m_cr(ρ_a − ρ_0)(1/ρ_t − 1/ρ_r), u_b (R111-1:2004 C.6.3)",
        "air buoyancy correction C_b = m_cr(ρ_a − ρ_0)(1/ρ_t − 1/ρ_r), u_b (R111-1:2004 C.6.3)",
    ),
    "sensitivity": Text(
        "độ nhạy của cân so sánh u_s = |Δm|·u_rel(S) (R111-1:2004 C.6.4.1)",
        "comparator sensitivity u_s = |Δm|·u_rel(S) (R111-1:2004 C.6.4.1)",
    ),
    "resolution": Text(
        "độ phân giải hiển thị u_d = (d/2)/√3·√2, hai số đọc cho mỗi hiệu số (R111-1:2004 C.6.4.2)",
        "display resolution u_d = (d/2)/√3·√2, two readings per difference (R111-1:2004 C.6.4.2)",
    ),
    "eccentricity": Text(
        "tải lệch tâm u_E = (d_1/d_2)·D/(2√3), phân bố chữ nhật (R111-1:2004 C.6.4.3)",
        "eccentric loading u_E = (d_1/d_2)·D/(2√3), rectangular (R111-1:2004 C.6.4.3)",
    ),
    "magnetism": Text("tương tác từ u_ma (R111-1:2004 C.6.4.4)", "magnetic interaction u_ma (R111-1:2004 C.6.4.4)"),
    "comparator": Text(
        "các ảnh hưởng khác của cân so sánh, phân bố chữ nhật (EA-4/02 M:2013 S2 δm_C)",
        "further comparator effects, rectangular (EA-4/02 M:2013 S2 δm_C)",
    ),
}
_UNVERIFIED = Text(
    "; điều khoản và công thức theo cách đọc ở đây, chưa kiểm chứng với văn bản R111-1:2004",
    "; clause and formula as read here, unverified against the R111-1:2004 text",
)


def calibrate_weight(
    test: TestWeight,
    reference: ReferenceWeight,
    cycles: Sequence[Sequence[float]],
    *,
    scheme: Literal["ABBA", "ABA"] = "ABBA",
    comparator: Comparator | None = None,
    air_density: float | AirDensity | None = None,
    u_air_density: float = 0.0,
    buoyancy_half_width: float | None = None,
    pooled_s: float | None = None,
    pooled_dof: float | None = None,
    k: float = 2.0,
    mpe: float | None = None,
) -> WeightCalibration:
    """Conventional mass of ``test`` by comparison with ``reference`` (OIML R111-1:2004 C.4, C.6).

    ``cycles``: comparator readings (g) per cycle in weighing order (see :func:`cycle_differences`).
    m_ct = m_cr + ΔI_mean/S + m_cr (ρ_a − ρ_0)(1/ρ_t − 1/ρ_r) — the last term is (ρ_a − ρ_0)(V_t − V_r) with
    V = m/ρ (C.4.3). ``air_density`` ρ_a (kg/m³, or an :class:`AirDensity` carrying its u) with
    ``u_air_density``; or, without a buoyancy correction, ``buoyancy_half_width`` (g) bounds its neglect
    (rectangular, as in EA-4/02 S2). Type A (C.6.1): ``pooled_s`` (g, with ``pooled_dof``) gives u_w = s_p/√n;
    otherwise the standard deviation of the n ≥ 2 cycle differences. Reference (C.6.2): U/k and the drift u_inst
    (rectangular, half-width ``reference.drift``). Buoyancy u_b (C.6.3). Comparator (C.6.4): sensitivity,
    resolution, eccentricity and magnetism from ``comparator``, each its own budget row. U = k·u_c with k = 2;
    ``mpe`` (mg) overrides the Table 1 lookup. The budget is a :class:`acquisition.methods.base.Budget` (g); the
    evidence holds ``conventional_mass_g``, ``u_c_g``, ``cycles``, ``scheme``, ``differences_g``, ``air_density_kg_m3``,
    ``buoyancy_correction_g`` and ``U_max_mg``.
    """
    if not isinstance(test, TestWeight) or not isinstance(reference, ReferenceWeight):
        raise ValueError("test must be a TestWeight and reference a ReferenceWeight")
    comp = comparator or Comparator()
    nominal = finite("nominal", test.nominal, positive=True)
    m_cr = finite("reference conventional mass (g)", reference.conventional_mass, positive=True)
    if abs(m_cr - nominal) > 0.01 * nominal:
        raise ValueError(
            f"reference weight {m_cr} g is not of the test weight's nominal value {nominal} g; "
            "compare weights of equal nominal value (give masses in g)"
        )
    U_r = finite("reference U", reference.U, nonneg=True)
    k_r = finite("reference k", reference.k, positive=True)
    drift = finite("reference drift", reference.drift, nonneg=True)
    k = finite("k", k, positive=True)
    delta_m = mpe_mg(nominal, test.weight_class) if mpe is None else finite("mpe (mg)", mpe, positive=True)
    S = finite("comparator sensitivity", comp.sensitivity, positive=True)
    u_s_rel = finite("u_sensitivity_rel", comp.u_sensitivity_rel, nonneg=True)

    diffs = cycle_differences(cycles, scheme)
    n = len(diffs)
    mean_dI = statistics.fmean(diffs)
    if pooled_s is not None:
        s = finite("pooled_s (g)", pooled_s, nonneg=True)
        dof_w = math.inf if pooled_dof is None else finite("pooled_dof", pooled_dof, positive=True)
    elif n >= 2:
        s = statistics.stdev(diffs)
        dof_w = float(n - 1)
    else:
        raise ValueError("one cycle gives no standard deviation: weigh at least 2 cycles or give pooled_s")
    u_w = s / math.sqrt(n)
    dm = mean_dI / S

    sources = dict(_SOURCES)
    notes: dict[str, Words] = {}
    if reference.drift_source:
        sources["drift_r"] += ": " + reference.drift_source
    if pooled_s is not None:
        sources["dI"] = (
            Text(
                "quá trình cân, loại A: u_w = s_p/√n, s_p gộp = ",
                "weighing process, type A: u_w = s_p/√n, pooled s_p = ",
            )
            + num(s, ".3g")
            + f" g, n = {n} (R111-1:2004 C.6.1)"
        )
    else:
        sources["dI"] += f", n = {n}"
    inputs: dict[str, Any] = {
        "m_cr": normal(m_cr, U=U_r, k=k_r),
        "drift_r": rectangular(0.0, drift),
        "dI": normal(dm, u_w, dof=None if math.isinf(dof_w) else dof_w),
    }
    rho_a: float | None = None
    C_b = 0.0
    if buoyancy_half_width is not None:
        if air_density is not None:
            raise ValueError("give either air_density (buoyancy corrected) or buoyancy_half_width (not), not both")
        inputs["buoyancy"] = rectangular(0.0, finite("buoyancy_half_width (g)", buoyancy_half_width, nonneg=True))
        sources["buoyancy"] = Text(
            "không hiệu chính lực đẩy không khí: giới hạn chữ nhật của ảnh hưởng (EA-4/02 M:2013 S2 δm_B)",
            "air buoyancy not corrected: rectangular bound of its effect (EA-4/02 M:2013 S2 δm_B)",
        )
    else:
        if air_density is None:
            raise ValueError(
                "air_density (kg/m³) is needed for the buoyancy correction (see air_density()); or give "
                "buoyancy_half_width (g) to bound an uncorrected buoyancy effect"
            )
        if isinstance(air_density, AirDensity):
            rho_a, u_rho_a = air_density.value, air_density.u
        else:
            rho_a = finite("air_density (kg/m³)", air_density, positive=True)
            u_rho_a = finite("u_air_density (kg/m³)", u_air_density, nonneg=True)
        if not 0.5 <= rho_a <= 1.5:
            raise ValueError(f"air density {rho_a} is outside 0.5..1.5 kg/m³; give it in kg/m³")
        rho_t, u_rho_t = _density("test weight", test.density, test.u_density, test.material)
        rho_r, u_rho_r = _density("reference weight", reference.density, reference.u_density, reference.material)
        rho_al = (
            RHO_0
            if reference.air_density_at_calibration is None
            else finite("air_density_at_calibration", reference.air_density_at_calibration, positive=True)
        )
        C_b = m_cr * (rho_a - RHO_0) * (1.0 / rho_t - 1.0 / rho_r)
        # R111-1:2004 C.6.3 (u_b), the third term carrying the correlation via ρ_al
        u_b2 = (
            (m_cr * (rho_r - rho_t) / (rho_r * rho_t)) ** 2 * u_rho_a**2
            + (m_cr * (rho_a - RHO_0)) ** 2 * u_rho_t**2 / rho_t**4
            + m_cr**2 * (rho_a - RHO_0) * ((rho_a - RHO_0) - 2.0 * (rho_al - RHO_0)) * u_rho_r**2 / rho_r**4
        )
        inputs["buoyancy"] = normal(C_b, math.sqrt(max(u_b2, 0.0)))
        sources["buoyancy"] += (
            "; ρ_a = "
            + num(rho_a, ".5f")
            + " ± "
            + num(u_rho_a, ".2g")
            + " kg/m³, ρ_t = "
            + num(rho_t)
            + " ± "
            + num(u_rho_t)
            + ", ρ_r = "
            + num(rho_r)
            + " ± "
            + num(u_rho_r)
            + " kg/m³ (u), ρ_al = "
            + num(rho_al)
            + " kg/m³"
        )
    # balance (C.6.4): every term its own row, a zero one with the reason
    inputs["sensitivity"] = normal(0.0, abs(dm) * u_s_rel)
    if comp.resolution is not None:
        inputs["resolution"] = triangular(0.0, finite("resolution d (g)", comp.resolution, positive=True))
        sources["resolution"] += "; d = " + num(comp.resolution, ".3g") + " g"
    else:
        inputs["resolution"] = triangular(0.0, 0.0)
    e_u = finite("eccentricity_u (g)", comp.eccentricity_u, nonneg=True)
    inputs["eccentricity"] = rectangular(0.0, e_u * math.sqrt(3.0))
    inputs["magnetism"] = normal(0.0, finite("magnetism_u (g)", comp.magnetism_u, nonneg=True))
    if finite("other_half_width (g)", comp.other_half_width, nonneg=True) > 0:
        inputs["comparator"] = rectangular(0.0, comp.other_half_width)
    for name in ("sensitivity", "resolution", "eccentricity", "magnetism"):
        if comp.sources.get(name):
            sources[name] += ": " + comp.sources[name]
        sources[name] += _UNVERIFIED
    if comp.resolution is None:
        notes["resolution"] = comp.notes.get("resolution") or Text(
            "bằng không: calibrate_weight không được cho độ phân giải hiển thị",
            "zero: no display resolution given to calibrate_weight",
        )
    zero = Text("bằng không: ", "zero: ")
    defaults: dict[str, Words] = {
        "drift_r": zero
        + (
            reference.drift_source
            or Text("không có độ trôi nào được khai báo cho quả cân chuẩn", "no drift given for the reference weight")
        ),
        "sensitivity": zero
        + (
            Text("hiệu số trung bình bằng 0", "the mean difference is 0")
            if dm == 0 and u_s_rel > 0
            else Text("không có độ không đảm bảo đo của độ nhạy", "no sensitivity uncertainty given")
        ),
        "eccentricity": zero + Text("không có thành phần độ lệch tâm", "no eccentricity term given"),
        "magnetism": zero + Text("không có thành phần từ tính", "no magnetism term given"),
        "dI": zero + Text("các hiệu số chu trình bằng nhau", "the cycle differences were equal"),
        "buoyancy": zero
        + Text(
            "mật độ không khí không có độ không đảm bảo đo, hoặc khối lượng riêng của hai quả cân bằng nhau",
            "no air density uncertainty, or equal densities of the weights",
        ),
    }
    for name, why in defaults.items():
        if inputs[name].u == 0.0:
            notes[name] = comp.notes.get(name) or why

    names = list(inputs)
    model = Model.from_expression(" + ".join(names), measurand="m_ct", inputs=names)
    out = gum(model, inputs, coverage_factor=k, check_linearity=False)["m_ct"]
    m_ct = out.value
    dev_mg = (m_ct - nominal) * 1000.0
    U_mg = out.U * 1000.0
    conformity, u_ok, note = r111_conformity(dev_mg, U_mg, delta_m)
    budget = Budget.of(out, unit="g", model=_MODEL_TEXT, describe=sources, notes=notes)
    evidence = {
        "conventional_mass_g": m_ct,
        "u_c_g": out.u,
        "cycles": n,
        "scheme": scheme,
        "differences_g": diffs,
        "air_density_kg_m3": rho_a,
        "buoyancy_correction_g": C_b,
        "U_max_mg": delta_m / 3.0,
    }
    pr = PointResult(
        quantity="conventional mass deviation (m_c - m_0)",
        point=nominal,
        point_unit="g",
        value=dev_mg,
        unit="mg",
        U=U_mg,
        k=k,
        mpe=delta_m,
        conformity=conformity,
        rule="R111-1:2004 5.3.1 |m_c − m_0| + U ≤ δm, and 5.2 U ≤ δm/3",
        reference=f"OIML R111-1:2004 Annex C ({scheme}), {R111_MPE_MG.edition} class {test.weight_class}",
        budget=budget,
        evidence=evidence,
        note=(f"value is m_c − m_0; m_c = {m_ct:.7f} g. " + note).strip(),
    )
    return WeightCalibration(
        nominal=nominal,
        weight_class=test.weight_class,
        conventional_mass=m_ct,
        deviation_mg=dev_mg,
        u_mg=out.u * 1000.0,
        U_mg=U_mg,
        k=k,
        dof=out.dof,
        mpe_mg=delta_m,
        uncertainty_ok=u_ok,
        conformity=conformity,
        differences=tuple(diffs),
        mean_difference=mean_dI,
        buoyancy_correction=C_b,
        air_density=rho_a,
        budget=budget,
        evidence=evidence,
        point_result=pr,
    )
