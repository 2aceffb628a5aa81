"""Measurement models: a Python callable on numpy arrays, or safely parsed expression strings.

A model maps N input quantities to one or more output quantities. Evaluation is always vectorised:
every argument is a numpy array (all broadcastable to one shape) and the result has shape
``(n_outputs, *shape)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import ModelError
from .expression import CompiledExpression, compile_point_gradient, names_in
from .limits import excerpt

__all__ = ["Model"]

Array = npt.NDArray[Any]


class Model:
    """A measurement model Y = f(X_1, ..., X_N) with named inputs and outputs.

    Args:
        function: called as ``function(*arrays)`` with one array per input, in ``inputs`` order. It
            returns an array (one output), a tuple/list of arrays (several outputs, in ``outputs``
            order) or a mapping keyed by output name. It must be vectorised (element-wise on arrays).
        inputs: input names, fixing the argument order.
        outputs: output names (default ``("y",)``).
        complex_step: whether ``function`` propagates complex numbers analytically, so sensitivities
            can be taken by complex step (machine precision). ``None`` (default for callables) means
            "try it and verify against finite differences"; expression models are always complex-safe.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        inputs: Sequence[str],
        outputs: Sequence[str] = ("y",),
        *,
        complex_step: bool | None = None,
    ) -> None:
        if not callable(function):
            raise ModelError(f"the model function must be callable, got {type(function).__name__}")
        inputs = tuple(inputs)
        outputs = tuple(outputs)
        if not inputs:
            raise ModelError("a model needs at least one input")
        if not outputs:
            raise ModelError("a model needs at least one output")
        for kind, names in (("input", inputs), ("output", outputs)):
            if len(set(names)) != len(names):
                raise ModelError(f"duplicate {kind} name in {list(names)}")
            for n in names:
                if not isinstance(n, str) or not n:
                    raise ModelError(f"{kind} names must be non-empty strings, got {n!r}")
        self.function = function
        self.inputs: tuple[str, ...] = inputs
        self.outputs: tuple[str, ...] = outputs
        self.complex_step = complex_step
        self.expressions: dict[str, str] | None = None
        #: exact value-and-gradient function on Python floats (expression models only), see
        #: :func:`uncertainty.expression.compile_point_gradient`
        self.point_gradient: Callable[..., tuple[list[float], list[list[float]]] | None] | None = None

    @classmethod
    def from_expression(
        cls,
        expression: str | Mapping[str, str],
        *,
        inputs: Sequence[str] | None = None,
        constants: Mapping[str, float] | None = None,
        measurand: str = "y",
    ) -> Model:
        """Build a model from one expression (output named ``measurand``) or a mapping output -> expression.

        ``inputs`` fixes the argument order; by default the names used in the expressions that are not
        constants, in order of first appearance. A name that is used but defined nowhere is a ModelError.
        """
        if isinstance(expression, str):
            exprs = {measurand: expression}
        elif isinstance(expression, Mapping):
            if not expression:
                raise ModelError("the model mapping must define at least one output")
            exprs = dict(expression)
        else:
            raise ModelError(
                f"a model must be an expression string or a mapping of them, got {type(expression).__name__}"
            )
        constants = dict(constants or {})
        if inputs is None:
            seen: dict[str, None] = {}
            for e in exprs.values():
                for n in names_in(e):
                    if n not in constants and n != "pi":
                        seen.setdefault(n, None)
            inputs = list(seen)
        compiled = CompiledExpression(
            list(exprs.values()),
            list(inputs),
            constants,
            labels=[f"model for {excerpt(name)}:" for name in exprs],
        )
        model = cls(compiled.function, list(inputs), list(exprs), complex_step=True)
        model.expressions = exprs
        model.point_gradient = compile_point_gradient(list(exprs.values()), list(inputs), constants)
        return model

    @property
    def n_inputs(self) -> int:
        """Number of input quantities N."""
        return len(self.inputs)

    @property
    def n_outputs(self) -> int:
        """Number of output quantities m."""
        return len(self.outputs)

    def evaluate(self, *args: Any) -> Array:
        """Evaluate on arrays (one per input, broadcastable); returns shape ``(n_outputs, *shape)``.

        Raises ModelError if the function fails or returns the wrong number of outputs.
        """
        if len(args) != self.n_inputs:
            raise ModelError(f"model takes {self.n_inputs} inputs {list(self.inputs)}, got {len(args)}")
        shape = np.shape(args[0])
        for a in args:
            if np.shape(a) != shape:
                shape = np.broadcast_shapes(*(np.shape(a) for a in args))
                break
        try:
            with np.errstate(all="ignore"):
                out = self.function(*args)
        except ModelError:
            raise
        except Exception as exc:  # a user callable may raise anything; report it as a model error
            raise ModelError(f"the model function failed: {type(exc).__name__}: {exc}") from exc
        if isinstance(out, Mapping):
            missing = [n for n in self.outputs if n not in out]
            if missing:
                raise ModelError(f"the model function did not return output(s) {missing}")
            parts = [out[n] for n in self.outputs]
        elif isinstance(out, tuple | list):
            parts = list(out)
        else:
            parts = [out]
        if len(parts) != self.n_outputs:
            raise ModelError(f"the model returned {len(parts)} output(s), expected {self.n_outputs}")
        if len(parts) == 1 and isinstance(parts[0], np.ndarray) and parts[0].shape == shape:
            single: Array = parts[0][None]
            return single
        try:
            return np.stack([np.broadcast_to(np.asarray(p), shape) for p in parts])
        except ValueError as exc:
            raise ModelError(f"the model output does not have the shape of its inputs {shape}: {exc}") from None

    def __call__(self, *args: Any) -> Array:
        return self.evaluate(*args)

    def __repr__(self) -> str:
        if self.expressions is not None:
            return f"Model({self.expressions!r}, inputs={list(self.inputs)})"
        return f"Model({getattr(self.function, '__name__', 'function')}, inputs={list(self.inputs)})"
