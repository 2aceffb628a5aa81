"""Reference DMMs: Keysight 34465A (SCPI) and HP/Agilent 3458A (HP-IB command language, not SCPI).

Both are reached through :class:`SerialTransport` over ``socket://host:port``: the 34465A's raw SCPI socket (LAN
port 5025) speaks LF-terminated lines; a GPIB instrument such as the 3458A is reached the same way through a
GPIB-Ethernet adapter in raw-socket mode (Prologix-style, ``++auto 1`` so the adapter reads the reply after each
query; the adapter's own ``++`` set-up is outside this driver). A local serial adapter URL works too.

Where the facts come from:

* [K] Keysight *Truevolt Series DMM Operating and Service Guide* / *34465A/34470A Programming Reference*
  (SCPI command reference): ``*IDN?`` -> ``Keysight Technologies,34465A,<serial MY...>,<firmware A.0x.xx-...>``;
  ``CONFigure:VOLTage:DC [<range>|AUTO|DEF]``; ``[SENSe:]VOLTage:DC:NPLC`` valid values 0.001, 0.002, 0.006,
  0.02, 0.06, 0.2, 1, 10, 100 (the 0.001..0.06 values need the DIG/MEM option on some units); ``READ?`` and
  ``MEASure:VOLTage:DC? [<range>[,<resolution>]]`` return one reading as ``+9.99999999E+00`` (SD.DDDDDDDDESDD);
  an overload reads ``+9.90000000E+37``; ``SYSTem:ERRor?`` -> ``+0,"No error"`` when the queue is empty, else
  ``<code>,"<text>"`` (e.g. ``-113,"Undefined header"``); responses end with LF.
* [H] Keysight/HP *3458A Multimeter User's Guide*, chapter 6 command reference: ``ID?`` -> ``HP3458A``;
  ``END ALWAYS`` (EOI with the last byte of every reading); ``PRESET NORM``; ``DCV <range>``, ``ACV``, ``DCI``,
  ``ACI``, ``OHM``, ``OHMF``; ``NPLC <n>`` (0 to 1000); ``NDIG <3..8>``; ``AZERO ON``; ``TRIG SGL`` takes one
  reading, which the meter outputs, then holds; ASCII readings in ``SD.DDDDDDDDDESDD`` form with a space for a
  positive sign, e.g. `` 1.000000023E+01``; ``ERRSTR?`` returns the oldest error as ``<code>,"<text>"``
  (``0,"NO ERROR"`` when none); output lines end with CR LF. Overload reads ``1.0E+38`` (sign kept) - taken from
  the user's guide as summarised on public pages, not from a scanned page.
* Readings are ASCII decimal with exponent; the parser accepts any such number and treats |value| >= 9.9E37 as
  overload. A driver that sent ``*IDN?`` to a 3458A would be wrong ([H]: it is not an IEEE 488.2 instrument).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Self

from drivers.address import Address
from drivers.base import Instrument, InstrumentInfo
from drivers.errors import DeviceError, ProtocolError
from drivers.fluke5520a import decode_line, format_number, parse_error, parse_number
from drivers.reading import Reading, ReadingStatus
from drivers.transport.serial import SerialTransport

LF = b"\n"
CRLF = b"\r\n"
#: readings at or above this magnitude are the meters' overload value (34465A 9.9E37, 3458A 1E38)
OVERLOAD_MAGNITUDE = 9.9e37
#: power-line period used to estimate integration time (Vietnam: 50 Hz)
LINE_PERIOD_S = 0.02
MAX_ERRORS = 64


@dataclass(frozen=True, slots=True)
class Function:
    """A measurement function: ``quantity`` (Reading.quantity) and ``unit`` of its readings."""

    quantity: str
    unit: str


#: function name -> quantity and unit
FUNCTIONS: dict[str, Function] = {
    "dc_voltage": Function("dc_voltage", "V"),
    "ac_voltage": Function("ac_voltage", "V"),
    "dc_current": Function("dc_current", "A"),
    "ac_current": Function("ac_current", "A"),
    "resistance": Function("resistance", "ohm"),
    "resistance_4w": Function("resistance_4w", "ohm"),
    "frequency": Function("frequency", "Hz"),
}

#: 34465A NPLC values ([K] VOLTage:DC:NPLC)
NPLC_34465A: tuple[float, ...] = (0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1, 10, 100)

SCPI_FUNCTIONS: dict[str, str] = {
    "dc_voltage": "VOLT:DC",
    "ac_voltage": "VOLT:AC",
    "dc_current": "CURR:DC",
    "ac_current": "CURR:AC",
    "resistance": "RES",
    "resistance_4w": "FRES",
    "frequency": "FREQ",
}
#: SCPI functions that take an NPLC setting
SCPI_NPLC = {"dc_voltage": "VOLT:DC", "dc_current": "CURR:DC", "resistance": "RES", "resistance_4w": "FRES"}

HP_FUNCTIONS: dict[str, str] = {
    "dc_voltage": "DCV",
    "ac_voltage": "ACV",
    "dc_current": "DCI",
    "ac_current": "ACI",
    "resistance": "OHM",
    "resistance_4w": "OHMF",
    "frequency": "FREQ",
}


def _function(name: str) -> Function:
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown function {name!r}; use one of {', '.join(FUNCTIONS)}") from None


def _range_text(rng: float | str | None) -> str:
    if rng is None:
        return "AUTO"
    if isinstance(rng, str):
        r = rng.upper()
        if r not in ("AUTO", "DEF", "MIN", "MAX"):
            raise ValueError(f"range must be a number (in the function's unit) or AUTO/DEF/MIN/MAX, got {rng!r}")
        return r
    if not rng > 0:
        raise ValueError(f"range must be > 0, got {rng!r}")
    return format_number(rng)


def parse_reading(line: bytes, who: str, terminator: bytes = LF) -> tuple[float, ReadingStatus]:
    """One reading line (``+9.99999999E+00``, `` 1.000000023E+01``): value and status (overload by magnitude)."""
    if terminator == CRLF and not line.endswith(CRLF):
        raise ProtocolError(f"{who}: reading {line!r} does not end with CR LF; garbled line or wrong EOL?")
    text = decode_line(line, who)
    value = parse_number(text, who, line)
    if math.isinf(value) or abs(value) >= OVERLOAD_MAGNITUDE:
        status = ReadingStatus.OVERLOAD if value > 0 else ReadingStatus.UNDERLOAD
        return math.nan, status
    return value, ReadingStatus.STABLE


def parse_scpi_idn(line: bytes, who: str) -> InstrumentInfo:
    """``*IDN?`` reply ``<maker>,<model>,<serial>,<firmware>`` (firmware may contain hyphens)."""
    text = decode_line(line, who)
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4 or not parts[0] or not parts[1]:
        raise ProtocolError(f"{who}: *IDN? answered {line!r}, expected <maker>,<model>,<serial>,<firmware>")
    return InstrumentInfo(parts[0], parts[1], parts[2], parts[3])


def parse_hp_id(line: bytes, who: str) -> str:
    """``ID?`` reply (``HP3458A``): the model string."""
    text = decode_line(line, who).strip()
    if not text or not text.replace("-", "").isalnum():
        raise ProtocolError(f"{who}: ID? answered {line!r}, expected a model name such as HP3458A")
    return text


class _Dmm(Instrument):
    """What both DMM drivers share: function state, error draining, readings."""

    terminator: ClassVar[bytes] = LF
    default_name: ClassVar[str] = "DMM"

    def __init__(self, transport: SerialTransport, instrument_id: str = "") -> None:
        super().__init__(instrument_id or transport.address.shown)
        self.transport = transport
        self.function = FUNCTIONS["dc_voltage"]
        self.nplc: float = 10.0

    @classmethod
    def connect(cls, address: Address, instrument_id: str = "") -> Self:
        """Driver on a :class:`SerialTransport` for ``address`` (``socket://host:port`` for LAN/GPIB adapters)."""
        return cls(SerialTransport(address, name=cls.default_name), instrument_id)

    @property
    def who(self) -> str:
        """The instrument as named in messages."""
        return self.transport.describe()

    def _reading_timeout(self) -> float:
        """Reply timeout for one reading (s): the address timeout plus the integration time at 50 Hz."""
        return self.transport.address.timeout + 2 * self.nplc * LINE_PERIOD_S

    def _query(self, command: str, timeout: float | None = None) -> bytes:
        return self.transport.query(command.encode("ascii") + self.terminator, timeout, terminator=LF)

    def _reading(self, line: bytes) -> Reading:
        value, status = parse_reading(line, self.who, self.terminator)
        f = self.function
        return Reading(value, f.unit, status, self.instrument_id, quantity=f.quantity)

    def _error_query(self) -> str:
        raise NotImplementedError

    def errors(self) -> list[tuple[int, str]]:
        """Drain the error queue until code 0; the (code, text) pairs, oldest first."""
        out: list[tuple[int, str]] = []
        with self.transport.exclusive():
            for _ in range(MAX_ERRORS):
                code, text = parse_error(self._query(self._error_query()), self.who)
                if code == 0:
                    return out
                out.append((code, text))
        raise DeviceError(f"{self.who}: error queue did not drain after {MAX_ERRORS} queries; reset the meter", "ERR")

    def _check(self, what: str) -> None:
        errs = self.errors()
        if errs:
            listed = "; ".join(f"{c} {t}" for c, t in errs)
            raise DeviceError(f"{self.who}: {what} refused: {listed}; check function, range and NPLC", str(errs[0][0]))

    def read(self) -> Reading:
        """One reading with the present configuration."""
        raise NotImplementedError

    def poll(self) -> list[Reading]:
        """One acquisition cycle: one reading."""
        return [self.read()]

    def close(self) -> None:
        """Close the link."""
        self.transport.close()


class Keysight34465A(_Dmm):
    """Keysight 34465A 6½-digit DMM over its SCPI socket (``socket://host:5025``), LF-terminated."""

    protocol = "scpi"
    default_name = "Keysight 34465A DMM"

    def _error_query(self) -> str:
        return "SYST:ERR?"

    def identify(self) -> InstrumentInfo:
        """``*IDN?``; names the transport (``Keysight Technologies 34465A SN MY...``)."""
        info = parse_scpi_idn(self._query("*IDN?"), self.who)
        self.transport.name = info.label()
        return info

    def reset(self) -> None:
        """``*RST`` and ``*CLS`` (dc voltage, autorange, NPLC 10)."""
        with self.transport.exclusive():
            self.transport.write(b"*RST\n*CLS\n")
            self.function, self.nplc = FUNCTIONS["dc_voltage"], 10.0
            self._check("*RST")

    def configure(self, function: str = "dc_voltage", range: float | str | None = None) -> None:
        """``CONF:<function> <range>`` (range in the function's unit; None = AUTO), then ``SYST:ERR?``."""
        f = _function(function)
        command = f"CONF:{SCPI_FUNCTIONS[function]} {_range_text(range)}"
        with self.transport.exclusive():
            self.transport.write(command.encode("ascii") + LF)
            self.function = f
            if function in SCPI_NPLC:
                self.nplc = 10.0  # CONF sets the default integration time
            self._check(command)

    def set_nplc(self, nplc: float) -> None:
        """``<function>:NPLC <n>``; ``n`` must be one of :data:`NPLC_34465A` (ValueError before any I/O)."""
        if nplc not in NPLC_34465A:
            raise ValueError(f"NPLC {nplc!r} is not valid on a 34465A; use one of {', '.join(map(str, NPLC_34465A))}")
        name = self.function.quantity
        if name not in SCPI_NPLC:
            raise ValueError(f"NPLC does not apply to {name}; configure a dc or resistance function first")
        command = f"{SCPI_NPLC[name]}:NPLC {format_number(nplc)}"
        with self.transport.exclusive():
            self.transport.write(command.encode("ascii") + LF)
            self.nplc = float(nplc)
            self._check(command)

    def read(self) -> Reading:
        """``READ?``: trigger and return one reading (quantity and unit of the configured function)."""
        return self._reading(self._query("READ?", self._reading_timeout()))

    def measure(self, function: str = "dc_voltage", range: float | str | None = None) -> Reading:
        """``MEAS:<function>? <range>,DEF``: configure and read in one exchange (None = ``DEF,DEF``, autorange;
        resets NPLC to the default 10)."""
        f = _function(function)
        self.function = f
        if function in SCPI_NPLC:
            self.nplc = 10.0
        rng = "DEF" if range is None else _range_text(range)
        request = f"MEAS:{SCPI_FUNCTIONS[function]}? {rng},DEF"
        return self._reading(self._query(request, self._reading_timeout()))


class HP3458A(_Dmm):
    """HP/Agilent/Keysight 3458A 8½-digit DMM via a GPIB-Ethernet adapter in raw-socket mode; CR LF lines.

    Call :meth:`setup` once (``PRESET NORM``, ``END ALWAYS``, ``TRIG HOLD``) so readings come only on
    ``TRIG SGL``.
    """

    protocol = "hp3458a"
    default_name = "HP 3458A DMM"
    terminator = CRLF

    def _error_query(self) -> str:
        return "ERRSTR?"

    def identify(self) -> InstrumentInfo:
        """``ID?`` (never ``*IDN?``); the 3458A does not report its serial number over the bus."""
        model = parse_hp_id(self._query("ID?"), self.who)
        name = model[2:] if model.upper().startswith("HP") else model
        self.transport.name = f"HP {name}"
        return InstrumentInfo("HP", model)

    def setup(self) -> None:
        """``PRESET NORM``, ``END ALWAYS``, ``TRIG HOLD``: a known state, readings only on ``TRIG SGL``."""
        with self.transport.exclusive():
            self.transport.write(b"PRESET NORM\r\nEND ALWAYS\r\nTRIG HOLD\r\n")
            self.function, self.nplc = FUNCTIONS["dc_voltage"], 10.0
            self._check("PRESET NORM / END ALWAYS / TRIG HOLD")

    def prepare(self) -> None:
        """:meth:`setup`: after power-on a 3458A triggers continuously (``TRIG AUTO``), so a ``TRIG SGL`` reply
        could be a stale reading; ``TRIG HOLD`` makes every reading the one asked for."""
        self.setup()

    def configure(self, function: str = "dc_voltage", range: float | str | None = None) -> None:
        """``<function> <range>`` (``DCV 10``; None = AUTO), then ``ERRSTR?``."""
        f = _function(function)
        rng = _range_text(range)
        if rng in ("DEF", "MIN", "MAX"):
            rng = "AUTO"
        command = f"{HP_FUNCTIONS[function]} {rng}"
        with self.transport.exclusive():
            self.transport.write(command.encode("ascii") + CRLF)
            self.function = f
            self._check(command)

    def set_nplc(self, nplc: float) -> None:
        """``NPLC <n>`` (0 to 1000 power-line cycles; ValueError before any I/O)."""
        if not (isinstance(nplc, int | float) and 0 <= nplc <= 1000):
            raise ValueError(f"NPLC {nplc!r} is not valid on a 3458A; use 0 to 1000")
        command = f"NPLC {format_number(nplc)}"
        with self.transport.exclusive():
            self.transport.write(command.encode("ascii") + CRLF)
            self.nplc = float(nplc)
            self._check(command)

    def set_digits(self, ndig: int) -> None:
        """``NDIG <3..8>``: displayed/output digits."""
        if ndig not in range(3, 9):
            raise ValueError(f"NDIG {ndig!r} is not valid on a 3458A; use 3 to 8")
        with self.transport.exclusive():
            self.transport.write(f"NDIG {ndig}".encode("ascii") + CRLF)
            self._check(f"NDIG {ndig}")

    def read(self) -> Reading:
        """``TRIG SGL``: take one reading and read it."""
        return self._reading(self._query("TRIG SGL", self._reading_timeout()))

    def measure(self, function: str = "dc_voltage", range: float | str | None = None) -> Reading:
        """:meth:`configure` then :meth:`read`."""
        self.configure(function, range)
        return self.read()
