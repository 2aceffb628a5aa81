"""Limits that keep the work of one evaluation bounded, and short excerpts of bad input for messages.

Every limit is documented in ``docs/uncertainty.md`` ("Limits") and checked *before* the work or the
allocation it bounds, so that a hostile or mistaken model file gets a one-line error instead of a
traceback, a hang or the kernel's out-of-memory killer.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "MAX_EXPRESSION_DEPTH",
    "MAX_EXPRESSION_NODES",
    "MAX_EXPRESSION_OPERATORS",
    "MAX_EXPRESSION_PARENS",
    "MAX_GRADIENT_STEPS",
    "MAX_INPUTS",
    "MAX_JSON_DEPTH",
    "MAX_MODEL_FILE_BYTES",
    "MAX_OUTPUTS",
    "MAX_SAMPLES",
    "MCM_MEMORY_BUDGET",
    "MIN_DOF",
    "excerpt",
    "format_bytes",
]

#: Largest model file the CLI reads, bytes (checked before reading it all).
MAX_MODEL_FILE_BYTES = 1024 * 1024
#: Deepest nesting of JSON arrays/objects in a model file (the format itself needs 4).
MAX_JSON_DEPTH = 32
#: Most input quantities of one model (the GUM linearity check evaluates the model at 2N points with N
#: complex-step columns each, work ~ N^2 x model size: 5 to 12 s at 500 inputs).
MAX_INPUTS = 500
#: Most output quantities of one model.
MAX_OUTPUTS = 100
#: Most observations in one ``samples`` list.
MAX_SAMPLES = 100_000
#: Longest expression, characters.
MAX_EXPRESSION_CHARS = 20_000
#: Most operator and punctuation characters (and Python keywords) in one expression, counted before
#: parsing; every level of nesting needs one, so this bounds the parser's work and the tree's depth.
MAX_EXPRESSION_OPERATORS = 2_000
#: Deepest nesting of parentheses/brackets in one expression, counted before parsing.
MAX_EXPRESSION_PARENS = 50
#: Deepest syntax tree of one expression (a sum of n terms is n - 1 deep), after parsing. CPython's
#: compiler recurses once per level and stops at the interpreter's recursion limit (1000 less the
#: frames already in use), so this keeps well below it.
MAX_EXPRESSION_DEPTH = 600
#: Most syntax-tree nodes of one expression.
MAX_EXPRESSION_NODES = 10_000
#: Most steps of the generated exact-derivative code of all outputs together (it grows as the number
#: of tree nodes times the number of inputs they depend on, e.g. a product of 400 distinct inputs).
MAX_GRADIENT_STEPS = 200_000
#: Memory the Monte Carlo method may plan to use, bytes (estimated before anything is allocated).
MCM_MEMORY_BUDGET = 2 * 1024**3
#: Fewest degrees of freedom a model file may declare: a type A evaluation of n = 2 observations has
#: n - 1 = 1 (GUM 4.2.6); below 1 the t factor t_p(nu) grows without bound as nu -> 0 (GUM G.3).
MIN_DOF = 1.0

_EXCERPT = 40


def excerpt(value: Any, limit: int = _EXCERPT) -> str:
    """A short, single-line representation of ``value`` for an error message (at most ~``limit`` chars).

    Never builds the full repr of a huge or deeply nested value: containers show their type and size,
    integers too long to print show their number of digits.
    """
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 3 * limit:
            return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
        text = repr(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        if len(value) > limit:
            return f"{value[:limit]!r}... ({len(value)} characters)"
        return repr(value)
    elif isinstance(value, list | tuple | dict):
        return f"a {'list' if isinstance(value, list | tuple) else 'object'} of {len(value)} item(s)"
    else:
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def format_bytes(n: float) -> str:
    """``n`` bytes in MiB or GiB, e.g. ``24.1 GiB``."""
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} GiB"
    return f"{n / 1024**2:.0f} MiB"
