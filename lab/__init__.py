"""The virtual lab's fixtures: demo scenarios by procedure id (see :mod:`lab.base`), imported on first use.

``lab`` sits above ``simulators`` and below ``api``: ``caltrace calibrate --demo`` and ``caltrace simulate`` import it
when they run (never at ``api`` import time), and it is the only package that imports ``simulators``
(import-linter contracts in pyproject.toml). See docs/decisions/0340-lab-package.md.

This module imports nothing heavy at import time, so ``caltrace simulate`` (which needs only :mod:`lab.virtual`)
does not load the registry and the scenarios.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

    from sqlalchemy.orm import Session

    from lab.base import DemoScenario
    from simulators.runner import SimulatorThread

#: procedure id -> "module:Class" of its demo scenario
SCENARIOS: dict[str, str] = {
    "nawi-calibration-cg18": "lab.nawi_cg18:NawiCg18Demo",
    "nawi-verification-r76": "lab.nawi_r76:NawiR76Demo",
    "weight-calibration-r111": "lab.weights_r111:WeightR111Demo",
    "water-meter-verification-r49": "lab.water_r49:WaterR49Demo",
    "flow-meter-calibration": "lab.flow_calibration:FlowCalibrationDemo",
    "dmm-calibration": "lab.dmm:DmmDemo",
    "prepackage-r87": "lab.prepackage_r87:PrepackageR87Demo",
}


def scenario(procedure: str) -> DemoScenario:
    """A new demo scenario for ``procedure``; LookupError names the procedures that have one."""
    try:
        target = SCENARIOS[procedure]
    except KeyError:
        raise LookupError(f"no demo for procedure {procedure!r}; demos exist for {', '.join(SCENARIOS)}") from None
    from lab.base import DemoScenario  # noqa: PLC0415 - the registry and ORM load only when a demo runs

    module_name, _, class_name = target.partition(":")
    demo = getattr(importlib.import_module(module_name), class_name)()
    if not isinstance(demo, DemoScenario) or demo.procedure != procedure:
        raise TypeError(f"{target} is not the demo of {procedure}")
    return demo


def simulator_thread() -> SimulatorThread:
    """A new background loop for a demo's simulators (a context manager that stops them all)."""
    from simulators.runner import SimulatorThread  # noqa: PLC0415 - loaded only when a demo runs

    return SimulatorThread()


def seed_demo_lab(s: Session, today: date, procedures: Sequence[str]) -> None:
    """Add, if absent, everything the demos use: the demo laboratory, customers, technician and reviewer
    (authorised for ``procedures``), and every scenario's instrument or lot under test and reference standards with
    certificates in force on ``today`` — the lab ``make run`` leaves in the data directory. Idempotent: run again on
    the same day, it adds nothing."""
    from lab.base import seed_common  # noqa: PLC0415 - the registry and ORM load only when the lab is seeded

    seed_common(s, today, procedures)
    for procedure in SCENARIOS:
        scenario(procedure).seed(s, today)
