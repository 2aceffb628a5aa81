"""Manual entry: a person reads an instrument (a paper thermometer, a dial) and types value and unit.

The reading is the same :class:`Reading` type as any driver's. The person is reached through a callback that
the caller supplies (the command line asks on the terminal, the web UI through a form).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Self

from drivers.address import Address, parse_address
from drivers.base import Instrument, InstrumentInfo
from drivers.errors import DeviceError, ProtocolError
from drivers.reading import Reading, ReadingStatus

#: asks a person for a reading; receives the prompt text, returns what they typed
Asker = Callable[[str], str]

_ENTRY = re.compile(
    r"^\s*(?P<value>[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?)"  # number, decimal point or comma
    r"\s*(?P<unit>(?:[^\W\d_]|[°%µΩ‰]).*?)?\s*$"  # unit: starts with a letter or a unit sign
)


class EntryError(ProtocolError):
    """What a person typed is not a reading. ``reason`` says why, for a front end that words it in the technician's
    language: ``"number"`` (not a number with an optional unit), ``"finite"`` (not a finite number) or ``"unit"``
    (no unit typed and none set for the instrument); ``text`` is what was typed."""

    def __init__(self, message: str, reason: str, text: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.text = text


def parse_entry(text: str, default_unit: str = "") -> tuple[float, str]:
    """Parse what a person typed, e.g. ``"21.4 °C"``, ``"1013,2 hPa"`` or ``"55"`` -> (value, unit).

    A decimal comma is accepted (Vietnamese habit). Raise :class:`EntryError` (a :class:`ProtocolError`) saying
    what is expected.
    """
    match = _ENTRY.match(text)
    if not match:
        raise EntryError(f"cannot read {text!r} as a number with an optional unit; type e.g. 21.4 °C", "number", text)
    value = float(match["value"].replace(",", "."))
    if not math.isfinite(value):
        raise EntryError(f"{text!r} is not a finite number", "finite", text)
    unit = (match["unit"] or "").strip() or default_unit
    if not unit:
        raise EntryError(f"{text!r} has no unit and none is set for this instrument; type e.g. 21.4 °C", "unit", text)
    return value, unit


class ManualEntry(Instrument):
    """An instrument read by a person. ``ask`` shows the prompt and returns the typed text."""

    protocol = "manual"

    def __init__(self, instrument_id: str, unit: str = "", quantity: str = "", ask: Asker | None = None) -> None:
        super().__init__(instrument_id)
        self.unit = unit
        self.quantity = quantity
        self.ask = ask

    @classmethod
    def connect(cls, address: Address, instrument_id: str = "") -> Self:
        """A manual instrument from ``manual:?unit=°C&quantity=temperature``."""
        parsed = address if isinstance(address, Address) else parse_address(address)
        return cls(
            instrument_id or "manual",
            unit=parsed.options.get("unit", ""),
            quantity=parsed.options.get("quantity", ""),
        )

    def identify(self) -> InstrumentInfo:
        """A person has no serial number."""
        return InstrumentInfo(model="manual entry")

    def enter(self, text: str) -> Reading:
        """A reading from typed text (value and optional unit)."""
        value, unit = parse_entry(text, self.unit)
        return Reading(value, unit, ReadingStatus.STABLE, self.instrument_id, quantity=self.quantity)

    def poll(self) -> list[Reading]:
        """Ask the person once; a bad entry is asked again up to three times."""
        if self.ask is None:
            raise DeviceError(f"manual instrument {self.instrument_id}: nobody to ask (no prompt callback set)")
        what = self.quantity or "value"
        prompt = f"{self.instrument_id}: enter {what}" + (f" in {self.unit}" if self.unit else " with its unit")
        last: ProtocolError | None = None
        for _ in range(3):
            try:
                return [self.enter(self.ask(prompt))]
            except ProtocolError as exc:
                last = exc
                prompt = f"{exc}. {prompt}"
        assert last is not None
        raise last

    def close(self) -> None:
        """Nothing to release."""
