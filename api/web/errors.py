"""Every error the service answers is an RFC 9457 problem details document (``application/problem+json``).

Members: ``type`` (a ``urn:caltrace:problem:*`` URI, or ``about:blank`` for a plain HTTP status), ``title``,
``status``, ``detail`` and ``instance`` (the request path), and for a bad request body or rejected record
``errors``: one entry per bad field with its ``pointer`` (RFC 6901 JSON pointer into the request part named by
``location``, e.g. ``#/serial_number``), its key path ``loc`` and what is wrong. A 500 carries no stack trace: the
trace goes to the log with an incident id the answer repeats.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from registry.errors import (
    NotFoundError,
    NotPermittedError,
    RegistryBusyError,
    RegistryError,
    SchemaOutOfDateError,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PREFIX = "urn:caltrace:problem:"


class FieldProblem(BaseModel):
    """One bad field of a request."""

    location: str = Field(description="The request part: body, query, path, header or cookie.")
    pointer: str = Field(description="RFC 6901 JSON pointer into that part, e.g. #/values/0/uncertainty.")
    loc: list[str | int] = Field(description="The key path of the field inside that part.")
    detail: str = Field(description="What is wrong and what to do.")
    code: str = Field(default="", description="A stable code of the message (importer codes, pydantic types).")


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    type: str = Field(default="about:blank", description="URI naming the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(default="", description="What went wrong in this occurrence, and what to do.")
    instance: str = Field(default="", description="The request path the problem occurred at.")
    errors: list[FieldProblem] = Field(default_factory=list, description="The bad fields, if any.")


class ApiProblem(Exception):  # noqa: N818 - raised to answer with a problem, not a bug
    """Raise to answer with a problem document (``kind``: the part after ``urn:caltrace:problem:``)."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str = "",
        *,
        errors: Sequence[FieldProblem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}


def pointer(loc: Sequence[str | int]) -> str:
    """The RFC 6901 JSON pointer of a key path (``~`` and ``/`` escaped)."""
    return "#" + "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str = "",
    *,
    kind: str | None = None,
    errors: Sequence[FieldProblem] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The problem document as a response with the ``application/problem+json`` media type."""
    body = Problem(
        type=PREFIX + kind if kind else "about:blank",
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=list(errors),
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, media_type=PROBLEM_JSON, headers=headers or None
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def validation_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """FastAPI/pydantic validation errors as field problems: the first ``loc`` item is the request part."""
    found = []
    for error in errors:
        loc = list(error.get("loc", ()))
        location = str(loc[0]) if loc and loc[0] in ("body", "query", "path", "header", "cookie") else "body"
        path = loc[1:] if loc and loc[0] == location else loc
        found.append(
            FieldProblem(
                location=location,
                pointer=pointer(path),
                loc=[p if isinstance(p, int) else str(p) for p in path],
                detail=str(error.get("msg", "invalid value")),
                code=str(error.get("type", "")),
            )
        )
    return found


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = validation_problems(exc.errors())
    where = ", ".join(f"{p.location} {p.pointer}" for p in found[:5])
    return problem_response(
        request, 422, "Invalid request", f"fix the fields named in errors: {where}", kind="validation", errors=found
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else ""
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(request, exc.status_code, _phrase(exc.status_code), detail, headers=headers)


async def _api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(
        request, exc.status, exc.title, exc.detail, kind=exc.kind, errors=exc.errors, headers=exc.headers
    )


async def _registry(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RegistryError)
    if isinstance(exc, NotFoundError):
        return problem_response(request, 404, "Not found", str(exc), kind="not-found")
    if isinstance(exc, NotPermittedError):
        return problem_response(request, 409, "Refused by the registry's records", str(exc), kind="refused")
    if isinstance(exc, RegistryBusyError):
        return problem_response(request, 503, "Registry busy", str(exc), kind="busy", headers={"Retry-After": "30"})
    if isinstance(exc, SchemaOutOfDateError):
        return problem_response(request, 503, "Registry not ready", str(exc), kind="not-ready")
    return problem_response(request, 409, "Refused by the registry", str(exc), kind="conflict")


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity error answered as 409: %s", getattr(exc, "orig", exc))
    return problem_response(
        request,
        409,
        "Conflict",
        "the registry already holds a record that conflicts with this one (a duplicate, or a record still in use)",
        kind="conflict",
    )


async def _data(request: Request, exc: Exception) -> JSONResponse:
    log.info("data error answered as 422: %s", getattr(exc, "orig", exc))
    return problem_response(
        request,
        422,
        "Value the registry cannot store",
        "a value in the request cannot be stored or searched for (e.g. a NUL character, or a number out of range)",
        kind="bad-value",
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.error("incident %s: %s %s failed", incident, request.method, request.url.path, exc_info=exc)
    response = problem_response(
        request,
        500,
        "Internal server error",
        f"the service failed on this request (incident {incident}, recorded in the service log); nothing was written",
        kind="internal",
    )
    from api.web.middleware import add_security_headers  # noqa: PLC0415 - the outermost handler sets them itself

    add_security_headers(response.headers, secure=getattr(request.app.state, "secure_transport", True))
    return response


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem document."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(RegistryError, _registry)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(Exception, _unexpected)


def problem_schemas() -> dict[str, Any]:
    """JSON schemas of :class:`Problem` and :class:`FieldProblem` for the OpenAPI components."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries declaring ``statuses`` as problem documents."""
    return {status: {"model": Problem, "description": _phrase(status)} for status in statuses}
