"""The registry's checks before and after a run: who may perform or review it, which standard may be used.

Each check raises :class:`NotPermittedError` (or :class:`NotFoundError`) with the reason a technician needs;
the run engine turns them into a refused run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from registry.errors import NotFoundError, NotPermittedError
from registry.models import (
    AuditEntry,
    Authorisation,
    MeasuringInstrument,
    PrepackageLot,
    Procedure,
    ProcedureKind,
    ReferenceStandard,
    Result,
    Run,
    RunStandard,
    RunState,
    Staff,
    StandardCertificate,
)
from registry.queries import CmcMatch, as_id, current_certificate, find_cmc, find_staff
from registry.vocabulary import identity_part


def find_instrument(s: Session, key: str) -> MeasuringInstrument:
    """The instrument with this registry id or serial number; the serial number as written, else ignoring case and
    spaces (``b912 345`` finds ``B912345``)."""
    found = s.get(MeasuringInstrument, record_id) if (record_id := as_id(key)) is not None else None
    if found is None:
        matches = s.scalars(select(MeasuringInstrument).where(MeasuringInstrument.serial_number == key)).all()
        if not matches:
            wanted = identity_part(key)
            matches = s.scalars(select(MeasuringInstrument).where(MeasuringInstrument.serial_key == wanted)).all()
        if len(matches) > 1:
            raise NotFoundError(f"{len(matches)} instruments have serial number {key!r}: give the registry id")
        found = matches[0] if matches else None
    if found is None:
        raise NotFoundError(f"no instrument with id or serial number {key!r} in the registry: import it first")
    return found


def find_lot(s: Session, key: str) -> PrepackageLot | None:
    """The prepackage lot with this registry id or lot number, or None when there is none.

    A lot number used by several packers is refused with the candidates (packer and id) listed.
    """
    found = s.get(PrepackageLot, record_id) if (record_id := as_id(key)) is not None else None
    if found is not None:
        return found
    matches = s.scalars(
        select(PrepackageLot).where(PrepackageLot.lot_number == key.strip()).order_by(PrepackageLot.id)
    ).all()
    if len(matches) > 1:
        candidates = "; ".join(f"id {lot.id}: {lot.packer.name}, {lot.product}" for lot in matches)
        raise NotFoundError(f"{len(matches)} lots have lot number {key!r} ({candidates}): give the registry id")
    return matches[0] if matches else None


def find_procedure(s: Session, code: str, version: str) -> Procedure | None:
    """The registered procedure ``code`` at ``version``, if any."""
    return s.scalars(select(Procedure).where(Procedure.code == code, Procedure.version == version)).first()


def _authorisation(s: Session, staff: Staff, code: str) -> Authorisation | None:
    return s.scalars(
        select(Authorisation).where(Authorisation.staff_id == staff.id, Authorisation.procedure_code == code)
    ).first()


def may_perform(s: Session, username: str, code: str, today: date, *, verification: bool) -> Staff:
    """The active member of staff ``username`` if authorised to perform ``code`` on ``today``.

    A verification also needs a verification officer card that has not expired.
    """
    staff = find_staff(s, username)
    if staff is None or not staff.active:
        raise NotPermittedError(f"no active member of staff {username!r}")
    auth = _authorisation(s, staff, code)
    if auth is None or not auth.can_perform:
        raise NotPermittedError(f"{staff.full_name} ({username}) is not authorised to perform {code}")
    if auth.valid_from > today or (auth.valid_until is not None and auth.valid_until < today):
        until = auth.valid_until.isoformat() if auth.valid_until else "open"
        raise NotPermittedError(
            f"{staff.full_name}'s authorisation for {code} is valid {auth.valid_from}..{until}, not on {today}"
        )
    if verification:
        if not staff.officer_card:
            raise NotPermittedError(f"{staff.full_name} has no verification officer card: a verification needs one")
        if staff.officer_card_expires is not None and staff.officer_card_expires < today:
            raise NotPermittedError(
                f"{staff.full_name}'s verification officer card {staff.officer_card} expired on "
                f"{staff.officer_card_expires}"
            )
    return staff


def may_review(s: Session, username: str, code: str, today: date, *, technician_id: int) -> Staff:
    """The active member of staff ``username`` if authorised to review ``code`` on ``today`` (the authorisation
    begun and not ended: dates inclusive, as for :func:`may_perform`) and not the run's technician."""
    staff = find_staff(s, username)
    if staff is None or not staff.active:
        raise NotPermittedError(f"no active member of staff {username!r}")
    if staff.id == technician_id:
        raise NotPermittedError("the technician who performed a run cannot review it")
    auth = _authorisation(s, staff, code)
    if auth is None or not auth.can_review:
        raise NotPermittedError(f"{staff.full_name} is not authorised to review {code}")
    if auth.valid_from > today or (auth.valid_until is not None and auth.valid_until < today):
        until = auth.valid_until.isoformat() if auth.valid_until else "open"
        raise NotPermittedError(
            f"{staff.full_name}'s authorisation to review {code} is valid {auth.valid_from}..{until}, not on {today}"
        )
    return staff


def usable_standard(
    s: Session, code: str, kinds: tuple[str, ...], role: str, today: date
) -> tuple[ReferenceStandard, StandardCertificate]:
    """The active standard ``code`` of one of ``kinds``, with its certificate in force and not expired on ``today``."""
    std = s.scalars(select(ReferenceStandard).where(ReferenceStandard.code == code)).first()
    if std is None:
        raise NotFoundError(f"no reference standard with code {code!r}")
    if not std.active:
        raise NotPermittedError(f"standard {code} is retired and may not be used")
    if kinds and std.kind not in kinds:
        raise NotPermittedError(f"standard {code} is a {std.kind}; the {role} must be one of: {', '.join(kinds)}")
    cert = current_certificate(s, std.id, today)
    if cert is None:
        raise NotPermittedError(f"standard {code} has no calibration certificate in force on {today}")
    if cert.due_on < today:
        raise NotPermittedError(
            f"standard {code}'s calibration expired on {cert.due_on} (certificate {cert.number}): "
            "recalibrate it or choose another standard"
        )
    return std, cert


def run_standards(s: Session, run_id: str) -> list[RunStandard]:
    """The standards a run uses, with the certificate recorded for each."""
    return list(s.scalars(select(RunStandard).where(RunStandard.run_id == run_id).order_by(RunStandard.id)))


#: the shortest run-id prefix accepted for a run (a UUID's first 4 hex digits: 65 536 values)
MIN_RUN_PREFIX = 4


def resolve_run_id(s: Session, text: str) -> str:
    """The full id of the run ``text`` names: its whole id, or a unique prefix of at least
    :data:`MIN_RUN_PREFIX` characters (as ``runs list`` shows the first 8). Raises NotFoundError when no run
    matches and NotPermittedError (bad usage) when the prefix is too short or matches several runs."""
    key = text.strip()
    if key and s.get(Run, key) is not None:
        return key
    if len(key) < MIN_RUN_PREFIX:
        raise NotFoundError(
            f"no run {key!r} in the registry (a shortened run id needs at least {MIN_RUN_PREFIX} characters): "
            "`caltrace runs list` shows the runs"
        )
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found = list(s.scalars(select(Run.id).where(Run.id.like(f"{escaped}%", escape="\\")).order_by(Run.id).limit(6)))
    if not found:
        raise NotFoundError(f"no run {key!r} in the registry: `caltrace runs list` shows the runs")
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise NotPermittedError(f"run id {key!r} is the start of several runs ({shown}): give more of the id")
    return found[0]


def run_connections(s: Session, run_id: str) -> dict[str, tuple[str, str]]:
    """role -> (URL, driver model) given when the run was created (remembered so that a resume needs none)."""
    run = s.get(Run, run_id)
    stored = (run.checkpoint or {}).get("connections") if run is not None else None
    if not isinstance(stored, dict):
        return {}
    return {
        str(role): (str(pair[0]), str(pair[1]))
        for role, pair in stored.items()
        if isinstance(pair, (list, tuple)) and len(pair) == 2
    }


def describe_run(s: Session, run_id: str) -> dict[str, Any]:
    """What a person needs to know about a run to resume or review it (JSON-ready)."""
    run = s.get(Run, run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r} in the registry: `caltrace runs list` shows the runs")
    return _summary(s, run)


def list_runs(s: Session, state: RunState | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest ``limit`` runs (newest first), optionally only those in ``state``."""
    query = select(Run).order_by(Run.created_at.desc(), Run.id).limit(limit)
    if state is not None:
        query = query.where(Run.state == state)
    return [_summary(s, run) for run in s.scalars(query)]


def _summary(s: Session, run: Run) -> dict[str, Any]:
    standards = {}
    for link in run_standards(s, run.id):
        std = s.get(ReferenceStandard, link.standard_id)
        standards[link.role] = std.code if std is not None else str(link.standard_id)
    return {
        "run_id": run.id,
        "procedure": run.procedure.code,
        "version": run.procedure.version,
        "definition_sha256": run.procedure.definition_sha256 or "",
        "instrument": run.instrument.serial_number if run.instrument is not None else "",
        "instrument_id": run.instrument_id,
        "lot": run.lot.lot_number if run.lot is not None else "",
        "lot_id": run.lot_id,
        "technician": run.technician.username,
        "standards": standards,
        "state": run.state.value,
        "current_step": run.current_step,
        "message": run.message,
        "overall": run.overall.value,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "steps_completed": len(run.checkpoint.get("completed", {})),
    }


def run_results(s: Session, run_id: str) -> list[Result]:
    """A run's result rows in order."""
    return list(s.scalars(select(Result).where(Result.run_id == run_id).order_by(Result.seq)))


def result_json(r: Result) -> dict[str, Any]:
    """One stored result, JSON-ready, in the shape of ``calibrate --json`` (``PointResult.as_dict``) plus ``seq``.

    ``budget`` is the uncertainty budget in the one declared shape (``acquisition.methods.base.Budget.as_json``:
    model, unit, rows, u, dof, k, coverage_probability, U; None when the result states no uncertainty),
    ``evidence`` the raw data behind the result; the decision rule, method reference and note are their own
    columns and fields (decision 0330).
    """
    return {
        "seq": r.seq,
        "quantity": r.quantity,
        "point": r.point,
        "point_unit": r.point_unit,
        "value": r.value,
        "unit": r.unit,
        "U": r.expanded_uncertainty,
        "k": r.coverage_factor,
        "mpe": r.mpe,
        "conformity": r.conformity.value,
        "rule": r.decision_rule,
        "reference": r.method_reference,
        "budget": r.budget,
        "evidence": dict(r.evidence or {}),
        "note": r.note,
    }


def run_cmc(s: Session, run_id: str, results: Sequence[Mapping[str, Any]]) -> list[CmcMatch | None]:
    """Per result of run ``run_id`` (the :func:`result_json` shape), the laboratory's CMC at its point
    (:func:`registry.queries.find_cmc`: the procedure's field, the instrument's kind, the result's quantity, point
    and unit), or None: for a run that is not a calibration (the CMC table is a calibration laboratory's scope),
    and for a result without a point or without U > 0. A certificate may not state a U below the CMC (ILAC
    P14:09/2020; clause not checked against the edition's text: unverified)."""
    run = s.get(Run, run_id)
    if run is None or run.procedure.kind is not ProcedureKind.CALIBRATION:
        return [None] * len(results)
    kind = run.instrument.kind if run.instrument is not None else ""
    out: list[CmcMatch | None] = []
    for r in results:
        U, point = r.get("U"), r.get("point")
        if not isinstance(U, int | float) or U <= 0 or not isinstance(point, int | float):
            out.append(None)
            continue
        out.append(
            find_cmc(
                s,
                run.procedure.field,
                float(point),
                str(r.get("point_unit") or ""),
                str(r.get("unit") or ""),
                instrument_kind=kind,
                quantity=str(r.get("quantity") or ""),
            )
        )
    return out


def review_of(s: Session, run_id: str) -> dict[str, Any]:
    """Who reviewed run ``run_id`` and when: ``{"reviewer": username or None, "reviewed_at": UTC datetime or
    None}``.

    The run row keeps the reviewer; the time is that of the audit-log entry that set it (the update of the run
    whose payload changes ``reviewer_id``), so it cannot be edited afterwards. NotFoundError for an unknown run.
    """
    run = s.get(Run, run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r} in the registry: `caltrace runs list` shows the runs")
    if run.reviewer_id is None:
        return {"reviewer": None, "reviewed_at": None}
    entries = s.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "run", AuditEntry.entity_id == run_id, AuditEntry.action == "update")
        .order_by(AuditEntry.seq.desc())
    )
    at = None
    for entry in entries:
        change = json.loads(entry.payload).get("reviewer_id")
        if isinstance(change, list) and len(change) == 2 and change[1] == run.reviewer_id:
            at = entry.at
            break
    reviewer = run.reviewer.username if run.reviewer is not None else str(run.reviewer_id)
    return {"reviewer": reviewer, "reviewed_at": at}


def signing_procedures(session: Session, username: str, today: date) -> list[str]:
    """The procedures the active member of staff ``username`` may sign on ``today`` (authorisation dates
    inclusive); NotPermittedError when there is no such active member or none."""
    staff = find_staff(session, username)
    if staff is None or not staff.active:
        raise NotPermittedError(f"no active member of staff {username!r}")
    codes = session.scalars(
        select(Authorisation.procedure_code)
        .where(
            Authorisation.staff_id == staff.id,
            Authorisation.can_sign.is_(True),
            Authorisation.valid_from <= today,
            or_(Authorisation.valid_until.is_(None), Authorisation.valid_until >= today),
        )
        .order_by(Authorisation.procedure_code)
    ).all()
    if not codes:
        raise NotPermittedError(
            f"{staff.full_name} ({username}) is not authorised to sign any procedure on {today}: "
            "record a signing authorisation first"
        )
    return list(codes)
