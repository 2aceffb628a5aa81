"""DMM calibration against a multifunction calibrator (Fluke 5520A): error, U and conformity to the DMM's spec.

Units: SI, per function — V for ``DCV``/``ACV`` (rms), A for ``DCI``/``ACI`` (rms), Ω for ``OHM``; frequency in Hz
(0 for DC). Errors, U and tolerances are in the unit of the function.

Model (one test point, n readings of the DMM while the calibrator outputs the nominal value V_cal)::

    E = I_bar + δI_res − (V_cal + δV_cal)

I_bar: mean of the readings, type A (s/√n, n − 1 degrees of freedom; one reading: no repeatability term);
δI_res: DMM resolution, rectangular ±d/2 (u = d/√12); δV_cal: calibrator's deviation from its nominal output,
from its published specification ``a`` (ppm of output + floor). By default the 5520A specification is taken as a
normal distribution with the specification's coverage factor (a stated confidence of 99 % -> k = 2.576);
``calibrator_distribution="rectangular"`` treats it as bounds instead (u = a/√3, the more conservative reading when
the confidence level is not stated). U = k u_c with k = t_95(ν_eff) from ``uncertainty.gum``.

Conformity to the DMM's own specification (tolerance ±(ppm of reading + ppm of range)) by guarded acceptance
(ILAC G8:09/2019 4.2.2, guard band w = U: about 2.5 % probability of false acceptance at the limit) by default,
or simple acceptance (w = 0) on request; the rule is named in every result.

Specification numbers: see the ``verified`` flag and ``note`` of each table. Only the 5520A AC current table was
checked against the manufacturer's text (5520A Operators Manual Supplement, issue 7/11); the other rows are recalled
from the data sheets and must be checked against the lab's own copy before accredited use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from acquisition.methods.base import PointResult, budget_json, finite
from uncertainty import Model, decide, gum, normal, rectangular

__all__ = [
    "FLUKE_5520A_1Y",
    "FUNCTIONS",
    "KEYSIGHT_34465A_1Y",
    "CalibratorBand",
    "CalibratorSpec",
    "DMMBand",
    "DMMSpec",
    "calibrator_limit",
    "dmm_point",
    "dmm_tolerance",
]

#: function code -> unit
FUNCTIONS: dict[str, str] = {"DCV": "V", "ACV": "V", "DCI": "A", "ACI": "A", "OHM": "Ω"}


# ----------------------------------------------------------------------------------------------- calibrator spec
@dataclass(frozen=True)
class CalibratorBand:
    """One row: output magnitude ``low`` <= |x| <= ``high`` (unit), frequency ``f_low`` <= f <= ``f_high`` (Hz,
    both 0 for DC); limit = ``ppm`` · 1e-6 · |x| + ``floor`` (unit)."""

    function: str
    low: float
    high: float
    f_low: float
    f_high: float
    ppm: float
    floor: float


@dataclass(frozen=True)
class CalibratorSpec:
    """A calibrator's published output specification: edition, period, confidence, rows."""

    edition: str
    model: str
    period: str
    confidence: float
    bands: tuple[CalibratorBand, ...]
    verified: tuple[str, ...]
    note: str = ""

    @property
    def k(self) -> float:
        """Coverage factor of the stated confidence for a normal distribution (99 % -> 2.576)."""
        return NormalDist().inv_cdf(0.5 + self.confidence / 2)


_B = CalibratorBand
#: Fluke 5520A, 1-year absolute uncertainty, tcal ± 5 °C. ACI rows (45 Hz to 1 kHz, LCOMP off) checked against the
#: 5520A Operators Manual Supplement (issue 7/11, "AC Current (Sine Wave) Specifications"). DCV rows: the 90-day
#: figures they derive from agree with the 5522A Operators Manual Table 7-3 (90-day verification limits, e.g. 10 V
#: ±120 µV = 10 ppm + 20 µV); the 1-year ppm terms, ACV, DCI and OHM rows were not found in the stored copies.
FLUKE_5520A_1Y = CalibratorSpec(
    edition="Fluke 5520A Operators Manual PN 688739 (Rev. 6, 1/03) ch. 1 and Supplement 7/11, 1-year, tcal ± 5 °C",
    model="Fluke 5520A",
    period="1 year",
    confidence=0.99,
    bands=(
        _B("DCV", 0.0, 0.3299999, 0, 0, 20.0, 1e-6),
        _B("DCV", 0.0, 3.299999, 0, 0, 11.0, 2e-6),
        _B("DCV", 0.0, 32.99999, 0, 0, 12.0, 20e-6),
        _B("DCV", 30.0, 329.9999, 0, 0, 18.0, 150e-6),
        _B("DCV", 100.0, 1020.0, 0, 0, 18.0, 1.5e-3),
        _B("ACV", 0.033, 0.32999, 45, 10e3, 200.0, 8e-6),
        _B("ACV", 0.33, 3.29999, 45, 10e3, 240.0, 50e-6),
        _B("ACV", 3.3, 32.9999, 45, 10e3, 240.0, 650e-6),
        _B("ACV", 33.0, 329.999, 45, 1e3, 240.0, 6e-3),
        _B("ACV", 330.0, 1020.0, 45, 1e3, 390.0, 40e-3),
        _B("DCI", 0.0, 329.999e-6, 0, 0, 200.0, 20e-9),
        _B("DCI", 0.0, 3.29999e-3, 0, 0, 100.0, 50e-9),
        _B("DCI", 0.0, 32.9999e-3, 0, 0, 100.0, 250e-9),
        _B("DCI", 0.0, 329.999e-3, 0, 0, 100.0, 2.5e-6),
        _B("DCI", 0.0, 1.09999, 0, 0, 200.0, 40e-6),
        _B("DCI", 1.1, 2.99999, 0, 0, 380.0, 40e-6),
        _B("ACI", 29e-6, 329.99e-6, 45, 1e3, 1250.0, 0.1e-6),
        _B("ACI", 0.33e-3, 3.29999e-3, 45, 1e3, 1000.0, 0.15e-6),
        _B("ACI", 3.3e-3, 32.9999e-3, 45, 1e3, 400.0, 2e-6),
        _B("ACI", 33e-3, 329.999e-3, 45, 1e3, 400.0, 20e-6),
        _B("ACI", 0.33, 1.09999, 45, 1e3, 500.0, 100e-6),
        _B("ACI", 1.1, 2.99999, 45, 1e3, 600.0, 100e-6),
        _B("OHM", 0.0, 10.9999, 0, 0, 40.0, 1e-3),
        _B("OHM", 11.0, 32.9999, 0, 0, 30.0, 1.5e-3),
        _B("OHM", 33.0, 109.9999, 0, 0, 28.0, 1.4e-3),
        _B("OHM", 110.0, 329.9999, 0, 0, 28.0, 2e-3),
        _B("OHM", 330.0, 1099.999, 0, 0, 28.0, 2e-3),
        _B("OHM", 1.1e3, 3.299999e3, 0, 0, 28.0, 20e-3),
        _B("OHM", 3.3e3, 10.99999e3, 0, 0, 28.0, 20e-3),
        _B("OHM", 11e3, 32.99999e3, 0, 0, 28.0, 200e-3),
        _B("OHM", 33e3, 109.9999e3, 0, 0, 28.0, 200e-3),
        _B("OHM", 110e3, 329.9999e3, 0, 0, 32.0, 2.0),
        _B("OHM", 330e3, 1.099999e6, 0, 0, 32.0, 2.0),
    ),
    verified=("ACI",),
    note=(
        "ACI checked against the manufacturer's text; DCV 90-day basis cross-checked with the 5522A manual; "
        "1-year DCV, ACV, DCI, OHM figures and the 99 % confidence level not verified — check against the "
        "lab's copy of the 5520A specifications before accredited use"
    ),
)


def calibrator_limit(spec: CalibratorSpec, function: str, value: float, frequency: float = 0.0) -> float:
    """Specification limit a (unit of the function) of the calibrator's output ``value`` at ``frequency`` (Hz).

    The first row (tightest range) containing |value| and the frequency applies; outside every row is an error.
    """
    fn = _function(function)
    x = abs(finite("calibrator output", value))
    f = _frequency(fn, frequency)
    for b in spec.bands:
        if b.function == fn and b.low <= x <= b.high and b.f_low <= f <= b.f_high:
            return b.ppm * 1e-6 * x + b.floor
    raise ValueError(
        f"{spec.model}: no {spec.period} specification for {fn} {value:g} {FUNCTIONS[fn]}"
        + (f" at {f:g} Hz" if f else "")
        + f" in {spec.edition}; choose a test point the table covers"
    )


# ----------------------------------------------------------------------------------------------- DMM spec
@dataclass(frozen=True)
class DMMBand:
    """One row: ``function`` on ``range`` (unit), frequency ``f_low``..``f_high`` (Hz, 0 for DC); tolerance =
    ``ppm_reading`` · 1e-6 · |reading| + ``ppm_range`` · 1e-6 · range."""

    function: str
    range: float
    f_low: float
    f_high: float
    ppm_reading: float
    ppm_range: float


@dataclass(frozen=True)
class DMMSpec:
    """A DMM's published accuracy specification (the tolerance it is judged against)."""

    edition: str
    model: str
    period: str
    bands: tuple[DMMBand, ...]
    verified: tuple[str, ...]
    note: str = ""


_D = DMMBand
#: Keysight 34465A, 1-year accuracy, Tcal ± 5 °C, after 90 min warm-up, 10 PLC (data sheet percentages as ppm).
KEYSIGHT_34465A_1Y = DMMSpec(
    edition="Keysight Truevolt 34465A data sheet (5992-0721EN), DC and AC characteristics, 1 year, Tcal ± 5 °C",
    model="Keysight 34465A",
    period="1 year",
    bands=(
        _D("DCV", 0.1, 0, 0, 50.0, 35.0),
        _D("DCV", 1.0, 0, 0, 30.0, 7.0),
        _D("DCV", 10.0, 0, 0, 30.0, 5.0),
        _D("DCV", 100.0, 0, 0, 40.0, 6.0),
        _D("DCV", 1000.0, 0, 0, 40.0, 6.0),
        _D("ACV", 0.1, 20, 20e3, 600.0, 300.0),
        _D("ACV", 1.0, 20, 20e3, 600.0, 300.0),
        _D("ACV", 10.0, 20, 20e3, 600.0, 300.0),
        _D("ACV", 100.0, 20, 20e3, 600.0, 300.0),
        _D("ACV", 750.0, 20, 20e3, 600.0, 300.0),
        _D("DCI", 1e-3, 0, 0, 500.0, 60.0),
        _D("DCI", 10e-3, 0, 0, 500.0, 200.0),
        _D("DCI", 100e-3, 0, 0, 500.0, 50.0),
        _D("DCI", 1.0, 0, 0, 800.0, 100.0),
        _D("ACI", 10e-3, 20, 5e3, 1000.0, 400.0),
        _D("ACI", 100e-3, 20, 5e3, 1000.0, 400.0),
        _D("ACI", 1.0, 20, 5e3, 1000.0, 400.0),
        _D("OHM", 100.0, 0, 0, 80.0, 35.0),
        _D("OHM", 1e3, 0, 0, 80.0, 10.0),
        _D("OHM", 10e3, 0, 0, 80.0, 10.0),
        _D("OHM", 100e3, 0, 0, 80.0, 10.0),
        _D("OHM", 1e6, 0, 0, 100.0, 10.0),
    ),
    verified=(),
    note=(
        "recalled from the 34465A data sheet; the stored copies searched did not contain its tables — "
        "check every row against the lab's copy of the data sheet before accredited use"
    ),
)


def dmm_tolerance(spec: DMMSpec, function: str, dmm_range: float, reading: float, frequency: float = 0.0) -> float:
    """Tolerance (±, unit of the function) of the DMM on ``dmm_range`` at ``reading`` and ``frequency`` (Hz)."""
    fn = _function(function)
    rng = finite("DMM range", dmm_range, positive=True)
    x = abs(finite("reading", reading))
    f = _frequency(fn, frequency)
    for b in spec.bands:
        if b.function == fn and math.isclose(b.range, rng, rel_tol=1e-9) and b.f_low <= f <= b.f_high:
            if x > 1.2 * rng:
                raise ValueError(f"reading {x:g} is beyond the {rng:g} {FUNCTIONS[fn]} range (120 % overrange)")
            return b.ppm_reading * 1e-6 * x + b.ppm_range * 1e-6 * rng
    ranges = sorted({b.range for b in spec.bands if b.function == fn})
    raise ValueError(
        f"{spec.model}: no {spec.period} specification for {fn} on the {rng:g} {FUNCTIONS[fn]} range"
        + (f" at {f:g} Hz" if f else "")
        + f"; ranges in the table: {ranges}"
    )


# ----------------------------------------------------------------------------------------------- helpers
def _function(function: str) -> str:
    fn = str(function).strip().upper()
    if fn not in FUNCTIONS:
        raise ValueError(f"unknown function {function!r}; use one of {sorted(FUNCTIONS)}")
    return fn


def _frequency(fn: str, frequency: float) -> float:
    f = finite("frequency (Hz)", frequency)
    if fn in ("ACV", "ACI"):
        if f <= 0:
            raise ValueError(f"{fn} needs a frequency > 0 Hz, got {frequency!r}")
    elif f != 0:
        raise ValueError(f"{fn} is a DC function: frequency must be 0, got {frequency!r}")
    return f


_MODEL = Model.from_expression("I_bar + dI_res - (V_cal + dV_cal)", measurand="E")


# ----------------------------------------------------------------------------------------------- one point
def dmm_point(
    function: str,
    nominal: float,
    readings: Sequence[float],
    *,
    dmm_range: float,
    resolution: float,
    frequency: float = 0.0,
    calibrator: CalibratorSpec = FLUKE_5520A_1Y,
    dmm: DMMSpec | None = KEYSIGHT_34465A_1Y,
    calibrator_distribution: str = "normal",
    rule: str = "guarded",
) -> PointResult:
    """Error E = mean(readings) − nominal of a DMM at one calibrator output, with U and conformity.

    ``nominal``: the calibrator's set output (unit of ``function``); ``readings``: the DMM's readings (same unit);
    ``dmm_range``: the DMM range used (unit); ``resolution``: the DMM's last digit on that range (unit);
    ``frequency``: Hz for ACV/ACI, 0 for DC. ``dmm=None`` gives a calibration without a conformity statement.
    ``rule``: ``"guarded"`` (w = U, default) or ``"simple"`` (w = 0).
    """
    fn = _function(function)
    unit = FUNCTIONS[fn]
    v_cal = finite("nominal calibrator output", nominal)
    d = finite("DMM resolution", resolution, positive=True)
    f = _frequency(fn, frequency)
    if calibrator_distribution not in ("normal", "rectangular"):
        raise ValueError(f"calibrator_distribution must be 'normal' or 'rectangular', got {calibrator_distribution!r}")
    if rule not in ("simple", "guarded"):
        raise ValueError(f"rule must be 'simple' or 'guarded', got {rule!r}")
    xs = [finite(f"reading {i}", x) for i, x in enumerate(readings, 1)]
    if not xs:
        raise ValueError("no readings: take at least one DMM reading (several for a repeatability term)")
    a = calibrator_limit(calibrator, fn, v_cal, f)
    n = len(xs)
    mean = sum(xs) / n
    notes: list[str] = []
    if n >= 2:
        s = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
        i_bar = normal(mean, s / math.sqrt(n), dof=n - 1)
    else:
        i_bar = normal(mean, 0.0)
        notes.append("one reading only: no repeatability term in U")
    cal = normal(0.0, a / calibrator.k) if calibrator_distribution == "normal" else rectangular(0.0, a)
    inputs = {"I_bar": i_bar, "dI_res": rectangular(0.0, d / 2), "V_cal": normal(v_cal, 0.0), "dV_cal": cal}
    out = gum(_MODEL, inputs)["E"]
    cal_text = (
        f"{calibrator.model} {calibrator.period} specification ({calibrator.confidence:.0%}), {calibrator.edition}"
    )
    cal_u = f"a/{calibrator.k:.4g}, normal" if calibrator_distribution == "normal" else "a/√3, rectangular (bounds)"
    sources = {
        "I_bar": f"mean of the DMM's {n} reading(s); type A, s/√n, ν = n − 1 (GUM 4.2.3)",
        "dI_res": "DMM resolution, rectangular ±d/2 (GUM F.2.2.1)",
        "dV_cal": f"calibrator output deviation: {cal_text}; u = {cal_u}"
        + ("" if fn in calibrator.verified else f" — {fn} specification unverified"),
    }
    budget: dict[str, Any] = budget_json(
        out,
        unit=unit,
        model="E = I_bar + δI_res − (V_cal + δV_cal)",
        describe=sources,
        notes={"I_bar": "one reading only: no repeatability term (u = 0); take several readings"} if n < 2 else {},
        keep=lambda r: r.input != "V_cal",  # the set output is the nominal value, not an uncertainty contribution
    ) | {
        "readings": xs,
        "calibrator_limit": a,
        "calibrator_spec": f"{calibrator.model} {calibrator.period}, {calibrator.confidence:.0%}",
        "calibrator_distribution": calibrator_distribution,
        "function": fn,
        "frequency": f,
        "dmm_range": dmm_range,
    }
    reference = f"{calibrator.edition}; GUM JCGM 100:2008"
    if fn not in calibrator.verified:
        notes.append(f"{calibrator.model} {fn} specification not verified against the manufacturer's text")
    mpe: float | None = None
    conformity = "notAssessed"
    rule_text = ""
    if dmm is not None:
        mpe = dmm_tolerance(dmm, fn, dmm_range, mean, f)
        dec = decide(out.value, out.U, lower=-mpe, upper=mpe, rule=rule, k=out.k, dof=out.dof)
        conformity = dec.conformity
        rule_text = (
            f"guarded acceptance (ILAC G8:09/2019 4.2.2, w = U = {out.U:.3g} {unit})"
            if rule == "guarded"
            else "simple acceptance (ILAC G8:09/2019 4.2.1, w = 0)"
        )
        reference = f"{dmm.edition}; " + reference
        if fn not in dmm.verified:
            notes.append(f"{dmm.model} {fn} specification not verified against the data sheet")
    else:
        finite("DMM range", dmm_range, positive=True)
    return PointResult(
        quantity=f"error of indication ({fn})",
        point=v_cal,
        point_unit=unit,
        value=out.value,
        unit=unit,
        U=out.U,
        k=out.k,
        mpe=mpe,
        conformity=conformity,
        rule=rule_text,
        reference=reference,
        budget=budget,
        note="; ".join(notes),
    )
