"""Smoke test: the benchmark script runs end to end in --quick mode and prints every figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_quick_runs():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "uncertainty.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    text = out.stdout
    for marker in ("(a) GUM", "(b)", "(c) Monte Carlo", "(d) peak memory", "ratio", "total"):
        assert marker in text
