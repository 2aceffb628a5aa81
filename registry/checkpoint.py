"""The writes of a run's life in the registry: its creation, claim, checkpoint, environment, pauses, results,
review and abort.

The run engine (:mod:`acquisition.engine`) decides *when* a run changes and *why*; these functions are *how* the
rows change, inside the caller's transaction (:func:`registry.db.session_scope`, audited as its actor). None of
them commits. A run's ``checkpoint`` column is one JSON document (``parameters``, ``standards``, ``completed``,
``attempts``, ``owner``): every write here replaces it as a whole, so the ORM sees the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from registry.models import (
    Conformity,
    EnvironmentRecord,
    MetrologyField,
    ProcedureKind,
    Result,
    Run,
    RunStandard,
    RunState,
)
from registry.models import Procedure as ProcedureRow

#: states from which a run may still execute (be claimed), or be aborted
RESUMABLE = (RunState.CREATED, RunState.RUNNING, RunState.PAUSED)


@dataclass(frozen=True)
class EnvironmentValue:
    """One environmental reading of a run as recorded: quantity, value in ``unit``, when (UTC) and whether it was
    within the procedure's limits."""

    quantity: str
    value: float
    unit: str
    at: datetime
    within_limits: bool


def add_procedure(
    s: Session,
    *,
    code: str,
    version: str,
    kind: str,
    field: str,
    title: str,
    method_reference: str,
    definition_sha256: str,
) -> ProcedureRow:
    """Register a procedure version the first time a run follows it (``kind``, ``field``: the registry's
    vocabulary values); flushed, so its id is known."""
    row = ProcedureRow(
        code=code,
        version=version,
        kind=ProcedureKind(kind),
        field=MetrologyField(field),
        title=title,
        method_reference=method_reference,
        definition_sha256=definition_sha256,
    )
    s.add(row)
    s.flush()
    return row


def add_run(
    s: Session,
    run_id: str,
    *,
    procedure_id: int,
    instrument_id: int | None,
    lot_id: int | None,
    technician_id: int,
    standards: Mapping[str, tuple[int, int]],
    checkpoint: Mapping[str, Any],
) -> Run:
    """A new run in state ``created``, with its reference standards (role -> (standard id, certificate id));
    flushed, so that its context can be read back in the same transaction."""
    run = Run(
        id=run_id,
        procedure_id=procedure_id,
        instrument_id=instrument_id,
        lot_id=lot_id,
        technician_id=technician_id,
        state=RunState.CREATED,
        checkpoint=dict(checkpoint),
    )
    run.standards = [
        RunStandard(standard_id=standard_id, certificate_id=certificate_id, role=role)
        for role, (standard_id, certificate_id) in standards.items()
    ]
    s.add(run)
    s.flush()
    return run


def locked_run(s: Session, run_id: str) -> Run | None:
    """``run_id`` locked for this transaction (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's writing transactions
    are serialised already), or None when there is no such run."""
    return s.get(Run, run_id, with_for_update=True)


def record_owner(run: Run, owner: Mapping[str, Any]) -> None:
    """The executing process's record (and sign of life) in the run's checkpoint."""
    run.checkpoint = {**run.checkpoint, "owner": dict(owner)}


def save_progress(
    run: Run,
    current_step: str,
    completed: Mapping[str, Any],
    attempts: Mapping[str, int],
    owner: Mapping[str, Any],
) -> None:
    """The step under way (title, cut to the column's 80 characters), the completed steps' kept values, each
    step's attempt count and the owner's sign of life, in one write."""
    run.current_step = current_step[:80]
    run.checkpoint = {
        **run.checkpoint,
        "completed": dict(completed),
        "attempts": dict(attempts),
        "owner": dict(owner),
    }


def mark_paused(run: Run, message: str) -> None:
    """The run paused, with the message that says why and what to do before resuming."""
    run.state = RunState.PAUSED
    run.message = message


def mark_reviewed(run: Run, reviewer_id: int) -> None:
    """A completed run reviewed by the staff member ``reviewer_id`` (the caller checked the authorisation)."""
    run.reviewer_id = reviewer_id
    run.state = RunState.REVIEWED


def mark_aborted(run: Run, reason: str) -> None:
    """An unfinished run aborted for ``reason`` (its readings stay in the store)."""
    run.state = RunState.ABORTED
    run.finished_at = datetime.now(UTC)
    run.message = reason


def mark_claimed(run: Run, owner: Mapping[str, Any]) -> None:
    """The run claimed for execution by ``owner`` (this process): state ``running``, its message cleared, the
    start time kept from the first execution."""
    run.state = RunState.RUNNING
    run.message = ""
    run.started_at = run.started_at or datetime.now(UTC)
    record_owner(run, owner)


def add_environment_records(s: Session, run_id: str, phase: str, records: Sequence[EnvironmentValue]) -> None:
    """One ``environment_record`` row per reading of an environment step ``phase`` (the step id)."""
    for r in records:
        s.add(
            EnvironmentRecord(
                run_id=run_id,
                phase=phase,
                quantity=r.quantity,
                value=r.value,
                unit=r.unit,
                at=r.at,
                within_limits=r.within_limits,
            )
        )


def record_results(
    s: Session, run: Run, results: Sequence[Mapping[str, Any]], overall: Conformity, message: str
) -> None:
    """The run completed: its result rows (each the column values of one point result, in order; earlier rows of
    the run are replaced), its overall conformity and message, state ``completed``."""
    s.query(Result).filter(Result.run_id == run.id).delete()
    for seq, fields in enumerate(results, 1):
        s.add(Result(run_id=run.id, seq=seq, **fields))
    run.state = RunState.COMPLETED
    run.finished_at = datetime.now(UTC)
    run.current_step = ""
    run.overall = overall
    run.message = message


def record_connections(run: Run, connections: Mapping[str, tuple[str, str]]) -> None:
    """The connections given for the run (role -> (URL, driver model)), kept in its checkpoint so that a resume
    can open the same instruments without being told again."""
    run.checkpoint = {**run.checkpoint, "connections": {role: list(pair) for role, pair in connections.items()}}
