"""`caltrace procedures` and `procedures show CODE`; a misspelt `--param` refused before any run is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from acquisition.procedures import get_procedure, procedure_ids
from registry.db import make_engine, session_factory
from registry.models import Run

CALTRACE = str(Path(sys.executable).parent / "caltrace")
CG18 = "nawi-calibration-cg18"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    return environ


def caltrace(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALTRACE, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_procedures_still_lists_every_procedure(env: dict[str, str]) -> None:
    done = caltrace(env, "procedures")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == procedure_ids()
    listed = json.loads(caltrace(env, "procedures", "--json").stdout)
    assert [row["id"] for row in listed] == procedure_ids()


def test_show_prints_each_parameter_in_vietnamese_then_english_on_request(env: dict[str, str]) -> None:
    done = caltrace(env, "procedures", "show", CG18)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{CG18} v2 — Hiệu chuẩn cân không tự động")
    assert "dấu chấm: 0.5" in done.stdout
    row = next(line for line in lines if line.startswith("repetitions "))
    assert row.split() == ["repetitions", "whole", "5", ">=", "3"]
    assert lines[lines.index(row) + 1].strip().startswith("Số lần cân lặp lại")
    timeout = next(line for line in lines if line.startswith("stability_timeout_s "))
    assert timeout.split() == ["stability_timeout_s", "number", "s", "30.0", ">", "0"]
    loads = next(line for line in lines if line.startswith("loads_g "))
    assert loads.split() == ["loads_g", "numbers", "g", "xem", "mô", "tả", ">", "0"]

    english = caltrace(env, "procedures", "show", CG18, "--lang", "en")
    assert english.returncode == 0, english.stderr
    assert "Repeatability weighings" in english.stdout and "Số lần cân lặp lại" not in english.stdout
    assert "see description" in english.stdout


@pytest.mark.parametrize("code", procedure_ids())
def test_show_json_gives_every_declaration(env: dict[str, str], code: str) -> None:
    done = caltrace(env, "procedures", "show", code, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["id"] == code
    assert doc["parameters"] == [s.as_dict() for s in get_procedure(code).parameter_specs]
    text = caltrace(env, "procedures", "show", code).stdout
    for spec in get_procedure(code).parameter_specs:
        assert f"\n{spec.name} " in text and spec.description_vi in text


def test_show_an_unknown_procedure_or_language_is_refused(env: dict[str, str]) -> None:
    done = caltrace(env, "procedures", "show", "nawi-cg18")
    assert done.returncode == 2 and CG18 in done.stderr and "Traceback" not in done.stderr
    done = caltrace(env, "procedures", "show", CG18, "--lang", "fr")
    assert done.returncode == 2 and "vi or en" in done.stderr


def test_a_misspelt_param_is_refused_with_the_right_name_and_no_run_is_written(env: dict[str, str]) -> None:
    done = caltrace(env, "calibrate", "--demo", "--procedure", CG18, "--param", "repetitons=10")
    assert done.returncode == 2, done.stderr
    assert "unknown parameter 'repetitons' (did you mean 'repetitions'?)" in done.stderr
    assert f"caltrace procedures show {CG18}" in done.stderr and "Traceback" not in done.stderr
    registry = make_engine(f"sqlite:///{env['CALTRACE_DATA_DIR']}/caltrace.db")
    with session_factory(registry)() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 0
    registry.dispose()


def test_a_decimal_comma_in_a_param_is_refused_with_the_hint(env: dict[str, str]) -> None:
    done = caltrace(env, "calibrate", "--demo", "--procedure", CG18, "--param", "repeat_load_g=100,5")
    assert done.returncode == 2, done.stderr
    assert "got '100,5'; write the decimal point as a dot: 100.5" in done.stderr


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("repetitions=" + "[" * 100_000, "parameter repetitions must be a whole number >= 3 and <= 10000, got '[[["),
        ("repetitions=" + "9" * 5000, "parameter repetitions must be a whole number >= 3 and <= 10000, got '999"),
        ("repetitions=100000000", "parameter repetitions must be a whole number >= 3 and <= 10000, got 100000000"),
        ("loads_g=[50,100,150,200,1e308]", "loads_g[4] must be a number > 0 (g), got 1e+308; numbers are limited"),
    ],
    ids=["deep-nesting", "5000-digits", "1e8-repetitions", "1e308-load"],
)
def test_a_hostile_param_gets_one_line_and_exit_2(env: dict[str, str], param: str, message: str) -> None:
    """Issue 14: JSON nested 100 000 deep, a 5000-digit integer, 10^8 repetitions (3.7 GB before), 1e308 in loads_g."""
    done = caltrace(env, "calibrate", "--demo", "--procedure", CG18, "--param", param)
    assert done.returncode == 2, done.stderr[-500:]
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()[-1]) < 400  # a short excerpt of the value, not all of it


def test_lang_en_swaps_the_step_titles(env: dict[str, str]) -> None:
    """Issue 14: `--lang en` put the prompts in English but not the step titles of the progress line; since issue
    16 the console speaks one language at a time: the step titles and the actions in the run's language only."""
    done = caltrace(env, "calibrate", "--demo", "--procedure", "prepackage-r87", "--lang", "en", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert " 1/62 empty pan\n" in done.stderr and "[demo] Leave the pan empty" in done.stderr
    assert "Đĩa cân trống" not in done.stderr
    vi = caltrace(env, "calibrate", "--demo", "--procedure", "prepackage-r87", "--json")
    assert " 1/62 Đĩa cân trống\n" in vi.stderr and "[mô phỏng] Để trống đĩa cân" in vi.stderr
    assert "empty pan" not in vi.stderr
