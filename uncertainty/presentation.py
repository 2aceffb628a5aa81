"""Presenting a result to a technician: y ± U rounded for reading, k to two decimals, text with the unit.

Only what is *printed* is rounded here; intermediate values and ``--format json`` keep full precision (the
caller keeps the unrounded floats). Units are the caller's: value, U, minimum and resolution share one unit.

Rules and where they come from
------------------------------
* **U to at most two significant digits** — JCGM 100:2008 (GUM) 7.2.6: "It usually suffices to quote u_c(y) and U
  ... to at most two significant digits"; ILAC P14 (ILAC Policy for Measurement Uncertainty in Calibration) requires
  the same for the expanded uncertainty on a calibration certificate. The ILAC P14 wording was read in the
  01/2013 edition, clause 6.3 (quoted by isobudgets.com, "Rounding Uncertainty in Measurement"); the current
  edition ILAC P14:09/2020 keeps the requirement, but its clause number could not be read from a stored copy of
  its text: **clause number in P14:09/2020 unverified**.
* **U is rounded up, never down** — GUM 7.2.6: "In reporting final results, it may sometimes be appropriate to
  round uncertainties up rather than to the nearest digit. For example, u_c(y) = 10,47 mΩ might be rounded up to
  11 mΩ." The GUM also permits rounding down ("28,05 kHz should be rounded down to 28 kHz") and ILAC P14:01/2013
  6.3 b) asks for "the usual rules for rounding of numbers ... subject to the guidance on rounding provided i.e.
  in Section 7 of the GUM". Both texts therefore *permit* rounding up; neither requires rounding down. caltrace
  always rounds up (ceiling at the second significant digit) because an understated U is the worst defect this
  software can have; the cost is an overstatement of less than one unit in the second significant digit (at most
  10 % of U, typically far less). Rounding up is also the safe side of the "never round U down by more than 5 %"
  rule found in some accreditation bodies' guidance (its source edition is **unverified** here).
* **Never below the CMC** — the stated U is the rounded-up max(U, minimum) where ``minimum`` is the laboratory's
  CMC for the range (ILAC P14: a laboratory shall not state an uncertainty smaller than its CMC; clause number in
  P14:09/2020 **unverified**).
* **y rounded to U's last digit** — GUM 7.2.6: "Output and input estimates should be rounded to be consistent with
  their uncertainties; for example, if y = 10,057 62 Ω with u_c(y) = 27 mΩ, y should be rounded to 10,058 Ω."
  ILAC P14:01/2013 6.3 states the same (result rounded to the least significant digit of U). Half-up rounding is
  used for y, as in :func:`uncertainty.reporting.round_value` (its direction does not understate anything).
* **k to two decimals** — a caltrace convention (k is informational once U is stated; the GUM and ILAC P14 give no
  digit count for k). Half-up.
* **Budgets** (:func:`present_budget`) — GUM 7.2.6 also quotes the standard uncertainties u(x_i) "to at most two
  significant digits" and rounds input estimates consistently with them; here u(x_i), u_c and the signed
  contributions are rounded up in magnitude like U, sensitivities to three significant digits, and degrees of
  freedom down (a smaller ν means a larger k): caltrace conventions on the conservative side.
* **A result with no U** (an informational row: a repeatability, an average tare) is shown with the decimal places
  of the instrument's resolution but never fewer than two significant digits of the value, so a small standard
  deviation is not printed as zero; without a resolution, with :data:`DEFAULT_SIGNIFICANT_DIGITS` significant
  digits and never fewer digits than the integer part. Both are caltrace conventions, not taken from a standard.

Number text
-----------
Vietnamese (``"vi"``) uses the decimal comma and English (``"en"``) the decimal point. Digits are grouped in threes
by a narrow no-break space on both sides of the decimal sign when that side has more than four digits; the
Vietnamese text of ISO 80000-1 clause 7.3.4 writes numbers this way ("401 008,5", "40,100 75"; stored page on
123docz.net, "7. Quy tắc in"; that this is TCVN 7870-1:2010 is **unverified** — the page does not name the
standard) and the GUM 7.2.6 example itself reads "10,057 62 Ω". The same space (never a comma or point) is used in
English so that an English grouping comma can never be read as a Vietnamese decimal comma. (Vietnamese
administrative texts group thousands with a point, "21.415.000.000" in shared/seeds/; not used here, since a
point inside a measured value reads as a decimal point in English and to software.) Magnitudes outside
1e-12 … 1e15 are written as ``m × 10^e``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Literal

from .errors import InputError

__all__ = [
    "DEFAULT_SIGNIFICANT_DIGITS",
    "DISTRIBUTION_WORDS",
    "GROUP_SEPARATOR",
    "Language",
    "PresentedResult",
    "format_k",
    "format_number",
    "present",
    "present_budget",
    "present_informational",
    "round_expanded_uncertainty",
    "round_to_decimals",
    "round_up_significant",
]

Language = Literal["vi", "en"]
LANGUAGES: tuple[str, ...] = ("vi", "en")

#: significant digits of an informational value shown without U and without a resolution (caltrace convention)
DEFAULT_SIGNIFICANT_DIGITS = 4
#: digit-group separator: U+202F NARROW NO-BREAK SPACE (the "small space" of ISO 80000-1 digit grouping)
GROUP_SEPARATOR = "\u202f"
#: written positionally between these powers of ten; outside, as m × 10^e
_POSITIONAL_MIN_EXP = -12
_POSITIONAL_MAX_EXP = 15


def _finite(name: str, x: float, hint: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise InputError(f"{name} must be a number, got {x!r}; {hint}")
    x = float(x)
    if not math.isfinite(x):
        raise InputError(f"{name} must be a finite number, got {x!r}; {hint}")
    return x


def _positive(name: str, x: float, hint: str) -> float:
    x = _finite(name, x, hint)
    if not x > 0.0:  # also rejects 0.0 and -0.0
        raise InputError(f"{name} must be greater than zero, got {x!r}; {hint}")
    return x


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise InputError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


def _dec(x: float) -> Decimal:
    """The decimal number a float denotes: its shortest round-trip repr (0.1 is 0.1, not 0.1000000000000000055…)."""
    return Decimal(repr(float(x)))


#: significant digits a computed U is trusted to before rounding up: binary floating point adds noise in about the
#: 16th digit (0.1 + 0.2 = 0.30000000000000004), which would otherwise turn 0.30 into 0.31
TRUSTED_DIGITS = 12


def _float_noise_removed(d: Decimal) -> Decimal:
    """``d`` rounded (half-even) to :data:`TRUSTED_DIGITS` significant digits: the lowering is at most 5e-13
    relative, far below the floating-point error of the arithmetic that produced U."""
    with localcontext() as ctx:
        ctx.prec = TRUSTED_DIGITS
        return +d


def _decimals(q: Decimal) -> int:
    """Decimal places of a Decimal's last digit (negative for a last digit left of the units: 1.3E+3 -> -2)."""
    exponent = q.as_tuple().exponent
    assert isinstance(exponent, int)  # finite Decimals only
    return -exponent


def round_expanded_uncertainty(
    U: float, *, minimum: float | None = None, significant_digits: int = 2
) -> tuple[Decimal, int]:
    """The stated expanded uncertainty: max(U, minimum) rounded **up** to ``significant_digits`` (default 2, the
    GUM 7.2.6 / ILAC P14 maximum) significant digits; returns ``(rounded, decimals)``.

    ``decimals`` is the number of decimal places of the last stated digit (``0.00030`` -> 5, ``1.3E+3`` i.e. 1300
    -> -2). A carry keeps the digit count: 0.0995 -> 0.10 (not 0.100). ``minimum`` is the laboratory's CMC for the
    range, in U's unit. U must be finite and > 0: a zero or negative U is an error, not a result to print (present a
    row without an uncertainty with :func:`present_informational`).
    """
    hint = "the expanded uncertainty U must be a positive finite number in the result's unit"
    U = _positive("U", U, hint)
    if isinstance(significant_digits, bool) or not isinstance(significant_digits, int) or significant_digits < 1:
        raise InputError(f"significant_digits must be an integer >= 1, got {significant_digits!r}")
    target = U
    if minimum is not None:
        target = max(U, _positive("minimum", minimum, "the CMC floor must be a positive finite number in U's unit"))
    d = _float_noise_removed(_dec(target))
    exp = d.adjusted() - significant_digits + 1
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, significant_digits + 2)
        r = d.quantize(Decimal(1).scaleb(exp), rounding=ROUND_CEILING)
        if r.adjusted() > d.adjusted():  # carried into a new leading digit (0.0995 -> 0.100): keep the digit count
            r = r.quantize(Decimal(1).scaleb(exp + 1), rounding=ROUND_CEILING)
    return r, _decimals(r)


def round_to_decimals(y: float, decimals: int) -> Decimal:
    """``y`` rounded half-up to ``decimals`` decimal places (negative: to tens, hundreds …); -0 becomes 0.

    Used to round a measured value to the last digit of its stated U (GUM 7.2.6, ILAC P14)."""
    y = _finite("value", y, "the measured value must be a finite number")
    if isinstance(decimals, bool) or not isinstance(decimals, int):
        raise InputError(f"decimals must be an integer, got {decimals!r}")
    d = _dec(y)
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, d.adjusted() + decimals + 3)
        r = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return r.copy_abs() if r.is_zero() else r


def format_k(k: float, language: Language = "vi") -> str:
    """Coverage factor with two decimals, half-up (2.0000024438996027 -> ``"2,00"`` in Vietnamese, ``"2.00"`` in
    English). k must be finite and > 0."""
    return format_number(_k_rounded(k), language)


def _k_rounded(k: float) -> Decimal:
    k = _positive("k", k, "the coverage factor k must be a positive finite number")
    d = _dec(k)
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, d.adjusted() + 5)
        return d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def format_number(d: Decimal, language: Language = "vi", *, group: str | None = GROUP_SEPARATOR) -> str:
    """A rounded Decimal as text, every stated digit kept (``Decimal("0.00030")`` -> ``"0,000 30"`` in Vietnamese).

    Decimal comma for ``"vi"``, decimal point for ``"en"``; digits grouped in threes by ``group`` on a side of the
    decimal sign with more than four digits (``group=None``: no grouping). Outside 1e-12 … 1e15 the number is
    written as ``m × 10^e``.
    """
    _language(language)
    if not isinstance(d, Decimal) or not d.is_finite():
        raise InputError(f"a finite Decimal is needed, got {d!r}")
    if d.is_zero():
        d = d.copy_abs()
    mark = "," if language == "vi" else "."
    if not d.is_zero() and not _POSITIONAL_MIN_EXP <= d.adjusted() < _POSITIONAL_MAX_EXP:
        e = d.adjusted()
        mantissa = d.scaleb(-e)
        return f"{format_number(mantissa, language, group=group)} × 10^{e}"
    text = format(d, "f")
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    whole, _, frac = text.partition(".")
    if group and len(whole) > 4:
        head = len(whole) % 3 or 3
        whole = group.join([whole[:head]] + [whole[i : i + 3] for i in range(head, len(whole), 3)])
    if group and len(frac) > 4:
        frac = group.join(frac[i : i + 3] for i in range(0, len(frac), 3))
    return sign + whole + (mark + frac if frac else "")


def _with_unit(number: str, unit: str) -> str:
    return f"{number} {unit}" if unit else number


@dataclass(frozen=True)
class PresentedResult:
    """One result as shown to a technician, in numbers (for JSON next to the unrounded ones) and in text.

    ``value`` and ``U`` are the rounded numbers (``U`` None for an informational row), ``k`` is k rounded to two
    decimals; ``decimals`` is the number of decimal places both are stated to (negative: tens, hundreds …).
    ``value_text`` / ``U_text`` carry the unit; ``k_text`` is ``"k = 2,00"``; ``text`` is the whole statement
    (``"100,000 12 g ± 0,000 30 g (k = 2,00)"``, the spaces inside numbers being U+202F). ``cmc_applied`` tells
    that the CMC was stated instead of a smaller calculated U.
    """

    value: float
    U: float | None
    k: float | None
    decimals: int
    unit: str
    value_text: str
    U_text: str | None
    k_text: str | None
    text: str
    cmc_applied: bool = False


def present(
    value: float,
    U: float,
    k: float,
    unit: str,
    *,
    language: Language = "vi",
    cmc: float | None = None,
    group: str | None = GROUP_SEPARATOR,
) -> PresentedResult:
    """Round ``value`` ± ``U`` (same ``unit``) for reading: U rounded **up** to two significant digits and never
    below ``cmc`` (:func:`round_expanded_uncertainty`), the value rounded to U's last digit, k to two decimals.

    Example: ``present(100.00012345, 0.0002999999999957481, 2.0000024438996027, "g")`` ->
    ``"100,000 12 g ± 0,000 30 g (k = 2,00)"`` (the spaces inside numbers are U+202F; ``group=None`` leaves them
    out).
    """
    _language(language)
    if not isinstance(unit, str):
        raise InputError(f"unit must be a string (empty for a dimensionless result), got {unit!r}")
    U_r, decimals = round_expanded_uncertainty(U, minimum=cmc)
    y_r = round_to_decimals(value, decimals)
    k_text = format_k(k, language)
    U_text = _with_unit(format_number(U_r, language, group=group), unit)
    value_text = _with_unit(format_number(y_r, language, group=group), unit)
    return PresentedResult(
        value=float(y_r),
        U=float(U_r),
        k=float(_k_rounded(k)),
        decimals=decimals,
        unit=unit,
        value_text=value_text,
        U_text=U_text,
        k_text=f"k = {k_text}",
        text=f"{value_text} ± {U_text} (k = {k_text})",
        cmc_applied=cmc is not None and float(cmc) > float(U),
    )


def present_informational(
    value: float,
    unit: str,
    *,
    resolution: float | None = None,
    language: Language = "vi",
    group: str | None = GROUP_SEPARATOR,
) -> PresentedResult:
    """A result stated without an uncertainty (an informational row), rounded half-up for reading.

    With the instrument's ``resolution`` (scale interval d, in ``unit``): the decimal places of d, but never fewer
    than two significant digits of the value (a repeatability of 0.00004 g on a 0.0001 g balance reads
    ``0,000040 g``, not ``0,0000 g``). Without: :data:`DEFAULT_SIGNIFICANT_DIGITS` significant digits, and never
    fewer digits than the integer part. Zero reads ``0`` (with the resolution's decimals when given).
    """
    _language(language)
    if not isinstance(unit, str):
        raise InputError(f"unit must be a string (empty for a dimensionless result), got {unit!r}")
    y = _finite("value", value, "the measured value must be a finite number")
    d = _dec(y)
    if resolution is not None:
        res = _positive("resolution", resolution, "the resolution (scale interval) must be > 0 in the result's unit")
        decimals = max(0, _decimals(_dec(res).normalize()))
        if not d.is_zero():
            decimals = max(decimals, 1 - d.adjusted())  # at least two significant digits
    else:
        decimals = 0 if d.is_zero() else max(0, DEFAULT_SIGNIFICANT_DIGITS - 1 - d.adjusted())
    y_r = round_to_decimals(y, decimals)
    value_text = _with_unit(format_number(y_r, language, group=group), unit)
    return PresentedResult(
        value=float(y_r),
        U=None,
        k=None,
        decimals=decimals,
        unit=unit,
        value_text=value_text,
        U_text=None,
        k_text=None,
        text=value_text,
    )


# --- uncertainty budgets ------------------------------------------------------------------------------------------

#: distribution names of :data:`uncertainty.inputs.DISTRIBUTIONS` in words. The Vietnamese names ("phân bố chuẩn",
#: "chữ nhật", "tam giác" …) are caltrace's; checking them against TCVN 9595-3:2013 (the Vietnamese GUM) was not
#: possible from a stored text: **unverified**.
DISTRIBUTION_WORDS: dict[str, dict[str, str]] = {
    "normal": {"vi": "chuẩn", "en": "normal"},
    "t": {"vi": "Student t", "en": "Student t"},
    "rectangular": {"vi": "chữ nhật", "en": "rectangular"},
    "triangular": {"vi": "tam giác", "en": "triangular"},
    "arcsine": {"vi": "arcsin (dạng chữ U)", "en": "arcsine (U-shaped)"},
    "trapezoid": {"vi": "hình thang", "en": "trapezoidal"},
    "curvilinear_trapezoid": {"vi": "hình thang cong", "en": "curvilinear trapezoidal"},
    "type_a": {"vi": "loại A (thống kê)", "en": "type A (statistical)"},
}
#: significant digits of a sensitivity coefficient in a budget (caltrace convention, half up)
SENSITIVITY_DIGITS = 3


def round_up_significant(x: float, significant_digits: int = 2) -> Decimal:
    """|x| rounded **up** to ``significant_digits`` significant digits, sign kept; zero stays 0.

    For the uncertainties and contributions of a budget (GUM 7.2.6: u(x_i) to at most two significant digits), so
    that no printed uncertainty is smaller than the computed one. A carry keeps the digit count (0.0995 -> 0.10).
    """
    x = _finite("uncertainty", x, "a budget's uncertainties and contributions must be finite numbers")
    if x == 0.0:
        return Decimal(0)
    r, _ = round_expanded_uncertainty(abs(x), significant_digits=significant_digits)
    return -r if x < 0 else r


def _round_significant_half_up(x: float, digits: int) -> Decimal:
    d = _dec(x)
    if d.is_zero():
        return Decimal(0)
    return round_to_decimals(x, digits - 1 - d.adjusted())


def _quotient_unit(numerator: str, denominator: str) -> str:
    """Unit of a sensitivity coefficient: output unit per input unit ("" when they are the same)."""
    if numerator == denominator:
        return ""
    if not denominator:
        return numerator
    wrap = f"({denominator})" if any(c in denominator for c in "/· *") else denominator
    return f"{numerator or '1'}/{wrap}"


def _dof_text(dof: object) -> str:
    """ν: None (JSON for infinitely many) or inf -> "∞"; otherwise rounded down (fewer degrees of freedom give a
    larger k: the conservative side) to an integer, or to two significant digits below 1."""
    if dof is None:
        return "∞"
    if isinstance(dof, bool) or not isinstance(dof, int | float) or math.isnan(dof) or dof <= 0:
        raise InputError(f"degrees of freedom must be > 0 or None (infinitely many), got {dof!r}")
    if math.isinf(dof):
        return "∞"
    if dof >= 1:
        return str(math.floor(dof))
    d = _dec(float(dof))
    return str(d.quantize(Decimal(1).scaleb(d.adjusted() - 1), rounding=ROUND_FLOOR))


def _percent(p: float, language: Language) -> str:
    p = _positive("coverage_probability", p, "the coverage probability must be in (0, 1]")
    if p > 1.0:
        raise InputError(f"coverage_probability must be in (0, 1], got {p!r}")
    pct = round_to_decimals(p * 100.0, 2).normalize()
    return f"{format_number(pct, language, group=None)} %"


def _in_language(row: Mapping[str, Any], key: str, language: Language) -> str:
    """A budget row's ``source`` or ``note`` in ``language``: ``<key>_vi`` for Vietnamese when the row has one,
    else the English ``<key>`` (every budget row carries the English; decision 0361)."""
    if language == "vi" and row.get(f"{key}_vi"):
        return str(row[f"{key}_vi"])
    return str(row.get(key) or "")


def present_budget(
    budget: Mapping[str, Any], *, language: Language = "vi", group: str | None = GROUP_SEPARATOR
) -> dict[str, Any]:
    """An uncertainty budget (the ``acquisition.methods.base.budget_json`` shape) as text with units.

    Each row: ``value`` rounded to the last digit of its ``u``; ``u`` and the signed ``contribution`` rounded up
    to two significant digits (:func:`round_up_significant`); ``sensitivity`` to three significant digits with
    the unit output/input; ``dof`` ∞ or rounded down; ``distribution`` in words; ``input`` as given, ``source``
    and ``note`` in ``language`` (Vietnamese from ``source_vi`` / ``note_vi``, falling back to the English
    ``source`` / ``note`` of a budget stored before its texts were bilingual; decision 0361). Totals: ``u``
    (rounded up), ``dof``, ``k`` (two decimals), ``U`` (as :func:`round_expanded_uncertainty`) and
    ``coverage_probability`` in per cent, each present when the budget has it. Raises ValueError for a budget
    without ``unit`` or ``rows``, or with a zero or negative U.
    """
    _language(language)
    if not isinstance(budget, Mapping) or not isinstance(budget.get("unit"), str) or "rows" not in budget:
        raise InputError("a budget needs 'unit' (text) and 'rows' (the budget_json shape)")
    out_unit = str(budget["unit"])
    rows = budget["rows"]
    if not isinstance(rows, list | tuple):
        raise InputError("a budget's 'rows' must be a list of rows")

    def num(d: Decimal, unit: str) -> str:
        return _with_unit(format_number(d, language, group=group), unit)

    shown_rows: list[dict[str, str]] = []
    for row in rows:
        if not isinstance(row, Mapping) or "input" not in row:
            raise InputError(f"a budget row must be a mapping with an 'input', got {row!r}")
        unit = str(row.get("unit", ""))
        shown: dict[str, str] = {"input": str(row["input"])}
        source = _in_language(row, "source", language)
        if source:
            shown["source"] = source
        raw_u: Any = row.get("u")
        u = _finite("u", raw_u, f"budget row {row['input']!r}: u must be a finite number >= 0")
        if u < 0.0:
            raise InputError(f"budget row {row['input']!r}: u must be >= 0, got {u!r}")
        u_r = round_up_significant(u)
        if "value" in row and row["value"] is not None:
            value = row["value"]
            if u_r.is_zero():
                shown["value"] = present_informational(value, unit, language=language, group=group).text
            else:
                shown["value"] = num(round_to_decimals(value, _decimals(u_r)), unit)
        shown["u"] = num(u_r, unit)
        distribution = str(row.get("distribution", ""))
        shown["distribution"] = DISTRIBUTION_WORDS.get(distribution, {}).get(language, distribution)
        if row.get("sensitivity") is not None:
            c = _round_significant_half_up(row["sensitivity"], SENSITIVITY_DIGITS)
            shown["sensitivity"] = num(c, _quotient_unit(out_unit, unit))
        if row.get("contribution") is not None:
            shown["contribution"] = num(round_up_significant(row["contribution"]), out_unit)
        shown["dof"] = _dof_text(row.get("dof"))
        note = _in_language(row, "note", language)
        if note:
            shown["note"] = note
        shown_rows.append(shown)

    result: dict[str, Any] = {"unit": out_unit, "rows": shown_rows}
    if budget.get("u") is not None:
        result["u"] = num(round_up_significant(budget["u"]), out_unit)
    if "dof" in budget:
        result["dof"] = _dof_text(budget["dof"])
    if budget.get("k") is not None:
        result["k"] = format_k(budget["k"], language)
    if budget.get("U") is not None:
        U_r, _ = round_expanded_uncertainty(budget["U"])
        result["U"] = num(U_r, out_unit)
    if budget.get("coverage_probability") is not None:
        result["coverage_probability"] = _percent(budget["coverage_probability"], language)
    return result
