"""Run a procedure's demo scenario end to end in-process: fresh registry, store, simulators, engine."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from acquisition.channel import AutomaticFrontEnd, OperatorChannel, wire_manual_entry
from acquisition.engine import RunEngine, RunOutcome
from acquisition.events import Event
from acquisition.procedures import get_procedure, procedure_ids
from acquisition.store import SQLiteReadingStore
from drivers.registry import open_instrument
from lab import scenario
from lab.base import TECHNICIAN, DemoScenario, seed_common
from registry.db import make_engine, session_scope, upgrade
from simulators.runner import SimulatorThread

TODAY = date(2026, 11, 21)


@dataclass
class DemoRun:
    """A finished (or paused) demo run and what it ran on."""

    outcome: RunOutcome
    engine: RunEngine
    registry: Engine
    demo: DemoScenario
    #: role -> (address URL, driver model) of the demo's running simulators, to connect again (a resume)
    addresses: dict[str, tuple[str, str]] = field(default_factory=dict)

    def resume(self) -> RunOutcome:
        """Execute the run again (``caltrace calibrate --resume``): reconnect, the demo operator acting."""
        proc = get_procedure(self.outcome.procedure)
        with contextlib.ExitStack() as stack:
            connected = {}
            channel = OperatorChannel(AutomaticFrontEnd(self.demo.act))
            for role, (url, model) in self.addresses.items():
                driver = stack.enter_context(open_instrument(url, model, role))
                self.demo.attach(role, driver)
                wire_manual_entry(channel, role, driver)
                connected[role] = driver
            self.outcome = self.engine.execute(proc, self.outcome.run_id, connected, channel)
        return self.outcome


@pytest.fixture
def demo_run(tmp_path: Path, sim_thread: SimulatorThread) -> Iterator[Callable[..., DemoRun]]:
    """``demo_run(procedure_id, prepare=None, **parameters)``: seed, start the demo's simulators, run to the end.

    ``prepare(demo)`` runs after the simulators start and before the run (e.g. to set a simulated error);
    ``subscriber`` follows the run's events;
    ``parameters`` override the demo's run parameters.
    """
    stores: list[SQLiteReadingStore] = []

    def run(
        procedure: str,
        prepare: Callable[[DemoScenario], None] | None = None,
        subscriber: Callable[[Event], None] | None = None,
        **parameters: object,
    ) -> DemoRun:
        registry = make_engine(f"sqlite:///{tmp_path / f'{procedure}.db'}")
        upgrade(registry)
        demo = scenario(procedure)
        with session_scope(registry, "demo") as s:
            seed_common(s, TODAY, procedure_ids())
            demo.seed(s, TODAY)
        store = SQLiteReadingStore(tmp_path / f"{procedure}-readings.db")
        stores.append(store)
        engine = RunEngine(registry, store, actor=TECHNICIAN, today=lambda: TODAY)
        proc = get_procedure(procedure)
        addresses = demo.start(sim_thread)
        if prepare is not None:
            prepare(demo)
        run_id = engine.create(
            proc,
            instrument=demo.instrument or None,
            lot=demo.lot or None,
            technician=TECHNICIAN,
            standards=dict(demo.standards),
            parameters={**demo.parameters, **parameters},
        )
        with contextlib.ExitStack() as stack:
            connected = {}
            channel = OperatorChannel(AutomaticFrontEnd(demo.act))
            if subscriber is not None:
                channel.events.subscribe(subscriber)
            for role, (url, model) in addresses.items():
                driver = stack.enter_context(open_instrument(url, model, role))
                demo.attach(role, driver)
                wire_manual_entry(channel, role, driver)  # manual readings through the channel, as the CLI does
                connected[role] = driver
            outcome = engine.execute(proc, run_id, connected, channel)
        return DemoRun(outcome, engine, registry, demo, dict(addresses))

    yield run
    for store in stores:
        store.close()
