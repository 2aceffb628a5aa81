"""Models of the procedures caltrace runs and their declared run parameters."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.web.schemas.common import PublicModel


class ParameterPublic(PublicModel):
    """One declared run parameter (``acquisition.procedures.params.ParamSpec``): numbers are in ``unit``,
    ``minimum``/``maximum`` inclusive bounds; ``default`` None means required or computed (the description says)."""

    name: str
    kind: str
    unit: str
    minimum: float | None
    maximum: float | None
    zero_allowed: bool
    default: Any = None
    required: bool
    choices: list[str]
    nullable: bool
    single: bool
    description_vi: str
    description_en: str


class RolePublic(PublicModel):
    """An instrument the procedure needs, by role, and the kinds of reference standard accepted in it."""

    role: str
    description: str
    standard_kinds: list[str]
    under_test: bool


class ProcedurePublic(PublicModel):
    """A procedure caltrace can run (the versioned, citable definition)."""

    code: str
    version: str
    kind: str = Field(description="calibration, verification or test.")
    field: str
    title: str
    method_reference: str


class ProcedureDetailPublic(ProcedurePublic):
    """A procedure with its roles and declared run parameters."""

    roles: list[RolePublic]
    parameters: list[ParameterPublic]
