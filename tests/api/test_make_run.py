"""What `make run` leaves, as a new user meets it (issue 16, item 4): the demo lab seeded (once), the data directory
found the same from any working directory, the virtual lab on fixed, configurable ports with its manifest where
`caltrace read` and `caltrace control` look, a clear message when a port is taken, a "what next" hint, and
`calibrate --demo` recording its run in that same lab.

Every command runs in a subprocess. Where the default data directory matters, the CLI runs as an installed
package would (``registry.settings.source_checkout`` answers None), so the default is ``$XDG_DATA_HOME/caltrace``
under the test's own directory, never the checkout's ``var``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import SCENARIOS, scenario
from registry.settings import DEFAULT_LAB_PORT, Settings, default_data_dir, source_checkout

CALTRACE = str(Path(sys.executable).parent / "caltrace")
ROOT = Path(__file__).resolve().parents[2]
#: the CLI as an installed package runs it: no source checkout, so the data directory defaults to XDG's
AS_INSTALLED = (
    "import sys, registry.settings as s; s.source_checkout = lambda: None; "
    "from api.cli import main; sys.argv[0] = 'caltrace'; main()"
)


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env.update(settings)
    return env


def caltrace(
    env: dict[str, str], *args: str, cwd: Path | None = None, installed: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", AS_INSTALLED, *args] if installed else [CALTRACE, *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def row_counts(database: Path) -> dict[str, int]:
    """Rows per table of a SQLite registry, read with the standard library (independent of caltrace's ORM)."""
    with sqlite3.connect(database) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def free_port_run(count: int) -> int:
    """A base port with ``count + 1`` consecutive free ports on 127.0.0.1 (control, then the instruments)."""
    for base in range(21000, 60000, 97):
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count + 1):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError("no run of free ports")


# --- the data directory ---------------------------------------------------------------------------------------


def test_the_default_data_directory_is_the_same_from_any_working_directory(tmp_path: Path) -> None:
    env = clean_env()
    one, two = tmp_path / "one", tmp_path / "two" / "deeper"
    one.mkdir()
    two.mkdir(parents=True)
    shown = [caltrace(env, "db", "current", cwd=cwd) for cwd in (one, two, ROOT)]
    assert all(done.returncode == 0 for done in shown), [d.stderr for d in shown]
    urls = {done.stdout.splitlines()[0] for done in shown}
    # from a source checkout the default is its var directory, wherever the command is run from
    assert urls == {f"database: sqlite:///{ROOT / 'var' / 'caltrace.db'}"}
    assert not (one / "var").exists() and not (two / "var").exists()


def test_installed_the_default_data_directory_is_xdg_data_home(tmp_path: Path) -> None:
    env = clean_env(XDG_DATA_HOME=str(tmp_path / "xdg"))
    shown = [caltrace(env, "db", "current", cwd=cwd, installed=True) for cwd in (tmp_path, ROOT)]
    assert all(done.returncode == 0 for done in shown), [d.stderr for d in shown]
    assert {done.stdout.splitlines()[0] for done in shown} == {
        f"database: sqlite:///{tmp_path / 'xdg' / 'caltrace' / 'caltrace.db'}"
    }
    assert "no registry there yet" in shown[0].stdout  # `db current` reports, and creates nothing
    assert not (tmp_path / "xdg" / "caltrace" / "caltrace.db").exists()


def test_a_relative_data_directory_is_made_absolute_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALTRACE_DATA_DIR", "lab-data")
    assert Settings().data_dir == tmp_path.resolve() / "lab-data"
    monkeypatch.delenv("CALTRACE_DATA_DIR")
    assert Settings().data_dir == default_data_dir().resolve()
    assert source_checkout() == ROOT and default_data_dir() == ROOT / "var"


# --- the demo lab ---------------------------------------------------------------------------------------------


def test_seed_demo_fills_the_lab_once(tmp_path: Path) -> None:
    env = clean_env(CALTRACE_DATA_DIR=str(tmp_path / "var"))
    assert caltrace(env, "db", "upgrade").returncode == 0
    database = tmp_path / "var" / "caltrace.db"
    empty = row_counts(database)  # what the migrations themselves put in (e.g. the audit chain's head)
    first = caltrace(env, "db", "seed-demo")
    assert first.returncode == 0, first.stderr
    seeded = row_counts(database)

    # every demo's technician, reviewer, instrument (or lot) and standards are there
    with sqlite3.connect(database) as db:
        staff = {r[0] for r in db.execute("SELECT username FROM staff")}
        serials = {r[0] for r in db.execute("SELECT serial_number FROM measuring_instrument")}
        lots = {r[0] for r in db.execute("SELECT lot_number FROM prepackage_lot")}
        codes = {r[0] for r in db.execute("SELECT code FROM reference_standard")}
        labs = db.execute("SELECT count(*) FROM laboratory").fetchone()[0]
    assert {"demo", "demo-reviewer"} <= staff and labs == 1
    for procedure in SCENARIOS:
        demo = scenario(procedure)
        assert (demo.lot in lots) if demo.lot else (demo.instrument in serials), procedure
        assert set(demo.standards.values()) <= codes, procedure
    # the count it reports: the rows it added to the registry's own tables (not Alembic's nor SQLite's own)
    added = sum(
        n - empty.get(table, 0)
        for table, n in seeded.items()
        if table != "alembic_version" and not table.startswith("sqlite_")
    )
    assert f"({added} records added)" in first.stdout

    again = caltrace(env, "db", "seed-demo")
    assert again.returncode == 0, again.stderr
    assert "nothing to add" in again.stdout
    assert row_counts(database) == seeded  # not one row more, in any table (the audit log included)


def test_seed_demo_needs_a_migrated_registry(tmp_path: Path) -> None:
    env = clean_env(CALTRACE_DATA_DIR=str(tmp_path / "var"))
    done = caltrace(env, "db", "seed-demo")
    assert done.returncode == 1 and "caltrace db upgrade" in done.stderr and "Traceback" not in done.stderr


def test_a_demo_run_lands_in_the_default_lab_and_runs_list_shows_it(tmp_path: Path) -> None:
    env = clean_env(XDG_DATA_HOME=str(tmp_path / "xdg"), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    lab_dir = tmp_path / "xdg" / "caltrace"
    for step in (("db", "upgrade"), ("db", "seed-demo")):  # what `make run` does first
        assert caltrace(env, *step, installed=True).returncode == 0
    done = caltrace(env, "calibrate", "--demo", "-p", "water-meter-verification-r49", "--json", installed=True)
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    assert "fresh data directory" not in done.stderr and not list((tmp_path / "tmp").glob("caltrace-demo-*"))
    listed = caltrace(env, "runs", "list", cwd=tmp_path, installed=True)
    assert listed.returncode == 0, listed.stderr
    assert run_id[:8] in listed.stdout
    with sqlite3.connect(lab_dir / "caltrace.db") as db:
        assert db.execute("SELECT count(*) FROM run WHERE id = ?", (run_id,)).fetchone()[0] == 1


def test_without_a_lab_a_demo_gets_a_fresh_data_directory(tmp_path: Path) -> None:
    # (was test_cli_calibrate's subprocess test, which depended on whether the checkout's var held a registry)
    env = clean_env(XDG_DATA_HOME=str(tmp_path / "xdg"), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    done = caltrace(env, "calibrate", "--demo", "-p", "water-meter-verification-r49", "--json", installed=True)
    assert done.returncode == 0, done.stderr
    made = list((tmp_path / "tmp").glob("caltrace-demo-*"))
    assert len(made) == 1 and (made[0] / "caltrace.db").exists() and (made[0] / "readings.db").exists()
    assert f"demo: fresh data directory {made[0]}" in done.stderr
    assert not (tmp_path / "xdg" / "caltrace" / "caltrace.db").exists()


# --- the virtual lab: ports, manifest, hint -------------------------------------------------------------------


@pytest.fixture
def running_lab(tmp_path: Path) -> Iterator[tuple[dict[str, str], int, subprocess.Popen[str]]]:
    """`caltrace simulate` as `make run` starts it (no --manifest, no --port), on a base port of its own."""
    base = free_port_run(10)
    env = clean_env(CALTRACE_DATA_DIR=str(tmp_path / "var"), CALTRACE_LAB_PORT=str(base))
    proc = subprocess.Popen(
        [CALTRACE, "simulate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    manifest = tmp_path / "var" / "lab.json"
    deadline = time.monotonic() + 30
    while not manifest.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "no manifest in the data directory"
        time.sleep(0.05)
    yield env, base, proc
    proc.terminate()
    proc.wait(10)


def test_the_lab_listens_on_the_configured_ports_and_read_and_control_find_it(
    running_lab: tuple[dict[str, str], int, subprocess.Popen[str]], tmp_path: Path
) -> None:
    env, base, _ = running_lab
    doc = json.loads((tmp_path / "var" / "lab.json").read_text())
    assert doc["control"] == f"tcp://127.0.0.1:{base}"
    ports = {e["id"]: int(e["url"].split("://", 1)[1].split("?")[0].rsplit(":", 1)[1]) for e in doc["instruments"]}
    assert ports["bal-1"] == base + 1 and ports["dmm-2"] == base + 10  # the README's order
    assert sorted(ports.values()) == list(range(base + 1, base + 11))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    placed = caltrace(env, "control", "bal-1", "place", "load_g=100", cwd=elsewhere)  # no --manifest
    assert placed.returncode == 0, placed.stderr
    deadline = time.monotonic() + 20
    while True:
        read = caltrace(env, "read", "bal-1", "--json", cwd=elsewhere)  # an id, no --model: from the manifest
        assert read.returncode == 0, read.stderr
        reading = json.loads(read.stdout.splitlines()[-1])
        if (reading["status"] == "stable" and reading["value"] > 0) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert reading["instrument_id"] == "bal-1" and reading["unit"] == "g"
    assert reading["value"] == pytest.approx(100, abs=0.01)
    unknown = caltrace(env, "read", "bal-9", cwd=elsewhere)
    assert unknown.returncode == 2 and "bal-1" in unknown.stderr and "Traceback" not in unknown.stderr


def test_the_start_prints_what_to_try_next(running_lab: tuple[dict[str, str], int, subprocess.Popen[str]]) -> None:
    _, _, proc = running_lab
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    for command in ("caltrace calibrate --demo -p nawi-calibration-cg18", "caltrace runs list", "caltrace read bal-1"):
        assert command in out


def test_a_port_in_use_is_named_with_how_to_choose_another(tmp_path: Path) -> None:
    base = free_port_run(10)
    env = clean_env(CALTRACE_DATA_DIR=str(tmp_path / "var"))
    for taken in (base, base + 3):  # the control port, then an instrument's
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", taken))
            holder.listen()
            done = caltrace(env, "simulate", "--port", str(base), "--duration", "0.1", timeout=60)
        assert done.returncode == 2, done.stderr
        assert f"port {taken} on 127.0.0.1 is already in use" in done.stderr
        assert "--port N" in done.stderr and "CALTRACE_LAB_PORT" in done.stderr
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "var" / "lab.json").exists()


def test_the_default_lab_port_is_the_documented_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALTRACE_LAB_PORT", raising=False)
    assert Settings().lab_port == DEFAULT_LAB_PORT == 4100
    assert "| `CALTRACE_LAB_PORT` | `4100` |" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_control_without_a_running_lab_says_to_start_it(tmp_path: Path) -> None:
    env = clean_env(CALTRACE_DATA_DIR=str(tmp_path / "var"))
    for args in (("control", "bal-1", "place", "load_g=1"), ("read", "bal-1")):
        done = caltrace(env, *args)
        assert done.returncode == 2 and "caltrace simulate" in done.stderr and "Traceback" not in done.stderr


def test_seeding_again_on_later_days_adds_nothing_while_everything_is_in_force(tmp_path: Path) -> None:
    """A `make run` next month adds nothing either: certificates (due 275 days after the seed) and officer cards
    (3 years) are still in force, so nothing is renewed (the audit log gains no entry)."""
    from datetime import date, timedelta

    from acquisition.procedures import procedure_ids
    from lab import seed_demo_lab
    from registry.db import make_engine, session_scope, upgrade

    database = tmp_path / "caltrace.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    day = date(2026, 3, 2)
    with session_scope(engine, "demo") as s:
        seed_demo_lab(s, day, procedure_ids())
    seeded = row_counts(database)
    for later in (day + timedelta(days=1), day + timedelta(days=30), day + timedelta(days=200)):
        with session_scope(engine, "demo") as s:
            seed_demo_lab(s, later, procedure_ids())
        assert row_counts(database) == seeded, later
    engine.dispose()
