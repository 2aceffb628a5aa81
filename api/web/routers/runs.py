"""``/api/v1/runs``: start, follow, pause, resume and abort runs, answer their operator actions, review them.

A run never executes in a request: ``POST /runs`` resolves, checks and registers it, and the service's run worker
(:mod:`api.web.worker`) executes it on a thread of its own. Its operator actions wait in the registry, so any
service process on the same registry (or ``caltrace runs answer``) answers them; ``GET /runs/{id}/events`` streams
its events (server-sent events) from the process that executes it. docs/service.md "Runs", decision 0520.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from acquisition.channel import Answer
from acquisition.engine import RunEngine
from acquisition.errors import (
    MissingConnections,
    NoTechnician,
    RunError,
    RunNotFound,
    RunStateError,
    UnknownProcedure,
    UnknownRoles,
    WrongSubject,
)
from acquisition.events import Event
from acquisition.session import RunRequest
from api.web.accounts import Account
from api.web.deps import Limit, Reader, ServiceDep, require_roles
from api.web.errors import ApiProblem, FieldProblem, problem_responses
from api.web.schemas.runs import ActionAnswer, ActionPublic, RunCreate, RunPublic, RunStop, RunSummaryPublic
from api.web.worker import ENDED, RunWorker, WorkerBusy
from registry import actions
from registry.errors import NotFoundError
from registry.models import ProcedureKind, Run, RunState
from registry.runs import describe_run, list_runs, may_perform, resolve_run_id, result_json, review_of, run_results

router = APIRouter(prefix="/runs", tags=["runs"])

#: who may start, resume, pause and abort runs and answer their operator actions
Technician = Annotated[Account, require_roles("technician")]
#: who may review a completed run
Reviewer = Annotated[Account, require_roles("reviewer")]
RunId = Annotated[
    str, Path(min_length=1, max_length=64, description="Run id (or a unique prefix of at least 4 characters).")
]
#: refusals about what the request asked for (422); other refusals (authorisations, standards) are 409
_BAD_REQUEST = (UnknownProcedure, WrongSubject, NoTechnician, MissingConnections, UnknownRoles)
#: seconds between registry looks of an event stream of a run executing in another process
REMOTE_POLL_S = 1.0
#: seconds between looks at a live event stream's queue
LOCAL_POLL_S = 0.1


def get_worker(request: Request) -> RunWorker:
    """The app's run worker."""
    worker: RunWorker = request.app.state.runs
    return worker


WorkerDep = Annotated[RunWorker, Depends(get_worker)]


def _refused(exc: RunError | WorkerBusy) -> ApiProblem:
    """A run refusal as a problem document."""
    if isinstance(exc, WorkerBusy):
        return ApiProblem(503, "busy", "No run slot free", str(exc), headers={"Retry-After": "60"})
    if isinstance(exc, RunNotFound):
        return ApiProblem(404, "not-found", "Not found", str(exc))
    if isinstance(exc, _BAD_REQUEST):
        return ApiProblem(422, "run-refused", "Run refused: check the request", str(exc))
    if isinstance(exc, RunStateError):
        return ApiProblem(409, "run-state", "Not possible in the run's state", str(exc))
    return ApiProblem(409, "run-refused", "Run refused by the registry's records", str(exc))


def _check_parameters(body: RunCreate) -> None:
    """The request's parameters checked against the procedure's declared ones (422 naming each bad one; the
    procedure then checks how they combine with the standards when the run is registered)."""
    if not body.parameters:
        return
    from acquisition.procedures import get_procedure  # noqa: PLC0415 - loads every procedure module
    from acquisition.procedures.params import check_parameters  # noqa: PLC0415

    try:
        procedure = get_procedure(body.procedure)
    except LookupError as exc:
        raise _refused(UnknownProcedure(str(exc))) from None
    try:
        check_parameters(procedure.parameter_specs, body.parameters, procedure=body.procedure)
    except ValueError as exc:
        raise ApiProblem(
            422,
            "run-refused",
            "Run refused: check the request",
            str(exc),
            errors=[FieldProblem(location="body", pointer="#/parameters", loc=["parameters"], detail=str(exc))],
        ) from None


def _staff(account: Account) -> str:
    if not account.staff_username:
        raise ApiProblem(403, "forbidden", "No member of staff", "this login acts as no member of staff")
    return account.staff_username


def _full_id(s: Session, run_id: str) -> str:
    return resolve_run_id(s, run_id)


def _run(s: Session, run_id: str, worker: RunWorker) -> RunPublic:
    summary = {**describe_run(s, run_id), **review_of(s, run_id)}
    pending = actions.pending_actions(s, run_id)
    done = summary["state"] in (RunState.COMPLETED.value, RunState.REVIEWED.value)
    progress = worker.progress(run_id)
    return RunPublic.model_validate(
        {
            **summary,
            "executing_here": worker.executing(run_id),
            "progress": progress or None,
            "pending_action": pending[0] if pending else None,
            "results": [result_json(r) for r in run_results(s, run_id)] if done else [],
        }
    )


def _answer_run(service: ServiceDep, run_id: str, worker: RunWorker) -> RunPublic:
    with service.read() as s:
        return _run(s, run_id, worker)


@router.post(
    "",
    response_model=RunPublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="runs_create",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
def create_run(body: RunCreate, account: Technician, service: ServiceDep, worker: WorkerDep) -> RunPublic:
    """Register a run performed by the login's member of staff and start executing it in the background. The
    technician's authorisation, the standards' certificates, the subject and the parameters are checked first
    (refusals: 409 by the registry's records, 422 for what the request asked); 503 when this service process
    executes its limit of runs already."""
    _check_parameters(body)
    request = RunRequest(
        procedure=body.procedure,
        instrument=body.instrument,
        lot=body.lot,
        technician=_staff(account),
        standards=body.standards,
        connections={role: (c.url, c.model) for role, c in body.connections.items()},
        parameters=body.parameters,
    )
    try:
        run_id = worker.start(request)
    except (RunError, WorkerBusy) as exc:
        raise _refused(exc) from None
    return _answer_run(service, run_id, worker)


@router.get("", response_model=list[RunSummaryPublic], operation_id="runs_list", responses=problem_responses(401))
def list_all(
    _: Reader,
    service: ServiceDep,
    state: Annotated[RunState | None, Query(description="Only runs in this state.")] = None,
    limit: Limit = 50,
) -> list[RunSummaryPublic]:
    """The latest runs, newest first."""
    with service.read() as s:
        return [RunSummaryPublic.model_validate(row) for row in list_runs(s, state, limit)]


@router.get("/{run_id}", response_model=RunPublic, operation_id="runs_get", responses=problem_responses(401, 404))
def get_run(run_id: RunId, _: Reader, service: ServiceDep, worker: WorkerDep) -> RunPublic:
    """One run: state, step under way (when it executes in this process), the operator action it waits for, and
    its results with their budgets once completed."""
    with service.read() as s:
        return _run(s, _full_id(s, run_id), worker)


@router.post(
    "/{run_id}/pause",
    response_model=RunPublic,
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="runs_pause",
    responses=problem_responses(401, 403, 404, 409),
)
def pause_run(
    run_id: RunId, account: Technician, service: ServiceDep, worker: WorkerDep, body: RunStop | None = None
) -> RunPublic:
    """Ask the process executing the run (any one) to stop it: it puts the sources to standby and pauses the run
    within about a second (resumable). 409 unless the run is running."""
    with service.write(account) as s:
        run_id = _full_id(s, run_id)
        actions.request_cancel(s, run_id, by=account.actor, reason=body.reason if body else "")
    return _answer_run(service, run_id, worker)


@router.post(
    "/{run_id}/resume",
    response_model=RunPublic,
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="runs_resume",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
def resume_run(run_id: RunId, account: Technician, service: ServiceDep, worker: WorkerDep) -> RunPublic:
    """Execute a created or paused run again in this process from its last recorded step (the steps done stay
    done). Only the run's technician may resume it, while still authorised to perform its procedure (409)."""
    staff = _staff(account)
    with service.read() as s:
        run_id = _full_id(s, run_id)
        summary = describe_run(s, run_id)
        if summary["state"] not in (RunState.CREATED.value, RunState.PAUSED.value):
            raise ApiProblem(409, "run-state", "Not possible in the run's state", f"run {run_id} is {summary['state']}")
        if summary["technician"] != staff:  # the run records one technician: the one who performs all of it
            raise ApiProblem(
                409,
                "refused",
                "Refused by the registry's records",
                f"run {run_id} is performed by {summary['technician']}; only they may resume it (another technician "
                "aborts it and starts a new run)",
            )
        run = s.get(Run, run_id)
        assert run is not None  # found just above
        procedure = run.procedure
        may_perform(
            s, staff, procedure.code, service.today(), verification=procedure.kind == ProcedureKind.VERIFICATION
        )
    try:
        worker.start(RunRequest(resume=run_id, technician=staff))
    except (RunError, WorkerBusy) as exc:
        raise _refused(exc) from None
    return _answer_run(service, run_id, worker)


@router.post(
    "/{run_id}/abort",
    response_model=RunPublic,
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="runs_abort",
    responses=problem_responses(401, 403, 404, 409),
)
def abort_run(
    run_id: RunId, account: Technician, service: ServiceDep, worker: WorkerDep, body: RunStop | None = None
) -> RunPublic:
    """Abandon an unfinished run: a running one is cancelled (the process executing it puts the sources to
    standby, then marks it aborted, within about a second); a created or paused one is aborted at once. Its
    readings stay in the store."""
    reason = (body.reason if body else "") or f"aborted through the service by {account.actor}"
    with service.write(account) as s:
        run_id = _full_id(s, run_id)
        running = describe_run(s, run_id)["state"] == RunState.RUNNING.value
        if running:
            actions.request_cancel(s, run_id, by=account.actor, abort=True, reason=reason)
    if not running:
        engine = RunEngine(service.engine, worker.store(), actor=account.actor, today=service.today)
        try:
            engine.abort(run_id, reason)
        except RunError as exc:
            raise _refused(exc) from None
    return _answer_run(service, run_id, worker)


@router.post(
    "/{run_id}/review",
    response_model=RunPublic,
    operation_id="runs_review",
    responses=problem_responses(401, 403, 404, 409),
)
def review_run(run_id: RunId, account: Reviewer, service: ServiceDep, worker: WorkerDep) -> RunPublic:
    """Mark a completed run reviewed by the login's member of staff (authorised to review the procedure, and not
    the run's technician)."""
    with service.read() as s:
        run_id = _full_id(s, run_id)
    engine = RunEngine(service.engine, worker.store(), actor=account.actor, today=service.today)
    try:
        engine.review(run_id, _staff(account))
    except RunError as exc:
        raise _refused(exc) from None
    return _answer_run(service, run_id, worker)


@router.get(
    "/{run_id}/action",
    response_model=ActionPublic | None,
    operation_id="runs_action_get",
    responses=problem_responses(401, 404),
)
def pending_action(run_id: RunId, _: Reader, service: ServiceDep) -> ActionPublic | None:
    """The operator action the run waits for (what to do, in Vietnamese and English; whether it expects done or a
    value), or null when it waits for none."""
    with service.read() as s:
        pending = actions.pending_actions(s, _full_id(s, run_id))
    return ActionPublic.model_validate(pending[0]) if pending else None


@router.post(
    "/{run_id}/action",
    response_model=ActionPublic,
    operation_id="runs_action_answer",
    responses=problem_responses(401, 403, 404, 409),
)
def answer_action(
    run_id: RunId, body: ActionAnswer, account: Technician, service: ServiceDep, worker: WorkerDep
) -> ActionPublic:
    """Answer the run's pending action: done, a value, or stop (the run pauses). The first answer from anywhere
    counts; a later one is refused (409) naming who answered first. The answer is recorded with the login as who
    answered (and audited)."""
    with service.write(account) as s:
        run_id = _full_id(s, run_id)
        row = actions.get_action(s, body.action_id)
        if row.run_id != run_id:
            raise NotFoundError(f"run {run_id} has no operator action {body.action_id}: GET its action")
        row = actions.answer_action(
            s, body.action_id, answer=body.answer, by=account.actor, value=body.value, note=body.note
        )
        answered = actions.action_json(row)
    worker.nudge(run_id, body.action_id, Answer(body.answer, answered["value"], account.actor, body.note))
    return ActionPublic.model_validate(answered)


def _sse(kind: str, data: dict[str, Any], number: int) -> str:
    """One server-sent event: ``id``, ``event`` (the kind) and one ``data`` line of JSON."""
    payload = json.dumps(data, ensure_ascii=False, default=str)
    return f"id: {number}\nevent: {kind}\ndata: {payload}\n\n"


def _snapshot(service: ServiceDep, run_id: str) -> dict[str, Any]:
    with service.read() as s:
        summary = describe_run(s, run_id)
        pending = actions.pending_actions(s, run_id)
    return {
        "kind": "state",
        "run_id": run_id,
        "state": summary["state"],
        "current_step": summary["current_step"],
        "steps_completed": summary["steps_completed"],
        "message": summary["message"],
        "action_id": pending[0]["action_id"] if pending else None,
    }


@router.get(
    "/{run_id}/events",
    response_model=None,
    operation_id="runs_events",
    responses={
        200: {
            "description": "Server-sent events (text/event-stream): `event:` the kind, `data:` one JSON object.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 404),
    },
)
async def run_events(
    run_id: RunId, _: Reader, service: ServiceDep, worker: WorkerDep, request: Request
) -> StreamingResponse:
    """The run's events as server-sent events: first its ``state`` (from the registry), then, while it executes
    in this process, every event live (``step-started``, ``reading``, ``stable``, ``action-requested``,
    ``action-answered``, ``warning``, ``cancelled``, ``paused``, ``stopped``, ``completed``, and ``ended`` when it
    stops executing); for a run executing elsewhere, ``state`` again whenever it changes. Keep-alive comments in
    between; the stream ends with the run's execution (or ``overflow`` when the client fell too far behind:
    reconnect)."""

    def lookup() -> str:
        with service.read() as s:
            return _full_id(s, run_id)

    full = await anyio.to_thread.run_sync(lookup)  # 404 before the stream starts
    settings = service.settings
    live = worker.events(full, settings.events_bound)

    async def stream() -> AsyncIterator[str]:
        number = 0
        beat = time.monotonic()
        try:
            first = await anyio.to_thread.run_sync(_snapshot, service, full)
            number += 1
            yield _sse("state", first, number)
            if live is None:  # executing elsewhere (or nowhere): follow the registry while it runs
                last = first
                while last["state"] == RunState.RUNNING.value:
                    await asyncio.sleep(REMOTE_POLL_S)
                    now = await anyio.to_thread.run_sync(_snapshot, service, full)
                    if now != last:
                        number += 1
                        yield _sse("state", now, number)
                        last = now
                    elif time.monotonic() - beat >= settings.events_heartbeat_s:
                        yield ": keep-alive\n\n"
                        beat = time.monotonic()
                return
            while True:
                event: Event | None = live.get(timeout=0)
                if event is None:
                    if live.closed:
                        return
                    if time.monotonic() - beat >= settings.events_heartbeat_s:
                        yield ": keep-alive\n\n"
                        beat = time.monotonic()
                    await asyncio.sleep(LOCAL_POLL_S)
                    continue
                number += 1
                yield _sse(event.kind, event.as_dict(), number)
                if event.kind in (ENDED, "overflow"):
                    return
        finally:
            if live is not None:
                live.close()

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
