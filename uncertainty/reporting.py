"""Reporting a result y ± U: ILAC P14:09/2020 rounding and the CMC floor.

* U is stated with at most ``significant_digits`` (default 2) significant digits; ordinary rounding
  (half up) is used unless it would lower U by more than 5 %, in which case U is rounded up instead
  (ILAC P14 5.4 / note). U is never stated below the laboratory's CMC for the range.
* y is rounded to the decimal position of the last digit of the stated U (ILAC P14 5.4).
* Intermediate values are never rounded: round only what is printed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from .errors import InputError

__all__ = ["ReportedResult", "report", "round_uncertainty", "round_value"]

MAX_ROUND_DOWN = 0.05


def _check(name: str, x: float, *, positive: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise InputError(f"{name} must be a finite number, got {x!r}")
    if positive and x <= 0.0:
        raise InputError(f"{name} must be > 0, got {x!r}")
    return float(x)


def _exponent_for(u: Decimal, digits: int) -> int:
    """Decimal exponent of the last kept digit when keeping ``digits`` significant digits of u > 0."""
    return u.adjusted() - digits + 1


def round_uncertainty(
    U: float, significant_digits: int = 2, *, max_round_down: float = MAX_ROUND_DOWN, minimum: float | None = None
) -> Decimal:
    """Round an expanded uncertainty U > 0 for reporting (ILAC P14); returns an exact Decimal.

    Ordinary rounding to ``significant_digits`` digits, except: rounding down by more than
    ``max_round_down`` (relative, default 5 %) is replaced by rounding up; and the result is never below
    ``minimum`` (e.g. the CMC) — it is rounded up at the same digit instead.
    """
    U = _check("U", U, positive=True)
    if isinstance(significant_digits, bool) or not isinstance(significant_digits, int) or significant_digits < 1:
        raise InputError(f"significant_digits must be an integer >= 1, got {significant_digits!r}")
    d = Decimal(repr(U))
    exp = _exponent_for(d, significant_digits)
    quantum = Decimal(1).scaleb(exp)
    r = d.quantize(quantum, rounding=ROUND_HALF_UP)
    if r.adjusted() > d.adjusted():  # e.g. 99.6 -> 100: keep the stated number of significant digits
        r = r.quantize(Decimal(1).scaleb(exp + 1), rounding=ROUND_HALF_UP)
    if r < d * (Decimal(1) - Decimal(repr(max_round_down))):
        r = d.quantize(quantum, rounding=ROUND_CEILING)
    if minimum is not None and r < Decimal(repr(_check("minimum", minimum))):
        r = d.quantize(quantum, rounding=ROUND_CEILING)
        while r < Decimal(repr(minimum)):
            r += quantum
    return r


def round_value(y: float, U_rounded: Decimal) -> Decimal:
    """Round y to the decimal position of the last significant digit of the rounded U (half up)."""
    y = _check("y", y)
    return Decimal(repr(y)).quantize(Decimal(1).scaleb(U_rounded.as_tuple().exponent), rounding=ROUND_HALF_UP)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ReportedResult:
    """A result ready for a certificate: strings exactly as printed and what was applied.

    ``U`` is the stated expanded uncertainty (>= the CMC when one was given), ``cmc_applied`` tells that
    the calculated U was below the CMC and the CMC was stated instead.
    """

    value: str
    U: str
    k: float
    coverage_probability: float | None
    U_calculated: float
    cmc_applied: bool

    def __str__(self) -> str:
        p = f", p ≈ {self.coverage_probability:.0%}" if self.coverage_probability is not None else ""
        return f"{self.value} ± {self.U} (k = {self.k:.2f}{p})"


def report(
    y: float,
    U: float,
    k: float,
    *,
    coverage_probability: float | None = 0.95,
    cmc: float | None = None,
    significant_digits: int = 2,
) -> ReportedResult:
    """Round y ± U for reporting (ILAC P14) with the CMC floor: the stated U is max(U, cmc), rounded
    so that it is never below the CMC; y is rounded to U's last digit. Units are the caller's (y, U, cmc
    in the same unit)."""
    U = _check("U", U, positive=True)
    k = _check("k", k, positive=True)
    floor = None if cmc is None else _check("cmc", cmc, positive=True)
    applied = floor is not None and floor > U
    target = floor if (applied and floor is not None) else U
    u_r = round_uncertainty(target, significant_digits, minimum=floor)
    y_r = round_value(y, u_r)
    return ReportedResult(format(y_r, "f"), format(u_r, "f"), k, coverage_probability, U, applied)
