"""``/api/v1/lots``: prepackage lots (OIML R87); register one (checked as a spreadsheet row) or import a
spreadsheet. Writes need the technician or admin role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import select

from api.web.deps import MAX_ID, Intake, Limit, Offset, Reader, RecordId, ServiceDep
from api.web.errors import problem_responses
from api.web.records import cell, import_file, language, write_rows
from api.web.schemas.common import ImportReportPublic
from api.web.schemas.registry import LotCreate, LotPublic
from api.web.uploads import Upload, upload_dependency
from registry.errors import NotFoundError
from registry.models import PrepackageLot

router = APIRouter(prefix="/lots", tags=["lots"])

SPREADSHEET = upload_dependency((".csv", ".xlsx"))


@router.get("", response_model=list[LotPublic], operation_id="lots_list", responses=problem_responses(401))
def list_lots(
    _: Reader,
    service: ServiceDep,
    packer_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this packer's lots.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[LotPublic]:
    """Lots by id; filtered by packer."""
    query = select(PrepackageLot).order_by(PrepackageLot.id).limit(limit).offset(offset)
    if packer_id is not None:
        query = query.where(PrepackageLot.packer_id == packer_id)
    with service.read() as s:
        return [LotPublic.model_validate(lot) for lot in s.scalars(query)]


@router.get("/{lot_id}", response_model=LotPublic, operation_id="lots_get", responses=problem_responses(401, 404))
def get_lot(lot_id: RecordId, _: Reader, service: ServiceDep) -> LotPublic:
    """One lot."""
    with service.read() as s:
        found = s.get(PrepackageLot, lot_id)
        if found is None:
            raise NotFoundError(f"no lot #{lot_id}: GET /api/v1/lots lists them")
        return LotPublic.model_validate(found)


@router.post(
    "",
    response_model=LotPublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="lots_create",
    responses=problem_responses(401, 403, 409, 422),
)
def create_lot(body: LotCreate, account: Intake, service: ServiceDep, request: Request) -> LotPublic:
    """Register a lot, checked as a row of the lots spreadsheet (its packer created if new); a lot already
    registered for its packer is refused (422)."""
    row = {name: cell(value) for name, value in body.model_dump().items()}
    with service.write(account) as s:
        before = s.scalar(select(PrepackageLot.id).order_by(PrepackageLot.id.desc()).limit(1)) or 0
        write_rows(s, "import_lots", [row], today=service.today(), update=False, lang=language(request))
        added = select(PrepackageLot).where(PrepackageLot.id > before).order_by(PrepackageLot.id.desc()).limit(1)
        # the lot this transaction added: ids only grow; by its lot number unless the importer normalised it
        created = s.scalars(added.where(PrepackageLot.lot_number == body.lot_number.strip())).first()
        created = created or s.scalars(added).one()
        return LotPublic.model_validate(created)


@router.post(
    "/import",
    response_model=ImportReportPublic,
    operation_id="lots_import",
    responses=problem_responses(401, 403, 413, 415, 422),
)
def import_lots(
    account: Intake,
    service: ServiceDep,
    request: Request,
    upload: Annotated[Upload, SPREADSHEET],
    dry_run: Annotated[bool, Query(description="Check and report; write nothing.")] = False,
    update: Annotated[bool, Query(description="Update registered lots from their rows.")] = False,
) -> ImportReportPublic:
    """Import a spreadsheet of lots (.csv or .xlsx): good rows go in, bad rows come back in the report."""
    with service.write(account) as s:
        report = import_file(
            s, "import_lots", upload.name, upload.content, today=service.today(), update=update, dry_run=dry_run
        )
    return ImportReportPublic.model_validate(report.to_dict(language(request)))
