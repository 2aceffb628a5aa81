"""The drift of a reference standard's certified values, read from its certificate history.

The change of a certified value between the certificate in force and the newest earlier certificate that certifies
the same item is the drift observed over one calibration interval. The balance and weight procedures take its
magnitude as the half-width D of a rectangular distribution for the drift until the next calibration
(EURAMET cg-18 v4.0 7.1.2, δm_D; OIML R111-1:2004 C.6.2, u_inst "estimated from observed mass changes after the
reference weight has been calibrated several times").

Certificate rows are matched by label: a row's ``label``, else ``"<point> <unit>"`` (``"200 g"``), with ``*``
appended for each further row of the same label in certificate order (``"200 g*"``), exactly as
:func:`acquisition.procedures.weightset.pieces` names the pieces of a set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from acquisition.methods.base import Text, num
from acquisition.procedures.base import StandardUsed

__all__ = ["CertifiedChange", "certified_change", "labelled"]


@dataclass(frozen=True)
class CertifiedChange:
    """The change of one certified value: ``change`` = value in force − earlier value (in the unit of the
    ``value_of`` function that read them), between certificate ``earlier`` (calibrated ``earlier_on``) and
    ``current`` (calibrated ``current_on``)."""

    label: str
    change: float
    current: str
    earlier: str
    earlier_on: date
    current_on: date | None

    def describe(self, unit: str, scale: float = 1.0) -> Text:
        """'change +0.012 mg between certificates A (2024-05-02) and B (2026-05-04)' (``scale`` converts), in
        Vietnamese and English (a budget row's source)."""
        when = f" ({self.current_on.isoformat()})" if self.current_on else ""
        return (
            Text("thay đổi ", "change ")
            + num(self.change * scale, "+.3g")
            + Text(f" {unit} giữa các giấy chứng nhận {self.earlier} ", f" {unit} between certificates {self.earlier} ")
            + Text(f"({self.earlier_on.isoformat()}) và ", f"({self.earlier_on.isoformat()}) and ")
            + f"{self.current}{when}"
        )


def labelled(values: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Certificate rows by label (rows without a ``point`` are left out); see the module docstring."""
    out: dict[str, Mapping[str, Any]] = {}
    seen: dict[str, int] = {}
    for row in values:
        if not isinstance(row, Mapping) or row.get("point") is None:
            continue
        try:
            point = float(row["point"])
        except (TypeError, ValueError):
            continue
        base = str(row.get("label") or f"{point:g} {row.get('unit') or 'g'}")
        seen[base] = seen.get(base, 0) + 1
        out[base + "*" * (seen[base] - 1)] = row
    return out


def certified_change(
    standard: StandardUsed, label: str, value_of: Callable[[Mapping[str, Any]], float]
) -> CertifiedChange | None:
    """The change of the value labelled ``label`` since the newest earlier certificate that certifies it, or None
    when no earlier certificate does (no history). ``value_of`` reads a row's value in the caller's unit; a row it
    cannot read counts as not certifying the item."""
    current = labelled(standard.values).get(label)
    if current is None:
        return None
    try:
        now = value_of(current)
    except (KeyError, TypeError, ValueError):
        return None
    for cert in standard.history:
        row = labelled(cert.values).get(label)
        if row is None:
            continue
        try:
            before = value_of(row)
        except (KeyError, TypeError, ValueError):
            continue
        return CertifiedChange(
            label, now - before, standard.certificate, cert.number, cert.calibrated_on, standard.calibrated_on
        )
    return None
