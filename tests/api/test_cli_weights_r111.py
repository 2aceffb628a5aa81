"""`caltrace calibrate --demo --procedure weight-calibration-r111 --json` as a technician runs it: the run completes
and the stored result carries the full OIML R111-1:2004 C.6 budget, one row per term with its source.

Expected U (demo data, lab/weights_r111.py), worked by hand in mg: reference U/k = 0.05; drift from the two
demo certificates |200.000 05 − 200.000 03| g = 0.02 mg half-width, 0.02/√3 = 0.011547; resolution 0.01/√6 =
0.0040825; certified repeatability 0.02/√3 = 0.011547; eccentricity (3/30)·0.05/(2√3) = 0.0014434; magnetism 0:
u = 0.052777, U = 0.10555; buoyancy (equal densities, |ρ_a − ρ_0| <= 0.03 kg/m³) and sensitivity (1e-4 of
< 1 mg) add less than 0.0003 to U.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from registry.db import make_engine, session_factory
from registry.models import Result

CALTRACE = str(Path(sys.executable).parent / "caltrace")
PROCEDURE = "weight-calibration-r111"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    return environ


def test_demo_completes_with_the_full_r111_budget(env: dict[str, str]) -> None:
    done = subprocess.run(
        [CALTRACE, "calibrate", "--demo", "--procedure", PROCEDURE, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["procedure"] == PROCEDURE and doc["state"] == "completed"
    (result,) = doc["results"]
    assert result["conformity"] == "pass" and result["mpe"] == 1.0
    u = math.sqrt(0.05**2 + 2 * (0.02 / math.sqrt(3)) ** 2 + 0.01**2 / 6 + (0.1 * 0.05 / (2 * math.sqrt(3))) ** 2)
    assert round(2 * u, 5) == 0.10555
    assert 2 * u * (1 - 1e-9) <= result["U"] <= 2 * u + 0.0003

    engine = make_engine(f"sqlite:///{Path(env['CALTRACE_DATA_DIR']) / 'caltrace.db'}")
    with session_factory(engine)() as s:
        (stored,) = s.scalars(select(Result).where(Result.run_id == doc["run_id"])).all()
        budget, evidence = stored.budget, stored.evidence
    engine.dispose()
    assert budget is not None and {"model", "unit", "rows", "u", "dof", "k", "U"} <= set(budget)
    assert {"conventional_mass_g", "air_density_kg_m3"} <= set(evidence)  # the raw data beside the budget
    rows = {row["input"]: row for row in budget["rows"]}
    assert set(rows) == {"m_cr", "drift_r", "dI", "buoyancy", "sensitivity", "resolution", "eccentricity", "magnetism"}
    assert all(row["source"] for row in rows.values())
    assert all(row["u"] > 0 or row.get("note") for row in rows.values())
    assert "-PREV" in rows["drift_r"]["source"] and "C.6.2" in rows["drift_r"]["source"]
