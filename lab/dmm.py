"""Demo of ``dmm-calibration``: a Keysight 34465A with a +8 ppm gain error (well inside its 1-year specification),
wired by a virtual cable to a simulated Fluke 5520A, and the COMET thermo-hygro-barometer at 23 °C.

The simulated calibrator's output carries its own error, drawn within ``error_fraction`` (0.3) of the 5520A 1-year
limit of that output (:func:`simulators.electrical.output_spec`, the methods' table) at every new setting.
The operator's only actions are connection changes, which the virtual cable makes unnecessary: ``act`` records them.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from sqlalchemy.orm import Session

from acquisition.channel import OperatorAction
from lab.base import ENVIRONMENT_STANDARD, DemoScenario, instrument, standard, start_environment
from registry.models import MetrologyField
from simulators.base import SimOptions
from simulators.electrical import Fluke5520ASimulator, Keysight34465ASimulator
from simulators.runner import SimulatorThread

SERIAL = "MY57503456"
CALIBRATOR = "DEMO-5520A"
CALIBRATOR_SERIAL = "9345012"
GAIN_ERROR_PPM = 8.0  # the simulated DMM's gain error (ppm of reading)
CALIBRATOR_ERROR_FRACTION = 0.3  # fraction of the 5520A 1-year limit its output error stays within


class DmmDemo(DemoScenario):
    """Calibration of the demo 34465A against the simulated 5520A over the default test plan."""

    procedure = "dmm-calibration"
    instrument = SERIAL
    standards: ClassVar[dict[str, str]] = {"calibrator": CALIBRATOR, "environment": ENVIRONMENT_STANDARD}

    def __init__(self) -> None:
        self.calibrator: Fluke5520ASimulator | None = None
        self.dmm: Keysight34465ASimulator | None = None
        self.actions: list[OperatorAction] = []

    def seed(self, s: Session, today: date) -> None:
        instrument(
            s,
            SERIAL,
            kind="Đồng hồ vạn năng hiện số 6½ số",
            field=MetrologyField.ELECTRICAL,
            manufacturer="Keysight",
            model="34465A",
            range_min=0.0,
            range_max=1000.0,
            range_unit="V",
            resolution=1e-7,
            resolution_unit="V",
            accuracy_class="",
        )
        standard(
            s,
            today,
            code=CALIBRATOR,
            name="Máy hiệu chuẩn đa năng Fluke 5520A (demo)",
            kind="multifunction calibrator",
            field=MetrologyField.ELECTRICAL,
            manufacturer="Fluke",
            model="5520A",
            serial_number=CALIBRATOR_SERIAL,
            range_min=0.0,
            range_max=1020.0,
            range_unit="V",
        )

    def start(self, sims: SimulatorThread) -> dict[str, tuple[str, str]]:
        cal = Fluke5520ASimulator(
            SimOptions("cal-1", CALIBRATOR_SERIAL, seed=5), error_fraction=CALIBRATOR_ERROR_FRACTION
        )
        dmm = Keysight34465ASimulator(SimOptions("dmm-1", SERIAL, seed=6), input_from="cal-1", integration_time=False)
        dmm.connect_lab({"cal-1": cal})  # the virtual lab's wiring (input_from), done here by hand
        sims.start(cal)
        sims.start(dmm)
        dmm.control("set_error", gain_error_ppm=GAIN_ERROR_PPM)
        self.calibrator, self.dmm = cal, dmm
        return {
            "dmm": (f"{dmm.url}?timeout=1", "keysight-34465a"),
            "calibrator": (f"{cal.url}?timeout=1", "fluke-5520a"),
            "environment": start_environment(sims, temperature=23.0, humidity=50.0),
        }

    def act(self, action: OperatorAction) -> None:
        if action.kind != "connect":
            raise ValueError(f"the DMM demo knows only connection changes, not {action.kind!r}")
        self.actions.append(action)
