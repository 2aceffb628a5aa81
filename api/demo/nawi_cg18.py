"""Demo of ``nawi-calibration-cg18``: an analytical balance (MT-SICS, 220 g, d = 0.1 mg) with a +2 ppm
sensitivity error and an eccentricity error of 3 d at the 70 g eccentricity load at the back right, an E2 weight
set, and the COMET thermo-hygro-barometer."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from acquisition.prompts import OperatorAction
from api.demo.base import ENVIRONMENT_STANDARD, DemoScenario, instrument, standard, start_environment
from registry.models import MetrologyField
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread

SERIAL = "B912345678"
SENSITIVITY = 2e-6  # relative sensitivity error of the simulated balance
ECCENTRICITY_LOAD_G = 70.0
#: off-centre position -> relative eccentricity error of the simulated balance: 3 d = 0.3 mg at 70 g, back right
ECCENTRICITY: dict[str, float] = {"back-right": 3 * 0.0001 / ECCENTRICITY_LOAD_G}
#: nominal g -> (conventional mass g, U g at k = 2) of the demo E2 set
CERTIFIED: dict[float, tuple[float, float]] = {
    0.0: (0.0, 0.0),
    50.0: (50.00002, 0.00003),
    70.0: (70.00001, 0.00004),
    100.0: (99.99997, 0.00005),
    150.0: (150.00004, 0.00008),
    200.0: (200.00005, 0.0001),
    220.0: (219.99998, 0.00012),
}


class NawiCg18Demo(DemoScenario):
    """cg-18 calibration of the demo analytical balance."""

    procedure = "nawi-calibration-cg18"
    instrument = SERIAL
    standards: ClassVar[dict[str, str]] = {"weights": "DEMO-W-E2", "environment": ENVIRONMENT_STANDARD}
    parameters: ClassVar[dict[str, Any]] = {
        "loads_g": [50.0, 100.0, 150.0, 200.0, 220.0],
        "repeat_load_g": 100.0,
        "eccentricity_load_g": ECCENTRICITY_LOAD_G,
    }

    def __init__(self) -> None:
        self.balance: MtSicsSimulator | None = None

    def seed(self, s: Session, today: date) -> None:
        instrument(
            s,
            SERIAL,
            kind="Cân phân tích",
            field=MetrologyField.MASS,
            manufacturer="Mettler Toledo",
            model="XS204",
            range_min=0.0,
            range_max=220.0,
            range_unit="g",
            resolution=0.0001,
            resolution_unit="g",
            accuracy_class="I",
        )
        standard(
            s,
            today,
            code="DEMO-W-E2",
            name="Bộ quả cân E2 1 mg – 200 g (demo)",
            kind="weight set",
            field=MetrologyField.MASS,
            range_min=0.001,
            range_max=500.0,
            range_unit="g",
            accuracy_class="E2",
            values=[{"point": n, "value": m, "unit": "g", "U": u, "k": 2} for n, (m, u) in CERTIFIED.items() if n],
        )

    def start(self, sims: SimulatorThread) -> dict[str, tuple[str, str]]:
        sim = sims.start(MtSicsSimulator("bal-1", SERIAL, settle_time=0.15, stability_timeout=0.3, seed=11))
        assert isinstance(sim, MtSicsSimulator)
        sim.control("set_sensitivity_error", relative=SENSITIVITY)
        for position, relative in ECCENTRICITY.items():
            sim.control("set_eccentricity", position=position, relative=relative)
        self.balance = sim
        return {"balance": (f"{sim.url}?timeout=1", "mt-sics"), "environment": start_environment(sims)}

    def act(self, action: OperatorAction) -> None:
        assert self.balance is not None, "start the scenario first"
        nominal = float(action.params.get("load_g", 0.0))
        position = str(action.params.get("position", "centre"))
        self.balance.control("place", load_g=CERTIFIED[nominal][0], position=position)
