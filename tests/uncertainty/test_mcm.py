"""Monte Carlo (JCGM 101/102): intervals, reproducibility, adaptive procedure, correlations, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uncertainty import (
    GUMOutput,
    InputError,
    MCMOutput,
    Model,
    coverage_intervals,
    gum,
    mcm,
    normal,
    numerical_tolerance,
    rectangular,
    type_a,
    type_a_simultaneous,
    validate_gum,
)


def test_coverage_intervals_by_hand():
    """JCGM 101 7.7 on M = 40 known values: q = pM = 38, symmetric r = (M - q)/2 = 1, shortest by search."""
    values = np.array([0.0] * 1 + [10.0] + list(np.linspace(11.0, 12.0, 38)))
    sym, short = coverage_intervals(values, 0.95)
    s = np.sort(values)
    assert sym == (s[0], s[38])  # r = 1: y_(1) and y_(r+q) = y_(39)
    assert short == (s[1], s[39])  # width 2 beats every window that contains the outlier 0.0


def test_coverage_intervals_are_exact_on_sorted_uniform_grid():
    m = 100_001
    values = np.random.default_rng(0).permutation(np.arange(m, dtype=float))
    sym, short = coverage_intervals(values, 0.95)
    q = math.floor(0.95 * m + 0.5)
    r = (m - q) // 2 if (m - q) % 2 == 0 else (m - q + 1) // 2
    assert sym == (r - 1, r - 1 + q)  # 1-based y_(r) = r - 1
    assert short[1] - short[0] == q  # every window of q has the same width on a uniform grid


def test_shortest_interval_of_a_skewed_distribution_is_shorter():
    vals = np.random.default_rng(1).exponential(1.0, 200_000)
    sym, short = coverage_intervals(vals, 0.95)
    assert short[1] - short[0] < sym[1] - sym[0]
    assert short[0] == pytest.approx(0.0, abs=1e-3)  # exponential: shortest interval starts at 0
    assert short[1] == pytest.approx(-math.log(0.05), abs=0.05)


def test_reproducible_with_seed_and_independent_of_nothing_else():
    m = Model.from_expression("a * b")
    ins = {"a": normal(2.0, 0.1), "b": rectangular(3.0, 0.5)}
    r1 = mcm(m, ins, trials=50_000, seed=42)["y"]
    r2 = mcm(m, ins, trials=50_000, seed=42)["y"]
    r3 = mcm(m, ins, trials=50_000, seed=43)["y"]
    assert r1 == r2
    assert r1.value != r3.value


def test_block_size_does_not_change_statistics_beyond_noise():
    m = Model.from_expression("a + b")
    ins = {"a": normal(0.0, 1.0), "b": normal(0.0, 1.0)}
    small = mcm(m, ins, trials=100_000, seed=1, block_size=7_777)["y"]
    assert small.trials == 100_000
    assert abs(small.u - math.sqrt(2)) < 0.02


def test_linear_model_mcm_agrees_with_gum():
    m = Model.from_expression({"s": "a + 2*b", "d": "a - b"})
    ins = {"a": normal(1.0, 0.2), "b": normal(-1.0, 0.1)}
    g = gum(m, ins, [("a", "b", 0.3)])
    r = mcm(m, ins, [("a", "b", 0.3)], trials=200_000, seed=5)
    for name in ("s", "d"):
        assert r[name].u == pytest.approx(g[name].u, rel=0.01)
        assert r[name].value == pytest.approx(g[name].value, abs=4 * g[name].u / math.sqrt(200_000))
    assert r.r("s", "d") == pytest.approx(g.r("s", "d"), abs=0.01)


def test_explicit_correlation_of_non_normal_inputs_is_refused():
    m = Model.from_expression("a + b")
    with pytest.raises(InputError, match="normal inputs only"):
        mcm(m, {"a": rectangular(0, 1), "b": normal(0, 1)}, [("a", "b", 0.5)], trials=1000)


def test_type_a_input_is_drawn_from_t_distribution():
    """JCGM 101 6.4.9.7: a type A input with n = 5 is drawn from t_4, so u_MCM = u sqrt(4/2)."""
    x = type_a([1.0, 1.2, 0.9, 1.1, 1.05])
    r = mcm(Model.from_expression("x"), {"x": x}, trials=400_000, seed=3)["y"]
    assert r.u == pytest.approx(x.u * math.sqrt(2.0), rel=0.05)


def test_simultaneous_inputs_need_more_observations_than_quantities():
    sim = type_a_simultaneous({"a": [1.0, 2.0], "b": [2.0, 1.0]})
    with pytest.raises(InputError, match="n must exceed N"):
        mcm(Model.from_expression("a + b"), [sim], trials=100)


def test_numerical_tolerance_examples():
    # JCGM 101 7.9.2: u(y) = c 10^l with c of ndig digits; delta = 10^l / 2
    assert numerical_tolerance(0.028, 2) == pytest.approx(0.0005)
    assert numerical_tolerance(0.028, 1) == pytest.approx(0.005)
    assert numerical_tolerance(2.0, 2) == pytest.approx(0.05)


def test_adaptive_procedure_stops_when_stable():
    m = Model.from_expression("a + b")
    ins = {"a": normal(0.0, 1.0), "b": rectangular(0.0, 1.0)}
    r = mcm(m, ins, adaptive=True, significant_digits=1, seed=7)
    assert r.converged
    assert r.trials % 10_000 == 0 and r.trials >= 20_000
    exact_u = math.sqrt(1.0 + 1.0 / 3.0)
    assert abs(r["y"].u - exact_u) <= 2 * numerical_tolerance(exact_u, 1)


def test_adaptive_gives_up_at_max_trials_with_warning():
    m = Model.from_expression("a")
    with pytest.warns(RuntimeWarning, match="did not stabilise"):
        r = mcm(m, {"a": normal(0.0, 1.0)}, adaptive=True, significant_digits=5, seed=1, max_trials=30_000)
    assert not r.converged and r.trials == 30_000


def test_validation_of_a_linear_normal_model_passes():
    m = Model.from_expression("a + b")
    ins = {"a": normal(10.0, 1.0), "b": normal(5.0, 2.0)}
    g = gum(m, ins)["y"]
    r = mcm(m, ins, trials=1_000_000, seed=11)["y"]
    v = validate_gum(g, r, significant_digits=2)  # u = 2.24 -> 22 x 10^-1 -> delta = 0.05
    assert v.validated and v.delta == pytest.approx(0.05)
    assert v.delta_from == "gum" and v.note == ""


def _gum_point(y: float) -> GUMOutput:
    """A GUM result with u = 0: the interval is the point y (JCGM 101:2008 9.4, first-order GUM at x = 0)."""
    return GUMOutput("y", y, 0.0, math.inf, 1.96, 0.0, (y, y), 0.95, (), 0.0, None, False)


def test_validation_with_gum_u_zero_takes_delta_from_monte_carlo_and_fails():
    """JCGM 101 8.1 needs the numerical tolerance of u(y) (7.9.2), which a GUM u of 0 does not have. Here a
    Monte Carlo distribution with 97 % of its mass at 0 has a point 95 % interval [0, 0] (d_low = d_high = 0)
    but u = 0.2: the GUM point must still be reported not validated. delta from the MC u, n_dig = 2:
    0.2 = 20 x 10^-2 -> delta = 1/2 x 10^-2 = 0.005."""
    mc = MCMOutput("y", 0.036, 0.2, (0.0, 0.0), (0.0, 0.0), 0.95, 1000)  # 3 % at 1.2
    v = validate_gum(_gum_point(0.0), mc, significant_digits=2)
    assert (v.d_low, v.d_high) == (0.0, 0.0)
    assert not v.validated
    assert v.delta_from == "monte_carlo" and v.delta == pytest.approx(0.005)
    assert "not validated" in v.note and "Monte Carlo" in v.note


def test_validation_when_both_methods_give_u_zero():
    """An exactly known input: both u(y) are 0, delta = 0, and the intervals coincide -> validated."""
    m = Model.from_expression("2*a")
    ins = {"a": normal(1.5, 0.0)}
    v = validate_gum(gum(m, ins)["y"], mcm(m, ins, trials=1000, seed=1)["y"])
    assert v.validated and v.delta == 0.0 and v.delta_from == "none" and v.d_low == v.d_high == 0.0
    shifted = MCMOutput("y", 3.1, 0.0, (3.1, 3.1), (3.1, 3.1), 0.95, 1000)
    assert not validate_gum(gum(m, ins)["y"], shifted).validated  # both points, but different


def test_non_finite_trials_are_reported():
    m = Model.from_expression("sqrt(x)")
    with pytest.raises(InputError, match="outside the model's domain"):
        mcm(m, {"x": normal(0.1, 1.0)}, trials=10_000, seed=1)


def test_invalid_mcm_arguments():
    m = Model.from_expression("a")
    with pytest.raises(InputError, match="trials"):
        mcm(m, {"a": normal(0, 1)}, trials=1)
    with pytest.raises(InputError, match="coverage_probability"):
        mcm(m, {"a": normal(0, 1)}, trials=100, coverage_probability=95)


@pytest.mark.parametrize("kind", ["normal", "exponential", "cauchy", "ties", "bimodal"])
def test_fast_tail_selection_equals_full_sort(kind):
    """The subsample-threshold path of coverage_intervals must give exactly the full-sort answer."""
    rng = np.random.default_rng(12)
    m = 150_001
    values = {
        "normal": rng.standard_normal(m),
        "exponential": rng.exponential(1.0, m),
        "cauchy": rng.standard_cauchy(m),
        "ties": np.r_[np.zeros(90_000), rng.random(m - 90_000)],
        "bimodal": np.r_[rng.normal(-5, 1, m // 2), rng.normal(5, 0.1, m - m // 2)],
    }[kind]
    sym, short = coverage_intervals(values, 0.95)
    s = np.sort(values)
    q = math.floor(0.95 * m + 0.5)
    tail = m - q
    r = int(np.argmin(s[q:] - s[:tail]))
    r_sym = (m - q) // 2 if (m - q) % 2 == 0 else (m - q + 1) // 2
    assert sym == (s[r_sym - 1], s[r_sym - 1 + q])
    assert short == (s[r], s[r + q])
