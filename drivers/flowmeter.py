"""Modbus flow meters whose register maps are data (:class:`FlowMeterProfile`), read over Modbus RTU or TCP.

Profiles and where their facts come from:

* **Siemens SITRANS F C MASS 6000** (:data:`SIEMENS_MASS6000`): Siemens *SITRANS F C MASSFLO / SITRANS F M MAGFLO,
  Modbus RTU RS-485* (SFIDK.PS.023.D2.02), section 6 "Modbus holding registers" (MASS 6000 table): register
  4:03001 = PDU 3000 absolute mass flow (kg/s, float), 4:03003 = 3002 absolute volume flow (m3/s), 4:03005 = 3004
  absolute density (kg/m3), 4:03007 = 3006 sensor temperature (°C), 3008/3010/3012 fraction A, fraction B,
  % fraction A (float), 4:03015 = 3014 totalizer 1 (double, 8 bytes, "kg or m3" as selected in 4:02101), 3018
  totalizer 2 (double), 3022/3024 totalizers 1/2 as float. Manual frame (PROTOCOLS.md): ``01 03 0B B8 00 02``
  whose reply data ``40 C3 52 93`` is 6.10383 kg/s, so floats are ABCD (big-endian words in order).
  The totalizer unit follows its selection register (2100); this profile assumes the factory-typical mass (kg).
* **Endress+Hauser Proline Promass 83 MODBUS RS485** (:data:`EH_PROMASS83`): E+H *Description of Device Functions
  Proline Promass 83 MODBUS RS485*, section 2.2 (registers given in decimal; float = 2 registers; read with
  function 03, 04 or 23 — FC03 and FC04 return the same data) and block BASIC FUNCTION "BYTE ORDER" (register
  4915, factory setting ``1-0-3-2`` = CDAB, word-swapped). Mass flow 2007, temperature 2017, totalizer 1 at 2610
  (floats) are from PROTOCOLS.md; **not verified** against the manual pages, nor whether these numbers are PDU
  addresses or 1-based register numbers. Choice made here: they are 1-based register numbers like every other
  manual in this lab, so the PDU addresses are 2006, 2016 and 2609 (``first_number=1``). If a real Promass 83
  answers exception 0x02 or an off-by-one value, build a profile with ``first_number=0``. Units are those set in the
  device (UNIT MASS FLOW etc.); this profile assumes kg/h, °C and kg — check the device's settings. The gaps
  between the registers are not read (their map is unverified), so a poll makes one request per value.
* **Krohne GFC 300** (:data:`KROHNE_GFC300`; the converter of the OPTISONIC 7300 ultrasonic gas meter): KROHNE
  *GFC 300 Modbus* supplementary manual (03/2012, 7312402100, AD Modbus GFC 300 R01 en), section 6.7 "Input
  registers" (function 04): 30000 = PDU 0 volume flow (float), 30004 = 4 mass flow (float), 30022 = 22 medium
  temperature (float, only with a current input fitted), 30028 = 28 counter 1 (double float, 4 registers), 30032
  counter 2, 30036 counter 3 (double). Units: the table read does not print them; the sister manuals (MFC 300,
  IFC 300) give SI units (m3/s, kg/s, counters m3 or kg), assumed here with counter 1 on volume. Byte order:
  not found in the pages read; big-endian ABCD is assumed. All of 0..43 is documented, so one request reads it.

Readings: each :class:`FlowChannel` gives one :class:`~drivers.reading.Reading` with ``quantity`` set
(``mass_flow``, ``volume_flow``, ``density``, ``temperature``, ``totalizer``) in the unit its register declares.
A value that is not a finite number gets status ``error`` (value NaN).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from drivers.address import Address, parse_address
from drivers.base import Instrument, InstrumentInfo
from drivers.errors import ProtocolError
from drivers.reading import Reading, ReadingStatus
from drivers.transport.modbus import ByteOrder, DataType, ModbusTransport, RegisterKind, RegisterSpec

QUANTITIES = ("mass_flow", "volume_flow", "density", "temperature", "totalizer")


@dataclass(frozen=True, slots=True)
class FlowChannel:
    """One quantity a flow meter reports: its name (one of :data:`QUANTITIES`) and its register."""

    quantity: str
    register: RegisterSpec

    def __post_init__(self) -> None:
        if self.quantity not in QUANTITIES:
            raise ValueError(f"quantity must be one of {', '.join(QUANTITIES)}, got {self.quantity!r}")


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers of ``kind`` from PDU ``start``, carrying ``channels``."""

    kind: RegisterKind
    start: int
    count: int
    channels: tuple[FlowChannel, ...]


@dataclass(frozen=True, slots=True)
class FlowMeterProfile:
    """A flow meter's register map, as data.

    ``max_gap`` is how many documented registers between two channels may be read along (and discarded) to save a
    request; 0 reads only adjacent channels together (use 0 when the gaps are not known to be mapped — a real
    device answers exception 0x02 for an unmapped register in a block).
    """

    manufacturer: str
    model: str
    channels: tuple[FlowChannel, ...]
    max_gap: int = 0

    def __post_init__(self) -> None:
        if not self.channels:
            raise ValueError(f"{self.model}: a profile needs at least one channel")
        if self.max_gap < 0:
            raise ValueError(f"{self.model}: max_gap must be >= 0")
        for b in self.blocks():
            if b.count > 125:
                raise ValueError(f"{self.model}: a block of {b.count} registers exceeds one read (125)")

    def blocks(self) -> list[Block]:
        """The read requests one poll makes, in register order."""
        ordered = sorted(self.channels, key=lambda c: (c.register.kind, c.register.pdu_address))
        blocks: list[Block] = []
        for ch in ordered:
            reg = ch.register
            last = blocks[-1] if blocks else None
            if (
                last is not None
                and last.kind == reg.kind
                and 0 <= reg.pdu_address - (last.start + last.count) <= self.max_gap
            ):
                end = reg.pdu_address + reg.count
                blocks[-1] = Block(last.kind, last.start, end - last.start, (*last.channels, ch))
            else:
                blocks.append(Block(reg.kind, reg.pdu_address, reg.count, (ch,)))
        return blocks

    def with_order(self, order: ByteOrder) -> FlowMeterProfile:
        """The same map with every multi-register value in byte ``order`` (a device set to another byte order)."""
        channels = tuple(
            dataclasses.replace(c, register=dataclasses.replace(c.register, order=order)) for c in self.channels
        )
        return dataclasses.replace(self, channels=channels)

    def decode(self, block: Block, registers: Sequence[int]) -> list[tuple[FlowChannel, float, ReadingStatus]]:
        """Values of one block's channels from its registers; :class:`ProtocolError` when they do not fit."""
        regs = list(registers)
        if len(regs) != block.count:
            raise ProtocolError(f"{self.model}: expected {block.count} registers, got {len(regs)}")
        out = []
        for ch in block.channels:
            offset = ch.register.pdu_address - block.start
            value = ch.register.decode(regs[offset : offset + ch.register.count])
            if math.isfinite(value):
                out.append((ch, value, ReadingStatus.STABLE))
            else:
                out.append((ch, math.nan, ReadingStatus.ERROR))
        return out


def _reg(
    name: str,
    number: int,
    unit: str,
    *,
    data_type: DataType = DataType.FLOAT32,
    kind: RegisterKind = "holding",
    order: ByteOrder = "ABCD",
    first_number: int = 1,
) -> RegisterSpec:
    return RegisterSpec(name, number, data_type, kind, order, unit=unit, first_number=first_number)


#: Siemens SITRANS F C MASS 6000: holding registers, ABCD; manual numbers 4:0xxxx = PDU + 1
SIEMENS_MASS6000 = FlowMeterProfile(
    "Siemens",
    "SITRANS F C MASS 6000",
    (
        FlowChannel("mass_flow", _reg("absolute mass flow", 3001, "kg/s")),
        FlowChannel("volume_flow", _reg("absolute volume flow", 3003, "m3/s")),
        FlowChannel("density", _reg("absolute density", 3005, "kg/m3")),
        FlowChannel("temperature", _reg("sensor temperature", 3007, "°C")),
        FlowChannel("totalizer", _reg("totalizer 1", 3015, "kg", data_type=DataType.FLOAT64)),
    ),
    max_gap=6,  # 3008..3013 are fraction A/B and % fraction A (documented): read 3000..3017 in one request
)

#: Endress+Hauser Proline Promass 83 MODBUS RS485: floats CDAB (factory byte order 1-0-3-2); see module docstring
EH_PROMASS83 = FlowMeterProfile(
    "Endress+Hauser",
    "Proline Promass 83",
    (
        FlowChannel("mass_flow", _reg("mass flow", 2007, "kg/h", order="CDAB")),
        FlowChannel("temperature", _reg("temperature", 2017, "°C", order="CDAB")),
        FlowChannel("totalizer", _reg("totalizer 1", 2610, "kg", order="CDAB")),
    ),
)

#: Krohne GFC 300: input registers (function 04), manual 3xxxx = PDU 30000 + n; counters double float
KROHNE_GFC300 = FlowMeterProfile(
    "Krohne",
    "GFC 300",
    (
        FlowChannel("volume_flow", _reg("volume flow", 30000, "m3/s", kind="input", first_number=30000)),
        FlowChannel("mass_flow", _reg("mass flow", 30004, "kg/s", kind="input", first_number=30000)),
        FlowChannel(
            "totalizer",
            _reg("counter 1", 30028, "m3", data_type=DataType.FLOAT64, kind="input", first_number=30000),
        ),
    ),
    max_gap=24,  # 30000..30031 all documented: one request
)

PROFILES: dict[str, FlowMeterProfile] = {
    "siemens-sitrans-fc-mass6000": SIEMENS_MASS6000,
    "endress-hauser-promass83": EH_PROMASS83,
    "krohne-gfc300": KROHNE_GFC300,
}


class ModbusFlowMeter(Instrument):
    """A Modbus flow meter described by a :class:`FlowMeterProfile` (RTU or TCP, per the address).

    :meth:`poll` reads every channel (as few requests as the profile allows) and returns one reading per channel.
    ``profile`` may be given per instance (e.g. ``SIEMENS_MASS6000.with_order("CDAB")`` for a re-configured device).
    """

    protocol = "modbus-tcp"
    profile: ClassVar[FlowMeterProfile] = SIEMENS_MASS6000

    def __init__(
        self, transport: ModbusTransport, instrument_id: str = "", *, profile: FlowMeterProfile | None = None
    ) -> None:
        super().__init__(instrument_id or transport.address.shown)
        self.transport = transport
        self.map = profile or type(self).profile

    @classmethod
    def connect(cls, address: Address | str, instrument_id: str = "") -> Self:
        """A driver on a :class:`ModbusTransport` for ``address`` (the link opens on first use)."""
        parsed = parse_address(address) if isinstance(address, str) else address
        transport = ModbusTransport(parsed, name=f"{cls.profile.manufacturer} {cls.profile.model}")
        return cls(transport, instrument_id or parsed.shown)

    def identify(self) -> InstrumentInfo:
        """Manufacturer and model from the profile, after checking the meter answers (these maps have no serial)."""
        first = self.map.blocks()[0]
        self._read(first)
        info = InstrumentInfo(manufacturer=self.map.manufacturer, model=self.map.model)
        self.transport.name = info.label()
        return info

    def _read(self, block: Block) -> list[tuple[FlowChannel, float, ReadingStatus]]:
        registers = self.transport.read_registers(block.start, block.count, block.kind)
        try:
            return self.map.decode(block, registers)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.transport.describe()}: {exc}. Check the profile/register map.") from None

    def poll(self) -> list[Reading]:
        """Every channel's value now, in the profile's channel order."""
        with self.transport.exclusive():
            decoded = [item for block in self.map.blocks() for item in self._read(block)]
        order = {ch: i for i, ch in enumerate(self.map.channels)}
        decoded.sort(key=lambda item: order[item[0]])
        return [
            Reading(value, ch.register.unit, status, self.instrument_id, quantity=ch.quantity)
            for ch, value, status in decoded
        ]

    def read_quantity(self, quantity: str) -> Reading:
        """One request for just ``quantity`` (e.g. ``"mass_flow"``); ValueError when the profile lacks it."""
        for ch in self.map.channels:
            if ch.quantity == quantity:
                block = Block(ch.register.kind, ch.register.pdu_address, ch.register.count, (ch,))
                _, value, status = self._read(block)[0]
                return Reading(value, ch.register.unit, status, self.instrument_id, quantity=ch.quantity)
        raise ValueError(f"{self.map.model} has no {quantity!r}; it reports {[c.quantity for c in self.map.channels]}")

    def close(self) -> None:
        """Release the link."""
        self.transport.close()


class SiemensMass6000(ModbusFlowMeter):
    """Siemens SITRANS F C MASS 6000 (Modbus RTU module, or behind a Modbus TCP gateway)."""

    protocol = "modbus-rtu"
    profile = SIEMENS_MASS6000


class PromassModbus(ModbusFlowMeter):
    """Endress+Hauser Proline Promass 83 MODBUS RS485."""

    protocol = "modbus-rtu"
    profile = EH_PROMASS83


class KrohneGfc300(ModbusFlowMeter):
    """Krohne GFC 300 converter (OPTISONIC 7300) with Modbus."""

    protocol = "modbus-rtu"
    profile = KROHNE_GFC300
