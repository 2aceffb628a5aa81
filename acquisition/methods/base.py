"""The result type every method returns, ready for the registry's ``result`` table and a DCC."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def finite(name: str, x: Any, *, positive: bool = False, nonneg: bool = False) -> float:
    """``x`` as a float after checking it is a finite real number (not a bool), > 0 when ``positive`` and >= 0 when
    ``nonneg``; ValueError naming ``name`` otherwise (``name`` carries the unit, e.g. "Q3 (m³/h)")."""
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {x!r}")
    if positive and x <= 0:
        raise ValueError(f"{name} must be > 0, got {x!r}")
    if nonneg and x < 0:
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return float(x)


def json_dof(dof: float) -> float | None:
    """Degrees of freedom for JSON: None for infinitely many (JSON has no infinity)."""
    return None if math.isinf(dof) else dof


def budget_rows(
    rows: Iterable[Any],
    *,
    describe: Mapping[str, str] | None = None,
    units: Mapping[str, str] | str | None = None,
    notes: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """An uncertainty budget's rows (:class:`uncertainty.gum` rows) as JSON-ready mappings.

    Each row: ``input``, ``source`` (what the input is and the clause it comes from, from ``describe``),
    ``value`` and ``u`` in the row's ``unit`` (``units``: one unit for every input, or one per input),
    ``distribution``, ``sensitivity``, ``contribution`` (c·u, in the output's unit), ``dof`` (None: infinitely
    many) and, from ``notes``, a ``note`` — the place where a term left at zero says why (METROLOGY: a budget
    carries every contribution its guide lists).
    """
    out = []
    for r in rows:
        row: dict[str, Any] = {"input": r.input}
        if describe is not None:
            row["source"] = describe[r.input]
        row["value"] = r.value
        if units is not None:
            row["unit"] = units if isinstance(units, str) else units.get(r.input, "")
        row |= {
            "u": r.u,
            "distribution": r.distribution,
            "sensitivity": r.sensitivity,
            "contribution": r.contribution,
            "dof": json_dof(r.dof),
        }
        if notes is not None and notes.get(r.input):
            row["note"] = notes[r.input]
        out.append(row)
    return out


def budget_json(
    out: Any,
    *,
    unit: str,
    model: str | None = None,
    describe: Mapping[str, str] | None = None,
    units: Mapping[str, str] | str | None = None,
    notes: Mapping[str, str] | None = None,
    keep: Callable[[Any], bool] | None = None,
) -> dict[str, Any]:
    """The one budget shape every method records for a result (``out``: a :class:`uncertainty.gum` output).

    ``{"model", "unit", "rows": [...], "u", "dof", "k", "coverage_probability", "U"}``: the rows as
    :func:`budget_rows` (``keep`` filters them: leave out only inputs that are not uncertainty contributions,
    such as the indication itself), then u_c, ν_eff (``dof``, Welch–Satterthwaite; None when infinite), k,
    the coverage probability (None when k was given) and U = k·u_c, all in ``unit``.
    """
    rows = [r for r in out.budget if keep is None or keep(r)]
    body: dict[str, Any] = {}
    if model is not None:
        body["model"] = model
    body |= {
        "unit": unit,
        "rows": budget_rows(rows, describe=describe, units=unit if units is None else units, notes=notes),
        "u": out.u,
        "dof": json_dof(out.dof),
        "k": out.k,
        "coverage_probability": getattr(out, "coverage_probability", None),
        "U": out.U,
    }
    return body


CONFORMITY = ("pass", "fail", "conditionalPass", "conditionalFail", "noPass", "noFail", "notAssessed")


@dataclass(frozen=True)
class PointResult:
    """One result at one test point.

    ``value`` (e.g. an error of indication, a conventional mass, a relative error) is in ``unit``; ``point`` (the
    nominal load, flow rate or test value) in ``point_unit``. ``U`` is the expanded uncertainty in ``unit`` at
    coverage factor ``k`` (both None when the method states none). ``mpe`` is the maximum permissible error in
    ``unit`` the conformity was judged against (None when not assessed). ``conformity`` is a DCC 3.3.0 value or
    ``notAssessed``. ``budget`` is JSON-ready: inputs with their standard uncertainties and contributions.
    ``rule`` names the decision rule and ``reference`` the clause/table of the standard used.
    """

    quantity: str
    point: float | None
    point_unit: str
    value: float
    unit: str
    U: float | None = None
    k: float | None = None
    mpe: float | None = None
    conformity: str = "notAssessed"
    rule: str = ""
    reference: str = ""
    budget: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self) -> None:
        if self.conformity not in CONFORMITY:
            raise ValueError(f"conformity must be one of {CONFORMITY}, got {self.conformity!r}")
        if not math.isfinite(self.value):
            raise ValueError(f"{self.quantity}: value must be finite, got {self.value!r}")
        if self.U is not None and not self.U >= 0:
            raise ValueError(f"{self.quantity}: U must be >= 0, got {self.U!r}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (the CLI's ``--json`` result shape plus details)."""
        return {
            "quantity": self.quantity,
            "point": self.point,
            "point_unit": self.point_unit,
            "value": self.value,
            "unit": self.unit,
            "U": self.U,
            "k": self.k,
            "mpe": self.mpe,
            "conformity": self.conformity,
            "rule": self.rule,
            "reference": self.reference,
            "budget": self.budget,
            "note": self.note,
        }
