"""The virtual lab: a configured set of simulators on 127.0.0.1, a manifest, and a control port.

Serial instruments listen as raw TCP (as behind a serial device server), Modbus ones as Modbus TCP or RTU framed
on TCP. Once every simulator listens the lab writes the manifest (JSON, written atomically)::

    {"instruments": [{"id", "model", "protocol", "url", "serial_number", ...}],
     "control": "tcp://127.0.0.1:PORT"}

``control`` is a JSON-lines port for tests and demos in other processes: send
``{"id": "bal-1", "action": "place", "params": {"load_g": 100}}`` and read ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "..."}``. ``{"action": "list"}`` returns the manifest's instruments.
In-process code calls ``lab.instrument("bal-1").place(load_g=100)`` directly instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from drivers.address import SerialSettings, parse_address
from simulators.base import SimOptions, SimulatedInstrument
from simulators.runner import SimulatorThread

#: simulator kind -> "module:Class"
SIMULATORS: dict[str, str] = {
    "mt-sics": "simulators.mtsics:MtSicsSimulator",
    "sartorius-sbi": "simulators.sartorius_sbi:SartoriusSimulator",
    "environment": "simulators.environment:EnvironmentSimulator",
    "flow-meter": "simulators.flowrig:FlowMeterSimulator",
    "fluke-5520a": "simulators.electrical:Fluke5520ASimulator",
    "keysight-34465a": "simulators.electrical:Keysight34465ASimulator",
    "hp-3458a": "simulators.electrical:HP3458ASimulator",
}


@dataclass(frozen=True)
class InstrumentSpec:
    """One simulator in a lab configuration.

    ``line`` is an optional serial line for pacing, written as an address query (``baud=9600&parity=N``);
    empty = unpaced. ``id``, ``serial_number``, ``port``, ``line`` and ``seed`` become the simulator's
    :class:`SimOptions`; ``params`` are its model's keywords (capacity, resolution, framing, unit...).
    """

    id: str
    kind: str
    serial_number: str
    port: int = 0
    line: str = ""
    seed: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a JSON object; raise ValueError naming what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"each instrument must be a JSON object, got {data!r}")
        missing = [k for k in ("id", "kind", "serial_number") if not data.get(k)]
        if missing:
            raise ValueError(f"instrument {data.get('id', '?')}: missing {', '.join(missing)}")
        known = {"id", "kind", "serial_number", "port", "line", "seed", "params"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"instrument {data['id']}: unknown key(s) {', '.join(unknown)}")
        if data["kind"] not in SIMULATORS:
            raise ValueError(f"instrument {data['id']}: unknown kind {data['kind']!r}; use {', '.join(SIMULATORS)}")
        return cls(
            id=str(data["id"]),
            kind=str(data["kind"]),
            serial_number=str(data["serial_number"]),
            port=int(data.get("port", 0)),
            line=str(data.get("line", "")),
            seed=data.get("seed"),
            params=dict(data.get("params", {})),
        )

    def settings(self) -> SerialSettings | None:
        """Line settings for pacing, or None."""
        if not self.line:
            return None
        return parse_address(f"socket://127.0.0.1:1?{self.line}").serial

    def options(self) -> SimOptions:
        """The common options of this simulator (id, serial number, line pacing, port, seed)."""
        return SimOptions(self.id, self.serial_number, settings=self.settings(), port=self.port, seed=self.seed)

    def build(self) -> SimulatedInstrument:
        """Instantiate the simulator (not started)."""
        module_name, _, class_name = SIMULATORS[self.kind].partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        try:
            sim: SimulatedInstrument = cls(self.options(), **self.params)
        except TypeError as exc:  # an unknown or missing parameter
            raise ValueError(f"instrument {self.id} ({self.kind}): {exc}") from None
        return sim


#: The default virtual lab: the lab's reference balances and its thermo-hygro-barometer.
DEFAULT_LAB: tuple[InstrumentSpec, ...] = (
    InstrumentSpec(
        "bal-1",
        "mt-sics",
        "B912345678",
        line="baud=9600&bytesize=8&parity=N",
        seed=1,
        params={"capacity": 220.0, "resolution": 0.0001},
    ),
    InstrumentSpec(
        "bal-2",
        "sartorius-sbi",
        "0034512345",
        line="baud=9600&bytesize=7&parity=O",
        seed=2,
        params={"capacity": 6200.0, "resolution": 0.01},
    ),
    InstrumentSpec("env-1", "environment", "20231005", seed=3, params={"framing": "tcp", "unit": 1}),
    InstrumentSpec(
        "env-2",
        "environment",
        "20231006",
        line="baud=9600&bytesize=8&parity=N&stopbits=2",
        seed=4,
        params={"framing": "rtu", "unit": 3},
    ),
    # flow meters on the flow rig: Siemens on Modbus TCP, E+H on RTU framed on TCP (19200 8E1), Krohne on TCP
    InstrumentSpec(
        "flow-1",
        "flow-meter",
        "N1K4012345",
        seed=11,
        params={"model": "siemens-sitrans-fc-mass6000", "framing": "tcp", "unit": 1, "flow": 2.0},
    ),
    InstrumentSpec(
        "flow-2",
        "flow-meter",
        "8A0B1C02000",
        line="baud=19200&bytesize=8&parity=E",
        seed=12,
        params={"model": "endress-hauser-promass83", "framing": "rtu", "unit": 2, "flow": 1.5},
    ),
    InstrumentSpec(
        "flow-3",
        "flow-meter",
        "A1234567",
        seed=13,
        params={"model": "krohne-gfc300", "framing": "tcp", "unit": 1, "flow": 0.5},
    ),
    # electrical: a calibrator (demo state 10 V DC in operate; a real one powers up in standby) wired to two DMMs
    InstrumentSpec(
        "cal-1",
        "fluke-5520a",
        "9345012",
        line="baud=9600&bytesize=8&parity=N",
        seed=5,
        params={"output": 10.0, "unit": "V", "operate": True},
    ),
    InstrumentSpec("dmm-1", "keysight-34465a", "MY57503456", seed=6, params={"input_from": "cal-1"}),
    InstrumentSpec("dmm-2", "hp-3458a", "2823A12345", seed=7, params={"input_from": "cal-1"}),
)


def load_config(path: str | os.PathLike[str]) -> list[InstrumentSpec]:
    """Read a lab configuration file: ``{"instruments": [InstrumentSpec fields...]}``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read lab configuration {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"lab configuration {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("instruments"), list):
        raise ValueError(f'lab configuration {path}: expected {{"instruments": [...]}}')
    specs = [InstrumentSpec.from_dict(item) for item in data["instruments"]]
    ids = [s.id for s in specs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"lab configuration {path}: duplicate id(s) {', '.join(dupes)}")
    return specs


class VirtualLab:
    """Simulators running on a background loop, with a manifest and a control port."""

    def __init__(self, specs: list[InstrumentSpec] | tuple[InstrumentSpec, ...] = DEFAULT_LAB) -> None:
        self.specs = list(specs)
        self.runner: SimulatorThread | None = None
        self.instruments: dict[str, SimulatedInstrument] = {}
        self._control: asyncio.Server | None = None
        self.control_port = 0

    def start(self, control_port: int = 0) -> Self:
        """Start every simulator and the control port; return once all listen."""
        self.runner = SimulatorThread()
        try:
            sims = [spec.build() for spec in self.specs]
            self.instruments = {s.instrument_id: s for s in sims}
            for sim in sims:  # lab-level wiring, e.g. a DMM's input to a calibrator's output (``input_from``)
                connect = getattr(sim, "connect_lab", None)
                if callable(connect):
                    connect(self.instruments)
            self.runner.start_all(sims)
            self._control = self.runner.call(asyncio.start_server(self._on_control, "127.0.0.1", control_port))
            self.control_port = self._control.sockets[0].getsockname()[1]
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the control port and every simulator."""
        if self.runner is None:
            return
        if self._control is not None:
            self.runner.loop.call_soon_threadsafe(self._control.close)
            self._control = None
        self.runner.stop()
        self.runner = None

    def __enter__(self) -> Self:
        """Start the lab (on any free control port), unless it was started already (``VirtualLab(...).start(port)``
        then ``with``: starting again would build a second set of simulators and leak the first)."""
        return self if self.runner is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def instrument(self, instrument_id: str) -> SimulatedInstrument:
        """The running simulator with this id (KeyError names the known ids)."""
        try:
            return self.instruments[instrument_id]
        except KeyError:
            raise KeyError(f"no instrument {instrument_id!r}; the lab has {', '.join(self.instruments)}") from None

    def manifest(self) -> dict[str, Any]:
        """The manifest document."""
        return {
            "instruments": [s.manifest_entry() for s in self.instruments.values()],
            "control": f"tcp://127.0.0.1:{self.control_port}",
        }

    def write_manifest(self, path: str | os.PathLike[str]) -> Path:
        """Write the manifest atomically (a reader never sees half a file)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.manifest(), fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, target)
        return target

    def control(self, instrument_id: str, action: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run a control action on one simulator (thread-safe)."""
        return self.instrument(instrument_id).control(action, **dict(params or {}))

    async def _on_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("a request is a JSON object")
                    if request.get("action") == "list":
                        reply: dict[str, Any] = {"ok": True, "result": self.manifest()["instruments"]}
                    else:
                        params = request.get("params") or {}
                        if not isinstance(params, dict):
                            raise ValueError("params must be a JSON object")
                        result = self.control(str(request.get("id")), str(request.get("action")), params)
                        reply = {"ok": True, "result": result}
                except (ValueError, KeyError, TypeError) as exc:
                    reply = {"ok": False, "error": str(exc).strip("'\"")}
                writer.write(json.dumps(reply, default=str).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                writer.close()
