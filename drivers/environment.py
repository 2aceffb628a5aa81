"""Thermo-hygro-barometers on Modbus: COMET SYSTEM T7510 (Modbus TCP) and T7310 (Modbus RTU on RS-485).

Both measure air temperature, relative humidity and barometric pressure and share one register map, kept below
as data (:data:`COMET_T7510`, :data:`COMET_T7310`). Where the facts come from:

* COMET SYSTEM, *Instruction manual IE-SNC-T33(4)11+T73(4)10-07* (T3311, T3411, T7310, T7410), section
  "Modbus registers of the device": measured temperature 0x0031, relative humidity 0x0032, computed value 0x0033,
  atmospheric pressure 0x0034 (T7310/T7410), all ``Int*10`` (BIN16, read-only) in the units set in the device
  (°C, %, hPa; pressure is Int*10 in hPa and mbar, Int*100 in kPa and inHg, Int*1000 in PSI); serial number
  0x1035 (Hi) and 0x1036 (Lo), BCD. Note "X": *register addresses are indexed from zero — register 0x31 is
  physically sent as value 0x30* — so the manual numbers are 1-based and the PDU address of temperature is 0x0030.
  Section "Modbus RTU": 8 data bits, 2 stop bits, no parity (11 bits per character); functions 03 (read holding),
  04 (read input), 16 (write multiple); factory setting unit 01h at 9600 Bd. Section "Setting of pressure
  correction for altitude": the corrected pressure must lie between 300 hPa and 1350 hPa, outside that range the
  device sends an error value ("Error 2").
* COMET SYSTEM, *ModbusTCP registers for Tx5xx/Tx6xx* (SDK file ``modbus/modbus.txt`` v3.2, 2017-11-24; T7510 is
  in its list): the same addresses 0x0031..0x0034 with ``Int*10``, function 0x03 (Read Holding Registers) only,
  port 502. *Instruction manual IE-SNC-Tx6xx-07*, "Modbus TCP": the unit identifier may be arbitrary; serial
  number 0x1035/0x1036 BCD.

Not verified from those sources: the exact numeric code a register holds in an error state (the manuals name
"Error 1..4" but the tables read did not give the numbers). The driver therefore flags any value outside the
quantity's plausible range as a sensor error: pressure outside 300..1350 hPa (manual), humidity outside 0..100 %,
temperature outside -30..+80 °C (the T7x10 measuring range in Comet's datasheet; check your unit's datasheet).
The device must be set (Comet TSensor software) to °C and hPa; the map cannot tell the unit setting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from drivers.address import Address, parse_address
from drivers.base import Instrument, InstrumentInfo
from drivers.errors import ProtocolError
from drivers.reading import Reading, ReadingStatus
from drivers.transport.modbus import DataType, ModbusTransport, RegisterSpec


@dataclass(frozen=True, slots=True)
class Channel:
    """One measured quantity: its register and the range outside which the value means a sensor error."""

    quantity: str  # "temperature", "humidity", "pressure"
    register: RegisterSpec
    valid: tuple[float, float]  # inclusive, in register.unit

    def status(self, raw: Sequence[int], error_values: frozenset[int]) -> tuple[float, ReadingStatus]:
        """(value, status) from this channel's raw registers; NaN with ERROR when the device flags an error."""
        value = self.register.decode(raw)
        if (len(raw) == 1 and raw[0] in error_values) or not (
            math.isfinite(value) and self.valid[0] <= value <= self.valid[1]
        ):
            return math.nan, ReadingStatus.ERROR
        return value, ReadingStatus.STABLE


@dataclass(frozen=True, slots=True)
class EnvironmentProfile:
    """A thermo-hygro-barometer's register map, as data.

    ``serial_registers`` are the BCD serial-number registers (most significant first), empty when the device has
    none. ``error_values`` lists raw 16-bit values the manual defines as error markers (empty when unknown).
    """

    manufacturer: str
    model: str
    channels: tuple[Channel, ...]
    serial_registers: tuple[RegisterSpec, ...] = ()
    error_values: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        kinds = {c.register.kind for c in self.channels}
        if len(kinds) != 1:
            raise ValueError(f"{self.model}: all channels must be one register kind to read in one request")
        if self.block_count > 125:
            raise ValueError(f"{self.model}: channels span {self.block_count} registers, more than one read (125)")

    @property
    def block_start(self) -> int:
        """PDU address of the first register read by :meth:`ModbusEnvironmentSensor.poll`."""
        return min(c.register.pdu_address for c in self.channels)

    @property
    def block_count(self) -> int:
        """Registers read by one poll (all channels in one request)."""
        end = max(c.register.pdu_address + c.register.count for c in self.channels)
        return end - min(c.register.pdu_address for c in self.channels)

    def decode(self, registers: Sequence[int]) -> list[tuple[Channel, float, ReadingStatus]]:
        """Decode one poll's block of registers; :class:`ProtocolError` when it does not fit the map."""
        regs = list(registers)
        if len(regs) != self.block_count:
            raise ProtocolError(f"{self.model}: expected {self.block_count} registers, got {len(regs)}")
        out = []
        for ch in self.channels:
            offset = ch.register.pdu_address - self.block_start
            value, status = ch.status(regs[offset : offset + ch.register.count], self.error_values)
            out.append((ch, value, status))
        return out


def decode_bcd_serial(registers: Sequence[int]) -> str:
    """Serial number from BCD registers (4 digits each, most significant register first), e.g. "12345678"."""
    digits = []
    for reg in registers:
        if not 0 <= reg <= 0xFFFF:
            raise ProtocolError(f"serial-number register {reg!r} is not a 16-bit value")
        text = f"{reg:04X}"
        if not text.isdigit():
            raise ProtocolError(f"serial-number register 0x{reg:04X} is not BCD (digits 0-9 only)")
        digits.append(text)
    return "".join(digits)


def _comet_channels() -> tuple[Channel, ...]:
    def reg(name: str, number: int, unit: str) -> RegisterSpec:
        # manual "0x0031" = register 0x31, sent as PDU address 0x30 (note X of the manual)
        return RegisterSpec(name, number, DataType.INT16, "holding", "ABCD", scale=0.1, unit=unit, first_number=1)

    return (
        Channel("temperature", reg("temperature", 0x0031, "°C"), (-30.0, 80.0)),
        Channel("humidity", reg("relative humidity", 0x0032, "%RH"), (0.0, 100.0)),
        Channel("pressure", reg("atmospheric pressure", 0x0034, "hPa"), (300.0, 1350.0)),
    )


def _comet_serial() -> tuple[RegisterSpec, ...]:
    return (
        RegisterSpec("serial number Hi", 0x1035, DataType.UINT16, first_number=1),
        RegisterSpec("serial number Lo", 0x1036, DataType.UINT16, first_number=1),
    )


#: COMET T7510: Ethernet, Modbus TCP (function 0x03 only)
COMET_T7510 = EnvironmentProfile("Comet", "T7510", _comet_channels(), _comet_serial())
#: COMET T7310: RS-485, Modbus RTU 8N2 (functions 0x03, 0x04, 0x10)
COMET_T7310 = EnvironmentProfile("Comet", "T7310", _comet_channels(), _comet_serial())


class ModbusEnvironmentSensor(Instrument):
    """A Modbus thermo-hygro-barometer described by an :class:`EnvironmentProfile`.

    :meth:`poll` reads every channel in one request and returns temperature (°C), relative humidity (%RH) and
    pressure (hPa) readings, each with ``quantity`` set; status ``stable``, or ``error`` (value NaN) when the
    device reports a sensor error.
    """

    profile: ClassVar[EnvironmentProfile] = COMET_T7510

    def __init__(self, transport: ModbusTransport, instrument_id: str = "") -> None:
        super().__init__(instrument_id or transport.address.shown)
        self.transport = transport

    @classmethod
    def connect(cls, address: Address | str, instrument_id: str = "") -> Self:
        """A driver on a :class:`ModbusTransport` for ``address`` (the link opens on first use)."""
        parsed = parse_address(address) if isinstance(address, str) else address
        transport = ModbusTransport(parsed, name=f"{cls.profile.manufacturer} {cls.profile.model}")
        return cls(transport, instrument_id or parsed.shown)

    def identify(self) -> InstrumentInfo:
        """Manufacturer and model from the profile; serial number from the device's registers when it has them."""
        p = self.profile
        serial = ""
        if p.serial_registers:
            first = p.serial_registers[0].pdu_address
            regs = self.transport.read_registers(first, len(p.serial_registers), p.serial_registers[0].kind)
            serial = decode_bcd_serial(regs)
        info = InstrumentInfo(manufacturer=p.manufacturer, model=p.model, serial_number=serial)
        self.transport.name = info.label()
        return info

    def poll(self) -> list[Reading]:
        """Temperature, humidity and pressure now (one Modbus request)."""
        p = self.profile
        kind = p.channels[0].register.kind
        registers = self.transport.read_registers(p.block_start, p.block_count, kind)
        try:
            decoded = p.decode(registers)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.transport.describe()}: {exc}") from None
        return [
            Reading(value, ch.register.unit, status, self.instrument_id, quantity=ch.quantity)
            for ch, value, status in decoded
        ]

    def close(self) -> None:
        """Release the link."""
        self.transport.close()


class CometT7510(ModbusEnvironmentSensor):
    """COMET T7510 thermometer-hygrometer-barometer, Modbus TCP."""

    protocol = "modbus-tcp"
    profile = COMET_T7510


class CometT7310(ModbusEnvironmentSensor):
    """COMET T7310 thermometer-hygrometer-barometer, Modbus RTU on RS-485 (8N2, factory unit 1 at 9600 Bd)."""

    protocol = "modbus-rtu"
    profile = COMET_T7310
