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
import keyword
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import ModelError
from .limits import (
    MAX_EXPRESSION_CHARS,
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_NODES,
    MAX_EXPRESSION_OPERATORS,
    MAX_EXPRESSION_PARENS,
    MAX_GRADIENT_STEPS,
    excerpt,
)

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
    return ModelError(f"expression {excerpt(expr)}{where}: {what}")


# number literals (their exponent sign is not an operator), operators, Python keywords
_NUMBER = re.compile(r"(?<![\w.])(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?")
_OPERATOR = re.compile(r"\*\*|//|[^\w\s.]")
_WORD = re.compile(r"\w+")


def _guard(expr: str) -> None:
    """Refuse, before Python's parser sees it, an expression too long or too nested to parse safely.

    CPython's parser and compiler recurse once per level of nesting; on deeply nested input (10 000
    unary minus signs, thousands of nested calls) they raise RecursionError or MemoryError. Every level
    of nesting needs an operator, a bracket or a keyword, so their count bounds the depth; the limits
    are in :mod:`uncertainty.limits` and docs/uncertainty.md ("Limits").
    """
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise ModelError(
            f"expression {excerpt(expr)} is longer than the limit of {MAX_EXPRESSION_CHARS} characters; "
            "split it, e.g. into several outputs or constants"
        )
    bare = _NUMBER.sub("0", expr)
    n_ops = len(_OPERATOR.findall(bare)) + sum(1 for w in _WORD.findall(bare) if keyword.iskeyword(w))
    if n_ops > MAX_EXPRESSION_OPERATORS:
        raise ModelError(
            f"expression {excerpt(expr)} has {n_ops} operators and brackets; the limit is "
            f"{MAX_EXPRESSION_OPERATORS} (docs/uncertainty.md, Limits): simplify or split the model"
        )
    depth = deepest = 0
    for ch in bare:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    if deepest > MAX_EXPRESSION_PARENS:
        raise ModelError(
            f"expression {excerpt(expr)} nests brackets {deepest} deep; the limit is {MAX_EXPRESSION_PARENS}"
        )


def _parse(expr: str) -> ast.expr:
    if not isinstance(expr, str):
        raise ModelError(f"a model expression must be a string, got {type(expr).__name__}")
    if not expr.strip():
        raise ModelError("a model expression must not be empty")
    _guard(expr)
    try:
        with _PARSE_LOCK:  # CPython 3.11 races when two threads build AST objects at once (gh-106905)
            tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        msg = "an integer literal is too long" if "digits" in str(exc.msg) else excerpt(exc.msg, 80)[1:-1]
        raise ModelError(f"expression {excerpt(expr)} is not valid syntax: {msg}") from None
    except (RecursionError, MemoryError, ValueError):  # belt and braces: _guard should prevent these
        raise ModelError(f"expression {excerpt(expr)} is too complex to parse; simplify it") from None
    _check(expr, tree.body)
    return tree.body


def _check(expr: str, root: ast.AST) -> None:
    """Raise ModelError unless ``root`` uses only whitelisted constructs and is within the size limits.

    Iterative (an explicit stack), so a deep but legal tree (a long sum) cannot exhaust Python's stack.
    """
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_EXPRESSION_DEPTH:
            raise _fail(
                expr,
                None,
                f"nests more than {MAX_EXPRESSION_DEPTH} deep (docs/uncertainty.md, Limits); "
                "group a long sum or product in parentheses, e.g. (a + b + c) + (d + e + f)",
            )
        if count > MAX_EXPRESSION_NODES:
            raise _fail(expr, None, f"has more than {MAX_EXPRESSION_NODES} terms (docs/uncertainty.md, Limits)")
        children = _check_node(expr, node)
        stack.extend((c, depth + 1) for c in reversed(children))


def _check_node(expr: str, node: ast.AST) -> list[ast.AST]:
    """Validate one node; returns its children to validate (left to right)."""
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            raise _fail(expr, node, f"operator {type(node.op).__name__} is not allowed (use + - * / **)")
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _UNARYOPS):
            raise _fail(expr, node, f"operator {type(node.op).__name__} is not allowed")
        return [node.operand]
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _fail(expr, node, f"only real numbers are allowed as literals, got {excerpt(node.value)}")
        try:
            finite = math.isfinite(float(node.value))
        except OverflowError:
            finite = False
        if not finite:
            raise _fail(expr, node, f"a number literal ({excerpt(node.value)}) is too large for a float")
        return []
    if isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise _fail(expr, node, f"name {excerpt(node.id)} is not allowed (dunder names are rejected)")
        if node.id in FUNCTIONS:
            raise _fail(expr, node, f"function {node.id!r} must be called, e.g. {node.id}(x)")
        return []
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _fail(expr, node, "only calls to the whitelisted functions are allowed " + _allowed())
        name = node.func.id
        if name not in FUNCTIONS:
            raise _fail(expr, node, f"call to {excerpt(name)} is not allowed; allowed functions: " + _allowed())
        if node.keywords:
            raise _fail(expr, node, f"{name}() takes no keyword arguments")
        arity = FUNCTIONS[name][1]
        if len(node.args) != arity:
            raise _fail(expr, node, f"{name}() takes {arity} argument(s), got {len(node.args)}")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise _fail(expr, arg, "starred arguments are not allowed")
        return list(node.args)
    if isinstance(node, ast.Attribute):
        raise _fail(expr, node, "attribute access is not allowed")
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


def _rewrite(root: ast.expr, namespace: dict[str, Any]) -> ast.expr:
    """Replace literals by float64 globals and function names by private globals (in place, iteratively)."""

    def replace(child: ast.expr) -> ast.expr:
        if isinstance(child, ast.Constant):
            key = f"__k{len(namespace)}"
            assert isinstance(child.value, int | float)  # validated by _check
            namespace[key] = np.float64(child.value)
            return ast.copy_location(ast.Name(id=key, ctx=ast.Load()), child)
        if isinstance(child, ast.Call):
            assert isinstance(child.func, ast.Name)
            key = f"__f_{child.func.id}"
            namespace[key] = FUNCTIONS[child.func.id][0]
            child.func = ast.copy_location(ast.Name(id=key, ctx=ast.Load()), child.func)
        return child

    root = replace(root)
    stack: list[ast.AST] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp):
            node.left, node.right = replace(node.left), replace(node.right)
            stack += [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            node.operand = replace(node.operand)
            stack.append(node.operand)
        elif isinstance(node, ast.Call):
            node.args = [replace(a) for a in node.args]
            stack += node.args
    return root


def _fix_locations(tree: ast.AST) -> None:
    """Give every node a source location (as ast.fix_missing_locations, which recurses per level)."""
    for node in ast.walk(tree):
        if "lineno" in node._attributes:
            for attr in ("lineno", "end_lineno"):
                if getattr(node, attr, None) is None:
                    setattr(node, attr, 1)
            for attr in ("col_offset", "end_col_offset"):
                if getattr(node, attr, None) is None:
                    setattr(node, attr, 0)


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
                raise ModelError(f"{excerpt(name)} is not a valid name (use letters, digits and _; no leading __)")
            if name in FUNCTIONS:
                raise ModelError(f"{excerpt(name)} is a function name and cannot be an input or constant")
        clash = set(inputs) & set(constants)
        if clash:
            raise ModelError(f"{excerpt(sorted(clash)[0])} is defined both as an input and as a constant")
        bodies = [_parse(e) for e in expressions]
        known = set(inputs) | set(constants) | set(BUILTIN_CONSTANTS)
        for label, expr, body in zip(labels, expressions, bodies, strict=True):
            for node in ast.walk(body):
                if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in known:
                    raise ModelError(
                        f"{label} {excerpt(expr)} uses {excerpt(node.id)}, which is neither an input nor a constant"
                    )
        namespace: dict[str, Any] = {"__builtins__": {}}
        for name, val in BUILTIN_CONSTANTS.items():
            if name not in inputs and name not in constants:
                namespace[name] = np.float64(val)
        for name, val in constants.items():
            try:
                namespace[name] = np.float64(val)
            except (TypeError, ValueError):
                raise ModelError(f"constant {excerpt(name)} must be a real number, got {excerpt(val)}") from None
        elts = [_rewrite(b, namespace) for b in bodies]
        args = ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=n) for n in inputs],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        )
        lam = ast.Lambda(args=args, body=ast.Tuple(elts=elts, ctx=ast.Load()))
        tree = ast.Expression(body=lam)
        _fix_locations(tree)
        try:
            code = compile(tree, "<model expression>", "eval")
        except (RecursionError, MemoryError):  # bounded by the limits in _check; kept as a last guard
            raise ModelError("the model expressions are too complex to compile; simplify them") from None
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
        if self.count > MAX_GRADIENT_STEPS:
            raise ModelError(
                f"the model is too large to differentiate exactly (more than {MAX_GRADIENT_STEPS} steps, "
                "docs/uncertainty.md, Limits): simplify it or split it into outputs with fewer inputs each"
            )
        self.lines.append(f"    {name} = {code}")
        return name

    def emit(self, root: ast.AST) -> tuple[str, dict[int, str]]:
        """Value and partial derivatives of ``root``; children are emitted before their parent, left to
        right, with an explicit stack (no recursion, so a deep tree cannot exhaust Python's stack)."""
        results: dict[int, tuple[str, dict[int, str]]] = {}
        stack: list[tuple[ast.AST, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            kids = _children(node)
            if ready or not kids:
                results[id(node)] = self._combine(node, [results.pop(id(k)) for k in kids])
            else:
                stack.append((node, True))
                stack.extend((k, False) for k in reversed(kids))
        return results[id(root)]

    def _combine(self, node: ast.AST, kids: list[tuple[str, dict[int, str]]]) -> tuple[str, dict[int, str]]:
        if isinstance(node, ast.Constant):
            return repr(float(node.value)), {}  # type: ignore[arg-type]
        if isinstance(node, ast.Name):
            if node.id in self.index:
                return f"x{self.index[node.id]}", {self.index[node.id]: "1.0"}
            return repr(float(self.literals[node.id])), {}
        if isinstance(node, ast.UnaryOp):
            v, d = kids[0]
            if isinstance(node.op, ast.UAdd):
                return v, d
            return self.tmp(f"-{v}"), {i: self.tmp(f"-{e}") for i, e in d.items()}
        if isinstance(node, ast.BinOp):
            (a, da), (b, db) = kids
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
            (y, dy), (x, dx) = kids
            v = self.tmp(f"_m.atan2({y}, {x})")
            r2 = self.tmp(f"{x} * {x} + {y} * {y}")
            out = {}
            for i in sorted(set(dy) | set(dx)):
                parts = [*([f"{x} * {dy[i]}"] if i in dy else []), *([f"- {y} * {dx[i]}"] if i in dx else [])]
                out[i] = self.tmp(f"({' '.join(parts)}) / {r2}")
            return v, out
        a, da = kids[0]
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


def _children(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


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
