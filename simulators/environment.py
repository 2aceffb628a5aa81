"""Virtual COMET T7510 (Modbus TCP) / T7310 (Modbus RTU) thermometer-hygrometer-barometer.

The register map and behaviour follow :mod:`drivers.environment` (its docstring cites the Comet manuals):
holding registers 0x30 temperature, 0x31 relative humidity, 0x32 computed value (dew point), 0x33 pressure, all
``Int*10`` in °C, %RH, °C and hPa; serial number BCD at 0x1034/0x1035. Unmapped registers get exception 0x02; a
foreign unit id on RTU gets silence; on TCP the T7510 answers any unit id (Comet Tx6xx manual). The T7510
implements function 0x03 only; the T7310 also 0x04 (assumed to return the same registers) and 0x10.

Conditions drift slowly around the set point (a few tenths over minutes) with small seeded noise, like a
climatised lab. A sensor error puts 0x8000 (-32768, far outside every range) in the register: the real error
code is not in the sources read (see the driver's docstring), the driver only relies on it being out of range.
"""

from __future__ import annotations

import math
import random
import threading
import time
from typing import Any, ClassVar, Literal

from simulators.base import SimOptions, SimulatedInstrument
from simulators.modbus_server import ModbusDevice, ModbusServer

ERROR_RAW = 0x8000  # what the simulator puts in a register whose sensor has failed
QUANTITIES = ("temperature", "humidity", "pressure")
_LIMITS = {"temperature": (-30.0, 80.0), "humidity": (0.0, 100.0), "pressure": (300.0, 1350.0)}


def dew_point(temperature: float, humidity: float) -> float:
    """Dew point in °C from air temperature (°C) and relative humidity (%), Magnus formula over water."""
    b, c = 17.62, 243.12
    gamma = math.log(max(humidity, 0.1) / 100.0) + b * temperature / (c + temperature)
    return c * gamma / (b - gamma)


def _int10(value: float) -> int:
    """Comet ``Int*10``: round(value * 10) as a 16-bit two's-complement register."""
    raw = round(value * 10)
    return max(-32767, min(32767, raw)) & 0xFFFF


class EnvironmentSimulator(SimulatedInstrument):
    """A Comet thermo-hygro-barometer on Modbus TCP (``framing="tcp"``, T7510) or RTU on TCP (``"rtu"``, T7310).

    ``temperature`` (°C), ``humidity`` (%RH) and ``pressure`` (hPa) are the set points the readings drift
    around; ``noise`` scales the random noise (0 = exactly the set point); ``unit`` is the Modbus unit id.
    ``options.settings`` paces the bytes at a serial line rate (None = unpaced; the T7310 default line is 9600 8N2).
    """

    protocol: ClassVar[str] = "modbus-tcp"
    model: ClassVar[str] = "comet-t7510"
    controls: ClassVar[frozenset[str]] = frozenset({"set_conditions", "set_sensor_error"})

    def __init__(
        self,
        options: SimOptions,
        *,
        framing: Literal["tcp", "rtu"] = "tcp",
        unit: int = 1,
        temperature: float = 21.5,
        humidity: float = 50.0,
        pressure: float = 1008.0,
        noise: float = 1.0,
    ) -> None:
        super().__init__(options)
        if framing not in ("tcp", "rtu"):
            raise ValueError(f"{self.instrument_id}: framing must be 'tcp' or 'rtu', got {framing!r}")
        if not (self.serial_number.isdigit() and len(self.serial_number) <= 8):
            raise ValueError(
                f"{self.instrument_id}: a Comet serial number is up to 8 digits (BCD), got {self.serial_number!r}"
            )
        if noise < 0:
            raise ValueError(f"{self.instrument_id}: noise must be >= 0")
        self.framing: Literal["tcp", "rtu"] = framing
        self.unit = unit
        self._lock = threading.Lock()
        self._rng = random.Random(options.seed)
        self._phase = self._rng.uniform(0, 2 * math.pi)
        self._t0 = time.monotonic()
        self._noise = noise
        self._set: dict[str, float] = {}
        self._errors: set[str] = set()
        self.set_conditions(temperature=temperature, humidity=humidity, pressure=pressure)
        serial_regs = [int(self.serial_number.zfill(8)[:4], 16), int(self.serial_number.zfill(8)[4:], 16)]
        measured = {
            0x30: lambda: self._register("temperature"),
            0x31: lambda: self._register("humidity"),
            0x32: lambda: self._register("dew point"),
            0x33: lambda: self._register("pressure"),
        }
        fixed = {0x1034: serial_regs[0], 0x1035: serial_regs[1]}
        rtu = framing == "rtu"
        self.device = ModbusDevice(
            unit,
            functions=(3, 4, 16) if rtu else (3,),
            holding={**measured, **fixed},
            input_registers={**measured, **fixed} if rtu else None,
            answer_any_unit=not rtu,
        )
        self.server = ModbusServer(
            self.device, framing=framing, port=options.port, settings=options.settings, faults=self.faults
        )

    # -- physics ------------------------------------------------------------------------------------------------
    def _now(self) -> dict[str, float]:
        """Current true values: set point + slow drift + noise (call with the lock held)."""
        minutes = (time.monotonic() - self._t0) / 60.0
        drift = math.sin(2 * math.pi * minutes / 20.0 + self._phase)  # a 20-minute air-conditioning cycle
        n = self._noise
        t = self._set["temperature"] + n * (0.15 * drift + self._rng.gauss(0, 0.02))
        h = self._set["humidity"] + n * (-0.8 * drift + self._rng.gauss(0, 0.15))
        p = self._set["pressure"] + n * (0.1 * drift + self._rng.gauss(0, 0.03))
        return {"temperature": t, "humidity": min(100.0, max(0.0, h)), "pressure": p}

    def _register(self, what: str) -> int:
        with self._lock:
            values = self._now()
            if what == "dew point":
                if self._errors & {"temperature", "humidity"}:
                    return ERROR_RAW
                return _int10(dew_point(values["temperature"], values["humidity"]))
            if what in self._errors:
                return ERROR_RAW
            return _int10(values[what])

    # -- controls -----------------------------------------------------------------------------------------------
    def set_conditions(
        self, temperature: float | None = None, humidity: float | None = None, pressure: float | None = None
    ) -> dict[str, float]:
        """Set the lab's air temperature (°C), relative humidity (%RH) and/or pressure (hPa); returns the set points."""
        given = {"temperature": temperature, "humidity": humidity, "pressure": pressure}
        for name, value in given.items():
            if value is None:
                continue
            low, high = _LIMITS[name]
            if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
                raise ValueError(f"{self.instrument_id}: {name} must be {low:g}..{high:g}, got {value!r}")
        with self._lock:
            for name, value in given.items():
                if value is not None:
                    self._set[name] = float(value)
            return dict(self._set)

    def set_sensor_error(self, quantity: str, on: bool = True) -> None:
        """Make the ``quantity`` sensor (temperature, humidity, pressure) fail (``on``) or recover."""
        if quantity not in QUANTITIES:
            raise ValueError(f"{self.instrument_id}: quantity must be one of {', '.join(QUANTITIES)}, got {quantity!r}")
        with self._lock:
            if on:
                self._errors.add(quantity)
            else:
                self._errors.discard(quantity)

    # -- life cycle ---------------------------------------------------------------------------------------------
    def manifest_entry(self) -> dict[str, Any]:
        """Manifest entry with the Modbus ``unit``; model/protocol follow the framing (T7510 TCP, T7310 RTU)."""
        entry = super().manifest_entry()
        if self.framing == "rtu":
            entry["model"] = "comet-t7310"
            entry["protocol"] = "modbus-rtu"
        entry["unit"] = self.unit
        return entry
