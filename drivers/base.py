"""What every instrument driver offers, whatever its protocol."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Self

from drivers.address import Address
from drivers.reading import Reading


@dataclass(frozen=True, slots=True)
class InstrumentInfo:
    """Identification as the instrument reports it (empty strings where it does not say)."""

    manufacturer: str = ""
    model: str = ""
    serial_number: str = ""
    firmware: str = ""
    capacity: str = ""  # e.g. "220 g" for a balance, as the instrument writes it

    def label(self) -> str:
        """``Manufacturer Model SN serial`` for messages."""
        parts = [self.manufacturer, self.model]
        if self.serial_number:
            parts.append(f"SN {self.serial_number}")
        return " ".join(p for p in parts if p) or "instrument"


class Instrument(ABC):
    """A driver: encodes commands and decodes replies over a transport it is given.

    Drivers never sleep or retry; timeouts, locking and reconnection belong to the transport.
    ``instrument_id`` is the lab's id for the instrument; it labels every :class:`Reading`.
    """

    #: wire protocol name used in manifests ("mt-sics", "sbi", "modbus-tcp", ...)
    protocol: ClassVar[str] = ""
    #: True for an instrument that can deliver energy at its terminals (a calibrator's output): a hazard to the
    #: person changing the leads and to the instrument under test whenever a run is not driving it
    sources_energy: ClassVar[bool] = False
    #: what "safe" means for this instrument, as an operator would do it by hand (e.g. "standby (STBY key)");
    #: empty for an instrument that sources nothing
    safe_state: ClassVar[str] = ""

    def __init__(self, instrument_id: str) -> None:
        self.instrument_id = instrument_id

    @classmethod
    @abstractmethod
    def connect(cls, address: Address, instrument_id: str = "") -> Self:
        """Build the transport for ``address`` and return a driver on it (the link opens on first use)."""

    @abstractmethod
    def identify(self) -> InstrumentInfo:
        """Ask the instrument who it is."""

    @abstractmethod
    def poll(self) -> list[Reading]:
        """One acquisition cycle: the instrument's current indication(s), without waiting for stability."""

    @abstractmethod
    def close(self) -> None:
        """Release the link."""

    def prepare(self) -> None:
        """Bring the instrument into the state this driver's readings assume (nothing by default).

        The run engine calls it for every connected role before a run starts or resumes: an instrument may have
        been power-cycled or used by hand in between. Raises DriverError when the instrument refuses.
        """
        return None  # most instruments need nothing: each command of theirs sets what it relies on

    def make_safe(self) -> None:
        """Put the instrument into :attr:`safe_state` and confirm it (nothing by default: a measuring instrument
        such as a DMM, a balance or a meter delivers no energy and is safe as it is).

        The run engine calls it for every connected role whenever a run stops executing, for any reason (pause,
        operator stop, device fault, error, abort, interrupt), before it reports anything. Raises DriverError
        (or OSError / TimeoutError) when the safe state cannot be confirmed; the engine then reports that loudly.
        """
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
