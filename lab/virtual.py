"""The virtual lab as ``caltrace simulate`` uses it: the configured simulators and the demo activity on them.

``api.cli.simulate`` reaches the simulators only through this module (imported when the command runs), so no
``api`` module imports ``simulators`` (an import-linter contract says so).
"""

from __future__ import annotations

import random
import threading

from simulators.lab import DEFAULT_LAB, InstrumentSpec, VirtualLab, load_config

__all__ = ["DEFAULT_LAB", "DEMO_LOADS_G", "InstrumentSpec", "VirtualLab", "demo_activity", "load_config"]

#: loads a demo puts on the balances in turn (g): OIML nominal values
DEMO_LOADS_G = (0.0, 1.0, 10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)


def demo_activity(lab: VirtualLab, stop: threading.Event, period: float) -> None:
    """Put loads on the balances every ``period`` seconds until ``stop``, so a stream shows settling and stable
    readings. A load never exceeds a balance's capacity (g); the sequence is seeded, so a demo repeats."""
    rng = random.Random(7)
    while not stop.wait(period):
        for sim in lab.instruments.values():
            if "place" in sim.controls:
                capacity = float(getattr(sim, "capacity", 200.0))
                choices = [m for m in DEMO_LOADS_G if m <= capacity]
                sim.control("place", load_g=rng.choice(choices))
