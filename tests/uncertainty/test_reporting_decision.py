"""ILAC P14 rounding with the CMC floor, and decision rules (ILAC G8, JCGM 106)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from scipy import stats

from uncertainty import InputError, decide, probability_of_conformity, report, round_uncertainty, round_value


@pytest.mark.parametrize(
    ("U", "digits", "expected"),
    [
        (58.52, 2, "59"),  # ordinary rounding up
        (0.01234, 2, "0.012"),  # ordinary rounding down by 2.8 % (< 5 %)
        (1.049, 2, "1.0"),  # down by 4.7 %: allowed
        (0.13, 1, "0.2"),  # 0.1 would be 23 % down: round up instead
        (0.0123, 1, "0.02"),
        (0.96, 1, "1"),
        (0.104, 1, "0.1"),  # down 3.8 %
        (0.106, 1, "0.2"),  # 0.1 would be 5.7 % down
        (99.6, 2, "100"),
    ],
)
def test_round_uncertainty_ilac_p14(U, digits, expected):
    assert format(round_uncertainty(U, digits), "f") == expected


def test_rounded_u_is_never_more_than_5_percent_below():
    for i in range(1, 2000):
        U = i * 0.00731
        for digits in (1, 2):
            r = float(round_uncertainty(U, digits))
            assert r >= U * 0.95 - 1e-15


def test_round_value_to_last_digit_of_U():
    assert round_value(10000.02504, Decimal("0.059")) == Decimal("10000.025")
    assert round_value(1.23456, Decimal("0.02")) == Decimal("1.23")
    assert round_value(123456.0, Decimal("1.2E+2")) == Decimal("123460")  # U = 120: tens


def test_report_with_cmc_floor():
    r = report(1.23456, 0.0101, 2.0, cmc=0.0123)
    assert (r.value, r.U, r.cmc_applied) == ("1.235", "0.013", True)  # 0.0123 -> 0.012 < CMC -> 0.013
    r2 = report(1.23456, 0.0101, 2.0, cmc=0.005)
    assert (r2.U, r2.cmc_applied) == ("0.010", False)
    assert str(r2) == "1.235 ± 0.010 (k = 2.00, p ≈ 95%)"
    with pytest.raises(InputError):
        report(1.0, -0.1, 2.0)


@pytest.mark.parametrize(
    ("y", "rule", "expected"),
    [
        (10.0, "simple", "pass"),
        (10.9, "simple", "pass"),
        (11.1, "simple", "fail"),
        (10.4, "guarded", "pass"),
        (10.6, "guarded", "fail"),
        (10.4, "non-binary", "pass"),
        (10.7, "non-binary", "conditionalPass"),
        (11.3, "non-binary", "conditionalFail"),
        (8.7, "non-binary", "conditionalFail"),
        (11.6, "non-binary", "fail"),
        (8.4, "non-binary", "fail"),
    ],
)
def test_decision_rules_two_sided(y, rule, expected):
    # tolerance 9..11, U = 0.5 (k = 2), guard band w = U by default
    assert decide(y, 0.5, lower=9.0, upper=11.0, rule=rule).conformity == expected


def test_guarded_acceptance_w_equal_U_gives_about_2_5_percent_pfa_at_the_limit():
    """ILAC G8 4.2.2 / JCGM 106 8.3: with w = U (k = 2, normal) a result at the acceptance limit has a
    probability of false acceptance of about 2.3 %."""
    d = decide(10.5, 0.5, upper=11.0, rule="guarded")
    assert d.conformity == "pass"
    assert d.pfa == pytest.approx(1 - stats.norm.cdf(2.0), rel=1e-9)
    assert 0.02 < d.pfa < 0.025


def test_probability_of_conformity_and_risks():
    d = decide(10.9, 0.2, lower=9.0, upper=11.0, k=2.0)
    pc = stats.norm.cdf(1.0) - stats.norm.cdf(-19.0)
    assert d.probability_conforming == pytest.approx(pc)
    assert d.pfa == pytest.approx(1 - pc) and d.pfr == 0.0
    rejected = decide(11.1, 0.2, lower=9.0, upper=11.0)
    assert rejected.pfa == 0.0 and rejected.pfr == pytest.approx(1 - stats.norm.cdf(1.0))
    assert probability_of_conformity(0.0, 1.0, None, 0.0, dof=5) == pytest.approx(0.5)
    assert probability_of_conformity(0.0, 1.0, -2.0, 2.0, dof=4) == pytest.approx(1 - 2 * stats.t.sf(2.0, 4))


def test_custom_guard_band_and_one_sided():
    d = decide(10.75, 0.5, upper=11.0, rule="guarded", guard_band=0.2)
    assert d.acceptance == (None, pytest.approx(10.8)) and d.conformity == "pass"
    assert decide(10.85, 0.5, upper=11.0, rule="guarded", guard_band=0.2).conformity == "fail"
    assert decide(5.0, 0.5, lower=4.0, rule="non-binary").conformity == "pass"
    assert decide(4.2, 0.5, lower=4.0, rule="non-binary").conformity == "conditionalPass"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rule": "lenient", "lower": 0.0},
        {},
        {"lower": 2.0, "upper": 1.0},
        {"lower": 0.0, "upper": 1.0, "rule": "guarded", "guard_band": 0.6},
        {"lower": 0.0, "rule": "simple", "guard_band": 0.1},
        {"lower": 0.0, "rule": "guarded", "guard_band": -0.1},
    ],
)
def test_invalid_decision_arguments(kwargs):
    with pytest.raises(InputError):
        decide(0.5, 0.1, **kwargs)
