"""Demo of ``flow-meter-calibration``: an E+H Promass 83 (the meter under test, with an error curve) against a
Siemens MASS 6000 master meter, two simulated Modbus flow meters in series on one rig.

Both simulators run on the same :class:`~lab.water_r49.VirtualClock`; ``run-volume`` sets both flows at the
same (virtual) instant, moves the clock by the volume's run time (3.6 V/q seconds), stops both and lets the flow
die away (40 time constants). The two rigs therefore carry exactly the same true total, and the totals differ only
by the meters' errors: the Promass by :data:`METER_CURVE`, the master by its certified curve (which the
procedure corrects). No wall time passes while the water "runs".
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from acquisition.channel import OperatorAction
from acquisition.methods.flow import water_density
from lab.base import DemoScenario, instrument, previous_certificate, standard
from lab.water_r49 import SETTLE_TIME_CONSTANTS, TIME_CONSTANT, VirtualClock, kg_per_s
from registry.models import MetrologyField
from simulators.base import SimOptions
from simulators.flowrig import FlowMeterSimulator
from simulators.runner import SimulatorThread

SERIAL = "PM83-DEMO-0025"
MASTER = "DEMO-MASTER-DN50"
METER_MODEL = "endress-hauser-promass83"
MASTER_MODEL = "siemens-sitrans-fc-mass6000"
WATER_TEMPERATURE = 22.0  # °C
#: the demo's test flows (m³/h)
FLOWS = (1.0, 2.5, 5.0, 10.0, 15.0)
#: the Promass's error curve (flow m³/h, error % of reading), as configured on its simulator
METER_CURVE: tuple[tuple[float, float], ...] = ((1.0, 0.35), (2.5, 0.22), (5.0, 0.12), (10.0, 0.06), (15.0, 0.04))
#: how much the master's certified errors changed since its previous certificate (%)
MASTER_DRIFT = 0.02
#: the master's certificate (flow m³/h, error %, U %, k = 2); the simulated master has exactly these errors
MASTER_CERTIFICATE: tuple[tuple[float, float, float], ...] = (
    (0.5, 0.08, 0.10),
    (2.0, 0.05, 0.08),
    (10.0, 0.03, 0.06),
    (40.0, 0.02, 0.06),
)


class FlowCalibrationDemo(DemoScenario):
    """Calibration of the demo Promass 83 against the demo master meter, five flows, three runs each."""

    procedure = "flow-meter-calibration"
    instrument = SERIAL
    standards: ClassVar[dict[str, str]] = {"master": MASTER}
    parameters: ClassVar[dict[str, Any]] = {
        "flows_m3_h": list(FLOWS),
        "run_time_s": 60.0,
        "runs": 3,
        "meter_resolution_l": 0.001,
        "curve_degree": 2,
    }

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.density = water_density(WATER_TEMPERATURE)
        self.meter: FlowMeterSimulator | None = None
        self.master: FlowMeterSimulator | None = None

    def seed(self, s: Session, today: date) -> None:
        instrument(
            s,
            SERIAL,
            kind="Lưu lượng kế Coriolis DN25",
            field=MetrologyField.VOLUME_FLOW,
            manufacturer="Endress+Hauser",
            model="Proline Promass 83F DN25",
            range_min=0.0,
            range_max=18.0,
            range_unit="m³/h",
            resolution=0.001,
            resolution_unit="kg",
            accuracy_class="",
        )
        master = standard(
            s,
            today,
            code=MASTER,
            name="Đồng hồ chuẩn Coriolis Siemens MASS 6000 DN50 (demo)",
            kind="master meter",
            field=MetrologyField.VOLUME_FLOW,
            manufacturer="Siemens",
            model="SITRANS F C MASS 6000",
            serial_number="M6K-DEMO-50",
            range_min=0.5,
            range_max=40.0,
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

    def _simulator(self, name: str, serial: str, model: str, curve: list[list[float]]) -> FlowMeterSimulator:
        return FlowMeterSimulator(
            SimOptions(name, serial, seed=7),
            model=model,
            flow=0.0,
            time_constant=TIME_CONSTANT,
            density=self.density,
            temperature=WATER_TEMPERATURE,
            error_curve=curve,
            clock=self.clock,
        )

    def start(self, sims: SimulatorThread) -> dict[str, tuple[str, str]]:
        meter_curve = [[kg_per_s(q, self.density), e] for q, e in METER_CURVE]
        master_curve = [[kg_per_s(q, self.density), e] for q, e, _ in MASTER_CERTIFICATE]
        meter, master = sims.start_all(
            [
                self._simulator("meter-1", SERIAL, METER_MODEL, meter_curve),
                self._simulator("master-1", "M6K-DEMO-50", MASTER_MODEL, master_curve),
            ]
        )
        assert isinstance(meter, FlowMeterSimulator) and isinstance(master, FlowMeterSimulator)
        self.meter, self.master = meter, master
        return {"meter": (meter.url, METER_MODEL), "master": (master.url, MASTER_MODEL)}

    def act(self, action: OperatorAction) -> None:
        if action.kind != "run-volume":
            raise ValueError(f"the flow calibration demo cannot perform {action.kind!r}")
        assert self.meter is not None and self.master is not None, "start the scenario first"
        q = float(action.params["flow_m3_h"])
        volume = float(action.params["volume_l"])
        for sim in (self.meter, self.master):  # the clock stands still: both start at the same instant
            sim.control("set_flow", value=q, unit="m3/h")
        self.clock.advance(3.6 * volume / q)
        for sim in (self.meter, self.master):
            sim.control("set_flow", value=0.0)
        self.clock.advance(SETTLE_TIME_CONSTANTS * TIME_CONSTANT)
