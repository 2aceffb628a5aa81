"""Simulated electrical standards: a Fluke 5520A calibrator, a Keysight 34465A and an HP 3458A DMM, and the
:class:`VirtualWire` joining the calibrator's output terminals to a DMM's input.

Replies are formatted here from the manuals' descriptions (sources in :mod:`drivers.fluke5520a` and
:mod:`drivers.dmm`), not with the drivers' parsers:

* 5520A (RS-232, computer mode: no echo, no prompt; replies end with CR LF): ``*IDN?`` ->
  ``FLUKE,5520A,<serial>,<firmware>``; ``OUT <v> <unit>[, <f> HZ]`` (multipliers U, M, K, MA; ``MOHM``/``MHZ``
  are mega); ``OUT?`` -> ``<value>,<unit>,0E+00,0,<frequency>``; ``OPER``/``STBY``; ``OPER?`` -> ``1``/``0``;
  ``ERR?`` -> ``<code>,"<text>"`` then ``0,"No Error"``; ``*CLS``; ``*OPC?`` -> ``1``; ``LIMIT``; ``REMOTE``/
  ``LOCAL``; ``*RST``. Newly selecting an output of 33 V or more drops to standby (as the calibrator does for
  safety), as does an output outside the limits. The error codes and texts are this simulator's own.
* The calibrator sources only in operate: its wire carries the output (plus a fixed error drawn within a fraction
  of the 5520A's 1-year specification, see :func:`output_spec`) in OPER and nothing in STBY.
* 34465A (SCPI socket, LF): ``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?``, ``CONF:<function> [<range>]``,
  ``[SENS:]<function>:NPLC <n>`` (only the valid set, else ``-224,"Illegal parameter value"``), ``READ?``,
  ``MEAS:<function>? [<range>[,<resolution>]]``, ``SYST:ERR?``; readings ``+1.00000000E+01``, overload
  ``+9.90000000E+37``; unknown headers ``-113,"Undefined header"``. Long and short SCPI forms are accepted.
* 3458A (GPIB via a raw-socket adapter, CR LF): ``ID?`` -> ``HP3458A``; ``PRESET``, ``END``, ``TRIG SGL``
  (one reading, output at once), ``TRIG HOLD``/``AUTO``/``SYN`` (no free-running output here), ``TARM``,
  ``AZERO``, ``DCV``/``ACV``/``DCI``/``ACI``/``OHM``/``OHMF``/``FREQ [<range>]``, ``NPLC`` (0..1000), ``NDIG``
  (3..8), ``ERRSTR?``, ``ERR?``; several commands per line separated by ``;``; readings `` 1.000000023E+01``,
  overload ``1.000000000E+38``. ``*IDN?`` is an undefined command, as on the real meter.
* DMMs: ranges with 120 % over-range (autorange by default), noise proportional to the range and to
  1/sqrt(NPLC), a configurable gain and offset error, and an integration time of NPLC power-line cycles.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from simulators.base import SimOptions, SimulatedInstrument
from simulators.serial_server import LineConnection, SerialServer

LF = b"\n"


# ------------------------------------------------------------------------------------------------ virtual wire
@dataclass(frozen=True, slots=True)
class Level:
    """What the calibrator's terminals carry: ``value`` in ``unit`` (V, A, OHM, ...), ``frequency`` in Hz (0 =
    dc), and whether the output is in ``operate``."""

    value: float = 0.0
    unit: str = "V"
    frequency: float = 0.0
    operate: bool = False


class VirtualWire:
    """A thread-safe cable from a source's terminals to a meter's input."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._level = Level()

    def publish(self, level: Level) -> None:
        """The source sets what the terminals carry."""
        with self._lock:
            self._level = level

    def level(self) -> Level:
        """What the terminals carry now."""
        with self._lock:
            return self._level


#: measurement function -> (source unit, ac?) it senses
SENSES: dict[str, tuple[str, bool]] = {
    "dc_voltage": ("V", False),
    "ac_voltage": ("V", True),
    "dc_current": ("A", False),
    "ac_current": ("A", True),
    "resistance": ("OHM", False),
    "resistance_4w": ("OHM", False),
}


def sense(level: Level | None, function: str) -> float:
    """What a meter in ``function`` sees on a wire carrying ``level`` (None = nothing connected).

    Voltage and current read 0 when the source is in standby or sources another quantity; resistance reads an
    open circuit (infinity); frequency reads the source frequency in operate, else 0.
    """
    if function == "frequency":
        return level.frequency if level is not None and level.operate else 0.0
    unit, ac = SENSES[function]
    live = level is not None and level.operate and level.unit == unit and (level.frequency > 0) == ac
    if unit == "OHM":
        return level.value if live and level is not None else math.inf
    if not live or level is None:
        return 0.0
    return abs(level.value) if ac else level.value


# ----------------------------------------------------------------------------------------------- calibrator
#: 5520A AC current (sine, LCOMP off), 1 year: (low A, high A, ((f_low Hz, f_high Hz, % of output, µA), ...))
_ACI_1Y: tuple[tuple[float, float, tuple[tuple[float, float, float, float], ...]], ...] = (
    (29e-6, 329.99e-6, ((10, 20, 0.2, 0.1), (20, 45, 0.15, 0.1), (45, 1e3, 0.125, 0.1), (1e3, 5e3, 0.3, 0.15))),
    (29e-6, 329.99e-6, ((5e3, 10e3, 0.8, 0.2), (10e3, 30e3, 1.6, 0.4))),
    (0.33e-3, 3.29999e-3, ((10, 20, 0.2, 0.15), (20, 45, 0.125, 0.15), (45, 1e3, 0.1, 0.15), (1e3, 5e3, 0.2, 0.2))),
    (0.33e-3, 3.29999e-3, ((5e3, 10e3, 0.5, 0.3), (10e3, 30e3, 1.0, 0.6))),
    (3.3e-3, 32.9999e-3, ((10, 20, 0.18, 2), (20, 45, 0.09, 2), (45, 1e3, 0.04, 2), (1e3, 5e3, 0.08, 2))),
    (3.3e-3, 32.9999e-3, ((5e3, 10e3, 0.2, 3), (10e3, 30e3, 0.4, 4))),
    (33e-3, 329.999e-3, ((10, 20, 0.18, 20), (20, 45, 0.09, 20), (45, 1e3, 0.04, 20), (1e3, 5e3, 0.10, 50))),
    (33e-3, 329.999e-3, ((5e3, 10e3, 0.2, 100), (10e3, 30e3, 0.4, 200))),
    (0.33, 1.09999, ((10, 45, 0.18, 100), (45, 1e3, 0.05, 100), (1e3, 5e3, 0.6, 1000), (5e3, 10e3, 2.5, 5000))),
    (1.1, 2.99999, ((10, 45, 0.18, 100), (45, 1e3, 0.06, 100), (1e3, 5e3, 0.6, 1000), (5e3, 10e3, 2.5, 5000))),
)
_ACI_ROWS = tuple(("A", lo, hi, f0, f1, pct * 1e4, ua * 1e-6) for lo, hi, bands in _ACI_1Y for f0, f1, pct, ua in bands)

#: The 5520A 1-year specification rows the simulator draws its output error from: (unit, low, high, f_low Hz,
#: f_high Hz, ppm of output, floor in the unit), DC rows with f_low = f_high = 0. A copy of the rows of
#: ``acquisition.methods.electrical.FLUKE_5520A_1Y`` (sources and verification status there: the ACI rows are from
#: the 5520A Operators Manual Supplement 7/11 p. 9, the others unverified); simulators import no acquisition code, so
#: tests/simulators/test_electrical.py checks that the two agree row by row.
SPEC_5520A_1Y: tuple[tuple[str, float, float, float, float, float, float], ...] = (
    ("V", 0.0, 0.3299999, 0, 0, 20.0, 1e-6),
    ("V", 0.0, 3.299999, 0, 0, 11.0, 2e-6),
    ("V", 0.0, 32.99999, 0, 0, 12.0, 20e-6),
    ("V", 30.0, 329.9999, 0, 0, 18.0, 150e-6),
    ("V", 100.0, 1020.0, 0, 0, 18.0, 1.5e-3),
    ("V", 0.033, 0.32999, 45, 10e3, 200.0, 8e-6),
    ("V", 0.33, 3.29999, 45, 10e3, 240.0, 50e-6),
    ("V", 3.3, 32.9999, 45, 10e3, 240.0, 650e-6),
    ("V", 33.0, 329.999, 45, 1e3, 240.0, 6e-3),
    ("V", 330.0, 1020.0, 45, 1e3, 390.0, 40e-3),
    ("A", 0.0, 329.999e-6, 0, 0, 200.0, 20e-9),
    ("A", 0.0, 3.29999e-3, 0, 0, 100.0, 50e-9),
    ("A", 0.0, 32.9999e-3, 0, 0, 100.0, 250e-9),
    ("A", 0.0, 329.999e-3, 0, 0, 100.0, 2.5e-6),
    ("A", 0.0, 1.09999, 0, 0, 200.0, 40e-6),
    ("A", 1.1, 2.99999, 0, 0, 380.0, 40e-6),
    *_ACI_ROWS,
    ("OHM", 0.0, 10.9999, 0, 0, 40.0, 1e-3),
    ("OHM", 11.0, 32.9999, 0, 0, 30.0, 1.5e-3),
    ("OHM", 33.0, 109.9999, 0, 0, 28.0, 1.4e-3),
    ("OHM", 110.0, 329.9999, 0, 0, 28.0, 2e-3),
    ("OHM", 330.0, 1099.999, 0, 0, 28.0, 2e-3),
    ("OHM", 1.1e3, 3.299999e3, 0, 0, 28.0, 20e-3),
    ("OHM", 3.3e3, 10.99999e3, 0, 0, 28.0, 20e-3),
    ("OHM", 11e3, 32.99999e3, 0, 0, 28.0, 200e-3),
    ("OHM", 33e3, 109.9999e3, 0, 0, 28.0, 200e-3),
    ("OHM", 110e3, 329.9999e3, 0, 0, 32.0, 2.0),
    ("OHM", 330e3, 1.099999e6, 0, 0, 32.0, 2.0),
)


def output_spec(value: float, unit: str, frequency: float = 0.0) -> float:
    """Specification a (absolute, in ``unit``: V, A or OHM) of a 5520A output at ``value`` and ``frequency`` (Hz,
    0 for DC): the 1-year row of :data:`SPEC_5520A_1Y` — the tightest range holding |value|, and at a frequency
    two bands share the larger limit, as ``acquisition.methods.electrical.calibrator_band`` selects it. An output
    no row covers (e.g. ACV above 10 kHz, ohms above 1.1 MΩ) gets a coarse band of 0.1 % of its magnitude, which
    claims nothing about the real calibrator."""
    a = abs(value)
    rows = [r for r in SPEC_5520A_1Y if r[0] == unit and r[1] <= a <= r[2] and r[3] <= frequency <= r[4]]
    if not rows:
        return a * 1e-3
    first = rows[0]
    return max(a * r[5] * 1e-6 + r[6] for r in rows if (r[1], r[2]) == (first[1], first[2]))


_MULTIPLIERS = {"": 1.0, "P": 1e-12, "N": 1e-9, "U": 1e-6, "M": 1e-3, "K": 1e3, "MA": 1e6, "G": 1e9}
_UNITS = ("OHM", "HZ", "CEL", "FAR", "V", "A", "F")
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:E[+-]?[0-9]+)?)\s*([A-Z]*)$")


def parse_quantity(text: str) -> tuple[float, str]:
    """``10 V``, ``100MV``, ``1 KOHM``, ``60 HZ`` -> (value in base unit, unit); ValueError when malformed."""
    m = _QUANTITY.match(text.strip().upper())
    if not m:
        raise ValueError(text)
    number, suffix = float(m.group(1)), m.group(2)
    for unit in _UNITS:
        if suffix.endswith(unit):
            prefix = suffix[: -len(unit)]
            if prefix == "M" and unit in ("OHM", "HZ"):
                prefix = "MA"  # MOHM and MHZ are mega
            if prefix not in _MULTIPLIERS:
                raise ValueError(text)
            return number * _MULTIPLIERS[prefix], unit
    raise ValueError(text)


class _LineSimulator(SimulatedInstrument):
    """A line-oriented instrument on a :class:`SerialServer`: subclasses answer one command at a time."""

    eol: ClassVar[str] = "\r\n"

    def __init__(self, options: SimOptions) -> None:
        super().__init__(options)
        self._lock = threading.Lock()
        self._rng = random.Random(options.seed)
        self.server = SerialServer(
            self._serve, port=options.port, settings=options.settings, faults=self.faults, terminator=LF
        )

    async def _send(self, conn: LineConnection, text: str) -> bool:
        return await conn.send((text + self.eol).encode("ascii", "replace"))

    async def _serve(self, conn: LineConnection) -> None:
        while (raw := await conn.read_line()) is not None:
            if not raw.endswith(LF):
                if conn.reader.at_eof():
                    return
                continue  # an over-long line: ignored
            text = raw.decode("latin-1").strip()
            for command in self._split(text):
                reply = await self._answer(command)
                if reply is not None and not await self._send(conn, reply):
                    return

    def _split(self, text: str) -> list[str]:
        return [text] if text else []

    async def _answer(self, command: str) -> str | None:
        raise NotImplementedError


class Fluke5520ASimulator(_LineSimulator):
    """A virtual Fluke 5520A on its RS-232 port (computer mode).

    Model parameters: ``firmware`` (``*IDN?`` field 4), ``output``/``unit``/``frequency`` (initial setting; a
    real calibrator powers up at 0 V in standby), ``operate`` (initial state), ``error_fraction`` (the output
    error is drawn uniformly within +/- this fraction of :func:`output_spec` at every new setting),
    ``limit_positive``/``limit_negative`` (V). Controls: ``set_output(value, unit, frequency)``, ``operate()``,
    ``standby()``, ``trip()`` (falls to standby and queues an error, as on an overload). Its :attr:`wire` carries
    the output to a DMM simulator.
    """

    protocol: ClassVar[str] = "fluke-5520a"
    model: ClassVar[str] = "fluke-5520a"
    controls: ClassVar[frozenset[str]] = frozenset({"set_output", "operate", "standby", "trip"})
    HIGH_VOLTAGE = 33.0  # V: newly selecting this or more drops to standby

    def __init__(
        self,
        options: SimOptions,
        *,
        firmware: str = "1.5+1.3+1.7+*",
        output: float = 0.0,
        unit: str = "V",
        frequency: float = 0.0,
        operate: bool = False,
        error_fraction: float = 0.3,
        limit_positive: float = 1020.0,
        limit_negative: float = -1020.0,
    ) -> None:
        super().__init__(options)
        if "," in self.serial_number or "," in firmware:
            raise ValueError("serial number and firmware may not contain commas (they are *IDN? fields)")
        if not 0 <= error_fraction <= 1:
            raise ValueError("error_fraction must be between 0 and 1")
        self.firmware = firmware
        self.error_fraction = float(error_fraction)
        self.limits = (float(limit_positive), float(limit_negative))
        self.wire = VirtualWire()
        self._errors: list[tuple[int, str]] = []
        self._value, self._unit, self._frequency, self._output_error = 0.0, "V", 0.0, 0.0
        self._operate = False
        self._apply(float(output), unit.upper(), float(frequency))
        self._operate = bool(operate)
        self._publish()

    def manifest_entry(self) -> dict[str, Any]:
        """Manifest entry with the present setting."""
        entry = super().manifest_entry()
        with self._lock:
            entry.update(output=self._value, unit=self._unit, operate=self._operate)
        return entry

    # -- state (call with the lock held where noted) -------------------------------------------------------
    def _publish(self) -> None:
        actual = self._value + self._output_error
        self.wire.publish(Level(actual, self._unit, self._frequency, self._operate))

    def _apply(self, value: float, unit: str, frequency: float) -> None:
        if unit not in ("V", "A", "OHM", "F", "CEL", "FAR"):
            raise ValueError(f"unit {unit!r} is not an output unit")
        if unit == "V" and not (self.limits[1] <= value <= self.limits[0]):
            self._operate = False
            raise ValueError("output outside the limits")
        newly_high = (
            unit == "V"
            and abs(value) >= self.HIGH_VOLTAGE
            and not (self._unit == "V" and abs(self._value) >= self.HIGH_VOLTAGE)
        )
        if newly_high or unit != self._unit:
            self._operate = False
        self._value, self._unit, self._frequency = value, unit, frequency
        spec = output_spec(value, unit, frequency)
        self._output_error = self._rng.uniform(-1, 1) * self.error_fraction * spec

    # -- controls ------------------------------------------------------------------------------------------
    def set_output(self, value: float, unit: str = "V", frequency: float = 0.0) -> None:
        """Set the output as from the front panel (``value`` in ``unit``, ``frequency`` in Hz)."""
        with self._lock:
            self._apply(float(value), unit.upper(), float(frequency))
            self._publish()

    def operate(self) -> None:
        """Press OPR."""
        with self._lock:
            self._operate = True
            self._publish()

    def standby(self) -> None:
        """Press STBY."""
        with self._lock:
            self._operate = False
            self._publish()

    def trip(self) -> None:
        """Fall to standby by itself (overload/safety) and queue an error."""
        with self._lock:
            self._operate = False
            self._errors.append((902, "Output tripped to standby"))
            self._publish()

    # -- protocol ------------------------------------------------------------------------------------------
    def _error(self, code: int, text: str) -> None:
        self._errors.append((code, text))

    async def _answer(self, command: str) -> str | None:
        cmd = command.upper()
        head, _, args = cmd.partition(" ")
        with self._lock:
            match head:
                case "*IDN?":
                    return f"FLUKE,5520A,{self.serial_number},{self.firmware}"
                case "*OPC?":
                    return "1"
                case "*CLS":
                    self._errors.clear()
                case "*RST":
                    self._operate = False
                    self._apply(0.0, "V", 0.0)
                    self._publish()
                case "REMOTE" | "LOCAL":
                    pass
                case "ERR?":
                    if self._errors:
                        code, text = self._errors.pop(0)
                        return f'{code},"{text}"'
                    return '0,"No Error"'
                case "OPER?":
                    return "1" if self._operate else "0"
                case "OPER":
                    self._operate = True
                    self._publish()
                case "STBY":
                    self._operate = False
                    self._publish()
                case "OUT?":
                    freq = f"{self._frequency:.2E}"
                    return f"{self._value:.6E},{self._unit},0E+00,0,{freq}"
                case "OUT":
                    self._out(args)
                case "LIMIT":
                    self._limit(args)
                case _:
                    self._error(1, f"Unknown command {head[:20]}")
        return None

    def _out(self, args: str) -> None:
        parts = [p.strip() for p in args.split(",")]
        try:
            if not 1 <= len(parts) <= 2:
                raise ValueError(args)
            value, unit = parse_quantity(parts[0])
            frequency = 0.0
            if len(parts) == 2:
                frequency, funit = parse_quantity(parts[1])
                if funit != "HZ" or frequency < 0:
                    raise ValueError(args)
        except ValueError:
            self._error(2, "Bad parameter in OUT")
            return
        try:
            self._apply(value, unit, frequency)
        except ValueError:
            self._error(3, "Output exceeds limits")
        self._publish()

    def _limit(self, args: str) -> None:
        parts = [p.strip() for p in args.split(",")]
        try:
            if len(parts) != 2:
                raise ValueError(args)
            (pos, u1), (neg, u2) = parse_quantity(parts[0]), parse_quantity(parts[1])
            if u1 != "V" or u2 != "V" or not neg <= 0 <= pos:
                raise ValueError(args)
        except ValueError:
            self._error(2, "Bad parameter in LIMIT")
            return
        self.limits = (pos, neg)


# ------------------------------------------------------------------------------------------------------ DMMs
#: function -> ranges (in the function's unit)
RANGES: dict[str, tuple[float, ...]] = {
    "dc_voltage": (0.1, 1.0, 10.0, 100.0, 1000.0),
    "ac_voltage": (0.1, 1.0, 10.0, 100.0, 750.0),
    "dc_current": (1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0, 10.0),
    "ac_current": (1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0, 10.0),
    "resistance": (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8),
    "resistance_4w": (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8),
    "frequency": (1e6,),
}
OVER_RANGE = 1.2


class _DmmSimulator(_LineSimulator):
    """Shared DMM physics: input from a wire (or :meth:`apply`), ranges, NPLC-dependent noise, gain/offset error."""

    controls: ClassVar[frozenset[str]] = frozenset({"apply", "disconnect", "set_error"})
    overload_value: ClassVar[float] = 9.9e37

    def __init__(
        self,
        options: SimOptions,
        *,
        input_from: str,
        gain_error_ppm: float,
        offset: float,
        noise_ppm: float,
        line_frequency: float,
        integration_time: bool,
    ) -> None:
        super().__init__(options)
        if noise_ppm < 0 or line_frequency <= 0:
            raise ValueError("noise_ppm must be >= 0 and line_frequency > 0 Hz")
        self.input_from = input_from
        self.gain_error_ppm = float(gain_error_ppm)
        self.offset = float(offset)
        self.noise_ppm = float(noise_ppm)
        self.line_frequency = float(line_frequency)
        self.integration_time = bool(integration_time)
        self.wire: VirtualWire | None = None
        self.function = "dc_voltage"
        self.range: float | None = None  # None = autorange
        self.nplc = 10.0
        self.errors: list[tuple[int, str]] = []

    def manifest_entry(self) -> dict[str, Any]:
        """Manifest entry naming the wired source."""
        entry = super().manifest_entry()
        if self.input_from:
            entry["input_from"] = self.input_from
        return entry

    def connect_lab(self, instruments: Mapping[str, SimulatedInstrument]) -> None:
        """Virtual-lab hook: wire the input to the instrument named by ``input_from`` (if any)."""
        if not self.input_from:
            return
        source = instruments.get(self.input_from)
        wire = getattr(source, "wire", None)
        if not isinstance(wire, VirtualWire):
            raise ValueError(f"{self.instrument_id}: input_from {self.input_from!r} is not a source in this lab")
        with self._lock:
            self.wire = wire

    # -- controls ------------------------------------------------------------------------------------------
    def apply(self, value: float, unit: str = "V", frequency: float = 0.0) -> None:
        """Feed the input directly (replaces any wire): ``value`` in ``unit`` (V, A, OHM), ``frequency`` Hz."""
        wire = VirtualWire()
        wire.publish(Level(float(value), unit.upper(), float(frequency), True))
        with self._lock:
            self.wire = wire

    def disconnect(self) -> None:
        """Nothing on the input (voltage/current read 0, resistance open)."""
        with self._lock:
            self.wire = None

    def set_error(self, gain_error_ppm: float = 0.0, offset: float = 0.0) -> None:
        """The meter's own error: reading = input * (1 + gain_error_ppm 1e-6) + offset (offset in the unit)."""
        with self._lock:
            self.gain_error_ppm, self.offset = float(gain_error_ppm), float(offset)

    # -- physics -------------------------------------------------------------------------------------------
    def _configure(self, function: str, rng: float | None) -> None:
        self.function, self.range = function, rng
        if rng is not None:
            self.range = next((r for r in RANGES[function] if r >= rng * 0.999), RANGES[function][-1])

    def _measure(self) -> float:
        """One reading in the present configuration (lock held); :attr:`overload_value` when over range."""
        x = sense(self.wire.level() if self.wire else None, self.function)
        ranges = RANGES[self.function]
        if self.range is not None:
            rng = self.range
        else:
            rng = next((r for r in ranges if abs(x) <= r * OVER_RANGE), ranges[-1]) if math.isfinite(x) else ranges[-1]
        if not math.isfinite(x) or abs(x) > rng * OVER_RANGE:
            return math.copysign(self.overload_value, x)
        sigma = rng * self.noise_ppm * 1e-6 / math.sqrt(max(self.nplc, 1e-3))
        return x * (1 + self.gain_error_ppm * 1e-6) + self.offset + self._rng.gauss(0.0, sigma)

    async def _integrate(self) -> None:
        if self.integration_time:
            await asyncio.sleep(self.nplc / self.line_frequency)


class Keysight34465ASimulator(_DmmSimulator):
    """A virtual Keysight 34465A on its SCPI socket (LF-terminated lines).

    Model parameters: ``firmware`` (``*IDN?`` field 4), ``input_from`` (lab id of the calibrator wired to the
    input), ``gain_error_ppm`` and ``offset`` (the meter's error), ``noise_ppm`` (noise, ppm of range, at NPLC 1),
    ``line_frequency`` (Hz), ``integration_time`` (False = answer at once). Controls: ``apply``,
    ``disconnect``, ``set_error``.
    """

    protocol: ClassVar[str] = "scpi"
    model: ClassVar[str] = "keysight-34465a"
    eol: ClassVar[str] = "\n"
    NPLC: ClassVar[tuple[float, ...]] = (0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1.0, 10.0, 100.0)
    FUNCTIONS: ClassVar[dict[str, str]] = {
        "VOLT": "dc_voltage",
        "VOLT:DC": "dc_voltage",
        "VOLT:AC": "ac_voltage",
        "CURR": "dc_current",
        "CURR:DC": "dc_current",
        "CURR:AC": "ac_current",
        "RES": "resistance",
        "FRES": "resistance_4w",
        "FREQ": "frequency",
    }
    LONG: ClassVar[dict[str, str]] = {
        "CONFIGURE": "CONF",
        "MEASURE": "MEAS",
        "VOLTAGE": "VOLT",
        "CURRENT": "CURR",
        "RESISTANCE": "RES",
        "FRESISTANCE": "FRES",
        "FREQUENCY": "FREQ",
        "SYSTEM": "SYST",
        "ERROR": "ERR",
        "SENSE": "SENS",
    }

    def __init__(
        self,
        options: SimOptions,
        *,
        firmware: str = "A.02.14-02.40-02.14-00.49-03-01",
        input_from: str = "",
        gain_error_ppm: float = 0.0,
        offset: float = 0.0,
        noise_ppm: float = 1.0,
        line_frequency: float = 50.0,
        integration_time: bool = True,
    ) -> None:
        super().__init__(
            options,
            input_from=input_from,
            gain_error_ppm=gain_error_ppm,
            offset=offset,
            noise_ppm=noise_ppm,
            line_frequency=line_frequency,
            integration_time=integration_time,
        )
        self.firmware = firmware

    def _header(self, header: str) -> str:
        query = header.endswith("?")
        parts = [self.LONG.get(p, p) for p in header.lstrip(":").rstrip("?").split(":")]
        if query:
            parts[-1] += "?"
        if parts and parts[0] == "SENS":
            parts = parts[1:]
        return ":".join(parts)

    @staticmethod
    def _format(value: float) -> str:
        return f"{value:+.8E}"

    def _range_arg(self, args: str) -> float | None:
        first = args.split(",", maxsplit=1)[0].strip()
        if first in ("", "AUTO", "DEF"):
            return None
        if first in ("MIN", "MAX"):
            return 0.0 if first == "MIN" else 1e12
        return float(first)

    def _error(self, code: int, text: str) -> None:
        self.errors.append((code, text))

    async def _answer(self, command: str) -> str | None:
        header, _, args = command.upper().partition(" ")
        h = self._header(header)
        with self._lock:
            if h == "*IDN?":
                return f"Keysight Technologies,34465A,{self.serial_number},{self.firmware}"
            if h == "*OPC?":
                return "1"
            if h == "*CLS":
                self.errors.clear()
                return None
            if h == "*RST":
                self._configure("dc_voltage", None)
                self.nplc = 10.0
                return None
            if h == "SYST:ERR?":
                if self.errors:
                    code, text = self.errors.pop(0)
                    return f'{code:+d},"{text}"'
                return '+0,"No error"'
            if h.startswith("CONF:") and h[5:] in self.FUNCTIONS:
                try:
                    self._configure(self.FUNCTIONS[h[5:]], self._range_arg(args))
                    self.nplc = 10.0
                except ValueError:
                    self._error(-224, "Illegal parameter value")
                return None
            if h.endswith(":NPLC") and h[:-5] in self.FUNCTIONS:
                try:
                    n = float(args)
                except ValueError:
                    n = -1.0
                if n not in self.NPLC:
                    self._error(-224, "Illegal parameter value")
                else:
                    self.nplc = n
                return None
            if h.endswith(":NPLC?") and h[:-6] in self.FUNCTIONS:
                return self._format(self.nplc)
            measuring = h == "READ?" or (h.startswith("MEAS:") and h.endswith("?") and h[5:-1] in self.FUNCTIONS)
            if not measuring:
                self._error(-113, "Undefined header")
                return None
            if h != "READ?":
                try:
                    self._configure(self.FUNCTIONS[h[5:-1]], self._range_arg(args))
                    self.nplc = 10.0
                except ValueError:
                    self._error(-224, "Illegal parameter value")
                    return None
        await self._integrate()
        with self._lock:
            return self._format(self._measure())


class HP3458ASimulator(_DmmSimulator):
    """A virtual HP 3458A behind a GPIB-Ethernet adapter in raw-socket mode (CR LF replies).

    Model parameters as :class:`Keysight34465ASimulator` (``noise_ppm`` default 0.1), no ``firmware``.
    Controls: ``apply``, ``disconnect``, ``set_error``.
    """

    protocol: ClassVar[str] = "hp3458a"
    model: ClassVar[str] = "hp-3458a"
    eol: ClassVar[str] = "\r\n"
    overload_value: ClassVar[float] = 1.0e38
    FUNCTIONS: ClassVar[dict[str, str]] = {
        "DCV": "dc_voltage",
        "ACV": "ac_voltage",
        "DCI": "dc_current",
        "ACI": "ac_current",
        "OHM": "resistance",
        "OHMF": "resistance_4w",
        "FREQ": "frequency",
    }

    def __init__(
        self,
        options: SimOptions,
        *,
        input_from: str = "",
        gain_error_ppm: float = 0.0,
        offset: float = 0.0,
        noise_ppm: float = 0.1,
        line_frequency: float = 50.0,
        integration_time: bool = True,
    ) -> None:
        super().__init__(
            options,
            input_from=input_from,
            gain_error_ppm=gain_error_ppm,
            offset=offset,
            noise_ppm=noise_ppm,
            line_frequency=line_frequency,
            integration_time=integration_time,
        )
        self.ndig = 8

    def _split(self, text: str) -> list[str]:
        return [c.strip() for c in text.split(";") if c.strip()]

    def _error(self, code: int, text: str) -> None:
        self.errors.append((code, text))

    async def _answer(self, command: str) -> str | None:
        head, _, args = command.upper().partition(" ")
        args = args.strip()
        with self._lock:
            match head:
                case "ID?":
                    return "HP3458A"
                case "END" | "AZERO" | "TARM" | "OFORMAT" | "MATH" | "MEM":
                    return None
                case "PRESET":
                    self._configure("dc_voltage", None)
                    self.nplc, self.ndig = 10.0, 7
                    return None
                case "ERRSTR?":
                    if self.errors:
                        code, text = self.errors.pop(0)
                        return f'{code},"{text}"'
                    return '0,"NO ERROR"'
                case "ERR?":
                    code = self.errors[0][0] if self.errors else 0
                    self.errors.clear()
                    return str(code)
                case "NPLC":
                    try:
                        n = float(args)
                    except ValueError:
                        n = -1.0
                    if not 0 <= n <= 1000:
                        self._error(11, "PARAMETER OUT OF RANGE")
                    else:
                        self.nplc = n
                    return None
                case "NDIG":
                    if args not in ("3", "4", "5", "6", "7", "8"):
                        self._error(11, "PARAMETER OUT OF RANGE")
                    else:
                        self.ndig = int(args)
                    return None
                case "TRIG" if args in ("HOLD", "AUTO", "SYN", "EXT", "LEVEL", "LINE"):
                    return None
                case "TRIG" if args == "SGL":
                    pass
                case _ if head in self.FUNCTIONS:
                    rng = args.split(",")[0].strip()
                    try:
                        self._configure(self.FUNCTIONS[head], None if rng in ("", "AUTO") else float(rng))
                    except ValueError:
                        self._error(11, "PARAMETER OUT OF RANGE")
                    return None
                case _:
                    self._error(4, "UNDEFINED COMMAND")
                    return None
        await self._integrate()
        with self._lock:
            return f"{self._measure(): .9E}"
