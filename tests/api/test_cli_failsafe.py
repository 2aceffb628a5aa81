"""`caltrace calibrate` stopped by SIGTERM, Ctrl-C or the operator leaves the calibrator in standby (issue 14.1).

Each test runs the real command in a subprocess against simulators started in the test process: a Fluke 5520A
wired to a Keysight 34465A, and the thermo-hygro-barometer. The DMM answers slowly (0.3 s per reply) so that the
100 V point lasts long enough to be interrupted while the calibrator is in operate. The calibrator's state is
asked over its own protocol (``OPER?`` on a new TCP connection).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from registry.db import make_engine, session_factory
from registry.models import Run, RunState
from simulators.base import SimOptions
from simulators.electrical import Fluke5520ASimulator, Keysight34465ASimulator
from simulators.environment import EnvironmentSimulator
from simulators.runner import SimulatorThread
from tests.acquisition.test_failsafe import oper

CALTRACE = str(Path(sys.executable).parent / "caltrace")
DMM = "dmm-calibration"
POINTS = json.dumps(
    [
        {"function": "DCV", "value": 100, "unit": "V", "range": 100},
        {"function": "ACV", "value": 10, "unit": "V", "range": 10, "frequency_hz": 1000},
    ]
)


@dataclass
class Session:
    """A `caltrace calibrate` process, what it wrote on stderr, and the simulators it drives."""

    proc: subprocess.Popen[str]
    calibrator: Fluke5520ASimulator
    dmm: Keysight34465ASimulator
    env: dict[str, str]
    log: list[str] = field(default_factory=list)

    def run_id(self) -> str:
        for line in self.log:
            if line.startswith("run "):
                return line.split()[1].rstrip(":")
        raise AssertionError("no run line on stderr:\n" + "".join(self.log))

    def wait_until_operating(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            level = self.calibrator.wire.level()
            if level.operate and level.value > 50:
                return
            assert self.proc.poll() is None, "".join(self.log)
            time.sleep(0.05)
        raise AssertionError("the calibrator never reached 100 V in operate:\n" + "".join(self.log))

    def finish(self) -> tuple[int, str]:
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        self.proc.wait(60)
        return self.proc.returncode, out

    def run_row(self) -> tuple[RunState, str]:
        registry = make_engine(f"sqlite:///{self.env['CALTRACE_DATA_DIR']}/caltrace.db")
        try:
            with session_factory(registry)() as s:
                run = s.get(Run, self.run_id())
                assert run is not None
                return run.state, run.message
        finally:
            registry.dispose()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    one_point = json.dumps([{"function": "DCV", "value": 1, "unit": "V", "range": 1}])
    seeded = subprocess.run(  # the demo lab's registry: technician, DMM, 5520A and thermometer registered
        [CALTRACE, "calibrate", "--demo", "-p", DMM, "--param", f"points={one_point}", "--json"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    return environ


@pytest.fixture
def start(env: dict[str, str], sim_thread: SimulatorThread) -> Iterator[Callable[..., Session]]:
    """``start(answer)``: simulators, then `caltrace calibrate` with a person at the terminal who answers each
    instruction with ``answer(line)`` (default: Enter)."""
    sessions: list[Session] = []

    def begin(answer: Callable[[Session, str], str] | None = None) -> Session:
        calibrator = Fluke5520ASimulator(SimOptions("cal-9", "9345012", seed=15), error_fraction=0.0)
        dmm = Keysight34465ASimulator(
            SimOptions("dmm-9", "MY57503456", seed=16), input_from="cal-9", integration_time=False
        )
        dmm.connect_lab({"cal-9": calibrator})
        sim_thread.start(calibrator)
        sim_thread.start(dmm)
        dmm.control("fault", fault="delay", seconds=0.3)  # a slow meter: the 100 V point lasts a few seconds
        thermo = sim_thread.start(
            EnvironmentSimulator(SimOptions("env-9", "20231005", seed=9), temperature=23.0, humidity=50.0)
        )
        command = [
            CALTRACE, "calibrate", "-p", DMM, "-i", "MY57503456", "-t", "demo",
            "-s", "calibrator=DEMO-5520A", "-s", "environment=DEMO-ENV",
            "--connect", f"dmm=keysight-34465a@{dmm.url}?timeout=2",
            "--connect", f"calibrator=fluke-5520a@{calibrator.url}?timeout=1",
            "--connect", f"environment=comet-t7510@{thermo.url}",
            "--param", f"points={POINTS}", "--lang", "en", "--json",
        ]  # fmt: skip
        proc = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        session = Session(proc, calibrator, dmm, env)
        sessions.append(session)

        def person() -> None:
            assert proc.stderr is not None and proc.stdin is not None
            for line in proc.stderr:
                session.log.append(line)
                if line.strip().startswith("→ "):
                    reply = answer(session, line) if answer is not None else ""
                    try:
                        proc.stdin.write(reply + "\n")
                        proc.stdin.flush()
                    except (BrokenPipeError, OSError):
                        return

        reader = threading.Thread(target=person, daemon=True)
        reader.start()
        return session

    yield begin
    for session in sessions:
        if session.proc.poll() is None:
            session.proc.kill()
            session.proc.wait(10)


@pytest.mark.parametrize(("sig", "code", "how"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "Ctrl-C")])
def test_a_signal_mid_point_pauses_the_run_with_the_calibrator_in_standby(
    start: Callable[..., Session], sig: signal.Signals, code: int, how: str
) -> None:
    session = start()
    session.wait_until_operating()
    assert oper(session.calibrator) == "1"  # live at 100 V when the signal comes
    session.proc.send_signal(sig)
    returncode, _ = session.finish()
    assert returncode == code, "".join(session.log)
    assert oper(session.calibrator) == "0"
    stderr = "".join(session.log)
    assert f"stopped by {how}" in stderr and f"--resume {session.run_id()}" in stderr
    assert "Traceback" not in stderr and "DANGER" not in stderr
    # said once: the CLI's line; the engine's own record of the pause goes to the log file, not the terminal
    assert stderr.count(f"stopped by {how}") == 1 and f"run {session.run_id()} paused" not in stderr
    state, message = session.run_row()
    assert state is RunState.PAUSED and "100 V" in message  # the step under way is named
    assert ("interrupted (Ctrl-C)" if how == "Ctrl-C" else "SIGTERM received") in message


def test_the_operator_typing_s_leaves_the_calibrator_in_standby(start: Callable[..., Session]) -> None:
    live: list[str] = []

    def answer(session: Session, line: str) -> str:
        # at the first instruction the technician had switched the output on by hand to check the leads
        session.calibrator.control("set_output", value=10.0, unit="V")
        session.calibrator.control("operate")
        live.append(oper(session.calibrator))
        return "s"

    session = start(answer)
    returncode, out = session.finish()
    assert returncode == 3, "".join(session.log)
    assert live == ["1"]
    assert oper(session.calibrator) == "0"
    assert json.loads(out)["state"] == "paused" and json.loads(out)["unsafe"] == []


def test_runs_abort_while_the_run_executes_leaves_the_calibrator_in_standby(start: Callable[..., Session]) -> None:
    session = start()
    session.wait_until_operating()
    session.dmm.control("fault", fault="delay", seconds=1.2)  # slower still: the point outlasts `runs abort`
    assert oper(session.calibrator) == "1"
    aborted = subprocess.run(
        [CALTRACE, "runs", "abort", session.run_id(), "--reason", "the customer took the DMM back"],
        env=session.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert aborted.returncode == 0, aborted.stderr
    returncode, _ = session.finish()  # the executing process notices at its next checkpoint write
    assert returncode == 2, "".join(session.log)
    assert oper(session.calibrator) == "0"
    stderr = "".join(session.log)
    assert "aborted while this computer executed it" in stderr and "Traceback" not in stderr
    assert session.run_row() == (RunState.ABORTED, "the customer took the DMM back")


@pytest.mark.parametrize("stop", ["SIGTERM", "DMM fault"])
def test_a_calibrator_left_unconfirmed_is_reported_in_red_on_stderr(start: Callable[..., Session], stop: str) -> None:
    session = start()
    session.wait_until_operating()
    session.calibrator.control("fault", fault="silent")  # its link answers nothing any more
    if stop == "SIGTERM":
        session.proc.send_signal(signal.SIGTERM)
    else:
        session.dmm.control("fault", fault="silent")  # the run pauses on the DMM's silence
    returncode, _ = session.finish()
    assert returncode == (143 if stop == "SIGTERM" else 3), "".join(session.log)
    danger = [line for line in session.log if "DANGER" in line]
    assert danger, "".join(session.log)
    # the warning is printed once, in red by the CLI (not again by the engine's log record: that is in the file)
    assert len([line for line in session.log if line.startswith(("DANGER", "error: DANGER"))]) == 1, danger
    assert "calibrator" in danger[0] and "standby" in danger[0] and "by hand" in danger[0]
    state, message = session.run_row()
    assert state is RunState.PAUSED and message.startswith("DANGER")
