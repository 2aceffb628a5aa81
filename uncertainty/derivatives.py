"""Sensitivity coefficients: complex-step differentiation with a Richardson central-difference fallback.

Complex step (Squire & Trapp 1998; Martins et al. 2003): df/dx = Im f(x + i h) / h with h ~ 1e-20 of
the variable's scale has no subtractive cancellation, so the derivative is exact to machine precision
for any model built from analytic operations. Expression models are always complex-safe. A user
callable is tried with complex input and the result cross-checked against a central difference; if
the callable rejects complex numbers or disagrees (e.g. it uses ``abs`` or ``np.real``), the engine
falls back to central differences with two levels of Richardson extrapolation (error O(h^6)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import ModelError
from .model import Model

__all__ = ["complex_step_point", "jacobian"]

Array = npt.NDArray[Any]

_CS_STEP = 1e-20
_CHECK_TOL = 1e-4


def _scale(x: Array, u: Array) -> Array:
    """A positive per-variable scale: max(|x|, u), or 1 where both vanish."""
    s = np.maximum(np.abs(x), u)
    s[s == 0.0] = 1.0
    return s


def _complex_step(model: Model, x: Array, h: Array) -> tuple[Array, Array, Array]:
    """Value and Jacobian by complex step; x, h of shape (N, Q).

    Direction 0 carries no imaginary perturbation: its real part is f(x) and its imaginary part must be
    exactly 0 wherever the real model is defined (log, sqrt, arcsin, ** of out-of-domain arguments give
    a non-zero imaginary part there). Returns value (m, Q), Jacobian (m, N, Q) and a (m, Q) mask of
    points where the real model is defined.
    """
    n, nq = x.shape
    z = np.empty((n, n + 1, nq), dtype=complex)  # input i, direction j (0 = none), point q
    z[...] = x[:, None, :]
    idx = np.arange(n)
    z.imag[idx, idx + 1, :] = h
    out = model.evaluate(*z)
    if not np.iscomplexobj(out):
        raise TypeError("model dropped the imaginary part")
    base = out[:, 0, :]
    defined = (base.imag == 0.0) & np.isfinite(base)
    jac: Array = out.imag[:, 1:, :] / h
    return base.real, jac, defined


_INDEX: dict[int, tuple[Array, Array, Array]] = {}


def complex_step_point(model: Model, x: Array, u: Array) -> tuple[Array, Array, Array]:
    """Complex-step value (m,), Jacobian (m, N) and defined-mask (m,) at one point x (N,), u (N,).

    The lean single-point path used by :func:`uncertainty.gum.gum` for complex-safe models.
    """
    n = x.size
    h = np.maximum(np.abs(x), u)
    np.maximum(h, 1e-280, out=h)  # a vanishing scale still gives a normal (non-subnormal) step
    h *= _CS_STEP
    cached = _INDEX.get(n)
    if cached is None:
        cached = _INDEX.setdefault(n, (np.arange(n), np.arange(1, n + 1), np.zeros((n, n + 1), dtype=complex)))
    rows, cols, zeros = cached
    z = x[:, None] + zeros  # complex (input i, direction j); direction 0 carries no perturbation
    z.imag[rows, cols] = h
    arr: Array | None = None
    if model.expressions is not None:
        with np.errstate(all="ignore"):
            res = model.function(*z)
        if len(res) == 1 and getattr(res[0], "shape", None) == (n + 1,):
            arr = res[0][None]
    if arr is None:
        arr = model.evaluate(*z)
    if arr.dtype.kind != "c":
        raise ModelError("the model dropped the imaginary part of complex input; set complex_step=False")
    base = arr[:, 0]
    defined = (base.imag == 0.0) & np.isfinite(base)
    jac: Array = arr.imag[:, 1:] / h
    return base.real, jac, defined


def _central(model: Model, x: Array, h: Array, levels: int) -> Array:
    """Jacobian by central differences with Richardson extrapolation over ``levels`` halvings."""
    n = x.shape[0]
    eye = np.eye(n)
    hs = h[None, :, :] / (2.0 ** np.arange(levels))[:, None, None]  # (L, N, Q)
    shift = hs[:, None, :, :] * eye[None, :, :, None]  # (L, input i, direction j, Q)
    plus = x[None, :, None, :] + shift
    minus = x[None, :, None, :] - shift
    pts = np.stack([plus, minus], axis=0)  # (2, L, N, N, Q)
    args = np.moveaxis(pts, 2, 0)  # (input i, 2, L, direction j, Q)
    out = model.evaluate(*args)  # (m, 2, L, N, Q)
    d = (out[:, 0] - out[:, 1]) / (2.0 * hs[None])  # (m, L, N, Q)
    table = [d[:, i] for i in range(levels)]
    factor = 4.0
    for _ in range(1, levels):
        table = [(factor * table[i + 1] - table[i]) / (factor - 1.0) for i in range(len(table) - 1)]
        factor *= 4.0
    res: Array = table[-1]
    return res


def jacobian(model: Model, x: Array, u: Array) -> tuple[Array, Array, Array, str]:
    """Values and sensitivity coefficients df_k/dx_i at the points ``x`` (shape (N, Q)).

    ``u`` (shape (N, Q)) are the standard uncertainties, used to scale finite-difference steps.
    Returns value (m, Q), Jacobian (m, N, Q), a boolean (m, Q) mask of points where the model is
    defined (finite and real) and the method used (``"complex-step"`` or ``"richardson"``).
    """
    scale = _scale(x, u)
    mode = model.complex_step
    if mode is not False:
        try:
            value, jac, defined = _complex_step(model, x, _CS_STEP * scale)
            ok = True
        except (ModelError, TypeError):
            if mode is True:
                raise
            ok = False
        if ok and mode is None:
            real = model.evaluate(*x)
            ok = bool(np.allclose(real, value, rtol=1e-12, atol=0.0, equal_nan=True)) and _agrees(
                model, x, u, scale, jac
            )
        if ok:
            return value, jac, defined, "complex-step"
    value = model.evaluate(*x)
    h = np.where(u > 0.0, 0.1 * u, 1e-4 * scale)
    jac = _central(model, x, h, 3)
    defined = np.isfinite(value) & np.all(np.isfinite(jac), axis=1)
    return value, jac, defined, "richardson"


def _agrees(model: Model, x: Array, u: Array, scale: Array, jac: Array) -> bool:
    """Cross-check a complex-step Jacobian of a user callable against one central difference."""
    h = np.where(u > 0.0, 1e-3 * u, 1e-6 * scale)
    cd = _central(model, x, h, 1)
    weight = np.where(u > 0.0, u, scale)[None]
    diff = np.abs(jac - cd) * weight
    ref = np.max(np.abs(jac) * weight, axis=1, keepdims=True)
    return bool(np.all(diff <= _CHECK_TOL * ref + 1e-300))
