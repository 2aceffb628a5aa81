"""Least-squares calibration curves with uncertainties (GUM H.3; ISO/TS 28037:2010).

* :func:`fit_line_ols` – ordinary least squares y = a + b x, u from the residual standard deviation
  (GUM H.3; nu = n - 2).
* :func:`fit_line_wls` – weighted least squares with known standard uncertainties u(y_i)
  (ISO/TS 28037:2010 clause 6; nu = inf, with the chi-squared validation of 6.3).
* :func:`fit_polynomial` – polynomial calibration curve of any degree with full covariance.

Forward evaluation (response from a stimulus) and inverse evaluation (stimulus from a new response,
ISO/TS 28037 6.6/6.7) propagate the covariance of the fitted parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from .errors import InputError

__all__ = ["LineFit", "PolynomialFit", "fit_line_ols", "fit_line_wls", "fit_polynomial"]

Array = npt.NDArray[np.float64]


def _vectors(x: Any, y: Any, u_y: Any = None, min_points: int = 3) -> tuple[Array, Array, Array | None]:
    try:
        xa = np.asarray(x, dtype=float)
        ya = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise InputError("x and y must be sequences of real numbers") from None
    if xa.ndim != 1 or ya.ndim != 1 or xa.size != ya.size:
        raise InputError(f"x and y must be 1-D and of equal length, got shapes {xa.shape} and {ya.shape}")
    if xa.size < min_points:
        raise InputError(f"at least {min_points} points are needed, got {xa.size}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise InputError("x and y must be finite")
    ua = None
    if u_y is not None:
        ua = np.broadcast_to(np.asarray(u_y, dtype=float), xa.shape).copy()
        if not np.all(np.isfinite(ua)) or np.any(ua <= 0.0):
            raise InputError("u(y) must be finite and > 0 for every point")
    if np.ptp(xa) == 0.0:
        raise InputError("all x values are equal: the slope cannot be determined")
    return xa, ya, ua


@dataclass(frozen=True)
class LineFit:
    """Straight line y = a + b x with the covariance of (a, b).

    ``dof`` is n - 2 for OLS (u from residuals) and inf for WLS with known u(y). ``chi2`` is the sum of
    squared (weighted) residuals; for WLS, ``chi2_consistent`` says whether chi2 <= chi^2_0.95(n - 2)
    (ISO/TS 28037 6.3: otherwise the model or the u(y) are doubtful).
    """

    a: float
    b: float
    u_a: float
    u_b: float
    cov_ab: float
    dof: float
    chi2: float
    n: int
    method: str
    chi2_consistent: bool | None = None

    @property
    def r_ab(self) -> float:
        """Correlation coefficient of a and b."""
        return self.cov_ab / (self.u_a * self.u_b)

    @property
    def covariance(self) -> Array:
        """2 x 2 covariance matrix of (a, b)."""
        return np.array([[self.u_a**2, self.cov_ab], [self.cov_ab, self.u_b**2]])

    def predict(self, x0: float | Array, u_x0: float | Array = 0.0) -> tuple[Any, Any]:
        """Forward evaluation y0 = a + b x0 and u(y0) from cov(a, b) and an optional u(x0)."""
        x = np.asarray(x0, dtype=float)
        y = self.a + self.b * x
        var = self.u_a**2 + x * x * self.u_b**2 + 2.0 * x * self.cov_ab + (self.b * np.asarray(u_x0)) ** 2
        return _out(y), _out(np.sqrt(var))

    def inverse(self, y0: float | Array, u_y0: float | Array = 0.0) -> tuple[Any, Any]:
        """Inverse evaluation x0 = (y0 - a)/b from a new response y0 with u(y0) (ISO/TS 28037 6.6).

        u^2(x0) = [u^2(y0) + u^2(a) + x0^2 u^2(b) + 2 x0 cov(a, b)] / b^2.
        """
        if self.b == 0.0:
            raise InputError("the slope is zero: the line cannot be inverted")
        y = np.asarray(y0, dtype=float)
        x = (y - self.a) / self.b
        var = (np.asarray(u_y0) ** 2 + self.u_a**2 + x * x * self.u_b**2 + 2.0 * x * self.cov_ab) / self.b**2
        return _out(x), _out(np.sqrt(var))


def _out(v: Any) -> Any:
    arr = np.asarray(v, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def fit_line_ols(x: Sequence[float] | Array, y: Sequence[float] | Array) -> LineFit:
    """Ordinary least-squares line; u(a), u(b), cov from s^2 = RSS/(n - 2) (GUM H.3.2)."""
    xa, ya, _ = _vectors(x, y)
    n = xa.size
    xm = xa.mean()
    dx = xa - xm
    sxx = float(dx @ dx)
    b = float(dx @ (ya - ya.mean()) / sxx)
    a = float(ya.mean() - b * xm)
    res = ya - a - b * xa
    rss = float(res @ res)
    s2 = rss / (n - 2)
    var_b = s2 / sxx
    var_a = s2 * (1.0 / n + xm * xm / sxx)
    cov = float(-xm * s2 / sxx)
    return LineFit(a, b, math.sqrt(var_a), math.sqrt(var_b), cov, float(n - 2), rss, n, "ols")


def fit_line_wls(
    x: Sequence[float] | Array, y: Sequence[float] | Array, u_y: float | Sequence[float] | Array
) -> LineFit:
    """Weighted least-squares line with known u(y_i) > 0 (ISO/TS 28037:2010 clause 6); nu = inf."""
    xa, ya, ua = _vectors(x, y, u_y)
    assert ua is not None
    w = 1.0 / ua
    ws = w * w
    g0 = float(np.sum(xa * ws) / np.sum(ws))
    h0 = float(np.sum(ya * ws) / np.sum(ws))
    g = w * (xa - g0)
    h = w * (ya - h0)
    gg = float(g @ g)
    b = float(g @ h / gg)
    a = h0 - b * g0
    r = w * (ya - a - b * xa)
    chi2 = float(r @ r)
    var_a = 1.0 / float(np.sum(ws)) + g0 * g0 / gg
    var_b = 1.0 / gg
    cov = -g0 / gg
    n = xa.size
    consistent = bool(chi2 <= stats.chi2.ppf(0.95, n - 2))
    return LineFit(a, b, math.sqrt(var_a), math.sqrt(var_b), cov, math.inf, chi2, n, "wls", consistent)


@dataclass(frozen=True)
class PolynomialFit:
    """Polynomial y = sum_j c_j (x - x_ref)^j (c in increasing powers) with covariance of c.

    ``dof`` is n - (degree + 1) when u is estimated from residuals, inf with known u(y).
    """

    coefficients: Array
    covariance: Array
    x_ref: float
    dof: float
    chi2: float

    @property
    def degree(self) -> int:
        """Degree of the polynomial."""
        return int(self.coefficients.size - 1)

    @property
    def u(self) -> Array:
        """Standard uncertainties of the coefficients."""
        out: Array = np.sqrt(np.diag(self.covariance))
        return out

    def predict(self, x0: float | Array) -> tuple[Any, Any]:
        """Value of the curve at x0 and its standard uncertainty from the coefficient covariance."""
        x = np.asarray(x0, dtype=float)
        basis = np.stack([(x - self.x_ref) ** j for j in range(self.coefficients.size)], axis=-1)
        y = basis @ self.coefficients
        var = np.einsum("...i,ij,...j->...", basis, self.covariance, basis)
        return _out(y), _out(np.sqrt(np.clip(var, 0.0, None)))


def fit_polynomial(
    x: Sequence[float] | Array,
    y: Sequence[float] | Array,
    degree: int,
    *,
    u_y: float | Sequence[float] | Array | None = None,
    x_ref: float = 0.0,
) -> PolynomialFit:
    """Least-squares polynomial of ``degree`` in (x - x_ref); u from residuals or known ``u_y`` (GUM H.3).

    Solved by QR of the (weighted) design matrix; the covariance is s^2 (A^T A)^-1 (OLS) or
    (A^T W A)^-1 (known u(y)).
    """
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 0:
        raise InputError(f"degree must be an integer >= 0, got {degree!r}")
    xa, ya, ua = _vectors(x, y, u_y, min_points=degree + 2 if u_y is None else degree + 1)
    basis = np.stack([(xa - x_ref) ** j for j in range(degree + 1)], axis=1)
    w = np.ones_like(xa) if ua is None else 1.0 / ua
    q, r = np.linalg.qr(basis * w[:, None])
    if np.min(np.abs(np.diag(r))) < 1e-12 * np.max(np.abs(np.diag(r))):
        raise InputError("the design matrix is rank-deficient: too few distinct x values for this degree")
    coef = np.linalg.solve(r, q.T @ (ya * w))
    res = (ya - basis @ coef) * w
    chi2 = float(res @ res)
    rinv = np.linalg.inv(r)
    cov = rinv @ rinv.T
    if ua is None:
        dof = float(xa.size - degree - 1)
        cov = cov * chi2 / dof
    else:
        dof = math.inf
    return PolynomialFit(coef, cov, float(x_ref), dof, chi2)
