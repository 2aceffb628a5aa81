"""Clean failure output (issue 16, item 5): no library's log lines on the terminal (they go to ``caltrace.log`` in
the data directory), each message once, and the documented exit codes (README, "Exit codes")."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CALTRACE = str(Path(sys.executable).parent / "caltrace")
ROOT = Path(__file__).resolve().parents[2]
#: the marks of a library's log line on a terminal (Python's default format, or a level word first)
LIBRARY_LINE = re.compile(r"^(INFO|DEBUG|WARNING|ERROR)[: ]|alembic|sqlalchemy|pymodbus|urllib3|influxdb", re.M)


def env_for(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env["CALTRACE_DATA_DIR"] = str(data_dir)
    env.update(settings)
    return env


def caltrace(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALTRACE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_db_upgrade_prints_its_one_line_and_alembic_writes_to_the_log_file(tmp_path: Path) -> None:
    env = env_for(tmp_path / "var")
    done = caltrace(env, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # Alembic's "Running upgrade ..." INFO lines are not on the terminal
    assert done.stdout.count("\n") == 1 and "migrated from empty to revision" in done.stdout
    log = (tmp_path / "var" / "caltrace.log").read_text(encoding="utf-8")
    assert "INFO alembic.runtime.migration: Running upgrade" in log  # ... they are in the log file


def test_a_demo_run_shows_no_library_log_line(tmp_path: Path) -> None:
    env = env_for(tmp_path / "var")
    done = caltrace(env, "calibrate", "--demo", "-p", "water-meter-verification-r49", "--json")
    assert done.returncode == 0, done.stderr
    assert "Running upgrade" not in done.stderr
    assert not LIBRARY_LINE.search(done.stderr), done.stderr
    assert "Running upgrade" in (tmp_path / "var" / "caltrace.log").read_text(encoding="utf-8")


def test_a_modbus_instrument_that_refuses_gives_one_error_line_and_no_pymodbus_line(tmp_path: Path) -> None:
    env = env_for(tmp_path / "var")
    port = closed_port()
    done = caltrace(env, "read", f"modbus+tcp://127.0.0.1:{port}?unit=1&timeout=0.3", "--model", "comet-t7510")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "cannot connect" in lines[0], done.stderr
    assert "pymodbus" in (tmp_path / "var" / "caltrace.log").read_text(encoding="utf-8")  # its own line, filed


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("CALTRACE_TIMEZONE", "Mars/Olympus_Mons", "not a known time zone"),
        ("CALTRACE_DATABASE_URL", "mysql://db/caltrace", "caltrace supports SQLite and PostgreSQL"),
        ("CALTRACE_DATABASE_URL", "not a url", "is not a database URL"),
    ],
)
def test_a_wrong_setting_exits_2_with_one_line(tmp_path: Path, setting: str, value: str, words: str) -> None:
    # exit 2 (bad usage: the user must change the setting), not 1 as a database that does not answer
    env = env_for(tmp_path / "var", **{setting: value})
    command = ("report", "due", "--days", "30") if setting == "CALTRACE_TIMEZONE" else ("db", "current")
    if setting == "CALTRACE_TIMEZONE":
        assert caltrace(env_for(tmp_path / "var"), "db", "upgrade").returncode == 0
    done = caltrace(env, *command)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_setting_of_the_wrong_type_exits_2_naming_it(tmp_path: Path) -> None:
    done = caltrace(env_for(tmp_path / "var", CALTRACE_LAB_PORT="forty-one"), "simulate", "--duration", "0.1")
    assert done.returncode == 2
    assert done.stderr.startswith("error: a setting is wrong: CALTRACE_LAB_PORT") and "Traceback" not in done.stderr


def test_an_unmigrated_registry_is_not_found_exit_1(tmp_path: Path) -> None:
    done = caltrace(env_for(tmp_path / "var"), "runs", "list")
    assert done.returncode == 1 and "caltrace db upgrade" in done.stderr and done.stderr.count("\n") == 1


def test_the_readme_documents_the_exit_codes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in ("0", "1", "2", "3", "130", "143"):
        assert f"| {code} |" in section, code
