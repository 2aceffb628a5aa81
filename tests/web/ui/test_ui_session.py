"""The web UI's login, logout, language and refusals (decision 0530)."""

from __future__ import annotations

import pytest

from api.web.ui import safe_next
from tests.web.conftest import PASSWORD, Api
from tests.web.ui.conftest import csrf_of, page_login


def test_a_page_without_a_session_goes_to_the_login_form_and_back(sqlite_api: Api) -> None:
    client = sqlite_api.client()
    first = client.get("/?x=1", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=%2F%3Fx%3D1"
    form = client.get(first.headers["location"])
    assert '<html lang="vi">' in form.text and "Đăng nhập" in form.text
    assert 'name="next" value="/?x=1"' in form.text
    form = {"username": "tech", "password": PASSWORD, "next": "/?x=1"}
    done = client.post("/login", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/?x=1"
    assert sqlite_api.settings.session_cookie in client.cookies


def test_a_wrong_password_shows_the_form_again_in_vietnamese_and_locks_after_the_limit(sqlite_api: Api) -> None:
    client = sqlite_api.client()
    for _ in range(sqlite_api.settings.lockout_attempts - 1):
        wrong = client.post("/login", data={"username": "tech", "password": "nope"})
        assert wrong.status_code == 401
        assert "Sai tên đăng nhập hoặc mật khẩu" in wrong.text
    assert client.post("/login", data={"username": "tech", "password": "nope"}).status_code == 401  # the last one
    locked = client.post("/login", data={"username": "tech", "password": PASSWORD})
    assert locked.status_code == 401 and "bị khoá đến" in locked.text
    assert sqlite_api.settings.session_cookie not in client.cookies


def test_the_dashboard_speaks_vietnamese_by_default_and_english_after_the_switch(sqlite_api: Api) -> None:
    client = page_login(sqlite_api, "tech")
    vi = client.get("/")
    assert vi.status_code == 200 and '<html lang="vi">' in vi.text and "Tổng quan" in vi.text
    assert vi.headers["cache-control"] == "no-store"
    en = client.get("/?lang=en")
    assert '<html lang="en">' in en.text and "Dashboard" in en.text
    remembered = client.get("/")  # the cookie keeps the choice
    assert '<html lang="en">' in remembered.text


def test_logout_needs_the_forms_csrf_token_and_ends_the_session(sqlite_api: Api) -> None:
    client = page_login(sqlite_api, "tech")
    page = client.get("/")
    refused = client.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert client.get("/", follow_redirects=False).status_code == 200  # still logged in
    done = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login"
    client.cookies.clear()
    # the old cookie is dead everywhere (the account's token version moved)
    stale = sqlite_api.client()
    assert stale.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("given", "expected"),
    [("/runs/abc", "/runs/abc"), ("//evil.example/x", "/"), ("https://evil.example", "/"), ("", "/"), ("/\\x", "/")],
)
def test_after_login_only_a_local_page_is_opened(given: str, expected: str) -> None:
    assert safe_next(given) == expected
