"""Fixtures for the reading-store tests: a real InfluxDB 1.6 for the session and the store under test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from acquisition.store import InfluxReadingStore, ReadingStore, SQLiteReadingStore
from tests.support.influx import InfluxServer, require_influxd

INFLUX_USER = ("caltrace", "s3cret pass")


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """One influxd (authentication on) shared by the session; tests use their own databases."""
    binary = require_influxd()
    server = InfluxServer(tmp_path_factory.mktemp("influxd"), auth=INFLUX_USER, binary=binary)
    try:
        server.start()
        yield server
    finally:
        server.close()


def influx_store(server: InfluxServer, spool_dir: Path, **kwargs: object) -> InfluxReadingStore:
    """A v1 store on ``server`` with a database of its own (so tests never see each other's readings)."""
    options: dict[str, object] = {
        "api": "v1",
        "username": INFLUX_USER[0],
        "password": INFLUX_USER[1],
        "replay_interval": 0.1,
        "timeout": 5.0,
    }
    options.update(kwargs)
    database = str(options.pop("database", f"t_{uuid.uuid4().hex[:12]}"))
    return InfluxReadingStore(server.url, database, spool_dir=spool_dir, **options)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "influx"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadingStore]:
    """The store under test: SQLite in a temp dir, or InfluxDB v1 on the real server."""
    if request.param == "sqlite":
        made: ReadingStore = SQLiteReadingStore(tmp_path / "readings.db")
    else:
        made = influx_store(request.getfixturevalue("influx_server"), tmp_path / "spool")
    with made:
        yield made
