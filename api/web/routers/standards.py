"""``/api/v1/standards``: the lab's reference standards with their certificates (the traceability chain).
Registering a standard or a certificate needs the admin role; both are checked as spreadsheet rows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import select

from api.web.deps import Admin, Limit, Offset, Reader, ServiceDep
from api.web.errors import problem_responses
from api.web.records import cell, language, write_rows
from api.web.schemas.registry import (
    StandardCertificateCreate,
    StandardCertificatePublic,
    StandardCreate,
    StandardDetailPublic,
    StandardPublic,
)
from registry.importer import RowIssue
from registry.models import ReferenceStandard, StandardCertificate
from registry.queries import find_standard

router = APIRouter(prefix="/standards", tags=["standards"])

#: certificate import columns that belong to the certificate (the others to each certified value)
_HEADER_COLUMNS = ("standard", "number", "issuer", "calibrated_on", "valid_until", "issued_on")
#: certified value field -> the import's column
_VALUE_COLUMNS = {"piece_class": "class"}


@router.get("", response_model=list[StandardPublic], operation_id="standards_list", responses=problem_responses(401))
def list_standards(
    _: Reader,
    service: ServiceDep,
    include_retired: Annotated[bool, Query(description="Include retired standards.")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[StandardPublic]:
    """Reference standards by code (active ones unless ``include_retired``)."""
    query = select(ReferenceStandard).order_by(ReferenceStandard.code).limit(limit).offset(offset)
    if not include_retired:
        query = query.where(ReferenceStandard.active.is_(True))
    with service.read() as s:
        return [StandardPublic.model_validate(std) for std in s.scalars(query)]


@router.get(
    "/{code}", response_model=StandardDetailPublic, operation_id="standards_get", responses=problem_responses(401, 404)
)
def get_standard(code: str, _: Reader, service: ServiceDep) -> StandardDetailPublic:
    """One standard (by code) with its certificates, oldest first."""
    with service.read() as s:
        return StandardDetailPublic.model_validate(find_standard(s, code))


@router.post(
    "",
    response_model=StandardPublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="standards_create",
    responses=problem_responses(401, 403, 409, 422),
)
def create_standard(body: StandardCreate, account: Admin, service: ServiceDep, request: Request) -> StandardPublic:
    """Register a reference standard, checked as a row of the standards spreadsheet (kind, driver model and
    address checked against what caltrace knows); a code already registered is refused (422)."""
    row = {name: cell(value) for name, value in body.model_dump().items() if value is not None}
    with service.write(account) as s:
        write_rows(s, "import_standards", [row], today=service.today(), update=False, lang=language(request))
        return StandardPublic.model_validate(find_standard(s, body.code.strip()))


@router.get(
    "/{code}/certificates",
    response_model=list[StandardCertificatePublic],
    operation_id="standards_certificates_list",
    responses=problem_responses(401, 404),
)
def list_certificates(code: str, _: Reader, service: ServiceDep) -> list[StandardCertificatePublic]:
    """The standard's certificates, oldest calibration first."""
    with service.read() as s:
        return [StandardCertificatePublic.model_validate(c) for c in find_standard(s, code).certificates]


@router.post(
    "/{code}/certificates",
    response_model=StandardCertificatePublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="standards_certificates_create",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_certificate(
    code: str, body: StandardCertificateCreate, account: Admin, service: ServiceDep, request: Request
) -> StandardCertificatePublic:
    """Add a calibration certificate with its certified values (each with U and k) to the standard, checked as
    the rows of the certificates spreadsheet: the certificate goes in whole or not at all."""
    header = {
        "standard": code,
        "number": body.number,
        "issuer": body.issuer,
        "calibrated_on": cell(body.calibrated_on),
        "valid_until": cell(body.valid_until),
        "issued_on": cell(body.issued_on),
    }
    rows = [
        {**header, **{_VALUE_COLUMNS.get(k, k): cell(v) for k, v in value.model_dump().items()}}
        for value in body.values
    ]
    fields = {v: k for k, v in _VALUE_COLUMNS.items()}

    def locate(issue: RowIssue) -> list[str | int]:
        if issue.column in _HEADER_COLUMNS:
            return ["standard_code" if issue.column == "standard" else issue.column]
        return ["values", max(issue.row - 2, 0), fields.get(issue.column, issue.column)]

    with service.write(account) as s:
        find_standard(s, code)
        write_rows(
            s, "import_certificates", rows, today=service.today(), update=False, lang=language(request), locate=locate
        )
        created = s.scalars(
            select(StandardCertificate).where(
                StandardCertificate.issuer == body.issuer.strip(), StandardCertificate.number == body.number.strip()
            )
        ).one()
        return StandardCertificatePublic.model_validate(created)
