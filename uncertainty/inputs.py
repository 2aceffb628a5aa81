"""Input quantities: validated constructors for type A and type B evaluations (GUM 4.2, 4.3; JCGM 101 6.4).

Each constructor returns an immutable :class:`Input` carrying the estimate (``value``), the standard
uncertainty ``u`` used by the GUM framework, the degrees of freedom ``dof`` (``math.inf`` = exactly
known) and what Monte Carlo needs to draw from the assigned distribution. Units are the caller's: an
input's value, u, half-width, bounds and scale are all in the unit of the quantity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .errors import InputError

__all__ = [
    "DISTRIBUTIONS",
    "Input",
    "Simultaneous",
    "arcsine",
    "curvilinear_trapezoid",
    "normal",
    "rectangular",
    "student_t",
    "trapezoid",
    "triangular",
    "type_a",
    "type_a_simultaneous",
]

Array = npt.NDArray[np.float64]

#: Distribution names known to the engine (the model file uses the same strings).
DISTRIBUTIONS = (
    "normal",
    "t",
    "rectangular",
    "triangular",
    "arcsine",
    "trapezoid",
    "curvilinear_trapezoid",
    "type_a",
)


_NO_PARAMS: Mapping[str, float] = MappingProxyType({})


class Input(NamedTuple):
    """An input quantity's state of knowledge.

    Attributes:
        value: estimate x_i (unit of the quantity).
        u: standard uncertainty u(x_i) >= 0 used by the GUM framework.
        dof: degrees of freedom nu_i > 0 for Welch–Satterthwaite; ``math.inf`` when exactly known.
        distribution: one of :data:`DISTRIBUTIONS`.
        params: distribution parameters used by Monte Carlo (half_width, beta, d, scale, ...).
    """

    value: float
    u: float
    dof: float = math.inf
    distribution: str = "normal"
    params: Mapping[str, float] = _NO_PARAMS

    def sample(self, rng: np.random.Generator, size: int) -> Array:
        """Draw ``size`` values from the assigned distribution (JCGM 101 6.4)."""
        d = self.distribution
        p = self.params
        if self.u == 0.0:
            return np.full(size, self.value)
        if d == "normal":
            return rng.normal(self.value, self.u, size)
        if d in ("t", "type_a"):
            return self.value + p["scale"] * rng.standard_t(p["mc_dof"], size)
        if d == "rectangular":
            a = p["half_width"]
            return rng.uniform(self.value - a, self.value + a, size)
        if d == "triangular":
            a = p["half_width"]
            return self.value + a * (rng.random(size) - rng.random(size))
        if d == "arcsine":
            return self.value + p["half_width"] * np.sin(2.0 * math.pi * rng.random(size))
        if d == "trapezoid":
            a, beta = p["half_width"], p["beta"]
            r1, r2 = rng.random(size), rng.random(size)
            return (self.value - a) + a * ((1.0 + beta) * r1 + (1.0 - beta) * r2)
        if d == "curvilinear_trapezoid":
            a, dd = p["half_width"], p["d"]
            w = (a - dd) + (2.0 * dd) * rng.random(size)
            return self.value + w * (2.0 * rng.random(size) - 1.0)
        raise InputError(f"unknown distribution {d!r}")  # pragma: no cover - constructors validate


def _real(name: str, x: Any, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float | np.floating | np.integer):
        raise InputError(f"{name} must be a real number, got {x!r}")
    v = float(x)
    if not math.isfinite(v):
        raise InputError(f"{name} must be finite, got {v!r}")
    if positive and v <= 0.0:
        raise InputError(f"{name} must be > 0, got {v!r}")
    if nonneg and v < 0.0:
        raise InputError(f"{name} must be >= 0, got {v!r}")
    return v


def _dof(dof: Any) -> float:
    if dof is None:
        return math.inf
    if isinstance(dof, bool) or not isinstance(dof, int | float | np.floating | np.integer):
        raise InputError(f"dof must be a number > 0 or None/inf (exactly known), got {dof!r}")
    v = float(dof)
    if math.isnan(v) or v <= 0.0:
        raise InputError(f"dof must be > 0 (or inf), got {v!r}")
    return v


def normal(
    value: float,
    u: float | None = None,
    *,
    U: float | None = None,
    k: float | None = None,
    dof: float | None = None,
) -> Input:
    """Normal (Gaussian) input from a standard uncertainty ``u`` or from ``U`` and coverage factor ``k``.

    A certificate's "U = 0.45 mg (k = 2)" is ``normal(x, U=0.45, k=2)``; u = U/k. ``dof`` defaults to
    infinity (GUM G.4 for type B).
    """
    if (
        type(u) is float
        and type(value) is float
        and U is None
        and k is None
        and (dof is None or type(dof) is float)
        and value - value == 0.0  # finite
        and u - u == 0.0
        and u >= 0.0
        and (dof is None or dof > 0.0)
    ):  # fast path for the common call normal(x, u[, dof=nu]) with floats
        return Input(value, u, math.inf if dof is None else dof, "normal", _NO_PARAMS)
    value = _real("value", value)
    if u is not None and (U is not None or k is not None):
        raise InputError("give either u, or U together with k, not both")
    if u is None:
        if U is None or k is None:
            raise InputError("a normal input needs u, or U together with k")
        uu = _real("U", U, nonneg=True) / _real("k", k, positive=True)
    else:
        uu = _real("u", u, nonneg=True)
    return Input(value, uu, _dof(dof), "normal", _NO_PARAMS)


def student_t(value: float, scale: float, dof: float) -> Input:
    """Scaled-and-shifted t input t_nu(value, scale^2) (JCGM 101 6.4.9).

    The GUM framework uses u = ``scale`` with ``dof`` degrees of freedom (GUM G.3); Monte Carlo draws
    ``value + scale * t(dof)``, whose standard deviation is scale*sqrt(dof/(dof-2)) for dof > 2.
    """
    value = _real("value", value)
    scale = _real("scale", scale, nonneg=True)
    nu = _dof(dof)
    if math.isinf(nu):
        return Input(value, scale, nu, "normal", _NO_PARAMS)
    return Input(value, scale, nu, "t", {"scale": scale, "mc_dof": nu})


def rectangular(
    value: float | None = None,
    half_width: float | None = None,
    *,
    lower: float | None = None,
    upper: float | None = None,
    dof: float | None = None,
) -> Input:
    """Rectangular (uniform) input from ``value`` ± ``half_width`` or from ``lower``..``upper``; u = a/sqrt(3)."""
    if lower is not None or upper is not None:
        if value is not None or half_width is not None:
            raise InputError("give either value and half_width, or lower and upper, not both")
        if lower is None or upper is None:
            raise InputError("a rectangular input given by bounds needs both lower and upper")
        lo, hi = _real("lower", lower), _real("upper", upper)
        if hi < lo:
            raise InputError(f"upper ({hi}) must be >= lower ({lo})")
        value, a = 0.5 * (lo + hi), 0.5 * (hi - lo)
    else:
        if value is None or half_width is None:
            raise InputError("a rectangular input needs value and half_width (or lower and upper)")
        value, a = _real("value", value), _real("half_width", half_width, nonneg=True)
    return Input(value, a / math.sqrt(3.0), _dof(dof), "rectangular", {"half_width": a})


def triangular(value: float, half_width: float, *, dof: float | None = None) -> Input:
    """Symmetric triangular input on value ± half_width; u = a/sqrt(6)."""
    a = _real("half_width", half_width, nonneg=True)
    return Input(_real("value", value), a / math.sqrt(6.0), _dof(dof), "triangular", {"half_width": a})


def arcsine(value: float, half_width: float, *, dof: float | None = None) -> Input:
    """Arcsine (U-shaped) input on value ± half_width; u = a/sqrt(2) (JCGM 101 6.4.6)."""
    a = _real("half_width", half_width, nonneg=True)
    return Input(_real("value", value), a / math.sqrt(2.0), _dof(dof), "arcsine", {"half_width": a})


def trapezoid(value: float, half_width: float, beta: float, *, dof: float | None = None) -> Input:
    """Symmetric trapezoidal input on value ± half_width (JCGM 101 6.4.4).

    ``beta`` in [0, 1] is the ratio of the top width to the base width (0: triangular, 1: rectangular);
    u^2 = a^2 (1 + beta^2) / 6.
    """
    a = _real("half_width", half_width, nonneg=True)
    b = _real("beta", beta)
    if not 0.0 <= b <= 1.0:
        raise InputError(f"beta must be in [0, 1], got {b}")
    u = a * math.sqrt((1.0 + b * b) / 6.0)
    return Input(_real("value", value), u, _dof(dof), "trapezoid", {"half_width": a, "beta": b})


def curvilinear_trapezoid(value: float, half_width: float, d: float, *, dof: float | None = None) -> Input:
    """Rectangular input whose limits are only known to ± ``d`` (JCGM 101 6.4.3).

    The half-width is itself uniform on [a - d, a + d], 0 <= d <= a; u^2 = a^2/3 + d^2/9.
    """
    a = _real("half_width", half_width, nonneg=True)
    dd = _real("d", d, nonneg=True)
    if dd > a:
        raise InputError(f"d ({dd}) must not exceed half_width ({a})")
    u = math.sqrt(a * a / 3.0 + dd * dd / 9.0)
    return Input(_real("value", value), u, _dof(dof), "curvilinear_trapezoid", {"half_width": a, "d": dd})


def _samples(name: str, samples: Any) -> Array:
    try:
        arr = np.asarray(samples, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a sequence of real numbers") from None
    if arr.ndim != 1:
        raise InputError(f"{name} must be a one-dimensional sequence, got shape {arr.shape}")
    if arr.size < 2:
        raise InputError(f"{name} needs at least 2 observations for a type A evaluation, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains a non-finite value")
    return arr


def type_a(samples: Sequence[float] | Array) -> Input:
    """Type A evaluation of n >= 2 repeated observations (GUM 4.2): mean, s/sqrt(n), nu = n - 1.

    Monte Carlo draws from t_{n-1}(mean, s^2/n) (JCGM 101 6.4.9.7).
    """
    arr = _samples("samples", samples)
    n = arr.size
    mean = float(arr.mean())
    u = float(arr.std(ddof=1) / math.sqrt(n))
    return Input(mean, u, float(n - 1), "type_a", {"scale": u, "mc_dof": float(n - 1), "n": float(n)})


@dataclass(frozen=True)
class Simultaneous:
    """Inputs observed together (n sets of N quantities), GUM H.2 / JCGM 102 5.3.2.

    Attributes:
        names: the N input names.
        inputs: one type A input per name (mean, s/sqrt(n), nu = n - 1).
        correlation: N x N correlation matrix of the means, from the samples (GUM 5.2.3, H.2).
        mean: vector of means; scale: JCGM 102 scale matrix Q / (n (n - N)) of the multivariate t
            drawn by Monte Carlo with nu = n - N degrees of freedom (Q = sum of outer products of residuals).
    """

    names: tuple[str, ...]
    inputs: Mapping[str, Input]
    correlation: Array
    mean: Array
    scale: Array
    mc_dof: float

    def sample(self, rng: np.random.Generator, size: int) -> Array:
        """Draw ``size`` vectors from the multivariate t; returns shape (N, size)."""
        n = len(self.names)
        chol = _psd_sqrt(self.scale)
        z = chol @ rng.standard_normal((n, size))
        w = np.sqrt(rng.chisquare(self.mc_dof, size) / self.mc_dof)
        out: Array = self.mean[:, None] + z / w
        return out


def _psd_sqrt(cov: Array) -> Array:
    """A matrix L with L L^T = cov for a positive semi-definite ``cov`` (eigen-decomposition)."""
    w, v = np.linalg.eigh(cov)
    w = np.clip(w, 0.0, None)
    out: Array = v * np.sqrt(w)
    return out


def type_a_simultaneous(samples: Mapping[str, Sequence[float] | Array]) -> Simultaneous:
    """Type A evaluation of quantities observed together: means, u, nu = n - 1 and their correlation.

    All sequences must have the same length n >= 2. Monte Carlo (JCGM 102 5.3.2) needs n > N + 0.
    """
    names = tuple(samples)
    if len(names) < 2:
        raise InputError("simultaneous observations need at least two quantities")
    arrs = [_samples(f"samples of {n!r}", samples[n]) for n in names]
    n = arrs[0].size
    for name, a in zip(names, arrs, strict=True):
        if a.size != n:
            raise InputError(
                f"simultaneous observations must have equal length: {names[0]!r} has {n}, {name!r} has {a.size}"
            )
    data = np.vstack(arrs)
    mean = data.mean(axis=1)
    resid = data - mean[:, None]
    q = resid @ resid.T
    s = np.sqrt(np.diag(q) / (n - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = q / np.sqrt(np.outer(np.diag(q), np.diag(q)))
    corr = np.where(np.isfinite(corr), corr, 0.0)
    np.fill_diagonal(corr, 1.0)
    n_q = len(names)
    mc_dof = float(n - n_q)
    scale = q / (n * mc_dof) if mc_dof > 0 else np.full_like(q, np.nan)
    inputs = {
        name: Input(
            float(mean[i]),
            float(s[i] / math.sqrt(n)),
            float(n - 1),
            "type_a",
            {"scale": float(s[i] / math.sqrt(n)), "mc_dof": float(n - 1), "n": float(n)},
        )
        for i, name in enumerate(names)
    }
    return Simultaneous(names, inputs, corr, mean, scale, mc_dof)
