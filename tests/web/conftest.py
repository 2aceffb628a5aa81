"""Service fixtures: an app on a migrated registry holding the demo lab and one login per role, a clock the test
moves, and clients. ``api`` runs on SQLite and on a real PostgreSQL server; ``sqlite_api`` on SQLite only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from api.web.accounts import add_account
from api.web.app import create_app
from api.web.settings import ServiceSettings
from registry.db import make_engine, session_scope, upgrade
from registry.settings import Settings
from tests.support.postgres import PostgresServer

PASSWORD = "correct horse battery"
#: username -> (roles, member of staff of the demo lab it acts as)
LOGINS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "tech": (("technician",), "demo"),
    "rev": (("reviewer",), "demo-reviewer"),
    "sig": (("signatory",), "demo-reviewer"),
    "adm": (("admin",), None),
    "aud": (("auditor",), None),
}
BASE_URL = "https://testserver"


@dataclass
class Clock:
    """The service's clock, moved by the test (no sleeping)."""

    now: datetime = field(default_factory=lambda: datetime(2026, 12, 3, 3, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Api:
    """An app, its engine and clock, and a client factory."""

    app: FastAPI
    engine: Engine
    clock: Clock
    settings: ServiceSettings

    def client(self) -> TestClient:
        """A fresh client (its own cookie jar); server errors are answered, not raised."""
        return TestClient(self.app, base_url=BASE_URL, raise_server_exceptions=False)

    def bearer(self, username: str) -> dict[str, str]:
        """Authorization header of a bearer token for ``username``."""
        response = self.client().post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _api(url: str, tmp_path: Path) -> Iterator[Api]:
    from acquisition.procedures import procedure_ids
    from lab import seed_demo_lab

    clock = Clock()
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine, "test") as s:
        seed_demo_lab(s, clock().date(), procedure_ids())
        for username, (roles, staff) in LOGINS.items():
            add_account(s, username, PASSWORD, roles, staff)
    settings = ServiceSettings(secret_key=SecretStr("k" * 48), lockout_attempts=3, lockout_minutes=15)
    registry = Settings(data_dir=tmp_path, database_url=url)
    app = create_app(settings, registry=registry, engine=engine, clock=clock)
    yield Api(app, engine, clock, settings)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The service on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'caltrace.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database()
    yield from _api(url, tmp_path)


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[Api]:
    """The service on SQLite."""
    yield from _api(f"sqlite:///{tmp_path / 'caltrace.db'}", tmp_path)
