"""``/api/v1/staff``: members of staff and their authorisations (per procedure: perform, review, sign). Registering
one needs the admin role and is checked as a row of the staff spreadsheet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web.deps import Admin, Limit, Offset, Reader, ServiceDep
from api.web.errors import problem_responses
from api.web.records import cell, language, write_rows
from api.web.schemas.registry import AuthorisationPublic, StaffCreate, StaffPublic
from registry.errors import NotFoundError
from registry.models import Staff
from registry.queries import find_staff

router = APIRouter(prefix="/staff", tags=["staff"])


@router.get("", response_model=list[StaffPublic], operation_id="staff_list", responses=problem_responses(401))
def list_staff(
    _: Reader,
    service: ServiceDep,
    include_inactive: Annotated[bool, Query(description="Include staff who have left.")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[StaffPublic]:
    """Members of staff by username, with their authorisations."""
    query = select(Staff).order_by(Staff.username).limit(limit).offset(offset)
    if not include_inactive:
        query = query.where(Staff.active.is_(True))
    with service.read() as s:
        return [StaffPublic.model_validate(st) for st in s.scalars(query)]


def _staff(s: Session, username: str) -> Staff:
    found = find_staff(s, username)
    if found is None:
        raise NotFoundError(f"no member of staff {username!r}: GET /api/v1/staff lists them")
    return found


@router.get("/{username}", response_model=StaffPublic, operation_id="staff_get", responses=problem_responses(401, 404))
def get_staff(username: str, _: Reader, service: ServiceDep) -> StaffPublic:
    """One member of staff with every authorisation."""
    with service.read() as s:
        return StaffPublic.model_validate(_staff(s, username))


@router.get(
    "/{username}/authorisations",
    response_model=list[AuthorisationPublic],
    operation_id="staff_authorisations",
    responses=problem_responses(401, 404),
)
def authorisations(username: str, _: Reader, service: ServiceDep) -> list[AuthorisationPublic]:
    """What the member of staff may do, procedure by procedure."""
    with service.read() as s:
        return [AuthorisationPublic.model_validate(a) for a in _staff(s, username).authorisations]


@router.post(
    "",
    response_model=StaffPublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="staff_create",
    responses=problem_responses(401, 403, 409, 422),
)
def create_staff(body: StaffCreate, account: Admin, service: ServiceDep, request: Request) -> StaffPublic:
    """Register a member of staff with roles (technician, reviewer, signatory) and the procedures they are
    authorised for, checked as a row of the staff spreadsheet; a username already registered is refused (422)."""
    row = {
        name: ", ".join(value) if isinstance(value, list) else cell(value)
        for name, value in body.model_dump().items()
        if value not in (None, "")
    }
    with service.write(account) as s:
        write_rows(s, "import_staff", [row], today=service.today(), update=False, lang=language(request))
        return StaffPublic.model_validate(_staff(s, body.username.strip()))
