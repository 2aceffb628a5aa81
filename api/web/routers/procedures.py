"""``/api/v1/procedures``: the procedures caltrace runs, with their roles and declared run parameters (read only:
a procedure is code, versioned and reviewed, not a record to edit)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.web.deps import Reader
from api.web.errors import problem_responses
from api.web.schemas.procedures import ParameterPublic, ProcedureDetailPublic, ProcedurePublic, RolePublic
from registry.errors import NotFoundError

router = APIRouter(prefix="/procedures", tags=["procedures"])


def _summary(definition: Any) -> dict[str, Any]:
    return {
        "code": definition.code,
        "version": definition.version,
        "kind": definition.kind,
        "field": definition.field,
        "title": definition.title,
        "method_reference": definition.method_reference,
    }


@router.get("", response_model=list[ProcedurePublic], operation_id="procedures_list", responses=problem_responses(401))
def list_procedures(_: Reader) -> list[ProcedurePublic]:
    """Every procedure caltrace can run."""
    from acquisition.procedures import get_procedure, procedure_ids  # noqa: PLC0415

    return [ProcedurePublic(**_summary(get_procedure(code).definition)) for code in procedure_ids()]


@router.get(
    "/{code}",
    response_model=ProcedureDetailPublic,
    operation_id="procedures_get",
    responses=problem_responses(401, 404),
)
def get_procedure_detail(code: str, _: Reader) -> ProcedureDetailPublic:
    """One procedure with its roles (the standards it needs) and its declared run parameters."""
    from acquisition.procedures import get_procedure, procedure_ids  # noqa: PLC0415

    if code not in procedure_ids():
        raise NotFoundError(f"no procedure {code!r}: the procedures are {', '.join(procedure_ids())}")
    procedure = get_procedure(code)
    definition = procedure.definition
    return ProcedureDetailPublic(
        **_summary(definition),
        roles=[
            RolePublic(
                role=r.role,
                description=r.description,
                standard_kinds=list(r.standard_kinds),
                under_test=r.under_test,
            )
            for r in definition.roles
        ],
        parameters=[ParameterPublic(**spec.as_dict()) for spec in procedure.parameter_specs],
    )
