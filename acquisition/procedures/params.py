"""Declared run parameters: what a procedure takes, and the checks that turn a raw value into a clean one.

A procedure declares its parameters as ``parameter_specs``, a tuple of :class:`ParamSpec` (name, kind, unit,
bounds, default, Vietnamese and English description). The run engine checks a run's parameters with
:func:`check_parameters` before it writes anything: an unknown name is refused with the closest known one (a typo
is never silently ignored), and every known one is turned into its clean typed value. The procedure reads each
parameter with :func:`read` (or ``Procedure.parameter``), which checks it again and applies the declared default;
reading an undeclared name is a programming error (LookupError).

Values arrive as JSON (``caltrace calibrate --param``) or as text from a web form, so numbers may come as numeric
text (``"0.5"``); a decimal comma (``"0,5"``, as Vietnamese writes it) is refused with a hint to use a dot. The
specs are not part of :class:`~acquisition.procedures.base.ProcedureDefinition` (whose digest the registry keeps):
see docs/decisions/0303-declared-run-parameters.md.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

Kind = Literal["number", "whole", "flag", "numbers", "text", "choice", "choices", "mapping", "table"]
#: every kind, in the order a form would group them
KINDS: tuple[str, ...] = get_args(Kind)

#: texts a flag accepts (compared case-insensitively, after Unicode NFC normalisation)
TRUE_WORDS = frozenset({"true", "yes", "1", "có"})
FALSE_WORDS = frozenset({"false", "no", "0", "không"})

#: Limits every declared parameter obeys on top of its own bounds, so that no value makes a run's work or memory
#: grow without bound (issue 14; docs/procedures/README.md "Limits"): whole numbers (counts of repetitions, cycles,
#: points) at most MAX_WHOLE; any number at most MAX_MAGNITUDE in size; lists, tables and objects at most MAX_ITEMS
#: entries; text at most MAX_TEXT characters.
MAX_WHOLE = 10_000
MAX_MAGNITUDE = 1e12
MAX_ITEMS = 1_000
MAX_TEXT = 1_000
#: how much of a refused value a message quotes (characters of its repr)
_QUOTED = 80

_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")


def _fold(text: str) -> str:
    """``text`` stripped, NFC-normalised and case-folded (``" Có "`` and a decomposed ``có`` both give ``có``)."""
    return unicodedata.normalize("NFC", text).strip().casefold()


def _unit(unit: str) -> str:
    return f" ({unit})" if unit else ""


def bounds_text(minimum: float | None, maximum: float | None, zero: bool) -> str:
    """``"> 0"``, ``">= 2"``, ``">= 1 and <= 20"``, ``"not 0"`` or ``""``: the bounds in words for messages."""
    parts = []
    if minimum is not None:
        parts.append(f"> {minimum:g}" if minimum == 0 and not zero else f">= {minimum:g}")
    if maximum is not None:
        parts.append(f"< {maximum:g}" if maximum == 0 and not zero else f"<= {maximum:g}")
    zero_inside = (minimum is None or minimum < 0) and (maximum is None or maximum > 0)
    if not zero and zero_inside:
        parts.append("not 0")
    return " and ".join(parts)


def _refuse(name: str, expected: str, value: Any, hint: str = "") -> ValueError:
    given = "null" if value is None else _quoted(value)
    return ValueError(f"parameter {name} must be {expected}, got {given}" + (f"; {hint}" if hint else ""))


def _quoted(value: Any) -> str:
    """``repr(value)`` cut to a short excerpt (a message never echoes a huge input)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int too long to print, a structure too deep
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= _QUOTED else text[: _QUOTED - 1] + "…"


def _too_many(name: str, value: Sequence[Any] | Mapping[str, Any]) -> None:
    if len(value) > MAX_ITEMS:
        raise ValueError(f"parameter {name} has {len(value)} entries; at most {MAX_ITEMS} are accepted")


def _as_float(name: str, value: Any, expected: str) -> float:
    """An int, float or numeric text (decimal point) as a finite float; ValueError says what was expected."""
    if isinstance(value, bool):
        raise _refuse(name, expected, value, "true/false is not a number")
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            text = value.strip()
            if _DECIMAL_COMMA.fullmatch(text):
                raise _refuse(name, expected, value, f"write the decimal point as a dot: {text.replace(',', '.')}")
            if len(text) > 100 or not _NUMERIC_TEXT.fullmatch(text):
                raise _refuse(name, expected, value)
            number = float(text)
        else:
            raise _refuse(name, expected, value)
    except OverflowError:  # an int of thousands of digits
        raise _refuse(name, expected, value, f"numbers are limited to ±{MAX_MAGNITUDE:g}") from None
    if not math.isfinite(number):
        raise _refuse(name, expected, value)
    if abs(number) > MAX_MAGNITUDE:
        raise _refuse(name, expected, value, f"numbers are limited to ±{MAX_MAGNITUDE:g}")
    return number


def _in_bounds(number: float, minimum: float | None, maximum: float | None, zero: bool) -> bool:
    return (minimum is None or number >= minimum) and (maximum is None or number <= maximum) and (zero or number != 0)


def number(
    name: str,
    value: Any,
    *,
    unit: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    zero: bool = True,
) -> float:
    """``value`` (int, float or numeric text with a decimal point; not bool, finite) as a float within the bounds
    (``zero=False``: 0 is refused; with ``minimum=0`` that means > 0). ValueError names the parameter."""
    bounds = bounds_text(minimum, maximum, zero)
    expected = f"a number{' ' + bounds if bounds else ''}{_unit(unit)}"
    result = _as_float(name, value, expected)
    if not _in_bounds(result, minimum, maximum, zero):
        raise _refuse(name, expected, value)
    return result


def whole(
    name: str,
    value: Any,
    *,
    unit: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    zero: bool = True,
) -> int:
    """``value`` (an int, an integral float or integral numeric text; not bool) as an int within the bounds."""
    ceiling = MAX_WHOLE if maximum is None else min(maximum, MAX_WHOLE)
    bounds = bounds_text(minimum, ceiling, zero)
    expected = f"a whole number{' ' + bounds if bounds else ''}{_unit(unit)}"
    result = _as_float(name, value, expected)
    if not result.is_integer() or not _in_bounds(result, minimum, ceiling, zero):
        raise _refuse(name, expected, value)
    return int(result)


def flag(name: str, value: Any) -> bool:
    """``value`` as a bool: a bool, the ints 0 and 1, or the texts true/false, yes/no, 1/0, có/không (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = _fold(value)
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise _refuse(name, "true or false (also yes/no, có/không, 1/0)", value)


def numbers(
    name: str,
    value: Any,
    *,
    unit: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    zero: bool = True,
) -> list[float]:
    """``value`` as a non-empty list of numbers, each checked as :func:`number` (``loads_g[2]`` names a bad one)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        bounds = bounds_text(minimum, maximum, zero)
        expected = f"a non-empty list of numbers{' ' + bounds if bounds else ''}{_unit(unit)}"
        raise _refuse(name, expected, value, "write it as a list, e.g. [50, 100, 200]")
    _too_many(name, value)
    return [
        number(f"{name}[{i}]", x, unit=unit, minimum=minimum, maximum=maximum, zero=zero) for i, x in enumerate(value)
    ]


def text(name: str, value: Any) -> str:
    """``value`` as non-empty text (stripped)."""
    if not isinstance(value, str) or not value.strip():
        raise _refuse(name, "a non-empty text", value)
    if len(value) > MAX_TEXT:
        raise ValueError(f"parameter {name} is {len(value)} characters long; at most {MAX_TEXT} are accepted")
    return value.strip()


def choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` as one of ``choices`` (matched ignoring case and surrounding spaces; the declared spelling is
    returned); the message lists them and suggests the closest."""
    allowed = {_fold(option): option for option in choices}
    hint = ""
    if isinstance(value, str):
        folded = _fold(value)
        if folded in allowed:
            return allowed[folded]
        close = difflib.get_close_matches(folded, list(allowed), n=1, cutoff=0.6)
        hint = f"did you mean {allowed[close[0]]!r}?" if close else ""
    raise _refuse(name, f"one of {', '.join(allowed.values())}", value, hint)


@dataclass(frozen=True)
class ParamSpec:
    """One run parameter a procedure takes.

    ``kind``: ``number`` (float), ``whole`` (int), ``flag`` (bool), ``numbers`` (non-empty list of numbers; with
    ``single`` a lone number is kept as a number: one value for all), ``text``, ``choice`` (one of ``choices``),
    ``choices`` (a non-empty list of distinct ``choices``), ``mapping`` (an object of numbers; with ``choices``
    its keys must be among them) or ``table`` (a non-empty list of objects whose fields the procedure checks).
    ``unit`` applies to the numbers ("" when none). ``minimum``/``maximum`` bound the numbers (inclusive);
    ``zero=False`` refuses 0 (with ``minimum=0``: > 0). ``default`` is used when the parameter is not given; None
    means it is required (``required``) or computed by the procedure, which the descriptions say. ``nullable``: an
    explicit null is accepted and read as None ("not given", or what the description says, e.g. no curve fit).
    ``hint`` is appended to every refusal (what to do).
    """

    name: str
    kind: Kind
    description_vi: str
    description_en: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    zero: bool = True
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    nullable: bool = False
    single: bool = False
    hint: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind in ("choice", "choices") and not self.choices:
            raise ValueError(f"parameter {self.name}: a {self.kind} parameter needs its allowed values (choices)")
        if not self.description_vi.strip() or not self.description_en.strip():
            raise ValueError(f"parameter {self.name}: give a description in Vietnamese and in English")
        if self.required and self.default is not None:
            raise ValueError(f"parameter {self.name}: a required parameter has no default")
        if self.default is not None:
            self.check(self.default)  # a default that its own checks refuse is a bug in the declaration

    def bounds(self) -> str:
        """The allowed values in words: ``"> 0"``, ``">= 1 and <= 20"``, ``"simple | guarded"`` or ``""``."""
        numeric = bounds_text(self.minimum, self.maximum, self.zero)
        if self.kind in ("choice", "choices"):
            return " | ".join(self.choices)
        if self.kind == "mapping" and self.choices:
            return f"keys {' | '.join(self.choices)}" + (f"; values {numeric}" if numeric else "")
        return numeric

    def check(self, value: Any) -> Any:
        """The clean typed value of ``value`` for this parameter; ValueError names the parameter, what was expected
        (with the unit) and what was given."""
        if value is None and self.nullable:
            return None
        try:
            return self._check(value)
        except ValueError as exc:
            if self.hint:
                raise ValueError(f"{exc}; {self.hint}") from None
            raise

    def _check(self, value: Any) -> Any:
        if self.kind in ("number", "whole", "numbers"):
            single = self.kind == "number" or (
                self.single and isinstance(value, int | float | str) and not isinstance(value, bool)
            )
            convert = whole if self.kind == "whole" else number if single else numbers
            return convert(self.name, value, unit=self.unit, minimum=self.minimum, maximum=self.maximum, zero=self.zero)
        if self.kind == "flag":
            return flag(self.name, value)
        if self.kind == "text":
            return text(self.name, value)
        if self.kind == "choice":
            return choice(self.name, value, self.choices)
        if self.kind == "choices":
            return self._choices(value)
        if self.kind == "mapping":
            return self._mapping(value)
        return self._table(value)

    def _choices(self, value: Any) -> list[str]:
        expected = f"a non-empty list of distinct values among {', '.join(self.choices)}"
        if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
            raise _refuse(self.name, expected, value, f"write it as a list, e.g. {list(self.choices[:2])!r}")
        _too_many(self.name, value)
        out = [choice(f"{self.name}[{i}]", x, self.choices) for i, x in enumerate(value)]
        twice = sorted({x for x in out if out.count(x) > 1})
        if twice:
            raise _refuse(self.name, expected, value, f"{', '.join(twice)} given twice")
        return out

    def _mapping(self, value: Any) -> dict[str, float]:
        if not isinstance(value, Mapping):
            keys = f" with keys among {', '.join(self.choices)}" if self.choices else ""
            example = f'{{"{self.choices[0]}": 10}}' if self.choices else '{"name": 10}'
            raise _refuse(self.name, f"an object of numbers{keys}{_unit(self.unit)}", value, f"e.g. {example}")
        _too_many(self.name, value)
        out: dict[str, float] = {}
        for key, item in value.items():
            label = choice(f"{self.name} key", key, self.choices) if self.choices else text(f"{self.name} key", key)
            out[label] = number(
                f"{self.name}[{label}]",
                item,
                unit=self.unit,
                minimum=self.minimum,
                maximum=self.maximum,
                zero=self.zero,
            )
        return out

    def _table(self, value: Any) -> list[dict[str, Any]]:
        if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
            raise _refuse(self.name, "a non-empty list of objects", value)
        _too_many(self.name, value)
        for i, row in enumerate(value):
            if not isinstance(row, Mapping):
                raise _refuse(f"{self.name}[{i}]", "an object", row)
        return [dict(row) for row in value]

    def value(self, parameters: Mapping[str, Any]) -> Any:
        """This parameter's clean value in ``parameters``: the given value checked, else the default."""
        if self.name not in parameters:
            return None if self.default is None else self.check(self.default)  # a fresh copy of a list default
        return self.check(parameters[self.name])

    def as_dict(self) -> dict[str, Any]:
        """The declaration as plain JSON-able data (for a form or ``caltrace procedures show --json``)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "unit": self.unit,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "zero_allowed": self.zero,
            "default": self.default,
            "required": self.required,
            "choices": list(self.choices),
            "nullable": self.nullable,
            "single": self.single,
            "description_vi": self.description_vi,
            "description_en": self.description_en,
        }


def spec_named(specs: Sequence[ParamSpec], name: str) -> ParamSpec:
    """The spec called ``name``; LookupError when the procedure does not declare it (a programming error)."""
    for spec in specs:
        if spec.name == name:
            return spec
    raise LookupError(f"parameter {name!r} is read but not declared; declared: {', '.join(s.name for s in specs)}")


def read(specs: Sequence[ParamSpec], parameters: Mapping[str, Any], name: str) -> Any:
    """The clean value of the declared parameter ``name`` in ``parameters`` (its default when not given)."""
    return spec_named(specs, name).value(parameters)


def check_parameters(specs: Sequence[ParamSpec], given: Mapping[str, Any], *, procedure: str = "") -> dict[str, Any]:
    """``given`` with every value checked and made clean; ValueError for an unknown name (naming it, suggesting the
    closest known name and listing the known ones) or a bad value. Absent parameters are left absent."""
    known = {spec.name: spec for spec in specs}
    unknown = [key for key in given if key not in known]
    if unknown:
        parts = []
        for key in unknown:
            close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
            parts.append(f"unknown parameter {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        where = f"caltrace procedures show {procedure}" if procedure else "caltrace procedures show PROCEDURE"
        listed = f"known parameters: {', '.join(known)}" if known else "this procedure takes no parameters"
        raise ValueError(f"{'; '.join(parts)}; {listed} (`{where}` describes them)")
    return {key: known[key].check(value) for key, value in given.items()}


#: the longest wait for a stable indication, shared by the procedures that weigh (s)
STABILITY_TIMEOUT_S = ParamSpec(
    "stability_timeout_s",
    "number",
    "Thời gian chờ số chỉ ổn định lâu nhất",
    "Longest wait for a stable indication",
    unit="s",
    minimum=0.0,
    zero=False,
    default=30.0,
)
#: how many successive readings within 2 d make a balance's indication stable (cg-18 and R76)
SETTLE_WINDOW_2D = ParamSpec(
    "settle_window",
    "whole",
    "Số lần đọc liên tiếp phải nằm trong 2 d để số chỉ được coi là ổn định",
    "Successive readings that must lie within 2 d for the indication to count as stable",
    minimum=1,
    default=3,
)
