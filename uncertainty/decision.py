"""Decision rules for statements of conformity (ILAC G8:09/2019; JCGM 106:2012).

Rules (w = guard band, same unit as y; acceptance interval = tolerance interval shrunk by w):

* ``"simple"``: simple acceptance, w = 0 (ILAC G8 4.2.1): pass inside the tolerance, else fail.
* ``"guarded"``: guarded acceptance with a chosen w (default w = U, about 2.5 % probability of false
  acceptance at the limit for a normal PDF, ILAC G8 4.2.2): pass inside the acceptance interval, else fail.
* ``"non-binary"`` (ILAC G8 4.2.3, w default U): pass inside the acceptance interval; conditional pass
  inside the tolerance but within w of a limit; conditional fail outside the tolerance but within w of a
  limit; fail further out.

The conformity values are those of DCC 3.3.0: ``pass``, ``fail``, ``conditionalPass``,
``conditionalFail``. The probability of conformity at the measured value (JCGM 106 7.2/7.3) is computed
from a normal PDF (or a scaled-and-shifted t for a finite dof) with the standard uncertainty u = U/k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from .errors import InputError

__all__ = ["RULES", "Decision", "decide", "probability_of_conformity"]

RULES = ("simple", "guarded", "non-binary")


@dataclass(frozen=True)
class Decision:
    """A statement of conformity and the numbers behind it.

    Attributes:
        conformity: ``pass``, ``fail``, ``conditionalPass`` or ``conditionalFail`` (DCC 3.3.0).
        rule: the decision rule applied; guard_band: w; acceptance: the acceptance interval (None = open).
        probability_conforming: probability that the true value is inside the tolerance, given y and u.
        pfa: probability of false acceptance at the measured value (1 - probability_conforming when the
            item is accepted — pass or conditionalPass —, else 0).
        pfr: probability of false rejection at the measured value (probability_conforming when rejected).
    """

    conformity: str
    rule: str
    guard_band: float
    acceptance: tuple[float | None, float | None]
    tolerance: tuple[float | None, float | None]
    probability_conforming: float
    pfa: float
    pfr: float

    @property
    def accepted(self) -> bool:
        """True for pass and conditionalPass."""
        return self.conformity in ("pass", "conditionalPass")


def _num(name: str, x: float | None) -> float | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise InputError(f"{name} must be a finite number, got {x!r}")
    return float(x)


def probability_of_conformity(
    y: float, u: float, lower: float | None, upper: float | None, dof: float = math.inf
) -> float:
    """P(lower <= Y <= upper) for Y ~ N(y, u^2) (or y + u t_dof for a finite dof); u > 0."""
    if not u > 0.0:
        raise InputError(f"u must be > 0, got {u!r}")
    dist = stats.norm if math.isinf(dof) else stats.t(dof)
    hi = 1.0 if upper is None else float(dist.cdf((upper - y) / u))
    lo = 0.0 if lower is None else float(dist.cdf((lower - y) / u))
    return max(0.0, min(1.0, hi - lo))


def decide(
    y: float,
    U: float,
    *,
    lower: float | None = None,
    upper: float | None = None,
    rule: str = "simple",
    guard_band: float | None = None,
    k: float = 2.0,
    dof: float = math.inf,
) -> Decision:
    """Apply a decision rule to a measured value y with expanded uncertainty U (coverage factor k).

    ``lower``/``upper`` are the tolerance limits (one may be None for a one-sided specification).
    ``guard_band`` w >= 0 defaults to 0 for ``simple`` and to U for the other rules. y, U, limits and w
    share one unit.
    """
    if rule not in RULES:
        raise InputError(f"unknown decision rule {rule!r}; use one of {list(RULES)}")
    y_f = _num("y", y)
    U_f = _num("U", U)
    lo = _num("lower", lower)
    hi = _num("upper", upper)
    k_f = _num("k", k)
    assert y_f is not None and U_f is not None and k_f is not None
    if U_f <= 0.0 or k_f <= 0.0:
        raise InputError("U and k must be > 0")
    if lo is None and hi is None:
        raise InputError("give at least one tolerance limit (lower and/or upper)")
    if lo is not None and hi is not None and hi < lo:
        raise InputError(f"upper limit ({hi}) must be >= lower limit ({lo})")
    if rule == "simple":
        if guard_band not in (None, 0, 0.0):
            raise InputError("simple acceptance has no guard band (w = 0); use rule='guarded'")
        w = 0.0
    else:
        w_opt = _num("guard_band", guard_band)
        w = U_f if w_opt is None else w_opt
        if w < 0.0:
            raise InputError(f"guard_band must be >= 0, got {w}")
    acc_lo = None if lo is None else lo + w
    acc_hi = None if hi is None else hi - w
    if acc_lo is not None and acc_hi is not None and acc_hi < acc_lo:
        raise InputError("the guard band is wider than half the tolerance: nothing can be accepted")
    inside_acc = (acc_lo is None or y_f >= acc_lo) and (acc_hi is None or y_f <= acc_hi)
    inside_tol = (lo is None or y_f >= lo) and (hi is None or y_f <= hi)
    if rule in ("simple", "guarded"):
        conformity = "pass" if inside_acc else "fail"
    elif inside_acc:
        conformity = "pass"
    elif inside_tol:
        conformity = "conditionalPass"
    else:
        below = lo is not None and y_f < lo
        near = (lo is not None and lo - w <= y_f) if below else (hi is not None and y_f <= hi + w)
        conformity = "conditionalFail" if near else "fail"
    pc = probability_of_conformity(y_f, U_f / k_f, lo, hi, dof)
    accepted = conformity in ("pass", "conditionalPass")
    return Decision(
        conformity=conformity,
        rule=rule,
        guard_band=w,
        acceptance=(acc_lo, acc_hi),
        tolerance=(lo, hi),
        probability_conforming=pc,
        pfa=1.0 - pc if accepted else 0.0,
        pfr=pc if not accepted else 0.0,
    )
