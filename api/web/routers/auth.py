"""``/api/v1/auth``: log in for a browser session (cookie + CSRF token) or a bearer token; log out; who am I.

A wrong password counts against the account; ``CALTRACE_LOCKOUT_ATTEMPTS`` in a row lock it for
``CALTRACE_LOCKOUT_MINUTES`` (even the right password is refused meanwhile; ``caltrace users unlock`` ends it).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request, Response

from api.web.accounts import Account, LoginRefused, authenticate, end_sessions
from api.web.deps import CurrentAccount, Service, ServiceDep
from api.web.errors import ApiProblem, problem_responses
from api.web.schemas.auth import LoggedOutPublic, LoginCreate, MePublic, SessionPublic, TokenPublic
from api.web.security import TokenClaims, issue_token, new_csrf_token
from registry.models import ACCOUNT_ROLES

log = logging.getLogger(__name__)
router = APIRouter(prefix="/auth", tags=["auth"])


def _roles(account: Account) -> list[str]:
    return [r for r in ACCOUNT_ROLES if r in account.roles]


def _login(service: Service, body: LoginCreate) -> Account:
    settings = service.settings
    try:
        return authenticate(
            service.engine,
            body.username,
            body.password,
            now=service.clock(),
            attempts=settings.lockout_attempts,
            lock_for=timedelta(minutes=settings.lockout_minutes),
        )
    except LoginRefused as refused:
        log.warning("login refused for %r: %s", body.username[:60], refused.reason)
        if refused.reason == "locked" and refused.until is not None:
            raise ApiProblem(
                401,
                "locked",
                "Account locked",
                f"too many wrong passwords: this account is locked until {refused.until:%Y-%m-%d %H:%M} UTC; "
                "try again then, or ask an administrator (caltrace users unlock)",
                headers={"WWW-Authenticate": 'Bearer realm="caltrace"'},
            ) from None
        raise ApiProblem(
            401,
            "invalid-login",
            "Wrong username or password",
            "the username or password is wrong (repeated failures lock the account)",
            headers={"WWW-Authenticate": 'Bearer realm="caltrace"'},
        ) from None


def _expiry(service: Service, minutes: int) -> datetime:
    return service.clock() + timedelta(minutes=minutes)


def start_session(service: Service, account: Account, response: Response) -> tuple[str, datetime]:
    """Set the HttpOnly session cookie of ``account`` on ``response``; (its CSRF token, when it expires). Used by
    the API's login and the web UI's login page."""
    settings = service.settings
    expires = _expiry(service, settings.session_minutes)
    csrf = new_csrf_token()
    token = issue_token(
        service.key, TokenClaims(account.id, account.token_version, "session", int(expires.timestamp()), csrf)
    )
    same_site: Literal["lax"] = "lax"
    response.set_cookie(
        settings.session_cookie,
        token,
        max_age=settings.session_minutes * 60,
        httponly=True,
        secure=settings.cookie_secure,
        samesite=same_site,
        path="/",
    )
    return csrf, expires


@router.post(
    "/login",
    response_model=SessionPublic,
    operation_id="auth_login",
    responses=problem_responses(401, 422),
)
def login(body: LoginCreate, response: Response, service: ServiceDep) -> SessionPublic:
    """Log in for a browser session: sets the HttpOnly session cookie and returns the CSRF token that every change
    made with it must send (X-CSRF-Token header or csrf_token form field)."""
    account = _login(service, body)
    csrf, expires = start_session(service, account, response)
    return SessionPublic(
        username=account.username,
        roles=_roles(account),
        staff=account.staff_username,
        csrf_token=csrf,
        expires_at=expires,
    )


@router.post(
    "/token",
    response_model=TokenPublic,
    operation_id="auth_token",
    responses=problem_responses(401, 422),
)
def token(body: LoginCreate, service: ServiceDep) -> TokenPublic:
    """A bearer token for an API client (no cookie, no CSRF token needed)."""
    account = _login(service, body)
    expires = _expiry(service, service.settings.token_minutes)
    access = issue_token(
        service.key, TokenClaims(account.id, account.token_version, "bearer", int(expires.timestamp()))
    )
    return TokenPublic(access_token=access, expires_at=expires, username=account.username, roles=_roles(account))


@router.post(
    "/logout",
    response_model=LoggedOutPublic,
    operation_id="auth_logout",
    responses=problem_responses(401, 403),
)
def logout(account: CurrentAccount, response: Response, service: ServiceDep) -> LoggedOutPublic:
    """Log out: every session and bearer token of the account ends, and the session cookie is cleared."""
    end_sessions(service.engine, account)
    response.delete_cookie(service.settings.session_cookie, path="/")
    return LoggedOutPublic(username=account.username, ended=True)


@router.get("/me", response_model=MePublic, operation_id="auth_me", responses=problem_responses(401))
def me(account: CurrentAccount, request: Request) -> MePublic:
    """The logged-in account; for a browser session also its CSRF token (a page may fetch it again)."""
    via = str(getattr(request.state, "auth", ""))
    return MePublic(
        username=account.username,
        roles=_roles(account),
        staff=account.staff_username,
        via=via,
        csrf_token=str(getattr(request.state, "csrf", "")) if via == "cookie" else None,
        expires_at=datetime.fromtimestamp(int(getattr(request.state, "expires", 0)), UTC),
    )
