"""``create_app``: the caltrace service (FastAPI) for one installation's settings.

Everything is under ``/api/v1`` (the OpenAPI document at ``/api/v1/openapi.json``; no interactive docs page, as
it would load scripts from another site, which the Content-Security-Policy forbids). Every error is a problem
document (:mod:`api.web.errors`); every response carries the security headers (:mod:`api.web.middleware`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from api.web import errors, ui
from api.web.deps import Service
from api.web.middleware import BodyLimit, SecurityHeaders
from api.web.ratelimit import TokenBucketLimiter
from api.web.routers import (
    auth,
    certificates,
    customers,
    health,
    instruments,
    lots,
    procedures,
    runs,
    staff,
    standards,
    ui_certificates,
    ui_dashboard,
    ui_registry,
    ui_runs,
    ui_session,
    ui_uncertainty,
)
from api.web.routers.pages import STATIC_DIR
from api.web.routers.pages import router as pages_router
from api.web.routers.verification import router as verification_router
from api.web.security import Clock, system_clock
from api.web.settings import ServiceSettings
from api.web.worker import RunWorker
from registry.settings import Settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
#: the routers mounted under :data:`API_PREFIX`, one per resource (runs, certificates, reports come next)
ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    auth.router,
    customers.router,
    instruments.router,
    lots.router,
    standards.router,
    staff.router,
    procedures.router,
    runs.router,
    verification_router,
    # last: its GET /certificates/{number:path} would otherwise answer /certificates/{number}/verification
    certificates.router,
)

#: the web UI's page routers, at the root, outside the OpenAPI document
UI_ROUTERS: tuple[APIRouter, ...] = (
    ui_session.router,
    ui_dashboard.router,
    ui_runs.router,
    ui_certificates.router,
    ui_registry.router,
    ui_uncertainty.router,
)


def _check_operation_ids(app: FastAPI) -> None:
    """Every route has an explicit, unique operation id (clients generated from the document keep their names)."""
    seen: dict[str, str] = {}
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            if not route.operation_id:
                raise RuntimeError(f"route {route.path} has no operation_id")
            if route.operation_id in seen:
                raise RuntimeError(f"operation_id {route.operation_id} is used by {seen[route.operation_id]} too")
            seen[route.operation_id] = route.path


#: response models FastAPI or the routers declare for errors, all answered as problem documents
_PROBLEM_MODELS = ("/Problem", "/HTTPValidationError")


def _problem_openapi(app: FastAPI) -> None:
    """Make the OpenAPI document say what the service answers: every error response (4xx, 5xx) is a problem
    document with the ``application/problem+json`` media type (FastAPI would declare its own 422 shape), except a
    response a route declares with a model of its own (readiness's 503)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in errors.problem_schemas().items():
            schemas.setdefault(name, schema)
        for path in document.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                    if status[:1] in ("4", "5") and schema.get("$ref", "").endswith(_PROBLEM_MODELS):
                        response["content"] = {
                            errors.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                        }
                operation["responses"].setdefault(
                    "500",
                    {
                        "description": "Internal server error (no stack trace: an incident id)",
                        "content": {errors.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    },
                )
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: ServiceSettings | None = None,
    *,
    registry: Settings | None = None,
    engine: Engine | None = None,
    clock: Clock = system_clock,
) -> FastAPI:
    """The service for ``settings`` (default: from the environment) on the registry of ``registry`` (or the given
    ``engine``); ``clock`` gives now (UTC) to logins, tokens and the lab's today. ValueError naming each missing or
    wrong setting (outside demo mode the secrets have no defaults)."""
    settings = settings or ServiceSettings()
    problems = settings.problems()
    if problems:
        raise ValueError("the service cannot start: " + "; ".join(problems) + " (docs/service.md)")
    registry = registry or Settings()
    if engine is None:
        from registry.db import open_registry  # noqa: PLC0415

        engine = open_registry(registry)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        import anyio  # noqa: PLC0415

        await anyio.to_thread.run_sync(app.state.runs.shutdown)  # runs paused, sources to standby

    app = FastAPI(
        lifespan=lifespan,
        title="caltrace",
        summary="Instrument acquisition, measurement uncertainty and calibration certificates",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = Service(settings, registry, engine, clock, settings.signing_key())
    app.state.secure_transport = settings.cookie_secure
    app.state.runs = RunWorker(
        engine,
        registry,
        today=app.state.service.today,
        max_runs=settings.max_runs,
        demo=settings.demo,
        action_timeout_s=settings.action_timeout_s,
    )
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.state.public_limiter = TokenBucketLimiter(settings.public_rate_per_minute, clock)
    app.include_router(pages_router)  # the public pages, at the root
    for page_router in UI_ROUTERS:  # the web UI's pages, at the root (decision 0530)
        app.include_router(page_router)
    ui.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodyLimit, limit=lambda: settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders, secure=settings.cookie_secure)
    _check_operation_ids(app)
    _problem_openapi(app)
    return app
