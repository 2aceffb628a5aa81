"""The value object every instrument produces."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class ReadingStatus(StrEnum):
    """State of the instrument when the value was taken."""

    STABLE = "stable"
    DYNAMIC = "dynamic"  # not yet stable (MT-SICS ``D``, SBI blank unit)
    OVERLOAD = "overload"
    UNDERLOAD = "underload"
    ERROR = "error"


def utc_now() -> datetime:
    """Current time as an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Reading:
    """One indication of one instrument.

    ``value`` is in ``unit`` as the instrument declared it (conversion happens at the boundary, not here);
    it is NaN when the status is overload, underload or error and the instrument sent no number.
    ``timestamp`` is UTC; ``instrument_id`` is the lab's id of the instrument (or its address when it has none).
    ``quantity`` names what was measured when an instrument measures several things (e.g. ``temperature``).
    """

    value: float
    unit: str
    status: ReadingStatus
    instrument_id: str
    timestamp: datetime = field(default_factory=utc_now)
    quantity: str = ""

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset() != UTC.utcoffset(None):
            raise ValueError(f"Reading timestamp must be an aware UTC datetime, got {self.timestamp!r}")
        if not isinstance(self.status, ReadingStatus):
            object.__setattr__(self, "status", ReadingStatus(self.status))

    @property
    def is_stable(self) -> bool:
        """True when the instrument reported the value as stable."""
        return self.status is ReadingStatus.STABLE

    @property
    def has_value(self) -> bool:
        """True when ``value`` is a finite number."""
        return math.isfinite(self.value)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready mapping (timestamp as ISO 8601 UTC)."""
        return {
            "instrument_id": self.instrument_id,
            "quantity": self.quantity,
            "value": self.value if self.has_value else None,
            "unit": self.unit,
            "status": self.status.value,
            "timestamp": self.timestamp.isoformat(),
        }
