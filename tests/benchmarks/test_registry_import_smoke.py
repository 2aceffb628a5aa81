"""benchmarks/registry_import.py still runs (quick size) and prints its rows/s; its figures are read by people."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_registry_import_benchmark_runs_and_prints_rows_per_second() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "registry_import.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("[sqlite concurrent] 2000 rows") and "rows/s" in line for line in lines), result.stdout
    assert any(line.startswith("[sqlite single] 2000 rows") for line in lines), result.stdout
