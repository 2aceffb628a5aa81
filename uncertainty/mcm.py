"""Propagation of distributions by Monte Carlo (JCGM 101:2008; several outputs per JCGM 102:2011).

Trials are drawn and evaluated in blocks (bounded memory: one block of inputs at a time plus the
output values, 8 bytes per trial and output), from a seeded :class:`numpy.random.Generator`
(PCG64). With the same seed, block size and inputs the result is reproducible bit for bit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import InputError
from .gum import CorrelationSpec, GUMOutput, _prepare, _Prepared, _probability
from .inputs import Input, Simultaneous
from .limits import MCM_MEMORY_BUDGET, format_bytes
from .model import Model

__all__ = [
    "MCMOutput",
    "MCMResult",
    "Validation",
    "adaptive_block",
    "coverage_intervals",
    "mcm",
    "mcm_memory",
    "numerical_tolerance",
    "validate_gum",
]

Array = npt.NDArray[Any]

DEFAULT_BLOCK = 100_000


def adaptive_block(coverage_probability: float) -> int:
    """Trials per block of the adaptive procedure: max(ceil(100/(1 - p)), 10^4) (JCGM 101:2008 7.9.4)."""
    return max(math.ceil(100.0 / (1.0 - coverage_probability)), 10_000)


def mcm_memory(
    n_inputs: int, n_outputs: int, trials: int, *, block_size: int = DEFAULT_BLOCK, adaptive: bool = False
) -> int:
    """Estimated peak memory of :func:`mcm`, bytes (an upper estimate, made before allocating anything).

    The output values are float64, 8 bytes per trial and output, and are held twice at the peak (the
    covariance and the standard deviation work on a centred copy), three times by the adaptive procedure
    (its blocks, their concatenation and a centred copy; ``trials`` is then its cap). One block of
    ``block_size`` trials holds the inputs, the model's outputs and about four temporaries, float64 each.
    """
    copies = 3 if adaptive else 2
    return 8 * n_outputs * trials * copies + 8 * block_size * (n_inputs + 2 * n_outputs + 4)


@dataclass(frozen=True)
class MCMOutput:
    """Monte Carlo summary of one output: estimate (mean), standard uncertainty (sample s.d., JCGM 101 7.6)
    and the probabilistically symmetric and shortest 100p % coverage intervals (JCGM 101 7.7)."""

    name: str
    value: float
    u: float
    interval_symmetric: tuple[float, float]
    interval_shortest: tuple[float, float]
    coverage_probability: float
    trials: int


@dataclass(frozen=True)
class MCMResult:
    """Monte Carlo result for all outputs; index it by output name.

    ``converged`` is False only when the adaptive procedure hit ``max_trials``; ``values`` holds the
    (m, M) output values when ``keep_values`` was asked, else None.
    """

    outputs: Mapping[str, MCMOutput]
    trials: int
    covariance: Array
    correlation: Array
    converged: bool
    seed: int | None
    values: Array | None = None

    def __getitem__(self, name: str) -> MCMOutput:
        return self.outputs[name]

    def r(self, a: str, b: str) -> float:
        """Correlation coefficient between outputs ``a`` and ``b``."""
        names = list(self.outputs)
        return float(self.correlation[names.index(a), names.index(b)])


@dataclass(frozen=True)
class Validation:
    """JCGM 101:2008 clause 8 comparison of the GUM interval y ± U with a Monte Carlo interval.

    validated = (d_low <= delta and d_high <= delta); delta is the numerical tolerance (7.9.2) of u(y)
    with n_dig significant digits (8.1). ``delta_from`` says whose u(y) gave delta: ``"gum"`` normally,
    ``"monte_carlo"`` where the GUM u(y) is 0 or its interval is degenerate (JCGM 101 9.4: the GUM
    interval is then a point and is never validated against a Monte Carlo spread), ``"none"`` where
    both u(y) are 0 (delta = 0). ``note`` explains any such case in words ("" otherwise).
    """

    validated: bool
    delta: float
    d_low: float
    d_high: float
    interval: str
    delta_from: str = "gum"
    note: str = ""


class _Sampler:
    """Draws (N, size) input matrices according to the prepared inputs."""

    def __init__(self, prep: _Prepared) -> None:
        self.prep = prep
        n = len(prep.names)
        in_sim: set[int] = set()
        for sim, idx in prep.simultaneous:
            if not sim.mc_dof > 0:
                raise InputError(
                    f"Monte Carlo needs more observations than simultaneously observed quantities "
                    f"({list(sim.names)}): n must exceed N (JCGM 102 5.3.2)"
                )
            in_sim.update(idx)
        self.mvn: list[tuple[tuple[int, ...], Array, Array]] = []
        covered = set(in_sim)
        if prep.r is not None:
            r = prep.r.copy()
            for _, idx in prep.simultaneous:
                for i in idx:
                    for j in idx:
                        if i != j:
                            r[i, j] = 0.0
            for g in _components(r):
                if len(g) < 2:
                    continue
                bad = [prep.names[i] for i in g if prep.inputs[i].distribution != "normal"]
                if bad:
                    raise InputError(
                        f"Monte Carlo supports explicit correlations between normal inputs only "
                        f"(JCGM 101 6.4.8); {bad} are not normal. Use the GUM method, or model them as normal"
                    )
                sub = r[np.ix_(g, g)] * np.outer(prep.u[list(g)], prep.u[list(g)])
                w, v = np.linalg.eigh(sub)
                self.mvn.append((g, prep.x[list(g)], v * np.sqrt(np.clip(w, 0.0, None))))
                covered.update(g)
        self.independent = [i for i in range(n) if i not in covered]

    def draw(self, rng: np.random.Generator, size: int) -> list[Array]:
        """One array of ``size`` draws per input, in model order (no copies into a matrix)."""
        prep = self.prep
        x: list[Array] = [np.empty(0)] * len(prep.names)
        for i in self.independent:
            x[i] = prep.inputs[i].sample(rng, size)
        for sim, idx in prep.simultaneous:
            block = sim.sample(rng, size)
            for row, i in enumerate(idx):
                x[i] = block[row]
        for g, mean, root in self.mvn:
            block = mean[:, None] + root @ rng.standard_normal((len(g), size))
            for row, i in enumerate(g):
                x[i] = block[row]
        return x


def _components(r: Array) -> list[tuple[int, ...]]:
    n = r.shape[0]
    seen = [False] * n
    out: list[tuple[int, ...]] = []
    for s in range(n):
        if seen[s]:
            continue
        seen[s] = True
        stack, comp = [s], []
        while stack:
            i = stack.pop()
            comp.append(i)
            for j in np.nonzero(r[i])[0]:
                if not seen[int(j)]:
                    seen[int(j)] = True
                    stack.append(int(j))
        out.append(tuple(sorted(comp)))
    return out


def coverage_intervals(
    values: Array, p: float, *, inplace: bool = False
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Probabilistically symmetric and shortest 100p % coverage intervals of 1-D ``values`` (JCGM 101 7.7).

    Uses q = pM (rounded as 7.7.1) and partial sorting of the two tails only. With ``inplace`` the
    array is reordered instead of copied.
    """
    y = values if inplace else values.copy()
    m = y.size
    if m < 2:
        raise InputError("at least 2 Monte Carlo trials are needed for coverage intervals")
    q = int(p * m) if float(p * m).is_integer() else math.floor(p * m + 0.5)
    q = min(max(q, 1), m - 1)
    tail = m - q  # number of admissible left endpoints r = 1..M-q
    if 2 * tail < m:
        lower, upper = _tails(y, tail, q)
    else:
        y.sort()
        lower = y[:tail]
        upper = y[q:]
    # 1-based y_(r) = lower[r-1] for r <= tail; y_(r+q) = upper[r-1]
    widths = upper - lower
    r_short = int(np.argmin(widths))
    r_sym = (m - q) // 2 if (m - q) % 2 == 0 else (m - q + 1) // 2
    r_sym = min(max(r_sym, 1), tail)
    return (float(lower[r_sym - 1]), float(upper[r_sym - 1])), (float(lower[r_short]), float(upper[r_short]))


def _tails(y: Array, tail: int, q: int) -> tuple[Array, Array]:
    """The ``tail`` smallest values and the values from rank q on (0-based), both sorted.

    Fast path: thresholds from a strided subsample select slightly more than needed with two boolean
    masks, and only those are sorted; if a threshold turns out too tight (checked by counting) the exact
    ``numpy.partition`` route is used instead. Either way the result is exact.
    """
    m = y.size
    n_up = m - q
    if m >= 100_000:
        sub = np.sort(y[:: max(1, m // 20_000)])
        frac = tail / m
        lo_thr = sub[min(sub.size - 1, int(sub.size * frac * 1.2) + 10)]
        hi_thr = sub[max(0, sub.size - 1 - int(sub.size * frac * 1.2) - 10)]
        low = y[y <= lo_thr]
        high = y[y >= hi_thr]
        if low.size >= tail and high.size >= n_up:
            low.sort()
            high.sort()
            return low[:tail], high[high.size - n_up :]
    y.partition([tail - 1, q])
    return np.sort(y[:tail]), np.sort(y[q:])


def numerical_tolerance(u: float, significant_digits: int = 2) -> float:
    """delta = (1/2) 10^l where u = c 10^l with c an integer of ``significant_digits`` digits (JCGM 101 7.9.2)."""
    if not u > 0.0 or not math.isfinite(u):
        raise InputError(f"the numerical tolerance needs a finite u > 0, got {u!r}")
    if significant_digits < 1:
        raise InputError("significant_digits must be >= 1")
    l_exp = math.floor(math.log10(u)) - significant_digits + 1
    return 0.5 * 10.0**l_exp


def _summaries(values: Array, p: float) -> tuple[Array, Array, list[tuple[tuple[float, float], tuple[float, float]]]]:
    mean = values.mean(axis=1)
    u = values.std(axis=1, ddof=1)
    ivs = [coverage_intervals(row, p) for row in values]
    return mean, u, ivs


def mcm(
    model: Model,
    inputs: Mapping[str, Input | Simultaneous] | Sequence[Simultaneous | Mapping[str, Input]],
    correlations: CorrelationSpec = None,
    *,
    trials: int = 1_000_000,
    seed: int | None = None,
    coverage_probability: float = 0.95,
    block_size: int = DEFAULT_BLOCK,
    adaptive: bool = False,
    significant_digits: int = 2,
    max_trials: int = 20_000_000,
    keep_values: bool = False,
    memory_budget: int | None = MCM_MEMORY_BUDGET,
) -> MCMResult:
    """Propagate the input distributions through ``model`` by Monte Carlo (JCGM 101 clause 7).

    Args:
        trials: number of trials M (ignored when ``adaptive``).
        seed: seed of the PCG64 generator; None draws fresh entropy (then the result is not reproducible).
        block_size: trials evaluated at a time (memory per block ~ 8 N block_size bytes).
        adaptive: run the adaptive procedure of JCGM 101 7.9 with ``significant_digits`` for u(y):
            blocks of max(ceil(100/(1-p)), 10^4) trials until twice the standard deviation of the block
            means of y, u(y) and of the endpoints of both intervals is at most delta, for every output.
        max_trials: cap of the adaptive procedure (a warning and ``converged=False`` when reached).
        keep_values: keep the (m, M) output values in the result.
        memory_budget: refuse (InputError) settings whose :func:`mcm_memory` estimate exceeds this many
            bytes, before allocating (default 2 GiB, docs/uncertainty.md "Limits"); None: no check.
    """
    p = _probability(coverage_probability)
    for name, val in (("trials", trials), ("block_size", block_size), ("max_trials", max_trials)):
        if isinstance(val, bool) or not isinstance(val, int) or val < 2:
            raise InputError(f"{name} must be an integer >= 2, got {val!r}")
    if isinstance(significant_digits, bool) or not isinstance(significant_digits, int) or significant_digits < 1:
        raise InputError(f"significant_digits must be an integer >= 1, got {significant_digits!r}")
    if memory_budget is not None:
        m_trials = max_trials if adaptive else trials
        need = mcm_memory(model.n_inputs, model.n_outputs, m_trials, block_size=block_size, adaptive=adaptive)
        need += 8 * model.n_outputs * m_trials if keep_values else 0
        if need > memory_budget:
            what = f"max_trials = {max_trials}" if adaptive else f"{trials} trials"
            raise InputError(
                f"Monte Carlo with {what}, {model.n_outputs} output(s) and {model.n_inputs} input(s) would need "
                f"about {format_bytes(need)}, more than the budget of {format_bytes(memory_budget)}: "
                "lower the number of trials (or max_trials), outputs or block_size"
            )
    prep = _prepare(model, inputs, correlations)
    sampler = _Sampler(prep)
    rng = np.random.default_rng(seed)
    m_out = model.n_outputs
    converged = True
    if not adaptive:
        values = np.empty((m_out, trials))
        for start in range(0, trials, block_size):
            size = min(block_size, trials - start)
            values[:, start : start + size] = model.evaluate(*sampler.draw(rng, size))
    else:
        values, converged = _adaptive(model, sampler, rng, p, significant_digits, max_trials, block_size)
    if not np.all(np.isfinite(values)):
        bad = int(np.sum(~np.isfinite(values)))
        raise InputError(
            f"{bad} Monte Carlo trial(s) gave a non-finite model value: the input distributions reach "
            "outside the model's domain"
        )
    total = values.shape[1]
    mean = values.mean(axis=1)
    if m_out > 1:
        cov = np.atleast_2d(np.cov(values))
        d = np.sqrt(np.diag(cov))
        dd = np.outer(d, d)
        corr = np.divide(cov, dd, out=np.zeros_like(cov), where=dd > 0.0)
        np.fill_diagonal(corr, 1.0)
        u = d
    else:
        u = values.std(axis=1, ddof=1)
        cov = np.array([[float(u[0]) ** 2]])
        corr = np.ones((1, 1))
    kept = values.copy() if keep_values else None
    outputs: dict[str, MCMOutput] = {}
    for k, name in enumerate(model.outputs):
        sym, short = coverage_intervals(values[k], p, inplace=True)
        outputs[name] = MCMOutput(name, float(mean[k]), float(u[k]), sym, short, p, total)
    return MCMResult(outputs, total, cov, corr, converged, seed, kept)


def _adaptive(
    model: Model,
    sampler: _Sampler,
    rng: np.random.Generator,
    p: float,
    ndig: int,
    max_trials: int,
    block_size: int,
) -> tuple[Array, bool]:
    """JCGM 101 7.9 adaptive Monte Carlo; returns all output values (m, h M) and whether it converged."""
    m_block = adaptive_block(p)
    blocks: list[Array] = []
    stats: list[Array] = []  # per block: (m, 6) = mean, u, sym lo, sym hi, short lo, short hi
    while True:
        vals = np.empty((model.n_outputs, m_block))
        for start in range(0, m_block, block_size):
            size = min(block_size, m_block - start)
            vals[:, start : start + size] = model.evaluate(*sampler.draw(rng, size))
        blocks.append(vals)
        mean, u, ivs = _summaries(vals, p)
        stats.append(np.array([[mean[k], u[k], *ivs[k][0], *ivs[k][1]] for k in range(len(mean))]))
        h = len(blocks)
        if h >= 2:
            arr = np.stack(stats)  # (h, m, 6)
            sd_of_mean = arr.std(axis=0, ddof=1) / math.sqrt(h)  # (m, 6)
            allv = np.concatenate(blocks, axis=1)
            u_all = allv.std(axis=1, ddof=1)
            if np.all(u_all > 0.0):
                deltas = np.array([numerical_tolerance(float(x), ndig) for x in u_all])
                if np.all(2.0 * sd_of_mean <= deltas[:, None]):
                    return allv, True
            elif np.all(sd_of_mean == 0.0):
                return allv, True
        if h * m_block >= max_trials:
            warnings.warn(
                f"adaptive Monte Carlo did not stabilise within {max_trials} trials; "
                "results are reported but not converged",
                RuntimeWarning,
                stacklevel=3,
            )
            return np.concatenate(blocks, axis=1), False


def validate_gum(
    gum_output: GUMOutput,
    mcm_output: MCMOutput,
    *,
    significant_digits: int = 2,
    interval: str = "shortest",
) -> Validation:
    """Validate the GUM interval y ± U against Monte Carlo (JCGM 101:2008 clause 8).

    d_low = |y - U - y_low| and d_high = |y + U - y_high| with [y_low, y_high] the Monte Carlo
    ``interval`` ("shortest" (default) or "symmetric"); delta is the numerical tolerance (7.9.2) of the
    GUM u(y) with ``significant_digits`` = n_dig (8.1). The GUM result is validated when both are <= delta.

    A GUM u(y) of 0, or a degenerate interval (y - U == y + U), has no numerical tolerance: this is the
    case of JCGM 101 9.4 (Y = X1^2 + X2^2 at x = 0, where the first-order GUM gives u = 0 while the
    output plainly varies). Then delta is taken from the Monte Carlo u(y) and, when Monte Carlo shows a
    spread (u > 0), the GUM result is **not validated** whatever d_low and d_high are: a point interval
    against a distribution with spread understates the uncertainty, the worst error to let through.
    When both u(y) are 0, delta = 0 and validation asks both intervals to coincide exactly.
    """
    if interval not in ("shortest", "symmetric"):
        raise InputError(f"interval must be 'shortest' or 'symmetric', got {interval!r}")
    if isinstance(significant_digits, bool) or not isinstance(significant_digits, int) or significant_digits < 1:
        raise InputError(f"significant_digits must be an integer >= 1, got {significant_digits!r}")
    lo, hi = mcm_output.interval_shortest if interval == "shortest" else mcm_output.interval_symmetric
    g_lo, g_hi = gum_output.interval
    d_low = abs(g_lo - lo)
    d_high = abs(g_hi - hi)
    gum_u = gum_output.u
    degenerate = not (gum_u > 0.0 and math.isfinite(gum_u)) or not g_hi > g_lo
    if not degenerate:
        delta = numerical_tolerance(gum_u, significant_digits)
        return Validation(bool(d_low <= delta and d_high <= delta), delta, d_low, d_high, interval)
    mc_u = mcm_output.u
    if mc_u > 0.0 and math.isfinite(mc_u):
        delta = numerical_tolerance(mc_u, significant_digits)
        note = (
            f"the GUM interval is degenerate (u(y) = {gum_u:.4g}) while Monte Carlo gives u(y) = {mc_u:.4g}: "
            f"delta is taken from the Monte Carlo u(y) ({significant_digits} significant digit(s), "
            "JCGM 101:2008 7.9.2, 8.1) and the GUM result is not validated (as in JCGM 101:2008 9.4); "
            "use the Monte Carlo result"
        )
        return Validation(False, delta, d_low, d_high, interval, "monte_carlo", note)
    note = "both the GUM and the Monte Carlo u(y) are 0: delta = 0, validated only if the intervals coincide"
    return Validation(bool(d_low == 0.0 and d_high == 0.0), 0.0, d_low, d_high, interval, "none", note)
