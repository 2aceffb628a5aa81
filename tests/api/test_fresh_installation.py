"""Issue 5's "done when", as a user does it from the command line on a fresh data directory: create and migrate
the registry, fill it from the example spreadsheet, ask what is due, verify the audit chain, and keep readings in
either store — with nothing lost while the InfluxDB server is away."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.support.influx import InfluxServer, require_influxd

CALTRACE = str(Path(sys.executable).parent / "caltrace")
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "instruments.csv"


def caltrace(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CALTRACE, *args], env=env, input=stdin, capture_output=True, text=True, timeout=90, check=False
    )


def fresh_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env["CALTRACE_DATA_DIR"] = str(data_dir)
    env.update(settings)
    return env


def keep_readings(env: dict[str, str], run: str, values: list[float]) -> subprocess.CompletedProcess[str]:
    """`caltrace read --store` on a manual instrument, the values typed on stdin."""
    return caltrace(
        env,
        "read",
        "manual:?unit=g&quantity=mass",
        "--model",
        "manual",
        "--id",
        "bal-1",
        "--count",
        str(len(values)),
        "--interval",
        "0",
        "--store",
        "--run",
        run,
        stdin="".join(f"{v}\n" for v in values),
    )


def test_registry_from_nothing_to_due_report_and_audit(tmp_path: Path) -> None:
    env = fresh_env(tmp_path / "var")
    assert caltrace(env, "db", "upgrade").returncode == 0
    imported = caltrace(env, "registry", "import", "instruments", str(EXAMPLE))
    assert imported.returncode == 0, imported.stdout + imported.stderr

    # Independently of the importer: every example row with a calibration date has a due date, so a window of
    # 20 years from the earliest one lists exactly those rows.
    with EXAMPLE.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    dated = {r["serial_number"] for r in rows if r["last_calibrated"].strip()}
    due = caltrace(env, "report", "due", "--days", "7300", "--today", "2020-01-01", "--format", "csv")
    assert due.returncode == 0, due.stderr
    assert {r["serial_number"] for r in csv.DictReader(io.StringIO(due.stdout.removeprefix("\ufeff")))} == dated

    # The first example row: calibrated 15/03/2025, every 12 months, so due on 15 March 2026.
    first = next(
        r
        for r in csv.DictReader(io.StringIO(due.stdout.removeprefix("\ufeff")))
        if r["serial_number"] == rows[0]["serial_number"]
    )
    assert date.fromisoformat(first["next_due"]) == date(2026, 3, 15)

    verified = caltrace(env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    customers = {r["customer_tax_code"] or r["customer"] for r in rows}
    # one entry per instrument and per new customer, plus the import event
    assert f"intact: {len(rows) + len(customers) + 1} entries" in verified.stdout


def test_readings_kept_in_the_sqlite_store(tmp_path: Path) -> None:
    env = fresh_env(tmp_path / "var")
    done = keep_readings(env, "R-1", [100.0001, 100.0002, 99.9999])
    assert done.returncode == 0, done.stderr
    counted = caltrace(env, "readings", "count", "--run", "R-1")
    assert counted.stdout.strip() == "3 readings stored, 0 waiting in the spool"
    shown = caltrace(env, "readings", "show", "--run", "R-1", "-f", "csv")
    assert [float(r["value"]) for r in csv.DictReader(io.StringIO(shown.stdout.removeprefix("\ufeff")))] == [
        100.0001,
        100.0002,
        99.9999,
    ]


@pytest.fixture
def influx(tmp_path: Path) -> Iterator[InfluxServer]:
    """A server of this test's own: the test stops and starts it."""
    server = InfluxServer(tmp_path / "influxd", binary=require_influxd())
    try:
        server.start()
        yield server
    finally:
        server.close()


def test_readings_survive_the_influx_server_going_away(tmp_path: Path, influx: InfluxServer) -> None:
    env = fresh_env(tmp_path / "var", CALTRACE_STORE="influx", CALTRACE_INFLUX_URL=influx.url)
    assert keep_readings(env, "R-2", [1.0, 2.0]).returncode == 0

    influx.stop()
    away = keep_readings(env, "R-2", [3.0, 4.0, 5.0])
    assert away.returncode == 0, away.stderr  # the technician's work goes on
    assert "3 readings wait in the spool" in away.stderr
    stuck = caltrace(env, "readings", "flush", "--timeout", "1")
    assert stuck.returncode == 1 and "3 readings still wait" in stuck.stderr

    influx.start()
    sent = caltrace(env, "readings", "flush")
    assert sent.returncode == 0, sent.stderr
    counted = caltrace(env, "readings", "count", "--run", "R-2")
    assert counted.stdout.strip() == "5 readings stored, 0 waiting in the spool"
    shown = caltrace(env, "readings", "show", "--run", "R-2", "-f", "csv")
    assert [float(r["value"]) for r in csv.DictReader(io.StringIO(shown.stdout.removeprefix("\ufeff")))] == [
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
    ]
