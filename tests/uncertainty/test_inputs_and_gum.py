"""Input constructors, sampling, and the GUM framework's parts (sensitivities, WS, k, correlations)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from uncertainty import (
    CorrelationError,
    InputError,
    Model,
    ModelError,
    NonLinearityWarning,
    arcsine,
    correlation_matrix,
    coverage_factor,
    curvilinear_trapezoid,
    gum,
    gum_points,
    normal,
    rectangular,
    student_t,
    trapezoid,
    triangular,
    type_a,
    type_a_simultaneous,
    welch_satterthwaite,
)

# ---------------------------------------------------------------- standard uncertainties (GUM 4.3.7-4.3.9)


def test_type_b_standard_uncertainties():
    assert normal(1.0, U=0.45, k=2).u == 0.225
    assert rectangular(0.0, 3.0).u == pytest.approx(3.0 / math.sqrt(3.0), rel=1e-15)
    r = rectangular(lower=1.0, upper=3.0)
    assert (r.value, r.u) == (2.0, pytest.approx(1.0 / math.sqrt(3.0)))
    assert triangular(0.0, 6.0).u == pytest.approx(6.0 / math.sqrt(6.0))
    assert arcsine(0.0, 2.0).u == pytest.approx(2.0 / math.sqrt(2.0))
    # JCGM 101 6.4.4: u^2 = (b-a)^2 (1 + beta^2) / 24 with b - a = 2 half-widths
    assert trapezoid(0.0, 2.0, 0.5).u == pytest.approx(math.sqrt(16.0 * 1.25 / 24.0))
    # JCGM 101 6.4.3: u^2 = w^2/3 + d^2/9
    assert curvilinear_trapezoid(0.0, 3.0, 1.5).u == pytest.approx(math.sqrt(3.0 + 0.25))
    t = student_t(5.0, 0.2, 4)
    assert (t.u, t.dof) == (0.2, 4.0)


def test_type_a_from_samples():
    data = [10.1, 10.3, 9.9, 10.0, 10.2]
    x = type_a(data)
    assert x.value == pytest.approx(10.1)
    assert x.u == pytest.approx(np.std(data, ddof=1) / math.sqrt(5))
    assert x.dof == 4


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: normal(1.0, -0.1), "u must be >= 0"),
        (lambda: normal(1.0), "needs u"),
        (lambda: normal(1.0, 0.1, U=0.2, k=2), "not both"),
        (lambda: normal(1.0, U=0.2, k=0), "k must be > 0"),
        (lambda: normal(1.0, 0.1, dof=0), "dof must be > 0"),
        (lambda: normal(float("nan"), 0.1), "finite"),
        (lambda: rectangular(lower=2.0, upper=1.0), "upper"),
        (lambda: rectangular(1.0), "needs value and half_width"),
        (lambda: rectangular(1.0, 1.0, lower=0.0, upper=2.0), "not both"),
        (lambda: trapezoid(0.0, 1.0, 1.5), "beta"),
        (lambda: curvilinear_trapezoid(0.0, 1.0, 2.0), "must not exceed"),
        (lambda: type_a([1.0]), "at least 2"),
        (lambda: type_a([[1.0, 2.0]]), "one-dimensional"),
        (lambda: type_a_simultaneous({"a": [1, 2, 3], "b": [1, 2]}), "equal length"),
    ],
)
def test_invalid_inputs_raise_clear_errors(call, fragment):
    with pytest.raises(InputError, match=fragment):
        call()


@pytest.mark.parametrize(
    "inp",
    [
        normal(1.0, 0.5),
        rectangular(2.0, 1.5),
        triangular(-1.0, 2.0),
        arcsine(0.0, 1.0),
        trapezoid(3.0, 2.0, 0.4),
        curvilinear_trapezoid(0.0, 2.0, 0.8),
    ],
    ids=lambda i: i.distribution,
)
def test_sampling_mean_and_standard_deviation(inp):
    """Samples reproduce value and u within the Monte Carlo tolerance (M = 2e5, ~5 standard errors)."""
    x = inp.sample(np.random.default_rng(7), 200_000)
    assert abs(x.mean() - inp.value) < 5 * inp.u / math.sqrt(x.size)
    assert abs(x.std(ddof=1) / inp.u - 1.0) < 0.01


def test_sampling_shapes_are_right():
    rng = np.random.default_rng(3)
    # triangular: P(|X - x| <= a/2) = 3/4; arcsine: P(|X - x| <= a/2) = 1/3
    tri = triangular(0.0, 2.0).sample(rng, 200_000)
    assert abs(np.mean(np.abs(tri) <= 1.0) - 0.75) < 0.005
    arc = arcsine(0.0, 2.0).sample(rng, 200_000)
    assert abs(np.mean(np.abs(arc) <= 1.0) - 1.0 / 3.0) < 0.005
    # t input drawn as value + scale * t(dof): sd = scale * sqrt(dof / (dof - 2)) (JCGM 101 6.4.9)
    t = student_t(1.0, 0.1, 6).sample(rng, 400_000)
    assert abs(t.std() / (0.1 * math.sqrt(6 / 4)) - 1.0) < 0.02


def test_simultaneous_multivariate_t_covariance():
    """JCGM 102 5.3.2: t_nu(mean, Q/(n nu)) with nu = n - N has covariance Q / (n (nu - 2))."""
    rng = np.random.default_rng(11)
    data = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.6], [0.6, 1.0]], size=12)
    sim = type_a_simultaneous({"a": data[:, 0], "b": data[:, 1]})
    n, big_n = 12, 2
    resid = data - data.mean(axis=0)
    q = resid.T @ resid
    draws = sim.sample(np.random.default_rng(5), 400_000)
    expected = q / (n * (n - big_n - 2))
    np.testing.assert_allclose(np.cov(draws), expected, rtol=0.03)
    assert sim.correlation[0, 1] == pytest.approx(np.corrcoef(data.T)[0, 1])


# ---------------------------------------------------------------- sensitivities


@pytest.mark.parametrize("path", ["symbolic", "complex-step"])
def test_sensitivities_match_analytic_derivatives_to_1e_9(path):
    m = Model.from_expression("a*exp(b/c) + sqrt(a)*sin(c) - log10(b)**2 + arctan2(a, c)")
    if path == "complex-step":
        m.point_gradient = None
    a, b, c = 1.7, 0.9, 2.3
    res = gum(m, {"a": normal(a, 0.01), "b": normal(b, 0.02), "c": normal(c, 0.03)}, check_linearity=False)
    d_a = math.exp(b / c) + 0.5 / math.sqrt(a) * math.sin(c) + c / (a * a + c * c)
    d_b = a * math.exp(b / c) / c - 2 * math.log10(b) / (b * math.log(10))
    d_c = -a * b * math.exp(b / c) / c**2 + math.sqrt(a) * math.cos(c) - a / (a * a + c * c)
    got = {row.input: row.sensitivity for row in res["y"].budget}
    assert got["a"] == pytest.approx(d_a, rel=1e-12)
    assert got["b"] == pytest.approx(d_b, rel=1e-12)
    assert got["c"] == pytest.approx(d_c, rel=1e-12)
    assert res.derivative_method == path


def test_callable_with_abs_falls_back_to_richardson_and_is_accurate():
    """np.abs breaks complex step silently; the cross-check must detect it and fall back."""
    m = Model(lambda x, y: np.abs(x) * y**3, ["x", "y"])
    res = gum(m, {"x": normal(-2.0, 0.01), "y": normal(1.5, 0.01)}, check_linearity=False)
    c = {row.input: row.sensitivity for row in res["y"].budget}
    assert res.derivative_method == "richardson"
    assert c["x"] == pytest.approx(-(1.5**3), rel=1e-9)
    assert c["y"] == pytest.approx(2.0 * 3 * 1.5**2, rel=1e-9)


def test_callable_that_supports_complex_uses_complex_step():
    m = Model(lambda x, y: np.exp(x) * np.cos(y), ["x", "y"])
    res = gum(m, {"x": normal(0.3, 0.01), "y": normal(1.1, 0.01)}, check_linearity=False)
    assert res.derivative_method == "complex-step"
    c = res.sensitivities[0]
    assert c[0] == pytest.approx(math.exp(0.3) * math.cos(1.1), rel=1e-14)
    assert c[1] == pytest.approx(-math.exp(0.3) * math.sin(1.1), rel=1e-14)


def test_model_outside_its_domain_is_an_error():
    m = Model.from_expression("log(x)")
    with pytest.raises(ModelError, match="not defined"):
        gum(m, {"x": normal(-1.0, 0.1)})
    with pytest.raises(ModelError, match="not defined"):
        gum(Model.from_expression("sqrt(x)"), {"x": normal(-4.0, 0.1)})
    for expr in ("log(x)", "sqrt(x)", "x**0.5", "arcsin(x)", "1/(x + 1)"):  # the fast symbolic path too
        with pytest.raises(ModelError, match="not defined"):
            gum(
                Model.from_expression(expr),
                {"x": normal(-1.0 if expr != "arcsin(x)" else 2.0, 0.1)},
                check_linearity=False,
            )


# ---------------------------------------------------------------- WS, k, correlations


def test_welch_satterthwaite_by_hand():
    # GUM G.4.1 example: nu_eff = u_c^4 / sum u_i^4/nu_i
    c = [1.0, 2.0, 0.5]
    nu = [4, math.inf, 9]
    uc2 = 1 + 4 + 0.25
    assert welch_satterthwaite(c, nu) == pytest.approx(uc2**2 / (1 / 4 + 0.0625 / 9))
    assert math.isinf(welch_satterthwaite([1.0, 1.0], [math.inf, math.inf]))


def test_coverage_factor_t_table_values():
    # GUM Table G.2: t_95.45? no: two-sided p = 0.95 -> 12.71 (1), 2.78 (4), 2.23 (10), 2.09 (20), 1.96 (inf)
    assert coverage_factor(1) == pytest.approx(12.706, abs=1e-3)
    assert coverage_factor(4) == pytest.approx(2.776, abs=1e-3)
    assert coverage_factor(10.9) == pytest.approx(2.228, abs=1e-3)  # truncated to 10 (GUM G.6.4)
    assert coverage_factor(10.9, truncate=False) == pytest.approx(stats.t.ppf(0.975, 10.9), rel=1e-9)
    assert coverage_factor(math.inf) == pytest.approx(1.959964, abs=1e-6)
    assert coverage_factor(math.inf, 0.9545) == pytest.approx(2.0, abs=1e-3)


def test_gum_dof_and_k_from_ws_and_fixed_k():
    m = Model.from_expression("a + b")
    ins = {"a": normal(1.0, 0.3, dof=5), "b": normal(2.0, 0.4)}
    out = gum(m, ins)["y"]
    assert out.u == pytest.approx(0.5)
    assert out.dof == pytest.approx(0.5**4 / (0.3**4 / 5))
    assert out.k == pytest.approx(stats.t.ppf(0.975, math.floor(out.dof)))
    fixed = gum(m, ins, coverage_factor=2.0)["y"]
    assert (fixed.k, fixed.U, fixed.coverage_probability) == (2.0, 1.0, None)
    assert fixed.interval == pytest.approx((2.0, 4.0))


def test_correlated_inputs_and_validation():
    m = Model.from_expression("a - b")
    ins = {"a": normal(1.0, 0.1), "b": normal(1.0, 0.1)}
    full = gum(m, ins, [("a", "b", 1.0)])["y"]
    assert full.u == pytest.approx(0.0, abs=1e-15)
    half = gum(m, ins, {("a", "b"): 0.5})["y"]
    assert half.u == pytest.approx(0.1)
    with pytest.raises(CorrelationError, match="unknown input 'c'"):
        gum(m, ins, [("a", "c", 0.5)])
    with pytest.raises(CorrelationError, match=r"\[-1, 1\]"):
        gum(m, ins, [("a", "b", 1.5)])
    with pytest.raises(CorrelationError, match="itself"):
        gum(m, ins, [("a", "a", 0.5)])


def test_non_psd_correlation_matrix_is_rejected():
    with pytest.raises(CorrelationError, match="positive semi-definite"):
        correlation_matrix(["a", "b", "c"], [("a", "b", 0.9), ("a", "c", 0.9), ("b", "c", -0.9)])


def test_undefined_and_unused_inputs():
    m = Model.from_expression("a + b")
    with pytest.raises(ModelError, match="not defined"):
        gum(m, {"a": normal(1.0, 0.1)})
    with pytest.raises(ModelError, match="not used"):
        gum(m, {"a": normal(1.0, 0.1), "b": normal(1.0, 0.1), "c": normal(0.0, 1.0)})


def test_second_order_terms_of_a_product_at_zero():
    """y = x1 x2 with E[x] = 0: first order u = 0; exact u = u1 u2 (GUM 5.1.2 note)."""
    m = Model.from_expression("x1*x2")
    ins = {"x1": normal(0.0, 0.3), "x2": normal(0.0, 0.5)}
    with pytest.warns(NonLinearityWarning):
        first = gum(m, ins)["y"]
    assert first.u == 0.0 and first.nonlinear
    second = gum(m, ins, second_order=True)["y"]
    assert second.u == pytest.approx(0.15, rel=1e-9)


def test_second_order_asked_where_it_cannot_be_computed_is_an_error():
    """sqrt(x) at x = 0.01 with u = 0.1: x - u/8 < 0, so the GUM 5.1.2 higher-order terms cannot be taken.
    Asked for, that is an error (not a silent first-order u = 0.5); unasked, u_second_order is None."""
    m = Model.from_expression("sqrt(x)")
    ins = {"x": normal(0.01, 0.1)}
    with pytest.raises(ModelError, match="second-order"):
        gum(m, ins, second_order=True)
    out = gum(m, ins)["y"]
    assert out.u == pytest.approx(0.1 / (2 * math.sqrt(0.01)), rel=1e-12)  # first order: u / (2 sqrt(x))
    assert out.u_second_order is None and not out.nonlinear


def test_linear_model_has_no_nonlinearity_warning():
    m = Model.from_expression("2*a - 3*b + 1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = gum(m, {"a": normal(1.0, 0.1), "b": normal(2.0, 0.2)})["y"]
    assert not out.nonlinear and out.u_second_order == pytest.approx(out.u, rel=1e-9)


def test_several_outputs_covariance():
    m = Model.from_expression({"s": "a + b", "d": "a - b"})
    res = gum(m, {"a": normal(1.0, 0.3), "b": normal(2.0, 0.4)})
    assert res.covariance[0, 1] == pytest.approx(0.09 - 0.16)
    assert res.r("s", "d") == pytest.approx((0.09 - 0.16) / 0.25)


def test_gum_points_match_scalar_gum():
    m = Model.from_expression("v / i * (1 + alpha*(t - 20))")
    rng = np.random.default_rng(1)
    v = rng.uniform(1, 10, 50)
    i = rng.uniform(0.01, 0.1, 50)
    t = rng.uniform(18, 22, 50)
    pts = gum_points(
        m,
        {"v": v, "i": i, "t": t, "alpha": 0.0039},
        {"v": 0.001 * v, "i": 1e-5, "t": 0.1, "alpha": 1e-5},
        {"v": 9, "t": 20},
    )
    for p in (0, 17, 49):
        one = gum(
            m,
            {
                "v": normal(v[p], 0.001 * v[p], dof=9),
                "i": normal(i[p], 1e-5),
                "t": normal(t[p], 0.1, dof=20),
                "alpha": normal(0.0039, 1e-5),
            },
            check_linearity=False,
        )["y"]
        assert pts.value[0, p] == pytest.approx(one.value, rel=1e-14)
        assert pts.u[0, p] == pytest.approx(one.u, rel=1e-12)
        assert pts.dof[0, p] == pytest.approx(one.dof, rel=1e-10)
        assert pts.k[0, p] == pytest.approx(one.k, rel=1e-12)
