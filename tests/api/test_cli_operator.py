# ruff: noqa: F811 - the fixtures of test_engine are imported by name and used as parameters
"""The terminal as a front end of the operator channel: Enter answers, another terminal may answer first, the end
of input stops the run, and the progress display follows the run's events."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from acquisition.channel import OperatorChannel
from acquisition.events import EventBus
from api.cli.operator import ConsoleDisplay, ConsoleFrontEnd
from drivers.registry import open_instrument
from registry.actions import answer_action, pending_actions, run_actions
from registry.db import read_session, session_scope
from simulators.base import SimOptions
from simulators.environment import EnvironmentSimulator
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread
from tests.acquisition.test_engine import ToyProcedure, balance, make_engine_, registry  # noqa: F401 - fixtures


def _pending(registry: Engine, run_id: str, text_en: str) -> int:
    """The id of the pending action of ``run_id`` that says ``text_en``, once it is pending."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with read_session(registry) as s:
            rows = [r for r in pending_actions(s, run_id) if r["text_en"] == text_en]
        if rows:
            return int(rows[0]["action_id"])
        time.sleep(0.02)
    raise AssertionError(f"no pending action {text_en!r}")


@pytest.mark.parametrize("registry", ["sqlite"], indirect=True)
def test_the_terminal_answers_and_a_second_terminal_may_answer_first(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    read_end, write_end = os.pipe()
    stdin = os.fdopen(read_end, "r")
    console = ConsoleFrontEnd("vi", by="lan", stdin=stdin)
    channel = OperatorChannel(console)
    channel.events.subscribe(ConsoleDisplay("vi"))
    outcome: list[object] = []
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        worker = threading.Thread(
            target=lambda: outcome.append(engine.execute(ToyProcedure(), run_id, {"balance": inst}, channel))
        )
        worker.start()
        # 0 g: the technician presses Enter at the run's terminal
        _pending(registry, run_id, "Place 0 g")
        os.write(write_end, b"\n")
        # 100 g: answered from another terminal first
        second = _pending(registry, run_id, "Place 100 g")
        balance.control("place", load_g=100.0)
        with session_scope(registry, "hoa") as s:
            answer_action(s, second, answer="done", by="hoa")
        # 200 g: the terminal's input ends (nobody there): the run pauses
        _pending(registry, run_id, "Place 200 g")
        os.close(write_end)
        worker.join(30)
    assert not worker.is_alive()
    [done] = outcome
    assert done.state == "paused"  # type: ignore[attr-defined]
    assert "stopped by the operator at '200 g': no operator at the terminal (input ended)" in done.message  # type: ignore[attr-defined]
    err = capsys.readouterr().err
    assert "  → Đặt 0 g\n" in err and "Place 0 g" not in err  # the run's language only (vi), not both
    assert "░ 1/3 0 g" in err and " 3/3 200 g" in err  # the progress display, an event subscriber
    assert "(đã được hoa trả lời)" in err and "answered by" not in err
    with read_session(registry) as s:
        rows = run_actions(s, run_id)
    assert [(r["answer"], r["answered_by"]) for r in rows] == [("done", "lan"), ("done", "hoa"), ("stop", "lan")]
    stdin.close()


def test_the_display_prints_progress_and_warnings_as_the_prompter_did() -> None:
    lines: list[str] = []
    bus = EventBus()
    bus.subscribe(ConsoleDisplay("en", say=lines.append))
    bus.publish("step-started", "r", number=2, total=4, title="Cân 100 g / Weigh 100 g", step="s2")
    bus.publish("warning", "r", message="temperature 27 °C outside 18..26 °C (env)")
    bus.publish("reading", "r", value=1.0)  # not shown
    # bar: 24 cells, round(24 * (2 - 1) / 4) = 6 done
    assert lines == [
        "█" * 6 + "░" * 18 + " 2/4 Weigh 100 g",  # the run's language only
        "  warning: temperature 27 °C outside 18..26 °C (env)",  # the English header with --lang en
    ]


def test_a_value_is_typed_and_an_empty_line_is_skipped() -> None:
    from acquisition.channel import OperatorAction, Request

    answers: list[object] = []
    console = ConsoleFrontEnd("vi", by="lan", stdin=io.StringIO("\n21,4 °C\n"))
    request = Request(1, "r", "env", OperatorAction("manual-entry", "nhập", "enter", expects="value"), prompt="t")
    console.present(request, answers.append)
    deadline = time.monotonic() + 5
    while not answers and time.monotonic() < deadline:
        time.sleep(0.01)
    [answer] = answers
    assert (answer.kind, answer.value, answer.by) == ("value", "21,4 °C", "lan")  # type: ignore[attr-defined]


@pytest.mark.timeout(300)
def test_a_run_waiting_at_its_terminal_is_cancelled_from_a_second_terminal_within_a_second(
    tmp_path: Path, sim_thread: SimulatorThread
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    env["CALTRACE_ACTOR"] = "minh"
    caltrace = str(Path(sys.executable).parent / "caltrace")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([caltrace, *args], env=env, capture_output=True, text=True, timeout=300, check=False)

    seeded = run("calibrate", "--demo", "-p", "nawi-calibration-cg18", "--json")  # the demo lab's registry
    assert seeded.returncode == 0, seeded.stderr
    balance = sim_thread.start(
        MtSicsSimulator(SimOptions("bal-9", "B912345678", seed=5), settle_time=0.1, stability_timeout=0.3)
    )
    thermo = sim_thread.start(
        EnvironmentSimulator(SimOptions("env-9", "20231005", seed=9), temperature=22.0, humidity=55.0)
    )
    proc = subprocess.Popen(
        [
            caltrace, "calibrate", "-p", "nawi-calibration-cg18", "-i", "B912345678", "-t", "demo",
            "-s", "weights=DEMO-W-E2", "-s", "environment=DEMO-ENV",
            "--connect", f"balance=mt-sics@{balance.url}?timeout=1",
            "--connect", f"environment=comet-t7510@{thermo.url}",
            "--param", "loads_g=[50,100,150,200,220]", "--param", "repeat_load_g=100",
            "--param", "eccentricity_load_g=70",
        ],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []
    asked = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if line.strip().startswith("→ "):
                asked.set()  # the technician is asked (and nobody presses Enter)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert asked.wait(60), "".join(lines) + f" (exit {proc.poll()})"
    run_id = next(line for line in lines if line.startswith("run ")).split()[1].rstrip(":")
    listed = run("runs", "actions", run_id, "--format", "json")
    assert listed.returncode == 0 and '"status": "pending"' in listed.stdout, listed.stderr
    pending = json.loads(listed.stdout)[0]
    table = {lang: run("runs", "actions", run_id[:8], "--lang", lang).stdout for lang in ("vi", "en")}
    words = {lang: pending[f"text_{lang}"].split()[0] for lang in ("vi", "en")}  # the action's first word
    assert "việc cần làm" in table["vi"] and words["vi"] in table["vi"] and words["en"] not in table["vi"]
    assert "what to do" in table["en"] and words["en"] in table["en"] and words["vi"] not in table["en"]
    cancel = run("runs", "cancel", run_id, "--reason", "wrong weight set")
    assert cancel.returncode == 0, cancel.stderr
    cancelled = time.monotonic()
    proc.wait(60)
    elapsed = time.monotonic() - cancelled
    reader.join(10)
    err = "".join(lines)
    assert proc.returncode == 3, err  # paused
    assert elapsed < 3.0, f"{elapsed:.1f} s"  # noticed within about a second (and the process ended)
    assert f"run {run_id} paused: cancelled by minh at '" in err and "(wrong weight set)" in err
    assert f"resume with: caltrace calibrate --resume {run_id}" in err
    assert "Traceback" not in err
    shown = run("runs", "actions", run_id, "--all", "--format", "json")
    assert '"status": "cancelled"' in shown.stdout and '"status": "pending"' not in shown.stdout


def test_run_commands_on_an_unknown_run_exit_1_not_found(tmp_path: Path) -> None:
    # exit codes (api/cli/errors.py, README): 1 = not found, 2 = bad usage or refused
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    caltrace = str(Path(sys.executable).parent / "caltrace")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([caltrace, *args], env=env, capture_output=True, text=True, timeout=120, check=False)

    assert run("db", "upgrade").returncode == 0
    for args in (
        ("runs", "review", "no-such-run", "--reviewer", "hoa"),
        ("runs", "abort", "no-such-run", "--reason", "test"),
        ("runs", "cancel", "no-such-run"),
        ("runs", "answer", "999999"),
    ):
        done = run(*args)
        assert done.returncode == 1, (args, done.returncode, done.stderr)
        assert "Traceback" not in done.stderr and done.stderr.strip(), args


class _Terminal(io.StringIO):
    """Typed input that says it is a terminal (so the front end prints its hints)."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("language", "done_hint", "value_hint", "other"),
    [
        ("vi", "Enter khi xong, s để dừng", "gõ giá trị rồi Enter (21,4 hoặc 21.4), s để dừng", "when done"),
        ("en", "Enter when done, s to stop", "type the value and Enter (21.4 or 21,4), s to stop", "khi xong"),
    ],
)
def test_the_terminal_prints_its_hints_in_the_run_language_only(
    language: str, done_hint: str, value_hint: str, other: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from acquisition.channel import OperatorAction, Request

    answers: list[object] = []
    console = ConsoleFrontEnd(language, by="lan", stdin=_Terminal("\n\n21.4\n"))
    place = OperatorAction("place-load", "Đặt 100 g", "Place 100 g")
    entry = OperatorAction(
        "manual-entry", "env-1: nhập nhiệt độ (°C)", "env-1: enter temperature in °C", expects="value"
    )
    for action in (place, entry):
        console.present(Request(1, "r", "s", action, prompt="p"), answers.append)
        deadline = time.monotonic() + 5
        while len(answers) < (1 if action is place else 2) and time.monotonic() < deadline:
            time.sleep(0.01)
    err = capsys.readouterr().err
    assert f"  → {place.text(language)}\n    {done_hint}" in err
    assert f"  → {entry.text(language)}\n    {value_hint}" in err
    assert err.count(value_hint) == 2  # the empty line: asked again
    assert other not in err and ("Place" in err) == (language == "en")
    assert [a.kind for a in answers] == ["done", "value"]  # type: ignore[attr-defined]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_manual_entry_at_a_calibrate_terminal_speaks_the_run_language(
    language: str, tmp_path: Path, sim_thread: SimulatorThread
) -> None:
    """caltrace calibrate --lang vi|en with a balance read by a person: every instruction, and the complaint about a
    typed value that is not a number, in that language only; "0,5" and "0.5" are both readings."""
    from tests.support.bilingual import VIETNAMESE

    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    env["CALTRACE_ACTOR"] = "minh"
    caltrace = str(Path(sys.executable).parent / "caltrace")
    seeded = subprocess.run(
        [caltrace, "calibrate", "--demo", "-p", "nawi-calibration-cg18", "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    thermo = sim_thread.start(
        EnvironmentSimulator(SimOptions("env-8", "20231005", seed=9), temperature=22.0, humidity=55.0)
    )
    proc = subprocess.Popen(
        [
            caltrace, "calibrate", "-p", "nawi-calibration-cg18", "-i", "B912345678", "-t", "demo",
            "-s", "weights=DEMO-W-E2", "-s", "environment=DEMO-ENV", "--lang", language,
            "--connect", "balance=manual@manual:?unit=g&quantity=mass",
            "--connect", f"environment=comet-t7510@{thermo.url}",
            "--param", "loads_g=[50,100,150,200,220]", "--param", "repeat_load_g=100",
            "--param", "eccentricity_load_g=70",
        ],
        env=env, stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stderr is not None
    typed = ["twenty", "0,5", "0.5"]  # not a number, then a reading with the decimal comma, then with the point
    asked: list[str] = []
    for line in proc.stderr:
        text = line.strip()
        if not text.startswith("→ "):
            continue
        asked.append(text)
        if "nhập" in text or "enter" in text:
            if not typed:
                break
            proc.stdin.write(typed.pop(0) + "\n")
        else:
            proc.stdin.write("\n")  # Enter: done
        proc.stdin.flush()
    proc.stdin.close()  # nobody at the terminal any more: the run pauses
    rest = proc.stderr.read()
    proc.wait(60)
    assert proc.returncode == 3, "\n".join(asked) + rest
    entries = [a for a in asked if "nhập" in a or "enter" in a]
    assert len(entries) == 4, asked  # twenty, asked again; 0,5; 0.5; the next reading (no more input)
    if language == "vi":
        assert entries[0].endswith(": nhập khối lượng (g)")
        assert "không đọc được 'twenty' thành một số" in entries[1] and "21,4 °C" in entries[1]
        assert all(VIETNAMESE.search(a) for a in asked), asked
        assert not any(w in " ".join(asked) for w in ("cannot", "enter ", "Place", "Remove")), asked
    else:
        assert entries[0].endswith(": enter mass in g")
        assert "cannot read 'twenty' as a number" in entries[1] and "21.4 °C" in entries[1]
        assert not any(VIETNAMESE.search(a) for a in asked), asked
    # the comma and the point were both readings: no complaint after them
    assert not any(w in entries[2] + entries[3] for w in ("twenty", "0,5", "0.5")), entries
    assert "Traceback" not in rest


@pytest.mark.parametrize(
    ("language", "complaint", "other"),
    [
        ("vi", "không đọc được 'twenty' thành một số", "cannot read"),
        ("en", "cannot read 'twenty' as a number", "không đọc được"),
    ],
)
def test_caltrace_read_of_a_manual_instrument_speaks_its_language(
    language: str, complaint: str, other: str, tmp_path: Path
) -> None:
    """`caltrace read` of a person-read thermometer with piped input: a typo is answered with what was wrong, in the
    command's language only, and "21,4" and "21.4" are both 21.4 °C."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    caltrace = str(Path(sys.executable).parent / "caltrace")
    done = subprocess.run(
        [caltrace, "read", "manual:?unit=°C&quantity=temperature", "--model", "manual", "--id", "env-1",
         "--count", "2", "--interval", "0", "--json", "--lang", language],
        env=env, input="twenty\n21,4\n21.4\n", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [(r["value"], r["unit"]) for r in map(json.loads, done.stdout.splitlines())] == [(21.4, "°C")] * 2
    assert complaint in done.stderr and other not in done.stderr and "Traceback" not in done.stderr
    what = "env-1: nhập nhiệt độ (°C)" if language == "vi" else "env-1: enter temperature in °C"
    assert done.stderr.strip().endswith(what)  # the complaint, then what to type
