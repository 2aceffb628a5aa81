"""Demo of ``nawi-calibration-cg18``: an analytical balance (MT-SICS, 220 g, d = 0.1 mg) with a +2 ppm
sensitivity error and an eccentricity error of 3 d at the 70 g eccentricity load at the back right, an E2 weight
set 1 g – 200 g of separate pieces (loads of several pieces are put together by the procedure: 150 g = 100 g +
50 g, 220 g = 200 g + 20 g, 70 g = 50 g + 20 g), and the COMET thermo-hygro-barometer."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from acquisition.channel import OperatorAction
from acquisition.procedures.weightset import Piece, compose
from lab.base import (
    ENVIRONMENT_STANDARD,
    DemoScenario,
    instrument,
    load_balance,
    previous_certificate,
    start_environment,
    weight_set,
)
from registry.models import MetrologyField
from simulators.base import SimOptions
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread

SERIAL = "B912345678"
SENSITIVITY = 2e-6  # relative sensitivity error of the simulated balance
ECCENTRICITY_LOAD_G = 70.0
#: off-centre position -> relative eccentricity error of the simulated balance: 3 d = 0.3 mg at 70 g, back right
ECCENTRICITY: dict[str, float] = {"back-right": 3 * 0.0001 / ECCENTRICITY_LOAD_G}
#: label -> (nominal g, conventional mass g, U g at k = 2) of the demo E2 set (made up: each conventional mass
#: within the OIML R111-1 E2 MPE of its nominal value, each U at most a third of it)
CERTIFIED: dict[str, tuple[float, float, float]] = {
    "200 g": (200.0, 200.00012, 0.0001),  # MPE 0.3 mg
    "100 g": (100.0, 99.99994, 0.00005),  # MPE 0.16 mg
    "50 g": (50.0, 50.00004, 0.00003),  # MPE 0.10 mg
    "20 g": (20.0, 19.99997, 0.000025),  # MPE 0.08 mg
    "20 g*": (20.0, 20.00002, 0.000025),
    "10 g": (10.0, 10.00002, 0.00002),  # MPE 0.06 mg
    "5 g": (5.0, 4.99998, 0.000016),  # MPE 0.05 mg
    "2 g": (2.0, 2.00001, 0.000012),  # MPE 0.04 mg
    "2 g*": (2.0, 1.99999, 0.000012),
    "1 g": (1.0, 1.000008, 0.00001),  # MPE 0.03 mg
}
#: the set's previous certificate, two years earlier: every piece but the 1 g and 2 g ones (added to the set
#: since), label -> (nominal g, conventional mass g, U g at k = 2); the 100 g piece has gained 0.03 mg since
PREVIOUS: dict[str, tuple[float, float, float]] = {
    label: (n, m - 0.00003 if label == "100 g" else m + 0.00001, u)
    for label, (n, m, u) in CERTIFIED.items()
    if n >= 5.0
}
PIECES = tuple(Piece(n, m, u, 2.0, label) for label, (n, m, u) in CERTIFIED.items())


def true_mass(load_g: float) -> float:
    """Conventional mass (g) of the demo pieces making a load of ``load_g`` g nominal as the procedure composes it
    (fewest pieces, the unstarred piece of a pair first); 0 for no load."""
    if load_g == 0:
        return 0.0
    load = compose(PIECES, load_g)
    if load is None:
        raise ValueError(f"the demo weight set cannot make {load_g:g} g")
    return load.mass


class NawiCg18Demo(DemoScenario):
    """cg-18 calibration of the demo analytical balance."""

    procedure = "nawi-calibration-cg18"
    instrument = SERIAL
    standards: ClassVar[dict[str, str]] = {"weights": "DEMO-W-E2", "environment": ENVIRONMENT_STANDARD}
    parameters: ClassVar[dict[str, Any]] = {
        "loads_g": [50.0, 100.0, 150.0, 200.0, 220.0],
        "repeat_load_g": 100.0,
        "eccentricity_load_g": ECCENTRICITY_LOAD_G,
        "adjusted_before_calibration": True,
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
        weights = weight_set(s, today, code="DEMO-W-E2", name="Bộ quả cân E2 1 g – 200 g (demo)", certified=CERTIFIED)
        previous_certificate(  # the previous certificate: the drift of each piece it certifies
            weights,
            [
                {"point": n, "value": m, "unit": "g", "U": u, "k": 2, "label": label}
                for label, (n, m, u) in PREVIOUS.items()
            ],
        )
        s.flush()

    def start(self, sims: SimulatorThread) -> dict[str, tuple[str, str]]:
        sim = sims.start(MtSicsSimulator(SimOptions("bal-1", SERIAL, seed=11), settle_time=0.15, stability_timeout=0.3))
        assert isinstance(sim, MtSicsSimulator)
        sim.control("set_sensitivity_error", relative=SENSITIVITY)
        for position, relative in ECCENTRICITY.items():
            sim.control("set_eccentricity", position=position, relative=relative)
        self.balance = sim
        return {"balance": (f"{sim.url}?timeout=1", "mt-sics"), "environment": start_environment(sims)}

    def act(self, action: OperatorAction) -> None:
        """Place the true (certified conventional) mass of the action's pieces at its position (see load_balance)."""
        assert self.balance is not None, "start the scenario first"
        if action.kind == "adjust-balance":
            return  # the simulated balance keeps its sensitivity error: the calibration is to find it
        load_balance(self.balance, action, CERTIFIED)
