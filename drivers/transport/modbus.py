"""Modbus client transport (TCP, RTU on a local port, RTU framed on raw TCP) over pymodbus' SYNC clients.

Facts honoured (see /work/shared/design/PROTOCOLS.md, "Modbus flow meters", and the Modbus Application Protocol
Specification V1.1b3, section 7 "MODBUS Exception Responses"):

* Manuals number registers from 1 ("4:03001", "40001", "register 0x31"); the PDU carries the address from 0 (3000).
  :class:`RegisterSpec` keeps both and the offset explicit.
* Inside a register the bytes are big-endian. ``word_order`` only swaps registers: ABCD = ``"big"``, CDAB =
  ``"little"``; BADC and DCBA also swap the two bytes inside each register. The pure decoders below
  (:func:`decode_registers`, :func:`encode_value`) do that and delegate the IEEE/integer unpacking to pymodbus'
  ``convert_from_registers``/``convert_to_registers``; other drivers (flow meters) reuse them.
* Outcomes are mapped to our errors: no answer -> :class:`DeviceTimeoutError`; refused or dropped connection ->
  :class:`DeviceConnectionError`; exception response -> :class:`DeviceError` with ``code="0x02"`` etc.; bytes that
  are not a valid frame (CRC error, wrong unit, undecodable) -> :class:`ProtocolError`.
* pymodbus' own retries are 0: this transport decides. A READ is idempotent, so after a connection loss it is sent
  once more on a fresh connection; a WRITE never is. After a timeout or a garbled reply the link is closed, so a
  late reply can never be taken for the answer to the next request; it reopens on the next call. Failed
  connection attempts back off exponentially (:class:`Backoff`; the life cycle shared with the serial transport is
  :mod:`drivers.transport.lifecycle`).
"""

from __future__ import annotations

import fcntl
import math
import select
import struct
import termios
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, Protocol, cast

from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from drivers.address import Address
from drivers.errors import DeviceConnectionError, DeviceError, DeviceTimeoutError, ProtocolError
from drivers.transport.backoff import Backoff
from drivers.transport.lifecycle import TransportLifecycle

ByteOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]
RegisterKind = Literal["holding", "input"]
BYTE_ORDERS: tuple[ByteOrder, ...] = ("ABCD", "CDAB", "BADC", "DCBA")

#: Modbus exception codes -> names (Modbus Application Protocol Specification V1.1b3, section 7)
EXCEPTION_NAMES: dict[int, str] = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "server device failure",
    0x05: "acknowledge",
    0x06: "server device busy",
    0x08: "memory parity error",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}
_EXCEPTION_ADVICE: dict[int, str] = {
    0x01: "the device does not support this function code — check the profile",
    0x02: "check the register map/profile (manual numbers start at 1, PDU addresses at 0)",
    0x03: "the count or value is out of the device's range — check the profile",
    0x04: "the device reports an internal failure — check it on site",
    0x06: "the device is busy — try again later",
    0x0B: "the gateway got no answer from the device behind it — check the unit id and the RS-485 line",
}


class DataType(Enum):
    """Register data types: (pymodbus DATATYPE name, registers used)."""

    INT16 = ("INT16", 1)
    UINT16 = ("UINT16", 1)
    INT32 = ("INT32", 2)
    UINT32 = ("UINT32", 2)
    FLOAT32 = ("FLOAT32", 2)
    FLOAT64 = ("FLOAT64", 4)

    @property
    def registers(self) -> int:
        """Number of 16-bit registers one value occupies."""
        return self.value[1]


def _check_order(order: str) -> ByteOrder:
    for known in BYTE_ORDERS:
        if order == known:
            return known
    raise ValueError(f"byte order must be one of {', '.join(BYTE_ORDERS)}, got {order!r}")


def _swap_bytes(registers: Sequence[int]) -> list[int]:
    return [((r & 0xFF) << 8) | (r >> 8) for r in registers]


def shortest_float32(value: float) -> float:
    """The shortest decimal that rounds to the same float32 as ``value`` (e.g. 998.2, not 998.2000122).

    A float32 carries about 7 significant digits; widening it to float64 invents digits the instrument never
    measured. NaN and infinities are returned as they are.
    """
    if not math.isfinite(value):
        return value
    packed = struct.pack(">f", value)
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack(">f", candidate) == packed:
            return candidate
    return value  # pragma: no cover - 9 significant digits always round-trip a float32


def decode_registers(registers: Sequence[int], data_type: DataType, order: str = "ABCD") -> int | float:
    """Decode ``registers`` (as read, each 0..65535) into one value of ``data_type`` in byte ``order``.

    ``order`` names the byte sequence of the value as the registers carry it: ``ABCD`` (big-endian, words in
    order), ``CDAB`` (word-swapped), ``BADC`` (bytes swapped in each word), ``DCBA`` (fully reversed).
    Raise :class:`ProtocolError` when the registers do not fit the type, ``ValueError`` for a bad order.
    """
    byte_order = _check_order(order)
    if not isinstance(data_type, DataType):
        raise ValueError(f"data_type must be a DataType, got {data_type!r}")
    regs = list(registers)
    if len(regs) != data_type.registers:
        raise ProtocolError(f"{data_type.name} needs {data_type.registers} register(s), got {len(regs)}: {regs}")
    for r in regs:
        if not isinstance(r, int) or isinstance(r, bool) or not 0 <= r <= 0xFFFF:
            raise ProtocolError(f"register value {r!r} is not a 16-bit unsigned integer")
    if byte_order in ("BADC", "DCBA"):
        regs = _swap_bytes(regs)
    word_order: Literal["big", "little"] = "little" if byte_order in ("CDAB", "DCBA") else "big"
    pm_type = ModbusClientMixin.DATATYPE[data_type.value[0]]
    value = ModbusClientMixin.convert_from_registers(regs, pm_type, word_order=word_order)
    if data_type is DataType.FLOAT32 and isinstance(value, float):
        return shortest_float32(value)
    if isinstance(value, (int, float)):
        return value
    raise ProtocolError(f"cannot decode {regs} as {data_type.name}")  # pragma: no cover - pymodbus contract


def encode_value(value: float, data_type: DataType, order: str = "ABCD") -> list[int]:
    """The registers carrying ``value`` as ``data_type`` in byte ``order`` (inverse of :func:`decode_registers`).

    Raise ``ValueError`` when the value does not fit the type (e.g. 70000 as INT16).
    """
    byte_order = _check_order(order)
    pm_type = ModbusClientMixin.DATATYPE[data_type.value[0]]
    number: int | float = float(value) if data_type in (DataType.FLOAT32, DataType.FLOAT64) else int(value)
    word_order: Literal["big", "little"] = "little" if byte_order in ("CDAB", "DCBA") else "big"
    try:
        regs = ModbusClientMixin.convert_to_registers(number, pm_type, word_order=word_order)
    except Exception as exc:  # struct.error, OverflowError
        raise ValueError(f"{value!r} does not fit {data_type.name}: {exc}") from None
    return _swap_bytes(regs) if byte_order in ("BADC", "DCBA") else regs


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """One value in a register map, as the manual prints it.

    ``manual_number`` is the register number the manual writes (e.g. 3001 for "4:03001", 0x31 for Comet's
    "0x0031"); ``first_number`` is the number the manual gives the register at PDU address 0 (1 for nearly every
    manual, 0 for manuals that print PDU addresses). ``scale`` multiplies the decoded value; ``unit`` is the unit
    of the scaled value.
    """

    name: str
    manual_number: int
    data_type: DataType = DataType.FLOAT32
    kind: RegisterKind = "holding"
    order: ByteOrder = "ABCD"
    scale: float = 1.0
    unit: str = ""
    first_number: int = 1

    def __post_init__(self) -> None:
        _check_order(self.order)
        if self.kind not in ("holding", "input"):
            raise ValueError(f"{self.name}: register kind must be holding or input, got {self.kind!r}")
        if not 0 <= self.pdu_address <= 0xFFFF - self.count + 1:
            raise ValueError(f"{self.name}: register {self.manual_number} gives PDU address {self.pdu_address}")

    @property
    def pdu_address(self) -> int:
        """Address on the wire (0-based)."""
        return self.manual_number - self.first_number

    @property
    def count(self) -> int:
        """Registers to read."""
        return self.data_type.registers

    def decode(self, registers: Sequence[int]) -> float:
        """Scaled value from this spec's registers (a scale of 0.1 divides by 10, so 1013 gives exactly 101.3)."""
        raw = float(decode_registers(registers, self.data_type, self.order))
        if 0 < self.scale < 1 and (1 / self.scale).is_integer():
            return raw / round(1 / self.scale)
        return raw * self.scale


class ModbusClient(Protocol):
    """The part of a pymodbus sync client the transport uses."""

    def connect(self) -> bool: ...
    def close(self) -> None: ...
    def read_holding_registers(self, address: int, *, count: int = 1, device_id: int = 1) -> Any: ...
    def read_input_registers(self, address: int, *, count: int = 1, device_id: int = 1) -> Any: ...
    def write_register(self, address: int, value: int, *, device_id: int = 1) -> Any: ...
    def write_registers(self, address: int, values: Sequence[int], *, device_id: int = 1) -> Any: ...


TracePacket = Callable[[bool, bytes], bytes]
ClientFactory = Callable[[Address, TracePacket], ModbusClient]


class RtuSerialClient(ModbusSerialClient):
    """pymodbus's RTU client, told how many bytes really wait and polling at the RTU inter-character time.

    pymodbus 3.x collects an RTU reply by polling ``in_waiting`` until it stops growing. On a serial device server
    (pyserial ``socket://``) ``in_waiting`` is only 0 or 1 (readable or not), so a 41-byte reply took ~80 poll
    cycles and the link ran at a third of its line rate (``benchmarks/modbus_rate.py``). Here the count comes from
    ``FIONREAD`` on the TCP socket, and the poll interval is t1.5 (Modbus over Serial Line V1.02, 2.5.1.1). Local
    ports keep pymodbus's own behaviour. Relies on pymodbus 3.x internals (``_in_waiting``, ``_t0``,
    ``_recv_interval``); pinned below 4, and the RTU tests and benchmark exercise it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        t0 = getattr(self, "_t0", None)
        if isinstance(t0, float) and hasattr(self, "_recv_interval"):
            self._recv_interval = max(1.5 * t0, 0.0005)

    def _in_waiting(self) -> int:
        sock = getattr(self.socket, "_socket", None)  # pyserial's socket:// handler keeps its TCP socket here
        if sock is None:
            return cast(int, super()._in_waiting())  # type: ignore[no-untyped-call]
        try:
            waiting = int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0])
            if waiting == 0 and select.select([sock], [], [], 0)[0]:
                return 1  # readable with nothing to read: the peer closed; the read will report the disconnect
        except (OSError, ValueError):  # closed under us: let pymodbus find out on read
            return cast(int, super()._in_waiting())  # type: ignore[no-untyped-call]
        return waiting


def open_pymodbus(address: Address, trace: TracePacket) -> ModbusClient:
    """A pymodbus sync client for ``address`` with internal retries off (the transport decides)."""
    if address.kind == "modbus-tcp":
        return cast(
            ModbusClient,
            ModbusTcpClient(address.host, port=address.port, timeout=address.timeout, retries=0, trace_packet=trace),
        )
    if address.kind == "modbus-rtu":
        s = address.serial
        return cast(
            ModbusClient,
            RtuSerialClient(
                address.target,  # a device path, or socket://host:port for RTU framed on raw TCP
                framer=FramerType.RTU,
                baudrate=s.baud,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=cast(int, s.stopbits),
                timeout=address.timeout,
                retries=0,
                trace_packet=trace,
            ),
        )
    raise ValueError(
        f"{address.shown}: not a Modbus address (use modbus+tcp://, modbus+rtu:// or modbus+rtu+socket://)"
    )


class ModbusTransport(TransportLifecycle[ModbusClient]):
    """A Modbus link to one device (one unit id), serialised by a per-instrument lock.

    ``name`` labels the instrument in every error message (drivers refine it after identification, e.g.
    ``"Comet T7510 SN 12345678"``). ``client_factory`` builds the pymodbus client (tests may pass another).
    Opening, closing, back-off and the lock: :class:`~drivers.transport.lifecycle.TransportLifecycle`.
    """

    down_reason = "last connection attempt failed"
    advice = "Check the cable, power, IP address/port and that no other program holds the port."

    def __init__(
        self,
        address: Address | str,
        *,
        name: str = "",
        client_factory: ClientFactory = open_pymodbus,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(address, name=name, backoff=backoff)
        if self.address.kind not in ("modbus-tcp", "modbus-rtu"):
            raise ValueError(
                f"{self.address.shown}: not a Modbus address (use modbus+tcp://, modbus+rtu:// or modbus+rtu+socket://)"
            )
        self.unit = self.address.unit
        self._factory = client_factory
        self._rx = b""  # bytes received during the current request (for error messages)

    # -- life cycle -------------------------------------------------------------------------------------------
    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending and data:
            self._rx = bytes(data)
        return data

    def _connect(self) -> ModbusClient:
        problem = ""
        client: ModbusClient | None = None
        try:
            client = self._factory(self.address, self._trace)
            ok = client.connect()
        except (OSError, ModbusException, ValueError) as exc:
            ok, problem = False, f" ({exc})"
        if not ok:
            if client is not None:
                self._disconnect(client)
            raise DeviceConnectionError(f"{self.describe()}: cannot connect{problem}. {self.advice}")
        assert client is not None
        return client

    def _disconnect(self, link: ModbusClient) -> None:
        with suppress(Exception):
            link.close()

    # -- requests ---------------------------------------------------------------------------------------------
    def _execute(self, what: str, call: Callable[[ModbusClient], Any], *, idempotent: bool) -> Any:
        with self._lock:
            attempts = 2 if idempotent else 1
            for attempt in range(attempts):
                client = self._ensure_open()
                self._rx = b""
                try:
                    response = call(client)
                except ConnectionException as exc:
                    if attempt + 1 < attempts:
                        self.close()
                        continue  # a read is idempotent: reconnect and send it once more
                    self._link_lost()
                    raise DeviceConnectionError(
                        f"{self.describe()}: connection lost during {what} ({exc}); it will be reopened on the next "
                        "request. Check the cable, power and network."
                    ) from exc
                except ModbusIOException as exc:
                    received, self._rx = self._rx, b""
                    self.close()  # drop any late reply with the connection
                    if received:
                        raise ProtocolError(
                            f"{self.describe()}: no valid reply to {what}: received {received[:40].hex(' ')} which is "
                            "not a valid frame for this request (CRC error, wrong unit id or noise). Check the "
                            "wiring, termination, baud rate/parity and unit id."
                        ) from exc
                    raise DeviceTimeoutError(
                        f"{self.describe()}: no answer to {what} within {self.address.timeout:g} s. Is it switched "
                        f"on and connected, and is the unit id {self.unit} and the line setting right?"
                    ) from exc
                except ModbusException as exc:
                    self.close()
                    raise ProtocolError(f"{self.describe()}: {what} failed: {exc}") from exc
                except OSError as exc:
                    self._link_lost()
                    raise DeviceConnectionError(
                        f"{self.describe()}: link error during {what} ({exc}); it will be reopened on the next request."
                    ) from exc
                if response is None:  # pragma: no cover - only with no_response_expected
                    raise DeviceTimeoutError(f"{self.describe()}: no answer to {what}")
                if response.isError():
                    code = int(getattr(response, "exception_code", 0))
                    name = EXCEPTION_NAMES.get(code, "unknown exception")
                    advice = _EXCEPTION_ADVICE.get(code, "see the device manual")
                    raise DeviceError(
                        f"{self.describe()}: {name} (Modbus exception 0x{code:02X}) for {what} on unit {self.unit} "
                        f"— {advice}",
                        code=f"0x{code:02X}",
                    )
                return response
            raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _check_range(address: int, count: int) -> None:
        if not 0 <= address <= 0xFFFF:
            raise ValueError(f"register address must be 0..65535, got {address}")
        if not 1 <= count <= 125 or address + count > 0x10000:
            raise ValueError(f"register count must be 1..125 within the address space, got {count} at {address}")

    def read_registers(self, address: int, count: int, kind: RegisterKind = "holding") -> list[int]:
        """Read ``count`` registers from PDU ``address`` (function 0x03 holding, 0x04 input)."""
        self._check_range(address, count)
        if kind not in ("holding", "input"):
            raise ValueError(f"register kind must be holding or input, got {kind!r}")
        what = f"read of {kind} register {address} (+{count})"
        unit = self.unit

        def call(client: ModbusClient) -> Any:
            if kind == "holding":
                return client.read_holding_registers(address, count=count, device_id=unit)
            return client.read_input_registers(address, count=count, device_id=unit)

        response = self._execute(what, call, idempotent=True)
        registers = [int(r) for r in response.registers]
        if len(registers) != count:
            raise ProtocolError(
                f"{self.describe()}: {what} returned {len(registers)} registers instead of {count}. "
                "Check the unit id and the register map."
            )
        return registers

    def read_holding_registers(self, address: int, count: int = 1) -> list[int]:
        """Function 0x03."""
        return self.read_registers(address, count, "holding")

    def read_input_registers(self, address: int, count: int = 1) -> list[int]:
        """Function 0x04."""
        return self.read_registers(address, count, "input")

    def read_value(self, spec: RegisterSpec) -> float:
        """Read and decode one :class:`RegisterSpec` (scaled, in ``spec.unit``)."""
        return spec.decode(self.read_registers(spec.pdu_address, spec.count, spec.kind))

    def write_register(self, address: int, value: int) -> None:
        """Function 0x06; never retried (a write may not be idempotent)."""
        self._check_range(address, 1)
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"register value must be 0..65535, got {value}")
        unit = self.unit
        self._execute(
            f"write of register {address}",
            lambda c: c.write_register(address, value, device_id=unit),
            idempotent=False,
        )

    def write_registers(self, address: int, values: Sequence[int]) -> None:
        """Function 0x10; never retried."""
        vals = [int(v) for v in values]
        self._check_range(address, len(vals))
        if any(not 0 <= v <= 0xFFFF for v in vals):
            raise ValueError(f"register values must be 0..65535, got {vals}")
        unit = self.unit
        self._execute(
            f"write of registers {address} (+{len(vals)})",
            lambda c: c.write_registers(address, vals, device_id=unit),
            idempotent=False,
        )
