"""The register of issued certificates: numbering per series and year, and the queries of the workflow.

Numbering (decision 0450): three series, each with its own pattern on the laboratory row and its own running
number per calendar year in the lab's time zone (``certificate_sequence``):

- ``calibration`` (giấy chứng nhận hiệu chuẩn): ``laboratory.certificate_numbering``, e.g. ``HC-{year}-{seq:06d}``;
- ``verification`` (giấy chứng nhận kiểm định): ``laboratory.verification_numbering``, e.g. ``KĐ-{year}-{seq:06d}``;
- ``notice`` (thông báo không đạt, a failed verification): ``laboratory.notice_numbering``; empty, a notice takes
  the verification pattern *and* its running numbers (one register of verification outcomes);
- ``lot`` (kết quả kiểm tra lượng hàng đóng gói sẵn, an OIML R87 lot check): ``laboratory.lot_numbering``; empty, it
  takes the verification pattern and its running numbers too (migration 0012).

:func:`allocate_number` advances the series' row inside the caller's transaction (SQLite: the transaction already
holds the write lock, ``BEGIN IMMEDIATE``; PostgreSQL: ``SELECT ... FOR UPDATE`` on the row), so two issuers never
get the same number, and a transaction that rolls back gives its number back.
"""

from __future__ import annotations

import string
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.errors import NotFoundError, NotPermittedError
from registry.models import (
    Certificate,
    CertificateSequence,
    CertificateStatus,
    Conformity,
    ProcedureKind,
    Run,
    Staff,
)
from registry.queries import laboratory

Series = Literal["calibration", "verification", "notice", "lot"]
SERIES: tuple[Series, ...] = ("calibration", "verification", "notice", "lot")
#: the laboratory column holding each series' pattern, and the `registry lab set` option that sets it
PATTERN_COLUMN: dict[Series, tuple[str, str]] = {
    "calibration": ("certificate_numbering", "--numbering"),
    "verification": ("verification_numbering", "--verification-numbering"),
    "notice": ("notice_numbering", "--notice-numbering"),
    "lot": ("lot_numbering", "--lot-numbering"),
}
#: the placeholders a numbering pattern may use
PLACEHOLDERS = ("year", "yy", "month", "seq")


def series_of(run: Run) -> Series:
    """The numbering series of the certificate a run gives: a calibration run -> ``calibration``; a verification
    that failed (overall ``fail``) -> ``notice``; any other verification -> ``verification``. NotPermittedError for
    a run of another kind (a prepackage lot test has no series yet: decision 0450)."""
    kind = run.procedure.kind
    if kind is ProcedureKind.CALIBRATION:
        return "calibration"
    if kind is ProcedureKind.VERIFICATION:
        return "notice" if run.overall is Conformity.FAIL else "verification"
    if run.lot_id is not None:  # a test of a prepackage lot (OIML R87), accepted or rejected
        return "lot"
    raise NotPermittedError(
        f"run {run.id} is a {kind.value} ({run.procedure.code}): caltrace numbers calibration and verification "
        "certificates only so far"
    )


def pattern_for(session: Session, series: Series) -> tuple[Series, str]:
    """(the series whose running numbers are used, its pattern). A notice without its own pattern uses the
    verification series. NotPermittedError, naming the option to set, when no pattern is configured."""
    lab = laboratory(session)
    if lab is None:
        raise NotPermittedError("no laboratory is registered: caltrace registry lab set --name ... --address ...")
    if series == "notice" and not lab.notice_numbering.strip():
        series = "verification"
    if series == "lot" and not lab.lot_numbering.strip():
        series = "verification"
    column, option = PATTERN_COLUMN[series]
    pattern = str(getattr(lab, column) or "").strip()
    if not pattern:
        raise NotPermittedError(
            f"the laboratory has no numbering pattern for {series} certificates: set one with "
            f"`caltrace registry lab set {option} '<pattern with {{seq}}>'` (e.g. 'HC-{{year}}-{{seq:06d}}')"
        )
    return series, pattern


def format_number(pattern: str, *, seq: int, at: datetime) -> str:
    """``pattern`` filled in for running number ``seq`` at ``at`` (a local datetime of the lab: year and month);
    ValueError for a pattern that does not format (check it with the importer's ``check_numbering``)."""
    names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    if "seq" not in names or names - set(PLACEHOLDERS):
        raise ValueError(f"numbering pattern {pattern!r}: use {{seq}} and only {', '.join(PLACEHOLDERS)}")
    return pattern.format(year=at.year, yy=at.year % 100, month=at.month, seq=seq)


def allocate_number(session: Session, series: Series, local_now: datetime) -> tuple[str, int]:
    """The next certificate number of ``series`` at ``local_now`` (the lab's local time: its year picks the
    running sequence) and its running number, advanced in the caller's transaction (it is given back if that
    transaction rolls back). A number already taken by a registered certificate (entered by hand, or a pattern
    changed to one that repeats) is skipped, never reused."""
    used, pattern = pattern_for(session, series)
    year = local_now.year
    row = session.execute(
        select(CertificateSequence)
        .where(CertificateSequence.series == used, CertificateSequence.year == year)
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        try:
            with session.begin_nested():  # a concurrent first issuer of the year may insert it first
                row = CertificateSequence(series=used, year=year, last=0)
                session.add(row)
        except IntegrityError:
            row = session.execute(
                select(CertificateSequence)
                .where(CertificateSequence.series == used, CertificateSequence.year == year)
                .with_for_update()
            ).scalar_one()
    while True:
        row.last += 1
        number = format_number(pattern, seq=row.last, at=local_now)
        if session.scalar(select(Certificate.id).where(Certificate.number == number)) is None:
            session.flush()
            return number, row.last


def find_certificate(session: Session, number: str) -> Certificate:
    """The registered certificate ``number`` (as written, surrounding spaces ignored); NotFoundError otherwise."""
    found = session.scalars(select(Certificate).where(Certificate.number == number.strip())).first()
    if found is None:
        raise NotFoundError(f"no certificate {number!r} in the registry: `caltrace certificate list` shows them")
    return found


def list_certificates(session: Session, status: CertificateStatus | None = None, limit: int = 200) -> list[Certificate]:
    """Registered certificates, newest first (at most ``limit``), optionally of one ``status``."""
    query = select(Certificate).order_by(Certificate.issued_at.desc(), Certificate.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Certificate.status == status)
    return list(session.scalars(query))


def issued_for_run(session: Session, run_id: str) -> list[Certificate]:
    """The certificates of run ``run_id`` still in force (status issued)."""
    return list(
        session.scalars(
            select(Certificate).where(Certificate.run_id == run_id, Certificate.status == CertificateStatus.ISSUED)
        )
    )


def signing_authorisation(staff: Staff, code: str, on: date) -> str | None:
    """None when ``staff`` held an authorisation to sign ``code`` on ``on`` (dates inclusive); else why not, in
    English. Whether they are active *now* is not asked: a verifier judges the day of signing."""
    for a in staff.authorisations:
        if a.procedure_code != code or not a.can_sign:
            continue
        if a.valid_from <= on and (a.valid_until is None or on <= a.valid_until):
            return None
        until = a.valid_until.isoformat() if a.valid_until else "open"
        return f"{staff.username}'s authorisation to sign {code} is valid {a.valid_from}..{until}, not on {on}"
    return f"{staff.username} holds no authorisation to sign {code}"


def staff_by_id(session: Session, staff_id: int | None) -> Staff | None:
    """The member of staff with registry id ``staff_id``, or None."""
    return session.get(Staff, staff_id) if staff_id is not None else None
