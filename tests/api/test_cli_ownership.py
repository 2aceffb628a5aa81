"""`caltrace calibrate --resume` and a run whose recorded executor's process id now belongs to another process
(issue 14.7: after a reboot the id was reused, and the run was refused for ever)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from registry.db import make_engine, session_factory, session_scope
from registry.models import Run, RunState

CALTRACE = str(Path(sys.executable).parent / "caltrace")
CG18 = "nawi-calibration-cg18"


def caltrace(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALTRACE, *args], env=env, capture_output=True, text=True, timeout=180, check=False)


def proc_start(pid: int) -> dict[str, object]:
    """Boot id and start tick of ``pid`` as proc(5) gives them (``/proc/<pid>/stat`` field 22)."""
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    after_comm = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return {"boot_id": boot, "start_ticks": int(after_comm[22 - 3])}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the start record read from /proc is Linux's")
def test_resume_takes_over_a_run_whose_owner_pid_now_belongs_to_another_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    assert caltrace(env, "calibrate", "--demo", "-p", CG18, "--json").returncode == 0  # the demo lab's registry
    with socket.socket() as free:  # a port nobody listens on: the run pauses at its first reading
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    paused = caltrace(
        env, "calibrate", "-p", CG18, "-i", "B912345678", "-t", "demo",
        "-s", "weights=DEMO-W-E2", "-s", "environment=DEMO-ENV",
        "--connect", f"balance=mt-sics@socket://127.0.0.1:{port}?timeout=0.5",
        "--connect", f"environment=comet-t7510@modbus+tcp://127.0.0.1:{port}?timeout=0.5",
        "--param", "loads_g=[50,100,150,200,220]", "--param", "repeat_load_g=100", "--param", "eccentricity_load_g=70",
    )  # fmt: skip
    assert paused.returncode == 3, paused.stderr
    run_id = next(line.split()[1].rstrip(":") for line in paused.stderr.splitlines() if line.startswith("run "))

    registry = make_engine(f"sqlite:///{env['CALTRACE_DATA_DIR']}/caltrace.db")

    def owned_by(process: dict[str, object]) -> None:
        """As if this test's process (alive, not the one that will resume) executed the run, started as given."""
        with session_scope(registry, "test") as s:
            run = s.get(Run, run_id)
            assert run is not None
            run.state = RunState.RUNNING
            owner = {"host": socket.gethostname(), "pid": os.getpid(), "process": process, "seen": 0.0}
            run.checkpoint = {**run.checkpoint, "owner": owner}

    mine = proc_start(os.getpid())
    owned_by(mine)  # really this live process: refused
    refused = caltrace(env, "calibrate", "--resume", run_id, "--demo", "--json")
    assert refused.returncode == 2 and f"being executed by process {os.getpid()}" in refused.stderr

    owned_by({**mine, "boot_id": "5f0c1c1e-0000-4000-8000-000000000000"})  # the same id, recorded in another boot
    done = caltrace(env, "calibrate", "--resume", run_id, "--demo", "--json")
    assert done.returncode == 0, done.stderr
    with session_factory(registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state is RunState.COMPLETED
    registry.dispose()
