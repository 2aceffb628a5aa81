"""What a centre still lacks before it can run each procedure (``caltrace registry check``), in plain words.

For each procedure, on ``today`` (the lab's calendar day), the registry must hold:

- the laboratory;
- an active member of staff authorised to perform it (for a verification, with a verification officer card in
  force: ``registry.runs.may_perform``);
- an active reviewer authorised for it who is not the only technician (a technician may not review their own run,
  ``registry.runs.may_review``), and an active signatory;
- for each role the procedure fills with a reference standard (``RoleSpec.standard_kinds``), an active standard of
  an accepted kind whose certificate is in force and not expired (``registry.runs.usable_standard``);
- for a calibration, a line of the CMC table in the procedure's metrology field (ILAC P14:09/2020 does not let a
  certificate state an uncertainty smaller than the CMC, so a calibration outside the CMC table cannot be reported;
  clause number not checked against the edition's text: unverified); for a given
  instrument, lines whose ranges together hold the instrument's whole range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from acquisition.procedures import get_procedure, procedure_ids
from acquisition.procedures.base import ProcedureDefinition
from registry.models import Authorisation, CmcEntry, MeasuringInstrument, MetrologyField, ReferenceStandard, Staff
from registry.queries import cmc_lines, cmc_span, current_certificate, laboratory


@dataclass(frozen=True)
class Readiness:
    """One procedure's gaps (empty: the centre can run it)."""

    procedure: str
    title: str
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing


def _valid(auth: Authorisation, today: date) -> bool:
    return auth.valid_from <= today and (auth.valid_until is None or auth.valid_until >= today)


def _people(s: Session, code: str, today: date) -> list[tuple[Staff, Authorisation]]:
    query = (
        select(Staff, Authorisation)
        .join(Authorisation, Authorisation.staff_id == Staff.id)
        .where(Authorisation.procedure_code == code, Staff.active.is_(True))
        .order_by(Staff.username)
    )
    return [(staff, auth) for staff, auth in s.execute(query) if _valid(auth, today)]


def _staff_gaps(s: Session, definition: ProcedureDefinition, today: date) -> list[str]:
    code = definition.code
    people = _people(s, code, today)
    performers = [st for st, a in people if a.can_perform]
    if definition.kind == "verification":
        performers = [
            st
            for st in performers
            if st.officer_card and (st.officer_card_expires is None or st.officer_card_expires >= today)
        ]
    gaps = []
    if not performers:
        card = " with a verification officer card in force" if definition.kind == "verification" else ""
        gaps.append(f"no technician authorised to perform it{card} today")
    reviewers = [st for st, a in people if a.can_review]
    if not reviewers:
        gaps.append("no reviewer authorised for it")
    elif (
        performers
        and {r.id for r in reviewers} <= {p.id for p in performers}
        and len(reviewers) == 1 == len(performers)
    ):
        gaps.append(
            f"the only reviewer ({reviewers[0].username}) is also the only technician: a run cannot be reviewed by "
            "the person who performed it"
        )
    if not any(a.can_sign for _, a in people):
        gaps.append("no signatory authorised to sign its certificates")
    return gaps


def _standard_gaps(s: Session, definition: ProcedureDefinition, today: date) -> list[str]:
    gaps = []
    for role in definition.roles:
        if not role.standard_kinds:
            continue
        kinds = " or ".join(repr(k) for k in role.standard_kinds)
        found = list(
            s.scalars(
                select(ReferenceStandard)
                .where(ReferenceStandard.kind.in_(role.standard_kinds), ReferenceStandard.active.is_(True))
                .order_by(ReferenceStandard.code)
            )
        )
        if not found:
            gaps.append(f"no reference standard of kind {kinds} for the role {role.role} ({role.description})")
            continue
        problems = []
        for std in found:
            cert = current_certificate(s, std.id, today)
            if cert is None:
                problems.append(f"{std.code} has no calibration certificate")
            elif cert.due_on < today:
                problems.append(f"{std.code}'s certificate {cert.number} expired on {cert.due_on:%d/%m/%Y}")
            else:
                break
        else:
            gaps.append(f"no usable standard for the role {role.role}: " + "; ".join(problems))
    return gaps


def _covered(lines: list[CmcEntry], instrument: MeasuringInstrument) -> bool:
    """True when the CMC lines' ranges together hold the instrument's whole range (each line converted to the
    instrument's unit, :func:`registry.queries.cmc_span`; lines in another dimension are skipped): the calibration
    points may fall anywhere in it."""
    low = instrument.range_min if instrument.range_min is not None else 0.0
    high = instrument.range_max
    assert high is not None
    spans = [span for line in lines if (span := cmc_span(line, instrument.range_unit)) is not None]
    slack = 1e-9 * max(abs(high), abs(low), 1e-300)  # ends written alike in other units (0.22 kg = 220 g)
    reached = low
    for start, stop in sorted(spans):
        if start - slack > reached:
            break
        reached = max(reached, stop)
    return reached + slack >= high and any(start - slack <= low for start, _ in spans)


def _cmc_gaps(
    s: Session, definition: ProcedureDefinition, lab_id: int | None, instrument: MeasuringInstrument | None
) -> list[str]:
    if definition.kind != "calibration" or lab_id is None:
        return []
    lines = cmc_lines(s, MetrologyField(definition.field))  # the lines in force (a withdrawn one does not count)
    if not lines:
        return [f"no CMC line for the field {definition.field}: the calibration's uncertainty cannot be checked"]
    if instrument is None:
        return []
    if instrument.range_max is None or not instrument.range_unit:
        return [f"instrument {instrument.serial_number} has no range registered: no CMC line can be matched to it"]
    if not _covered(lines, instrument):
        low = instrument.range_min if instrument.range_min is not None else 0.0
        held = "; ".join(f"{x.range_min:g} – {x.range_max:g} {x.range_unit}" for x in lines)
        return [
            f"the CMC table does not cover the range {low:g} – {instrument.range_max:g} {instrument.range_unit} "
            f"of instrument {instrument.serial_number} (its lines in the field: {held})"
        ]
    return []


def readiness(
    s: Session, today: date, codes: list[str] | None = None, instrument: MeasuringInstrument | None = None
) -> list[Readiness]:
    """Per procedure (``codes``, default all), what the registry lacks on ``today`` before it can be run; with
    ``instrument``, also whether the CMC lines of a calibration cover that instrument's range."""
    lab = laboratory(s)
    out = []
    for code in codes or procedure_ids():
        definition = get_procedure(code).definition
        missing = [] if lab is not None else ["no laboratory registered (caltrace registry import laboratory FILE)"]
        missing += _staff_gaps(s, definition, today)
        missing += _standard_gaps(s, definition, today)
        missing += _cmc_gaps(s, definition, lab.id if lab is not None else None, instrument)
        out.append(Readiness(code, definition.title, tuple(missing)))
    return out
