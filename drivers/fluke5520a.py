"""Fluke 5520A (and 5522A) multifunction calibrator over RS-232 in computer mode: codec and driver.

Where the facts come from:

* [OM] Fluke *5520A Operators Manual*, chapter 5 "Remote Operation" and chapter 6 "Remote Commands", and the
  *5520A Programmers Guide* (pocket command list) as published on manual mirror sites; the 5522A/5820A operators
  manuals share the text of the "Terminators" and "Parameter Syntax Rules" sections:

  - RS-232 host port: 8 data bits, no parity, 1 stop bit at 9600 baud is the setting used here (the port offers
    300..9600 baud, 7/8 data bits, 1/2 stop bits, parity none/odd/even, ``SP_SET?``), interface ``COMP``
    (computer mode: no echo, no ``5520A>`` prompt) rather than ``TERM``;
  - "Terminators": commands sent to the calibrator end in CR or LF or both (the manual's RS-232 computer-mode
    example appends ``Chr(10)``, i.e. LF); every response ends with the selectable EOL: CR, LF or CR LF
    (``SP_SET?`` field 7). This driver sends LF and accepts responses ending in LF or CR LF (EOL = CR alone is
    not supported: set the calibrator's EOL to CRLF or LF);
  - "Parameter Syntax Rules": parameters separated by commas, one space after the command, units such as
    ``V``, ``A``, ``OHM``, ``HZ`` (case-insensitive), numbers with exponents;
  - ``OUT <value> <unit>[, <frequency> HZ]`` sets the output (``OUT 10 V``, ``OUT 1 V, 60 HZ``,
    ``OUT 100 OHM``); ``OPER`` / ``STBY`` switch the output terminals on/off; ``OPER?`` answers ``1`` in operate
    and ``0`` in standby; ``OUT?`` answers ``<primary>,<unit>,<secondary>,<unit>,<frequency>`` (unused
    secondary ``0E+00,0``; frequency 0 for dc), e.g. ``1.000000E+01,V,0E+00,0,0.00E+00``;
  - ``ERR?`` returns the oldest error as ``<code>,"<text>"`` and removes it; ``0,"No Error"`` when the queue is
    empty (drain by repeating until code 0); ``*CLS`` clears the status and the error queue; ``*OPC?`` -> ``1``;
    ``*IDN?`` -> ``FLUKE,5520A,<serial>,<firmware>``; ``LIMIT <positive>,<negative>`` sets the output limits;
    ``REMOTE``/``LOCAL`` on RS-232;
  - the calibrator may go to standby by itself (e.g. when an output above 33 V is newly selected, or on an
    overload or a safety condition), so nothing it sources is trusted until ``OPER?`` confirms operate.

Not confirmed against a scanned page (written from the manual as summarised in /work/shared/design/PROTOCOLS.md
and the mirrored pages): the exact number of digits in ``OUT?`` replies and the exact text of error messages.
The parsers therefore accept any well-formed number and any quoted text.

``poll()`` policy: a reading of the calibrator is its output setting (quantity ``output``), status stable, and only
after ``OPER?`` answered ``1`` in the same cycle. In standby ``poll()`` raises :class:`DeviceError` (code
``STBY``): the terminals carry nothing, and a standby value must never be taken for a sourced one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Self

from drivers.address import Address
from drivers.base import Instrument, InstrumentInfo
from drivers.errors import DeviceError, ProtocolError
from drivers.reading import Reading, ReadingStatus
from drivers.transport.serial import SerialTransport

LF = b"\n"
MANUFACTURER = "Fluke"
DEFAULT_WHO = "Fluke 5520A calibrator"

#: output units accepted by OUT (volts, amperes, ohms, farads, degrees Celsius/Fahrenheit) [OM] ch. 6 OUT
OUTPUT_UNITS = frozenset({"V", "A", "OHM", "F", "CEL", "FAR"})
#: the most errors drained in one call (the 5520A queue holds far fewer)
MAX_ERRORS = 64

_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[Ee][+-]?[0-9]{1,3})?$")
_ERROR = re.compile(r'^([+-]?[0-9]{1,6}),"([^"]*)"$')
_COMMAND = re.compile(r"^[*A-Z_][A-Z0-9_?*]*(?: [ -~]+)?$")


# ---------------------------------------------------------------------------------------------------- codec
def encode(command: str) -> bytes:
    """Request bytes: the ASCII command text followed by LF ([OM] "Terminators")."""
    if not _COMMAND.match(command) or any(c in command for c in "\r\n"):
        raise ValueError(f"not a 5520A command (upper case, one line, ASCII): {command!r}")
    return command.encode("ascii") + LF


def format_number(value: float) -> str:
    """A number as a command parameter: up to 10 significant digits, exponent when needed (``10``, ``1E-05``)."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return f"{value:.10G}"


def encode_output(value: float, unit: str, frequency: float | None = None) -> bytes:
    """``OUT <value> <unit>[, <frequency> HZ]`` (value in ``unit``; frequency in Hz; None or 0 = dc)."""
    u = unit.upper()
    if u not in OUTPUT_UNITS:
        raise ValueError(f"unit {unit!r} is not a 5520A output unit; use one of {', '.join(sorted(OUTPUT_UNITS))}")
    text = f"OUT {format_number(value)} {u}"
    if frequency:
        if frequency < 0:
            raise ValueError(f"frequency must be >= 0 Hz, got {frequency!r}")
        text += f", {format_number(frequency)} HZ"
    return encode(text)


def encode_limits(positive: float, negative: float, unit: str) -> bytes:
    """``LIMIT <positive> <unit>,<negative> <unit>``: the output limits (``negative`` <= 0 <= ``positive``)."""
    u = unit.upper()
    if u not in OUTPUT_UNITS:
        raise ValueError(f"unit {unit!r} is not a 5520A output unit")
    if not (negative <= 0 <= positive):
        raise ValueError(f"limits must satisfy negative <= 0 <= positive, got {positive!r}, {negative!r}")
    return encode(f"LIMIT {format_number(positive)} {u},{format_number(negative)} {u}")


def decode_line(line: bytes, who: str = DEFAULT_WHO) -> str:
    """One reply line (LF or CR LF included) as text; ProtocolError when garbled, unterminated or not ASCII."""
    if not line.endswith(LF):
        raise ProtocolError(f"{who}: reply {line!r} does not end with a line feed; wrong instrument or EOL setting?")
    body = line[:-2] if line.endswith(b"\r\n") else line[:-1]
    if any(b < 32 or b > 126 for b in body):
        raise ProtocolError(f"{who}: non-printing byte(s) in reply {line!r}; garbled line or wrong baud rate?")
    return body.decode("ascii")


def parse_number(text: str, who: str = DEFAULT_WHO, raw: bytes = b"") -> float:
    """A decimal number with optional exponent (``+9.99999999E+00``, `` 1.000000023E+01``) as float."""
    t = text.strip()
    if not _NUMBER.match(t):
        raise ProtocolError(f"{who}: {text!r} in reply {raw!r} is not a number")
    return float(t)


def parse_bool(line: bytes, who: str = DEFAULT_WHO, what: str = "query") -> bool:
    """A ``1``/``0`` reply (``OPER?``, ``*OPC?``)."""
    text = decode_line(line, who).strip()
    if text not in ("0", "1"):
        raise ProtocolError(f"{who}: {what} answered {line!r}, expected 1 or 0")
    return text == "1"


def parse_error(line: bytes, who: str = DEFAULT_WHO) -> tuple[int, str]:
    """An error-queue entry ``<code>,"<text>"`` (``0,"No Error"``; SCPI ``+0,"No error"``) as (code, text)."""
    text = decode_line(line, who).strip()
    m = _ERROR.match(text)
    if not m:
        raise ProtocolError(f'{who}: error query answered {line!r}, expected <code>,"<text>"')
    return int(m.group(1)), m.group(2)


@dataclass(frozen=True, slots=True)
class Output:
    """``OUT?`` content: primary ``value`` in ``unit``, ``secondary`` in ``secondary_unit`` (``""`` when none),
    ``frequency`` in Hz (0 for dc)."""

    value: float
    unit: str
    secondary: float
    secondary_unit: str
    frequency: float


def parse_output(line: bytes, who: str = DEFAULT_WHO) -> Output:
    """Reply to ``OUT?``: ``<primary>,<unit>,<secondary>,<unit>,<frequency>`` ([OM] ch. 6 OUT?)."""
    text = decode_line(line, who)
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 5:
        raise ProtocolError(f"{who}: OUT? answered {line!r}, expected <value>,<unit>,<value>,<unit>,<frequency>")
    value = parse_number(parts[0], who, line)
    secondary = parse_number(parts[2], who, line)
    frequency = parse_number(parts[4], who, line)
    unit, unit2 = parts[1].upper(), parts[3].upper()
    for u in (unit, unit2):
        if u != "0" and not re.fullmatch(r"[A-Z]{1,4}", u):
            raise ProtocolError(f"{who}: bad unit {u!r} in OUT? reply {line!r}")
    if unit == "0":
        raise ProtocolError(f"{who}: OUT? reply {line!r} has no primary unit")
    if frequency < 0:
        raise ProtocolError(f"{who}: negative frequency in OUT? reply {line!r}")
    return Output(value, unit, secondary, "" if unit2 == "0" else unit2, frequency)


def parse_idn(line: bytes, who: str = DEFAULT_WHO) -> InstrumentInfo:
    """``*IDN?`` reply ``FLUKE,5520A,<serial>,<firmware>``."""
    text = decode_line(line, who)
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4 or not parts[0] or not parts[1]:
        raise ProtocolError(f"{who}: *IDN? answered {line!r}, expected <maker>,<model>,<serial>,<firmware>")
    if parts[0].upper() != "FLUKE":
        raise ProtocolError(f"{who}: *IDN? answered {line!r}: not a Fluke instrument; wrong address?")
    return InstrumentInfo(MANUFACTURER, parts[1], parts[2], parts[3])


# ---------------------------------------------------------------------------------------------------- driver
class Fluke5520A(Instrument):
    """A Fluke 5520A calibrator on its RS-232 host port (computer mode), directly or via a serial device server.

    Every setting command is followed by ``ERR?``: the reply proves the calibrator processed the command, and a
    non-zero code raises :class:`DeviceError` (the remaining queue is drained first); :meth:`make_safe` instead
    proves standby with ``OPER?``. Nothing here sleeps.
    """

    protocol = "fluke-5520a"
    sources_energy = True
    safe_state = "standby (STBY key; OPER? answers 0)"

    def __init__(self, transport: SerialTransport, instrument_id: str = "") -> None:
        super().__init__(instrument_id or transport.address.shown)
        self.transport = transport

    @classmethod
    def connect(cls, address: Address, instrument_id: str = "") -> Self:
        """Driver on a :class:`SerialTransport` (9600 8N1 unless the URL says otherwise)."""
        return cls(SerialTransport(address, name=DEFAULT_WHO), instrument_id)

    @property
    def who(self) -> str:
        """The instrument as named in messages."""
        return self.transport.describe()

    def _query(self, command: str | bytes) -> bytes:
        data = encode(command) if isinstance(command, str) else command
        return self.transport.query(data, terminator=LF)

    def _send(self, request: bytes, what: str) -> None:
        """Send a setting command, then ``ERR?``: DeviceError if the calibrator reports an error."""
        with self.transport.exclusive():
            self.transport.discard_input()
            self.transport.write(request + encode("ERR?"))
            code, text = parse_error(self.transport.read_line(terminator=LF), self.who)
            if code != 0:
                rest = self._drain()
                more = f" (and {len(rest)} more: {'; '.join(f'{c} {t}' for c, t in rest)})" if rest else ""
                raise DeviceError(
                    f"{self.who}: {what} refused: error {code} {text!r}{more}; check the value, unit and limits",
                    code=str(code),
                )

    def _drain(self) -> list[tuple[int, str]]:
        errors: list[tuple[int, str]] = []
        for _ in range(MAX_ERRORS):
            code, text = parse_error(self._query("ERR?"), self.who)
            if code == 0:
                return errors
            errors.append((code, text))
        raise DeviceError(f"{self.who}: error queue did not drain to 0 after {MAX_ERRORS} ERR?; send *CLS", code="ERR")

    # -- identification and status ------------------------------------------------------------------------
    def identify(self) -> InstrumentInfo:
        """``*IDN?``; names the transport after the calibrator (``Fluke 5520A SN 1234567``)."""
        info = parse_idn(self._query("*IDN?"), self.who)
        self.transport.name = info.label()
        return info

    def errors(self) -> list[tuple[int, str]]:
        """Drain the error queue with ``ERR?`` until code 0; returns the (code, text) pairs, oldest first."""
        with self.transport.exclusive():
            return self._drain()

    def clear(self) -> None:
        """``*CLS``: clear status and error queue (confirmed with ``*OPC?``)."""
        with self.transport.exclusive():
            self.transport.discard_input()
            self.transport.write(encode("*CLS"))
            if not parse_bool(self._query("*OPC?"), self.who, "*OPC?"):
                raise ProtocolError(f"{self.who}: *OPC? did not answer 1 after *CLS")

    def wait_complete(self) -> None:
        """``*OPC?``: returns once pending operations (settling) are complete."""
        if not parse_bool(self._query("*OPC?"), self.who, "*OPC?"):
            raise ProtocolError(f"{self.who}: *OPC? answered 0; expected 1")

    def remote(self) -> None:
        """``REMOTE``: lock the front panel (RS-232)."""
        self._send(encode("REMOTE"), "REMOTE")

    def local(self) -> None:
        """``LOCAL``: return to front-panel control (RS-232)."""
        self._send(encode("LOCAL"), "LOCAL")

    # -- output --------------------------------------------------------------------------------------------
    def set_output(self, value: float, unit: str, frequency: float | None = None) -> None:
        """``OUT``: set the output (``value`` in ``unit``: V, A, OHM, F, CEL, FAR; ``frequency`` in Hz, None = dc).

        The calibrator may fall to standby (e.g. above 33 V): call :meth:`operate` afterwards.
        """
        request = encode_output(value, unit, frequency)
        self._send(request, request.decode().strip())

    def set_limits(self, positive: float, negative: float, unit: str = "V") -> None:
        """``LIMIT``: output limits in ``unit`` (``negative`` <= 0 <= ``positive``)."""
        request = encode_limits(positive, negative, unit)
        self._send(request, request.decode().strip())

    def operate(self) -> None:
        """``OPER``, then ``OPER?`` must confirm operate; DeviceError (code ``STBY``) if the calibrator stays off."""
        self._send(encode("OPER"), "OPER")
        if not self.is_operating():
            raise DeviceError(
                f"{self.who}: OPER sent but the output stays in standby (safety interlock, overload or an output "
                "above the limits?); check the front panel and the error queue",
                code="STBY",
            )

    def standby(self) -> None:
        """``STBY``: output terminals off."""
        self._send(encode("STBY"), "STBY")

    def prepare(self) -> None:
        """:meth:`standby`: a run never starts or resumes with the output left live by an earlier session."""
        self.standby()

    def make_safe(self) -> None:
        """``STBY``, then ``OPER?`` must answer ``0``: the output terminals carry nothing.

        Unlike :meth:`standby` the error queue is not read: an older error left in it (e.g. from the command that
        failed and stopped the run) must not make a confirmed standby look like a failure; ``OPER?`` is the
        proof. A late ``1`` (the reply to a query interrupted before the stop) is allowed for by asking twice.
        DeviceError (code ``OPER``) when the calibrator still answers ``1``.
        """
        with self.transport.exclusive():
            self.transport.discard_input()
            self.transport.write(encode("STBY"))
            for _ in range(2):
                if not self.is_operating():
                    return
        raise DeviceError(
            f"{self.who}: STBY sent but OPER? still answers 1, so the output may be live",
            code="OPER",
        )

    def is_operating(self) -> bool:
        """``OPER?``: True in operate, False in standby."""
        return parse_bool(self._query("OPER?"), self.who, "OPER?")

    def output(self) -> Output:
        """``OUT?``: the output setting (whatever the operate state)."""
        return parse_output(self._query("OUT?"), self.who)

    def poll(self) -> list[Reading]:
        """``OPER?`` then ``OUT?``: the output (quantity ``output``, status stable) only when operate is confirmed;
        DeviceError (code ``STBY``) in standby."""
        with self.transport.exclusive():
            if not self.is_operating():
                raise DeviceError(
                    f"{self.who}: the output is in standby, so nothing is sourced; call operate() (OPER) first",
                    code="STBY",
                )
            out = self.output()
        return [Reading(out.value, out.unit, ReadingStatus.STABLE, self.instrument_id, quantity="output")]

    def close(self) -> None:
        """Close the serial link."""
        self.transport.close()
