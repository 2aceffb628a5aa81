"""Quantity of product in prepackages: tolerable deficiencies, sampling plan, mean test, T1/T2 counts, lot decision.

OIML R87:2016 (Quantity of product in prepackages) and Vietnam's Circular 21/2014/TT-BKHCN. Units: nominal and
actual quantities, tares and deficiencies in **g** (mass) or **mL** (volume, from mass and a density in g/mL);
the caller's unit is carried in the results. Pure functions: the run engine passes the weighings.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any, Literal

from acquisition.methods.base import PointResult, finite


@dataclass(frozen=True)
class RuleTable:
    """A rule table with the edition it was taken from; ``rows`` are tuples described by ``columns``."""

    edition: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""


# (lower bound exclusive, upper bound inclusive or None, kind, value): kind "%" of Qn or "abs" in g or mL.
# The table is continuous at every bound (9 % of 50 = 4.5, 4.5 % of 200 = 9, ...), so the side a bound falls on
# never changes T1.
R87_T1 = RuleTable(
    edition="OIML R87:2016 3.4 Table 1 (tolerable deficiency T1); Circular 21/2014/TT-BKHCN",
    columns=("Qn above", "Qn up to", "kind", "T1"),
    rows=(
        (0.0, 50.0, "%", 9.0),
        (50.0, 100.0, "abs", 4.5),
        (100.0, 200.0, "%", 4.5),
        (200.0, 300.0, "abs", 9.0),
        (300.0, 500.0, "%", 3.0),
        (500.0, 1_000.0, "abs", 15.0),
        (1_000.0, 10_000.0, "%", 1.5),
        (10_000.0, 15_000.0, "abs", 150.0),
        (15_000.0, None, "%", 1.0),
    ),
    note="percentages rounded up to the next 0.1 g or mL; T2 = 2 T1",
)

#: How far each sampling-plan row below was checked (the edition's own text was not at hand for any of them).
R87_PLAN_SECONDARY = (
    "unverified: not checked against the text of OIML R87:2016 Table 2 or Circular 21/2014/TT-BKHCN (neither was "
    "at hand); n and c as in a copy of Australia's National Trade Measurement Regulations 2009 reg. 4.34 (which "
    "adopts R87's plan), λ = t_0.995(n − 1)/√n recomputed"
)
R87_PLAN_SMALL_LOT = (
    "unverified: no text of R87:2016 or Circular 21/2014 on lots below 100 was at hand; conservative choice: 100 % "
    "inspection (n = lot size), mean test x̄ >= Qn (λ = 0, as Directive 76/211/EEC Annex II asks for batches below "
    "100, read in UK SI 2006/659 Sch. 2 paras 2.8 and 4.7), no package below Qn − T1 (c = 0)"
)

# (lot from, lot to or None, sample size n or None = every package of the lot, λ = t_0.995(n−1)/√n, allowed
# T1-defectives c, how far the row was checked). Rows in lot-size order; every lot size >= 1 has exactly one row.
R87_SAMPLING = RuleTable(
    edition="OIML R87:2016 Table 2 (sampling plans; unverified, see the plan's note); Circular 21/2014/TT-BKHCN",
    columns=("lot from", "lot to", "n", "lambda", "c", "checked"),
    rows=(
        (1, 99, None, 0.0, 0, R87_PLAN_SMALL_LOT),
        (100, 500, 50, 0.379, 3, R87_PLAN_SECONDARY),
        (501, 3_200, 80, 0.295, 5, R87_PLAN_SECONDARY),
        (3_201, None, 125, 0.234, 7, R87_PLAN_SECONDARY),
    ),
    note=(
        "no row was checked against the text of R87:2016 or of Circular 21/2014 (neither was at hand, nor an "
        "amendment of the circular); each row says what it was checked against, and that note goes with every "
        "result that uses the row. Lots below 100: a conservative 100 % inspection (R87_PLAN_SMALL_LOT)."
    ),
)


@dataclass(frozen=True)
class SamplingPlan:
    """Sample size ``n``, correction factor ``lam`` (λ) for the mean test and allowed T1-defectives ``c``.

    ``note`` says how far the plan was checked (e.g. "unverified: ..."); results using the plan carry it.
    """

    n: int
    lam: float
    c: int
    reference: str = R87_SAMPLING.edition
    note: str = ""


@dataclass(frozen=True)
class TareEstimate:
    """Average tare of ``n`` empty packages (g) with their standard deviation ``s`` (g)."""

    mean: float
    s: float
    n: int


@dataclass(frozen=True)
class LotDecision:
    """Outcome of a lot inspection; quantities in ``unit`` (g or mL).

    ``accepted`` is True when the mean test passes, at most ``plan.c`` packages are T1-defective and none is
    T2-defective; ``reasons`` says why it was accepted or rejected. ``results`` holds one PointResult per package
    (net quantity) followed by the mean test and the two counts.
    """

    accepted: bool
    reasons: tuple[str, ...]
    nominal: float
    unit: str
    lot_size: int
    plan: SamplingPlan
    t1: float
    t2: float
    mean: float
    s: float
    mean_limit: float
    mean_ok: bool
    t1_defectives: tuple[int, ...]
    t2_defectives: tuple[int, ...]
    net: tuple[float, ...]
    results: tuple[PointResult, ...]

    @property
    def conformity(self) -> str:
        """DCC conformity of the lot: ``pass`` (accepted) or ``fail``."""
        return "pass" if self.accepted else "fail"


def tolerable_deficiency(nominal: float) -> float:
    """T1 in g or mL for nominal quantity ``nominal`` (g or mL), OIML R87:2016 Table 1.

    Percent values are rounded up to the next 0.1 g or mL (computed in decimal, so 9 % of 20 is exactly 1.8).
    """
    qn = finite("nominal quantity Qn", nominal, positive=True)
    for lower, upper, kind, value in R87_T1.rows:
        if qn > lower and (upper is None or qn <= upper):
            if kind == "abs":
                return float(value)
            t = Decimal(repr(qn)) * Decimal(repr(value)) / Decimal(100)
            return float(t.quantize(Decimal("0.1"), rounding=ROUND_CEILING))
    raise AssertionError("unreachable: the table covers every Qn > 0")  # pragma: no cover


def sampling_plan(lot_size: int) -> SamplingPlan:
    """The sampling plan for a lot of ``lot_size`` prepackages (R87:2016 Table 2 as encoded in :data:`R87_SAMPLING`).

    Lots below 100: every package (n = lot size), λ = 0, c = 0 — a conservative choice, unverified (see
    :data:`R87_PLAN_SMALL_LOT`). The plan's ``note`` says how far its row was checked.
    """
    if isinstance(lot_size, bool) or not isinstance(lot_size, int) or lot_size <= 0:
        raise ValueError(f"lot size must be a positive whole number of prepackages, got {lot_size!r}")
    for lo, hi, n, lam, c, checked in R87_SAMPLING.rows:
        if lot_size >= lo and (hi is None or lot_size <= hi):
            return SamplingPlan(n=lot_size if n is None else n, lam=lam, c=c, note=checked)
    raise AssertionError("unreachable: the table covers every lot size >= 1")  # pragma: no cover


def average_tare(tares: Sequence[float]) -> TareEstimate:
    """Average tare (g) and standard deviation of the tares of ``n_t`` ≥ 2 empty packages (R87:2016 Annex B)."""
    if isinstance(tares, (str, bytes)) or len(tares) < 2:
        raise ValueError("weigh at least 2 empty packages to estimate an average tare")
    vals = [finite(f"tare {i}", t, nonneg=True) for i, t in enumerate(tares, start=1)]
    return TareEstimate(mean=statistics.fmean(vals), s=statistics.stdev(vals), n=len(vals))


def assess_lot(
    nominal: float,
    gross: Sequence[float],
    *,
    lot_size: int,
    tare: float | TareEstimate | None = None,
    tares: Sequence[float] | None = None,
    plan: SamplingPlan | None = None,
    density: float | None = None,
    unit: Literal["g", "mL"] = "g",
) -> LotDecision:
    """Inspect a sample of prepackages and decide on the lot (OIML R87:2016 clauses 3 and 4; Circular 21/2014).

    ``gross``: gross masses (g) of the sampled packages. Tare: an average ``tare`` (g, or a :class:`TareEstimate`)
    or individual ``tares`` (g, one per package). With ``unit="mL"`` give ``density`` (g/mL): net volume = net
    mass / density. Checks: mean x̄ ≥ Qn − λ·s; at most c packages with x < Qn − T1; none with x < Qn − T2.
    Net quantities are rounded to 1e-9 of the unit so a reading exactly at a limit is judged at the limit.
    """
    qn = finite("nominal quantity Qn", nominal, positive=True)
    if unit not in ("g", "mL"):
        raise ValueError(f"unit must be 'g' or 'mL', got {unit!r}")
    plan = plan if plan is not None else sampling_plan(lot_size)
    if not isinstance(plan, SamplingPlan) or plan.n < 1 or plan.c < 0 or not plan.lam >= 0:
        raise ValueError(f"invalid sampling plan {plan!r}: need n >= 1, lam >= 0, c >= 0")
    if isinstance(lot_size, bool) or not isinstance(lot_size, int) or lot_size < plan.n:
        raise ValueError(f"lot size {lot_size!r} must be a whole number >= the sample size {plan.n}")
    if isinstance(gross, (str, bytes)) or len(gross) != plan.n:
        got = "a string" if isinstance(gross, (str, bytes)) else len(gross)
        raise ValueError(f"the sampling plan for a lot of {lot_size} asks {plan.n} packages, got {got}")
    g = [finite(f"gross mass of package {i}", x, nonneg=True) for i, x in enumerate(gross, start=1)]
    if (tare is None) == (tares is None):
        raise ValueError("give either an average tare (tare=...) or individual tares (tares=[...]), one of them")
    if tares is not None:
        if isinstance(tares, (str, bytes)) or len(tares) != len(g):
            raise ValueError(f"individual tares: one per package ({len(g)}), got {len(tares)}")
        tv = [finite(f"tare of package {i}", x, nonneg=True) for i, x in enumerate(tares, start=1)]
    else:
        t_mean = tare.mean if isinstance(tare, TareEstimate) else finite("tare", tare, nonneg=True)
        tv = [t_mean] * len(g)
    net_mass = [gi - ti for gi, ti in zip(g, tv, strict=True)]
    if unit == "mL":
        if density is None:
            raise ValueError("a volume (mL) check needs the product density in g/mL (density=...)")
        rho = finite("density (g/mL)", density, positive=True)
        if not 0.3 <= rho <= 3.0:
            raise ValueError(f"density {rho} is outside 0.3..3 g/mL; give it in g/mL")
        net = [round(m / rho, 9) for m in net_mass]
    else:
        if density is not None:
            raise ValueError("density is only used with unit='mL'")
        net = [round(m, 9) for m in net_mass]
    for i, x in enumerate(net, start=1):
        if x <= 0.0:
            raise ValueError(f"package {i}: net quantity {x} {unit} <= 0; check its gross mass and the tare")

    t1 = tolerable_deficiency(qn)
    t2 = 2.0 * t1
    lim1, lim2 = round(qn - t1, 9), round(qn - t2, 9)
    mean = statistics.fmean(net)
    # one package (a lot of one): no s; taken as 0, so the mean test asks x >= Qn (the strictest reading)
    s = statistics.stdev(net) if len(net) >= 2 else 0.0
    mean_limit = qn - plan.lam * s
    mean_ok = mean >= mean_limit
    d1 = tuple(i for i, x in enumerate(net, start=1) if x < lim1)
    d2 = tuple(i for i, x in enumerate(net, start=1) if x < lim2)

    reasons: list[str] = []
    reasons.append(
        f"mean {mean:.4g} {unit} {'>=' if mean_ok else '<'} Qn − λ·s = {qn:g} − {plan.lam:g}·{s:.4g} = "
        f"{mean_limit:.4g} {unit}"
    )
    ok1 = len(d1) <= plan.c
    reasons.append(
        f"{len(d1)} package(s) below Qn − T1 = {lim1:g} {unit} (allowed {plan.c})"
        + (f": {', '.join(map(str, d1))}" if d1 else "")
    )
    ok2 = not d2
    reasons.append(
        f"{len(d2)} package(s) below Qn − T2 = {lim2:g} {unit} (allowed 0)"
        + (f": {', '.join(map(str, d2))}" if d2 else "")
    )
    accepted = mean_ok and ok1 and ok2
    reasons.insert(0, "lot accepted" if accepted else "lot rejected")

    ref = f"{R87_T1.edition}; {plan.reference}"
    plan_note = f"sampling plan n = {plan.n}, λ = {plan.lam:g}, c = {plan.c}" + (f" ({plan.note})" if plan.note else "")
    results: list[PointResult] = []
    for i, x in enumerate(net, start=1):
        status = "T2-defective" if i in d2 else "T1-defective" if i in d1 else ""
        results.append(
            PointResult(
                quantity="net quantity",
                point=qn,
                point_unit=unit,
                value=x,
                unit=unit,
                mpe=t1,
                conformity="fail" if status else "pass",
                rule="individual prepackage: actual quantity >= Qn − T1 (R87:2016 3.2)",
                reference=ref,
                note=f"package {i}" + (f": {status}" if status else ""),
            )
        )
    results.append(
        PointResult(
            quantity="mean net quantity",
            point=qn,
            point_unit=unit,
            value=mean,
            unit=unit,
            mpe=plan.lam * s,
            conformity="pass" if mean_ok else "fail",
            rule="mean test: x̄ >= Qn − λ·s (R87:2016 3.1, 4)",
            reference=ref,
            note=plan_note,
            evidence={"n": plan.n, "lambda": plan.lam, "s": s, "limit": mean_limit},
        )
    )
    results.append(
        PointResult(
            quantity="T1-defective prepackages",
            point=qn,
            point_unit=unit,
            value=float(len(d1)),
            unit="1",
            mpe=float(plan.c),
            conformity="pass" if ok1 else "fail",
            rule=f"at most c = {plan.c} below Qn − T1 = {lim1:g} {unit}",
            reference=ref,
            note=plan_note,
            evidence={"T1": t1, "packages": list(d1)},
        )
    )
    results.append(
        PointResult(
            quantity="T2-defective prepackages",
            point=qn,
            point_unit=unit,
            value=float(len(d2)),
            unit="1",
            mpe=0.0,
            conformity="pass" if ok2 else "fail",
            rule=f"none below Qn − T2 = {lim2:g} {unit}",
            reference=ref,
            evidence={"T2": t2, "packages": list(d2)},
        )
    )
    return LotDecision(
        accepted=accepted,
        reasons=tuple(reasons),
        nominal=qn,
        unit=unit,
        lot_size=lot_size,
        plan=plan,
        t1=t1,
        t2=t2,
        mean=mean,
        s=s,
        mean_limit=mean_limit,
        mean_ok=mean_ok,
        t1_defectives=d1,
        t2_defectives=d2,
        net=tuple(net),
        results=tuple(results),
    )
