"""The web UI in a real browser (Debian's Chromium driven by Playwright) against a real ``caltrace serve --demo``
process: what a new technician does after ``make run`` (issue 18, "Done when")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import DemoService, chromium, demo_service

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoService]:
    with demo_service(tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def log_in(browser: Any, service: DemoService, username: str, next_path: str = "/") -> Any:
    """A new browser context (own cookies) logged in as ``username`` through the login form; its page."""
    context = browser.new_context(viewport={"width": 1024, "height": 1366}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{service.url}{next_path}")
    assert "/login" in page.url  # no session yet: the login form
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", service.logins[username])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_a_technician_logs_in_and_sees_the_dashboard_in_vietnamese(browser: Any, service: DemoService) -> None:
    page = log_in(browser, service, "technician")
    assert page.url == f"{service.url}/"
    assert page.get_attribute("html", "lang") == "vi"
    assert page.locator("h1").first.inner_text() == "Tổng quan"
    page.context.close()


def test_a_wrong_password_is_refused_in_the_page(browser: Any, service: DemoService, tmp_path: Path) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{service.url}/login")
    page.fill("input[name=username]", "technician")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.locator("[role=alert]").inner_text()
    context.close()
