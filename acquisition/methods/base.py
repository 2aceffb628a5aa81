"""The result type every method returns, ready for the registry's ``result`` table and a DCC."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

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
