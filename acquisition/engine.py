"""The run engine: a procedure executed step by step, its state persisted in the registry, every reading stored.

States: ``created`` -> ``running`` -> ``completed`` -> ``reviewed``; ``running`` -> ``paused`` (a device failed, the
operator stopped, the indication never settled, the environment left its limits) -> ``running`` again on resume;
any unfinished state -> ``aborted``.

Durability: each polled reading is appended to the time-series store (durable on return) *before* it is used; a
step's kept values and its completion are then committed to the run's checkpoint in the registry. A crash (even
``kill -9``) between the two leaves the step incomplete: on resume it runs again as a new attempt, tagged
``<step>#<attempt>`` in the store, so the readings of the interrupted attempt stay stored (nothing lost) and none
is stored twice (nothing duplicated). Results are computed from the checkpoint's kept values, so evaluation does
not depend on the time-series server being reachable.

This module is the step loop and its recording. The checks before a run starts and the run's context are in
:mod:`acquisition.creation`, the lease of the executing process and its heartbeat in :mod:`acquisition.lease`, the
errors in :mod:`acquisition.errors` (re-exported here), and the row changes of a run in :mod:`registry.checkpoint`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from acquisition import creation, lease
from acquisition.channel import (
    ActionTimedOut,
    FrontEnd,
    OperatorAborted,
    OperatorChannel,
    RunCancelled,
)
from acquisition.errors import (
    RunError,
    RunNotFound,
    RunRefused,
    RunStateError,
    RunTakenOver,
    WrongSubject,
)
from acquisition.lease import HEARTBEAT_S, STALE_S, _holder_problem
from acquisition.methods.base import PointResult, overall
from acquisition.procedures.base import (
    DeviceCommand,
    Procedure,
    RepeatGroupsError,
    RunContext,
    Step,
    StepData,
    resume_point,
)
from acquisition.stability import StabilityTimeout, wait_until_stable
from acquisition.store import ReadingStore, StoredReading
from drivers.base import Instrument
from drivers.errors import DriverError
from drivers.reading import Reading
from registry import actions, runs
from registry import checkpoint as rows
from registry.checkpoint import RESUMABLE
from registry.db import retry_when_locked, server_time, session_scope
from registry.errors import NotFoundError, NotPermittedError, RegistryBusyError
from registry.models import (
    ActionStatus,
    Conformity,
    MeasuringInstrument,
    PrepackageLot,
    Run,
    RunState,
)
from registry.models import Procedure as ProcedureRow

__all__ = [
    "CHECKPOINT_ATTEMPTS",
    "CHECKPOINT_BACKOFF_S",
    "HEARTBEAT_S",
    "RESUMABLE",
    "STALE_S",
    "RunEngine",
    "RunError",
    "RunNotFound",
    "RunOutcome",
    "RunRefused",
    "RunStateError",
    "RunTakenOver",
    "WrongSubject",
    "make_safe",
]

log = logging.getLogger(__name__)
#: ``extra`` of a log record whose message the caller also gets back and reports (the CLI keeps it off the
#: terminal, so it is printed once; the log file has it)
REPORTED_BY_CALLER = {"reported_by_caller": True}

T = TypeVar("T")

#: a checkpoint write that finds the registry locked by another writer (a large import) is tried this many times,
#: each attempt waiting up to the connection's busy timeout (registry.db.BUSY_TIMEOUT_S, 30 s) ...
CHECKPOINT_ATTEMPTS = 3
#: ... with this back-off (s) between attempts, doubled each time; then the run pauses (about 96 s in all)
CHECKPOINT_BACKOFF_S = 2.0


def _write_checkpoint(write: Callable[[], T], what: str) -> T:
    """``write()`` (one registry transaction of the run), retried while the registry is locked by another writer;
    raises :class:`~registry.errors.RegistryBusyError` when it stays locked (the run is then paused)."""
    return retry_when_locked(write, what=what, attempts=CHECKPOINT_ATTEMPTS, backoff_s=CHECKPOINT_BACKOFF_S)


@dataclass
class RunOutcome:
    """Where a run stands after ``execute``: its state, the message if paused, the results if completed."""

    run_id: str
    procedure: str
    state: str
    message: str = ""
    results: list[PointResult] = field(default_factory=list)
    readings: int | None = 0  # None: the store's server cannot be reached to count them (they are spooled)
    warnings: list[str] = field(default_factory=list)
    #: one message per source that could not be confirmed safe when the run stopped (say it loudly)
    unsafe: list[str] = field(default_factory=list)
    spooled: int = 0  # readings waiting in the store's spool for the server

    def as_dict(self) -> dict[str, Any]:
        """The CLI's ``--json`` document (results as ``PointResult.as_dict``, the shape ``runs show`` gives too)."""
        return {
            "run_id": self.run_id,
            "procedure": self.procedure,
            "state": self.state,
            "message": self.message,
            "readings": self.readings,
            "spooled": self.spooled,
            "warnings": self.warnings,
            "unsafe": self.unsafe,
            # each result with its rule, reference, note and full uncertainty budget (methods.base.budget_json)
            "results": [r.as_dict() for r in self.results],
        }


def _overall(results: list[PointResult]) -> Conformity:
    """The run's overall verdict: :func:`acquisition.methods.base.overall` of its rows (decision 0331)."""
    return Conformity(overall(r.conformity for r in results))


def make_safe(instruments: Mapping[str, Instrument]) -> list[str]:
    """Put every connected instrument into its safe state (a calibrator's output to standby), best effort.

    Every instrument gets its turn whatever the others do. Returns one message per instrument whose safe state
    could not be confirmed, naming it and telling the operator to make it safe by hand (each is also logged as an
    error). A second interrupt (Ctrl-C, SIGTERM) while one instrument is being made safe ends that attempt only
    and is reported the same way: the run is stopping already.
    """
    problems: list[str] = []
    for role, instrument in sorted(instruments.items()):
        try:
            instrument.make_safe()
        except BaseException as exc:  # best effort: an interrupt or any fault must not skip the next instrument
            safe = instrument.safe_state or "its safe state"
            reason = str(exc) or f"interrupted ({type(exc).__name__})"
            problems.append(
                f"DANGER: the {role} ({type(instrument).__name__} {instrument.instrument_id}) could not be confirmed "
                f"in {safe}, so its output may be live: switch it to {safe} by hand now. Cause: {reason}"
            )
    for problem in problems:  # the caller reports them too (the CLI in red): logged for the file, not the terminal
        log.error("%s", problem, extra=REPORTED_BY_CALLER)
    return problems


@dataclass
class _Stopping:
    """One execution's connected instruments, made safe once when the run stops executing, and what it was doing."""

    instruments: Mapping[str, Instrument]
    step: str = ""  # title of the step under way
    lost: threading.Event = field(default_factory=threading.Event)  # set when the heartbeat finds the run gone
    unsafe: list[str] | None = None

    def secure(self) -> list[str]:
        """:func:`make_safe` on the first call; the same messages afterwards."""
        if self.unsafe is None:
            self.unsafe = make_safe(self.instruments)
        return self.unsafe


def _interruption(exc: BaseException, step: str) -> str:
    """The run's message when ``exc`` ended its execution outside the engine's own pauses."""
    where = f" at '{step}'" if step else ""
    if isinstance(exc, KeyboardInterrupt):
        return f"interrupted (Ctrl-C){where}; resume the run"
    if isinstance(exc, Exception):
        return (
            f"unexpected error{where}: {type(exc).__name__}: {exc} (a fault in caltrace or a driver: report it with "
            "the log). The readings so far are kept; resume the run"
        )
    return f"stopped{where}: {exc or type(exc).__name__}; resume the run"


class RunEngine:
    """Creates, executes, resumes, reviews and aborts runs against a registry and a reading store."""

    def __init__(
        self,
        registry: Engine,
        store: ReadingStore,
        *,
        actor: str,
        today: Callable[[], date] = date.today,
        poll_pause: float = 0.0,
    ) -> None:
        self.registry = registry
        self.store = store
        self.actor = actor
        self.today = today
        self.poll_pause = poll_pause
        self._checkpoint_lock = threading.Lock()  # checkpoint writes: the steps and the heartbeat

    # --- creation: the checks a run must pass before it starts ---------------------------------------------------

    def create(
        self,
        procedure: Procedure,
        *,
        instrument: str | None = None,
        lot: str | None = None,
        technician: str,
        standards: Mapping[str, str],
        parameters: Mapping[str, Any] | None = None,
    ) -> str:
        """Register a new run after checking the technician and the standards; returns the run id.

        ``instrument`` is the registry id or serial number of the instrument under test, or, for a procedure that
        tests a prepackage lot (``procedure.under_test == "lot"``), ``lot`` is the lot's registry id or lot
        number; ``standards`` maps each role that needs a reference standard to the standard's code. Raises
        :class:`RunRefused` with the reason.
        """
        try:
            return self._create(procedure, instrument, lot, technician, standards, parameters or {})
        except (NotPermittedError, NotFoundError) as exc:
            raise RunRefused(str(exc)) from None
        except ValueError as exc:  # the procedure cannot plan a run with these parameters and standards
            raise RunRefused(f"{procedure.definition.code}: {exc}") from None

    @staticmethod
    def _subject(
        s: Session, procedure: Procedure, instrument: str | None, lot: str | None
    ) -> MeasuringInstrument | PrepackageLot:
        """The instrument or lot a new run tests, of the kind the procedure declares
        (:func:`acquisition.creation.find_subject`)."""
        return creation.find_subject(s, procedure, instrument, lot)

    def _create(
        self,
        procedure: Procedure,
        instrument: str | None,
        lot: str | None,
        technician: str,
        standards: Mapping[str, str],
        parameters: Mapping[str, Any],
    ) -> str:
        return creation.create_run(
            self.registry, self.actor, self.today(), procedure, instrument, lot, technician, standards, parameters
        )

    def _procedure_row(self, s: Session, procedure: Procedure) -> ProcedureRow:
        return creation.procedure_row(s, procedure)

    # --- execution -------------------------------------------------------------------------------------------------

    def _context(self, s: Session, run: Run) -> RunContext:
        return creation.run_context(s, run)

    def _load(self, s: Session, run_id: str) -> Run:
        return creation.load_run(s, run_id)

    def connections_needed(self, procedure: Procedure, run_id: str) -> set[str]:
        """The roles whose instruments must be connected to run ``run_id`` (passive standards such as weights
        need none)."""
        return creation.connections_needed(self.registry, self.actor, procedure, run_id)

    def execute(
        self,
        procedure: Procedure,
        run_id: str,
        instruments: Mapping[str, Instrument],
        operator: OperatorChannel | FrontEnd,
    ) -> RunOutcome:
        """Run (or resume) ``run_id`` to the end, or until it pauses; ``instruments`` maps role -> open driver.

        ``operator`` is the run's operator channel (or a front end, given a channel of its own): every operator
        action and manual-entry value goes through it, and it carries the run's events and cancellation.
        Actions an earlier execution left pending (a process that died) are closed as superseded when the run is
        claimed, and so are cancel requests it never saw: this execution asks again.
        """
        channel = operator if isinstance(operator, OperatorChannel) else OperatorChannel(operator)
        code = procedure.definition.code
        with session_scope(self.registry, self.actor) as s:
            run = s.get(Run, run_id, with_for_update=True)  # PostgreSQL: two claims of one run are serialised
            if run is None:
                raise RunNotFound(f"no run {run_id!r} in the registry")
            if run.state not in RESUMABLE:
                raise RunStateError(f"run {run_id} is {run.state.value}; only created or paused runs can run")
            if run.procedure.code != code:
                raise RunStateError(f"run {run_id} follows {run.procedure.code}, not {code}")
            if run.state is RunState.RUNNING:
                problem = _holder_problem(run_id, run.checkpoint.get("owner") or {}, server_time(s))
                if problem:
                    raise RunStateError(problem)
            rows.mark_claimed(run, self._owner(s))
            actions.close_pending(s, run_id, ActionStatus.SUPERSEDED, "asked again: the run was resumed")
            actions.handle_cancels(s, run_id, "superseded")
            context = self._context(s, run)
            checkpoint = dict(run.checkpoint)
        stopping = _Stopping(instruments)
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(run_id, stop, stopping.lost), name=f"run-{run_id}-alive", daemon=True
        )
        beat.start()

        def gone() -> None:  # the registry shows the run no longer running: the taken-over/aborted error now
            stopping.lost.set()
            self._still_held(run_id, stopping)

        try:
            with channel.bound(self.registry, run_id, self.actor, retry=_write_checkpoint, gone=gone):
                try:
                    outcome = self._execute_claimed(procedure, run_id, channel, context, checkpoint, stopping)
                except RegistryBusyError as exc:  # a checkpoint could not be written: pause (sources safe first)
                    outcome = self._pause_busy(stopping, code, run_id, exc)
                except BaseException as exc:  # Ctrl-C, a signal turned into an exception, taken over, a fault
                    self._interrupted(run_id, stopping, exc)
                    if isinstance(exc, RunError):  # taken over or aborted elsewhere: not paused by this process
                        channel.publish("stopped", message=str(exc))
                    else:
                        channel.publish("paused", message=_interruption(exc, stopping.step))
                    raise
                if outcome.state == RunState.COMPLETED.value:
                    channel.publish("completed", results=len(outcome.results), warnings=list(outcome.warnings))
                elif outcome.state == RunState.PAUSED.value:
                    channel.publish("paused", message=outcome.message)
                return outcome
        finally:
            stop.set()
            beat.join(5)

    def _interrupted(self, run_id: str, stopping: _Stopping, exc: BaseException) -> None:
        """Sources to their safe state first; then, unless the run was taken over or aborted, pause it (best
        effort: the registry may be what failed). Messages about sources left unsafe become notes of ``exc``."""
        for problem in stopping.secure():
            exc.add_note(problem)
        if isinstance(exc, RunError):  # no longer this process's run: nothing to record
            return
        message = _interruption(exc, stopping.step)
        if stopping.unsafe:
            message = " ".join(stopping.unsafe) + " | " + message
        try:
            with self._checkpoint_lock, session_scope(self.registry, self.actor) as s:
                rows.mark_paused(self._held(s, run_id), message)
            log.warning("run %s paused: %s", run_id, message, extra=REPORTED_BY_CALLER)
        except BaseException:  # a second interrupt, or the registry is away: the run stays 'running' (resumable)
            log.warning("run %s: could not record the pause (%s)", run_id, message, exc_info=True)

    @staticmethod
    def _owner(s: Session) -> dict[str, Any]:
        """This process as the executor of a run (:func:`acquisition.lease.owner_record`)."""
        return lease.owner_record(s)

    def _held(self, s: Session, run_id: str) -> Run:
        """``run_id``, locked for this transaction, still executed by this process (:func:`acquisition.lease.held`)."""
        return lease.held(s, run_id)

    def _heartbeat(self, run_id: str, stop: threading.Event, lost: threading.Event) -> None:
        """The run's heartbeat thread (:func:`acquisition.lease.heartbeat`)."""
        lease.heartbeat(self.registry, self.actor, self._checkpoint_lock, run_id, stop, lost)

    def _still_held(self, run_id: str, stopping: _Stopping) -> None:
        """RunTakenOver when the heartbeat found the run taken over or aborted
        (:func:`acquisition.lease.still_held`)."""
        lease.still_held(self.registry, self.actor, self._checkpoint_lock, run_id, stopping.lost)

    def _execute_claimed(
        self,
        procedure: Procedure,
        run_id: str,
        channel: OperatorChannel,
        context: RunContext,
        checkpoint: dict[str, Any],
        stopping: _Stopping,
    ) -> RunOutcome:
        code = procedure.definition.code
        instruments = stopping.instruments
        try:
            steps = procedure.plan(context)
        except ValueError as exc:  # planned when the run was created; what it depends on changed since
            return self._pause(
                stopping, code, run_id, f"the run cannot be planned any more: {exc}. Abort it and create a new run"
            )
        missing = set().union(*(st.roles() for st in steps)) - set(instruments)
        if missing:
            return self._pause(stopping, code, run_id, f"no instrument connected for {', '.join(sorted(missing))}")
        unable = sorted(
            {
                f"the {c.role} ({type(instruments[c.role]).__name__}) cannot {c.method}"
                for st in steps
                for c in st.commands
                if c.method.startswith("_") or not callable(getattr(instruments[c.role], c.method, None))
            }
        )
        if unable:
            return self._pause(
                stopping,
                code,
                run_id,
                f"{'; '.join(unable)}: connect an instrument of a model this procedure can drive",
            )
        for role in sorted(set().union(*(st.roles() for st in steps))):
            try:
                channel.check()  # a cancel asked while instruments are set up is honoured before the first step
                instruments[role].prepare()
                channel.check()
            except RunCancelled as exc:
                return self._cancelled(stopping, code, run_id, f"preparing the {role}", exc, channel)
            except (DriverError, OSError, TimeoutError) as exc:
                return self._pause(
                    stopping,
                    code,
                    run_id,
                    f"the {role} could not be brought into a known state: {exc}. Check the {role} and its "
                    "connection, then resume the run",
                )
        completed: dict[str, Any] = dict(checkpoint.get("completed", {}))
        for again in resume_point(steps, completed):  # a group interrupted in its middle starts again
            del completed[again]
        attempts: dict[str, int] = dict(checkpoint.get("attempts", {}))
        warnings: list[str] = []
        for number, step in enumerate(steps, 1):
            if step.id in completed:
                continue
            attempts[step.id] = attempts.get(step.id, 0) + 1
            stopping.step = step.title
            self._save(run_id, step.title, completed, attempts)
            channel.at_step(step.id)
            channel.publish("step-started", number=number, total=len(steps), title=step.title, step=step.id)
            try:
                for command in step.commands:
                    channel.check()
                    self._still_held(run_id, stopping)
                    self._command(instruments[command.role], command)
                if step.action is not None:
                    channel.perform(step.action)
                kept = (
                    self._measure(run_id, step, attempts[step.id], instruments[step.role], stopping, channel)
                    if step.keep
                    else []
                )
            except OperatorAborted as exc:
                return self._pause(
                    stopping, code, run_id, f"stopped by the operator at '{step.title}': {exc}".rstrip(": ")
                )
            except ActionTimedOut as exc:
                return self._pause(stopping, code, run_id, f"'{step.title}': {exc}")
            except RunCancelled as exc:
                return self._cancelled(stopping, code, run_id, step.title, exc, channel)
            except StabilityTimeout as exc:
                return self._pause(stopping, code, run_id, f"'{step.title}': {exc}")
            except (DriverError, OSError, TimeoutError) as exc:
                return self._pause(
                    stopping,
                    code,
                    run_id,
                    f"'{step.title}': {exc}. Check the {step.role} and its connection, then resume the run",
                )
            entry = {
                "attempt": attempts[step.id],
                "values": [r.value for r in kept],
                "unit": kept[0].unit if kept else "",
                "quantities": [r.quantity for r in kept],
            }
            if step.environment:
                problem = self._record_environment(procedure, run_id, step, kept, warnings, channel)
                if problem:
                    self._save(run_id, step.title, completed, attempts)
                    return self._pause(stopping, code, run_id, problem)
            completed[step.id] = entry
            self._save(run_id, step.title, completed, attempts)
        stopping.step = ""
        data = {
            step.id: StepData(
                step=step,
                values=tuple(completed[step.id]["values"]),
                unit=completed[step.id]["unit"],
                quantities=tuple(completed[step.id]["quantities"]),
            )
            for step in steps
        }
        try:
            results = procedure.evaluate(context, data)
        except RepeatGroupsError as exc:  # some groups' readings cannot be used: measure them again on resume
            for step in steps:
                if step.group in exc.groups:
                    completed.pop(step.id, None)
            self._save(run_id, "", completed, attempts)
            return self._pause(
                stopping,
                code,
                run_id,
                f"{exc}; resume the run (caltrace calibrate --resume {run_id}) to measure it again",
            )
        except (ValueError, ArithmeticError) as exc:  # e.g. a quantity the instruments did not report
            return self._pause(
                stopping,
                code,
                run_id,
                f"the readings are kept but the results cannot be computed: {exc}; abort the run",
            )
        unsafe = stopping.secure()  # the run leaves the executing state: sources off before results are reported

        def write_results() -> None:
            with self._checkpoint_lock, session_scope(self.registry, self.actor) as s:
                run = self._held(s, run_id)
                rows.record_results(
                    s, run, [r.row() for r in results], _overall(results), "; ".join([*unsafe, *warnings])
                )
                actions.handle_cancels(s, run_id, "too late")  # asked after the last step was measured

        _write_checkpoint(write_results, f"the results of run {run_id}")
        return RunOutcome(
            run_id,
            code,
            RunState.COMPLETED.value,
            " ".join(unsafe),
            results,
            self._count(run_id),
            warnings,
            unsafe,
            self._spooled(),
        )

    def _count(self, run_id: str) -> int | None:
        """The run's stored readings; None when the store's server cannot be reached (they wait in its spool)."""
        try:
            return self.store.count(run_id=run_id)
        except Exception:  # the server may be away: the readings are safe in the spool
            return None

    def _spooled(self) -> int:
        try:
            return self.store.pending()
        except Exception:  # a spool that cannot be read is reported by the store itself
            return 0

    def _save(self, run_id: str, current: str, completed: dict[str, Any], attempts: dict[str, int]) -> None:
        def write() -> None:
            with self._checkpoint_lock, session_scope(self.registry, self.actor) as s:
                rows.save_progress(self._held(s, run_id), current, completed, attempts, self._owner(s))

        _write_checkpoint(write, f"the checkpoint of run {run_id} ('{current[:80]}')")

    def _pause(self, stopping: _Stopping, code: str, run_id: str, message: str) -> RunOutcome:
        """Sources to their safe state first, then the run paused with ``message`` (preceded by any source that
        could not be made safe); the pause is written with retries while the registry is locked."""
        unsafe = stopping.secure()
        if unsafe:
            message = " ".join(unsafe) + " | " + message

        def write() -> None:
            with self._checkpoint_lock, session_scope(self.registry, self.actor) as s:
                rows.mark_paused(self._held(s, run_id), message)

        try:
            _write_checkpoint(write, f"the pause of run {run_id}")
        except RegistryBusyError as exc:
            message += (
                f". {exc}: the registry still shows the run as running, and --resume takes it over once this "
                f"process has ended (from another computer after {STALE_S:.0f} s)"
            )
            log.error("run %s stopped; its pause could not be recorded: %s", run_id, message, extra=REPORTED_BY_CALLER)
        else:
            log.info("run %s paused: %s", run_id, message)  # the caller reports it (the CLI once, on stderr)
        return RunOutcome(
            run_id,
            code,
            RunState.PAUSED.value,
            message,
            [],
            self._count(run_id),
            unsafe=list(unsafe),
            spooled=self._spooled(),
        )

    def _pause_busy(self, stopping: _Stopping, code: str, run_id: str, exc: RegistryBusyError) -> RunOutcome:
        """Pause a run whose checkpoint could not be written because the registry stayed locked: nothing after the
        last recorded step counts, and resuming repeats the step that was not recorded."""
        return self._pause(
            stopping,
            code,
            run_id,
            f"{exc}. The run stopped at its last recorded step; when the registry is free again (the import or "
            f"other long write has finished), resume it: caltrace calibrate --resume {run_id}",
        )

    def _cancelled(
        self, stopping: _Stopping, code: str, run_id: str, step: str, exc: RunCancelled, channel: OperatorChannel
    ) -> RunOutcome:
        """A cancel of the run (decision 0311): sources to standby first, then the run paused (resumable) or, when
        the request asks for it, aborted; the message says who cancelled, where, and why."""
        channel.publish("cancelled", by=exc.by, abort=exc.abort, reason=exc.reason)
        why = f" ({exc.reason})" if exc.reason else ""
        if not exc.abort:
            outcome = self._pause(
                stopping,
                code,
                run_id,
                f"cancelled by {exc.by} at '{step}'{why}; resume the run: caltrace calibrate --resume {run_id}",
            )
            with contextlib.suppress(Exception), session_scope(self.registry, self.actor) as s:
                actions.handle_cancels(s, run_id, "paused")
            return outcome
        unsafe = stopping.secure()
        message = " ".join([*unsafe, f"aborted: cancelled by {exc.by} at '{step}'{why}"]).strip()

        def write() -> None:
            with self._checkpoint_lock, session_scope(self.registry, self.actor) as s:
                rows.mark_aborted(self._held(s, run_id), message)
                actions.close_pending(s, run_id, ActionStatus.CANCELLED, "the run was cancelled and aborted")
                actions.handle_cancels(s, run_id, "aborted")

        _write_checkpoint(write, f"the abort of run {run_id}")
        log.info("run %s aborted: %s", run_id, message)
        return RunOutcome(
            run_id,
            code,
            RunState.ABORTED.value,
            message,
            [],
            self._count(run_id),
            unsafe=list(unsafe),
            spooled=self._spooled(),
        )

    @staticmethod
    def _command(instrument: Instrument, command: DeviceCommand) -> None:
        """Send one remote command (checked to exist before the run started)."""
        getattr(instrument, command.method)(**command.args)

    def _measure(
        self,
        run_id: str,
        step: Step,
        attempt: int,
        instrument: Instrument,
        stopping: _Stopping,
        channel: OperatorChannel,
    ) -> list[Reading]:
        """The step's kept readings; between polls (and in a stability wait's pauses) a cancel of the run is
        looked for (acquisition.channel: at once locally, at most every 0.5 s in the registry)."""
        tag = f"{step.id}#{attempt}"

        def poll() -> list[Reading]:
            channel.check()
            self._still_held(run_id, stopping)
            readings = instrument.poll()
            if readings:
                self.store.append([StoredReading.from_reading(r, run_id=run_id, step=tag) for r in readings])
                for r in readings:
                    channel.publish(
                        "reading",
                        step=step.id,
                        quantity=r.quantity,
                        value=r.value if r.has_value else None,
                        unit=r.unit,
                        status=r.status.value,
                    )
            if step.quantity:
                readings = [r for r in readings if r.quantity == step.quantity]
            return readings

        if step.environment:
            return poll()
        if step.stability is not None:
            window = wait_until_stable(poll, step.stability, pause=self.poll_pause, sleep=channel.sleep)
            last = window[-1]
            channel.publish("stable", step=step.id, count=len(window), value=last.value, unit=last.unit)
            return window[-step.keep :]
        kept: list[Reading] = []
        tries = 0
        while len(kept) < step.keep:
            tries += 1
            if tries > 20 * step.keep:
                raise TimeoutError(f"no usable reading after {tries - 1} polls")
            kept.extend(r for r in poll() if r.has_value)
        return kept[: step.keep]

    def _record_environment(
        self,
        procedure: Procedure,
        run_id: str,
        step: Step,
        readings: list[Reading],
        warnings: list[str],
        channel: OperatorChannel,
    ) -> str:
        """Record environmental readings; returns a message when a 'stop' limit is broken (else '')."""
        limits = {lim.quantity: lim for lim in procedure.definition.environment}
        stop = ""
        within: list[bool] = []
        for r in readings:
            lim = limits.get(r.quantity)
            ok = lim is None or (math.isfinite(r.value) and lim.check(r.value))
            within.append(ok)
            if not ok and lim is not None:
                text = f"{r.quantity} {r.value:g} {r.unit} outside {lim.low:g}..{lim.high:g} {lim.unit} ({step.title})"
                if lim.stop:
                    stop = f"environment out of limits: {text}; restore the conditions, then resume"
                else:
                    warnings.append(text)
                    channel.publish("warning", message=text)

        records = [
            rows.EnvironmentValue(r.quantity, r.value, r.unit, r.timestamp, ok)
            for r, ok in zip(readings, within, strict=True)
        ]

        def write() -> None:
            with session_scope(self.registry, self.actor) as s:
                rows.add_environment_records(s, run_id, step.id, records)

        _write_checkpoint(write, f"the environment readings of run {run_id} ('{step.title[:80]}')")
        return stop

    # --- after the run -------------------------------------------------------------------------------------------

    def review(self, run_id: str, reviewer: str) -> None:
        """Mark a completed run reviewed by ``reviewer`` (who must be authorised to review, and not its technician)."""
        today = self.today()
        with session_scope(self.registry, self.actor) as s:
            run = self._load(s, run_id)
            if run.state is not RunState.COMPLETED:
                raise RunStateError(f"run {run_id} is {run.state.value}; only a completed run can be reviewed")
            try:
                staff = runs.may_review(s, reviewer, run.procedure.code, today, technician_id=run.technician_id)
            except (NotPermittedError, NotFoundError) as exc:
                raise RunRefused(str(exc)) from None
            rows.mark_reviewed(run, staff.id)

    def abort(self, run_id: str, reason: str) -> None:
        """Abort an unfinished run (its readings stay in the store)."""
        with session_scope(self.registry, self.actor) as s:
            run = self._load(s, run_id)
            if run.state not in RESUMABLE:
                raise RunStateError(f"run {run_id} is {run.state.value} and cannot be aborted")
            rows.mark_aborted(run, reason)
            actions.close_pending(s, run_id, ActionStatus.WITHDRAWN, f"the run was aborted: {reason}")
