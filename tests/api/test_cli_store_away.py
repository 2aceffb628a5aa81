"""With the InfluxDB server away, a run still completes and the CLI says what it knows (issue 14.8): the count is
unknown (`"readings": null`, not -1), the readings waiting in the spool are counted, and `readings count` reports the
spool instead of failing. "Away" is a port nothing listens on (port 9, discard, is not served here)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CALTRACE = str(Path(sys.executable).parent / "caltrace")


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ |= {
        "CALTRACE_DATA_DIR": str(tmp_path / "var"),
        "CALTRACE_STORE": "influx",
        "CALTRACE_INFLUX_URL": f"http://127.0.0.1:{_closed_port()}",
        "CALTRACE_INFLUX_API": "v1",
    }
    return environ


def caltrace(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALTRACE, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def test_a_run_with_the_server_away_reports_its_spooled_readings(env: dict[str, str]) -> None:
    done = caltrace(env, "calibrate", "--demo", "--procedure", "prepackage-r87", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    assert doc["state"] == "completed"
    assert doc["readings"] is None and doc["spooled"] > 0  # every reading is safe in the spool
    counted = caltrace(env, "readings", "count")
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.strip() == f"unknown readings stored, {doc['spooled']} waiting in the spool"
    assert "cannot count the stored readings" in counted.stderr and "Traceback" not in counted.stderr
