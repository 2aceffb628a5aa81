"""``/api/v1/instruments``: customers' measuring instruments; register one (checked as a spreadsheet row) or import
a spreadsheet (row-by-row report). Writes need the technician or admin role."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import select

from api.web.deps import MAX_ID, Intake, Limit, Offset, Reader, RecordId, ServiceDep
from api.web.errors import problem_responses
from api.web.records import cell, import_file, language, write_rows
from api.web.schemas.common import ImportReportPublic
from api.web.schemas.registry import InstrumentCreate, InstrumentPublic, InstrumentUpdate
from api.web.uploads import Upload, upload_dependency
from registry.errors import NotFoundError
from registry.models import MeasuringInstrument, instrument_identity

router = APIRouter(prefix="/instruments", tags=["instruments"])

SPREADSHEET = upload_dependency((".csv", ".xlsx"))


@router.get(
    "", response_model=list[InstrumentPublic], operation_id="instruments_list", responses=problem_responses(401)
)
def list_instruments(
    _: Reader,
    service: ServiceDep,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this customer's instruments.")] = None,
    serial_number: Annotated[str | None, Query(max_length=80, description="Only this serial number.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[InstrumentPublic]:
    """Instruments by id; filtered by customer or serial number."""
    query = select(MeasuringInstrument).order_by(MeasuringInstrument.id).limit(limit).offset(offset)
    if customer_id is not None:
        query = query.where(MeasuringInstrument.owner_id == customer_id)
    if serial_number:
        query = query.where(MeasuringInstrument.serial_number == serial_number)
    with service.read() as s:
        return [InstrumentPublic.model_validate(i) for i in s.scalars(query)]


@router.get(
    "/{instrument_id}",
    response_model=InstrumentPublic,
    operation_id="instruments_get",
    responses=problem_responses(401, 404),
)
def get_instrument(instrument_id: RecordId, _: Reader, service: ServiceDep) -> InstrumentPublic:
    """One instrument."""
    with service.read() as s:
        found = s.get(MeasuringInstrument, instrument_id)
        if found is None:
            raise NotFoundError(f"no instrument #{instrument_id}: GET /api/v1/instruments lists them")
        return InstrumentPublic.model_validate(found)


@router.post(
    "",
    response_model=InstrumentPublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="instruments_create",
    responses=problem_responses(401, 403, 409, 422),
)
def create_instrument(
    body: InstrumentCreate, account: Intake, service: ServiceDep, request: Request
) -> InstrumentPublic:
    """Register an instrument, checked as a row of the instruments spreadsheet (its customer created if new); an
    instrument already registered (same manufacturer, model and serial number) is refused (422)."""
    row = {name: cell(value) for name, value in body.model_dump().items()}
    with service.write(account) as s:
        write_rows(s, "import_instruments", [row], today=service.today(), update=False, lang=language(request))
        key = instrument_identity(body.manufacturer, body.model, body.serial_number)
        created = s.scalars(select(MeasuringInstrument).where(MeasuringInstrument.identity_key == key)).one()
        return InstrumentPublic.model_validate(created)


def _number(value: float | None) -> str:
    """A stored number as a cell the importer reads back exactly (no exponent)."""
    return "" if value is None else format(Decimal(repr(value)), "f")


@router.put(
    "/{instrument_id}",
    response_model=InstrumentPublic,
    operation_id="instruments_update",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_instrument(
    instrument_id: RecordId, body: InstrumentUpdate, account: Intake, service: ServiceDep, request: Request
) -> InstrumentPublic:
    """Change a registered instrument: the registered record as a spreadsheet row with the given fields replaced,
    written by an update import (the same checks as a new row; the next due date follows)."""
    with service.write(account) as s:
        found = s.get(MeasuringInstrument, instrument_id)
        if found is None:
            raise NotFoundError(f"no instrument #{instrument_id}: GET /api/v1/instruments lists them")
        resolution = f"{_number(found.resolution)} {found.resolution_unit}".strip() if found.resolution else ""
        row = {
            "customer": found.owner.name,
            "customer_tax_code": found.owner.tax_code or "",
            "kind": found.kind,
            "manufacturer": found.manufacturer,
            "model": found.model,
            "serial_number": found.serial_number,
            "range": found.range_text,
            "resolution": resolution,
            "accuracy_class": found.accuracy_class,
            "location": found.location,
            "interval_months": str(found.interval_months),
            "last_calibrated": cell(found.last_calibrated),
            "field": found.field.value,
            "group2": cell(found.group2),
        }
        row.update({name: cell(value) for name, value in body.model_dump(exclude_none=True).items()})
        write_rows(s, "import_instruments", [row], today=service.today(), update=True, lang=language(request))
        s.refresh(found)
        return InstrumentPublic.model_validate(found)


@router.post(
    "/import",
    response_model=ImportReportPublic,
    operation_id="instruments_import",
    responses=problem_responses(401, 403, 413, 415, 422),
)
def import_instruments(
    account: Intake,
    service: ServiceDep,
    request: Request,
    upload: Annotated[Upload, SPREADSHEET],
    dry_run: Annotated[bool, Query(description="Check and report; write nothing.")] = False,
    update: Annotated[bool, Query(description="Update registered instruments from their rows.")] = False,
) -> ImportReportPublic:
    """Import a spreadsheet of instruments (.csv or .xlsx, docs/registry-import.md): good rows go in, bad rows come
    back in the report with row, column and reason."""
    with service.write(account) as s:
        report = import_file(
            s, "import_instruments", upload.name, upload.content, today=service.today(), update=update, dry_run=dry_run
        )
    return ImportReportPublic.model_validate(report.to_dict(language(request)))
