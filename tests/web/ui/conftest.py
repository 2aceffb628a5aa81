"""Web UI fixtures: the service's ``api`` fixtures, and a browser-like client logged in through the login form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Api, api, sqlite_api  # noqa: F401 - the service fixtures, shared

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def page_login(service: Api, username: str) -> TestClient:
    """A client logged in through the login page as ``username`` (its cookie jar holds the session)."""
    client = service.client()
    form = {"username": username, "password": PASSWORD, "next": "/"}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
