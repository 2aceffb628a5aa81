"""benchmarks/store.py still runs (quick sizes) and leaves no influxd behind; its figures are read by people."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.influx import require_influxd

ROOT = Path(__file__).resolve().parents[2]


def influxd_pids() -> set[str]:
    found = subprocess.run(["pgrep", "-x", "influxd"], capture_output=True, text=True, check=False)
    return set(found.stdout.split())


def test_store_benchmark_runs_and_prints_its_ratios() -> None:
    require_influxd()
    before = influxd_pids()
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "store.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("[sqlite]") and "ratio" in line for line in lines), result.stdout
    assert any(line.startswith("[influx v1]") and "ratio" in line for line in lines), result.stdout
    assert influxd_pids() <= before  # the benchmark's own server is gone
