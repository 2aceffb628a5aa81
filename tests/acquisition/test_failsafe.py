"""Sources go safe on every stop (issue 14.1): a DMM calibration on the simulated Fluke 5520A and Keysight 34465A,
stopped in each way a run can stop, leaves the calibrator in standby.

The calibrator's state is asked over its own wire protocol (``OPER?`` on a fresh connection to the simulator's
port, answered ``1`` in operate and ``0`` in standby), not read from the simulator object. Each test first checks
that the calibrator *was* in operate when the stop happened, so a test cannot pass because nothing was ever live.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from acquisition.channel import AutomaticFrontEnd, OperatorAborted, OperatorAction
from acquisition.engine import RunEngine, RunTakenOver
from acquisition.procedures import get_procedure, procedure_ids
from acquisition.procedures.base import Procedure, RunContext, StepData
from acquisition.store import SQLiteReadingStore
from drivers.base import Instrument
from drivers.registry import open_instrument
from lab.base import TECHNICIAN, seed_common
from lab.dmm import DmmDemo
from registry.db import make_engine, session_factory, session_scope, upgrade
from registry.models import Run, RunState
from simulators.electrical import Fluke5520ASimulator, Keysight34465ASimulator
from simulators.runner import SimulatorThread
from tests.acquisition.conftest import TODAY

#: the two points of the issue's reports: 100 V DC (left in OPERATE by a DMM fault) and 10 V AC (by an error)
POINTS = [
    {"function": "DCV", "value": 100, "unit": "V", "range": 100},
    {"function": "ACV", "value": 10, "unit": "V", "range": 10, "frequency_hz": 1000},
]


def oper(calibrator: Fluke5520ASimulator) -> str:
    """``OPER?`` sent to the simulated 5520A over a new TCP connection, as a lab PC would; its one-line answer."""
    url = urlparse(calibrator.url)
    assert url.hostname is not None and url.port is not None
    with socket.create_connection((url.hostname, url.port), timeout=5) as conn:
        conn.sendall(b"OPER?\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(64)
            assert chunk, "the calibrator closed the connection without answering OPER?"
            reply += chunk
    return reply.decode("ascii").strip()


@dataclass
class Bench:
    """A created DMM run, its engine and registry, the simulators and the connected drivers."""

    engine: RunEngine
    registry: Any
    run_id: str
    procedure: Procedure
    calibrator: Fluke5520ASimulator
    dmm: Keysight34465ASimulator
    drivers: dict[str, Instrument] = field(default_factory=dict)

    def execute(self, act: Callable[[OperatorAction], None] | None = None) -> Any:
        return self.engine.execute(
            self.procedure, self.run_id, self.drivers, AutomaticFrontEnd(act or (lambda a: None))
        )

    def run_row(self) -> tuple[RunState, str]:
        with session_factory(self.registry)() as s:
            run = s.get(Run, self.run_id)
            assert run is not None
            return run.state, run.message


@pytest.fixture
def bench(tmp_path: Path, sim_thread: SimulatorThread) -> Iterator[Bench]:
    registry = make_engine(f"sqlite:///{tmp_path / 'caltrace.db'}")
    upgrade(registry)
    demo = DmmDemo()
    with session_scope(registry, "demo") as s:
        seed_common(s, TODAY, procedure_ids())
        demo.seed(s, TODAY)
    store = SQLiteReadingStore(tmp_path / "readings.db")
    engine = RunEngine(registry, store, actor=TECHNICIAN, today=lambda: TODAY)
    addresses = demo.start(sim_thread)
    assert demo.calibrator is not None and demo.dmm is not None
    procedure = get_procedure("dmm-calibration")
    run_id = engine.create(
        procedure,
        instrument=demo.instrument,
        technician=TECHNICIAN,
        standards=dict(demo.standards),
        parameters={"points": POINTS},
    )
    with ExitStack() as stack:
        drivers = {
            role: stack.enter_context(open_instrument(url, model, role)) for role, (url, model) in addresses.items()
        }
        yield Bench(engine, registry, run_id, procedure, demo.calibrator, demo.dmm, drivers)
    store.close()
    registry.dispose()


def when_operating(bench: Bench, at: float, then: Callable[[], None]) -> list[bool]:
    """Wrap the calibrator driver's ``operate`` so that ``then()`` runs right after OPER at the point ``at`` (V);
    returns a list that records the simulator's operate state at that moment."""
    driver = bench.drivers["calibrator"]
    real = driver.operate  # type: ignore[attr-defined]
    live: list[bool] = []

    def operate() -> None:
        real()
        if bench.calibrator.wire.level().value == pytest.approx(at, rel=0.01) and not live:
            live.append(oper(bench.calibrator) == "1")
            then()

    driver.operate = operate  # type: ignore[attr-defined]
    return live


def test_a_dmm_fault_at_100_v_pauses_the_run_with_the_calibrator_in_standby(bench: Bench) -> None:
    live = when_operating(bench, 100.0, lambda: bench.dmm.control("fault", fault="silent"))
    seen_at_pause: list[str] = []

    class AtPause(logging.Handler):  # when the pause is logged (after it is recorded), the output is off already
        def emit(self, record: logging.LogRecord) -> None:
            if "paused" in record.getMessage():
                seen_at_pause.append(oper(bench.calibrator))

    handler = AtPause()
    engine_log = logging.getLogger("acquisition.engine")
    level = engine_log.level
    engine_log.addHandler(handler)
    engine_log.setLevel(logging.INFO)  # the pause is logged at INFO (the caller reports it)
    try:
        outcome = bench.execute()
    finally:
        engine_log.removeHandler(handler)
        engine_log.setLevel(level)
    assert live == [True]  # the DMM fell silent while the calibrator sourced 100 V
    assert outcome.state == "paused" and "dmm" in outcome.message, outcome.message
    assert outcome.unsafe == []
    assert seen_at_pause == ["0"]
    assert oper(bench.calibrator) == "0"
    assert bench.run_row()[0] is RunState.PAUSED


def test_an_operator_stop_leaves_the_calibrator_in_standby(bench: Bench) -> None:
    live: list[bool] = []

    def act(action: OperatorAction) -> None:
        # the technician had switched the output on at the front panel to check the leads, then typed "s"
        bench.calibrator.control("set_output", value=10.0, unit="V")
        bench.calibrator.control("operate")
        live.append(oper(bench.calibrator) == "1")
        raise OperatorAborted("stopped on request")

    outcome = bench.execute(act)
    assert live == [True]
    assert outcome.state == "paused" and "stopped by the operator" in outcome.message
    assert oper(bench.calibrator) == "0"


def test_an_evaluation_error_leaves_the_calibrator_in_standby(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    live: list[bool] = []

    def evaluate(context: RunContext, data: Mapping[str, StepData]) -> list[Any]:
        bench.calibrator.control("set_output", value=10.0, unit="V", frequency=1000.0)  # live at 10 V AC
        bench.calibrator.control("operate")
        live.append(oper(bench.calibrator) == "1")
        raise ValueError("no reading of quantity 'ac_voltage'")

    monkeypatch.setattr(bench.procedure, "evaluate", evaluate)
    outcome = bench.execute()
    assert live == [True]
    assert outcome.state == "paused" and "cannot be computed" in outcome.message
    assert oper(bench.calibrator) == "0"


def test_a_completed_run_also_ends_in_standby_whatever_the_plan_did(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bench.procedure.evaluate
    live: list[bool] = []

    def evaluate(context: RunContext, data: Mapping[str, StepData]) -> list[Any]:
        bench.calibrator.control("operate")  # e.g. someone pressed OPR after the plan's standby step
        live.append(oper(bench.calibrator) == "1")
        return real(context, data)

    monkeypatch.setattr(bench.procedure, "evaluate", evaluate)
    outcome = bench.execute()
    assert live == [True]
    assert outcome.state == "completed", outcome.message
    assert oper(bench.calibrator) == "0"


def test_an_abort_while_executing_leaves_the_calibrator_in_standby(bench: Bench) -> None:
    other = RunEngine(bench.registry, bench.engine.store, actor=TECHNICIAN, today=lambda: TODAY)
    live = when_operating(bench, 100.0, lambda: other.abort(bench.run_id, "the customer withdrew the DMM"))
    with pytest.raises(RunTakenOver, match="aborted"):
        bench.execute()
    assert live == [True]
    assert oper(bench.calibrator) == "0"
    assert bench.run_row() == (RunState.ABORTED, "the customer withdrew the DMM")


def test_an_abort_is_noticed_by_the_heartbeat_during_a_long_measurement(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("acquisition.lease.HEARTBEAT_S", 0.05)
    other = RunEngine(bench.registry, bench.engine.store, actor=TECHNICIAN, today=lambda: TODAY)
    live = when_operating(bench, 100.0, lambda: other.abort(bench.run_id, "aborted from the office"))
    dmm = bench.drivers["dmm"]
    real_poll = dmm.poll
    polls_after_abort: list[int] = []

    def slow_poll() -> Any:
        if live:
            polls_after_abort.append(1)
        bench.dmm.control("fault", fault="delay", seconds=0.25)  # a slow meter: each reading takes 0.25 s
        return real_poll()

    dmm.poll = slow_poll  # type: ignore[method-assign]
    with pytest.raises(RunTakenOver, match="aborted"):
        bench.execute()
    assert live == [True]
    # the point needs a stable window of 5 readings; the heartbeat stopped it before the window was full
    assert len(polls_after_abort) < 5
    assert oper(bench.calibrator) == "0"


@pytest.mark.parametrize(
    ("interrupt", "message"),
    [(KeyboardInterrupt(), "interrupted (Ctrl-C)"), (RuntimeError("a bug in a step"), "unexpected error")],
)
def test_ctrl_c_or_an_unexpected_exception_in_a_step_leaves_the_calibrator_in_standby(
    bench: Bench, interrupt: BaseException, message: str
) -> None:
    live: list[bool] = []
    dmm = bench.drivers["dmm"]
    real_poll = dmm.poll

    def poll() -> Any:
        if bench.calibrator.wire.level().operate and bench.calibrator.wire.level().value > 50:
            live.append(oper(bench.calibrator) == "1")
            raise interrupt
        return real_poll()

    dmm.poll = poll  # type: ignore[method-assign]
    with pytest.raises(type(interrupt)):
        bench.execute()
    assert live == [True]
    assert oper(bench.calibrator) == "0"
    state, text = bench.run_row()
    assert state is RunState.PAUSED and message in text and "100 V" in text  # the step under way is named


def test_a_calibrator_that_cannot_be_put_to_standby_is_reported_loudly(bench: Bench) -> None:
    def fault() -> None:  # the DMM falls silent, and so does the calibrator's serial link
        bench.dmm.control("fault", fault="silent")
        bench.calibrator.control("fault", fault="silent")

    live = when_operating(bench, 100.0, fault)
    outcome = bench.execute()
    assert live == [True]
    assert outcome.state == "paused"
    assert len(outcome.unsafe) == 1
    danger = outcome.unsafe[0]
    assert danger.startswith("DANGER") and "calibrator" in danger and "Fluke5520A" in danger
    assert "standby" in danger and "by hand" in danger
    assert outcome.message.startswith(danger)  # said first, before why the run paused
    assert bench.run_row()[1].startswith(danger)
    assert "no complete reply" in danger  # the cause, after what to do
    # here STBY reached the calibrator but no reply came back: only OPER? = 0 proves standby, so it was reported
    bench.calibrator.control("fault", fault="clear")
    assert oper(bench.calibrator) == "0"
