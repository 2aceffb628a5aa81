"""Demo of ``nawi-verification-r76``: a class II precision balance (MT-SICS, Max 2200 g, d = 0.01 g, e = 0.1 g)
with a +10 ppm sensitivity error (well inside the MPE) and an eccentricity error of 3 d = 0.03 g at the 730 g
eccentricity load at the front left (MPE there 1 e = 0.1 g), an E2 weight set 1 g – 2 kg, and the COMET
thermo-hygro-barometer.

Why e = 0.1 g and not e = d = 0.01 g: class II allows at most n = Max/e = 100 000 (R76-1 Table 3), so 2200 g at
e = 0.01 g (n = 220 000) would not be a class II instrument; e = 10 d is what such balances carry on their plate.

The demo operator does what each action asks. For the discrimination test's changeover-point method (R76-1
A.4.8.2) it watches the balance's display: after taking off each small weight of 0.1 d it waits for the stability
mark and a moment more, then looks :data:`WATCH` times, and stops once every look shows one digit less than before
(the indication has fallen "unambiguously" to I − d).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from acquisition.channel import OperatorAction
from lab.base import (
    ENVIRONMENT_STANDARD,
    DemoScenario,
    instrument,
    load_balance,
    start_environment,
    weight_set,
)
from registry.models import MetrologyField
from simulators.base import SimOptions
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread

SERIAL = "B2200R76"
WEIGHTS = "DEMO-W-E2-2KG"
MAX_G = 2200.0
D_G = 0.01
E_G = 0.1
#: settled noise of the simulated balance (standard deviation, g; clipped at 3 sigma by the simulator): d/200, so
#: the display does not flicker where the changeover-point search of the discrimination test stops. The operator
#: stops once every look shows I − d; the engine then takes its own reading of that state, and with d/50 noise a
#: level 0.05 d below a changeover point could still show I now and then (the row would be "not assessed"). The
#: judged outcome is robust anyway: a look is within 0.115 d of the level (settling residual at most d/20, dynamic
#: and settled noise at most 3 x 0.022 d when stable), so after the small weights are taken off until I − d and
#: one is put back, + 1.4 d leaves the level well between I + d and I + 2d.
NOISE_G = D_G / 200
SETTLE_TIME_S = 0.1  # the simulated balance's stabilisation time after a load change (s)
#: looks at the display the demo operator takes before it trusts a changed indication (R76-1 A.4.8.2:
#: "decreased unambiguously")
WATCH = 10
SENSITIVITY = 1e-5  # relative sensitivity error of the simulated balance (+0.022 g at 2200 g)
#: off-centre position -> relative eccentricity error of the simulated balance: 3 d = 0.03 g at the procedure's
#: default eccentricity load of 730 g (Max/3 to two significant digits), front left
ECCENTRICITY: dict[str, float] = {"front-left": 3 * D_G / 730.0}
#: label -> (nominal g, conventional mass g, U g at k = 2) of the demo E2 set (made up, within E2 MPEs)
CERTIFIED: dict[str, tuple[float, float, float]] = {
    "2000 g": (2000.0, 2000.0012, 0.0010),
    "1000 g": (1000.0, 999.9994, 0.0005),
    "500 g": (500.0, 500.0003, 0.00025),
    "200 g": (200.0, 200.0001, 0.0001),
    "200 g*": (200.0, 199.99988, 0.0001),
    "100 g": (100.0, 100.00005, 0.00005),
    "50 g": (50.0, 49.99997, 0.00003),
    "20 g": (20.0, 20.00002, 0.000025),
    "20 g*": (20.0, 19.99998, 0.000025),
    "10 g": (10.0, 10.000015, 0.00002),
    "5 g": (5.0, 4.99999, 0.000016),
    "2 g": (2.0, 2.000008, 0.000012),
    "2 g*": (2.0, 1.999994, 0.000012),
    "1 g": (1.0, 1.000005, 0.00001),
}


class NawiR76Demo(DemoScenario):
    """R76 initial verification of the demo precision balance."""

    procedure = "nawi-verification-r76"
    instrument = SERIAL
    standards: ClassVar[dict[str, str]] = {"weights": WEIGHTS, "environment": ENVIRONMENT_STANDARD}
    parameters: ClassVar[dict[str, Any]] = {"e": E_G}

    def __init__(self) -> None:
        self.balance: MtSicsSimulator | None = None

    def seed(self, s: Session, today: date) -> None:
        instrument(
            s,
            SERIAL,
            kind="Cân kỹ thuật",
            field=MetrologyField.MASS,
            manufacturer="Mettler Toledo",
            model="XS2002S",
            range_min=0.0,
            range_max=MAX_G,
            range_unit="g",
            resolution=D_G,
            resolution_unit="g",
            accuracy_class="II",
        )
        weight_set(s, today, code=WEIGHTS, name="Bộ quả cân E2 1 g – 2 kg (demo)", certified=CERTIFIED)

    def start(self, sims: SimulatorThread) -> dict[str, tuple[str, str]]:
        sim = sims.start(
            MtSicsSimulator(
                SimOptions("bal-r76", SERIAL, seed=76),
                capacity=MAX_G,
                resolution=D_G,
                balance_type="XS2002S",
                settle_time=SETTLE_TIME_S,
                stability_timeout=0.3,
                noise=NOISE_G,
            )
        )
        assert isinstance(sim, MtSicsSimulator)
        sim.control("set_sensitivity_error", relative=SENSITIVITY)
        for position, relative in ECCENTRICITY.items():
            sim.control("set_eccentricity", position=position, relative=relative)
        self.balance = sim
        return {"balance": (f"{sim.url}?timeout=1", "mt-sics"), "environment": start_environment(sims)}

    def act(self, action: OperatorAction) -> None:
        """Place the true (certified conventional) mass of the action's pieces at its position (see load_balance),
        plus its small weights (``extra_g``, nominal); ``remove-small-weights``: the changeover-point search."""
        assert self.balance is not None, "start the scenario first"
        if action.kind == "remove-small-weights":
            self._down_to_changeover(
                float(action.params["step_g"]), int(action.params["max_count"]), float(action.params["d_g"])
            )
            return
        load_balance(self.balance, action, CERTIFIED)
        if action.kind == "place-load" and action.params.get("extra_g"):
            self.balance.control("add", load_g=float(action.params["extra_g"]))

    def _look(self) -> list[float]:
        """Wait for the stability mark and a moment more (g), then read the display :data:`WATCH` times."""
        assert self.balance is not None
        deadline = time.monotonic() + 50 * SETTLE_TIME_S
        while not self.balance.control("display")["stable"]:
            if time.monotonic() > deadline:
                raise RuntimeError("the demo balance does not settle")
            time.sleep(SETTLE_TIME_S / 10)
        time.sleep(SETTLE_TIME_S)
        looks = [self.balance.control("display")["net_g"] for _ in range(WATCH)]
        if any(x is None for x in looks):
            raise RuntimeError("the demo balance shows no weight (overload or underload)")
        return [float(x) for x in looks]

    def _down_to_changeover(self, step_g: float, max_count: int, d_g: float) -> None:
        """Take off small weights of ``step_g`` one by one (at most ``max_count``) until every look shows one
        digit ``d_g`` less than the indication I the operator saw first (R76-1 A.4.8.2)."""
        assert self.balance is not None
        first = Counter(self._look()).most_common(1)[0][0]  # I, as the display shows it most of the time
        for _ in range(max_count):
            self.balance.control("add", load_g=-step_g)
            if all(x < first - d_g / 2 for x in self._look()):
                return
