"""The web UI's login and logout pages (decision 0530): a form posting the username and password, answered with
the session cookie (the API's ``/auth/login`` cookie) and a redirect to the page asked for."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.web.accounts import LoginRefused, authenticate, end_sessions
from api.web.deps import ServiceDep
from api.web.ratelimit import RateLimited
from api.web.routers.auth import start_session
from api.web.ui import FormAccount, redirect, render, safe_next

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: Annotated[str | None, Query()] = None) -> HTMLResponse:
    """The login form."""
    return render(request, "ui/login.html", next_url=safe_next(next), error="")


@router.post("/login", response_class=HTMLResponse, dependencies=[RateLimited])
def login_form(
    request: Request,
    service: ServiceDep,
    username: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Log in: the session cookie and a redirect to ``next``; a refusal shows the form again (401) saying why."""
    settings = service.settings
    try:
        account = authenticate(
            service.engine,
            username,
            password,
            now=service.clock(),
            attempts=settings.lockout_attempts,
            lock_for=timedelta(minutes=settings.lockout_minutes),
        )
    except LoginRefused as refused:
        log.warning("login refused for %r: %s", username[:60], refused.reason)
        key, until = "login_wrong", ""
        if refused.reason == "locked" and refused.until is not None:
            key, until = "login_locked", f"{refused.until:%Y-%m-%d %H:%M}"
        return render(
            request, "ui/login.html", status=401, next_url=safe_next(next), error=key, until=until, username=username
        )
    response = redirect(safe_next(next))
    start_session(service, account, response)
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout_form(account: FormAccount, service: ServiceDep) -> Response:
    """Log out: every session of the account ends; back to the login page."""
    end_sessions(service.engine, account)
    response = redirect("/login")
    response.delete_cookie(service.settings.session_cookie, path="/")
    return response
