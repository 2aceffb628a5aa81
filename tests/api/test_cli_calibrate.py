"""`caltrace calibrate` as a technician runs it: the demo, --json, refusals, kill -9 and --resume, `runs`.

Every test runs the real command in a subprocess with its own data directory (SQLite registry and reading store).
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scipy import stats
from sqlalchemy import select

from acquisition.procedures import procedure_ids
from acquisition.store import SQLiteReadingStore
from lab.nawi_cg18 import true_mass
from registry.db import make_engine, session_factory, session_scope
from registry.models import ReferenceStandard, Result, Run, RunState
from simulators.base import SimOptions
from simulators.electrical import Fluke5520ASimulator, Keysight34465ASimulator
from simulators.environment import EnvironmentSimulator
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread

CALTRACE = str(Path(sys.executable).parent / "caltrace")
CG18 = "nawi-calibration-cg18"
DMM = "dmm-calibration"
WATER = "water-meter-verification-r49"  # the quickest demo (about 5 s): three points, each with a budget
CG18_STEPS = 29  # adjustment (the demo adjusts), env, 5 x (zero, load), 5 eccentricity, zero, 5 up, 4 down, unload, env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    return environ


def caltrace(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALTRACE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def stored(env: dict[str, str], run_id: str) -> dict[str, int]:
    """Readings kept for ``run_id`` per step tag (``<step>#<attempt>``), read straight from the store file."""
    counts: dict[str, int] = {}
    with SQLiteReadingStore(Path(env["CALTRACE_DATA_DIR"]) / "readings.db") as store:
        for r in store.query(run_id=run_id):
            counts[r.step or ""] = counts.get(r.step or "", 0) + 1
    return counts


def test_demo_json_has_the_documented_shape(env: dict[str, str]) -> None:
    done = caltrace(env, "calibrate", "--demo", "--procedure", CG18, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert {"run_id", "procedure", "state", "readings", "results"} <= set(doc)
    assert doc["procedure"] == CG18 and doc["state"] == "completed"
    for row in doc["results"]:
        assert {"quantity", "point", "value", "unit", "U", "k", "conformity"} <= set(row)
    assert len(doc["results"]) == 13  # repeatability, eccentricity, 5 up + 4 down errors, U0 and alpha
    # "readings" is the count kept in the store, which the `readings` command reports independently
    counted = caltrace(env, "readings", "count", "--run", doc["run_id"])
    assert counted.returncode == 0, counted.stderr
    assert int(counted.stdout.split()[0]) == doc["readings"] == sum(stored(env, doc["run_id"]).values())
    assert f" {CG18_STEPS}/{CG18_STEPS} " in done.stderr  # progress reached the last step


def test_demo_prints_the_result_table_and_budget(env: dict[str, str]) -> None:
    done = caltrace(env, "calibrate", "--demo", "-p", CG18)
    assert done.returncode == 0, done.stderr
    # Vietnamese by default: the quantity, the conformity and the budget's title in words
    assert "sai số chỉ thị" in done.stdout and "không đánh giá" in done.stdout
    assert "ngân sách độ không đảm bảo đo #3" in done.stdout and "m_c" in done.stdout
    english = caltrace(env, "calibrate", "--demo", "-p", CG18, "--lang", "en")
    assert english.returncode == 0, english.stderr
    assert "error of indication" in english.stdout and "budget #3" in english.stdout
    assert "not assessed" in english.stdout and "notAssessed" not in english.stdout
    assert "Đặt 100 g ở giữa đĩa cân" in done.stderr  # the operator actions, Vietnamese first


def test_an_unknown_technician_and_an_unknown_procedure_are_refused(env: dict[str, str]) -> None:
    done = caltrace(env, "calibrate", "--demo", "-p", CG18, "--technician", "nobody")
    assert done.returncode == 2
    assert "nobody" in done.stderr and "Traceback" not in done.stderr
    done = caltrace(env, "calibrate", "--demo", "-p", "no-such-procedure")
    assert done.returncode == 2 and CG18 in done.stderr  # names the known procedures


def test_an_expired_standard_is_refused(env: dict[str, str]) -> None:
    assert caltrace(env, "calibrate", "--demo", "-p", CG18, "--json").returncode == 0  # seeds the demo lab
    url = f"sqlite:///{env['CALTRACE_DATA_DIR']}/caltrace.db"
    engine = make_engine(url)
    with session_scope(engine, "test") as s:
        weights = s.scalar(select(ReferenceStandard).where(ReferenceStandard.code == "DEMO-W-E2"))
        assert weights is not None
        for cert in weights.certificates:
            cert.due_on = date.today() - timedelta(days=400)
            cert.calibrated_on = date.today() - timedelta(days=800)
    engine.dispose()
    done = caltrace(env, "calibrate", "-p", CG18, "-i", "B912345678", "-t", "demo", "-s", "weights=DEMO-W-E2")
    assert done.returncode == 2
    assert "DEMO-W-E2" in done.stderr and "certificate" in done.stderr


def group_of(step: str) -> str:
    """The cg-18 step group of ``step`` (nawi_cg18.plan): rep-zero-i and rep-i; ecc-*; zero, load-*, down-*."""
    if step.startswith("rep-"):
        return "rep-" + step.rsplit("-", 1)[1]
    if step.startswith("ecc-"):
        return "eccentricity"
    if step == "zero" or step.startswith(("load-", "down-")):
        return "errors"
    return step


def test_kill_9_mid_run_then_resume_loses_and_duplicates_nothing(env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [CALTRACE, "calibrate", "--demo", "-p", CG18, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_id = ""
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if line.startswith("run "):
            run_id = line.split()[1].rstrip(":")
        if f" 10/{CG18_STEPS} " in line:  # step 10 has started: steps 1-9 are complete
            # kill inside step 10 once a reading of its attempt is stored (not after a fixed pause: on a loaded
            # machine the first reading can take longer than any pause chosen here)
            kept = sum(stored(env, run_id).values())
            until = time.monotonic() + 20
            while sum(stored(env, run_id).values()) == kept and time.monotonic() < until:
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert run_id

    before = stored(env, run_id)
    registry = make_engine(f"sqlite:///{env['CALTRACE_DATA_DIR']}/caltrace.db")
    with session_factory(registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state is RunState.RUNNING  # killed: nobody had the chance to pause it
        completed_before = dict(run.checkpoint["completed"])
    assert 9 <= len(completed_before) < CG18_STEPS

    done = caltrace(env, "calibrate", "--resume", run_id, "--demo", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["state"] == "completed" and doc["run_id"] == run_id
    after = stored(env, run_id)
    # nothing lost: every reading kept before the kill is still there, under the same step tag
    assert all(after.get(tag, 0) == n for tag, n in before.items()), (before, after)
    # the interrupted step ran again as attempt 2; its first attempt's readings stay stored
    interrupted = {tag.split("#")[0] for tag in before} - set(completed_before)
    assert interrupted and all(f"{step}#2" in after for step in interrupted)
    # nothing repeated but the interrupted unit: a step completed before the kill ran again only when it belongs to
    # the interrupted step's group (a repeatability weighing is its no-load and its load reading; the eccentricity
    # positions; the no-load and loading sequence of the errors of indication), which resumes from its start
    again = {group_of(step) for step in interrupted}
    for step in completed_before:
        assert (f"{step}#2" in after) == (group_of(step) in again), step
    assert doc["readings"] == sum(after.values()) > sum(before.values())
    with session_factory(registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state is RunState.COMPLETED
        assert len(run.checkpoint["completed"]) == CG18_STEPS
        results = s.scalars(select(Result).where(Result.run_id == run_id)).all()
        assert len(results) == len(doc["results"]) == 13
    registry.dispose()


def up2(x: float) -> str:
    """x > 0 rounded UP to two significant digits, as plain decimal text (the GUM 7.2.6 / ILAC P14 rule of
    docs/presentation.md), computed here independently of uncertainty.presentation: 0.000267… -> "0.00027"."""
    exponent = math.floor(math.log10(x)) - 1  # the place of the second significant digit
    digits = math.ceil(round(x / 10**exponent, 9))  # round() drops float noise in the 10th digit only
    if digits >= 100:  # a carry into a new digit: 0.0995 -> 0.10
        digits, exponent = math.ceil(digits / 10), exponent + 1
    return f"{digits * 10**exponent:.{max(0, -exponent)}f}"


@pytest.mark.timeout(300)  # eleven commands, each starting Python
def test_runs_list_show_and_review(env: dict[str, str]) -> None:
    done = caltrace(env, "calibrate", "--demo", "-p", CG18, "--json")
    run_id = json.loads(done.stdout)["run_id"]
    listed = json.loads(caltrace(env, "runs", "list", "-f", "json").stdout)
    assert [r["run_id"] for r in listed] == [run_id] and listed[0]["state"] == "completed"
    shown = json.loads(caltrace(env, "runs", "show", run_id, "-f", "json").stdout)
    assert shown["procedure"] == CG18 and len(shown["results"]) == 13
    assert shown["standards"] == {"weights": "DEMO-W-E2", "environment": "DEMO-ENV"}
    assert (shown["reviewer"], shown["reviewed_at"]) == (None, None)
    same = caltrace(env, "runs", "review", run_id, "--reviewer", "demo")  # the technician may not review
    assert same.returncode == 2 and "Traceback" not in same.stderr
    ok = caltrace(env, "runs", "review", run_id[:8], "--reviewer", "demo-reviewer")  # as `runs list` shows it
    assert ok.returncode == 0, ok.stderr
    after = json.loads(caltrace(env, "runs", "show", run_id[:8], "-f", "json").stdout)
    assert after["run_id"] == run_id
    assert after["state"] == "reviewed" and after["reviewer"] == "demo-reviewer"
    reviewed_at = datetime.fromisoformat(after["reviewed_at"])
    assert reviewed_at.utcoffset() == timedelta(0)  # JSON keeps UTC
    # the table: Vietnamese by default, times in the lab's zone (Asia/Ho_Chi_Minh, UTC+7 all year)
    table = caltrace(env, "runs", "show", run_id)
    assert table.returncode == 0, table.stderr
    local = (reviewed_at + timedelta(hours=7)).strftime("%Y-%m-%d %H:%M:%S")
    assert f"người xem xét    demo-reviewer\nxem xét lúc      {local} +07:00\n" in table.stdout
    assert "trạng thái       đã xem xét" in table.stdout
    # result 4 (error of indication at 100 g): U rounded up to two significant digits, with its unit; k
    r4 = after["results"][3]
    assert r4["quantity"] == "error of indication" and r4["point"] == 100.0
    U_text = up2(r4["U"]).replace(".", ",")
    U_text = U_text[:5] + "\u202f" + U_text[5:] if len(U_text) > 6 else U_text  # "0,000 27": groups of three
    line = next(x for x in table.stdout.splitlines() if x.startswith("│  4 "))
    k_text = f"{math.floor(r4['k'] * 100 + 0.5) / 100:.2f}".replace(".", ",")  # two decimals, half up: 2,00 or 2,01
    assert "sai số chỉ thị" in line and f"{U_text} g" in line and k_text in line and "không đánh giá" in line
    english = caltrace(env, "runs", "show", run_id, "--lang", "en")
    assert f"reviewer         demo-reviewer\nreviewed         {local} +07:00\n" in english.stdout
    assert "error of indication" in english.stdout and "not assessed" in english.stdout


def _operator(proc: subprocess.Popen[str], place: Callable[[float], None], log: list[str]) -> None:
    """A technician at the terminal: reads each instruction, places the load it names, presses Enter."""
    assert proc.stderr is not None and proc.stdin is not None
    for line in proc.stderr:
        log.append(line)
        text = line.strip()
        if text.startswith("→ Đặt "):
            place(float(text.split()[2]))
        elif text.startswith("→ Lấy hết"):
            place(0.0)
        else:
            continue
        proc.stdin.write("\n")
        proc.stdin.flush()


def test_instruments_configured_by_url_with_a_person_answering_the_prompts(
    env: dict[str, str], sim_thread: SimulatorThread
) -> None:
    assert caltrace(env, "calibrate", "--demo", "-p", CG18, "--json").returncode == 0  # the demo lab's registry
    balance = sim_thread.start(
        MtSicsSimulator(SimOptions("bal-9", "B912345678", seed=5), settle_time=0.1, stability_timeout=0.3)
    )
    assert isinstance(balance, MtSicsSimulator)
    balance.control("set_sensitivity_error", relative=-3e-6)
    thermo = sim_thread.start(
        EnvironmentSimulator(SimOptions("env-9", "20231005", seed=9), temperature=22.0, humidity=55.0)
    )
    command = [
        CALTRACE, "calibrate", "-p", CG18, "-i", "B912345678", "-t", "demo",
        "-s", "weights=DEMO-W-E2", "-s", "environment=DEMO-ENV",
        "--connect", f"balance=mt-sics@{balance.url}?timeout=1",
        "--connect", f"environment=comet-t7510@{thermo.url}",
        "--param", "loads_g=[50,100,150,200,220]", "--param", "repeat_load_g=100",
        "--param", "eccentricity_load_g=70", "--lang", "vi", "--json",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []

    def place(nominal: float) -> None:  # the true mass of the demo set's pieces making the load (certificate values)
        balance.control("place", load_g=true_mass(nominal))

    person = threading.Thread(target=_operator, args=(proc, place, log), daemon=True)
    person.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(120)
    person.join(10)
    assert proc.returncode == 0, "".join(log)
    doc = json.loads(out)
    errors = [r for r in doc["results"] if r["quantity"] == "error of indication"]
    assert len(errors) == 5
    for r in errors:  # -3 ppm of the conventional mass, within rounding and noise of d = 0.1 mg
        assert r["value"] == pytest.approx(-3e-6 * true_mass(r["point"]), abs=1.5e-4)


def test_a_dmm_and_a_5520a_configured_by_url_with_a_person_making_the_connections(
    env: dict[str, str], sim_thread: SimulatorThread
) -> None:
    assert caltrace(env, "calibrate", "--demo", "-p", DMM, "--json").returncode == 0  # the demo lab's registry
    calibrator = Fluke5520ASimulator(SimOptions("cal-9", "9345012", seed=15), error_fraction=0.0)  # an exact source
    dmm = Keysight34465ASimulator(
        SimOptions("dmm-9", "MY57503456", seed=16), input_from="cal-9", integration_time=False
    )
    dmm.connect_lab({"cal-9": calibrator})  # the test leads from the calibrator to the DMM
    sim_thread.start(calibrator)
    sim_thread.start(dmm)
    gain = -20e-6
    dmm.control("set_error", gain_error_ppm=gain * 1e6)
    thermo = sim_thread.start(
        EnvironmentSimulator(SimOptions("env-9", "20231005", seed=9), temperature=23.0, humidity=50.0)
    )
    command = [
        CALTRACE, "calibrate", "-p", DMM, "-i", "MY57503456", "-t", "demo",
        "-s", "calibrator=DEMO-5520A", "-s", "environment=DEMO-ENV",
        "--connect", f"dmm=keysight-34465a@{dmm.url}?timeout=1",
        "--connect", f"calibrator=fluke-5520a@{calibrator.url}?timeout=1",
        "--connect", f"environment=comet-t7510@{thermo.url}", "--lang", "en", "--json",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    log: list[str] = []
    confirmed: list[str] = []

    def person() -> None:  # reads each instruction (changing the leads), confirms with Enter
        assert proc.stderr is not None and proc.stdin is not None
        for line in proc.stderr:
            log.append(line)
            if line.strip().startswith("→ "):
                confirmed.append(line.strip())
                proc.stdin.write("\n")
                proc.stdin.flush()

    thread = threading.Thread(target=person, daemon=True)
    thread.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(120)
    thread.join(10)
    assert proc.returncode == 0, "".join(log)
    assert len(confirmed) == 3  # voltage, current, then the 4-wire resistance leads
    doc = json.loads(out)
    errors = [r for r in doc["results"] if r["quantity"].startswith("error of indication")]
    assert {r["quantity"] for r in errors} >= {"error of indication (DCV)", "error of indication (OHM)"}
    for r in errors:  # the simulated gain error, to within 5 ppm of the point (noise is about 1 ppm of range)
        assert r["value"] == pytest.approx(gain * r["point"], abs=5e-6 * abs(r["point"])), r["quantity"]
    assert calibrator.wire.level().operate is False  # the run leaves the calibrator's output off


def test_a_device_that_does_not_answer_pauses_the_run_with_what_to_do(env: dict[str, str]) -> None:
    assert caltrace(env, "calibrate", "--demo", "-p", CG18, "--json").returncode == 0
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    done = caltrace(
        env, "calibrate", "-p", CG18, "-i", "B912345678", "-t", "demo",
        "-s", "weights=DEMO-W-E2", "-s", "environment=DEMO-ENV",
        "--connect", f"balance=mt-sics@socket://127.0.0.1:{port}?timeout=0.5",
        "--connect", f"environment=comet-t7510@modbus+tcp://127.0.0.1:{port}?timeout=0.5",
        "--param", "loads_g=[50,100,150,200,220]", "--param", "repeat_load_g=100", "--param", "eccentricity_load_g=70",
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "paused" in done.stderr and "connection" in done.stderr and "--resume" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count(" paused: ") == 1  # said once (issue 14: the engine's log line repeated it)


@pytest.mark.parametrize("procedure", procedure_ids())
def test_every_procedure_runs_from_the_cli_on_the_virtual_lab(env: dict[str, str], procedure: str) -> None:
    done = caltrace(env, "calibrate", "--demo", "-p", procedure, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["procedure"] == procedure and doc["state"] == "completed"
    assert doc["readings"] == sum(stored(env, doc["run_id"]).values()) > 0
    assert doc["results"] and all(r["conformity"] != "fail" for r in doc["results"])  # every demo instrument passes
    registry = make_engine(f"sqlite:///{env['CALTRACE_DATA_DIR']}/caltrace.db")
    with session_factory(registry)() as s:
        assert len(s.scalars(select(Result).where(Result.run_id == doc["run_id"])).all()) == len(doc["results"])
    registry.dispose()


def test_the_r87_demo_runs_on_a_registered_lot_and_runs_show_names_it(env: dict[str, str]) -> None:
    done = caltrace(env, "calibrate", "--demo", "-p", "prepackage-r87", "--json")
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    shown = json.loads(caltrace(env, "runs", "show", run_id, "-f", "json").stdout)
    assert (shown["lot"], shown["instrument"], shown["instrument_id"]) == ("LOT-2026-0501", "", None)
    assert shown["version"] == "2"
    registry = make_engine(f"sqlite:///{env['CALTRACE_DATA_DIR']}/caltrace.db")
    with session_factory(registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.lot is not None and run.instrument_id is None
        assert (run.lot.packer.name, run.lot.lot_size, run.lot.nominal_quantity) == (
            "Công ty CP Thực phẩm Demo",
            500,
            500.0,
        )
    registry.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-p", "prepackage-r87", "--instrument", "LOT-2026-0501"],
            "tests a prepackage lot, not an instrument: give --lot",
        ),
        (["-p", CG18, "--lot", "LOT-2026-0501"], "tests an instrument, not a prepackage lot: give --instrument"),
    ],
)
def test_a_key_of_the_wrong_kind_is_refused_with_a_hint(env: dict[str, str], args: list[str], message: str) -> None:
    done = caltrace(env, "calibrate", "--demo", *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2  # the demo's data directory line, then the one error line


ROW_KEYS = {"input", "source", "value", "unit", "u", "distribution", "sensitivity", "contribution", "dof"}
BUDGET_KEYS = {"model", "unit", "rows", "u", "dof", "k", "coverage_probability", "U"}


def check_budgets(results: list[dict[str, Any]]) -> int:
    """Every result with a U carries its full budget, and the budget adds up; returns how many were checked.

    Computed here from the rows, independently of the code: u_c = √Σ(c_i·u_i)² (GUM 5.1.2, uncorrelated inputs),
    ν_eff = u_c⁴ / Σ((c_i·u_i)⁴/ν_i) (GUM G.4.1, Welch–Satterthwaite; JSON null = infinitely many),
    k = t_95(ν_eff) between the t-quantiles at ν_eff and at ⌊ν_eff⌋ (the normal quantile 1.96 when ν_eff = ∞),
    U = k·u_c.
    """
    checked = 0
    for r in results:
        if r["U"] is None:
            continue
        b = r["budget"]
        assert set(b) >= BUDGET_KEYS, (r["quantity"], sorted(b))
        assert b["unit"] == r["unit"] and b["rows"]
        for row in b["rows"]:
            assert set(row) >= ROW_KEYS, row
            assert row["source"] and row["unit"]
            assert row["contribution"] == pytest.approx(row["sensitivity"] * row["u"], rel=1e-9, abs=1e-300)
            if row["u"] == 0:
                assert row.get("note"), f"{row['input']} is left at zero without saying why"
        contributions = [row["contribution"] for row in b["rows"]]
        u_c = math.sqrt(sum(c**2 for c in contributions))
        assert b["u"] == pytest.approx(u_c, rel=1e-9)
        finite = [(c, row["dof"]) for c, row in zip(contributions, b["rows"], strict=True) if row["dof"] is not None]
        denominator = sum(c**4 / nu for c, nu in finite if c != 0)
        if denominator == 0:
            assert b["dof"] is None  # every contribution with infinitely many degrees of freedom
            assert b["k"] == pytest.approx(stats.norm.ppf(0.975), rel=1e-9)
        else:
            nu_eff = u_c**4 / denominator
            assert b["dof"] == pytest.approx(nu_eff, rel=1e-6)
            low, high = stats.t.ppf(0.975, nu_eff), stats.t.ppf(0.975, max(1, math.floor(nu_eff)))
            assert low * (1 - 1e-9) <= b["k"] <= high * (1 + 1e-9)
        assert b["coverage_probability"] == pytest.approx(0.95)
        assert b["U"] == pytest.approx(b["k"] * u_c, rel=1e-9)
        assert (r["U"], r["k"]) == (pytest.approx(b["U"], rel=1e-12), pytest.approx(b["k"], rel=1e-12))
        checked += 1
    return checked


@pytest.mark.parametrize("procedure", [WATER, DMM])
def test_calibrate_json_and_runs_show_json_give_every_full_budget(env: dict[str, str], procedure: str) -> None:
    done = caltrace(env, "calibrate", "--demo", "-p", procedure, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert check_budgets(doc["results"]) == len(doc["results"]) > 0  # every result of these procedures has a U
    shown = caltrace(env, "runs", "show", doc["run_id"], "--format", "json")
    assert shown.returncode == 0, shown.stderr
    results = json.loads(shown.stdout)["results"]
    assert check_budgets(results) == len(results) == len(doc["results"])
    for stored_result, reported in zip(results, doc["results"], strict=True):  # the same shape and content
        assert {k: v for k, v in stored_result.items() if k != "seq"} == reported
        assert stored_result["rule"] and stored_result["reference"]  # kept beside the budget, not inside it
        assert not {"rule", "reference", "note"} & set(stored_result["budget"])


def test_runs_show_prints_each_budget_table_readable_at_120_columns(env: dict[str, str]) -> None:
    done = caltrace(env, "calibrate", "--demo", "-p", WATER, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    shown = caltrace(env, "runs", "show", doc["run_id"], "--lang", "en")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    budgets = text[text.index("budget #1") :]
    assert all(len(line) <= 120 for line in budgets.splitlines())
    headings = ("input", "source", "value", "u", "distribution", "sensitivity", "contribution", "dof", "note")
    for heading in headings:
        assert f" {heading} " in budgets.splitlines()[2] + " "  # the header line after the title and a blank
    for n, r in enumerate(doc["results"], 1):
        part = budgets.split(f"budget #{n}:")[1].split("budget #")[0]
        b = r["budget"]
        assert all(name in part for name in ("E_bar", "dE_T", "dm_start", "de_master", "de_drift", "rectangular"))
        # u_c and U rounded UP to two significant digits with the unit (GUM 7.2.6), k to two decimals half up
        assert f"u_c   = {up2(b['u'])} %" in part
        assert "ν_eff = ∞" in part  # the demo runs once per point: infinitely many degrees of freedom
        assert f"k     = {math.floor(b['k'] * 100 + 0.5) / 100:.2f} (coverage probability 95 %)" in part
        assert f"U     = k·u_c = {up2(b['U'])} %" in part
    vietnamese = caltrace(env, "runs", "show", doc["run_id"]).stdout
    assert "ngân sách độ không đảm bảo đo #1" in vietnamese and "xác suất phủ 95 %" in vietnamese
    bad = caltrace(env, "runs", "show", doc["run_id"], "--lang", "fr")
    assert bad.returncode == 2 and "--lang must be vi or en" in bad.stderr
    # CSV opens in Excel as UTF-8: it starts with the byte-order mark
    csv_bytes = subprocess.run(
        [CALTRACE, "runs", "list", "-f", "csv"], env=env, capture_output=True, timeout=60, check=True
    ).stdout
    assert csv_bytes.startswith(b"\xef\xbb\xbfrun_id,procedure,")
