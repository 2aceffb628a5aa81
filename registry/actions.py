"""Operator actions and cancel requests of runs, in the registry (decisions 0310 and 0311).

The run engine writes each request to its operator as an ``operator_action`` row before it waits for the answer;
any process with the registry (the executing one's terminal, a second terminal, later a web worker) lists the
pending ones and answers one: the first answer wins, a later one is refused with who answered first. A request to
cancel a running run is a ``run_cancel`` row the engine looks for about twice a second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import NotFoundError, NotPermittedError
from registry.models import ActionStatus, CancelRequest, OperatorActionRecord, Run, RunState

ANSWERS = ("done", "value", "stop")


def request_action(
    s: Session,
    run_id: str,
    *,
    step: str,
    kind: str,
    text_vi: str,
    text_en: str,
    params: dict[str, Any] | None = None,
    expects: str = "done",
    unit: str = "",
    quantity: str = "",
    deadline: datetime | None = None,
) -> OperatorActionRecord:
    """Record a pending action of ``run_id`` (flushed: its ``id`` is set)."""
    if expects not in ("done", "value"):
        raise ValueError(f"an action expects 'done' or 'value', not {expects!r}")
    row = OperatorActionRecord(
        run_id=run_id,
        step=step[:80],
        kind=kind[:40],
        text_vi=text_vi,
        text_en=text_en,
        params=dict(params or {}),
        expects=expects,
        unit=unit[:20],
        quantity=quantity[:40],
        status=ActionStatus.PENDING,
        requested_at=datetime.now(UTC),
        deadline=deadline,
        note="",
    )
    s.add(row)
    s.flush()
    return row


def get_action(s: Session, action_id: int, *, lock: bool = False) -> OperatorActionRecord:
    """One action by id; :class:`NotFoundError` naming the command that lists them."""
    row = s.get(OperatorActionRecord, action_id, with_for_update=lock or None)
    if row is None:
        raise NotFoundError(f"no operator action {action_id}: `caltrace runs actions` lists the pending ones")
    return row


def action_json(row: OperatorActionRecord) -> dict[str, Any]:
    """One action, JSON-ready (times as aware UTC datetimes)."""
    return {
        "action_id": row.id,
        "run_id": row.run_id,
        "step": row.step,
        "kind": row.kind,
        "text_vi": row.text_vi,
        "text_en": row.text_en,
        "params": dict(row.params or {}),
        "expects": row.expects,
        "unit": row.unit,
        "quantity": row.quantity,
        "status": row.status.value,
        "requested_at": row.requested_at,
        "deadline": row.deadline,
        "answered_at": row.answered_at,
        "answer": row.answer,
        "value": row.answer_value,
        "answered_by": row.answered_by,
        "note": row.note,
    }


def pending_actions(s: Session, run_id: str | None = None) -> list[dict[str, Any]]:
    """Pending actions, oldest first (of ``run_id``, or of every run)."""
    query = select(OperatorActionRecord).where(OperatorActionRecord.status == ActionStatus.PENDING)
    if run_id is not None:
        query = query.where(OperatorActionRecord.run_id == run_id)
    return [action_json(r) for r in s.scalars(query.order_by(OperatorActionRecord.id))]


def run_actions(s: Session, run_id: str) -> list[dict[str, Any]]:
    """Every action of ``run_id`` (pending, answered or closed), oldest first: the run's operator record."""
    query = select(OperatorActionRecord).where(OperatorActionRecord.run_id == run_id)
    return [action_json(r) for r in s.scalars(query.order_by(OperatorActionRecord.id))]


def _who(row: OperatorActionRecord) -> str:
    if row.status is ActionStatus.ANSWERED:
        what = f"'{row.answer_value}'" if row.answer == "value" else row.answer
        at = f"{row.answered_at:%Y-%m-%d %H:%M:%S} UTC" if row.answered_at else "earlier"
        return f"was already answered ({what}) by {row.answered_by} at {at}; the first answer counts"
    return f"is no longer pending ({row.status.value}{': ' + row.note if row.note else ''})"


def answer_action(
    s: Session, action_id: int, *, answer: str, by: str, value: str | None = None, note: str = ""
) -> OperatorActionRecord:
    """Answer a pending action as ``by``: ``done``, ``value`` (with ``value``, the typed text) or ``stop``.

    Refused (:class:`NotPermittedError`, saying why) when the action was answered or closed already (the first
    answer wins), when its run is no longer running (nobody waits for the answer), or when the answer does not
    fit what the action expects.
    """
    if answer not in ANSWERS:
        raise ValueError(f"an answer is one of {', '.join(ANSWERS)}, not {answer!r}")
    row = get_action(s, action_id, lock=True)
    if row.status is not ActionStatus.PENDING:
        raise NotPermittedError(f"operator action {action_id} {_who(row)}")
    run = s.get(Run, row.run_id, with_for_update=True)
    if run is None or run.state is not RunState.RUNNING:
        state = run.state.value if run is not None else "gone"
        raise NotPermittedError(
            f"operator action {action_id} belongs to run {row.run_id}, which is {state} and waits for no answer; "
            f"a resume asks again (caltrace calibrate --resume {row.run_id})"
        )
    if answer == "value":
        if row.expects != "value":
            raise NotPermittedError(f"operator action {action_id} expects no value: answer it done (or --stop)")
        if value is None or not value.strip():
            raise NotPermittedError(f"operator action {action_id}: give the value read, e.g. --value '21.4 °C'")
    elif answer == "done" and row.expects == "value":
        what = row.quantity or "a value"
        unit = f" in {row.unit}" if row.unit else ""
        raise NotPermittedError(f"operator action {action_id} expects {what}{unit}: answer with --value (or --stop)")
    row.status = ActionStatus.ANSWERED
    row.answer = answer
    row.answer_value = value.strip() if answer == "value" and value is not None else None
    row.answered_by = by[:120]
    row.answered_at = datetime.now(UTC)
    row.note = note
    return row


def close_action(s: Session, action_id: int, status: ActionStatus, note: str) -> OperatorActionRecord:
    """Close a still pending action without an answer (timed out, cancelled, withdrawn); an action answered
    meanwhile is returned as it is (the answer stands)."""
    if status in (ActionStatus.PENDING, ActionStatus.ANSWERED):
        raise ValueError(f"close an action as timed out, cancelled, withdrawn or superseded, not {status.value}")
    row = get_action(s, action_id, lock=True)
    if row.status is ActionStatus.PENDING:
        row.status = status
        row.note = note
        row.answered_at = datetime.now(UTC)
    return row


def close_pending(s: Session, run_id: str, status: ActionStatus, note: str) -> int:
    """Close every pending action of ``run_id`` (see :func:`close_action`); returns how many."""
    rows = s.scalars(
        select(OperatorActionRecord)
        .where(OperatorActionRecord.run_id == run_id, OperatorActionRecord.status == ActionStatus.PENDING)
        .with_for_update()
    ).all()
    now = datetime.now(UTC)
    for row in rows:
        row.status = status
        row.note = note
        row.answered_at = now
    return len(rows)


def request_cancel(s: Session, run_id: str, *, by: str, abort: bool = False, reason: str = "") -> CancelRequest:
    """Ask the process executing ``run_id`` to stop it (safe path, then paused, or aborted with ``abort``).

    Refused unless the run is running: a created or paused run executes nowhere (abort it with
    ``caltrace runs abort``).
    """
    run = s.get(Run, run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r} in the registry: `caltrace runs list` shows the runs")
    if run.state is not RunState.RUNNING:
        raise NotPermittedError(
            f"run {run_id} is {run.state.value}, not running: there is nothing to cancel"
            + ("; `caltrace runs abort` abandons it" if run.state in (RunState.CREATED, RunState.PAUSED) else "")
        )
    row = CancelRequest(
        run_id=run_id,
        requested_at=datetime.now(UTC),
        requested_by=by[:120],
        abort=abort,
        reason=reason,
        outcome="",
    )
    s.add(row)
    s.flush()
    return row


def open_cancel(s: Session, run_id: str) -> CancelRequest | None:
    """The oldest cancel request of ``run_id`` not yet acted on, if any."""
    return s.scalars(
        select(CancelRequest)
        .where(CancelRequest.run_id == run_id, CancelRequest.handled_at.is_(None))
        .order_by(CancelRequest.id)
        .limit(1)
    ).first()


def handle_cancels(s: Session, run_id: str, outcome: str) -> int:
    """Mark every open cancel request of ``run_id`` handled with ``outcome`` (``paused``, ``aborted``,
    ``superseded``); returns how many."""
    rows = s.scalars(
        select(CancelRequest).where(CancelRequest.run_id == run_id, CancelRequest.handled_at.is_(None))
    ).all()
    now = datetime.now(UTC)
    for row in rows:
        row.handled_at = now
        row.outcome = outcome[:20]
    return len(rows)
