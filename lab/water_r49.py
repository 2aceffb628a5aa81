"""Demo of ``water-meter-verification-r49``: a DN15 class 2 water meter (Q3 = 2.5 m³/h, R = 160) against a
Siemens MASS 6000 master meter on a simulated flow rig.

The meter under test is virtual: the demo keeps its register (L), which advances by the true volume that passed
through the rig times (1 + e(q)/100), e(q) the meter's error curve (:attr:`WaterR49Demo.meter_curve`, linear in q
between its points, held at the ends), and shows it rounded to the register's resolution (0.05 L). The technician's
manual entry of the register (role ``meter``) is answered from it.

Time: the rig runs on a :class:`VirtualClock` that only the demo moves. ``run-volume`` sets the flow, moves the
clock by the time the volume takes at that flow (3.6 V/q seconds: 10 L at Q1 is about 37 minutes of rig time),
stops the flow and moves the clock on until the flow has died away (40 time constants); no wall time passes, so
the whole verification takes well under a second of rig work. The master's totaliser and the rig's true total are
exact integrals of the simulated flow (see :mod:`simulators.flowrig`), so the errors found are the configured
ones, up to the rounding of the register.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from acquisition.channel import OperatorAction
from acquisition.methods.flow import water_density
from drivers.base import Instrument
from drivers.manual import ManualEntry
from lab.base import DemoScenario, instrument, previous_certificate, standard
from registry.models import MetrologyField
from simulators.base import SimOptions
from simulators.flowrig import FlowMeterSimulator
from simulators.runner import SimulatorThread

SERIAL = "DN15-2026-0042"
MASTER = "DEMO-MASTER-DN15"
MASTER_MODEL = "siemens-sitrans-fc-mass6000"
RESOLUTION_L = 0.05  # the meter's register: verification scale interval d
INITIAL_REGISTER_L = 1234.50
WATER_TEMPERATURE = 20.0  # °C on the rig
TIME_CONSTANT = 0.05  # s (rig time) of the flow's first-order response
SETTLE_TIME_CONSTANTS = 40.0  # after closing the valve: the flow decays by e^-40
#: the demo's test flows (m³/h), inside the ranges OIML R49-2 allows around Q1, Q2, Q3 for Q3 = 2.5, R = 160
TEST_FLOWS = {"Q1": 0.0164, "Q2": 0.0262, "Q3": 2.4}
#: the virtual water meter's error curve: (flow m³/h, error %)
METER_CURVE: tuple[tuple[float, float], ...] = ((0.0164, 1.2), (0.0262, 0.6), (2.4, -0.3))
#: how much the master's certified errors changed since its previous certificate (%)
MASTER_DRIFT = 0.02
#: the master meter's certificate (flow m³/h, error %, U %, k = 2); the simulated master has exactly these errors
MASTER_CERTIFICATE: tuple[tuple[float, float, float], ...] = (
    (0.01, 0.30, 0.15),
    (0.05, 0.20, 0.10),
    (0.5, 0.10, 0.08),
    (3.5, 0.05, 0.08),
)


class VirtualClock:
    """A clock (seconds) that stands still until :meth:`advance` moves it; thread-safe, never goes back."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (>= 0)."""
        if not seconds >= 0:
            raise ValueError(f"a clock only moves forward, got {seconds!r} s")
        with self._lock:
            self._now += seconds


def interpolate(curve: Sequence[tuple[float, float]], x: float) -> float:
    """Linear interpolation in (x, y) points sorted by x; held constant beyond the ends."""
    xs = [p[0] for p in curve]
    i = bisect.bisect_left(xs, x)
    if i == 0:
        return curve[0][1]
    if i == len(curve):
        return curve[-1][1]
    (x0, y0), (x1, y1) = curve[i - 1], curve[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def kg_per_s(q_m3_h: float, density: float) -> float:
    """A flow rate in m³/h as kg/s at ``density`` (kg/m³)."""
    return q_m3_h * density / 3600.0


class WaterR49Demo(DemoScenario):
    """R49 verification of a virtual DN15 water meter on the simulated master-meter rig."""

    procedure = "water-meter-verification-r49"
    instrument = SERIAL
    standards: ClassVar[dict[str, str]] = {"master": MASTER}
    parameters: ClassVar[dict[str, Any]] = {
        "q3_m3_h": 2.5,
        "r": 160,
        "test_flows_m3_h": dict(TEST_FLOWS),
        "volumes_l": {"Q1": 10.0, "Q2": 20.0, "Q3": 100.0},
    }

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.density = water_density(WATER_TEMPERATURE)
        self.master: FlowMeterSimulator | None = None
        #: the virtual meter's error curve (flow m³/h, error %); a test may replace it before the run
        self.meter_curve: tuple[tuple[float, float], ...] = METER_CURVE
        self.register_l = INITIAL_REGISTER_L  # true register content (unrounded), L

    def seed(self, s: Session, today: date) -> None:
        instrument(
            s,
            SERIAL,
            kind="Đồng hồ nước lạnh DN15",
            field=MetrologyField.VOLUME_FLOW,
            manufacturer="Demo Meters",
            model="WM-15 (Q3 2.5, R160)",
            range_min=2.5 / 160,
            range_max=1.25 * 2.5,
            range_unit="m³/h",
            resolution=RESOLUTION_L,
            resolution_unit="L",
            accuracy_class="2",
        )
        master = standard(
            s,
            today,
            code=MASTER,
            name="Đồng hồ chuẩn Coriolis Siemens MASS 6000 (demo)",
            kind="master meter",
            field=MetrologyField.VOLUME_FLOW,
            manufacturer="Siemens",
            model="SITRANS F C MASS 6000",
            serial_number="M6K-DEMO-15",
            range_min=0.01,
            range_max=3.5,
            range_unit="m³/h",
            accuracy_class="0.1",
            values=[
                {"point": q, "point_unit": "m³/h", "value": e, "unit": "%", "U": u, "k": 2}
                for q, e, u in MASTER_CERTIFICATE
            ],
        )
        previous_certificate(  # two years earlier the master's errors were MASTER_DRIFT % lower
            master,
            [
                {"point": q, "point_unit": "m³/h", "value": e - MASTER_DRIFT, "unit": "%", "U": u, "k": 2}
                for q, e, u in MASTER_CERTIFICATE
            ],
        )

    def start(self, sims: SimulatorThread) -> dict[str, tuple[str, str]]:
        sim = sims.start(
            FlowMeterSimulator(
                SimOptions("master-1", "M6K-DEMO-15", seed=5),
                model=MASTER_MODEL,
                flow=0.0,
                time_constant=TIME_CONSTANT,
                density=self.density,
                temperature=WATER_TEMPERATURE,
                error_curve=[[kg_per_s(q, self.density), e] for q, e, _ in MASTER_CERTIFICATE],
                clock=self.clock,
            )
        )
        assert isinstance(sim, FlowMeterSimulator)
        self.master = sim
        return {"meter": ("manual:?unit=L&quantity=register", "manual"), "master": (sim.url, MASTER_MODEL)}

    def attach(self, role: str, instrument: Instrument) -> None:
        if role == "meter" and isinstance(instrument, ManualEntry):
            instrument.ask = self.read_register

    def read_register(self, _prompt: str = "") -> str:
        """What the technician reads on the register: the content rounded to the resolution, in L."""
        shown = round(self.register_l / RESOLUTION_L) * RESOLUTION_L
        return f"{shown:.2f} L"

    def act(self, action: OperatorAction) -> None:
        if action.kind != "run-volume":
            raise ValueError(f"the water meter demo cannot perform {action.kind!r}")
        assert self.master is not None, "start the scenario first"
        q = float(action.params["flow_m3_h"])
        volume = float(action.params["volume_l"])
        before = self.master.control("state")["master_total_kg"]
        self.master.control("set_flow", value=q, unit="m3/h")
        self.clock.advance(3.6 * volume / q)  # V / (q / 3.6 L/s)
        self.master.control("set_flow", value=0.0)
        self.clock.advance(SETTLE_TIME_CONSTANTS * TIME_CONSTANT)
        passed_l = 1000.0 * (self.master.control("state")["master_total_kg"] - before) / self.density
        self.register_l += passed_l * (1.0 + interpolate(self.meter_curve, q) / 100.0)
