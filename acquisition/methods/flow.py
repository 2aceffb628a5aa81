"""Water meters (OIML R49 / ISO 4064) against a master meter, and flow-meter error curves: pure functions.

Units (fixed for the whole module): flow rates in m³/h, volumes in L, relative errors and MPEs in % (of the
reference volume), temperatures in °C, densities in kg/m³, masses in kg.

Model of one test point (n runs, each with start/stop readings of the meter under test and the master meter)::

    V_ref,i = V_master,i / (1 + e_master/100)              master's certificate error e_master (%) at that flow rate
    E_i     = 100 (V_meter,i - V_ref,i) / V_ref,i          (%)
    E       = mean(E_i) + δE_T + c_m (δm_start + δm_stop) - c_r (δr_start + δr_stop) - c_e (δe_master + δe_drift)

δm/δr: rounding of each register reading, rectangular ±d/2 (u = d/√12); δe_master: normal, U/k from the master's
certificate; mean(E_i): type A, s/√n with n − 1 degrees of freedom (n = 1: no repeatability term, said in the
note and the budget row). δE_T: the water temperature difference between the meters (rectangular, ±100·β·ΔT %,
β the expansion coefficient of water); δe_drift: the master's drift since its calibration (rectangular, from its
certificate history). The budget is a ``methods.base.Budget`` (each row's source, unit and note).
Sensitivities (first order, at the mean volumes): c_m = 100/V_ref, c_r = 100 V_meter/(V_master V_ref),
c_e = (100 + E)/(100 + e_master). U = k u_c with k = t_95(ν_eff) (Welch–Satterthwaite) from ``uncertainty.gum``.

Conformity: simple acceptance (ILAC G8:09/2019 4.2.1, guard band w = 0) against the MPE of OIML R49-1:2013 4.2 —
the rule of legal verification, where the MPE itself is the limit; ``rule="guarded"`` is available for calibration
customers who ask for it. The note warns when U exceeds one third of the MPE (verify: R49-2 asks the test
uncertainty to be at most 1/5 of the MPE for type evaluation and 1/3 for verification — not checked against the
standard's text here).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from acquisition.methods.base import Budget, PointResult, Text, Words, finite, num
from uncertainty import Model, decide, fit_line_wls, fit_polynomial, gum, normal, rectangular

__all__ = [
    "R49_MPE",
    "R49_TEST_FLOW_RANGES",
    "ErrorCurve",
    "FlowRates",
    "MPETable",
    "MasterCurvePoint",
    "MasterRun",
    "Verification",
    "allowed_flow_range",
    "flow_meter_error_curve",
    "flow_rates",
    "gravimetric_volume",
    "master_error_at",
    "mpe_percent",
    "water_density",
    "water_expansion",
    "water_meter_point",
    "water_meter_verification",
    "zone",
]


# ----------------------------------------------------------------------------------------------- rule tables
@dataclass(frozen=True)
class MPETable:
    """MPE rows ``(accuracy class, zone, t_max °C, mpe %)``: the first row with t <= t_max applies."""

    edition: str
    rows: tuple[tuple[int, str, float, float], ...]
    note: str = ""


#: OIML R49-1:2013 4.2 (accuracy classes 1 and 2; upper zone Q2 <= Q <= Q4, lower zone Q1 <= Q < Q2). The water
#: temperature limit is 30 °C: at or below it the first row applies, above it the second.
R49_MPE = MPETable(
    edition="OIML R49-1:2013 4.2 (= ISO 4064-1:2014 4.2)",
    rows=(
        (1, "upper", 30.0, 1.0),
        (1, "upper", math.inf, 2.0),
        (1, "lower", math.inf, 3.0),
        (2, "upper", 30.0, 2.0),
        (2, "upper", math.inf, 3.0),
        (2, "lower", math.inf, 5.0),
    ),
)


@dataclass(frozen=True)
class FlowRangeTable:
    """Allowed actual flow during the test at each nominal point, as factors ``(low, high)`` of that flow rate."""

    edition: str
    rows: tuple[tuple[str, float, float], ...]
    verified: bool
    note: str = ""


#: Deviation of the actual test flow rate from the nominal one. From the test-method part of R49/ISO 4064
#: (R49-2:2013 7.4 / ISO 4064-2:2014 7.4, "intrinsic errors"): the flow stays at or above Q1 and Q2 (up to +10 %)
#: and at or below Q3 (down to -10 %), so the test never leaves the zone it is meant for.
R49_TEST_FLOW_RANGES = FlowRangeTable(
    edition="OIML R49-2:2013 7.4 (= ISO 4064-2:2014 7.4)",
    rows=(("Q1", 1.0, 1.1), ("Q2", 1.0, 1.1), ("Q3", 0.9, 1.0), ("Q4", 0.95, 1.0)),
    verified=False,
    note="factors recalled from the standard, not checked against its text in this repository; verify",
)


# ----------------------------------------------------------------------------------------------- flow rates
@dataclass(frozen=True)
class FlowRates:
    """A water meter's rated flow rates (m³/h) and ratio R = Q3/Q1 (OIML R49-1:2013 3.1 / 4.1)."""

    q1: float
    q2: float
    q3: float
    q4: float
    r: float

    def nominal(self, name: str) -> float:
        """The flow rate named ``Q1``..``Q4`` (m³/h)."""
        key = name.strip().lower()
        if key not in ("q1", "q2", "q3", "q4"):
            raise ValueError(f"unknown test point {name!r}; use Q1, Q2, Q3 or Q4")
        return float(getattr(self, key))


def flow_rates(q3: float, r: float) -> FlowRates:
    """Q1 = Q3/R, Q2 = 1.6 Q1, Q4 = 1.25 Q3 (OIML R49-1:2013 4.1.2, 4.1.4, 4.1.5); Q3 in m³/h, R > 1."""
    q3_f = finite("Q3 (m³/h)", q3, positive=True)
    r_f = finite("R (Q3/Q1)", r, positive=True)
    if r_f <= 1.6:
        raise ValueError(f"R = Q3/Q1 must be > 1.6 (so that Q2 = 1.6 Q1 < Q3), got {r_f}; check the meter's marking")
    q1 = q3_f / r_f
    return FlowRates(q1=q1, q2=1.6 * q1, q3=q3_f, q4=1.25 * q3_f, r=r_f)


def zone(rates: FlowRates, q: float) -> str:
    """``"lower"`` for Q1 <= q < Q2, ``"upper"`` for Q2 <= q <= Q4 (q in m³/h); outside [Q1, Q4] is an error."""
    q_f = finite("flow rate (m³/h)", q, positive=True)
    if q_f < rates.q1 or q_f > rates.q4:
        raise ValueError(
            f"flow rate {q_f:g} m³/h is outside the meter's rated range Q1 = {rates.q1:g} .. Q4 = {rates.q4:g} m³/h;"
            " no MPE applies there — adjust the flow"
        )
    return "lower" if q_f < rates.q2 else "upper"


def mpe_percent(
    accuracy_class: int, rates: FlowRates, q: float, water_temperature: float, table: MPETable = R49_MPE
) -> float:
    """MPE (%, symmetric ±) for a class 1 or 2 meter at flow rate q (m³/h) and water temperature (°C)."""
    if accuracy_class not in (1, 2) or isinstance(accuracy_class, bool):
        raise ValueError(f"accuracy class must be 1 or 2 (OIML R49-1:2013 4.2), got {accuracy_class!r}")
    t = finite("water temperature (°C)", water_temperature)
    z = zone(rates, q)
    for cls, zn, t_max, mpe in table.rows:
        if cls == accuracy_class and zn == z and t <= t_max:
            return mpe
    raise ValueError(f"{table.edition}: no MPE row for class {accuracy_class}, {z} zone, {t} °C")  # pragma: no cover


def allowed_flow_range(
    rates: FlowRates, nominal: str, table: FlowRangeTable = R49_TEST_FLOW_RANGES
) -> tuple[float, float]:
    """The (low, high) actual flow rates (m³/h) allowed when testing at the nominal point ``Q1``..``Q4``."""
    q = rates.nominal(nominal)
    for name, lo, hi in table.rows:
        if name == nominal.strip().upper():
            return lo * q, hi * q
    raise ValueError(f"{table.edition}: no flow range for {nominal!r}")  # pragma: no cover


# ----------------------------------------------------------------------------------------------- master meter
@dataclass(frozen=True)
class MasterCurvePoint:
    """One point of the master meter's certificate: flow rate (m³/h), its error (%), U (%) and k."""

    flow_rate: float
    error: float
    U: float
    k: float = 2.0


def master_error_at(curve: Sequence[MasterCurvePoint], q: float) -> tuple[float, float, float]:
    """Master meter error (%), U (%) and k at flow rate q (m³/h), linearly interpolated in its certificate curve.

    The larger U of the two neighbouring points is used (and its k); no extrapolation beyond the certified range.
    """
    q_f = finite("flow rate (m³/h)", q, positive=True)
    if not curve:
        raise ValueError("the master meter's certificate curve is empty; give at least one point")
    pts = sorted(curve, key=lambda p: p.flow_rate)
    for p in pts:
        finite("certificate flow rate (m³/h)", p.flow_rate, positive=True)
        finite("certificate error (%)", p.error)
        if not (math.isfinite(p.U) and p.U >= 0) or not (math.isfinite(p.k) and p.k > 0):
            raise ValueError(f"certificate point at {p.flow_rate:g} m³/h: U must be >= 0 and k > 0")
    tol = 1e-9 * q_f
    if q_f < pts[0].flow_rate - tol or q_f > pts[-1].flow_rate + tol:
        raise ValueError(
            f"flow rate {q_f:g} m³/h is outside the master meter's certified range "
            f"{pts[0].flow_rate:g} .. {pts[-1].flow_rate:g} m³/h; use a master certified there"
        )
    for a, b in itertools.pairwise(pts):
        if a.flow_rate - tol <= q_f <= b.flow_rate + tol:
            span = b.flow_rate - a.flow_rate
            w = 0.0 if span == 0 else (q_f - a.flow_rate) / span
            w = min(1.0, max(0.0, w))
            worst = a if a.U / a.k >= b.U / b.k else b
            return a.error + w * (b.error - a.error), worst.U, worst.k
    p = pts[0]
    return p.error, p.U, p.k


@dataclass(frozen=True)
class MasterRun:
    """One run: register readings (L) of the meter under test and of the master meter at start and stop."""

    meter_start: float
    meter_stop: float
    master_start: float
    master_stop: float


# ----------------------------------------------------------------------------------------------- gravimetric
def water_density(t: float) -> float:
    """Density of air-free pure water (kg/m³) at t (°C), 0 <= t <= 40, at 101.325 kPa.

    Tanaka et al., Metrologia 38 (2001) 301, eq. (1) (the CIPM recommended formula):
    ρ = a5 [1 − (t + a1)² (t + a2) / (a3 (t + a4))].
    """
    t_f = finite("water temperature (°C)", t)
    if not 0.0 <= t_f <= 40.0:
        raise ValueError(f"water temperature {t_f} °C is outside 0..40 °C, where the Tanaka formula holds")
    a1, a2, a3, a4, a5 = -3.983035, 301.797, 522528.9, 69.34881, 999.974950
    return a5 * (1.0 - (t_f + a1) ** 2 * (t_f + a2) / (a3 * (t_f + a4)))


def gravimetric_volume(
    balance_indication: float,
    water_temperature: float,
    air_density: float = 1.2,
    reference_density: float = 8000.0,
) -> float:
    """Reference volume (L) from the net balance indication (kg) of collected water.

    m = I (1 − ρ_a/ρ_ref) / (1 − ρ_a/ρ_w) corrects the buoyancy (balance adjusted with weights of density
    ρ_ref = 8000 kg/m³, OIML R111-1:2004); V = m/ρ_w(t) with ρ_w from :func:`water_density`. 1000 L/m³.
    """
    i = finite("net balance indication (kg)", balance_indication, positive=True)
    rho_a = finite("air density (kg/m³)", air_density, positive=True)
    rho_ref = finite("reference weights density (kg/m³)", reference_density, positive=True)
    rho_w = water_density(water_temperature)
    mass = i * (1.0 - rho_a / rho_ref) / (1.0 - rho_a / rho_w)
    return 1000.0 * mass / rho_w


# ----------------------------------------------------------------------------------------------- one point
_EXPRESSION = "E_bar + dE_T + c_m*(dm_start + dm_stop) - c_r*(dr_start + dr_stop) - c_e*(de_master + de_drift)"
_INPUTS = ("E_bar", "dE_T", "dm_start", "dm_stop", "dr_start", "dr_stop", "de_master", "de_drift")
_MODEL_TEXT = (
    "E = mean(E_i) + δE_T + c_m (δm_start + δm_stop) − c_r (δr_start + δr_stop) − c_e (δe_master + δe_drift), "
    "E_i = 100 (V_meter − V_ref)/V_ref, V_ref = V_master/(1 + e_master/100)"
)
#: each input's source: what it is and the clause it comes from (OIML R49-2:2013 7.4 is the master meter method;
#: GUM JCGM 100:2008 clauses for the evaluation)
_SOURCES: dict[str, Text] = {
    "E_bar": Text(
        "sai số tương đối trung bình của các lần chạy, E_i = 100 (V_meter − V_ref)/V_ref (OIML R49-2:2013 7.4); "
        "loại A, s/√n, ν = n − 1 (GUM 4.2.3)",
        "mean relative error of the runs, E_i = 100 (V_meter − V_ref)/V_ref (OIML R49-2:2013 7.4); type A, "
        "s/√n, ν = n − 1 (GUM 4.2.3)",
    ),
    "dE_T": Text(
        "thay đổi thể tích giữa đồng hồ cần hiệu chuẩn và đồng hồ chuẩn do chênh lệch nhiệt độ nước (giãn nở của "
        "nước, β từ khối lượng riêng của nước theo Tanaka et al. 2001)",
        "volume change between meter and master from a water temperature difference (expansion of water, "
        "β from the Tanaka et al. 2001 density)",
    ),
    "dm_start": Text(
        "làm tròn số đọc đầu của đồng hồ cần hiệu chuẩn, phân bố chữ nhật ±d/2 (GUM F.2.2.1)",
        "rounding of the meter's start reading, rectangular ±d/2 (GUM F.2.2.1)",
    ),
    "dm_stop": Text(
        "làm tròn số đọc cuối của đồng hồ cần hiệu chuẩn, phân bố chữ nhật ±d/2 (GUM F.2.2.1)",
        "rounding of the meter's stop reading, rectangular ±d/2 (GUM F.2.2.1)",
    ),
    "dr_start": Text(
        "làm tròn số đọc đầu của đồng hồ chuẩn, phân bố chữ nhật ±d/2 (GUM F.2.2.1)",
        "rounding of the master's start reading, rectangular ±d/2 (GUM F.2.2.1)",
    ),
    "dr_stop": Text(
        "làm tròn số đọc cuối của đồng hồ chuẩn, phân bố chữ nhật ±d/2 (GUM F.2.2.1)",
        "rounding of the master's stop reading, rectangular ±d/2 (GUM F.2.2.1)",
    ),
    "de_master": Text(
        "sai số của đồng hồ chuẩn tại lưu lượng này: U/k theo giấy chứng nhận hiệu chuẩn của nó (nội suy; lấy U lớn "
        "hơn của hai điểm lân cận)",
        "master meter's error at this flow rate: its calibration certificate's U/k (interpolated; the "
        "larger U of the neighbouring points)",
    ),
    "de_drift": Text(
        "độ trôi của đồng hồ chuẩn kể từ lần hiệu chuẩn, phân bố chữ nhật",
        "master meter's drift since its calibration, rectangular",
    ),
}
_UNITS = {
    "E_bar": "%",
    "dE_T": "%",
    "dm_start": "L",
    "dm_stop": "L",
    "dr_start": "L",
    "dr_stop": "L",
    "de_master": "%",
    "de_drift": "%",
}


def water_expansion(t: float) -> float:
    """Volume expansion coefficient β = −(1/ρ)(dρ/dt) of water (1/K) at t (°C), from :func:`water_density`
    (Tanaka et al. 2001) by a central difference of ±0.01 K: 2.07·10⁻⁴ /K at 20 °C."""
    t_f = finite("water temperature (°C)", t)
    lo, hi = max(t_f - 0.01, 0.0), min(t_f + 0.01, 40.0)
    return -(water_density(hi) - water_density(lo)) / (hi - lo) / water_density(t_f)


def _notes(n: int, master_U: float, delta_t: float, drift: float) -> dict[str, Words]:
    """Why a term of the budget is zero (METROLOGY: a term left at zero says why in its row), in Vietnamese and
    English."""
    notes: dict[str, Words] = {}
    if delta_t == 0:
        notes["dE_T"] = Text(
            "bằng không: coi đồng hồ cần hiệu chuẩn và đồng hồ chuẩn ở cùng một nhiệt độ nước "
            "(temperature_difference_k = 0)",
            "zero: meter and master are taken to be at one water temperature (temperature_difference_k = 0)",
        )
    if drift == 0:
        notes["de_drift"] = Text(
            "bằng không: sai số của đồng hồ chuẩn không thay đổi giữa hai giấy chứng nhận gần nhất",
            "zero: the master's error did not change between its last two certificates",
        )
    if n < 2:
        notes["E_bar"] = Text(
            "chỉ một lần chạy: không có thành phần độ lặp lại (u = 0); lặp lại lần chạy để có đánh giá loại A",
            "one run only: no repeatability term (u = 0); repeat the run for a type A estimate",
        )
    if master_U == 0:
        notes["de_master"] = Text(
            "giấy chứng nhận của đồng hồ chuẩn ghi U = 0 tại lưu lượng này: không có thành phần; hãy kiểm tra giấy "
            "chứng nhận",
            "the master's certificate states U = 0 at this flow rate: no term; check the certificate",
        )
    return notes


def water_meter_point(
    runs: Sequence[MasterRun],
    *,
    flow_rate: float,
    meter_resolution: float,
    master_resolution: float,
    master_error: float = 0.0,
    master_U: float = 0.0,
    master_k: float = 2.0,
    rates: FlowRates | None = None,
    nominal: str | None = None,
    accuracy_class: int | None = None,
    water_temperature: float = 20.0,
    rule: str = "simple",
    quantity: str = "relative error of indication",
    temperature_difference: float = 0.0,
    master_drift: float = 0.0,
    drift_source: Words = "",
) -> PointResult:
    """Relative error E (%) of a water or flow meter at one flow rate, its U and (optionally) its conformity.

    ``runs``: one or more :class:`MasterRun` (L); ``flow_rate``: the actual mean flow rate (m³/h) during the runs;
    ``meter_resolution``/``master_resolution``: verification scale intervals d of the two registers (L);
    ``master_error``/``master_U``/``master_k``: the master's certificate error (%) at this flow rate and its U (%)
    and k (see :func:`master_error_at`). With ``rates``, ``nominal`` (``"Q1"``..``"Q4"``) checks the actual flow
    against :data:`R49_TEST_FLOW_RANGES`; with ``rates`` and ``accuracy_class`` the result is judged against the
    MPE (``rule`` ``"simple"`` or ``"guarded"``), else conformity is ``notAssessed``.
    ``temperature_difference`` (K) bounds the water temperature difference between meter and master (rectangular:
    δE_T = ±100·β·ΔT %, β of water at ``water_temperature``); ``master_drift`` (%) is the half-width of the master's
    drift since its calibration (rectangular), ``drift_source`` where it came from.
    """
    if not runs:
        raise ValueError("give at least one run (start and stop readings of both registers)")
    q = finite("flow rate (m³/h)", flow_rate, positive=True)
    d_m = finite("meter resolution (L)", meter_resolution, positive=True)
    d_r = finite("master resolution (L)", master_resolution, positive=True)
    e_m = finite("master error (%)", master_error)
    if not (math.isfinite(master_U) and master_U >= 0):
        raise ValueError(f"master U (%) must be a finite number >= 0, got {master_U!r}")
    k_m = finite("master k", master_k, positive=True)
    if e_m <= -100.0:
        raise ValueError(f"master error {e_m} % is not a meter error; give it in % (e.g. 0.2 for +0.2 %)")
    if rule not in ("simple", "guarded"):
        raise ValueError(f"rule must be 'simple' or 'guarded', got {rule!r}")
    delta_t = finite("temperature difference between meter and master (K)", temperature_difference, nonneg=True)
    drift = finite("master drift (%)", master_drift, nonneg=True)
    notes: list[str] = []
    if nominal is not None:
        if rates is None:
            raise ValueError("a nominal test point (Q1..Q4) needs the meter's rates (flow_rates(Q3, R))")
        lo, hi = allowed_flow_range(rates, nominal)
        if not lo * (1 - 1e-12) <= q <= hi * (1 + 1e-12):
            raise ValueError(
                f"actual flow {q:g} m³/h is outside the range allowed for {nominal.upper()} "
                f"({lo:g} .. {hi:g} m³/h, {R49_TEST_FLOW_RANGES.edition}"
                f"{'' if R49_TEST_FLOW_RANGES.verified else ', factors unverified'}); adjust the valve and repeat "
                "the run"
            )
    v_meter: list[float] = []
    v_master: list[float] = []
    errors: list[float] = []
    for i, run in enumerate(runs, 1):
        vals = [finite(f"run {i} reading (L)", x) for x in (run.meter_start, run.meter_stop)]
        vals += [finite(f"run {i} reading (L)", x) for x in (run.master_start, run.master_stop)]
        vm, vr = vals[1] - vals[0], vals[3] - vals[2]
        if vm <= 0 or vr <= 0:
            raise ValueError(
                f"run {i}: stop reading must exceed start reading on both registers "
                f"(meter {vm:g} L, master {vr:g} L); check the order of the readings"
            )
        v_ref = vr / (1.0 + e_m / 100.0)
        v_meter.append(vm)
        v_master.append(vr)
        errors.append(100.0 * (vm - v_ref) / v_ref)
    n = len(errors)
    e_bar = sum(errors) / n
    vm_bar, vr_bar = sum(v_meter) / n, sum(v_master) / n
    vref_bar = vr_bar / (1.0 + e_m / 100.0)
    if n >= 2:
        s = math.sqrt(sum((e - e_bar) ** 2 for e in errors) / (n - 1))
        rep = normal(e_bar, s / math.sqrt(n), dof=n - 1)
    else:
        rep = normal(e_bar, 0.0)
        notes.append("one run only: no repeatability term in U")
    inputs = {
        "E_bar": rep,
        "dm_start": rectangular(0.0, d_m / 2),
        "dm_stop": rectangular(0.0, d_m / 2),
        "dr_start": rectangular(0.0, d_r / 2),
        "dr_stop": rectangular(0.0, d_r / 2),
        "de_master": normal(0.0, master_U / k_m),
        "dE_T": rectangular(0.0, 100.0 * water_expansion(water_temperature) * delta_t),
        "de_drift": rectangular(0.0, drift),
    }
    constants = {
        "c_m": 100.0 / vref_bar,
        "c_r": 100.0 * vm_bar / (vr_bar * vref_bar),
        "c_e": (100.0 + e_bar) / (100.0 + e_m),
    }
    model = Model.from_expression(_EXPRESSION, inputs=_INPUTS, constants=constants, measurand="E")
    out = gum(model, inputs)["E"]
    mpe: float | None = None
    conformity = "notAssessed"
    rule_text = ""
    reference = "OIML R49-2:2013 7.4 (master meter method); GUM JCGM 100:2008"
    if accuracy_class is not None:
        if rates is None:
            raise ValueError("judging conformity needs the meter's rates (flow_rates(Q3, R)) with the class")
        mpe = mpe_percent(accuracy_class, rates, q, water_temperature)
        dec = decide(out.value, out.U, lower=-mpe, upper=mpe, rule=rule, k=out.k, dof=out.dof)
        conformity = dec.conformity
        rule_text = (
            "simple acceptance (ILAC G8:09/2019 4.2.1, w = 0)"
            if rule == "simple"
            else f"guarded acceptance (ILAC G8:09/2019 4.2.2, w = U = {out.U:.3g} %)"
        )
        reference = f"{R49_MPE.edition}; " + reference
        if mpe / 3 < out.U:
            notes.append(f"U = {out.U:.3g} % exceeds MPE/3 = {mpe / 3:.3g} %: the test set-up is too uncertain")
    return PointResult(
        quantity=quantity,
        point=q,
        point_unit="m³/h",
        value=out.value,
        unit="%",
        U=out.U,
        k=out.k,
        mpe=mpe,
        conformity=conformity,
        rule=rule_text,
        reference=reference,
        budget=Budget.of(
            out,
            unit="%",
            model=_MODEL_TEXT,
            describe=_SOURCES
            | {
                "dE_T": _SOURCES["dE_T"]
                + ": |ΔT| <= "
                + num(delta_t)
                + " K, β = "
                + num(water_expansion(water_temperature), ".3g")
                + Text(" /K tại ", " /K at ")
                + num(water_temperature)
                + Text(" °C, phân bố chữ nhật", " °C, rectangular"),
                "de_drift": _SOURCES["de_drift"] + (": " + drift_source if drift_source else ""),
            },
            units=_UNITS,
            notes=_notes(n, master_U, delta_t, drift),
        ),
        evidence={"runs": errors, "nominal": nominal},
        note="; ".join(notes),
    )


@dataclass(frozen=True)
class Verification:
    """Overall verdict of a water meter verification: pass only when every point passes."""

    points: tuple[PointResult, ...]
    conformity: str
    rule: str


def water_meter_verification(points: Sequence[PointResult]) -> Verification:
    """The meter passes when every tested point (Q1, Q2, Q3 at least) passes; one fail fails the meter."""
    if not points:
        raise ValueError("no test points: test at least at Q1, Q2 and Q3")
    bad = [p for p in points if p.conformity == "notAssessed"]
    if bad:
        raise ValueError("every point needs a conformity: give accuracy_class and rates to water_meter_point")
    ok = all(p.conformity in ("pass", "conditionalPass") for p in points)
    return Verification(tuple(points), "pass" if ok else "fail", points[0].rule)


# ----------------------------------------------------------------------------------------------- error curve
@dataclass(frozen=True)
class ErrorCurve:
    """Errors with U at several flow rates, and optionally a fitted curve E(Q) (% against m³/h).

    ``coefficients`` are those of the polynomial in (Q − ``x_ref``), lowest power first; ``predict`` gives E and
    its standard uncertainty from the fit at a flow rate.
    """

    points: tuple[PointResult, ...]
    degree: int | None
    coefficients: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    x_ref: float
    chi2: float | None

    def predict(self, q: float) -> tuple[float, float]:
        """Fitted E (%) and its standard uncertainty (%) at flow rate q (m³/h)."""
        if self.degree is None:
            raise ValueError("no curve was fitted; call flow_meter_error_curve with degree=1 or more")
        x = finite("flow rate (m³/h)", q, positive=True) - self.x_ref
        powers = [x**j for j in range(self.degree + 1)]
        y = sum(c * p for c, p in zip(self.coefficients, powers, strict=True))
        var = sum(powers[i] * powers[j] * self.covariance[i][j] for i in range(len(powers)) for j in range(len(powers)))
        return y, math.sqrt(max(var, 0.0))


def flow_meter_error_curve(points: Sequence[PointResult], degree: int | None = None) -> ErrorCurve:
    """Collect points from :func:`water_meter_point` into an error curve; ``degree`` >= 1 fits E(Q).

    The fit is weighted by u(E_i) = U_i/k_i (known uncertainties, ISO/TS 28037 clause 6 for a line); it needs
    at least degree + 2 points so that the χ² check has a degree of freedom.
    """
    if not points:
        raise ValueError("no points: measure the error at several flow rates first")
    pts = tuple(sorted(points, key=lambda p: p.point or 0.0))
    if degree is None:
        return ErrorCurve(pts, None, (), (), 0.0, None)
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
        raise ValueError(f"degree must be an integer >= 1, got {degree!r}")
    if len(pts) < degree + 2:
        raise ValueError(f"a degree-{degree} curve needs at least {degree + 2} flow rates, got {len(pts)}")
    x = [float(p.point) for p in pts if p.point is not None]
    y = [p.value for p in pts]
    u = []
    for p in pts:
        if p.U is None or p.k is None or not p.U > 0:
            raise ValueError(f"point at {p.point} m³/h has no U > 0; a weighted fit needs U and k at every point")
        u.append(p.U / p.k)
    if degree == 1:
        line = fit_line_wls(x, y, u)
        cov = ((line.u_a**2, line.cov_ab), (line.cov_ab, line.u_b**2))
        return ErrorCurve(pts, 1, (line.a, line.b), cov, 0.0, line.chi2)
    x_ref = sum(x) / len(x)
    poly = fit_polynomial(x, y, degree, u_y=u, x_ref=x_ref)
    coeffs = tuple(float(c) for c in poly.coefficients)
    covm = tuple(tuple(float(v) for v in row) for row in poly.covariance)
    return ErrorCurve(pts, degree, coeffs, covm, x_ref, float(poly.chi2) if poly.chi2 is not None else None)
