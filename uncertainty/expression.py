"""Safe parsing of measurement-model expressions into numpy-vectorised functions.

An expression may contain numbers, names, the operators ``+ - * / **`` (and unary ``+``/``-``),
parentheses and calls to the whitelisted functions in :data:`FUNCTIONS`. Everything else (attribute
access, subscripts, comparisons, lambdas, calls to other names, keyword arguments, names starting
with ``__``) is rejected with a :class:`~uncertainty.errors.ModelError` before anything is compiled.

The compiled function works on real and on complex numpy arrays: every whitelisted function is
complex-step safe (``abs`` and ``arctan2`` have complex-step-aware implementations), so the engine can
differentiate expression models to machine precision.
"""

from __future__ import annotations

import ast
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import ModelError

_PARSE_LOCK = threading.Lock()

__all__ = ["BUILTIN_CONSTANTS", "FUNCTIONS", "CompiledExpression", "compile_expressions", "names_in"]

Array = npt.NDArray[Any]


def _abs(x: Array) -> Array:
    """|x| that keeps the complex-step derivative: x*sign(Re x) for complex input."""
    out: Array = x * np.sign(np.real(x)) if np.iscomplexobj(x) else np.abs(x)
    return out


def _arctan2(y: Array, x: Array) -> Array:
    """arctan2(y, x); for complex-step input the imaginary part carries the first derivative."""
    if np.iscomplexobj(y) or np.iscomplexobj(x):
        yr, yi = np.real(y), np.imag(y)
        xr, xi = np.real(x), np.imag(x)
        res: Array = np.arctan2(yr, xr) + 1j * (xr * yi - yr * xi) / (xr * xr + yr * yr)
        return res
    out: Array = np.arctan2(y, x)
    return out


#: Whitelisted functions: name -> (implementation, number of arguments).
FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "sqrt": (np.sqrt, 1),
    "exp": (np.exp, 1),
    "log": (np.log, 1),
    "log10": (np.log10, 1),
    "sin": (np.sin, 1),
    "cos": (np.cos, 1),
    "tan": (np.tan, 1),
    "arcsin": (np.arcsin, 1),
    "arccos": (np.arccos, 1),
    "arctan": (np.arctan, 1),
    "arctan2": (_arctan2, 2),
    "abs": (_abs, 1),
}

#: Names available in every expression unless an input or constant of the same name shadows them.
BUILTIN_CONSTANTS: dict[str, float] = {"pi": float(np.pi)}

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_UNARYOPS = (ast.UAdd, ast.USub)


def _fail(expr: str, node: ast.AST | None, what: str) -> ModelError:
    col = getattr(node, "col_offset", None)
    where = f" at column {col + 1}" if isinstance(col, int) else ""
    return ModelError(f"expression {expr!r}{where}: {what}")


def _parse(expr: str) -> ast.expr:
    if not isinstance(expr, str):
        raise ModelError(f"a model expression must be a string, got {type(expr).__name__}")
    if not expr.strip():
        raise ModelError("a model expression must not be empty")
    try:
        with _PARSE_LOCK:  # CPython 3.11 races when two threads build AST objects at once (gh-106905)
            tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ModelError(f"expression {expr!r} is not valid syntax: {exc.msg}") from None
    _check(expr, tree.body)
    return tree.body


def _check(expr: str, node: ast.AST) -> None:
    """Raise ModelError unless ``node`` uses only whitelisted constructs."""
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            raise _fail(expr, node, f"operator {type(node.op).__name__} is not allowed (use + - * / **)")
        _check(expr, node.left)
        _check(expr, node.right)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _UNARYOPS):
            raise _fail(expr, node, f"operator {type(node.op).__name__} is not allowed")
        _check(expr, node.operand)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _fail(expr, node, f"only real numbers are allowed as literals, got {node.value!r}")
    elif isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise _fail(expr, node, f"name {node.id!r} is not allowed (dunder names are rejected)")
        if node.id in FUNCTIONS:
            raise _fail(expr, node, f"function {node.id!r} must be called, e.g. {node.id}(x)")
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _fail(expr, node, "only calls to the whitelisted functions are allowed " + _allowed())
        name = node.func.id
        if name not in FUNCTIONS:
            raise _fail(expr, node, f"call to {name!r} is not allowed; allowed functions: " + _allowed())
        if node.keywords:
            raise _fail(expr, node, f"{name}() takes no keyword arguments")
        arity = FUNCTIONS[name][1]
        if len(node.args) != arity:
            raise _fail(expr, node, f"{name}() takes {arity} argument(s), got {len(node.args)}")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise _fail(expr, arg, "starred arguments are not allowed")
            _check(expr, arg)
    elif isinstance(node, ast.Attribute):
        raise _fail(expr, node, "attribute access is not allowed")
    else:
        raise _fail(expr, node, f"{type(node).__name__} is not allowed in a model expression")


def _allowed() -> str:
    return ", ".join(sorted(FUNCTIONS))


def names_in(expr: str) -> list[str]:
    """Variable names used by ``expr`` (validated), in order of first appearance, without duplicates."""
    nodes = [n for n in ast.walk(_parse(expr)) if isinstance(n, ast.Name) and not _is_call_target(n)]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    seen: dict[str, None] = {}
    for node in nodes:
        seen.setdefault(node.id, None)
    return list(seen)


def _is_call_target(node: ast.Name) -> bool:
    return node.id in FUNCTIONS


class _Rewriter(ast.NodeTransformer):
    """Replace literals by float64 globals and function names by private globals."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        key = f"__k{len(self.namespace)}"
        assert isinstance(node.value, int | float)  # validated by _check
        self.namespace[key] = np.float64(node.value)
        return ast.copy_location(ast.Name(id=key, ctx=ast.Load()), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        assert isinstance(node.func, ast.Name)
        key = f"__f_{node.func.id}"
        self.namespace[key] = FUNCTIONS[node.func.id][0]
        node.func = ast.copy_location(ast.Name(id=key, ctx=ast.Load()), node.func)
        node.args = [self.visit(a) for a in node.args]
        return node


class CompiledExpression:
    """Several validated expressions compiled into one function ``f(*inputs) -> tuple of arrays``.

    ``inputs`` fixes the argument order; ``constants`` are bound at compile time. Every name used by an
    expression must be an input, a constant or a builtin constant (``pi``), else ModelError.
    """

    def __init__(
        self,
        expressions: Sequence[str],
        inputs: Sequence[str],
        constants: Mapping[str, float] | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        constants = dict(constants or {})
        labels = list(labels) if labels is not None else [f"expression {i + 1}" for i in range(len(expressions))]
        for name in [*inputs, *constants]:
            if not name.isidentifier() or name.startswith("__"):
                raise ModelError(f"{name!r} is not a valid name (use letters, digits and _; no leading __)")
            if name in FUNCTIONS:
                raise ModelError(f"{name!r} is a function name and cannot be an input or constant")
        clash = set(inputs) & set(constants)
        if clash:
            raise ModelError(f"{sorted(clash)[0]!r} is defined both as an input and as a constant")
        bodies = [_parse(e) for e in expressions]
        known = set(inputs) | set(constants) | set(BUILTIN_CONSTANTS)
        for label, expr, body in zip(labels, expressions, bodies, strict=True):
            for node in ast.walk(body):
                if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in known:
                    raise ModelError(f"{label} {expr!r} uses {node.id!r}, which is neither an input nor a constant")
        namespace: dict[str, Any] = {"__builtins__": {}}
        for name, val in BUILTIN_CONSTANTS.items():
            if name not in inputs and name not in constants:
                namespace[name] = np.float64(val)
        for name, val in constants.items():
            try:
                namespace[name] = np.float64(val)
            except (TypeError, ValueError):
                raise ModelError(f"constant {name!r} must be a real number, got {val!r}") from None
        rewriter = _Rewriter(namespace)
        elts = [rewriter.visit(b) for b in bodies]
        args = ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=n) for n in inputs],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        )
        lam = ast.Lambda(args=args, body=ast.Tuple(elts=elts, ctx=ast.Load()))
        tree = ast.fix_missing_locations(ast.Expression(body=lam))
        code = compile(tree, "<model expression>", "eval")
        # Safe: the tree was built only from whitelisted nodes and has no access to builtins.
        self.function: Callable[..., tuple[Any, ...]] = eval(code, namespace)
        self.expressions = tuple(expressions)
        self.inputs = tuple(inputs)

    def __call__(self, *args: Any) -> tuple[Any, ...]:
        return self.function(*args)


def compile_expressions(
    expressions: Sequence[str], inputs: Sequence[str], constants: Mapping[str, float] | None = None
) -> CompiledExpression:
    """Validate and compile ``expressions`` over ``inputs`` (argument order) with bound ``constants``."""
    return CompiledExpression(expressions, inputs, constants)


# ----------------------------------------------------------------------------------------------------
# Scalar forward-mode differentiation: the same validated expressions compiled to plain-float Python
# code that returns the values and the exact gradient. Used for single-point GUM evaluations, where
# Python float arithmetic is much faster than numpy on tiny arrays.

_MATH: dict[str, str] = {
    "sqrt": "_m.sqrt",
    "exp": "_m.exp",
    "log": "_m.log",
    "log10": "_m.log10",
    "sin": "_m.sin",
    "cos": "_m.cos",
    "tan": "_m.tan",
    "arcsin": "_m.asin",
    "arccos": "_m.acos",
    "arctan": "_m.atan",
    "arctan2": "_m.atan2",
}


_LN10 = 2.302585092994046


def _real_pow(a: float, b: float) -> float:
    """a ** b on floats; a complex result (negative base, fractional exponent) is a domain error."""
    r: Any = a**b
    if type(r) is complex:
        raise ValueError("complex power")
    return float(r)


class _GradientWriter:
    """Emits SSA lines computing a value and its sparse partial derivatives for each AST node."""

    def __init__(self, index: Mapping[str, int], literals: Mapping[str, float]) -> None:
        self.index = index
        self.literals = literals
        self.lines: list[str] = []
        self.count = 0

    def tmp(self, code: str) -> str:
        name = f"t{self.count}"
        self.count += 1
        self.lines.append(f"    {name} = {code}")
        return name

    def emit(self, node: ast.AST) -> tuple[str, dict[int, str]]:
        if isinstance(node, ast.Constant):
            return repr(float(node.value)), {}  # type: ignore[arg-type]
        if isinstance(node, ast.Name):
            if node.id in self.index:
                return f"x{self.index[node.id]}", {self.index[node.id]: "1.0"}
            return repr(float(self.literals[node.id])), {}
        if isinstance(node, ast.UnaryOp):
            v, d = self.emit(node.operand)
            if isinstance(node.op, ast.UAdd):
                return v, d
            return self.tmp(f"-{v}"), {i: self.tmp(f"-{e}") for i, e in d.items()}
        if isinstance(node, ast.BinOp):
            a, da = self.emit(node.left)
            b, db = self.emit(node.right)
            keys = sorted(set(da) | set(db))
            if isinstance(node.op, ast.Add | ast.Sub):
                sign = "+" if isinstance(node.op, ast.Add) else "-"
                v = self.tmp(f"{a} {sign} {b}")
                out = {}
                for i in keys:
                    if i in da and i in db:
                        out[i] = self.tmp(f"{da[i]} {sign} {db[i]}")
                    elif i in da:
                        out[i] = da[i]
                    else:
                        out[i] = db[i] if sign == "+" else self.tmp(f"-{db[i]}")
                return v, out
            if isinstance(node.op, ast.Mult):
                v = self.tmp(f"{a} * {b}")
                return v, {i: self.tmp(" + ".join(self._mul(i, a, da, b, db))) for i in keys}
            if isinstance(node.op, ast.Div):
                v = self.tmp(f"{a} / {b}")
                out = {}
                for i in keys:
                    num = " - ".join([*([da[i]] if i in da else ["0.0"]), *([f"{v} * {db[i]}"] if i in db else [])])
                    out[i] = self.tmp(f"({num}) / {b}")
                return v, out
            # Pow
            v = self.tmp(f"_pow({a}, {b})")
            out = {}
            if not db:
                g = self.tmp(f"{b} * _pow({a}, {b} - 1.0)")
                for i in keys:
                    out[i] = self.tmp(f"{da[i]} * {g}")
            elif not da:
                g = self.tmp(f"{v} * _m.log({a})")
                for i in keys:
                    out[i] = self.tmp(f"{db[i]} * {g}")
            else:
                la = self.tmp(f"_m.log({a})")
                for i in keys:
                    parts = [*([f"{db[i]} * {la}"] if i in db else []), *([f"{b} * {da[i]} / {a}"] if i in da else [])]
                    out[i] = self.tmp(f"{v} * ({' + '.join(parts)})")
            return v, out
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        name = node.func.id
        if name == "arctan2":
            y, dy = self.emit(node.args[0])
            x, dx = self.emit(node.args[1])
            v = self.tmp(f"_m.atan2({y}, {x})")
            r2 = self.tmp(f"{x} * {x} + {y} * {y}")
            out = {}
            for i in sorted(set(dy) | set(dx)):
                parts = [*([f"{x} * {dy[i]}"] if i in dy else []), *([f"- {y} * {dx[i]}"] if i in dx else [])]
                out[i] = self.tmp(f"({' '.join(parts)}) / {r2}")
            return v, out
        a, da = self.emit(node.args[0])
        if name == "abs":
            v = self.tmp(f"abs({a})")
            s = self.tmp(f"(({a} > 0.0) - ({a} < 0.0))")
        else:
            v = self.tmp(f"{_MATH[name]}({a})")
            s = self.tmp(
                {
                    "sqrt": f"0.5 / {v}",
                    "exp": v,
                    "log": f"1.0 / {a}",
                    "log10": f"1.0 / ({a} * {_LN10!r})",
                    "sin": f"_m.cos({a})",
                    "cos": f"-_m.sin({a})",
                    "tan": f"1.0 / _m.cos({a}) ** 2",
                    "arcsin": f"1.0 / _m.sqrt(1.0 - {a} * {a})",
                    "arccos": f"-1.0 / _m.sqrt(1.0 - {a} * {a})",
                    "arctan": f"1.0 / (1.0 + {a} * {a})",
                }[name]
            )
        return v, {i: self.tmp(f"{e} * {s}") for i, e in da.items()}

    @staticmethod
    def _mul(i: int, a: str, da: Mapping[int, str], b: str, db: Mapping[int, str]) -> list[str]:
        return [*([f"{da[i]} * {b}"] if i in da else []), *([f"{a} * {db[i]}"] if i in db else [])]


def compile_point_gradient(
    expressions: Sequence[str], inputs: Sequence[str], constants: Mapping[str, float] | None = None
) -> Callable[..., tuple[list[float], list[list[float]]] | None]:
    """Compile validated expressions into ``f(*floats) -> (values, gradients)`` on Python floats.

    ``gradients[k][i]`` is d(output k)/d(input i), exact (symbolic forward mode). Returns None instead of
    raising where the model is undefined at the point (domain error, overflow, complex result), so the
    caller can fall back to the numpy path and its diagnostics.
    """
    index = {n: i for i, n in enumerate(inputs)}
    literals = {**BUILTIN_CONSTANTS, **{k: float(v) for k, v in (constants or {}).items()}}
    writer = _GradientWriter(index, literals)
    n = len(inputs)
    vals, grads = [], []
    for e in expressions:
        v, d = writer.emit(_parse(e))
        vals.append(v)
        grads.append("[" + ", ".join(d.get(i, "0.0") for i in range(n)) + "]")
    args = ", ".join(f"x{i}" for i in range(n))
    src = "\n".join(
        [
            f"def _point({args}):",
            "    try:",
            *["    " + line for line in writer.lines],
            f"        return [{', '.join(vals)}], [{', '.join(grads)}]",
            "    except (ArithmeticError, ValueError):",
            "        return None",
        ]
    )
    namespace: dict[str, Any] = {
        "__builtins__": {"abs": abs, "ArithmeticError": ArithmeticError, "ValueError": ValueError},
        "_m": math,
        "_pow": _real_pow,
    }
    # Safe: generated only from validated, whitelisted expression trees.
    exec(compile(src, "<model gradient>", "exec"), namespace)
    point: Callable[..., tuple[list[float], list[list[float]]] | None] = namespace["_point"]
    return point
