"""Models of liveness and readiness."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.web.schemas.common import PublicModel


class HealthPublic(PublicModel):
    """Liveness: the process answers."""

    status: Literal["ok"] = "ok"
    version: str


class CheckPublic(PublicModel):
    """One readiness check."""

    name: str = Field(description="database, reading_store or schema_directory.")
    ok: bool
    detail: str


class ReadinessPublic(PublicModel):
    """Readiness: every dependency the service needs, each reported (HTTP 503 when one fails)."""

    ready: bool
    checks: list[CheckPublic]
