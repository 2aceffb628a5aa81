"""The service's ``Annotated`` dependencies: the registry, the account of a request, role checks and CSRF.

A request is authenticated by a bearer token (``Authorization: Bearer ...``, for API clients) or by the session
cookie (the browser). A cookie-authenticated request that may change something (any method but GET, HEAD, OPTIONS)
must also send the session's CSRF token, in the ``X-CSRF-Token`` header or a ``csrf_token`` form field: a page of
another site can make the browser send the cookie, never read the token (decision 0500). Bearer requests need no
CSRF token: browsers never add an ``Authorization`` header by themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Path, Query, Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.web.accounts import Account, account_for_token
from api.web.errors import ApiProblem
from api.web.security import Clock, TokenClaims, read_token, same_token
from api.web.settings import ServiceSettings
from registry.db import read_session, session_scope
from registry.queries import MAX_ID as _MAX_ID
from registry.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@dataclass
class Service:
    """What every request shares: settings, the registry engine, the clock and the signing key."""

    settings: ServiceSettings
    registry: Settings
    engine: Engine
    clock: Clock
    key: bytes = field(repr=False)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only registry session (never waits for a writer)."""
        with read_session(self.engine) as s:
            yield s

    @contextlib.contextmanager
    def write(self, account: Account) -> Iterator[Session]:
        """A write transaction audited as ``account``; committed when the block ends inside the handler (so a
        conflict is answered, not lost after the response)."""
        with session_scope(self.engine, account.actor) as s:
            yield s

    def today(self) -> date:
        """Today in the lab's time zone, by the service's clock."""
        return self.clock().astimezone(ZoneInfo(self.registry.timezone)).date()


def get_service(request: Request) -> Service:
    """The app's :class:`Service`."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def _unauthenticated(detail: str) -> ApiProblem:
    return ApiProblem(
        401,
        "unauthenticated",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="caltrace"'},
    )


def _claims(request: Request, service: Service) -> tuple[TokenClaims | None, str]:
    """The token claims of the request and how it came (``bearer``, ``cookie`` or ``""``)."""
    now = service.clock()
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.casefold() != "bearer" or not token.strip():
            raise _unauthenticated("the Authorization header must be 'Bearer <token>' (POST /api/v1/auth/token)")
        claims = read_token(service.key, token.strip(), "bearer", now)
        if claims is None:
            raise _unauthenticated("the bearer token is invalid or expired: get a new one (POST /api/v1/auth/token)")
        return claims, "bearer"
    cookie = request.cookies.get(service.settings.session_cookie)
    if cookie:
        return read_token(service.key, cookie, "session", now), "cookie"
    return None, ""


def optional_account(request: Request, service: ServiceDep) -> Account | None:
    """The request's account, or None for the public (a bad bearer token is still refused with 401). A plain
    function: it reads the registry, so FastAPI runs it in the thread pool, never blocking the event loop."""
    claims, how = _claims(request, service)
    if claims is None:
        return None
    account = account_for_token(service.engine, claims.account_id, claims.version, service.clock())
    if account is None:
        if how == "bearer":
            raise _unauthenticated("the token's account was logged out, changed, locked or removed: log in again")
        return None
    request.state.auth = how
    request.state.csrf = claims.csrf
    request.state.expires = claims.expires
    return account


async def csrf_ok(request: Request) -> bool:
    expected = str(getattr(request.state, "csrf", ""))
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    return same_token(given, expected)


async def current_account(request: Request, account: Annotated[Account | None, Depends(optional_account)]) -> Account:
    """The request's account (401 without one); a cookie-authenticated unsafe request must carry the CSRF token
    (403 without it)."""
    if account is None:
        raise _unauthenticated(
            "log in first: POST /api/v1/auth/login (browser session) or POST /api/v1/auth/token (bearer token)"
        )
    cookie_write = request.method not in SAFE_METHODS and getattr(request.state, "auth", "") == "cookie"
    if cookie_write and not await csrf_ok(request):
        raise ApiProblem(
            403,
            "csrf",
            "CSRF token missing or wrong",
            f"a change made with the session cookie must send the session's CSRF token in the {CSRF_HEADER} "
            f"header (or the {CSRF_FIELD} form field); it is returned by the login and by GET /api/v1/auth/me",
        )
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]


def require_roles(*roles: str) -> Any:
    """A dependency giving the request's account when it holds one of ``roles`` (403 problem otherwise)."""
    wanted = frozenset(roles)

    async def check(account: CurrentAccount) -> Account:
        if not account.roles & wanted:
            raise ApiProblem(
                403,
                "forbidden",
                "Not allowed for your role",
                f"this needs the role {' or '.join(sorted(wanted))}; "
                f"your account has {', '.join(sorted(account.roles))}",
            )
        return account

    return Depends(check)


#: accounts that may read the registry: every role (the public may not)
Reader = CurrentAccount
#: accounts that may register customers' instruments and lots (the intake at the counter)
Intake = Annotated[Account, require_roles("technician", "admin")]
#: accounts that may change the lab's own records: staff, authorisations, standards and their certificates
Admin = Annotated[Account, require_roles("admin")]

#: paging of listings
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many records.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Skip this many records first.")]
#: record ids: the registry's integer keys (PostgreSQL INTEGER, 32-bit signed), so a larger number is a 422, not a
#: database overflow
MAX_ID = _MAX_ID
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="The record's id.")]
