"""Demo of ``prepackage-r87``: a registered lot of 500 packets of white sugar, 500 g nominal, weighed on the lab's
MT-SICS balance (Max 2200 g, d = 0.01 g).

The true masses are pseudo-random but fixed by ``seed``: each empty packaging ~ N(5 g, 0.1 g); the net content of
each sampled packet ~ N(502 g, 2 g), except the packets listed in ``short`` (net 483.5 g and 484 g: below
Qn − T1 = 485 g but above Qn − T2 = 470 g). :meth:`PrepackageR87Demo.truth` gives them to tests; change
``net_mean`` (e.g. in a test's ``prepare``) for a lot that is short on average.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from acquisition.channel import OperatorAction
from lab.base import DemoScenario, prepackage_lot, standard
from registry.models import MetrologyField
from simulators.base import SimOptions
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread

LOT = "LOT-2026-0501"
BALANCE = "DEMO-BAL-2200"
NOMINAL_G = 500.0
LOT_SIZE = 500
#: packages generated (more than the largest R87 sample, 125)
PACKAGES = 200


@dataclass(frozen=True)
class Truth:
    """True masses in g: ``tares[i - 1]`` of empty packaging i; ``package_tares[j - 1]`` and ``nets[j - 1]`` of
    sampled packet j (its gross mass is their sum)."""

    tares: tuple[float, ...]
    package_tares: tuple[float, ...]
    nets: tuple[float, ...]

    def gross(self, j: int) -> float:
        """Gross mass (g) of sampled packet ``j`` (1-based)."""
        return self.package_tares[j - 1] + self.nets[j - 1]


class PrepackageR87Demo(DemoScenario):
    """R87 quantity check of the demo sugar lot."""

    procedure = "prepackage-r87"
    instrument = ""
    lot = LOT
    standards: ClassVar[dict[str, str]] = {"balance": BALANCE}
    parameters: ClassVar[dict[str, Any]] = {}  # lot size and nominal quantity come from the registered lot

    def __init__(self) -> None:
        self.balance: MtSicsSimulator | None = None
        self.seed_value = 87
        self.tare_mean, self.tare_sd = 5.0, 0.1
        self.net_mean, self.net_sd = 502.0, 2.0
        self.short: dict[int, float] = {7: 483.5, 23: 484.0}

    def truth(self) -> Truth:
        """The true masses for the present settings (same settings, same numbers)."""
        rng = random.Random(self.seed_value)
        tares = tuple(rng.gauss(self.tare_mean, self.tare_sd) for _ in range(PACKAGES))
        package_tares = tuple(rng.gauss(self.tare_mean, self.tare_sd) for _ in range(PACKAGES))
        nets = tuple(self.short.get(j, rng.gauss(self.net_mean, self.net_sd)) for j in range(1, PACKAGES + 1))
        return Truth(tares, package_tares, nets)

    def seed(self, s: Session, today: date) -> None:
        prepackage_lot(
            s,
            LOT,
            product="Đường kính trắng túi 500 g",
            brand="Ngọt Demo",
            lot_size=LOT_SIZE,
            nominal_quantity=NOMINAL_G,
            nominal_unit="g",
            packed_on=today - timedelta(days=20),
            sampled_on=today,
            sampling_place="Kho thành phẩm, KCN Demo",
        )
        standard(
            s,
            today,
            code=BALANCE,
            name="Cân kỹ thuật Mettler Toledo 2200 g (demo)",
            kind="balance",
            field=MetrologyField.MASS,
            manufacturer="Mettler Toledo",
            model="XS2002S",
            serial_number="B2200R87",
            range_min=0.0,
            range_max=2200.0,
            range_unit="g",
            resolution=0.01,
            accuracy_class="II",
            values=[
                {"point": p, "value": 0.0, "unit": "g", "U": u, "k": 2}
                for p, u in ((100.0, 0.01), (500.0, 0.012), (1000.0, 0.015), (2000.0, 0.02))
            ],
        )

    def start(self, sims: SimulatorThread) -> dict[str, tuple[str, str]]:
        sim = sims.start(
            MtSicsSimulator(
                SimOptions("bal-r87", "B2200R87", seed=87),
                capacity=2200.0,
                resolution=0.01,
                balance_type="XS2002S",
                settle_time=0.05,
                stability_timeout=0.3,
            )
        )
        assert isinstance(sim, MtSicsSimulator)
        self.balance = sim
        return {"balance": (f"{sim.url}?timeout=1", "mt-sics")}

    def act(self, action: OperatorAction) -> None:
        assert self.balance is not None, "start the scenario first"
        if action.kind != "place-package":
            self.balance.control("place", load_g=0.0)
            return
        truth = self.truth()
        index = int(action.params["index"])
        mass = truth.tares[index - 1] if action.params["kind"] == "tare" else truth.gross(index)
        self.balance.control("place", load_g=mass)
