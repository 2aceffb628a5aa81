"""The run engine with a small procedure on a simulated MT-SICS balance: states, checks, storage, pause, resume."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from acquisition.channel import AutomaticFrontEnd, OperatorAction
from acquisition.engine import STALE_S, RunEngine, RunRefused, RunStateError, RunTakenOver
from acquisition.methods.base import PointResult
from acquisition.procedures.base import (
    EnvironmentLimit,
    Procedure,
    ProcedureDefinition,
    RoleSpec,
    RunContext,
    Step,
    StepData,
)
from acquisition.stability import StabilityCriterion
from acquisition.store import SQLiteReadingStore
from drivers.errors import DeviceError
from drivers.registry import open_instrument
from registry.db import make_engine, session_factory, session_scope, upgrade
from registry.models import (
    Authorisation,
    Customer,
    MeasuringInstrument,
    MetrologyField,
    ReferenceStandard,
    Result,
    Run,
    RunStandard,
    RunState,
    Staff,
    StandardCertificate,
)
from simulators.base import SimOptions
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread
from tests.support.postgres import PostgresServer

TODAY = date(2026, 11, 21)
LOADS = (0.0, 100.0, 200.0)


class ToyProcedure(Procedure):
    """Errors of indication at three loads: place the load, wait for stability, keep one reading."""

    definition = ProcedureDefinition(
        code="toy-errors",
        version="1",
        kind="calibration",
        field="mass",
        title="Toy errors of indication",
        method_reference="test only",
        roles=(
            RoleSpec("balance", "the balance under test", under_test=True),
            RoleSpec("weights", "reference weights", standard_kinds=("weight set",)),
        ),
        environment=(EnvironmentLimit("temperature", 18.0, 26.0, "°C"),),
    )

    def plan(self, context: RunContext) -> list[Step]:
        crit = StabilityCriterion(window=3, max_spread=0.0005, timeout=10.0)
        return [
            Step(
                id=f"load-{load:g}",
                role="balance",
                title=f"{load:g} g",
                action=OperatorAction("place-load", f"Đặt {load:g} g", f"Place {load:g} g", {"load_g": load}),
                stability=crit,
                meta={"load_g": load},
            )
            for load in LOADS
        ]

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        return [
            PointResult("error of indication", d.step.meta["load_g"], "g", d.values[0] - d.step.meta["load_g"], "g")
            for d in data.values()
        ]


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The registry on SQLite and on a real PostgreSQL server (a lab's shared registry), with a small lab."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'caltrace.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database()
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine, "setup") as s:
        owner = Customer(name="Công ty A")
        s.add(
            MeasuringInstrument(
                owner=owner,
                kind="balance",
                field=MetrologyField.MASS,
                serial_number="B912345678",
                interval_months=12,
                range_min=0,
                range_max=220,
                range_unit="g",
                resolution=0.0001,
                resolution_unit="g",
            )
        )
        lan = Staff(username="lan", full_name="Nguyễn Thị Lan")
        lan.authorisations = [Authorisation(procedure_code="toy-errors", can_perform=True, valid_from=date(2026, 1, 1))]
        minh = Staff(username="minh", full_name="Trần Văn Minh")
        minh.authorisations = [
            Authorisation(procedure_code="toy-errors", can_review=True, valid_from=date(2026, 1, 1)),
        ]
        s.add_all([lan, minh, Staff(username="hoa", full_name="Lê Hoa")])
        for code, due in (("W-1", date(2027, 6, 1)), ("W-OLD", date(2026, 11, 20))):
            std = ReferenceStandard(code=code, name=code, kind="weight set", field=MetrologyField.MASS)
            std.certificates = [
                StandardCertificate(
                    issuer="VMI",
                    number=f"C-{code}",
                    calibrated_on=date(2025, 11, 20),
                    issued_on=date(2025, 11, 21),
                    due_on=due,
                )
            ]
            s.add(std)
        s.add(ReferenceStandard(code="DMM", name="DMM", kind="dmm", field=MetrologyField.ELECTRICAL))
    yield engine
    engine.dispose()


@pytest.fixture
def balance(sim_thread: SimulatorThread) -> Iterator[MtSicsSimulator]:
    sim = sim_thread.start(
        MtSicsSimulator(SimOptions("bal-1", "B912345678", seed=3), settle_time=0.2, stability_timeout=0.3)
    )
    assert isinstance(sim, MtSicsSimulator)
    yield sim


def make_engine_(registry: Engine, tmp_path: Path) -> RunEngine:
    return RunEngine(registry, SQLiteReadingStore(tmp_path / "readings.db"), actor="lan", today=lambda: TODAY)


def test_a_run_completes_with_every_reading_stored(registry: Engine, balance: MtSicsSimulator, tmp_path: Path) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    prompter = AutomaticFrontEnd(lambda a: balance.control("place", load_g=a.params["load_g"]))
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        outcome = engine.execute(ToyProcedure(), run_id, {"balance": inst}, prompter)
    assert outcome.state == "completed", outcome.message
    assert [a.params["load_g"] for a in prompter.performed] == list(LOADS)
    # the simulator's pan is exact after settling, up to its 0.1 mg resolution and small noise
    assert [r.point for r in outcome.results] == list(LOADS)
    assert all(abs(r.value) < 0.001 for r in outcome.results)

    stored = engine.store.query(run_id=run_id)
    assert outcome.readings == len(stored) >= 3 * 3  # at least the three stable windows
    assert {r.step for r in stored} == {"load-0#1", "load-100#1", "load-200#1"}
    assert len({r.identity for r in stored}) == len(stored)  # nothing stored twice
    with session_factory(registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state is RunState.COMPLETED and run.finished_at is not None
        results = s.scalars(select(Result).where(Result.run_id == run_id).order_by(Result.seq)).all()
        assert [r.point for r in results] == list(LOADS)
        link = s.scalars(select(RunStandard).where(RunStandard.run_id == run_id)).one()
        assert link.role == "weights" and link.certificate_id is not None

    with pytest.raises(RunRefused, match="cannot review"):
        engine.review(run_id, "lan")
    engine.review(run_id, "minh")
    with pytest.raises(RunStateError, match="reviewed"):
        engine.execute(ToyProcedure(), run_id, {}, prompter)


@pytest.mark.parametrize(
    ("technician", "standards", "reason"),
    [
        ("hoa", {"weights": "W-1"}, "not authorised to perform toy-errors"),
        ("nobody", {"weights": "W-1"}, "no active member of staff"),
        ("lan", {"weights": "W-OLD"}, "calibration expired on 2026-11-20"),
        ("lan", {"weights": "DMM"}, "is a dmm; the weights must be one of: weight set"),
        ("lan", {}, "give --standard weights=CODE"),
        ("lan", {"weights": "W-1", "oven": "W-1"}, "no role oven"),
    ],
)
def test_refusals(registry: Engine, tmp_path: Path, technician: str, standards: dict[str, str], reason: str) -> None:
    engine = make_engine_(registry, tmp_path)
    with pytest.raises(RunRefused, match=reason):
        engine.create(ToyProcedure(), instrument="B912345678", technician=technician, standards=standards)
    with session_factory(registry)() as s:
        assert s.scalars(select(Run)).all() == []  # nothing half-created


def test_a_device_lost_mid_run_pauses_and_the_run_resumes(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})

    def act(action: OperatorAction) -> None:
        balance.control("place", load_g=action.params["load_g"])
        if action.params["load_g"] == 100.0 and not cut:
            cut.append(True)
            balance.control("fault", fault="silent")  # the balance stops answering at the second load

    cut: list[bool] = []
    with open_instrument(f"{balance.url}?timeout=0.3", "mt-sics", "bal-1") as inst:
        paused = engine.execute(ToyProcedure(), run_id, {"balance": inst}, AutomaticFrontEnd(act))
    assert paused.state == "paused"
    assert "100 g" in paused.message and "resume" in paused.message
    before = engine.store.query(run_id=run_id)

    balance.control("fault", fault="clear")
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        done = engine.execute(ToyProcedure(), run_id, {"balance": inst}, AutomaticFrontEnd(act))
    assert done.state == "completed", done.message
    after = engine.store.query(run_id=run_id)
    # the first attempt's readings are all still there; the step ran again as attempt 2; nothing duplicated
    assert {r.identity for r in before} <= {r.identity for r in after}
    assert len({r.identity for r in after}) == len(after)
    assert {r.step for r in after} >= {"load-0#1", "load-100#2", "load-200#1"}
    assert not any(r.step == "load-0#2" for r in after)  # a completed step is not repeated


def test_each_connected_instrument_is_prepared_and_a_refusal_pauses_before_any_step(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    prompter = AutomaticFrontEnd(lambda a: balance.control("place", load_g=a.params["load_g"]))
    prepared: list[str] = []

    def refuse() -> None:
        prepared.append("refused")
        raise DeviceError("balance: remote control locked on the front panel", code="L")

    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        inst.prepare = refuse  # type: ignore[method-assign]
        paused = engine.execute(ToyProcedure(), run_id, {"balance": inst}, prompter)
    assert paused.state == "paused"
    assert "balance could not be brought into a known state" in paused.message
    assert "remote control locked" in paused.message and "resume" in paused.message
    assert prompter.performed == [] and engine.store.count(run_id=run_id) == 0  # no step started

    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        inst.prepare = lambda: prepared.append("ok")  # type: ignore[method-assign]
        done = engine.execute(ToyProcedure(), run_id, {"balance": inst}, prompter)
    assert done.state == "completed", done.message
    assert prepared == ["refused", "ok"]  # once per start or resume


def test_overall_conformity_ignores_informational_rows() -> None:
    from acquisition.engine import _overall
    from acquisition.methods.base import PointResult
    from registry.models import Conformity

    def row(verdict: str) -> PointResult:
        return PointResult("q", None, "", 0.0, "g", conformity=verdict)

    assert _overall([row("notAssessed"), row("pass")]) is Conformity.PASS
    assert _overall([row("notAssessed"), row("pass"), row("fail")]) is Conformity.FAIL
    assert _overall([row("conditionalPass"), row("pass")]) is Conformity.PASS
    assert _overall([row("notAssessed")]) is Conformity.NOT_ASSESSED
    assert _overall([]) is Conformity.NOT_ASSESSED


def test_a_run_executed_by_a_live_process_cannot_be_taken_over(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # another live process
    try:
        with session_scope(registry, "test") as s:  # as if that process were executing the run
            run = s.get(Run, run_id)
            assert run is not None
            run.state = RunState.RUNNING
            run.checkpoint = {**run.checkpoint, "owner": {"host": socket.gethostname(), "pid": other.pid}}
        prompter = AutomaticFrontEnd(lambda a: balance.control("place", load_g=a.params["load_g"]))
        with pytest.raises(RunStateError, match=f"being executed by process {other.pid}"):
            engine.execute(ToyProcedure(), run_id, {}, prompter)
    finally:
        other.kill()
        other.wait(10)
    # once that process is gone (a crash), the run resumes
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        outcome = engine.execute(ToyProcedure(), run_id, {"balance": inst}, prompter)
    assert outcome.state == "completed", outcome.message


def _proc_start(pid: int) -> tuple[str, int]:
    """(boot id, start time in clock ticks since boot) of ``pid``, read here from /proc as proc(5) describes it:
    ``/proc/<pid>/stat`` field 22 counted after the ``(comm)`` field, which ends at the last ')'."""
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    after_comm = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return boot, int(after_comm[22 - 3])  # fields 3, 4, ... follow the comm (field 2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the start record read from /proc is Linux's")
@pytest.mark.parametrize("record", ["same process", "another start", "another boot"])
def test_a_live_pid_that_started_at_another_time_or_boot_does_not_hold_the_run(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path, record: str
) -> None:
    """Issue 14.7: a reused process id (after a reboot, or a wrapped pid counter) must not hold a run for ever."""
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    pid = os.getppid()  # alive for the whole test, and not this process
    boot, ticks = _proc_start(pid)
    process = {
        "same process": {"boot_id": boot, "start_ticks": ticks},
        "another start": {"boot_id": boot, "start_ticks": ticks + 1},
        "another boot": {"boot_id": "00000000-0000-4000-8000-000000000000", "start_ticks": ticks},
    }[record]
    with session_scope(registry, "test") as s:  # as if that pid had been recorded executing the run
        run = s.get(Run, run_id)
        assert run is not None
        run.state = RunState.RUNNING
        owner = {"host": socket.gethostname(), "pid": pid, "process": process, "seen": time.time()}
        run.checkpoint = {**run.checkpoint, "owner": owner}
    prompter = AutomaticFrontEnd(lambda a: balance.control("place", load_g=a.params["load_g"]))
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        if record == "same process":
            with pytest.raises(RunStateError, match=f"being executed by process {pid}"):
                engine.execute(ToyProcedure(), run_id, {"balance": inst}, prompter)
            return
        outcome = engine.execute(ToyProcedure(), run_id, {"balance": inst}, prompter)
    assert outcome.state == "completed", outcome.message
    mine = _owner_of(registry, run_id)
    assert (mine["pid"], mine["process"]) == (
        os.getpid(),
        dict(zip(("boot_id", "start_ticks"), _proc_start(os.getpid()), strict=True)),
    )


def _owner_of(registry: Engine, run_id: str) -> dict[str, Any]:
    """The executor recorded in the run's checkpoint."""
    with session_factory(registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None
        return dict(run.checkpoint["owner"])


def _claimed_elsewhere(registry: Engine, run_id: str, seen: float) -> None:
    """As if a process on another computer were executing ``run_id`` and last showed life at ``seen``."""
    with session_scope(registry, "test") as s:
        run = s.get(Run, run_id)
        assert run is not None
        run.state = RunState.RUNNING
        run.checkpoint = {**run.checkpoint, "owner": {"host": "lab-pc-2", "pid": 4242, "seen": seen}}


def test_a_run_executed_on_another_computer_is_refused_until_that_computer_falls_silent(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    prompter = AutomaticFrontEnd(lambda a: balance.control("place", load_g=a.params["load_g"]))
    _claimed_elsewhere(registry, run_id, time.time() - 20)  # heard from 20 s ago: still at work
    with pytest.raises(RunStateError, match=r"computer 'lab-pc-2' \(process 4242, last heard from 2\d s ago\)"):
        engine.execute(ToyProcedure(), run_id, {}, prompter)
    assert prompter.performed == []

    _claimed_elsewhere(registry, run_id, time.time() - STALE_S - 1)  # silent for longer than STALE_S: crashed
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        outcome = engine.execute(ToyProcedure(), run_id, {"balance": inst}, prompter)
    assert outcome.state == "completed", outcome.message
    with session_factory(registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.checkpoint["owner"]["host"] == socket.gethostname()


@pytest.mark.parametrize("registry", ["postgresql"], indirect=True)
def test_the_lease_is_judged_by_the_registry_servers_clock_not_this_computers(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This computer's clock runs an hour fast. Judged by it, a holder heard from 20 s ago (by the shared server's
    clock) would look silent for an hour and be taken over; judged by the server's clock it is still at work."""
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    prompter = AutomaticFrontEnd(lambda a: balance.control("place", load_g=a.params["load_g"]))
    _claimed_elsewhere(registry, run_id, time.time() - 20)  # the server is on this computer: its clock is time.time
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600.0)
    with pytest.raises(RunStateError, match=r"computer 'lab-pc-2' \(process 4242, last heard from 2\d s ago\)"):
        engine.execute(ToyProcedure(), run_id, {}, prompter)

    _claimed_elsewhere(registry, run_id, real() - STALE_S - 1)  # silent for longer than STALE_S by the server
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        outcome = engine.execute(ToyProcedure(), run_id, {"balance": inst}, prompter)
    assert outcome.state == "completed", outcome.message
    assert abs(float(_owner_of(registry, run_id)["seen"]) - real()) < 60  # recorded by the server's clock


def test_the_executing_process_shows_life_during_a_long_operator_action(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("acquisition.lease.HEARTBEAT_S", 0.05)
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    seen: list[float] = []

    def slow_operator(action: OperatorAction) -> None:
        """Works until the heartbeat has refreshed the sign of life by 0.2 s (at most 10 s); no step is saved
        meanwhile. A wait bounded by a deadline rather than a fixed sleep: a loaded CI machine may delay a beat."""
        if action.params["load_g"] == 100.0:
            seen.append(float(_owner_of(registry, run_id)["seen"]))
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline:
                time.sleep(0.05)
                latest = float(_owner_of(registry, run_id)["seen"])
                if latest - seen[0] >= 0.2:
                    break
            seen.append(latest)
        balance.control("place", load_g=action.params["load_g"])

    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        outcome = engine.execute(ToyProcedure(), run_id, {"balance": inst}, AutomaticFrontEnd(slow_operator))
    assert outcome.state == "completed", outcome.message
    assert seen[1] - seen[0] >= 0.2  # refreshed by the heartbeat while the operator worked


def test_a_run_taken_over_by_another_computer_stops_here_without_reclaiming_it(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("acquisition.lease.HEARTBEAT_S", 0.05)
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    hosts: list[str] = []

    def operator(action: OperatorAction) -> None:
        if action.params["load_g"] == 100.0:  # meanwhile this computer was silent and lab-pc-2 took the run over
            _claimed_elsewhere(registry, run_id, time.time())
            time.sleep(0.3)  # several heartbeats: none may write this computer back as the owner
            hosts.append(str(_owner_of(registry, run_id)["host"]))
        balance.control("place", load_g=action.params["load_g"])

    with (
        open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst,
        pytest.raises(RunTakenOver, match=r"taken over by computer 'lab-pc-2' \(process 4242\).*continue the run on"),
    ):
        engine.execute(ToyProcedure(), run_id, {"balance": inst}, AutomaticFrontEnd(operator))
    assert hosts == ["lab-pc-2"]
    with session_factory(registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None
        assert run.state is RunState.RUNNING and run.checkpoint["owner"]["host"] == "lab-pc-2"
        assert "load-100" not in run.checkpoint["completed"]  # this computer recorded nothing after losing the run
        assert s.query(Result).filter(Result.run_id == run_id).count() == 0


def test_a_run_aborted_while_it_executes_stops_at_the_next_step(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})

    def operator(action: OperatorAction) -> None:
        if action.params["load_g"] == 100.0:  # the head of the lab aborts the run from another computer
            make_engine_(registry, tmp_path).abort(run_id, "wrong balance on the bench")
        balance.control("place", load_g=action.params["load_g"])

    with (
        open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst,
        pytest.raises(RunTakenOver, match="aborted while this computer executed it \\(wrong balance on the bench\\)"),
    ):
        engine.execute(ToyProcedure(), run_id, {"balance": inst}, AutomaticFrontEnd(operator))
    with session_factory(registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state is RunState.ABORTED and run.message == "wrong balance on the bench"


class _PlanFromCheckpoint(ToyProcedure):
    """ToyProcedure whose plan refuses a run whose recorded loads became impossible (stands for a replaced standard)."""

    def plan(self, context: RunContext) -> list[Step]:
        if context.parameters.get("impossible"):
            raise ValueError("200 g cannot be made from the weight set W-1 any more")
        return super().plan(context)


def test_a_run_that_can_no_longer_be_planned_pauses_with_the_reason_instead_of_crashing(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(
        _PlanFromCheckpoint(), instrument="B912345678", technician="lan", standards={"weights": "W-1"}
    )
    with session_scope(registry, "test") as s:  # what the plan depends on changed after the run was created
        run = s.get(Run, run_id)
        assert run is not None
        run.checkpoint = {**run.checkpoint, "parameters": {"impossible": True}}
    with pytest.raises(RunRefused, match="cannot be planned any more: 200 g cannot be made.*abort it"):
        engine.connections_needed(_PlanFromCheckpoint(), run_id)
    prompter = AutomaticFrontEnd(lambda a: balance.control("place", load_g=a.params["load_g"]))
    outcome = engine.execute(_PlanFromCheckpoint(), run_id, {}, prompter)
    assert outcome.state == "paused"
    assert "cannot be planned any more: 200 g cannot be made" in outcome.message and "Abort it" in outcome.message
    assert prompter.performed == []
