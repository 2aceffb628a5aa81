"""The benchmarks still run (quick sizes); their figures are read by people, not asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script", ["acquisition_rate.py", "modbus_rate.py"])  # uncertainty.py: tests/uncertainty
def test_benchmark_runs_and_prints_its_ratio(script: str) -> None:
    path = ROOT / "benchmarks" / script
    if not path.exists():
        pytest.fail(f"benchmarks/{script} is missing")
    result = subprocess.run(
        [sys.executable, str(path), "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ratio" in result.stdout


def test_certificate_benchmark_runs_and_prints_its_ratios() -> None:
    from certificates.verify.schema import schema_dir

    if schema_dir() is None:
        pytest.skip("no DCC schema directory (../shared/schemas/dcc or CALTRACE_SCHEMA_DIR), as tests/certificates")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "certificates.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(a) issue one certificate" in result.stdout and "(b) verify the signed DCC" in result.stdout
    assert result.stdout.count("ratio") >= 4
