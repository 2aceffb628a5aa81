"""The GUM uncertainty framework (JCGM 100:2008): law of propagation, budget, Welch–Satterthwaite, k, U.

``gum`` evaluates one measurement (a model and its named inputs); ``gum_points`` evaluates many
calibration points that share one model in a single vectorised pass.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import special

from .derivatives import complex_step_point, jacobian
from .errors import CorrelationError, InputError, ModelError, NonLinearityWarning
from .inputs import Input, Simultaneous
from .model import Model

__all__ = [
    "BudgetRow",
    "GUMOutput",
    "GUMResult",
    "PointsResult",
    "correlation_matrix",
    "coverage_factor",
    "gum",
    "gum_points",
    "welch_satterthwaite",
]

Array = npt.NDArray[Any]
CorrelationSpec = Mapping[tuple[str, str], float] | Iterable[Sequence[Any]] | None


class BudgetRow(NamedTuple):
    """One line of an uncertainty budget (GUM 8).

    ``contribution`` is the signed c_i u(x_i) in the unit of the output; its square is the input's
    share of u_c^2 when inputs are uncorrelated.
    """

    input: str
    value: float
    u: float
    distribution: str
    sensitivity: float
    contribution: float
    dof: float


class GUMOutput(NamedTuple):
    """The GUM result for one output quantity.

    Attributes:
        value: estimate y. u: combined standard uncertainty u_c(y) (first order unless the
            evaluation asked for second-order terms). dof: effective degrees of freedom (inf allowed).
        k: coverage factor; U = k u; interval = (y - U, y + U).
        u_first_order / u_second_order: u_c without / with the GUM 5.1.2 second-order terms
            (``u_second_order`` is None when the linearity check was not run).
        nonlinear: True where the second-order terms change u_c by more than the tolerance.
    """

    name: str
    value: float
    u: float
    dof: float
    k: float
    U: float
    interval: tuple[float, float]
    coverage_probability: float | None
    budget: tuple[BudgetRow, ...]
    u_first_order: float
    u_second_order: float | None
    nonlinear: bool


@dataclass(frozen=True)
class GUMResult:
    """GUM evaluation of one or several outputs; index it by output name."""

    outputs: Mapping[str, GUMOutput]
    covariance: Array
    correlation: Array
    input_names: tuple[str, ...]
    sensitivities: Array
    derivative_method: str

    def __getitem__(self, name: str) -> GUMOutput:
        return self.outputs[name]

    @property
    def output_names(self) -> tuple[str, ...]:
        """Output names in model order."""
        return tuple(self.outputs)

    def r(self, a: str, b: str) -> float:
        """Correlation coefficient between outputs ``a`` and ``b``."""
        names = self.output_names
        return float(self.correlation[names.index(a), names.index(b)])


@dataclass(frozen=True)
class PointsResult:
    """Vectorised GUM results for P points; arrays have shape (n_outputs, P) (sensitivities (m, N, P))."""

    output_names: tuple[str, ...]
    input_names: tuple[str, ...]
    value: Array
    u: Array
    dof: Array
    k: Array
    U: Array
    sensitivities: Array
    covariance: Array


_K_CACHE: dict[tuple[float, float], float] = {}


def coverage_factor(dof: float | Array, coverage_probability: float = 0.95, *, truncate: bool = True) -> Any:
    """k = t_{(1+p)/2}(nu) (two-sided); nu = inf gives the normal quantile. Scalar in, float out.

    With ``truncate`` (GUM G.6.4) a non-integer nu is truncated to the next lower integer (>= 1).
    """
    if isinstance(dof, float | int):
        nu_s = (max(math.floor(dof), 1) if truncate else float(dof)) if math.isfinite(dof) else math.inf
        key = (nu_s, coverage_probability)
        k_cached = _K_CACHE.get(key)
        if k_cached is None:
            q = 0.5 * (1.0 + _probability(coverage_probability))
            k_cached = float(special.ndtri(q)) if math.isinf(nu_s) else float(special.stdtrit(nu_s, q))
            if len(_K_CACHE) < 10_000:
                _K_CACHE[key] = k_cached
        return k_cached
    p = _probability(coverage_probability)
    q = 0.5 * (1.0 + p)
    nu = np.asarray(dof, dtype=float)
    fin = np.isfinite(nu)
    if truncate:
        nu = np.where(fin, np.maximum(np.floor(nu), 1.0), nu)
    k = np.where(fin, special.stdtrit(np.where(fin, nu, 1.0), q), special.ndtri(q))
    return float(k) if k.ndim == 0 else k


def _probability(p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float | np.floating):
        raise InputError(f"coverage_probability must be a number in (0, 1), got {p!r}")
    if not 0.0 < float(p) < 1.0:
        raise InputError(f"coverage_probability must be in (0, 1) (e.g. 0.95, not 95), got {p!r}")
    return float(p)


def welch_satterthwaite(contributions: Sequence[float] | Array, dofs: Sequence[float] | Array) -> float:
    """nu_eff = u_c^4 / sum (c_i u_i)^4 / nu_i for uncorrelated components (GUM G.4.1); inf allowed."""
    c = np.asarray(contributions, dtype=float)
    nu = np.asarray(dofs, dtype=float)
    if c.shape != nu.shape:
        raise InputError("contributions and dofs must have the same length")
    if np.any(nu <= 0):
        raise InputError("degrees of freedom must be > 0")
    uc2 = float(np.sum(c * c))
    den = float(np.sum(np.where(np.isfinite(nu), c**4 / np.where(np.isfinite(nu), nu, 1.0), 0.0)))
    if den == 0.0 or uc2 == 0.0:
        return math.inf
    return uc2 * uc2 / den


def correlation_matrix(names: Sequence[str], correlations: CorrelationSpec) -> Array:
    """Build and validate the N x N input correlation matrix from pairs (a, b, r) or {(a, b): r}.

    Raises CorrelationError for an unknown name, a self-pair, |r| > 1, a pair given twice with different
    values, or a matrix that is not positive semi-definite (min eigenvalue < -1e-10).
    """
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    r = np.eye(n)
    if correlations is None:
        return r
    items: list[Sequence[Any]]
    if isinstance(correlations, Mapping):
        items = [(a, b, v) for (a, b), v in correlations.items()]
    else:
        items = list(correlations)
    if not items:
        return r
    given = np.zeros((n, n), dtype=bool)
    for item in items:
        if len(item) != 3:
            raise CorrelationError(f"a correlation must be [name_a, name_b, r], got {list(item)!r}")
        a, b, v = item
        for nm in (a, b):
            if nm not in index:
                raise CorrelationError(f"correlation names unknown input {nm!r}; inputs are {list(names)}")
        if a == b:
            raise CorrelationError(f"correlation of {a!r} with itself is always 1; remove that entry")
        if isinstance(v, bool) or not isinstance(v, int | float | np.floating) or not -1.0 <= float(v) <= 1.0:
            raise CorrelationError(f"correlation r({a}, {b}) must be a number in [-1, 1], got {v!r}")
        i, j = index[a], index[b]
        if given[i, j] and r[i, j] != float(v):
            raise CorrelationError(f"correlation r({a}, {b}) is given twice with different values")
        r[i, j] = r[j, i] = float(v)
        given[i, j] = given[j, i] = True
    if n > 1:
        w = np.linalg.eigvalsh(r)
        if w[0] < -1e-10:
            raise CorrelationError(
                f"the correlation matrix is not positive semi-definite (smallest eigenvalue {w[0]:.3g}); "
                "the correlations given are mutually inconsistent"
            )
    return r


class _Prepared(NamedTuple):
    names: tuple[str, ...]
    inputs: tuple[Input, ...]
    x: Array
    u: Array
    dof: Array
    r: Array | None  # None: uncorrelated
    groups: tuple[tuple[int, ...], ...]
    simultaneous: tuple[tuple[Simultaneous, tuple[int, ...]], ...]


def _prepare(
    model: Model,
    inputs: Mapping[str, Input | Simultaneous] | Sequence[Simultaneous | Mapping[str, Input]],
    correlations: CorrelationSpec,
) -> _Prepared:
    if correlations is None and type(inputs) is dict and len(inputs) == len(model.inputs):
        fast = _prepare_fast(model, inputs)
        if fast is not None:
            return fast
    flat: dict[str, Input] = {}
    sims: list[Simultaneous] = []
    entries: list[tuple[str | None, Any]] = (
        list(inputs.items()) if isinstance(inputs, Mapping) else [(None, item) for item in inputs]
    )
    for key, item in entries:
        if isinstance(item, Simultaneous):
            sims.append(item)
            for nm, inp in item.inputs.items():
                if nm in flat:
                    raise InputError(f"input {nm!r} is defined twice")
                flat[nm] = inp
        elif isinstance(item, Input) and key is not None:
            if key in flat:
                raise InputError(f"input {key!r} is defined twice")
            flat[key] = item
        elif isinstance(item, Mapping):
            for nm, inp in item.items():
                if not isinstance(inp, Input):
                    raise InputError(f"input {nm!r} must be an Input, got {type(inp).__name__}")
                flat[nm] = inp
        else:
            raise InputError(f"input {key!r} must be an Input or Simultaneous, got {type(item).__name__}")
    missing = [n for n in model.inputs if n not in flat]
    if missing:
        raise ModelError(f"the model uses input(s) {missing} that are not defined")
    unused = [n for n in flat if n not in model.inputs]
    if unused:
        raise ModelError(f"input(s) {unused} are defined but not used by the model {list(model.inputs)}")
    names = model.inputs
    ins = tuple(flat[n] for n in names)
    r = correlation_matrix(names, correlations)
    index = {n: i for i, n in enumerate(names)}
    sim_idx: list[tuple[Simultaneous, tuple[int, ...]]] = []
    for s in sims:
        idx = tuple(index[n] for n in s.names)
        for a, ia in enumerate(idx):
            for b, ib in enumerate(idx):
                if a != b:
                    if r[ia, ib] != 0.0 and r[ia, ib] != s.correlation[a, b]:
                        raise CorrelationError(
                            f"r({names[ia]}, {names[ib]}) comes from simultaneous samples; do not give it"
                        )
                    r[ia, ib] = s.correlation[a, b]
        sim_idx.append((s, idx))
    if sims and len(names) > 1 and np.linalg.eigvalsh(r)[0] < -1e-10:
        raise CorrelationError("the combined correlation matrix is not positive semi-definite")
    correlated = bool(sims) or (correlations is not None and bool(np.any(r != np.eye(len(names)))))
    return _Prepared(
        names=names,
        inputs=ins,
        x=np.array([i.value for i in ins], dtype=float),
        u=np.array([i.u for i in ins], dtype=float),
        dof=np.array([i.dof for i in ins], dtype=float),
        r=r if correlated else None,
        groups=_groups(r) if correlated else (),
        simultaneous=tuple(sim_idx),
    )


def _prepare_fast(model: Model, inputs: dict[str, Any]) -> _Prepared | None:
    """The common case: a dict of uncorrelated Input objects, exactly the model's inputs."""
    try:
        ins = tuple([inputs[n] for n in model.inputs])
    except KeyError:
        return None
    for i in ins:
        if type(i) is not Input:
            return None
    cols = np.array([(i.value, i.u, i.dof) for i in ins]).T
    return _Prepared(model.inputs, ins, cols[0], cols[1], cols[2], None, (), ())


def _groups(r: Array) -> tuple[tuple[int, ...], ...]:
    """Connected components of the graph of non-zero correlations."""
    n = r.shape[0]
    seen = [False] * n
    out: list[tuple[int, ...]] = []
    for start in range(n):
        if seen[start]:
            continue
        stack, comp = [start], []
        seen[start] = True
        while stack:
            i = stack.pop()
            comp.append(i)
            for j in np.nonzero(r[i])[0]:
                if not seen[j]:
                    seen[j] = True
                    stack.append(int(j))
        out.append(tuple(sorted(comp)))
    return tuple(out)


def _nu_eff(cu: Array, r: Array | None, groups: Sequence[tuple[int, ...]], dof: Array, uc2: Array) -> Array:
    """Welch–Satterthwaite over groups of correlated inputs; cu is (m, N), uc2 (m,), returns (m,).

    Uncorrelated inputs are groups of one (GUM G.4.1). A group of correlated inputs contributes its
    combined variance with the group's dof (their common dof, or the smallest one if they differ);
    see docs/decisions/0101-uncertainty-dof-correlated.md.
    """
    if r is None:
        c2 = cu * cu
        den = (c2 * c2 / dof).sum(axis=1)  # 1/inf = 0: exactly known inputs drop out
    else:
        den = np.zeros(uc2.shape)
        for g in groups:
            nu = float(np.min(dof[list(g)]))
            if math.isinf(nu):
                continue
            sub = cu[:, list(g)]
            var = np.einsum("ai,ij,aj->a", sub, r[np.ix_(g, g)], sub)
            den = den + var * var / nu
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Array = np.where((den > 0.0) & (uc2 > 0.0), uc2 * uc2 / den, np.inf)
    return out


def gum(
    model: Model,
    inputs: Mapping[str, Input | Simultaneous] | Sequence[Simultaneous | Mapping[str, Input]],
    correlations: CorrelationSpec = None,
    *,
    coverage_probability: float = 0.95,
    coverage_factor: float | None = None,
    second_order: bool = False,
    check_linearity: bool = True,
    nonlinearity_tolerance: float = 0.01,
    truncate_dof: bool = True,
) -> GUMResult:
    """Evaluate ``model`` by the GUM law of propagation of uncertainty (JCGM 100:2008 5.1, 5.2).

    Args:
        inputs: name -> :class:`Input`; a :class:`Simultaneous` group brings its inputs and their
            correlations from the samples (GUM H.2).
        correlations: explicit correlation coefficients, pairs ``(a, b, r)`` or ``{(a, b): r}``.
        coverage_probability: p in (0, 1); k = t_p(nu_eff) unless ``coverage_factor`` fixes k.
        coverage_factor: a fixed k > 0 (then ``coverage_probability`` is not used for k).
        second_order: report u_c including the GUM 5.1.2 second-order terms.
        check_linearity: compute those terms and warn (:class:`NonLinearityWarning`) where they change
            u_c by more than ``nonlinearity_tolerance`` (relative).
        truncate_dof: truncate nu_eff to an integer before looking up k (GUM G.6.4).

    Raises:
        ModelError, InputError, CorrelationError (all ValueError) with a message naming the culprit.
    """
    prep = _prepare(model, inputs, correlations)
    p = _probability(coverage_probability)
    if coverage_factor is not None and (
        isinstance(coverage_factor, bool)
        or not isinstance(coverage_factor, int | float)
        or not coverage_factor > 0
        or not math.isfinite(coverage_factor)
    ):
        raise InputError(f"coverage_factor must be a finite number > 0, got {coverage_factor!r}")
    n = len(prep.names)
    x = prep.x[:, None]
    u = prep.u[:, None]
    need_second = second_order or check_linearity
    if need_second:
        s = np.where(prep.u > 0.0, prep.u / 8.0, 1.0)
        pts = np.repeat(x, 2 * n + 1, axis=1)
        pts[np.arange(n), 1 + np.arange(n)] += s
        pts[np.arange(n), 1 + n + np.arange(n)] -= s
        value_all, jac_all, defined_all, method = jacobian(model, pts, np.repeat(u, 2 * n + 1, axis=1))
        value, jac, defined = value_all[:, 0], jac_all[:, :, 0], defined_all[:, 0]
    elif model.complex_step is True:
        point = None if model.point_gradient is None else model.point_gradient(*prep.x.tolist())
        if point is not None:
            value, jac = np.array(point[0]), np.array(point[1])
            defined = np.isfinite(value)
            method = "symbolic"
        else:
            value, jac, defined = complex_step_point(model, prep.x, prep.u)
            method = "complex-step"
    else:
        value_q, jac_q, defined_q, method = jacobian(model, x, u)
        value, jac, defined = value_q[:, 0], jac_q[:, :, 0], defined_q[:, 0]
    if not defined.all():
        bad = [model.outputs[i] for i in range(model.n_outputs) if not defined[i]]
        raise ModelError(
            f"the model is not defined at the input estimates: output(s) {bad} are not finite real numbers"
        )
    if not np.isfinite(jac).all():
        raise ModelError("the sensitivity coefficients are not finite at the input estimates (check the model)")
    names = prep.names
    ul, dl = prep.u.tolist(), prep.dof.tolist()
    fixed = (prep.x.tolist(), ul, [i.distribution for i in prep.inputs], dl)
    sens_all = jac.tolist()
    value_l = value.tolist()
    if prep.r is None and model.n_outputs == 1:
        # single output, uncorrelated inputs: plain float arithmetic beats numpy for small N
        row = [c * uu for c, uu in zip(sens_all[0], ul, strict=True)]
        contrib_all = [row]
        uc2_f = sum([v * v for v in row])
        den = sum([(v * v) ** 2 / d for v, d in zip(row, dl, strict=True) if d != math.inf])
        nu_l = [uc2_f * uc2_f / den if den > 0.0 and uc2_f > 0.0 else math.inf]
        uc2 = np.array([uc2_f])
        cov = uc2.reshape(1, 1)
    else:
        cu = jac * prep.u[None, :]  # (m, N)
        contrib_all = cu.tolist()
        cov = cu @ cu.T if prep.r is None else cu @ prep.r @ cu.T
        uc2 = np.maximum(cov.diagonal(), 0.0)
        nu_l = _nu_eff(cu, prep.r, prep.groups, prep.dof, uc2).tolist()
    u1_l = [math.sqrt(v) if v > 0.0 else 0.0 for v in uc2.tolist()]
    u2: Array | None = None
    if need_second and defined_all.all() and np.isfinite(jac_all).all():
        u2 = np.sqrt(np.maximum(uc2 + _second_order_terms(jac_all, prep, s), 0.0))
    if second_order and u2 is None:
        # never fall back to the first-order u silently when the second-order u was asked for
        raise ModelError(
            "the second-order terms (GUM 5.1.2 note) need the model and its derivatives finite at x ± u/8 "
            "along every input, and they are not here; use Monte Carlo (JCGM 101) instead"
        )
    if coverage_factor is not None:
        ks = [float(coverage_factor)] * model.n_outputs
    else:
        ks = [coverage_factor_fn(v, p, truncate=truncate_dof) for v in nu_l]
    outputs: dict[str, GUMOutput] = {}
    for k_out, name in enumerate(model.outputs):
        ref = u1_l[k_out]
        u_second = None if u2 is None else float(u2[k_out])
        u_rep = u_second if (second_order and u_second is not None) else ref
        nonlinear = u_second is not None and (
            abs(u_second - ref) > nonlinearity_tolerance * ref or (ref == 0.0 and u_second > 0.0)
        )
        if nonlinear and not second_order:
            warnings.warn(
                f"output {name!r}: the model is significantly non-linear at the estimates "
                f"(u_c = {ref:.4g} first order, {u_second:.4g} with second-order terms); "
                "use second_order=True or Monte Carlo",
                NonLinearityWarning,
                stacklevel=2,
            )
        k = ks[k_out]
        y = value_l[k_out]
        big_u = k * u_rep
        budget = tuple(
            [
                _tuple_new(BudgetRow, (nm, xv, uv, dist, c, cu_i, dv))
                for nm, xv, uv, dist, dv, c, cu_i in zip(
                    names, *fixed, sens_all[k_out], contrib_all[k_out], strict=True
                )
            ]
        )
        outputs[name] = GUMOutput(
            name,
            y,
            u_rep,
            nu_l[k_out],
            k,
            big_u,
            (y - big_u, y + big_u),
            None if coverage_factor is not None else p,
            budget,
            ref,
            u_second,
            nonlinear,
        )
    if model.n_outputs == 1:
        corr = _ONE
    else:
        d = np.sqrt(np.diag(cov))
        dd = np.outer(d, d)
        corr = np.divide(cov, dd, out=np.zeros_like(cov), where=dd > 0.0)
        np.fill_diagonal(corr, 1.0)
    return GUMResult(outputs, cov, corr, names, jac, method)


coverage_factor_fn = coverage_factor
_tuple_new = tuple.__new__
_ONE = np.ones((1, 1))
_ONE.flags.writeable = False


def _second_order_terms(jac_all: Array, prep: _Prepared, s: Array) -> Array:
    """GUM 5.1.2 note: sum_ij [1/2 f_ij^2 + f_i f_ijj] u_i^2 u_j^2 per output, shape (m,).

    Gradients at x ± s_j e_j (columns 1..N and N+1..2N of ``jac_all``) give the Hessian f_ij and the
    third derivatives f_ijj by central differences. With correlated inputs the Hessian term is
    (1/2) tr(H V H V) and the third-derivative term uses (c V)_i f_ijj V_jj (exact when V is diagonal).
    """
    n = len(prep.names)
    g0 = jac_all[:, :, 0]  # (m, N)
    gp = jac_all[:, :, 1 : 1 + n]  # (m, N_i, N_j)
    gm = jac_all[:, :, 1 + n : 1 + 2 * n]
    hess = (gp - gm) / (2.0 * s[None, None, :])
    hess = 0.5 * (hess + np.swapaxes(hess, 1, 2))
    third = (gp - 2.0 * g0[:, :, None] + gm) / (s[None, None, :] ** 2)
    u = prep.u
    v = np.diag(u * u) if prep.r is None else prep.r * np.outer(u, u)
    hv = np.einsum("oij,jk->oik", hess, v)
    term1 = 0.5 * np.einsum("oik,oki->o", hv, hv)
    cv = g0 @ v
    term2 = np.einsum("oi,oij,j->o", cv, third, u * u)
    res: Array = term1 + term2
    return res


def gum_points(
    model: Model,
    values: Mapping[str, Any],
    uncertainties: Mapping[str, Any],
    dof: Mapping[str, Any] | None = None,
    correlation: Array | None = None,
    *,
    coverage_probability: float = 0.95,
    coverage_factor: float | None = None,
    truncate_dof: bool = True,
) -> PointsResult:
    """First-order GUM evaluation of P points sharing ``model`` in one vectorised pass.

    ``values``/``uncertainties``/``dof`` map each input name to a scalar or an array of length P
    (broadcast); ``correlation`` is an optional N x N input correlation matrix shared by all points.
    Returns arrays of shape (n_outputs, P).
    """
    names = model.inputs
    for label, mp in (("values", values), ("uncertainties", uncertainties)):
        missing = [n for n in names if n not in mp]
        if missing:
            raise InputError(f"{label} lacks input(s) {missing}")
    cols = [np.asarray(values[n], dtype=float) for n in names]
    ucols = [np.asarray(uncertainties[n], dtype=float) for n in names]
    dcols = [np.asarray((dof or {}).get(n, np.inf), dtype=float) for n in names]
    shape = np.broadcast_shapes(*(c.shape for c in cols + ucols + dcols))
    if len(shape) > 1:
        raise InputError(f"values must be scalars or 1-D arrays, got shape {shape}")
    npts = shape[0] if shape else 1
    x = np.stack([np.broadcast_to(c, (npts,)) for c in cols]).astype(float)
    u = np.stack([np.broadcast_to(c, (npts,)) for c in ucols]).astype(float)
    nu = np.stack([np.broadcast_to(c, (npts,)) for c in dcols]).astype(float)
    if np.any(u < 0.0) or not np.all(np.isfinite(u)):
        raise InputError("standard uncertainties must be finite and >= 0")
    if np.any(nu <= 0.0):
        raise InputError("degrees of freedom must be > 0")
    r = None
    if correlation is not None:
        r = np.asarray(correlation, dtype=float)
        if r.shape != (len(names), len(names)) or not np.allclose(r, r.T) or np.linalg.eigvalsh(r)[0] < -1e-10:
            raise CorrelationError("correlation must be a symmetric positive semi-definite N x N matrix")
    value, jac, defined, _ = jacobian(model, x, u)
    if not np.all(defined):
        bad = np.nonzero(~np.all(defined, axis=0))[0]
        raise ModelError(f"the model is not defined (finite and real) at point(s) {bad[:10].tolist()}")
    cu = jac * u[None]
    if r is None:
        uc2 = np.einsum("aip,aip->ap", cu, cu)
        cov = np.einsum("aip,bip->abp", cu, cu) if model.n_outputs > 1 else uc2[None]
        den = np.zeros_like(uc2)
        for i in range(len(names)):
            fin = np.isfinite(nu[i])
            c4 = cu[:, i] ** 4
            den = den + np.where(fin, c4 / np.where(fin, nu[i], 1.0), 0.0)
    else:
        cov = np.einsum("aip,ij,bjp->abp", cu, r, cu)
        uc2 = np.einsum("aap->ap", cov)
        den = np.zeros_like(uc2)
        for g in _groups(r):
            gnu = np.min(nu[list(g)], axis=0)
            sub = cu[:, list(g)]
            var = np.einsum("aip,ij,ajp->ap", sub, r[np.ix_(g, g)], sub)
            fin = np.isfinite(gnu)
            den = den + np.where(fin, var * var / np.where(fin, gnu, 1.0), 0.0)
    uc2 = np.clip(uc2, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        nu_eff = np.where((den > 0.0) & (uc2 > 0.0), uc2 * uc2 / np.where(den > 0.0, den, 1.0), np.inf)
    uc = np.sqrt(uc2)
    if coverage_factor is not None:
        k = np.full_like(uc, float(coverage_factor))
    else:
        k = np.asarray(coverage_factor_fn(nu_eff, coverage_probability, truncate=truncate_dof), dtype=float)
    return PointsResult(model.outputs, names, value, uc, nu_eff, k, k * uc, jac, cov)
