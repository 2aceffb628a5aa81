"""Prepackages (OIML R87:2016, Circular 21/2014/TT-BKHCN): T1/T2, sampling plans, mean test, lot decision.

No worked example of R87 was at hand, so the lot cases are hand-worked below.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from scipy import stats

from acquisition.methods.prepackages import (
    R87_SAMPLING,
    SamplingPlan,
    TareEstimate,
    assess_lot,
    average_tare,
    sampling_plan,
    tolerable_deficiency,
)


@pytest.mark.parametrize(
    ("qn", "t1"),
    [
        (20, 1.8),  # 9 % of 20 = 1.8
        (30, 2.7),  # 9 % of 30 = 2.7
        (50, 4.5),  # at the bound: 9 % of 50 = 4.5 = the next band's 4.5 g
        (50.1, 4.5),  # just above: fixed 4.5 g
        (100, 4.5),
        (101, 4.6),  # 4.5 % of 101 = 4.545 -> rounded up 4.6
        (150, 6.8),  # 6.75 -> 6.8
        (200, 9.0),
        (301, 9.1),  # 3 % of 301 = 9.03 -> 9.1
        (500, 15.0),
        (1000, 15.0),
        (1001, 15.1),  # 1.5 % of 1001 = 15.015 -> 15.1
        (10_000, 150.0),
        (15_000, 150.0),
        (15_001, 150.1),  # 1 % of 15001 = 150.01 -> 150.1
        (20_000, 200.0),
    ],
)
def test_tolerable_deficiency_table(qn: float, t1: float) -> None:
    """R87:2016 Table 1 (METROLOGY.md), percentages rounded up to the next 0.1 g/mL."""
    assert tolerable_deficiency(qn) == t1


@pytest.mark.parametrize(
    ("lot", "n", "lam", "c"),
    [
        (1, 1, 0.0, 0),  # below 100: every package, λ = 0, c = 0 (the conservative, unverified row)
        (60, 60, 0.0, 0),
        (99, 99, 0.0, 0),
        (100, 50, 0.379, 3),
        (500, 50, 0.379, 3),
        (501, 80, 0.295, 5),
        (3200, 80, 0.295, 5),
        (3201, 125, 0.234, 7),
        (100_000, 125, 0.234, 7),
    ],
)
def test_sampling_plan_boundaries(lot: int, n: int, lam: float, c: int) -> None:
    """Lot sizes at each bound of R87:2016 Table 2 as encoded (n, λ, c quoted from the table)."""
    plan = sampling_plan(lot)
    assert (plan.n, plan.lam, plan.c) == (n, lam, c)
    assert plan.note.startswith("unverified")  # no row was checked against the edition's own text


@pytest.mark.parametrize("row", R87_SAMPLING.rows, ids=lambda row: f"lots {row[0]}-{row[1]}")
def test_every_tabulated_lambda_is_t_0995_over_root_n(row: tuple[Any, ...]) -> None:
    """λ = t_0.995(n − 1)/√n (R87:2016 Annex F basis), computed here with scipy for each n, equals the tabulated λ
    to its 3 decimals: n = 50: 2.6800/7.0711 = 0.3790; n = 80: 2.6395/8.9443 = 0.2951; n = 125: 2.6157/11.180 =
    0.2340. The row below 100 inspects every package: no sampling, so λ = 0 (mean test x̄ >= Qn)."""
    _lo, _hi, n, lam, _c, checked = row
    assert "unverified" in checked
    if n is None:
        assert lam == 0.0
        return
    assert lam == round(float(stats.t.ppf(0.995, n - 1)) / math.sqrt(n), 3)
    assert abs(lam - float(stats.t.ppf(0.995, n - 1)) / math.sqrt(n)) < 5e-4


def test_the_rows_cover_every_lot_size_once() -> None:
    rows = R87_SAMPLING.rows
    assert rows[0][0] == 1 and rows[-1][1] is None
    for (_, hi, *_), (lo, *_) in itertools.pairwise(rows):
        assert lo == hi + 1


def _lot(nets: list[float], tare: float = 12.3) -> list[float]:
    return [x + tare for x in nets]


def test_lot_accepted_with_c_t1_defectives() -> None:
    """Qn = 500 g, lot 400 -> n = 50, λ = 0.379, c = 3; T1 = 15 g, T2 = 30 g.

    47 packages at 501 g and 3 at 484 g (deficiency 16 g > T1, < T2); average tare 12.3 g.
    x̄ = (47·501 + 3·484)/50 = 24999/50 = 499.98 g;
    Σ(x − x̄)² = 47·1.02² + 3·15.98² = 48.8988 + 766.0812 = 814.98; s = √(814.98/49) = 4.07826 g;
    limit = 500 − 0.379·4.07826 = 498.454 g <= 499.98: mean test passed; 3 T1-defectives <= c = 3; no T2.
    """
    d = assess_lot(500, _lot([501.0] * 47 + [484.0] * 3), lot_size=400, tare=12.3)
    assert d.accepted and d.conformity == "pass"
    assert (d.plan.n, d.plan.lam, d.plan.c, d.t1, d.t2) == (50, 0.379, 3, 15.0, 30.0)
    assert d.mean == pytest.approx(499.98, abs=1e-9)
    assert d.s == pytest.approx(4.07826, abs=1e-5)
    assert d.mean_limit == pytest.approx(498.454, abs=1e-3)
    assert d.t1_defectives == (48, 49, 50) and d.t2_defectives == ()
    assert d.reasons[0] == "lot accepted"
    per_package = d.results[:50]
    assert [r.conformity for r in per_package].count("fail") == 3
    assert per_package[47].note == "package 48: T1-defective"
    assert [r.quantity for r in d.results[50:]] == [
        "mean net quantity",
        "T1-defective prepackages",
        "T2-defective prepackages",
    ]


def test_lot_rejected_with_c_plus_one_t1_defectives() -> None:
    """As above with a 4th package at 484 g (46 at 501): x̄ = (23046 + 1936)/50 = 499.64; s = 4.6479;
    limit = 500 − 0.379·4.6479 = 498.238 -> mean passes, but 4 > c = 3 T1-defectives -> rejected."""
    d = assess_lot(500, _lot([501.0] * 46 + [484.0] * 4), lot_size=400, tare=12.3)
    assert d.mean_ok and not d.accepted
    assert len(d.t1_defectives) == 4
    assert any("4 package(s) below Qn − T1 = 485 g (allowed 3)" in r for r in d.reasons)


def test_exactly_at_qn_minus_t1_is_not_defective_and_t2_rejects() -> None:
    """485 g = Qn − T1 exactly is not T1-defective; 469.9 g < Qn − T2 = 470 g is T2-defective: rejected
    whatever the mean (49·501 + 469.9 = 25018.9 -> x̄ = 500.378)."""
    at_limit = assess_lot(500, _lot([501.0] * 49 + [485.0]), lot_size=400, tare=12.3)
    assert at_limit.t1_defectives == () and at_limit.accepted
    t2 = assess_lot(500, _lot([501.0] * 49 + [469.9]), lot_size=400, tare=12.3)
    assert t2.mean == pytest.approx(500.378, abs=1e-9)
    assert t2.t2_defectives == (50,) and not t2.accepted
    assert t2.results[49].note == "package 50: T2-defective"


def test_mean_test_fails() -> None:
    """25 at 497 g and 25 at 499 g: x̄ = 498, s = √(50·1/49) = 1.01015, limit = 500 − 0.379·1.01015 = 499.617
    -> 498 < 499.617: rejected on the mean, with no T1-defective (all above 485 g)."""
    d = assess_lot(500, _lot([497.0] * 25 + [499.0] * 25), lot_size=400, tare=12.3)
    assert not d.mean_ok and not d.accepted
    assert d.mean_limit == pytest.approx(499.617, abs=1e-3)
    assert d.t1_defectives == ()
    assert d.results[50].conformity == "fail"


def test_individual_tares_volume_and_tare_estimate() -> None:
    """Qn = 1000 mL (T1 = 15 mL), lot 1000 -> n = 80, λ = 0.295, c = 5; density 1.02 g/mL.
    Net masses 1020.0 g -> 1000.0 mL each, 1 package 994.5 g -> 975.0 mL (T1-defective, not T2 = 30 mL).
    Individual tares alternate 30 and 32 g."""
    nets_g = [1020.0] * 79 + [994.5]
    tares = [30.0 if i % 2 else 32.0 for i in range(80)]
    gross = [m + t for m, t in zip(nets_g, tares, strict=True)]
    d = assess_lot(1000, gross, lot_size=1000, tares=tares, density=1.02, unit="mL")
    assert d.unit == "mL" and d.plan.n == 80
    assert d.net[-1] == pytest.approx(975.0, abs=1e-9)
    assert d.t1_defectives == (80,)
    assert d.accepted
    te = average_tare([12.0, 12.4, 12.5])  # mean 12.3, s = √((0.09 + 0.01 + 0.04)/2) = 0.26458
    assert te.mean == pytest.approx(12.3) and te.s == pytest.approx(0.264575, abs=1e-6) and te.n == 3
    d2 = assess_lot(500, _lot([501.0] * 50), lot_size=400, tare=te)
    assert d2.net[0] == pytest.approx(501.0, abs=1e-9)


def test_small_lot_every_package_and_mean_at_least_qn() -> None:
    """Lot of 20, Qn = 100 g (T1 = 4.5 g, T2 = 9 g): the encoded plan weighs all 20, λ = 0, c = 0.

    10 at 99.0 g and 10 at 100.6 g: x̄ = 99.8 g, s = √(20·0.8²/19) = 0.82078 g. With λ = 0 the limit is Qn = 100 g:
    rejected on the mean (the 100–500 plan's λ = 0.379 would have given 100 − 0.311 = 99.689 g: accepted). The
    mean row says the plan is unverified."""
    d = assess_lot(100, _lot([99.0] * 10 + [100.6] * 10), lot_size=20, tare=12.3)
    assert (d.plan.n, d.plan.lam, d.plan.c) == (20, 0.0, 0)
    assert d.mean == pytest.approx(99.8, abs=1e-9) and d.s == pytest.approx(0.82078, abs=1e-5)
    assert d.mean_limit == 100.0 and not d.mean_ok and not d.accepted
    mean_row = d.results[20]
    assert mean_row.quantity == "mean net quantity" and mean_row.mpe == 0.0
    assert "n = 20, λ = 0, c = 0 (unverified" in mean_row.note
    assert "unverified" in d.results[21].note  # the T1 count row
    # one package below Qn − T1 = 95.5 g is one too many (c = 0), whatever the mean: 19·100.5 + 95.0 -> 100.225
    one_short = assess_lot(100, _lot([100.5] * 19 + [95.0]), lot_size=20, tare=12.3)
    assert one_short.mean_ok and one_short.t1_defectives == (20,) and not one_short.accepted


def test_lot_of_one_package() -> None:
    """A lot of 1: n = 1, no s (taken as 0), so the package itself must hold at least Qn."""
    assert assess_lot(100, _lot([100.2]), lot_size=1, tare=12.3).accepted
    d = assess_lot(100, _lot([99.9]), lot_size=1, tare=12.3)
    assert d.s == 0.0 and d.mean_limit == 100.0 and not d.accepted


def test_explicit_plan_for_small_lot() -> None:
    plan = SamplingPlan(n=5, lam=1.0, c=0, reference="given by the inspector")
    d = assess_lot(100, _lot([101.0, 100.0, 99.0, 100.0, 100.0]), lot_size=20, tare=12.3, plan=plan)
    # x̄ = 100, s = √(2/4) = 0.7071, limit 99.29 -> pass; nothing below 95.5
    assert d.accepted


def test_bad_arguments() -> None:
    good = _lot([501.0] * 50)
    with pytest.raises(ValueError, match="asks 50 packages, got 49"):
        assess_lot(500, good[:49], lot_size=400, tare=12.3)
    with pytest.raises(ValueError, match="either an average tare"):
        assess_lot(500, good, lot_size=400)
    with pytest.raises(ValueError, match="either an average tare"):
        assess_lot(500, good, lot_size=400, tare=1.0, tares=[1.0] * 50)
    with pytest.raises(ValueError, match="one per package"):
        assess_lot(500, good, lot_size=400, tares=[1.0] * 3)
    with pytest.raises(ValueError, match="density in g/mL"):
        assess_lot(500, good, lot_size=400, tare=12.3, unit="mL")
    with pytest.raises(ValueError, match="check its gross mass"):
        assess_lot(500, good, lot_size=400, tare=600.0)
    with pytest.raises(ValueError, match="positive whole number"):
        sampling_plan(0)
    with pytest.raises(ValueError, match="must be > 0"):
        tolerable_deficiency(0)
    with pytest.raises(ValueError, match="finite"):
        tolerable_deficiency(math.inf)
    with pytest.raises(ValueError, match="at least 2 empty packages"):
        average_tare([12.0])
    with pytest.raises(ValueError, match="gross mass of package 1"):
        assess_lot(500, ["x", *good[1:]], lot_size=400, tare=12.3)  # type: ignore[list-item]
    assert isinstance(TareEstimate(1.0, 0.1, 2), TareEstimate)
