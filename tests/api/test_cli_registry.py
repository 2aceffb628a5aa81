"""`caltrace db`, `report` and `audit` as a user runs them: the real command, a data directory, both engines."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from registry.db import make_engine
from tests.registry.dataset import build
from tests.support.postgres import PostgresServer

CALTRACE = str(Path(sys.executable).parent / "caltrace")


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Environment of a fresh installation: its own data directory, and on PostgreSQL its own database."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        environ["CALTRACE_DATABASE_URL"] = server.create_database()
    return environ


def caltrace(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALTRACE, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def database_url(env: dict[str, str]) -> str:
    return env.get("CALTRACE_DATABASE_URL") or f"sqlite:///{env['CALTRACE_DATA_DIR']}/caltrace.db"


def test_commands_refuse_an_unmigrated_database(env: dict[str, str]) -> None:
    for args in (["report", "due", "--days", "30"], ["audit", "verify"]):
        done = caltrace(env, *args)
        assert done.returncode == 1
        assert "run `caltrace db upgrade`" in done.stderr
        assert "Traceback" not in done.stderr


def test_upgrade_reports_and_audit(env: dict[str, str]) -> None:
    done = caltrace(env, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert "migrated from empty to revision" in done.stdout
    again = caltrace(env, "db", "upgrade")
    assert "already at revision" in again.stdout
    engine = make_engine(database_url(env))
    build(engine)
    engine.dispose()

    due = caltrace(env, "report", "due", "--days", "30", "--today", "2026-11-21", "--format", "csv")
    assert due.returncode == 0, due.stderr
    rows = list(csv.DictReader(io.StringIO(due.stdout.removeprefix("\ufeff"))))
    assert [(r["serial_number"], r["days_left"]) for r in rows] == [
        ("WM-1", "-20"),
        ("FD-1", "0"),
        ("BAL-001", "4"),
        ("BAL-002", "30"),
    ]
    assert rows[0]["customer"] == "Xí nghiệp Nước sạch Số 2"

    table = caltrace(env, "report", "due", "--days", "30", "--today", "2026-11-21", "--field", "mass")
    assert table.returncode == 0 and "BAL-001" in table.stdout and "WM-1" not in table.stdout

    annual = caltrace(env, "report", "annual", "--year", "2026", "--format", "json")
    doc = json.loads(annual.stdout)
    assert doc["total"]["runs"] == 4 and doc["total"]["passed"] == 2 and doc["total"]["failed"] == 1
    assert (doc["customers_served"], doc["group2_instruments"], doc["certificates_issued"]) == (3, 3, 3)
    # the dataset's lot checks: r9 and r11 conforming, r10 not, on lots L-1 and L-2 of one packer
    assert doc["prepackage_lots"] == {
        "runs": 3,
        "lots": 2,
        "conforming": 2,
        "not_conforming": 1,
        "no_verdict": 0,
        "packers_served": 1,
    }
    table = caltrace(env, "report", "annual", "--year", "2026", "--lang", "en")
    assert "Prepackage lot checks: 3" in table.stdout and "Packers served: 1" in table.stdout
    vietnamese = caltrace(env, "report", "annual", "--year", "2026")  # the default language
    assert "Số lần kiểm tra lô hàng đóng gói sẵn: 3" in vietnamese.stdout
    as_csv = caltrace(env, "report", "annual", "--year", "2026", "--format", "csv")
    assert "prepackage_lots_not_conforming,,1,,," in as_csv.stdout.splitlines()

    trace = caltrace(env, "report", "trace", "W-E2-200g", "--from", "2026-01-01", "--to", "2026-12-31", "-f", "json")
    assert [r["run_id"] for r in json.loads(trace.stdout)] == ["r1", "r5", "r9", "r7"]

    standards = caltrace(env, "report", "standards", "--days", "30", "--today", "2026-11-21", "-f", "csv")
    assert [r["code"] for r in csv.DictReader(io.StringIO(standards.stdout.removeprefix("\ufeff")))] == [
        "DMM-REF",
        "BAL-REF",
        "W-E2-200g",
    ]

    verified = caltrace(env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "audit log intact" in verified.stdout


def test_bad_arguments_get_clear_errors(env: dict[str, str]) -> None:
    assert caltrace(env, "db", "upgrade").returncode == 0
    bad_date = caltrace(env, "report", "due", "--days", "30", "--today", "21/11/2026")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    nobody = caltrace(env, "report", "due", "--days", "30", "--customer", "Nobody Ltd")
    assert nobody.returncode == 1 and "no customer" in nobody.stderr
    no_std = caltrace(env, "report", "trace", "NOPE", "--from", "2026-01-01", "--to", "2026-01-02")
    assert no_std.returncode == 1 and "no reference standard" in no_std.stderr
    down = caltrace(env, "db", "downgrade", "base")
    assert down.returncode == 2 and "--yes" in down.stderr


def test_audit_verify_names_the_tampered_entry(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ["CALTRACE_DATA_DIR"] = str(tmp_path)
    assert caltrace(environ, "db", "upgrade").returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path}/caltrace.db")
    build(engine)
    engine.dispose()
    with sqlite3.connect(tmp_path / "caltrace.db") as db:
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 5")
    done = caltrace(environ, "audit", "verify")
    assert done.returncode == 1
    assert "broken at entry 5" in done.stderr
    assert "4 entries before it are intact" in done.stderr


def test_unreachable_postgres_is_a_clear_error(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ["CALTRACE_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/caltrace"
    done = caltrace(environ, "db", "current")
    assert done.returncode == 1
    assert "Connection refused" in done.stderr or "connection" in done.stderr.lower()
    assert "Traceback" not in done.stderr
