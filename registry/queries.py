"""The questions the provincial plans ask of the registry, as plain functions over a session.

Calendar days and years are the lab's (``tz``, default Asia/Ho_Chi_Minh): a run finished at 20:00 UTC on
31 December counts in the next year in Viet Nam. Each function returns small frozen dataclasses, ready for a table,
CSV or JSON.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.errors import NotFoundError
from registry.models import (
    Certificate,
    CertificateStatus,
    CmcEntry,
    Conformity,
    Customer,
    Laboratory,
    MeasuringInstrument,
    MetrologyField,
    PrepackageLot,
    Procedure,
    ReferenceStandard,
    Run,
    RunStandard,
    RunState,
    Staff,
    StandardCertificate,
)
from registry.units import convert
from registry.vocabulary import name_key

LAB_TZ = "Asia/Ho_Chi_Minh"
PASSING = {Conformity.PASS, Conformity.CONDITIONAL_PASS}
FAILING = {Conformity.FAIL, Conformity.CONDITIONAL_FAIL}
FINISHED = (RunState.COMPLETED, RunState.REVIEWED)


def day_bounds(start: date, end: date, tz: str = LAB_TZ) -> tuple[datetime, datetime]:
    """UTC instants of the lab's midnight starting ``start`` and the midnight ending ``end`` (inclusive days)."""
    zone = ZoneInfo(tz)
    return (
        datetime.combine(start, time(), zone),
        datetime.combine(end + timedelta(days=1), time(), zone),
    )


#: the largest record id (the registry's integer keys are 32-bit on PostgreSQL)
MAX_ID = 2_147_483_647


def as_id(key: str) -> int | None:
    """``key`` as a record id when it is one (digits, 1..:data:`MAX_ID`), else None: a long number (a serial, a tax
    code) is looked up as text, never sent to the database as an integer it cannot hold."""
    key = key.strip()
    if key.isdigit() and len(key) <= 10 and 0 < int(key) <= MAX_ID:
        return int(key)
    return None


def find_customer(session: Session, key: str) -> Customer:
    """The customer with this id, tax code or name (case- and space-insensitive)."""
    key = key.strip()
    if key.isdigit() and len(key) < 10:
        found = session.get(Customer, int(key))
        if found:
            return found
    by_tax = session.scalars(select(Customer).where(Customer.tax_code == key)).first()
    if by_tax:
        return by_tax
    wanted = name_key(key)
    matches = [c for c in session.scalars(select(Customer)) if name_key(c.name) == wanted]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise NotFoundError(f"{len(matches)} customers are named {key!r}: give the tax code instead")
    raise NotFoundError(f"no customer with id, tax code or name {key!r}")


def find_standard(session: Session, key: str) -> ReferenceStandard:
    """The reference standard with this code (e.g. ``W-E2-200g``) or id."""
    found = session.scalars(select(ReferenceStandard).where(ReferenceStandard.code == key.strip())).first()
    record_id = as_id(key)
    if found is None and record_id is not None:
        found = session.get(ReferenceStandard, record_id)
    if found is None:
        raise NotFoundError(f"no reference standard with code {key!r}")
    return found


def find_staff(session: Session, username: str) -> Staff | None:
    """The member of staff with this username, or None."""
    return session.scalars(select(Staff).where(Staff.username == username)).first()


def standard_with_certificate(session: Session, number: str, issuer: str) -> str | None:
    """The code of the reference standard whose history holds certificate ``number`` of ``issuer``, or None."""
    found = session.scalars(
        select(ReferenceStandard.code)
        .join(StandardCertificate, StandardCertificate.standard_id == ReferenceStandard.id)
        .where(StandardCertificate.number == number, StandardCertificate.issuer == issuer)
    ).first()
    return str(found) if found is not None else None


def laboratory(session: Session) -> Laboratory | None:
    """The laboratory this registry belongs to (the first recorded), or None before it is set up."""
    return session.scalars(select(Laboratory).order_by(Laboratory.id).limit(1)).first()


# --- the CMC table -----------------------------------------------------------------------------------------------

#: result units that are relative, as a fraction (a CMC stored relative is a fraction: 2e-6 for 2 ppm)
RELATIVE_UNITS: dict[str, float] = {"%": 1e-2, "‰": 1e-3, "ppm": 1e-6}


def cmc_span(line: CmcEntry, unit: str) -> tuple[float, float] | None:
    """The range of CMC ``line`` in ``unit`` (its ends converted by :func:`registry.units.convert`), or None when
    the line's range is in another dimension."""
    ends = [
        convert(Decimal(repr(v)), line.range_unit, unit, difference=False) for v in (line.range_min, line.range_max)
    ]
    if ends[0] is None or ends[1] is None:
        return None
    return float(ends[0]), float(ends[1])


def _slack(*values: float) -> float:
    """Tolerance for range ends written alike in other units (0.22 kg = 220 g)."""
    return 1e-9 * max(*(abs(v) for v in values), 1e-300)


def cmc_at(line: CmcEntry, point: float, point_unit: str, unit: str) -> float | None:
    """The CMC of ``line`` at the measuring ``point`` (in ``point_unit``) expressed in ``unit``, the unit of the
    result's U: an absolute CMC converted (as a difference); a relative CMC times ``|point|``; for a result in a
    relative unit (%, ‰, ppm), a relative CMC as it is and an absolute one divided by ``|point|``. None when the
    units cannot be compared (the line says nothing about this result)."""
    relative = RELATIVE_UNITS.get(unit)
    if line.cmc_relative:
        if relative is not None:
            return line.cmc / relative
        converted = convert(Decimal(repr(line.cmc * abs(point))), point_unit, unit, difference=True)
        return None if converted is None else float(converted)
    if relative is not None:
        at_point = convert(Decimal(repr(line.cmc)), line.cmc_unit, point_unit, difference=True)
        if at_point is None or point == 0:
            return None
        return float(at_point) / abs(point) / relative
    converted = convert(Decimal(repr(line.cmc)), line.cmc_unit, unit, difference=True)
    return None if converted is None else float(converted)


@dataclass(frozen=True)
class CmcMatch:
    """The CMC line that holds for a result, and its CMC at the result's point in the unit of the result's U."""

    line_id: int
    quantity: str
    instrument_kind: str
    range_text: str
    method_reference: str
    value: float
    unit: str


def cmc_lines(session: Session, field: MetrologyField) -> list[CmcEntry]:
    """The registered laboratory's CMC lines in force (not withdrawn) in ``field``."""
    lab = laboratory(session)
    if lab is None:
        return []
    return list(
        session.scalars(
            select(CmcEntry)
            .where(CmcEntry.laboratory_id == lab.id, CmcEntry.field == field, CmcEntry.active.is_(True))
            .order_by(CmcEntry.range_min, CmcEntry.id)
        )
    )


def find_cmc(
    session: Session,
    field: MetrologyField,
    point: float,
    point_unit: str,
    unit: str,
    *,
    instrument_kind: str = "",
    quantity: str = "",
) -> CmcMatch | None:
    """The CMC that holds for a result at ``point`` (``point_unit``) with U in ``unit``: among the laboratory's
    lines in force in ``field`` whose range holds the point, those naming ``instrument_kind`` (and then
    ``quantity``) when any does — the names are the lab's free text, compared case- and space-insensitively, so a
    line naming another kind or quantity is not excluded unless a line names this one — and of these the line
    with the **largest** CMC at the point (conservative: the certificate may not state less). None when no line
    holds the point or none can be expressed in ``unit``."""
    held = []
    for line in cmc_lines(session, field):
        span = cmc_span(line, point_unit)
        if span is not None and span[0] - _slack(*span) <= point <= span[1] + _slack(*span):
            held.append(line)
    for wanted, attribute in ((instrument_kind, "instrument_kind"), (quantity, "quantity")):
        if wanted:
            named = [line for line in held if name_key(getattr(line, attribute)) == name_key(wanted)]
            held = named or held
    best: CmcMatch | None = None
    for line in held:
        value = cmc_at(line, point, point_unit, unit)
        if value is not None and (best is None or value > best.value):
            best = CmcMatch(
                line.id,
                line.quantity,
                line.instrument_kind,
                f"{line.range_min:g} – {line.range_max:g} {line.range_unit}",
                line.method_reference,
                value,
                unit,
            )
    return best


# --- instruments due -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueInstrument:
    """A customer's instrument due (``days_left`` >= 0) or overdue (< 0) for calibration or verification."""

    instrument_id: int
    customer: str
    tax_code: str
    kind: str
    field: str
    manufacturer: str
    model: str
    serial_number: str
    location: str
    group2: bool
    last_calibrated: date | None
    next_due: date
    days_left: int


def instruments_due(
    session: Session,
    within_days: int,
    today: date,
    *,
    customer: str | None = None,
    field: MetrologyField | str | None = None,
    include_overdue: bool = True,
) -> list[DueInstrument]:
    """Instruments whose next due date falls within ``within_days`` of ``today`` (overdue ones too, by default)."""
    if within_days < 0:
        raise ValueError(f"within_days must be 0 or more, got {within_days}")
    query = (
        select(MeasuringInstrument, Customer)
        .join(Customer, MeasuringInstrument.owner_id == Customer.id)
        .where(MeasuringInstrument.next_due.is_not(None))
        .where(MeasuringInstrument.next_due <= today + timedelta(days=within_days))
        .order_by(MeasuringInstrument.next_due, Customer.name, MeasuringInstrument.serial_number)
    )
    if not include_overdue:
        query = query.where(MeasuringInstrument.next_due >= today)
    if customer is not None:
        query = query.where(Customer.id == find_customer(session, customer).id)
    if field is not None:
        query = query.where(MeasuringInstrument.field == MetrologyField(field))
    rows = []
    for instrument, owner in session.execute(query):
        assert instrument.next_due is not None
        rows.append(
            DueInstrument(
                instrument_id=instrument.id,
                customer=owner.name,
                tax_code=owner.tax_code or "",
                kind=instrument.kind,
                field=instrument.field.value,
                manufacturer=instrument.manufacturer,
                model=instrument.model,
                serial_number=instrument.serial_number,
                location=instrument.location,
                group2=instrument.group2,
                last_calibrated=instrument.last_calibrated,
                next_due=instrument.next_due,
                days_left=(instrument.next_due - today).days,
            )
        )
    return rows


# --- reference standards -------------------------------------------------------------------------------------------


def current_certificate(session: Session, standard_id: int, on: date) -> StandardCertificate | None:
    """The standard's certificate in force on ``on``: calibrated on or before it, newest first; None if none."""
    return session.scalars(
        select(StandardCertificate)
        .where(StandardCertificate.standard_id == standard_id, StandardCertificate.calibrated_on <= on)
        .order_by(StandardCertificate.calibrated_on.desc(), StandardCertificate.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class DueStandard:
    """A reference standard whose calibration is due soon, expired, or was never recorded."""

    code: str
    name: str
    serial_number: str
    certificate: str
    issuer: str
    due_on: date | None
    days_left: int | None
    status: str  # "due", "expired" or "no certificate"


def standards_due(session: Session, within_days: int, today: date) -> list[DueStandard]:
    """Active standards due within ``within_days`` of ``today``, expired, or without any certificate."""
    if within_days < 0:
        raise ValueError(f"within_days must be 0 or more, got {within_days}")
    rows = []
    for standard in session.scalars(select(ReferenceStandard).where(ReferenceStandard.active.is_(True))):
        cert = current_certificate(session, standard.id, today)
        if cert is None:
            rows.append(
                DueStandard(standard.code, standard.name, standard.serial_number, "", "", None, None, "no certificate")
            )
            continue
        days_left = (cert.due_on - today).days
        if days_left > within_days:
            continue
        status = "expired" if days_left < 0 else "due"
        rows.append(
            DueStandard(
                standard.code,
                standard.name,
                standard.serial_number,
                cert.number,
                cert.issuer,
                cert.due_on,
                days_left,
                status,
            )
        )
    rows.sort(key=lambda r: (r.due_on or date.min, r.code))
    return rows


# --- forward trace -------------------------------------------------------------------------------------------------


#: how a prepackage lot is named where an instrument's kind would be (forward trace)
LOT_KIND = "Lô hàng đóng gói sẵn"


@dataclass(frozen=True)
class TraceEntry:
    """A run that used the standard, with the customer, the instrument and the certificate issued (if any).

    For a run on a prepackage lot, ``customer`` is the packer, ``instrument`` is ``Lô hàng đóng gói sẵn: <product>``
    and ``serial_number`` the lot number.
    """

    run_id: str
    run_finished: datetime | None
    procedure: str
    customer: str
    tax_code: str
    instrument: str
    serial_number: str
    standard_certificate: str
    certificate: str
    certificate_status: str


def forward_trace(session: Session, standard: str, start: date, end: date, tz: str = LAB_TZ) -> list[TraceEntry]:
    """Every run that used ``standard`` (code or id) between ``start`` and ``end`` (lab days, inclusive).

    A run's date is when it finished (or, for a run not finished, when it was created). Runs that have no
    certificate yet are listed too, with an empty certificate number: a suspect standard affects them as well.
    """
    std = find_standard(session, standard)
    lo, hi = day_bounds(start, end, tz)
    when = func.coalesce(Run.finished_at, Run.created_at)
    query = (
        select(Run, RunStandard, Procedure, MeasuringInstrument, PrepackageLot, Customer)
        .join(RunStandard, RunStandard.run_id == Run.id)
        .join(Procedure, Procedure.id == Run.procedure_id)
        .outerjoin(MeasuringInstrument, MeasuringInstrument.id == Run.instrument_id)
        .outerjoin(PrepackageLot, PrepackageLot.id == Run.lot_id)
        .join(Customer, Customer.id == func.coalesce(MeasuringInstrument.owner_id, PrepackageLot.packer_id))
        .where(RunStandard.standard_id == std.id, when >= lo, when < hi)
        .order_by(when, Run.id)
    )
    entries = []
    for run, link, procedure, instrument, lot, owner in session.execute(query):
        if instrument is not None:
            what, serial = instrument.kind, instrument.serial_number
        else:
            what, serial = f"{LOT_KIND}: {lot.product}", lot.lot_number
        std_cert = session.get(StandardCertificate, link.certificate_id) if link.certificate_id else None
        certificates: list[Certificate | None] = list(
            session.scalars(select(Certificate).where(Certificate.run_id == run.id).order_by(Certificate.id))
        )
        for cert in certificates or [None]:
            entries.append(
                TraceEntry(
                    run_id=run.id,
                    run_finished=run.finished_at,
                    procedure=procedure.code,
                    customer=owner.name,
                    tax_code=owner.tax_code or "",
                    instrument=what,
                    serial_number=serial,
                    standard_certificate=std_cert.number if std_cert else "",
                    certificate=cert.number if cert else "",
                    certificate_status=cert.status.value if cert else "",
                )
            )
    return entries


# --- annual statistics ---------------------------------------------------------------------------------------------


@dataclass
class AnnualRow:
    """Counts for one field and kind of work in a year: finished runs, and how many passed / failed."""

    field: str
    kind: str
    runs: int = 0
    passed: int = 0
    failed: int = 0
    not_assessed: int = 0


@dataclass
class LotChecks:
    """Quantity checks of prepackage lots finished in a year: runs, distinct lots and packers, and the verdicts
    (a lot checked twice counts once in ``lots`` and twice in ``runs``)."""

    runs: int = 0
    lots: int = 0
    conforming: int = 0
    not_conforming: int = 0
    no_verdict: int = 0
    packers_served: int = 0


@dataclass
class AnnualStatistics:
    """The year's work on instruments per field and kind, plus customers served (owners of those instruments),
    Group-2 instruments and certificates issued; and, as their own category, prepackage lot checks (``lots``),
    whose packers are counted in ``lots.packers_served``, not among the customers served."""

    year: int
    rows: list[AnnualRow] = field(default_factory=list)
    customers_served: int = 0
    instruments_served: int = 0
    group2_instruments: int = 0
    certificates_issued: int = 0
    lots: LotChecks = field(default_factory=LotChecks)

    @property
    def total(self) -> AnnualRow:
        """The sum over all rows."""
        total = AnnualRow("all", "all")
        for row in self.rows:
            total.runs += row.runs
            total.passed += row.passed
            total.failed += row.failed
            total.not_assessed += row.not_assessed
        return total


def annual_statistics(session: Session, year: int, tz: str = LAB_TZ) -> AnnualStatistics:
    """Calibrations and verifications finished in ``year`` (lab time), with pass/fail by the runs' overall result;
    prepackage lot checks apart (:class:`LotChecks`), never counted as instruments."""
    lo, hi = day_bounds(date(year, 1, 1), date(year, 12, 31), tz)
    query = (
        select(Run.overall, Procedure.field, Procedure.kind, MeasuringInstrument.id, MeasuringInstrument.owner_id)
        .add_columns(MeasuringInstrument.group2)
        .join(Procedure, Procedure.id == Run.procedure_id)
        .join(MeasuringInstrument, MeasuringInstrument.id == Run.instrument_id)
        .where(Run.state.in_(FINISHED), Run.finished_at >= lo, Run.finished_at < hi)
    )
    rows: dict[tuple[str, str], AnnualRow] = {}
    customers: set[int] = set()
    instruments: set[int] = set()
    group2: set[int] = set()
    for overall, field_, kind, instrument_id, owner_id, is_group2 in session.execute(query):
        key = (field_.value, kind.value)
        row = rows.setdefault(key, AnnualRow(*key))
        row.runs += 1
        if overall in PASSING:
            row.passed += 1
        elif overall in FAILING:
            row.failed += 1
        else:
            row.not_assessed += 1
        customers.add(owner_id)
        instruments.add(instrument_id)
        if is_group2:
            group2.add(instrument_id)
    issued = session.scalar(
        select(func.count(Certificate.id)).where(
            Certificate.issued_at >= lo,
            Certificate.issued_at < hi,
            Certificate.status != CertificateStatus.DRAFT,
        )
    )
    by_field: dict[str, list[AnnualRow]] = defaultdict(list)
    for row in rows.values():
        by_field[row.field].append(row)
    ordered = [r for f in MetrologyField for r in sorted(by_field.get(f.value, []), key=lambda r: r.kind)]
    return AnnualStatistics(
        year=year,
        rows=ordered,
        customers_served=len(customers),
        instruments_served=len(instruments),
        group2_instruments=len(group2),
        certificates_issued=int(issued or 0),
        lots=_lot_checks(session, lo, hi),
    )


def _lot_checks(session: Session, lo: datetime, hi: datetime) -> LotChecks:
    """Prepackage lot checks finished in [lo, hi)."""
    query = (
        select(Run.overall, PrepackageLot.id, PrepackageLot.packer_id)
        .join(PrepackageLot, PrepackageLot.id == Run.lot_id)
        .where(Run.state.in_(FINISHED), Run.finished_at >= lo, Run.finished_at < hi)
    )
    checks = LotChecks()
    lots: set[int] = set()
    packers: set[int] = set()
    for overall, lot_id, packer_id in session.execute(query):
        checks.runs += 1
        if overall in PASSING:
            checks.conforming += 1
        elif overall in FAILING:
            checks.not_conforming += 1
        else:
            checks.no_verdict += 1
        lots.add(lot_id)
        packers.add(packer_id)
    checks.lots, checks.packers_served = len(lots), len(packers)
    return checks
