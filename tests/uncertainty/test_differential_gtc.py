"""Differential tests against GTC (NMSL's GUM Tree Calculator, a dev dependency only) on random models.

GTC propagates first-order uncertainty with automatic differentiation, so u_c and nu_eff must agree to
1e-9 relative. Monte Carlo must agree with GUM on linear models with normal inputs (exact there) within
the Monte Carlo tolerance.
"""

from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uncertainty import Model, NonLinearityWarning, gum, mcm, normal

GTC = pytest.importorskip("GTC")

UNARY = {
    "exp": GTC.exp,
    "sin": GTC.sin,
    "cos": GTC.cos,
    "arctan": GTC.atan,
}
POSITIVE_UNARY = {"sqrt": GTC.sqrt, "log": GTC.log}  # applied to inputs only (values > 0)


@st.composite
def expressions(draw, names, depth=0):
    """A random expression over ``names`` as (text, function of a dict of GTC ureals)."""
    choice = draw(st.integers(0, 5 if depth < 3 else 1))
    if choice == 0:
        n = draw(st.sampled_from(names))
        return n, lambda env, n=n: env[n]
    if choice == 1:
        n = draw(st.sampled_from(names))
        f = draw(st.sampled_from(sorted(POSITIVE_UNARY)))
        return f"{f}({n})", lambda env, n=n, f=f: POSITIVE_UNARY[f](env[n])
    if choice == 2:
        f = draw(st.sampled_from(sorted(UNARY)))
        text, fn = draw(expressions(names, depth + 1))
        return f"{f}(({text})/4)", lambda env, f=f, fn=fn: UNARY[f](fn(env) / 4)
    if choice == 3:
        n = draw(st.sampled_from(names))
        text, fn = draw(expressions(names, depth + 1))
        return f"({text})/{n}", lambda env, n=n, fn=fn: fn(env) / env[n]
    if choice == 4:
        p = draw(st.sampled_from([2, 3, 0.5]))
        n = draw(st.sampled_from(names))
        return f"{n}**{p}", lambda env, n=n, p=p: env[n] ** p
    op = draw(st.sampled_from(["+", "-", "*"]))
    (ta, fa), (tb, fb) = draw(expressions(names, depth + 1)), draw(expressions(names, depth + 1))
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
    return f"({ta}) {op} ({tb})", lambda env, fa=fa, fb=fb, op=op: ops[op](fa(env), fb(env))


@st.composite
def problems(draw):
    n = draw(st.integers(1, 6))
    names = [f"x{i}" for i in range(n)]
    specs = {
        name: (
            draw(st.floats(0.5, 3.0)),
            draw(st.floats(1e-4, 0.1)),
            draw(st.one_of(st.just(math.inf), st.integers(2, 60).map(float))),
        )
        for name in names
    }
    text, fn = draw(expressions(names))
    return specs, text, fn


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_u_and_nu_eff_agree_with_gtc(problem):
    specs, text, fn = problem
    model = Model.from_expression(text, inputs=list(specs))
    ins = {n: normal(x, u, dof=nu) for n, (x, u, nu) in specs.items()}
    ours = gum(model, ins, check_linearity=False)["y"]  # symbolic forward-mode path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonLinearityWarning)
        ours_cs = gum(model, ins)["y"]  # complex-step path (with the linearity check)
    env = {n: GTC.ureal(x, u, nu, label=n) for n, (x, u, nu) in specs.items()}
    theirs = fn(env)
    value = GTC.value(theirs)
    assert ours.value == pytest.approx(value, rel=1e-12, abs=1e-14)
    u_gtc = GTC.uncertainty(theirs)
    if u_gtc < 1e-12 * max(1.0, abs(value)):  # degenerate (e.g. x - x): both must be ~0
        assert ours.u <= 1e-9 * max(1.0, abs(value))
        return
    assert ours.u == pytest.approx(u_gtc, rel=1e-9)
    assert ours_cs.u == pytest.approx(u_gtc, rel=1e-9)
    nu_gtc = GTC.dof(theirs)
    # An input that cancels exactly (x2 * (x0 / x2)) keeps a round-off sensitivity ~1e-17 in both engines, which
    # puts nu_eff anywhere from 1e60 to inf. Above 1e12, t_0.975(nu) equals the normal quantile to 1e-12, so such
    # values are all "infinite" for coverage: compare them as that.
    effectively_infinite = 1e12
    if math.isinf(nu_gtc) or nu_gtc > effectively_infinite:
        assert ours.dof > effectively_infinite and ours_cs.dof > effectively_infinite
    else:
        assert ours.dof == pytest.approx(nu_gtc, rel=1e-9)
        assert ours_cs.dof == pytest.approx(nu_gtc, rel=1e-9)
    # sensitivities (GTC's budget components are c_i u_i, signed)
    comps = {c.label: c.u for c in GTC.reporting.budget(theirs, trim=0)}
    for row in ours.budget:
        if row.input in comps:
            assert abs(row.contribution) == pytest.approx(abs(comps[row.input]), rel=1e-9, abs=1e-15 * u_gtc)


@settings(max_examples=12, deadline=None)
@given(
    coefficients=st.lists(st.floats(-5.0, 5.0).filter(lambda c: abs(c) > 0.05), min_size=1, max_size=5),
    seed=st.integers(0, 2**32 - 1),
)
def test_mcm_agrees_with_gum_on_linear_normal_models(coefficients, seed):
    names = [f"x{i}" for i in range(len(coefficients))]
    text = " + ".join(f"({c!r})*{n}" for c, n in zip(coefficients, names, strict=True))
    model = Model.from_expression(text, inputs=names)
    inputs = {n: normal(1.0 + i, 0.1 * (i + 1)) for i, n in enumerate(names)}
    g = gum(model, inputs)["y"]
    trials = 40_000
    m = mcm(model, inputs, trials=trials, seed=seed)["y"]
    # tolerances: ~5 standard errors of the mean, of the s.d. and of the 2.5 %/97.5 % quantiles
    assert abs(m.value - g.value) < 5 * g.u / math.sqrt(trials)
    assert abs(m.u / g.u - 1.0) < 5 / math.sqrt(2 * trials)
    se_q = math.sqrt(0.025 * 0.975 / trials) / (math.exp(-(1.96**2) / 2) / math.sqrt(2 * math.pi)) * g.u
    assert abs(m.interval_symmetric[0] - g.interval[0]) < 5 * se_q
    assert abs(m.interval_symmetric[1] - g.interval[1]) < 5 * se_q
