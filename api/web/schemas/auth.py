"""Models of logging in, tokens and the current account."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.web.schemas.common import CreateModel, PublicModel


class LoginCreate(CreateModel):
    """A username and password (for a session cookie or a bearer token)."""

    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=1024)


class AccountPublic(PublicModel):
    """The logged-in account: its roles and the member of staff it acts as."""

    username: str
    roles: list[str]
    staff: str | None = Field(description="Username of the member of staff the account acts as, if any.")


class SessionPublic(AccountPublic):
    """A browser session: send ``csrf_token`` in the X-CSRF-Token header with every change."""

    csrf_token: str
    expires_at: datetime


class TokenPublic(PublicModel):
    """A bearer token for API clients: ``Authorization: Bearer <access_token>``."""

    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    username: str
    roles: list[str]


class MePublic(AccountPublic):
    """The logged-in account; for a browser session also its CSRF token and when the session ends."""

    via: str = Field(description="How the request was authenticated: cookie or bearer.")
    csrf_token: str | None = None
    expires_at: datetime


class LoggedOutPublic(PublicModel):
    """The outcome of a logout: every session and token of the account ended."""

    username: str
    ended: bool
