"""A generic Modbus slave simulator that behaves on the wire like a real device (Modbus TCP, or RTU framed on TCP).

Real-device behaviour kept here (Modbus Application Protocol Specification V1.1b3 section 7, Modbus over Serial
Line V1.02 sections 2.4 and 2.5.1; PROTOCOLS.md "Modbus flow meters"):

* a register that is not mapped -> exception 0x02 ILLEGAL DATA ADDRESS (pymodbus' ``SimDevice`` answers 0x04);
  an unsupported function -> 0x01; a count outside 1..125 -> 0x03;
* no address shift: PDU address n is register n of the map (pymodbus' classic datastore shifts by one);
* on RTU a request for another unit id, a broadcast (unit 0) or a frame with a bad CRC gets no reply at all;
  on TCP a foreign unit id is ignored too, unless ``answer_any_unit`` (some devices, e.g. Comet Tx5xx, answer
  any unit identifier on TCP);
* RTU timing: a request of n characters arrives in n character times, the slave recognises its end after 3.5
  character times of silence, and the reply leaves at line rate (11 bits per character with parity or two stop
  bits, 10 for 8N1) — see :class:`drivers.address.SerialSettings`.

Frames are decoded and encoded with pymodbus' framers and PDU classes (no hand-written CRC); pacing and fault
injection (drop, delay, garble, disconnect, silent) reuse :class:`simulators.serial_server.LineConnection`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from pymodbus.framer import FramerRTU, FramerSocket
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersResponse,
    WriteMultipleRegistersRequest,
    WriteMultipleRegistersResponse,
    WriteSingleRegisterRequest,
    WriteSingleRegisterResponse,
)

from drivers.address import SerialSettings
from simulators.faults import Faults
from simulators.serial_server import LineConnection, SerialServer

Framing = Literal["tcp", "rtu"]
RegisterKind = Literal["holding", "input"]
#: a register's value: a fixed number or a function evaluated at each read (0..65535)
RegisterValue = int | Callable[[], int]

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
_MAX_BUFFER = 1024  # bytes of unframed input kept before it is thrown away as noise


class ModbusDevice:
    """Register-level behaviour of one Modbus slave (thread-safe: tests change registers from another thread).

    ``functions`` lists the function codes the device implements (others -> exception 0x01). ``holding`` and
    ``input`` map PDU addresses to values; reads of any unmapped address in the range -> exception 0x02.
    ``writable`` lists holding addresses a client may write (others -> 0x02).
    """

    def __init__(
        self,
        unit: int = 1,
        *,
        functions: Iterable[int] = (3, 4, 6, 16),
        holding: Mapping[int, RegisterValue] | None = None,
        input_registers: Mapping[int, RegisterValue] | None = None,
        writable: Iterable[int] = (),
        answer_any_unit: bool = False,
    ) -> None:
        if not 1 <= unit <= 247:
            raise ValueError(f"Modbus unit id must be 1..247, got {unit}")
        self.unit = unit
        self.functions = frozenset(functions)
        self.answer_any_unit = answer_any_unit
        self._lock = threading.Lock()
        self._banks: dict[RegisterKind, dict[int, RegisterValue]] = {
            "holding": dict(holding or {}),
            "input": dict(input_registers or {}),
        }
        self._writable = set(writable)
        self.requests = 0  # requests answered or refused (not the silent ones)

    def set_registers(self, kind: RegisterKind, address: int, values: Iterable[RegisterValue]) -> None:
        """Map (or overwrite) consecutive registers from PDU ``address``."""
        with self._lock:
            bank = self._banks[kind]
            for i, value in enumerate(values):
                if isinstance(value, int) and not 0 <= value <= 0xFFFF:
                    raise ValueError(f"register {address + i}: value {value} is not 0..65535")
                bank[address + i] = value

    def unmap(self, kind: RegisterKind, address: int, count: int = 1) -> None:
        """Remove registers from the map (reads then get exception 0x02)."""
        with self._lock:
            for a in range(address, address + count):
                self._banks[kind].pop(a, None)

    def read(self, kind: RegisterKind, address: int, count: int) -> list[int] | int:
        """The registers, or an exception code."""
        with self._lock:
            bank = self._banks[kind]
            if any(a not in bank for a in range(address, address + count)):
                return ILLEGAL_DATA_ADDRESS
            values = [bank[a] for a in range(address, address + count)]
        out = [v() if callable(v) else v for v in values]
        return [v & 0xFFFF for v in out]

    def write(self, address: int, values: list[int]) -> int:
        """Store written holding registers; 0 or an exception code."""
        with self._lock:
            if any(a not in self._writable for a in range(address, address + len(values))):
                return ILLEGAL_DATA_ADDRESS
            for i, v in enumerate(values):
                self._banks["holding"][address + i] = v
        return 0

    def addressed(self, dev_id: int, framing: Framing) -> bool:
        """Does a request to ``dev_id`` get an answer (False = stay silent)?"""
        if dev_id == self.unit:
            return True
        return framing == "tcp" and self.answer_any_unit

    def respond(self, dev_id: int, tid: int, frame: bytes, framing: Framing) -> ModbusPDU | None:
        """The reply PDU to a request PDU ``frame`` (function code + data), or None for silence."""
        if not frame or not self.addressed(dev_id, framing):
            return None
        self.requests += 1
        fc = frame[0]

        def exception(code: int) -> ModbusPDU:
            return ExceptionResponse(fc, code, device_id=dev_id, transaction=tid)

        if fc not in self.functions:
            return exception(ILLEGAL_FUNCTION)
        pdu = DecodePDU(is_server=True).decode(frame)
        if pdu is None:
            return exception(ILLEGAL_DATA_VALUE)
        if isinstance(pdu, ReadHoldingRegistersRequest):  # also ReadInputRegistersRequest (fc 4)
            if pdu.address + pdu.count > 0x10000:
                return exception(ILLEGAL_DATA_ADDRESS)
            kind: RegisterKind = "holding" if fc == 3 else "input"
            values = self.read(kind, pdu.address, pdu.count)
            if isinstance(values, int):
                return exception(values)
            cls = ReadHoldingRegistersResponse if fc == 3 else ReadInputRegistersResponse
            return cls(registers=values, dev_id=dev_id, transaction_id=tid)
        if isinstance(pdu, WriteSingleRegisterRequest):
            code = self.write(pdu.address, list(pdu.registers))
            if code:
                return exception(code)
            return WriteSingleRegisterResponse(
                address=pdu.address, registers=list(pdu.registers), dev_id=dev_id, transaction_id=tid
            )
        if isinstance(pdu, WriteMultipleRegistersRequest):
            if not 1 <= pdu.count <= 123 or len(pdu.registers) != pdu.count:
                return exception(ILLEGAL_DATA_VALUE)
            code = self.write(pdu.address, list(pdu.registers))
            if code:
                return exception(code)
            return WriteMultipleRegistersResponse(
                address=pdu.address, count=pdu.count, dev_id=dev_id, transaction_id=tid
            )
        return exception(ILLEGAL_FUNCTION)


class ModbusServer(SerialServer):
    """TCP listener serving one :class:`ModbusDevice` as Modbus TCP (MBAP) or as RTU frames on raw TCP.

    ``settings`` paces the bytes at a serial line rate (``None``: unpaced); ``faults`` injects reply faults.
    Bind to 127.0.0.1 only; ``port=0`` picks a free port (read :attr:`port` after :meth:`start`).
    The listener, pacing and faults are :class:`SerialServer`'s; this class adds the Modbus frame loop.
    """

    def __init__(
        self,
        device: ModbusDevice,
        *,
        framing: Framing = "tcp",
        host: str = "127.0.0.1",
        port: int = 0,
        settings: SerialSettings | None = None,
        faults: Faults | None = None,
    ) -> None:
        if framing not in ("tcp", "rtu"):
            raise ValueError(f"framing must be 'tcp' or 'rtu', got {framing!r}")
        super().__init__(self._serve, host=host, port=port, settings=settings, faults=faults, terminator=b"")
        self.device = device
        self.framing: Framing = framing

    @property
    def url(self) -> str:
        """The address a driver connects to."""
        if self.framing == "tcp":
            return f"modbus+tcp://{self.host}:{self.port}?unit={self.device.unit}"
        url = f"modbus+rtu+socket://{self.host}:{self.port}?unit={self.device.unit}"
        s = self.settings
        if s is not None:
            url += f"&baud={s.baud}&parity={s.parity}&stopbits={s.stopbits:g}"
        return url

    async def _serve(self, conn: LineConnection) -> None:
        decoder = DecodePDU(is_server=True)
        framer: FramerRTU | FramerSocket = FramerRTU(decoder) if self.framing == "rtu" else FramerSocket(decoder)
        buffer = b""
        while not conn.closed:
            chunk = await conn.reader.read(512)
            if not chunk:
                return
            buffer += chunk
            while buffer and not conn.closed:
                used, dev_id, tid, frame = framer.decode(buffer)
                if not used:
                    if len(buffer) > _MAX_BUFFER:
                        buffer = b""  # noise with no frame in it
                    break
                raw, buffer = buffer[:used], buffer[used:]
                if not frame:
                    continue  # bad CRC or noise: a real slave ignores it
                if conn.char_time:
                    gap = 3.5 if self.framing == "rtu" else 0.0
                    await asyncio.sleep((len(raw) + gap) * conn.char_time)  # arrival at line rate + end-of-frame gap
                reply = self.device.respond(dev_id, tid, frame, self.framing)
                if reply is None:
                    continue
                if not await conn.send(framer.buildFrame(reply)):
                    return
