# ruff: noqa: F811 - the fixtures of test_engine are imported by name and used as parameters
"""The operator channel (issue 15.2): pending actions in the registry answered by another process, timeouts,
cancellation within about a second, manual entry as an action, events.

Runs execute on a thread here, as a service's worker would; "another process" is either a real ``caltrace``
subprocess on the same registry or a second thread that uses only the registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Self

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from acquisition.channel import (
    AutomaticFrontEnd,
    FrontEnd,
    OperatorAction,
    OperatorChannel,
    Reply,
    Request,
    wire_manual_entry,
)
from acquisition.engine import RunEngine, RunOutcome
from acquisition.events import Event, EventBus
from acquisition.procedures.base import Procedure, RunContext, Step
from acquisition.stability import StabilityCriterion
from drivers.address import Address
from drivers.base import Instrument, InstrumentInfo
from drivers.manual import ManualEntry
from drivers.reading import Reading, ReadingStatus
from drivers.registry import open_instrument
from registry.actions import answer_action, pending_actions, request_cancel, run_actions
from registry.db import read_session, session_scope
from registry.errors import NotPermittedError
from registry.models import AuditEntry, CancelRequest, Run, RunState
from simulators.mtsics import MtSicsSimulator
from tests.acquisition.test_engine import (  # noqa: F401 - fixtures
    LOADS,
    ToyProcedure,
    balance,
    make_engine_,
    registry,
)

CALTRACE = str(Path(sys.executable).parent / "caltrace")
#: the bound asserted for "within about a second": generous for a loaded CI machine, far below the waits cancelled
STOPS_WITHIN_S = 3.0


class Bench(FrontEnd):
    """The run's own front end when nobody answers here (the person uses another terminal or the web)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.withdrawn: list[tuple[int, str]] = []

    def present(self, request: Request, reply: Reply) -> None:
        self.requests.append(request)

    def withdraw(self, request: Request, why: str) -> None:
        self.withdrawn.append((request.action_id, why))


class Source(Instrument):
    """A calibrator's output as the engine sees it: counts how often it was put in standby."""

    safe_state = "standby"

    def __init__(self) -> None:
        super().__init__("cal-1")
        self.standby = 0

    @classmethod
    def connect(cls, address: Address, instrument_id: str = "") -> Self:
        raise NotImplementedError

    def identify(self) -> InstrumentInfo:
        return InstrumentInfo(model="fake source")

    def poll(self) -> list[Reading]:
        return []

    def close(self) -> None:
        pass

    def make_safe(self) -> None:
        self.standby += 1


class NeverSettles(Instrument):
    """A balance whose indication keeps moving (a draught): dynamic readings every 20 ms, never stable."""

    def __init__(self) -> None:
        super().__init__("bal-wobbly")
        self.polls = 0

    @classmethod
    def connect(cls, address: Address, instrument_id: str = "") -> Self:
        raise NotImplementedError

    def identify(self) -> InstrumentInfo:
        return InstrumentInfo(model="wobbly balance")

    def poll(self) -> list[Reading]:
        time.sleep(0.02)
        self.polls += 1
        return [Reading(100.0 + 0.01 * (self.polls % 7), "g", ReadingStatus.DYNAMIC, self.instrument_id)]

    def close(self) -> None:
        pass


class _OneStep(ToyProcedure):
    """ToyProcedure's definition (so the registry knows it) with a plan of one step at 100 g."""

    step = Step(id="load-100", role="balance", title="100 g", meta={"load_g": 100.0})

    def plan(self, context: RunContext) -> list[Step]:
        return [self.step]


class WaitsForStability(_OneStep):
    step = Step(
        id="load-100",
        role="balance",
        title="100 g",
        stability=StabilityCriterion(window=3, max_spread=0.0005, timeout=60.0),  # far longer than the cancel
        meta={"load_g": 100.0},
    )


class WaitsForAFlow(_OneStep):
    step = Step(
        id="run-q3",
        role="balance",
        title="Chạy 100 L ở Q3 / Run 100 L at Q3",
        action=OperatorAction(
            "run-volume", "Chạy 100 L ở 2,5 m³/h", "Run 100 L at 2.5 m³/h", {"flow_m3_h": 2.5, "volume_l": 100.0}
        ),
        meta={"load_g": 100.0},
    )


class ReadByHand(_OneStep):
    step = Step(id="load-100", role="balance", title="100 g", keep=1, meta={"load_g": 100.0})


class Worker:
    """``engine.execute(...)`` on its own thread; ``join()`` returns the outcome (or raises what it raised)."""

    def __init__(self, engine: RunEngine, procedure: Procedure, run_id: str, instruments: Mapping[str, Instrument],
                 channel: OperatorChannel) -> None:  # fmt: skip
        self.outcome: RunOutcome | None = None
        self.error: BaseException | None = None

        def work() -> None:
            try:
                self.outcome = engine.execute(procedure, run_id, instruments, channel)
            except BaseException as exc:  # handed to the test's thread
                self.error = exc

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def join(self, timeout: float = 60.0) -> RunOutcome:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the run did not stop"
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


def wait_for(what: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll ``what()`` until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


def pending(registry: Engine, run_id: str) -> list[dict[str, Any]]:
    with read_session(registry) as s:
        return pending_actions(s, run_id)


def cli_env(registry: Engine, tmp_path: Path, actor: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ["CALTRACE_DATABASE_URL"] = registry.url.render_as_string(hide_password=False)
    environ["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    environ["CALTRACE_ACTOR"] = actor
    return environ


def caltrace(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALTRACE, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def create(engine: RunEngine) -> str:
    return engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})


# --- another process answers ---------------------------------------------------------------------------------------


def test_a_second_process_lists_and_answers_the_pending_actions_of_a_running_run(
    registry: Engine,
    balance: MtSicsSimulator,
    tmp_path: Path,
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = create(engine)
    bench = Bench()
    env = cli_env(registry, tmp_path, actor="hoa")
    answered: list[int] = []
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        worker = Worker(engine, ToyProcedure(), run_id, {"balance": inst}, OperatorChannel(bench))
        for load in LOADS:
            wait_for(lambda: pending(registry, run_id))
            listed = caltrace(env, "runs", "actions", run_id, "--format", "json")
            assert listed.returncode == 0, listed.stderr
            [action] = json.loads(listed.stdout)
            assert (action["kind"], action["status"], action["expects"]) == ("place-load", "pending", "done")
            assert action["text_vi"] == f"Đặt {load:g} g" and action["step"] == f"load-{load:g}"
            balance.control("place", load_g=load)  # the person places the load, then answers from their terminal
            done = caltrace(env, "runs", "answer", str(action["action_id"]))
            assert done.returncode == 0, done.stderr
            assert "answered done by hoa" in done.stdout
            answered.append(action["action_id"])
        outcome = worker.join()
    assert outcome.state == "completed", outcome.message
    assert [r.value for r in outcome.results] == pytest.approx([0.0, 0.0, 0.0], abs=0.0005)
    # a second answer is refused and says who answered first
    again = caltrace(env, "runs", "answer", str(answered[0]), "--stop")
    assert again.returncode == 2 and "already answered (done) by hoa" in again.stderr
    assert "Traceback" not in again.stderr
    # the audit: each answer recorded with who gave it, in the action and in the audit log
    with read_session(registry) as s:
        rows = run_actions(s, run_id)
        updates = s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "operator_action", AuditEntry.action == "update")
        ).all()
    assert [(r["action_id"], r["status"], r["answer"], r["answered_by"]) for r in rows] == [
        (n, "answered", "done", "hoa") for n in answered
    ]
    assert sorted(int(e.entity_id) for e in updates if e.actor == "hoa") == answered
    assert bench.withdrawn == [(n, "answered by hoa") for n in answered]  # the run's terminal was told


def test_a_manual_entry_value_answered_through_the_registry_is_the_steps_reading(
    registry: Engine,
    tmp_path: Path,
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = create(engine)
    reader = ManualEntry("bal-read", unit="g", quantity="mass")
    channel = OperatorChannel(Bench())
    wire_manual_entry(channel, "balance", reader)
    worker = Worker(engine, ReadByHand(), run_id, {"balance": reader}, channel)
    [action] = wait_for(lambda: pending(registry, run_id))
    assert (action["kind"], action["expects"], action["unit"], action["quantity"]) == ("manual-entry", "value", "g",
                                                                                     "mass")  # fmt: skip
    with pytest.raises(NotPermittedError, match="expects mass in g"), session_scope(registry, "hoa") as s:
        answer_action(s, action["action_id"], answer="done", by="hoa")  # a value is needed, not a confirmation
    with session_scope(registry, "hoa") as s:
        answer_action(s, action["action_id"], answer="value", value="100,0012 g", by="hoa")  # decimal comma
    outcome = worker.join()
    assert outcome.state == "completed", outcome.message
    # ToyProcedure's error of indication: 100.0012 g read - 100 g placed = 0.0012 g
    assert outcome.results[0].value == pytest.approx(0.0012, abs=1e-9)
    assert engine.store.count(run_id=run_id) == 1  # the typed reading is stored like any driver's
    with read_session(registry) as s:
        [row] = run_actions(s, run_id)
    assert (row["status"], row["value"], row["answered_by"]) == ("answered", "100,0012 g", "hoa")


# --- timeouts ------------------------------------------------------------------------------------------------------


def test_an_unanswered_action_times_out_and_pauses_the_run_with_what_was_asked(
    registry: Engine,
    balance: MtSicsSimulator,
    tmp_path: Path,
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = create(engine)
    source = Source()
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        started = time.monotonic()
        outcome = engine.execute(
            ToyProcedure(), run_id, {"balance": inst, "calibrator": source}, OperatorChannel(Bench(), timeout_s=0.5)
        )
    assert 0.5 <= time.monotonic() - started < 0.5 + STOPS_WITHIN_S
    assert outcome.state == "paused"
    assert "nobody answered" in outcome.message and "'Đặt 0 g' (Place 0 g)" in outcome.message
    assert "within 0.5 s" in outcome.message and f"caltrace calibrate --resume {run_id}" in outcome.message
    assert source.standby == 1  # the safe path: the source in standby before the pause
    with read_session(registry) as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state is RunState.PAUSED and run.message == outcome.message
        [row] = run_actions(s, run_id)
    assert (row["status"], row["answer"], row["note"]) == ("timedOut", None, "no answer within 0.5 s")


def test_an_actions_own_timeout_overrides_the_runs(registry: Engine, tmp_path: Path) -> None:
    class Quick(_OneStep):
        step = Step(
            id="run-q3",
            role="balance",
            title="Q3",
            action=OperatorAction("run-volume", "Chạy", "Run", timeout_s=0.3),
            meta={"load_g": 100.0},
        )

    engine = make_engine_(registry, tmp_path)
    run_id = create(engine)
    started = time.monotonic()
    outcome = engine.execute(Quick(), run_id, {"balance": NeverSettles()}, OperatorChannel(Bench()))  # run: 1 h
    assert time.monotonic() - started < STOPS_WITHIN_S
    assert outcome.state == "paused" and "within 0.3 s" in outcome.message


# --- cancellation --------------------------------------------------------------------------------------------------


def _cancelled_run(registry: Engine, tmp_path: Path, procedure: Procedure, cancel: Callable[[str], None]) -> tuple[
        RunOutcome, float, Source, str]:  # fmt: skip
    """Execute ``procedure`` on a never-settling balance with a silent bench; once the run waits (for stability or
    for its action), ``cancel(run_id)``; returns the outcome, the seconds from the cancel to the run's stop."""
    engine = make_engine_(registry, tmp_path)
    run_id = create(engine)
    source, wobbly = Source(), NeverSettles()
    worker = Worker(engine, procedure, run_id, {"balance": wobbly, "calibrator": source}, OperatorChannel(Bench()))
    wait_for(lambda: wobbly.polls >= 10 or pending(registry, run_id))
    time.sleep(0.3)  # well inside the wait
    cancel(run_id)
    cancelled = time.monotonic()
    outcome = worker.join()
    return outcome, time.monotonic() - cancelled, source, run_id


def test_a_run_waiting_for_stability_is_cancelled_from_another_thread_through_the_registry(
    registry: Engine,
    tmp_path: Path,
) -> None:
    def cancel(run_id: str) -> None:
        with session_scope(registry, "minh") as s:
            request_cancel(s, run_id, by="minh", reason="wrong weight set")

    outcome, elapsed, source, run_id = _cancelled_run(registry, tmp_path, WaitsForStability(), cancel)
    assert elapsed < STOPS_WITHIN_S  # the stability wait had 60 s left
    assert outcome.state == "paused"
    assert "cancelled by minh at '100 g' (wrong weight set)" in outcome.message
    assert f"--resume {run_id}" in outcome.message
    assert source.standby == 1
    with read_session(registry) as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state is RunState.PAUSED
        [request] = s.scalars(select(CancelRequest).where(CancelRequest.run_id == run_id)).all()
    assert request.handled_at is not None and request.outcome == "paused"


def test_a_run_waiting_for_a_flow_is_cancelled_and_aborted_from_another_process(
    registry: Engine,
    tmp_path: Path,
) -> None:
    env = cli_env(registry, tmp_path, actor="minh")

    def cancel(run_id: str) -> None:
        done = caltrace(env, "runs", "cancel", run_id, "--abort", "--reason", "valve stuck")
        assert done.returncode == 0, done.stderr

    outcome, elapsed, source, run_id = _cancelled_run(registry, tmp_path, WaitsForAFlow(), cancel)
    assert elapsed < STOPS_WITHIN_S
    assert outcome.state == "aborted"
    assert "cancelled by minh at 'Chạy 100 L ở Q3 / Run 100 L at Q3' (valve stuck)" in outcome.message
    assert source.standby == 1
    with read_session(registry) as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state is RunState.ABORTED and run.finished_at is not None
        [row] = run_actions(s, run_id)
    assert row["status"] == "cancelled"
    refused = caltrace(env, "runs", "cancel", run_id)
    assert refused.returncode == 2 and "aborted, not running" in refused.stderr


def test_a_local_cancel_stops_a_stability_wait_at_once(registry: Engine, tmp_path: Path) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = create(engine)
    wobbly = NeverSettles()
    channel = OperatorChannel(Bench())
    worker = Worker(engine, WaitsForStability(), run_id, {"balance": wobbly}, channel)
    wait_for(lambda: wobbly.polls >= 10)
    channel.cancel("lan", reason="the technician pressed stop")
    cancelled = time.monotonic()
    outcome = worker.join()
    assert time.monotonic() - cancelled < STOPS_WITHIN_S
    assert outcome.state == "paused" and "cancelled by lan" in outcome.message


def test_an_action_left_pending_by_an_interrupted_run_is_shown_refused_and_superseded_on_resume(
    registry: Engine,
    balance: MtSicsSimulator,
    tmp_path: Path,
) -> None:
    class CtrlC(FrontEnd):
        def present(self, request: Request, reply: Reply) -> None:
            raise KeyboardInterrupt

    engine = make_engine_(registry, tmp_path)
    run_id = create(engine)
    with (
        open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst,
        pytest.raises(KeyboardInterrupt),
    ):
        engine.execute(ToyProcedure(), run_id, {"balance": inst}, CtrlC())
    [left] = pending(registry, run_id)  # a restart still shows what was asked
    assert left["text_en"] == "Place 0 g"
    with pytest.raises(NotPermittedError, match="paused and waits for no answer"), session_scope(registry, "hoa") as s:
        answer_action(s, left["action_id"], answer="done", by="hoa")
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        done = engine.execute(
            ToyProcedure(), run_id, {"balance": inst},
            AutomaticFrontEnd(lambda a: balance.control("place", load_g=a.params["load_g"])),
        )  # fmt: skip
    assert done.state == "completed", done.message
    with read_session(registry) as s:
        rows = run_actions(s, run_id)
    assert (rows[0]["status"], rows[0]["note"]) == ("superseded", "asked again: the run was resumed")
    assert [r["status"] for r in rows[1:]] == ["answered"] * len(LOADS)


# --- events --------------------------------------------------------------------------------------------------------


def test_a_raising_subscriber_does_not_stop_the_run(
    registry: Engine,
    balance: MtSicsSimulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = create(engine)
    channel = OperatorChannel(AutomaticFrontEnd(lambda a: balance.control("place", load_g=a.params["load_g"])))
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("the display crashed")

    channel.events.subscribe(broken)
    channel.events.subscribe(seen.append)
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        outcome = engine.execute(ToyProcedure(), run_id, {"balance": inst}, channel)
    assert outcome.state == "completed", outcome.message
    assert seen[-1].kind == "completed" and seen[-1].data["results"] == 3
    assert "an event subscriber failed" in caplog.text


def test_a_stream_holds_its_bound_and_then_ends_with_an_overflow_marker() -> None:
    bus = EventBus()
    stream = bus.stream(bound=3)
    for n in range(5):
        bus.publish("reading", "r1", value=n)
    got = list(stream)  # the reader was away for five events; the run did not wait for it
    assert [e.kind for e in got] == ["reading"] * 3 + ["overflow"]
    assert [e.data["value"] for e in got[:3]] == [0, 1, 2] and got[3].data == {"dropped": "reading", "bound": 3}
    bus.publish("reading", "r1", value=6)  # the overflowed stream is unsubscribed
    assert stream.get(timeout=0) is None
    quiet = bus.stream(bound=3)
    bus.publish("paused", "r1", message="m")
    quiet.close()
    assert [e.kind for e in quiet] == ["paused"]


def test_the_events_of_a_demo_run_arrive_in_order(demo_run: Callable[..., Any]) -> None:
    events: list[Event] = []
    run = demo_run("water-meter-verification-r49", subscriber=events.append)
    assert run.outcome.state == "completed", run.outcome.message
    kinds = [e.kind for e in events]
    assert kinds[0] == "step-started" and kinds[-1] == "completed"
    starts = [e.data for e in events if e.kind == "step-started"]
    total = starts[0]["total"]
    assert [s["number"] for s in starts] == list(range(1, total + 1))  # every step, in order, once
    requested: dict[int, int] = {}
    step = ""
    for n, e in enumerate(events):
        if e.kind == "step-started":
            step = e.data["step"]
        elif e.kind == "action-requested":
            assert e.data["step"] == step  # asked during its own step
            requested[e.data["action_id"]] = n
        elif e.kind == "action-answered":
            assert requested.pop(e.data["action_id"]) < n  # answered after it was asked, before the next one
            assert not requested
        elif e.kind in ("reading", "stable"):
            assert e.data["step"] == step
    manual = [e for e in events if e.kind == "action-requested" and e.data["expects"] == "value"]
    assert manual and all(e.data["unit"] == "L" for e in manual)  # the meter's register, read through the channel
    answers = {e.data["action_id"]: e.data for e in events if e.kind == "action-answered"}
    for e in manual:  # the virtual reader's value is the reading stored for the step
        answer = answers[e.data["action_id"]]
        assert answer["answer"] == "value" and answer["value"].endswith(" L")
        reading = next(r for r in events[events.index(e) :] if r.kind == "reading" and r.data["step"] == e.data["step"])
        assert reading.data["value"] == pytest.approx(float(answer["value"].split()[0]))
    with read_session(run.registry) as s:
        assert pending_actions(s, run.outcome.run_id) == []
        rows = run_actions(s, run.outcome.run_id)
    assert rows and all(r["status"] == "answered" for r in rows)


def test_a_cancel_while_an_instrument_is_prepared_is_honoured_before_the_first_reading(
    registry: Engine, tmp_path: Path
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = create(engine)
    channel = OperatorChannel(Bench())

    class StopPressedDuringPrepare(NeverSettles):
        def prepare(self) -> None:  # the technician presses stop while the balance is being set up
            channel.cancel("lan", reason="wrong instrument on the bench")

    balance = StopPressedDuringPrepare()
    outcome = engine.execute(WaitsForStability(), run_id, {"balance": balance}, channel)
    assert outcome.state == "paused"
    assert "cancelled by lan at 'preparing the balance'" in outcome.message
    assert balance.polls == 0  # no reading was taken
