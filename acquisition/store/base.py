"""The reading store interface and its record type.

A :class:`StoredReading` is a :class:`drivers.reading.Reading` plus where it belongs (run and procedure step).
Its identity is ``(run_id, step, instrument_id, quantity, timestamp)``: appending the same identity again replaces
the stored value instead of adding a row (last write wins), so a batch re-appended after a crash never duplicates.
Timestamps are kept as integer microseconds since 1970-01-01T00:00:00Z (the resolution of ``datetime``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from types import TracebackType
from typing import Self

from acquisition.store.errors import StoreVersionError
from drivers.reading import Reading, ReadingStatus

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_STATUS = {s.value: s for s in ReadingStatus}
_FORBIDDEN = frozenset(chr(c) for c in range(32)) | {"\x7f", "\\"}


def to_micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01T00:00:00Z of an aware datetime (exact, integer arithmetic)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp must be timezone-aware (UTC), got naive {moment!r}")
    return (moment - EPOCH) // _ONE_US


def from_micros(micros: int) -> datetime:
    """Aware UTC datetime of ``micros`` microseconds since the epoch (inverse of :func:`to_micros`)."""
    return EPOCH + timedelta(microseconds=micros)


def check_text(name: str, value: object, *, required: bool = False) -> str:
    """Validate a label (instrument id, unit, quantity, run id, step): text without control characters or
    backslashes (InfluxDB's line protocol cannot carry them in tags faithfully, and both stores keep one contract)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    if required and not value:
        raise ValueError(f"{name} must not be empty")
    bad = _FORBIDDEN.intersection(value)
    if bad:
        shown = ", ".join(repr(c) for c in sorted(bad))
        raise ValueError(f"{name} {value!r} contains {shown}: control characters and backslashes cannot be stored")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredReading:
    """One reading as the store keeps it.

    ``value`` is in ``unit``; NaN when the instrument gave no number (then ``status`` says why). Infinite values
    are refused (drivers report overload as NaN + status); negative zero is kept as zero (SQLite cannot store its
    sign, and it carries no information about a measurement). ``timestamp`` is an aware datetime, normalised to UTC;
    microseconds are kept. ``run_id`` and ``step`` are None outside a calibration run (an empty string means None).
    """

    instrument_id: str
    value: float
    unit: str
    status: ReadingStatus
    timestamp: datetime
    quantity: str = ""
    run_id: str | None = None
    step: str | None = None
    ts_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_text("instrument_id", self.instrument_id, required=True)
        check_text("unit", self.unit)
        check_text("quantity", self.quantity)
        for name in ("run_id", "step"):
            label = getattr(self, name)
            if label is not None:
                check_text(name, label)
                if not label:
                    object.__setattr__(self, name, None)
        if not isinstance(self.status, ReadingStatus):
            try:
                object.__setattr__(self, "status", ReadingStatus(self.status))
            except ValueError:
                allowed = ", ".join(s.value for s in ReadingStatus)
                raise ValueError(f"status {self.status!r} is not one of {allowed}") from None
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise TypeError(f"value must be a number (NaN when there is none), got {self.value!r}")
        value = float(self.value)
        if math.isinf(value):
            raise ValueError(
                f"value {value} of {self.instrument_id!r} is infinite: store NaN with status overload/underload/error"
            )
        object.__setattr__(self, "value", value if value != 0.0 else 0.0)  # -0.0 -> 0.0
        if not isinstance(self.timestamp, datetime):
            raise TypeError(f"timestamp must be a datetime, got {self.timestamp!r}")
        micros = to_micros(self.timestamp)
        if self.timestamp.utcoffset() != timedelta(0):
            object.__setattr__(self, "timestamp", self.timestamp.astimezone(UTC))
        object.__setattr__(self, "ts_us", micros)

    @classmethod
    def from_reading(cls, reading: Reading, *, run_id: str | None = None, step: str | None = None) -> StoredReading:
        """The stored form of a driver's ``reading``, optionally tagged with its run and procedure step."""
        return cls(
            instrument_id=reading.instrument_id,
            quantity=reading.quantity,
            value=reading.value,
            unit=reading.unit,
            status=reading.status,
            timestamp=reading.timestamp,
            run_id=run_id,
            step=step,
        )

    @classmethod
    def from_micros(
        cls,
        ts_us: int,
        *,
        instrument_id: str,
        quantity: str,
        value: float | None,
        unit: str,
        status: str,
        run_id: str | None,
        step: str | None,
    ) -> StoredReading:
        """Rebuild a reading read back from a store (``value`` None means NaN; empty run/step mean None).

        The fields were validated when the reading was appended, so only the status is checked here (fast path
        for large query results).
        """
        self = object.__new__(cls)
        setter = object.__setattr__
        setter(self, "instrument_id", instrument_id)
        setter(self, "value", math.nan if value is None else float(value))
        setter(self, "unit", unit)
        try:
            setter(self, "status", _STATUS[status])
        except KeyError:
            raise StoreVersionError(
                f"stored status {status!r} of {instrument_id!r} is unknown to this caltrace: upgrade caltrace"
            ) from None
        setter(self, "timestamp", EPOCH + timedelta(microseconds=ts_us))
        setter(self, "quantity", quantity)
        setter(self, "run_id", run_id or None)
        setter(self, "step", step or None)
        setter(self, "ts_us", ts_us)
        return self

    def to_reading(self) -> Reading:
        """The driver-level :class:`Reading` (run and step dropped)."""
        return Reading(
            value=self.value,
            unit=self.unit,
            status=self.status,
            instrument_id=self.instrument_id,
            timestamp=self.timestamp,
            quantity=self.quantity,
        )

    @property
    def identity(self) -> tuple[str, str, str, str, int]:
        """``(run_id, step, instrument_id, quantity, ts_us)`` with None as ``""``: one row per identity."""
        return (self.run_id or "", self.step or "", self.instrument_id, self.quantity, self.ts_us)

    @property
    def sort_key(self) -> tuple[int, str, str, str, str]:
        """Order of query results: time, then instrument, quantity, run and step."""
        return (self.ts_us, self.instrument_id, self.quantity, self.run_id or "", self.step or "")

    def same_as(self, other: StoredReading) -> bool:
        """Equality that treats two NaN values as equal (dataclass ``==`` does not)."""
        both_nan = math.isnan(self.value) and math.isnan(other.value)
        return (both_nan or self.value == other.value) and (
            self.identity,
            self.unit,
            self.status,
        ) == (other.identity, other.unit, other.status)


@dataclass(frozen=True, slots=True)
class QueryFilter:
    """Validated query arguments; times as microseconds since the epoch (``start`` inclusive, ``end`` exclusive)."""

    run_id: str | None = None
    instrument_id: str | None = None
    step: str | None = None
    quantity: str | None = None
    start_us: int | None = None
    end_us: int | None = None
    limit: int | None = None

    @classmethod
    def build(
        cls,
        *,
        run_id: str | None = None,
        instrument_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        step: str | None = None,
        quantity: str | None = None,
        limit: int | None = None,
    ) -> QueryFilter:
        """Check the arguments before any I/O; a ``None`` filter matches everything."""
        for name, label in (("run_id", run_id), ("instrument_id", instrument_id), ("step", step)):
            if label is not None:
                check_text(name, label, required=True)
        if quantity is not None:
            check_text("quantity", quantity)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
        start_us = None if start is None else to_micros(start)
        end_us = None if end is None else to_micros(end)
        return cls(run_id, instrument_id, step, quantity, start_us, end_us, limit)

    @property
    def empty_range(self) -> bool:
        """True when ``start >= end``: nothing can match."""
        return self.start_us is not None and self.end_us is not None and self.start_us >= self.end_us

    def matches(self, reading: StoredReading) -> bool:
        """Whether ``reading`` passes this filter (used on readings not yet on the server)."""
        return (
            (self.run_id is None or reading.run_id == self.run_id)
            and (self.instrument_id is None or reading.instrument_id == self.instrument_id)
            and (self.step is None or reading.step == self.step)
            and (self.quantity is None or reading.quantity == self.quantity)
            and (self.start_us is None or reading.ts_us >= self.start_us)
            and (self.end_us is None or reading.ts_us < self.end_us)
        )


def check_batch(readings: Sequence[StoredReading]) -> None:
    """Refuse anything but a sequence of :class:`StoredReading` before touching storage."""
    if isinstance(readings, (str, bytes)) or not isinstance(readings, Sequence):
        raise TypeError(f"append() takes a sequence of StoredReading, got {type(readings).__name__}")
    if all(map(isinstance, readings, repeat(StoredReading))):  # the usual case, at C speed
        return
    for i, item in enumerate(readings):
        if not isinstance(item, StoredReading):
            hint = " (wrap it with StoredReading.from_reading)" if isinstance(item, Reading) else ""
            raise TypeError(f"append(): item {i} is a {type(item).__name__}, not a StoredReading{hint}")


class ReadingStore(ABC):
    """Where every raw reading is kept. Thread-safe; use as a context manager or call :meth:`close`."""

    @abstractmethod
    def append(self, readings: Sequence[StoredReading]) -> None:
        """Store a batch; durable when this returns. Re-appending an identity replaces it (no duplicates)."""

    @abstractmethod
    def query(
        self,
        *,
        run_id: str | None = None,
        instrument_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        step: str | None = None,
        quantity: str | None = None,
        limit: int | None = None,
    ) -> list[StoredReading]:
        """Readings matching every given filter, ordered by time then instrument (``start`` <= t < ``end``);
        the first ``limit`` of them when a limit is given."""

    @abstractmethod
    def latest(
        self, instrument_id: str, *, quantity: str | None = None, run_id: str | None = None
    ) -> StoredReading | None:
        """The most recent reading of ``instrument_id`` (optionally of one quantity or run), or None."""

    @abstractmethod
    def count(self, *, run_id: str | None = None, instrument_id: str | None = None) -> int:
        """Number of stored readings matching the filters."""

    def pending(self) -> int:
        """Readings accepted but not yet on the server (spooled); always 0 for an embedded store."""
        return 0

    def flush(self, timeout: float = 10.0) -> bool:
        """Try to deliver spooled readings for up to ``timeout`` seconds; True when none remain."""
        return self.pending() == 0

    @abstractmethod
    def close(self) -> None:
        """Release connections and threads; the store cannot be used afterwards. Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
