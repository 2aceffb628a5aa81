"""The run session (acquisition.session) on its own, without the command line: a demo run on simulators, a resume,
and its refusals as typed errors; and the command line keeps none of the session's work."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from acquisition.channel import AutomaticFrontEnd, OperatorAborted, OperatorAction
from acquisition.errors import (
    MissingConnections,
    NoTechnician,
    RunStateError,
    UnknownProcedure,
    UnknownRoles,
    WrongSubject,
)
from acquisition.session import RunRequest, RunSession, VirtualLab
from acquisition.store import SQLiteReadingStore
from drivers.base import Instrument
from lab import scenario
from lab.base import TECHNICIAN, DemoScenario, seed_common
from registry.db import make_engine, session_factory, session_scope, upgrade
from registry.models import Result, Run, RunState
from simulators.runner import SimulatorThread

CG18 = "nawi-calibration-cg18"
TODAY = date(2026, 11, 21)
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Lab:
    """A seeded registry and store, the cg-18 demo's simulators running, and the drivers the session opened."""

    registry: Engine
    store: SQLiteReadingStore
    demo: DemoScenario
    lab: VirtualLab
    opened: list[tuple[str, Instrument]]
    closed: list[str]

    def session(self, *, virtual: bool = True) -> RunSession:
        return RunSession(self.registry, today=lambda: TODAY, lab=self.lab if virtual else None)


@pytest.fixture
def lab(tmp_path: Path, sim_thread: SimulatorThread) -> Iterator[Lab]:
    registry = make_engine(f"sqlite:///{tmp_path / 'caltrace.db'}")
    upgrade(registry)
    demo = scenario(CG18)
    with session_scope(registry, "demo") as s:
        seed_common(s, TODAY, [CG18])
        demo.seed(s, TODAY)
    opened: list[tuple[str, Instrument]] = []
    closed: list[str] = []

    def attach(role: str, driver: Instrument) -> None:
        """The scenario's hook, and a record that the session closes what it opened."""
        demo.attach(role, driver)
        opened.append((role, driver))
        close = driver.close

        def recording_close() -> None:
            closed.append(role)
            close()

        driver.close = recording_close  # type: ignore[method-assign]

    virtual = VirtualLab(
        addresses=demo.start(sim_thread),
        attach=attach,
        technician=TECHNICIAN,
        instrument=demo.instrument,
        standards=demo.standards,
        parameters=demo.parameters,
    )
    store = SQLiteReadingStore(tmp_path / "readings.db")
    yield Lab(registry, store, demo, virtual, opened, closed)
    store.close()
    registry.dispose()


def _runs(registry: Engine) -> int:
    with session_factory(registry)() as s:
        return int(s.scalar(select(func.count()).select_from(Run)) or 0)


def test_a_session_runs_the_demo_on_simulators_and_closes_every_instrument(lab: Lab) -> None:
    told: list[str] = []
    outcome = lab.session().run(
        RunRequest(procedure=CG18),
        lab.store,
        AutomaticFrontEnd(lab.demo.act),
        started=lambda begun: told.append(begun.run_id),
    )
    assert outcome.state == "completed", outcome.message
    assert told == [outcome.run_id]  # the front end learns the run id before it executes
    # both connected roles were opened through the lab's hook and closed again; the weights need no connection
    assert sorted(role for role, _ in lab.opened) == ["balance", "environment"]
    assert sorted(lab.closed) == ["balance", "environment"]
    assert outcome.readings and outcome.readings > 0
    with session_factory(lab.registry)() as s:
        run = s.get(Run, outcome.run_id)
        assert run is not None and run.state is RunState.COMPLETED
        assert run.technician.username == TECHNICIAN and run.instrument is not None
        assert run.instrument.serial_number == lab.demo.instrument
        stored = s.scalars(select(Result).where(Result.run_id == outcome.run_id)).all()
        assert len(stored) == len(outcome.results) > 0


def _stop(action: OperatorAction) -> None:
    raise OperatorAborted("stopped on request")


def StopAtFirstAction() -> AutomaticFrontEnd:
    """The operator stops at the first action (the run pauses)."""
    return AutomaticFrontEnd(_stop)


def test_a_paused_run_is_resumed_through_the_session_with_its_own_procedure_and_standards(lab: Lab) -> None:
    paused = lab.session().run(RunRequest(procedure=CG18), lab.store, StopAtFirstAction())
    assert paused.state == "paused" and "stopped by the operator" in paused.message
    assert sorted(lab.closed) == ["balance", "environment"]  # closed on a pause too
    session = lab.session()
    assert session.procedure_of(paused.run_id) == CG18
    # the resume names neither the procedure nor the technician nor the standards: the run has them
    resolved = session.resolve(RunRequest(resume=paused.run_id))
    assert resolved.procedure.definition.code == CG18 and resolved.technician == TECHNICIAN
    assert dict(resolved.standards) == dict(lab.demo.standards)
    done = session.run(RunRequest(resume=paused.run_id), lab.store, AutomaticFrontEnd(lab.demo.act))
    assert (done.run_id, done.state) == (paused.run_id, "completed"), done.message
    assert _runs(lab.registry) == 1  # a resume creates no run


def test_a_resume_naming_another_procedure_is_refused(lab: Lab) -> None:
    paused = lab.session().run(RunRequest(procedure=CG18), lab.store, StopAtFirstAction())
    with pytest.raises(RunStateError) as refused:
        lab.session().resolve(RunRequest(procedure="dmm-calibration", resume=paused.run_id))
    assert str(refused.value) == f"run {paused.run_id} follows {CG18}, not dmm-calibration"


def test_a_missing_connection_is_a_typed_refusal_naming_the_roles(lab: Lab) -> None:
    # without the virtual lab, nothing is connected: the balance and the environment monitor lack a connection
    session = lab.session(virtual=False)
    request = RunRequest(
        procedure=CG18,
        instrument=lab.demo.instrument,
        technician=TECHNICIAN,
        standards=lab.demo.standards,
        parameters=lab.demo.parameters,
    )
    begun = session.start(session.resolve(request), lab.store)
    with pytest.raises(MissingConnections) as refused:
        session.execute(begun, StopAtFirstAction())
    assert refused.value.roles == ["balance", "environment"]  # in the procedure's order of roles
    assert str(refused.value) == (
        "no connection for balance, environment: connect each to an instrument by driver model and address "
        "(e.g. balance to the model manual at manual: to type its readings)"
    )
    assert lab.opened == []  # refused before any instrument was opened


def test_a_connection_for_a_role_the_procedure_lacks_is_refused(lab: Lab) -> None:
    session = lab.session()
    request = RunRequest(procedure=CG18, connections={"oven": ("manual:", "manual")})
    begun = session.start(session.resolve(request), lab.store)
    with pytest.raises(UnknownRoles) as refused:
        session.execute(begun, AutomaticFrontEnd(lab.demo.act))
    roles = ", ".join(spec.role for spec in begun.procedure.definition.roles)
    assert str(refused.value) == f"{CG18} has no role oven; roles: {roles}"
    assert lab.opened == []


@pytest.mark.parametrize(
    ("request_", "wanted", "given", "text"),
    [
        (
            RunRequest(procedure=CG18, lot="LOT-1"),
            "instrument",
            "lot",
            f"{CG18} tests an instrument, not a prepackage lot: name the instrument by its serial number or "
            "registry id",
        ),
        (
            RunRequest(procedure="prepackage-r87", instrument="B912345678"),
            "lot",
            "instrument",
            "prepackage-r87 tests a prepackage lot, not an instrument: name the lot by its lot number or registry id",
        ),
        (
            RunRequest(procedure="prepackage-r87"),
            "lot",
            None,
            "prepackage-r87 tests a prepackage lot: give its lot number or registry id",
        ),
    ],
)
def test_a_subject_of_the_wrong_kind_is_refused_before_anything_is_written(
    lab: Lab, request_: RunRequest, wanted: str, given: str | None, text: str
) -> None:
    session = RunSession(lab.registry, today=lambda: TODAY)  # no virtual lab: no default instrument
    resolved = session.resolve(RunRequest(**{**request_.__dict__, "technician": TECHNICIAN}))
    with pytest.raises(WrongSubject) as refused:
        session.start(resolved, lab.store)
    assert (refused.value.wanted, refused.value.given, str(refused.value)) == (wanted, given, text)
    assert _runs(lab.registry) == 0


def test_an_unknown_procedure_and_a_missing_technician_are_typed_refusals(lab: Lab) -> None:
    session = RunSession(lab.registry, today=lambda: TODAY)
    with pytest.raises(UnknownProcedure, match="no-such-procedure"):
        session.resolve(RunRequest(procedure="no-such-procedure", technician=TECHNICIAN))
    with pytest.raises(NoTechnician):
        session.resolve(RunRequest(procedure=CG18, instrument=lab.demo.instrument))


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (top level or inside functions), and every name it imports from one."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_calibrate_command_leaves_the_orchestration_to_the_session() -> None:
    imported = _imports(ROOT / "api" / "cli" / "calibrate.py")
    assert "acquisition.session.RunSession" in imported
    # no instrument is opened, no run created or executed, no subject checked by the command itself
    assert not {m for m in imported if m.startswith(("drivers.registry", "drivers.manual"))}
    assert "acquisition.engine.RunEngine" not in imported
    source = (ROOT / "api" / "cli" / "calibrate.py").read_text(encoding="utf-8")
    for orchestration in ("open_instrument", "connections_needed", ".create(", ".execute(procedure", "under_test"):
        assert orchestration not in source, orchestration
    assert "_ask_on_terminal" not in (ROOT / "api" / "cli" / "read.py").read_text(encoding="utf-8")


def test_a_resume_takes_a_prefix_of_the_run_id_and_the_connections_given_at_creation(lab: Lab) -> None:
    # without the virtual lab's defaults: the connections are given once, when the run is created (as with
    # `--connect balance=mt-sics@socket://...`); the printed hint `caltrace calibrate --resume RUN` gives none
    request = RunRequest(
        procedure=CG18,
        instrument=lab.demo.instrument,
        technician=TECHNICIAN,
        standards=lab.demo.standards,
        parameters=lab.demo.parameters,
        connections=dict(lab.lab.addresses),
    )
    paused = lab.session(virtual=False).run(request, lab.store, StopAtFirstAction())
    assert paused.state == "paused", paused.message
    resumed = lab.session(virtual=False).run(
        RunRequest(resume=paused.run_id[:8]), lab.store, AutomaticFrontEnd(lab.demo.act)
    )
    assert (resumed.run_id, resumed.state) == (paused.run_id, "completed"), resumed.message
    assert _runs(lab.registry) == 1


def test_a_run_is_named_by_its_whole_id_or_a_unique_prefix(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid

    from acquisition.engine import RunEngine
    from acquisition.procedures import get_procedure
    from registry.errors import NotFoundError, NotPermittedError
    from registry.runs import resolve_run_id

    ids = iter([uuid.UUID("aaaa1111-0000-4000-8000-000000000001"), uuid.UUID("aaaa2222-0000-4000-8000-000000000002")])
    monkeypatch.setattr("acquisition.creation.uuid.uuid4", lambda: next(ids))
    engine = RunEngine(lab.registry, lab.store, actor=TECHNICIAN, today=lambda: TODAY)
    for _ in range(2):
        engine.create(
            get_procedure(CG18),
            instrument=lab.demo.instrument,
            technician=TECHNICIAN,
            standards=lab.demo.standards,
            parameters=lab.demo.parameters,
        )
    first = "aaaa1111-0000-4000-8000-000000000001"
    with session_factory(lab.registry)() as s:
        assert resolve_run_id(s, first) == first
        assert resolve_run_id(s, "aaaa1") == first
        assert resolve_run_id(s, " aaaa2222 ") == "aaaa2222-0000-4000-8000-000000000002"
        with pytest.raises(NotPermittedError, match="start of several runs"):
            resolve_run_id(s, "aaaa")
        with pytest.raises(NotFoundError, match="at least 4 characters"):
            resolve_run_id(s, "aaa")
        with pytest.raises(NotFoundError, match="no run 'bbbb'"):
            resolve_run_id(s, "bbbb")
        with pytest.raises(NotFoundError):  # LIKE wildcards are taken literally
            resolve_run_id(s, "aaaa%")


def test_a_resume_under_another_version_of_the_procedure_is_refused(lab: Lab) -> None:
    paused = lab.session().run(RunRequest(procedure=CG18), lab.store, StopAtFirstAction())
    with session_factory(lab.registry)() as s:  # as if the run had begun under an older release's definition
        run = s.get(Run, paused.run_id)
        assert run is not None
        run.procedure.version, run.procedure.definition_sha256 = "0.9", "ab" * 32
        s.commit()
    with pytest.raises(RunStateError) as refused:
        lab.session().resolve(RunRequest(resume=paused.run_id))
    text = str(refused.value)
    assert f"run {paused.run_id} began under {CG18} version 0.9 (definition abababababab)" in text
    assert "finished under the procedure it began with" in text and "--abort" in text
