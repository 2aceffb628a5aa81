"""Demo scenarios by procedure id (see :mod:`api.demo.base`); imported on first use."""

from __future__ import annotations

import importlib

from api.demo.base import DemoScenario
from simulators.runner import SimulatorThread

#: procedure id -> "module:Class" of its demo scenario
SCENARIOS: dict[str, str] = {
    "nawi-calibration-cg18": "api.demo.nawi_cg18:NawiCg18Demo",
    "nawi-verification-r76": "api.demo.nawi_r76:NawiR76Demo",
    "weight-calibration-r111": "api.demo.weights_r111:WeightR111Demo",
    "water-meter-verification-r49": "api.demo.water_r49:WaterR49Demo",
    "flow-meter-calibration": "api.demo.flow_calibration:FlowCalibrationDemo",
    "dmm-calibration": "api.demo.dmm:DmmDemo",
    "prepackage-r87": "api.demo.prepackage_r87:PrepackageR87Demo",
}


def scenario(procedure: str) -> DemoScenario:
    """A new demo scenario for ``procedure``; LookupError names the procedures that have one."""
    try:
        target = SCENARIOS[procedure]
    except KeyError:
        raise LookupError(f"no demo for procedure {procedure!r}; demos exist for {', '.join(SCENARIOS)}") from None
    module_name, _, class_name = target.partition(":")
    demo = getattr(importlib.import_module(module_name), class_name)()
    if not isinstance(demo, DemoScenario) or demo.procedure != procedure:
        raise TypeError(f"{target} is not the demo of {procedure}")
    return demo


def simulator_thread() -> SimulatorThread:
    """A new background loop for a demo's simulators (a context manager that stops them all)."""
    return SimulatorThread()
