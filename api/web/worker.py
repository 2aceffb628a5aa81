"""The service's run worker: runs execute on background threads of the service process, never in a request.

A request to start (or resume) a run is resolved, checked and registered in the request (so a refusal is answered at
once, as a problem document), then handed to the worker, which executes it on a thread of its own through
:class:`acquisition.session.RunSession`, exactly as ``caltrace calibrate`` does on the terminal. At most
``CALTRACE_MAX_RUNS`` runs execute at once in one process; a start beyond that is refused (503), never queued.

The run's operator is :class:`ServiceFrontEnd`: it shows nothing itself. Every operator action is a pending action in
the registry (``registry.actions``) that any process answers (this service's API, another service process on the
same registry, ``caltrace runs answer``): the run's :class:`~acquisition.channel.OperatorChannel` looks for the
answer in the registry (at most every 0.5 s) and the first answer wins. An answer given through this process's API
is also handed to the waiting channel at once (:meth:`RunWorker.nudge`).

Demo mode (``serve --demo``): each run gets its demo scenario's simulators on loopback (started for the run, stopped
when it stops executing) and the virtual lab's defaults (instrument, standards, parameters), like
``calibrate --demo``; when an action is answered done, the virtual lab does on its simulators what the operator
confirmed (puts the load on the simulated balance...), so a run driven from a browser measures what it asked for.

At shutdown every executing run is cancelled: the engine puts its sources to standby and pauses it (resumable).
Decision record 0520.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from acquisition.channel import Answer, FrontEnd, OperatorAction, OperatorChannel, Reply, Request
from acquisition.engine import RunEngine, RunOutcome
from acquisition.errors import RunError, RunRefused, RunStateError, UnknownProcedure
from acquisition.events import Event, EventBus, EventStream
from acquisition.session import RunRequest, RunSession, StartedRun, VirtualLab
from acquisition.store import ReadingStore, open_store
from registry.db import read_session, session_scope
from registry.models import ActionStatus, OperatorActionRecord
from registry.settings import Settings

log = logging.getLogger(__name__)

#: seconds the shutdown waits for the executing runs to pause (sources to standby first)
SHUTDOWN_WAIT_S = 30.0
#: the event the worker publishes when a run stops executing here (after the engine's completed/paused/...)
ENDED = "ended"


class WorkerBusy(Exception):  # noqa: N818 - a refusal answered as 503
    """Every run slot of this process is taken (``CALTRACE_MAX_RUNS``) or the service is stopping."""


class ServiceFrontEnd(FrontEnd):
    """The operator of a run executed by the service: the pending action waits in the registry for an answer from
    any process; an answer given in this process is handed over at once (:meth:`nudge`). ``act`` (demo mode): the
    virtual lab's hands, called with an action answered done, before the run goes on."""

    def __init__(
        self, registry: Engine, act: Callable[[OperatorAction], None] | None = None, scenario: Any = None
    ) -> None:
        self._registry = registry
        self._act = act
        #: the demo scenario whose simulators the run uses (demo mode), else None
        self.scenario = scenario
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[Request, Reply]] = {}

    def present(self, request: Request, reply: Reply) -> None:
        with self._lock:
            self._waiting[request.action_id] = (request, reply)

    def withdraw(self, request: Request, why: str) -> None:
        with self._lock:
            self._waiting.pop(request.action_id, None)
        if self._act is None or request.action.expects != "done":
            return
        with read_session(self._registry) as s:
            row = s.get(OperatorActionRecord, request.action_id)
            done = row is not None and row.status is ActionStatus.ANSWERED and row.answer == "done"
        if done:
            try:
                self._act(request.action)
            except Exception:  # the demo's hands failed: the run's own checks (stability, limits) report the effect
                log.warning("demo: could not perform %s on the virtual lab", request.action.kind, exc_info=True)

    def nudge(self, action_id: int, answer: Answer) -> bool:
        """Hand ``answer`` (already recorded in the registry) to the run waiting for it here; False when no run of
        this process waits for that action (it then finds the answer in the registry itself)."""
        with self._lock:
            waiting = self._waiting.get(action_id)
        if waiting is None:
            return False
        waiting[1](answer)
        return True


@dataclass
class _Job:
    """One run executing on a worker thread."""

    run_id: str
    procedure: str
    channel: OperatorChannel
    front: ServiceFrontEnd
    stack: contextlib.ExitStack
    started: StartedRun
    session: RunSession
    thread: threading.Thread | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    outcome: RunOutcome | None = None


class RunWorker:
    """Executes runs on at most ``max_runs`` background threads of this process.

    ``registry`` is the registry engine, ``settings`` the installation's settings (the reading store), ``today``
    the lab's calendar day, ``demo`` demo mode (the virtual lab per run), ``action_timeout_s`` the answer timeout
    of an operator action (s).
    """

    def __init__(
        self,
        registry: Engine,
        settings: Settings,
        *,
        today: Callable[[], date],
        max_runs: int,
        demo: bool = False,
        action_timeout_s: float | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.today = today
        self.max_runs = max_runs
        self.demo = demo
        self.action_timeout_s = action_timeout_s
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._reserved = 0
        self._closing = False
        self._store: ReadingStore | None = None
        #: the demo scenario of each run executing here (demo mode), by run id: its simulators, for tests
        self.scenarios: dict[str, Any] = {}

    # --- slots -------------------------------------------------------------------------------------------------

    def _reserve(self) -> None:
        with self._lock:
            if self._closing:
                raise WorkerBusy("the service is stopping: start the run on another service process or later")
            if self._reserved >= self.max_runs:
                raise WorkerBusy(
                    f"this service process already executes {self._reserved} runs, its limit (CALTRACE_MAX_RUNS="
                    f"{self.max_runs}): start the run when one has ended"
                )
            self._reserved += 1

    def _release(self) -> None:
        with self._lock:
            self._reserved -= 1

    def store(self) -> ReadingStore:
        """The reading store of the runs (opened at the first run, closed at shutdown)."""
        with self._lock:
            if self._store is None:
                self._store = open_store(self.settings)
            return self._store

    # --- starting ----------------------------------------------------------------------------------------------

    def _session(self, stack: contextlib.ExitStack, procedure: str) -> tuple[RunSession, ServiceFrontEnd]:
        """A run session (in demo mode on a virtual lab of ``procedure`` started on ``stack``) and its front end."""
        session = RunSession(self.registry, today=self.today)
        if not self.demo:
            return session, ServiceFrontEnd(self.registry)
        from acquisition.procedures import procedure_ids  # noqa: PLC0415
        from lab import scenario, simulator_thread  # noqa: PLC0415 - demo mode only: the api never loads lab else
        from lab.base import seed_common  # noqa: PLC0415

        try:
            demo = scenario(procedure)
        except LookupError as exc:  # no such procedure, or none with a demo
            raise UnknownProcedure(str(exc)) from None
        with session_scope(self.registry, "demo") as s:  # idempotent: certificates in force today
            seed_common(s, self.today(), procedure_ids())
            demo.seed(s, self.today())
        sims = stack.enter_context(simulator_thread())
        session.lab = VirtualLab(
            addresses=demo.start(sims),
            attach=demo.attach,
            instrument=demo.instrument,
            lot=demo.lot,
            standards=demo.standards,
            parameters=demo.parameters,
        )
        return session, ServiceFrontEnd(self.registry, demo.act, demo)

    def start(self, request: RunRequest) -> str:
        """Resolve, check and register ``request`` (a new run or a resume) here, then execute it on a worker
        thread; returns the run id. Raises :class:`WorkerBusy`, the session's :class:`RunError` refusals (a new
        run refused after it was registered, for a connection it lacks, is aborted with that reason) and the
        registry's NotFoundError (an unknown run to resume)."""
        self._reserve()
        stack = contextlib.ExitStack()
        try:
            procedure = request.procedure or ""
            if request.resume:
                procedure = RunSession(self.registry).procedure_of(request.resume)
                with self._lock:
                    if any(run_id.startswith(request.resume) for run_id in self._jobs):
                        raise RunStateError(f"run {request.resume} is executing in this service already")
            session, front = self._session(stack, procedure)
            resolved = session.resolve(request)
            begun = session.start(resolved, self.store())
            try:
                session.connections(begun)
            except RunRefused as exc:
                if not request.resume:  # registered a moment ago: abandoned, so no run waits for nobody
                    engine = RunEngine(self.registry, self.store(), actor=resolved.technician, today=self.today)
                    engine.abort(begun.run_id, f"refused before it started: {exc}")
                raise
            channel = OperatorChannel(front, events=EventBus(), timeout_s=self.action_timeout_s)
            job = _Job(begun.run_id, begun.procedure.definition.code, channel, front, stack, begun, session)
            channel.events.subscribe(lambda event: _track(job, event))
            thread = threading.Thread(target=self._execute, args=(job,), name=f"run-{begun.run_id[:8]}", daemon=True)
            job.thread = thread
            with self._lock:
                if self._closing:  # the shutdown began meanwhile: the run stays as registered (resumable)
                    raise WorkerBusy(f"the service is stopping: run {begun.run_id} was registered, resume it later")
                self._jobs[begun.run_id] = job
                if self.demo:
                    self.scenarios[begun.run_id] = front.scenario
            thread.start()
            return begun.run_id
        except BaseException:
            stack.close()
            self._release()
            raise

    def _execute(self, job: _Job) -> None:
        state, message = "stopped", ""
        try:
            job.outcome = job.session.execute(job.started, job.channel)
            state, message = job.outcome.state, job.outcome.message
        except RunError as exc:  # taken over or aborted elsewhere; the engine made the sources safe
            message = str(exc)
        except BaseException as exc:  # a fault: the engine paused the run (sources safe first) and re-raised
            message = f"{type(exc).__name__}: {exc}"
            log.exception("run %s stopped on an unexpected error", job.run_id)
        finally:
            with contextlib.suppress(Exception):
                job.stack.close()  # the demo's simulators
            with self._lock:
                self._jobs.pop(job.run_id, None)
                self.scenarios.pop(job.run_id, None)
            self._release()
            job.channel.events.publish(ENDED, job.run_id, state=state, message=message)
            log.info("run %s stopped executing here: %s %s", job.run_id, state, message)

    # --- what a request may ask of a run executing here ----------------------------------------------------------

    def executing(self, run_id: str) -> bool:
        """True while ``run_id`` executes in this process."""
        with self._lock:
            return run_id in self._jobs

    def progress(self, run_id: str) -> dict[str, Any]:
        """The step under way of a run executing here (``number``, ``total``, ``title``), else {}."""
        with self._lock:
            job = self._jobs.get(run_id)
            return dict(job.progress) if job is not None else {}

    def events(self, run_id: str, bound: int) -> EventStream | None:
        """A bounded stream of the live events of ``run_id`` when it executes here, else None."""
        with self._lock:
            job = self._jobs.get(run_id)
            return job.channel.events.stream(bound) if job is not None else None

    def nudge(self, run_id: str, action_id: int, answer: Answer) -> bool:
        """Hand an answer recorded in the registry to the run waiting for it in this process (see
        :meth:`ServiceFrontEnd.nudge`)."""
        with self._lock:
            job = self._jobs.get(run_id)
        return job is not None and job.front.nudge(action_id, answer)

    # --- stopping ------------------------------------------------------------------------------------------------

    def shutdown(self, wait_s: float = SHUTDOWN_WAIT_S) -> list[str]:
        """Refuse new runs, cancel every executing run (the engine puts its sources to standby and pauses it) and
        wait up to ``wait_s`` for them; returns the runs still executing after that (logged as errors)."""
        with self._lock:
            self._closing = True
        end = time.monotonic() + wait_s
        while True:
            with self._lock:
                jobs = list(self._jobs.values())
            if not jobs or time.monotonic() >= end:
                break
            for job in jobs:  # again each round: a run just starting binds its channel after the first cancel
                job.channel.cancel("service shutdown", reason="the service stopped; resume the run")
            for job in jobs:
                if job.thread is not None:
                    job.thread.join(min(0.5, max(0.0, end - time.monotonic())))
        left = [job.run_id for job in jobs]
        for run_id in left:
            log.error("run %s still executing %.0f s after the service was asked to stop", run_id, wait_s)
        with self._lock:
            store, self._store = self._store, None
        if store is not None and not left:
            store.close()
        return left


def _track(job: _Job, event: Event) -> None:
    """Keep the step under way of ``job`` (from its step-started events)."""
    if event.kind == "step-started":
        job.progress = {k: event.data.get(k) for k in ("number", "total", "title", "step")}
