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

Specification tables: every row carries ``verified`` (checked against the edition's own text) and ``source`` (the
document, edition and table it comes from, and what it was or was not checked against). A result that uses an
unverified row says so in its note and in the budget row's ``source`` ("unverified"). What was checked (see
docs/methods/electrical.md):

* Fluke 5520A AC current, LCOMP off, 29 µA to 2.99999 A, 10 Hz to 30 kHz (to 10 kHz from 0.33 A): checked against
  the 5520A Operators Manual Supplement (issue 7/11), "AC Current (Sine Wave) Specifications", p. 9 — verified
  (its compliance-voltage adder, µA per V of the DMM's burden, is not modelled: each ACI result says so).
* Fluke 5520A DC voltage: the 90-day terms agree with the 5522A Operators Manual Table 7-3 (90-day verification
  limits, e.g. 10 V ±120 µV = 10 ppm + 20 µV); the 1-year terms, and the AC voltage, DC current and resistance
  rows, were not found in any copy searched — unverified.
* Keysight 34465A: no copy of the data sheet's tables was found — every row unverified.
* Keysight (HP/Agilent) 3458A DC voltage, 24 hours / 90 days / 1 year: agree with a reproduction of the data
  sheet's DCV accuracy table with its footnotes and with an independent transcription of data sheet 5965-4971, not
  with the PDF itself — marked unverified (cross-checked). No ACV, DCI or Ω rows are encoded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from acquisition.methods.base import Budget, PointResult, Text, Words, finite, num
from uncertainty import Model, decide, gum, normal, rectangular

__all__ = [
    "FLUKE_5520A_1Y",
    "FUNCTIONS",
    "HP_3458A_1Y",
    "HP_3458A_24H",
    "HP_3458A_90D",
    "HP_3458A_OPT002_1Y",
    "HP_3458A_OPT002_90D",
    "KEYSIGHT_34465A_1Y",
    "CalibratorBand",
    "CalibratorSpec",
    "DMMBand",
    "DMMSpec",
    "calibrator_band",
    "calibrator_limit",
    "dmm_band",
    "dmm_point",
    "dmm_tolerance",
]

#: function code -> unit
FUNCTIONS: dict[str, str] = {"DCV": "V", "ACV": "V", "DCI": "A", "ACI": "A", "OHM": "Ω"}


# ----------------------------------------------------------------------------------------------- calibrator spec
@dataclass(frozen=True)
class CalibratorBand:
    """One row: output magnitude ``low`` <= |x| <= ``high`` (unit), frequency ``f_low`` <= f <= ``f_high`` (Hz,
    both 0 for DC); limit = ``ppm`` · 1e-6 · |x| + ``floor`` (unit). ``verified``: checked against the edition's
    own text; ``source``: the table it comes from and what it was checked against."""

    function: str
    low: float
    high: float
    f_low: float
    f_high: float
    ppm: float
    floor: float
    verified: bool = False
    source: str = ""

    def limit(self, value: float) -> float:
        """a = ppm · |value| + floor (unit of the function)."""
        return self.ppm * 1e-6 * abs(value) + self.floor

    def describe(self) -> str:
        """``DCV 0 to 32.99999 V``, ``ACI 3.3 to 32.9999 mA, 45 to 1000 Hz``."""
        unit = FUNCTIONS[self.function]
        text = f"{self.function} {self.low:.7g} to {self.high:.7g} {unit}"
        return text + (f", {self.f_low:g} to {self.f_high:g} Hz" if self.f_high else "")

    def describe_text(self) -> Text:
        """:meth:`describe` in Vietnamese and English (``DCV 0 đến 32,999 99 V`` / ``DCV 0 to 32.99999 V``)."""
        unit = FUNCTIONS[self.function]
        to = Text(" đến ", " to ")
        text = f"{self.function} " + num(self.low, ".7g") + to + num(self.high, ".7g") + f" {unit}"
        if self.f_high:
            text += ", " + num(self.f_low) + to + num(self.f_high) + " Hz"
        return text


@dataclass(frozen=True)
class CalibratorSpec:
    """A calibrator's published output specification: edition, period, confidence, rows."""

    edition: str
    model: str
    period: str
    confidence: float
    bands: tuple[CalibratorBand, ...]
    note: str = ""

    @property
    def k(self) -> float:
        """Coverage factor of the stated confidence for a normal distribution (99 % -> 2.576)."""
        return NormalDist().inv_cdf(0.5 + self.confidence / 2)

    @property
    def verified(self) -> tuple[str, ...]:
        """Functions whose every row is verified against the edition's text."""
        fns = dict.fromkeys(b.function for b in self.bands)
        return tuple(f for f in fns if all(b.verified for b in self.bands if b.function == f))


_OM = "Fluke 5520A Operators Manual PN 688739 (Rev. 6, 1/03) ch. 1"
_SUP = "Fluke 5520A Operators Manual Supplement (issue 7/11) p. 9, AC Current (Sine Wave) Specifications, LCOMP off"
_DCV = (
    f"{_OM}, DC Voltage Specifications, 1 year, tcal ± 5 °C; unverified: the 1-year text was not found (its 90-day "
    "terms agree with the 5522A Operators Manual Table 7-3 limits)"
)
_ACV = f"{_OM}, AC Voltage (Sine Wave) Specifications, 1 year, tcal ± 5 °C; unverified: the text was not found"
#: the citations above in Vietnamese for a budget row (the documents' titles stay as published; decision 0361)
_NOT_FOUND_VI = "chưa kiểm chứng: không tìm thấy văn bản"
_SOURCE_VI = {
    f"{_SUP}, 1 year": f"{_SUP.replace('issue', 'ấn bản').replace('LCOMP off', 'LCOMP tắt')}, 1 năm",
    _DCV: f"{_OM}, DC Voltage Specifications, 1 năm, t_cal ± 5 °C; chưa kiểm chứng: không tìm thấy văn bản cho 1 năm "
    "(các số hạng 90 ngày của nó khớp với giới hạn ở Table 7-3 của 5522A Operators Manual)",
    _ACV: f"{_OM}, AC Voltage (Sine Wave) Specifications, 1 năm, t_cal ± 5 °C; {_NOT_FOUND_VI}",
}
#: a specification's period in Vietnamese
_PERIOD_VI = {"1 year": "1 năm", "90 days": "90 ngày", "24 hours": "24 giờ"}
_DCI = f"{_OM}, DC Current Specifications, 1 year, tcal ± 5 °C; unverified: the text was not found"
_OHM = f"{_OM}, Resistance Specifications, 1 year, tcal ± 5 °C; unverified: the text was not found"
_SOURCE_VI |= {
    _DCI: f"{_OM}, DC Current Specifications, 1 năm, t_cal ± 5 °C; {_NOT_FOUND_VI}",
    _OHM: f"{_OM}, Resistance Specifications, 1 năm, t_cal ± 5 °C; {_NOT_FOUND_VI}",
}


def _b(fn: str, low: float, high: float, ppm: float, floor: float, source: str) -> CalibratorBand:
    return CalibratorBand(fn, low, high, 0, 0, ppm, floor, False, source)


def _ac(
    fn: str, low: float, high: float, f_low: float, f_high: float, ppm: float, floor: float, source: str, ok: bool
) -> CalibratorBand:
    return CalibratorBand(fn, low, high, f_low, f_high, ppm, floor, ok, source)


def _aci(low: float, high: float, *rows: tuple[float, float, float, float]) -> list[CalibratorBand]:
    """Verified 5520A ACI rows of one range: (f_low Hz, f_high Hz, % of output, µA) from the supplement's 1-year
    column, converted to ppm and A."""
    return [_ac("ACI", low, high, f0, f1, pct * 1e4, ua * 1e-6, _SUP + ", 1 year", True) for f0, f1, pct, ua in rows]


#: Fluke 5520A, 1-year absolute uncertainty, tcal ± 5 °C (rows: see each row's ``source``). The 99 % confidence
#: level of the specification is not verified (the procedure therefore defaults to a rectangular reading).
FLUKE_5520A_1Y = CalibratorSpec(
    edition=f"{_OM} and Supplement 7/11, 1 year, tcal ± 5 °C",
    model="Fluke 5520A",
    period="1 year",
    confidence=0.99,
    bands=(
        _b("DCV", 0.0, 0.3299999, 20.0, 1e-6, _DCV),
        _b("DCV", 0.0, 3.299999, 11.0, 2e-6, _DCV),
        _b("DCV", 0.0, 32.99999, 12.0, 20e-6, _DCV),
        _b("DCV", 30.0, 329.9999, 18.0, 150e-6, _DCV),
        _b("DCV", 100.0, 1020.0, 18.0, 1.5e-3, _DCV),
        _ac("ACV", 0.033, 0.32999, 45, 10e3, 200.0, 8e-6, _ACV, False),
        _ac("ACV", 0.33, 3.29999, 45, 10e3, 240.0, 50e-6, _ACV, False),
        _ac("ACV", 3.3, 32.9999, 45, 10e3, 240.0, 650e-6, _ACV, False),
        _ac("ACV", 33.0, 329.999, 45, 1e3, 240.0, 6e-3, _ACV, False),
        _ac("ACV", 330.0, 1020.0, 45, 1e3, 390.0, 40e-3, _ACV, False),
        _b("DCI", 0.0, 329.999e-6, 200.0, 20e-9, _DCI),
        _b("DCI", 0.0, 3.29999e-3, 100.0, 50e-9, _DCI),
        _b("DCI", 0.0, 32.9999e-3, 100.0, 250e-9, _DCI),
        _b("DCI", 0.0, 329.999e-3, 100.0, 2.5e-6, _DCI),
        _b("DCI", 0.0, 1.09999, 200.0, 40e-6, _DCI),
        _b("DCI", 1.1, 2.99999, 380.0, 40e-6, _DCI),
        *_aci(
            29e-6,
            329.99e-6,
            (10, 20, 0.2, 0.1),
            (20, 45, 0.15, 0.1),
            (45, 1e3, 0.125, 0.1),
            (1e3, 5e3, 0.3, 0.15),
            (5e3, 10e3, 0.8, 0.2),
            (10e3, 30e3, 1.6, 0.4),
        ),
        *_aci(
            0.33e-3,
            3.29999e-3,
            (10, 20, 0.2, 0.15),
            (20, 45, 0.125, 0.15),
            (45, 1e3, 0.1, 0.15),
            (1e3, 5e3, 0.2, 0.2),
            (5e3, 10e3, 0.5, 0.3),
            (10e3, 30e3, 1.0, 0.6),
        ),
        *_aci(
            3.3e-3,
            32.9999e-3,
            (10, 20, 0.18, 2),
            (20, 45, 0.09, 2),
            (45, 1e3, 0.04, 2),
            (1e3, 5e3, 0.08, 2),
            (5e3, 10e3, 0.2, 3),
            (10e3, 30e3, 0.4, 4),
        ),
        *_aci(
            33e-3,
            329.999e-3,
            (10, 20, 0.18, 20),
            (20, 45, 0.09, 20),
            (45, 1e3, 0.04, 20),
            (1e3, 5e3, 0.10, 50),
            (5e3, 10e3, 0.2, 100),
            (10e3, 30e3, 0.4, 200),
        ),
        *_aci(0.33, 1.09999, (10, 45, 0.18, 100), (45, 1e3, 0.05, 100), (1e3, 5e3, 0.6, 1000), (5e3, 10e3, 2.5, 5000)),
        *_aci(1.1, 2.99999, (10, 45, 0.18, 100), (45, 1e3, 0.06, 100), (1e3, 5e3, 0.6, 1000), (5e3, 10e3, 2.5, 5000)),
        _b("OHM", 0.0, 10.9999, 40.0, 1e-3, _OHM),
        _b("OHM", 11.0, 32.9999, 30.0, 1.5e-3, _OHM),
        _b("OHM", 33.0, 109.9999, 28.0, 1.4e-3, _OHM),
        _b("OHM", 110.0, 329.9999, 28.0, 2e-3, _OHM),
        _b("OHM", 330.0, 1099.999, 28.0, 2e-3, _OHM),
        _b("OHM", 1.1e3, 3.299999e3, 28.0, 20e-3, _OHM),
        _b("OHM", 3.3e3, 10.99999e3, 28.0, 20e-3, _OHM),
        _b("OHM", 11e3, 32.99999e3, 28.0, 200e-3, _OHM),
        _b("OHM", 33e3, 109.9999e3, 28.0, 200e-3, _OHM),
        _b("OHM", 110e3, 329.9999e3, 32.0, 2.0, _OHM),
        _b("OHM", 330e3, 1.099999e6, 32.0, 2.0, _OHM),
    ),
    note=(
        "ACI rows verified against the manufacturer's text (without the compliance-voltage adder, which depends on "
        "the DMM's burden voltage); DCV, ACV, DCI and OHM rows and the 99 % confidence level unverified — check "
        "them against the lab's copy of the 5520A specifications before accredited use"
    ),
)


def calibrator_band(spec: CalibratorSpec, function: str, value: float, frequency: float = 0.0) -> CalibratorBand:
    """The row of ``spec`` that applies to the output ``value`` (unit) at ``frequency`` (Hz).

    Ranges: the first row (tightest range) containing |value| applies — the calibrator sources a value on the
    lowest range that holds it. Frequency bands that share an end point (e.g. "45 Hz to 1 kHz" and "1 to 5 kHz" at
    1 kHz) both contain it: the larger limit applies (the conservative reading). Outside every row: ValueError.
    """
    fn = _function(function)
    x = abs(finite("calibrator output", value))
    f = _frequency(fn, frequency)
    rows = [b for b in spec.bands if b.function == fn and b.low <= x <= b.high and b.f_low <= f <= b.f_high]
    if not rows:
        raise ValueError(
            f"{spec.model}: no {spec.period} specification for {fn} {value:g} {FUNCTIONS[fn]}"
            + (f" at {f:g} Hz" if f else "")
            + f" in {spec.edition}; choose a test point the table covers"
        )
    first = rows[0]
    same_range = [b for b in rows if (b.low, b.high) == (first.low, first.high)]
    return max(same_range, key=lambda b: b.limit(x))


def calibrator_limit(spec: CalibratorSpec, function: str, value: float, frequency: float = 0.0) -> float:
    """Specification limit a (unit of the function) of the calibrator's output ``value`` at ``frequency`` (Hz),
    from the row :func:`calibrator_band` selects."""
    return calibrator_band(spec, function, value, frequency).limit(value)


# ----------------------------------------------------------------------------------------------- DMM spec
@dataclass(frozen=True)
class DMMBand:
    """One row: ``function`` on ``range`` (unit), frequency ``f_low``..``f_high`` (Hz, 0 for DC); tolerance =
    ``ppm_reading`` · 1e-6 · |reading| + ``ppm_range`` · 1e-6 · range. ``verified``/``source`` as for
    :class:`CalibratorBand`."""

    function: str
    range: float
    f_low: float
    f_high: float
    ppm_reading: float
    ppm_range: float
    verified: bool = False
    source: str = ""

    def tolerance(self, reading: float) -> float:
        """± tolerance at ``reading`` (unit of the function)."""
        return self.ppm_reading * 1e-6 * abs(reading) + self.ppm_range * 1e-6 * self.range


@dataclass(frozen=True)
class DMMSpec:
    """A DMM's published accuracy specification (the tolerance it is judged against). ``conditions``: what the
    specification assumes of the measurement (written into every result's note)."""

    edition: str
    model: str
    period: str
    bands: tuple[DMMBand, ...]
    note: str = ""
    conditions: str = ""

    @property
    def verified(self) -> tuple[str, ...]:
        """Functions whose every row is verified against the edition's text."""
        fns = dict.fromkeys(b.function for b in self.bands)
        return tuple(f for f in fns if all(b.verified for b in self.bands if b.function == f))


_DS65 = (
    "Keysight Truevolt 34465A data sheet (5992-0721EN as recorded; publication number not checked), DC and AC "
    "characteristics, 1 year, Tcal ± 5 °C"
)
_U65 = f"{_DS65}; unverified: recalled, no copy of the data sheet's tables was found"


def _d65(fn: str, rng: float, f_low: float, f_high: float, reading: float, range_: float) -> DMMBand:
    return DMMBand(fn, rng, f_low, f_high, reading, range_, False, _U65)


#: Keysight 34465A, 1-year accuracy, Tcal ± 5 °C, after 90 min warm-up, 10 PLC (data sheet percentages as ppm).
#: Every row unverified (see the module docstring).
KEYSIGHT_34465A_1Y = DMMSpec(
    edition=_DS65,
    model="Keysight 34465A",
    period="1 year",
    bands=(
        _d65("DCV", 0.1, 0, 0, 50.0, 35.0),
        _d65("DCV", 1.0, 0, 0, 30.0, 7.0),
        _d65("DCV", 10.0, 0, 0, 30.0, 5.0),
        _d65("DCV", 100.0, 0, 0, 40.0, 6.0),
        _d65("DCV", 1000.0, 0, 0, 40.0, 6.0),
        _d65("ACV", 0.1, 20, 20e3, 600.0, 300.0),
        _d65("ACV", 1.0, 20, 20e3, 600.0, 300.0),
        _d65("ACV", 10.0, 20, 20e3, 600.0, 300.0),
        _d65("ACV", 100.0, 20, 20e3, 600.0, 300.0),
        _d65("ACV", 750.0, 20, 20e3, 600.0, 300.0),
        _d65("DCI", 1e-3, 0, 0, 500.0, 60.0),
        _d65("DCI", 10e-3, 0, 0, 500.0, 200.0),
        _d65("DCI", 100e-3, 0, 0, 500.0, 50.0),
        _d65("DCI", 1.0, 0, 0, 800.0, 100.0),
        _d65("ACI", 10e-3, 20, 5e3, 1000.0, 400.0),
        _d65("ACI", 100e-3, 20, 5e3, 1000.0, 400.0),
        _d65("ACI", 1.0, 20, 5e3, 1000.0, 400.0),
        _d65("OHM", 100.0, 0, 0, 80.0, 35.0),
        _d65("OHM", 1e3, 0, 0, 80.0, 10.0),
        _d65("OHM", 10e3, 0, 0, 80.0, 10.0),
        _d65("OHM", 100e3, 0, 0, 80.0, 10.0),
        _d65("OHM", 1e6, 0, 0, 100.0, 10.0),
    ),
    note=(
        "recalled from the 34465A data sheet; the stored copies searched did not contain its tables — "
        "check every row against the lab's copy of the data sheet before accredited use"
    ),
)

#: Keysight (HP/Agilent) 3458A DC voltage accuracy, ±(ppm of reading + ppm of range), from the data sheet's DC
#: voltage table (Keysight publication 5965-4971; the edition's date was not seen). Conditions (its footnotes 1-3):
#: PRESET, NPLC 100; 24 hours: fixed range (> 4 min), MATH NULL, Tcal ± 1 °C; 90 days and 1 year: within 24 hours
#: and ± 1 °C of the last ACAL, Tcal ± 5 °C, MATH NULL, fixed range. The data sheet's adders without MATH NULL,
#: for fixed range held less than 4 minutes, and above 100 V on the 1000 V range, and its 2 ppm of reading for the
#: factory's traceability, are not added: each would widen the tolerance, so leaving them out can only make the
#: conformity decision stricter. Option 002 (high-stability reference) has smaller ppm-of-reading terms for 90 days
#: and 1 year: use the ``*_OPT002`` tables for such a meter.
_DS58 = "Keysight 3458A Multimeter data sheet (pub. 5965-4971), DC Voltage accuracy table, PRESET, NPLC 100"
_U58 = (
    f"{_DS58}; unverified (cross-checked): agrees with a reproduction of the table with its footnotes and with an "
    "independent transcription of 5965-4971, not checked against the PDF itself"
)
_C58 = (
    "3458A specification assumes PRESET, NPLC 100, fixed range and MATH NULL, and for 90 days / 1 year an ACAL "
    "within 24 h and ±1 °C (24 hours: Tcal ± 1 °C); the data sheet's adders for other conditions are not included "
    "(stricter tolerance)"
)


def _d58(rows: Sequence[tuple[float, float, float]]) -> tuple[DMMBand, ...]:
    """(range V, ppm of reading, ppm of range) -> DCV rows."""
    return tuple(DMMBand("DCV", r, 0, 0, ppm_rdg, ppm_rng, False, _U58) for r, ppm_rdg, ppm_rng in rows)


def _spec58(period: str, rows: Sequence[tuple[float, float, float]], option: str = "") -> DMMSpec:
    return DMMSpec(
        edition=f"{_DS58}, {period}{option}",
        model="Keysight 3458A",
        period=period,
        bands=_d58(rows),
        note="DCV only; cross-checked against two transcriptions of the data sheet, not its PDF — check before "
        "accredited use",
        conditions=_C58,
    )


HP_3458A_24H = _spec58(
    "24 hours", [(0.1, 2.5, 3.0), (1.0, 1.5, 0.3), (10.0, 0.5, 0.05), (100.0, 2.5, 0.3), (1000.0, 2.5, 0.1)]
)
HP_3458A_90D = _spec58(
    "90 days", [(0.1, 5.0, 3.0), (1.0, 4.6, 0.3), (10.0, 4.1, 0.05), (100.0, 6.0, 0.3), (1000.0, 6.0, 0.1)]
)
HP_3458A_1Y = _spec58(
    "1 year", [(0.1, 9.0, 3.0), (1.0, 8.0, 0.3), (10.0, 8.0, 0.05), (100.0, 10.0, 0.3), (1000.0, 10.0, 0.1)]
)
HP_3458A_OPT002_90D = _spec58(
    "90 days",
    [(0.1, 3.5, 3.0), (1.0, 3.1, 0.3), (10.0, 2.6, 0.05), (100.0, 4.5, 0.3), (1000.0, 4.5, 0.1)],
    ", Option 002",
)
HP_3458A_OPT002_1Y = _spec58(
    "1 year",
    [(0.1, 5.0, 3.0), (1.0, 4.0, 0.3), (10.0, 4.0, 0.05), (100.0, 6.0, 0.3), (1000.0, 6.0, 0.1)],
    ", Option 002",
)


def dmm_band(spec: DMMSpec, function: str, dmm_range: float, reading: float, frequency: float = 0.0) -> DMMBand:
    """The row of ``spec`` for ``function`` on ``dmm_range`` (unit) at ``frequency`` (Hz); ValueError when the table
    has none or ``reading`` is beyond 120 % of the range."""
    fn = _function(function)
    rng = finite("DMM range", dmm_range, positive=True)
    x = abs(finite("reading", reading))
    f = _frequency(fn, frequency)
    for b in spec.bands:
        if b.function == fn and math.isclose(b.range, rng, rel_tol=1e-9) and b.f_low <= f <= b.f_high:
            if x > 1.2 * rng:
                raise ValueError(f"reading {x:g} is beyond the {rng:g} {FUNCTIONS[fn]} range (120 % overrange)")
            return b
    ranges = sorted({b.range for b in spec.bands if b.function == fn})
    if not ranges:
        raise ValueError(
            f"{spec.model} {spec.period}: the specification table has no {fn} rows (it covers "
            f"{', '.join(dict.fromkeys(b.function for b in spec.bands))}); drop the {fn} points or calibrate "
            "without a conformity statement (dmm_spec 'none')"
        )
    raise ValueError(
        f"{spec.model}: no {spec.period} specification for {fn} on the {rng:g} {FUNCTIONS[fn]} range"
        + (f" at {f:g} Hz" if f else "")
        + f"; ranges in the table: {ranges}"
    )


def dmm_tolerance(spec: DMMSpec, function: str, dmm_range: float, reading: float, frequency: float = 0.0) -> float:
    """Tolerance (±, unit of the function) of the DMM on ``dmm_range`` at ``reading`` and ``frequency`` (Hz)."""
    return dmm_band(spec, function, dmm_range, reading, frequency).tolerance(reading)


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


def _checked(verified: bool, source: str) -> Text:
    """A row's citation with its verification status ("verified" or the source's "unverified: ..."), in
    Vietnamese and English (a citation without a Vietnamese form in :data:`_SOURCE_VI` stays in English)."""
    text = Text(_SOURCE_VI.get(source, source), source)
    if verified:
        text += Text(" (đã kiểm chứng với văn bản của nhà sản xuất)", " (verified against the manufacturer's text)")
    return text


_EXPRESSION = "I_bar + dI_res - (V_cal + dV_cal)"
_MODEL = Model.from_expression(_EXPRESSION, measurand="E")


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
    ``rule``: ``"guarded"`` (w = U, default) or ``"simple"`` (w = 0). The calibrator row and the DMM row used are
    cited in the budget (``rows[dV_cal].source``) and the evidence (``tolerance_source``); an unverified row is
    named in the note.
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
    row = calibrator_band(calibrator, fn, v_cal, f)
    a = row.limit(v_cal)
    n = len(xs)
    mean = sum(xs) / n
    notes: list[str] = []
    zero: dict[str, Words] = {}
    if n >= 2:
        s = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
        i_bar = normal(mean, s / math.sqrt(n), dof=n - 1)
    else:
        i_bar = normal(mean, 0.0)
        notes.append("one reading only: no repeatability term in U")
        zero["I_bar"] = Text(
            "chỉ một số đọc: không có thành phần độ lặp lại (hãy lấy nhiều số đọc để có thành phần này)",
            "one reading only: no repeatability term (take several readings for one)",
        )
    if calibrator_distribution == "normal":
        cal = normal(0.0, a / calibrator.k)
        how = Text(
            f"phân bố chuẩn, u = a/{num(calibrator.k, '.3f').vi} (mức tin cậy công bố "
            f"{num(calibrator.confidence * 100, '.0f').vi} %)",
            f"normal, u = a/{calibrator.k:.3f} ({calibrator.confidence:.0%} stated confidence)",
        )
    else:
        cal = rectangular(0.0, a)
        how = Text("phân bố chữ nhật, u = a/√3", "rectangular, u = a/√3")
    inputs = {"I_bar": i_bar, "dI_res": rectangular(0.0, d / 2), "V_cal": normal(v_cal, 0.0), "dV_cal": cal}
    out = gum(_MODEL, inputs)["E"]
    period = Text(_PERIOD_VI.get(calibrator.period, calibrator.period), calibrator.period)
    describe: dict[str, Words] = {
        "I_bar": Text(
            f"giá trị trung bình của {n} số đọc của DMM; loại A, s/√n (GUM JCGM 100:2008 4.2)",
            f"mean of {n} DMM reading(s); type A, s/√n (GUM JCGM 100:2008 4.2)",
        ),
        "dI_res": Text("độ phân giải của DMM d = ", "DMM resolution d = ")
        + num(d)
        + Text(f" {unit}, phân bố chữ nhật ±d/2 (GUM F.2.2.1)", f" {unit}, rectangular ±d/2 (GUM F.2.2.1)"),
        "dV_cal": (
            Text(f"đặc tính kỹ thuật {calibrator.model} ", f"{calibrator.model} ")
            + period
            + Text(", hàng ", " specification, row ")
            + row.describe_text()
            + ": a = "
            + num(row.ppm)
            + Text(" ppm · |giá trị đầu ra| + ", " ppm · |output| + ")
            + num(row.floor)
            + f" {unit} = "
            + num(a, ".4g")
            + f" {unit}, "
            + how
            + "; "
            + _checked(row.verified, row.source)
        ),
    }
    budget = Budget.of(
        out, unit=unit, model=f"E = {_EXPRESSION}", describe=describe, notes=zero, keep=lambda r: r.input != "V_cal"
    )
    evidence: dict[str, Any] = {
        "readings": xs,
        "calibrator_limit": a,
        "calibrator_spec": f"{calibrator.model} {calibrator.period}, {calibrator.confidence:.0%}",
        "calibrator_row_verified": row.verified,
        "calibrator_distribution": calibrator_distribution,
        "function": fn,
        "frequency": f,
        "dmm_range": dmm_range,
    }
    reference = f"{calibrator.edition}; GUM JCGM 100:2008"
    if not row.verified:
        notes.append(f"{calibrator.model} {calibrator.period} row {row.describe()} unverified against the text")
    if fn == "ACI":
        notes.append(f"{calibrator.model} compliance-voltage adder (µA per V of the DMM's burden) not included")
    mpe: float | None = None
    conformity = "notAssessed"
    rule_text = ""
    if dmm is not None:
        drow = dmm_band(dmm, fn, dmm_range, mean, f)
        mpe = drow.tolerance(mean)
        dec = decide(out.value, out.U, lower=-mpe, upper=mpe, rule=rule, k=out.k, dof=out.dof)
        conformity = dec.conformity
        rule_text = (
            f"guarded acceptance (ILAC G8:09/2019 4.2.2, w = U = {out.U:.3g} {unit})"
            if rule == "guarded"
            else "simple acceptance (ILAC G8:09/2019 4.2.1, w = 0)"
        )
        reference = f"{dmm.edition}; " + reference
        evidence["tolerance_source"] = (
            f"{dmm.model} {dmm.period}, {fn} {drow.range:g} {unit} range: ±({drow.ppm_reading:g} ppm of reading + "
            f"{drow.ppm_range:g} ppm of range) = {mpe:.4g} {unit}; {_checked(drow.verified, drow.source).en}"
        )
        evidence["tolerance_row_verified"] = drow.verified
        if not drow.verified:
            notes.append(f"{dmm.model} {dmm.period} {fn} {drow.range:g} {unit} range row unverified against the text")
        if dmm.conditions:
            notes.append(dmm.conditions)
        if mpe <= out.U:
            notes.append(
                f"U = {out.U:.3g} {unit} is not below the tolerance {mpe:.3g} {unit}: this reference cannot "
                "demonstrate the specification (under simple acceptance a result near the limit carries up to "
                "about 50 % probability of false acceptance)"
            )
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
        evidence=evidence,
        note="; ".join(notes),
    )
