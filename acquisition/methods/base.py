"""The result type every method returns, ready for the registry's ``result`` table and a DCC."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
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


def budget_rows(rows: Iterable[Any], *, describe: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """An uncertainty budget's rows (:class:`uncertainty.gum` rows) as JSON-ready mappings; ``describe`` adds each
    input's description. Units are those of the model's inputs and measurand."""
    out = []
    for r in rows:
        row: dict[str, Any] = {"input": r.input}
        if describe is not None:
            row["description"] = describe[r.input]
        row |= {
            "value": r.value,
            "u": r.u,
            "distribution": r.distribution,
            "sensitivity": r.sensitivity,
            "contribution": r.contribution,
            "dof": json_dof(r.dof),
        }
        out.append(row)
    return out


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
