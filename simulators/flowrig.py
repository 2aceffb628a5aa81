"""A flow calibration rig and the Modbus flow meter on it (Siemens MASS 6000, E+H Promass 83 or Krohne GFC 300).

:class:`FlowRig` is the physics: a set-point mass flow that the real flow approaches with a first-order time
constant, the fluid's density and temperature, and a meter error curve (error in % of reading against flow,
interpolated linearly, held constant beyond its ends). The meter's totaliser integrates the TRUE flow times
(1 + error/100) over time (float64, never decreasing); the rig also keeps the true (master meter) total, so a
master-meter comparison finds the error. The flow indication carries the same error plus seeded noise.

:class:`FlowMeterSimulator` presents one meter on :mod:`simulators.modbus_server` with the register map of
:mod:`drivers.flowmeter` (whose docstring cites the manuals): unmapped registers get exception 0x02, a foreign unit
id on RTU gets silence, values are encoded in each model's byte order. A read request sees one consistent sample
(a float is never torn between two moments). Documented registers around the ones the driver uses are mapped too
(Siemens fraction A/B, totalizer 2, float totalizers, comms settings 528-530; Krohne input registers 0-43), with
values that are plausible but not modelled (zeros, or simple derived values).
"""

from __future__ import annotations

import bisect
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pymodbus.pdu import ExceptionResponse, ModbusPDU

from drivers.flowmeter import PROFILES
from drivers.transport.modbus import DataType, encode_value
from simulators.base import SimOptions, SimulatedInstrument
from simulators.modbus_server import Framing, ModbusDevice, ModbusServer, RegisterKind

#: flow unit -> (factor to the base unit, is it a volume unit); base units kg/s and m3/s
FLOW_UNITS: dict[str, tuple[float, bool]] = {
    "kg/s": (1.0, False),
    "g/s": (1e-3, False),
    "kg/min": (1 / 60, False),
    "kg/h": (1 / 3600, False),
    "t/h": (1000 / 3600, False),
    "m3/s": (1.0, True),
    "m3/h": (1 / 3600, True),
    "L/s": (1e-3, True),
    "L/min": (1e-3 / 60, True),
}
DEFAULT_ERROR_CURVE: tuple[tuple[float, float], ...] = ((0.2, 0.45), (1.0, 0.2), (5.0, 0.08), (10.0, 0.05))
MAX_FLOW = 1000.0  # kg/s, a sanity bound for set points


@dataclass(frozen=True, slots=True)
class RigSample:
    """One instant of the rig: flows in kg/s and m3/s, density kg/m3, temperature °C, totals kg and m3."""

    time: float
    true_flow: float  # kg/s
    indicated_flow: float  # kg/s, what the meter shows (error + noise)
    density: float
    temperature: float
    meter_total: float  # kg, the meter's totaliser
    true_total: float  # kg, what really flowed (the master meter)

    @property
    def indicated_volume_flow(self) -> float:
        """m3/s."""
        return self.indicated_flow / self.density

    @property
    def meter_total_volume(self) -> float:
        """m3."""
        return self.meter_total / self.density


class FlowRig:
    """Flow physics (thread-safe). ``flow`` is the initial set point in kg/s (already settled); ``time_constant``
    in s; ``noise`` the relative standard deviation of the flow indication; ``density`` kg/m3, ``temperature`` °C;
    ``error_curve`` a sequence of (flow kg/s, error %) points.
    """

    def __init__(
        self,
        *,
        flow: float = 0.0,
        time_constant: float = 2.0,
        noise: float = 2e-4,
        density: float = 998.2,
        temperature: float = 20.0,
        error_curve: Sequence[Sequence[float]] | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (math.isfinite(time_constant) and time_constant > 0):
            raise ValueError(f"time_constant must be > 0 s, got {time_constant!r}")
        if not (math.isfinite(noise) and 0 <= noise < 0.1):
            raise ValueError(f"noise must be 0..0.1 (relative), got {noise!r}")
        if not (math.isfinite(density) and density > 0):
            raise ValueError(f"density must be > 0 kg/m3, got {density!r}")
        self._lock = threading.Lock()
        self._clock = clock
        self._rng = random.Random(seed)
        self.time_constant = float(time_constant)
        self.noise = float(noise)
        self.density = float(density)
        self.temperature = float(temperature)
        self._curve: list[tuple[float, float]] = []
        self._setpoint = self._check_flow(flow)
        self._flow = self._setpoint
        self._t = clock()
        self._meter_total = 0.0
        self._true_total = 0.0
        self.set_error_curve(DEFAULT_ERROR_CURVE if error_curve is None else error_curve)

    @staticmethod
    def _check_flow(value: float) -> float:
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= MAX_FLOW):
            raise ValueError(f"flow must be 0..{MAX_FLOW:g} kg/s, got {value!r}")
        return float(value)

    def error_percent(self, flow: float) -> float:
        """The meter's error in % of reading at ``flow`` (kg/s): linear between the curve's points."""
        curve = self._curve
        if not curve:
            return 0.0
        flows = [p[0] for p in curve]
        i = bisect.bisect_left(flows, flow)
        if i == 0:
            return curve[0][1]
        if i == len(curve):
            return curve[-1][1]
        (f0, e0), (f1, e1) = curve[i - 1], curve[i]
        return e0 + (e1 - e0) * (flow - f0) / (f1 - f0)

    def set_error_curve(self, points: Sequence[Sequence[float]]) -> list[list[float]]:
        """Replace the error curve: (flow kg/s, error %) points, flows distinct, errors within ±50 %."""
        curve: list[tuple[float, float]] = []
        for point in points:
            if not (isinstance(point, (list, tuple)) and len(point) == 2):
                raise ValueError(f"each error-curve point is [flow kg/s, error %], got {point!r}")
            flow, err = (float(v) for v in point)
            if not (math.isfinite(flow) and flow >= 0 and math.isfinite(err) and -50 <= err <= 50):
                raise ValueError(f"error-curve point {list(point)!r}: flow must be >= 0 and error within ±50 %")
            curve.append((flow, err))
        curve.sort()
        if len({f for f, _ in curve}) != len(curve):
            raise ValueError("error-curve flows must be distinct")
        with self._lock:
            self._advance()
            self._curve = curve
        return [list(p) for p in curve]

    def set_flow(self, flow: float) -> float:
        """New set point in kg/s; the flow approaches it with the time constant. Returns the set point."""
        value = self._check_flow(flow)
        with self._lock:
            self._advance()
            self._setpoint = value
        return value

    def reset_totalizer(self) -> None:
        """Zero the meter's and the master's totals."""
        with self._lock:
            self._advance()
            self._meter_total = 0.0
            self._true_total = 0.0

    def _advance(self) -> None:
        """Integrate from the last update to now (lock held)."""
        now = self._clock()
        dt = now - self._t
        if dt <= 0:
            return
        tau, sp = self.time_constant, self._setpoint
        steps = 1 if abs(self._flow - sp) < 1e-12 else min(2000, max(1, math.ceil(dt / (tau / 10))))
        h = dt / steps
        decay = math.exp(-h / tau)
        for _ in range(steps):
            f0 = self._flow
            f1 = sp + (f0 - sp) * decay
            mass = sp * h + (f0 - sp) * tau * (1 - decay)  # exact integral of the first-order response
            mean = mass / h
            self._true_total += mass
            self._meter_total += mass * (1 + self.error_percent(mean) / 100)
            self._flow = f1
        self._t = now

    def sample(self) -> RigSample:
        """The rig now (advances the integration)."""
        with self._lock:
            self._advance()
            flow = self._flow
            indicated = flow * (1 + self.error_percent(flow) / 100)
            indicated *= 1 + self._rng.gauss(0, self.noise) if self.noise else 1
            temperature = self.temperature + (self._rng.gauss(0, 0.01) if self.noise else 0.0)
            return RigSample(self._t, flow, indicated, self.density, temperature, self._meter_total, self._true_total)

    @property
    def setpoint(self) -> float:
        """Current set point, kg/s."""
        with self._lock:
            return self._setpoint


# -- register maps ----------------------------------------------------------------------------------------------
Source = Callable[[RigSample, float], float]  # (sample, seconds since start) -> value in the register's unit


@dataclass(frozen=True, slots=True)
class _Reg:
    kinds: tuple[RegisterKind, ...]
    address: int
    data_type: DataType
    order: str
    source: Source


def _zero(_s: RigSample, _t: float) -> float:
    return 0.0


def _siemens(unit: int) -> tuple[list[_Reg], tuple[int, ...]]:
    h: tuple[RegisterKind, ...] = ("holding",)
    f32, f64 = DataType.FLOAT32, DataType.FLOAT64
    regs = [
        _Reg(h, 3000, f32, "ABCD", lambda s, _t: s.indicated_flow),
        _Reg(h, 3002, f32, "ABCD", lambda s, _t: s.indicated_volume_flow),
        _Reg(h, 3004, f32, "ABCD", lambda s, _t: s.density),
        _Reg(h, 3006, f32, "ABCD", lambda s, _t: s.temperature),
        _Reg(h, 3008, f32, "ABCD", _zero),  # fraction A (kg/s): no fractions on this rig
        _Reg(h, 3010, f32, "ABCD", _zero),  # fraction B
        _Reg(h, 3012, f32, "ABCD", _zero),  # % fraction A
        _Reg(h, 3014, f64, "ABCD", lambda s, _t: s.meter_total),  # totalizer 1 (mass, kg)
        _Reg(h, 3018, f64, "ABCD", lambda s, _t: s.meter_total_volume),  # totalizer 2 (volume, m3)
        _Reg(h, 3022, f32, "ABCD", lambda s, _t: s.meter_total),
        _Reg(h, 3024, f32, "ABCD", lambda s, _t: s.meter_total_volume),
        _Reg(h, 528, DataType.UINT16, "ABCD", lambda _s, _t: float(unit)),  # device address
        _Reg(h, 529, DataType.UINT16, "ABCD", lambda _s, _t: 4.0),  # baud code 4 = 19200
        _Reg(h, 530, DataType.UINT16, "ABCD", _zero),  # framing code (meaning not modelled)
    ]
    return regs, (3, 6, 16)


def _promass(_unit: int) -> tuple[list[_Reg], tuple[int, ...]]:
    both: tuple[RegisterKind, ...] = ("holding", "input")  # FC03 and FC04 return the same data
    f32 = DataType.FLOAT32
    regs = [
        _Reg(both, 2006, f32, "CDAB", lambda s, _t: s.indicated_flow * 3600),  # kg/h
        _Reg(both, 2016, f32, "CDAB", lambda s, _t: s.temperature),
        _Reg(both, 2609, f32, "CDAB", lambda s, _t: s.meter_total),  # kg
    ]
    return regs, (3, 4, 6, 16)


_PIPE_AREA = math.pi * 0.05**2 / 4  # DN50, m2


def _krohne(_unit: int) -> tuple[list[_Reg], tuple[int, ...]]:
    i: tuple[RegisterKind, ...] = ("input",)
    f32, f64 = DataType.FLOAT32, DataType.FLOAT64
    regs = [
        _Reg(i, 0, f32, "ABCD", lambda s, _t: s.indicated_volume_flow),  # m3/s
        _Reg(i, 2, f32, "ABCD", _zero),  # corrected volume flow (gas only)
        _Reg(i, 4, f32, "ABCD", lambda s, _t: s.indicated_flow),  # kg/s
        _Reg(i, 6, f32, "ABCD", _zero),  # molar mass (gas only)
        _Reg(i, 8, f32, "ABCD", _zero),  # not used, returns zero
        _Reg(i, 10, f32, "ABCD", lambda s, _t: s.indicated_volume_flow / _PIPE_AREA),  # flow speed m/s
        _Reg(i, 12, f32, "ABCD", lambda _s, _t: 1482.0),  # velocity of sound (water), m/s
        _Reg(i, 14, f32, "ABCD", lambda _s, _t: 60.0),  # gain
        _Reg(i, 16, f32, "ABCD", _zero),  # diagnostics 1..3
        _Reg(i, 18, f32, "ABCD", _zero),
        _Reg(i, 20, f32, "ABCD", _zero),
        _Reg(i, 22, f32, "ABCD", lambda s, _t: s.temperature),
        _Reg(i, 24, f32, "ABCD", _zero),  # pressure of the medium (no current input)
        _Reg(i, 26, f32, "ABCD", lambda _s, t: t),  # operating time
        _Reg(i, 28, f64, "ABCD", lambda s, _t: s.meter_total_volume),  # counter 1: volume, m3
        _Reg(i, 32, f64, "ABCD", lambda s, _t: s.meter_total),  # counter 2: mass, kg
        _Reg(i, 36, f64, "ABCD", _zero),  # counter 3 (IO2 only)
        _Reg(i, 40, DataType.UINT32, "ABCD", _zero),  # long status sensor
        _Reg(i, 42, DataType.UINT32, "ABCD", _zero),  # long status device
    ]
    return regs, (3, 4)


_MAPS: dict[str, Callable[[int], tuple[list[_Reg], tuple[int, ...]]]] = {
    "siemens-sitrans-fc-mass6000": _siemens,
    "endress-hauser-promass83": _promass,
    "krohne-gfc300": _krohne,
}


def _to_kg_s(value: float, unit: str, density: float) -> float:
    """``value`` in flow ``unit`` as kg/s (volume units through ``density``, kg/m3)."""
    try:
        factor, volume = FLOW_UNITS[unit]
    except KeyError:
        raise ValueError(f"flow unit must be one of {', '.join(FLOW_UNITS)}, got {unit!r}") from None
    if not (isinstance(value, (int, float)) and math.isfinite(value)):
        raise ValueError(f"flow must be a number, got {value!r}")
    return value * factor * density if volume else value * factor


class _MeterDevice(ModbusDevice):
    """A :class:`ModbusDevice` that refreshes every register from one rig sample before each read, and can be
    told to answer the next requests with a Modbus exception code."""

    def __init__(self, refresh: Callable[[], None], unit: int, **kwargs: Any) -> None:
        super().__init__(unit, **kwargs)
        self._refresh = refresh
        self.forced: tuple[int, int] = (0, 0)  # (exception code, requests left)

    def read(self, kind: RegisterKind, address: int, count: int) -> list[int] | int:
        self._refresh()
        return super().read(kind, address, count)

    def respond(self, dev_id: int, tid: int, frame: bytes, framing: Framing) -> ModbusPDU | None:
        code, left = self.forced
        if left and frame and self.addressed(dev_id, framing):
            self.forced = (code, left - 1)
            self.requests += 1
            return ExceptionResponse(frame[0], code, device_id=dev_id, transaction=tid)
        return super().respond(dev_id, tid, frame, framing)


class FlowMeterSimulator(SimulatedInstrument):
    """A Modbus flow meter (``model``: a registry model of :mod:`drivers.flowmeter`) on a :class:`FlowRig`.

    ``framing`` ``"tcp"`` (Modbus TCP) or ``"rtu"`` (RTU framed on raw TCP, paced by ``options.settings``); ``unit`` the
    Modbus unit id; ``flow`` the initial (settled) set point in ``flow_unit``; ``time_constant`` (s), ``noise``
    (relative), ``density`` (kg/m3), ``temperature`` (°C), ``error_curve`` ([flow kg/s, error %] points) and
    ``clock`` (seconds; a virtual clock lets a demo run a long test volume instantly) go to the rig.
    """

    protocol: ClassVar[str] = "modbus-tcp"
    model: ClassVar[str] = "siemens-sitrans-fc-mass6000"
    controls: ClassVar[frozenset[str]] = frozenset(
        {"set_flow", "set_error_curve", "reset_totalizer", "state", "set_exception"}
    )

    def __init__(
        self,
        options: SimOptions,
        *,
        model: str = "siemens-sitrans-fc-mass6000",
        framing: Literal["tcp", "rtu"] = "tcp",
        unit: int = 1,
        flow: float = 1.0,
        flow_unit: str = "kg/s",
        time_constant: float = 2.0,
        noise: float = 2e-4,
        density: float = 998.2,
        temperature: float = 20.0,
        error_curve: Sequence[Sequence[float]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(options)
        if model not in _MAPS:
            raise ValueError(f"{self.instrument_id}: model must be one of {', '.join(_MAPS)}, got {model!r}")
        if framing not in ("tcp", "rtu"):
            raise ValueError(f"{self.instrument_id}: framing must be 'tcp' or 'rtu', got {framing!r}")
        self.meter_model = model
        self.profile = PROFILES[model]
        self.framing: Literal["tcp", "rtu"] = framing
        self.unit = unit
        try:
            self.rig = FlowRig(
                flow=_to_kg_s(flow, flow_unit, density),  # starts settled at this flow
                time_constant=time_constant,
                noise=noise,
                density=density,
                temperature=temperature,
                error_curve=error_curve,
                seed=options.seed,
                clock=clock,
            )
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{self.instrument_id}: {exc}") from None
        self._t0 = time.monotonic()
        self._regs, functions = _MAPS[model](unit)
        self.device = _MeterDevice(self._refresh, unit, functions=functions, answer_any_unit=False)
        self._refresh()
        self.server = ModbusServer(
            self.device, framing=framing, port=options.port, settings=options.settings, faults=self.faults
        )

    def _refresh(self) -> None:
        sample = self.rig.sample()
        elapsed = time.monotonic() - self._t0
        for reg in self._regs:
            value = reg.source(sample, elapsed)
            words = encode_value(value, reg.data_type, reg.order)
            for kind in reg.kinds:
                self.device.set_registers(kind, reg.address, words)

    # -- controls -----------------------------------------------------------------------------------------------
    def set_flow(self, value: float, unit: str = "kg/s") -> float:
        """New flow set point in ``unit`` (kg/s, g/s, kg/min, kg/h, t/h, m3/s, m3/h, L/s, L/min); returns kg/s."""
        try:
            return self.rig.set_flow(_to_kg_s(value, unit, self.rig.density))
        except ValueError as exc:
            raise ValueError(f"{self.instrument_id}: {exc}") from None

    def set_error_curve(self, points: list[list[float]]) -> list[list[float]]:
        """The meter's error curve: [[flow kg/s, error %], ...]; returns it sorted."""
        try:
            return self.rig.set_error_curve(points)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{self.instrument_id}: {exc}") from None

    def reset_totalizer(self) -> None:
        """Zero the meter's totaliser (and the rig's master total)."""
        self.rig.reset_totalizer()

    def state(self) -> dict[str, float]:
        """The rig now: set point, true and indicated flow (kg/s), meter and master totals (kg), error (%)."""
        s = self.rig.sample()
        return {
            "setpoint_kg_s": self.rig.setpoint,
            "true_flow_kg_s": s.true_flow,
            "indicated_flow_kg_s": s.indicated_flow,
            "meter_total_kg": s.meter_total,
            "master_total_kg": s.true_total,
            "error_percent": self.rig.error_percent(s.true_flow),
        }

    def set_exception(self, code: int = 4, count: int = 1) -> None:
        """Answer the next ``count`` addressed requests with Modbus exception ``code`` (e.g. 4 device failure)."""
        if not (isinstance(code, int) and 1 <= code <= 0x7F and isinstance(count, int) and count >= 0):
            raise ValueError(f"{self.instrument_id}: code must be 1..127 and count >= 0")
        self.device.forced = (code, count)

    # -- life cycle ---------------------------------------------------------------------------------------------
    def manifest_entry(self) -> dict[str, Any]:
        """Manifest entry with the meter's registry model, the protocol of its framing and the Modbus ``unit``."""
        entry = super().manifest_entry()
        entry["model"] = self.meter_model
        entry["protocol"] = "modbus-rtu" if self.framing == "rtu" else "modbus-tcp"
        entry["unit"] = self.unit
        return entry
