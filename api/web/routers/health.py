"""``/api/v1/health`` (liveness) and ``/api/v1/ready`` (readiness: database, reading store, DCC schema directory)."""

from __future__ import annotations

import os
import sqlite3
import urllib.request
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from api.web.accounts import Account
from api.web.deps import Service, ServiceDep, optional_account
from api.web.schemas.health import CheckPublic, HealthPublic, ReadinessPublic

router = APIRouter(tags=["health"])

#: seconds a readiness probe waits for the time-series server
PROBE_TIMEOUT_S = 2.0


def _version() -> str:
    try:
        return version("caltrace")
    except PackageNotFoundError:
        return "unknown"


@router.get("/health", response_model=HealthPublic, operation_id="health")
def health() -> HealthPublic:
    """The process is alive (no dependency is checked)."""
    return HealthPublic(version=_version())


def _database(service: Service) -> CheckPublic:
    from registry.db import require_current  # noqa: PLC0415

    try:
        require_current(service.engine)
    except Exception as exc:  # any failure is a "not ready" report, never a 500
        return CheckPublic(name="database", ok=False, detail=str(exc))
    return CheckPublic(
        name="database", ok=True, detail=f"{service.engine.url.get_backend_name()} registry at the newest schema"
    )


def _reading_store(service: Service) -> CheckPublic:
    settings = service.registry
    if settings.store == "influx":
        try:
            with urllib.request.urlopen(settings.influx_url.rstrip("/") + "/ping", timeout=PROBE_TIMEOUT_S):
                pass
        except Exception as exc:
            return CheckPublic(name="reading_store", ok=False, detail=f"InfluxDB at {settings.influx_url}: {exc}")
        return CheckPublic(name="reading_store", ok=True, detail=f"InfluxDB at {settings.influx_url} answers")
    path = settings.readings_path
    if path.exists():
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=PROBE_TIMEOUT_S)
            try:
                connection.execute("SELECT 1").fetchone()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            return CheckPublic(name="reading_store", ok=False, detail=f"{path}: {exc}")
        return CheckPublic(name="reading_store", ok=True, detail=f"SQLite reading store {path}")
    folder = settings.data_dir
    if folder.is_dir() and os.access(folder, os.W_OK):
        return CheckPublic(name="reading_store", ok=True, detail=f"SQLite reading store {path} (made at the first run)")
    return CheckPublic(name="reading_store", ok=False, detail=f"the data directory {folder} is missing or read-only")


def _schema_directory() -> CheckPublic:
    from certificates.verify.schema import SUPPORTED_VERSIONS, schema_dir  # noqa: PLC0415

    directory = schema_dir()
    if directory is None:
        return CheckPublic(name="schema_directory", ok=False, detail="no DCC schema directory: set CALTRACE_SCHEMA_DIR")
    found = [v for v in SUPPORTED_VERSIONS if (directory / f"v{v}" / "dcc.xsd").is_file()]
    if not found:
        return CheckPublic(
            name="schema_directory", ok=False, detail=f"{directory} holds no vX.Y.Z/dcc.xsd of a supported version"
        )
    return CheckPublic(name="schema_directory", ok=True, detail=f"{directory}: DCC {', '.join(found)}")


@router.get(
    "/ready",
    response_model=ReadinessPublic,
    operation_id="readiness",
    responses={503: {"model": ReadinessPublic, "description": "A dependency is not ready (each check says which)."}},
)
def ready(service: ServiceDep, account: Annotated[Account | None, Depends(optional_account)]) -> JSONResponse:
    """Whether the service can work: the registry (reachable, newest schema), the reading store and the DCC schema
    directory, each reported; HTTP 503 when any is not ready. The details (paths, servers, errors) are given to a
    logged-in account only; the public sees each check's name and outcome."""
    checks = [_database(service), _reading_store(service), _schema_directory()]
    if account is None:
        checks = [CheckPublic(name=c.name, ok=c.ok, detail="") for c in checks]
    body = ReadinessPublic(ready=all(c.ok for c in checks), checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if body.ready else 503)
