"""Runs in a real service process: ``caltrace serve --demo`` executes a cg-18 run started through its API, the
command line in another process answers its operator action, and SIGTERM (with an event stream still open) ends
the service with the run paused, not left running. Bounded in time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.ports import server_port

CALTRACE = str(Path(sys.executable).parent / "caltrace")
PASSWORD = "demo-password-for-this-test"


def _wait(what: str, check: Any, timeout: float = 90.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            found = check()
        except httpx.TransportError:
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def test_sigterm_pauses_the_run_a_demo_service_executes(tmp_path: Path) -> None:
    port = server_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env.update(CALTRACE_DATA_DIR=str(tmp_path / "data"), CALTRACE_DEMO_PASSWORD=PASSWORD)
    process = subprocess.Popen(
        [CALTRACE, "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            _wait("the service", lambda: client.get("/health").status_code == 200)
            token = client.post("/auth/token", json={"username": "technician", "password": PASSWORD})
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            started = client.post("/runs", json={"procedure": "nawi-calibration-cg18"}, headers=auth)
            assert started.status_code == 201, started.text
            run_id = started.json()["run_id"]
            action = _wait("the first action", lambda: client.get(f"/runs/{run_id}/action", headers=auth).json())

            # another process answers it: the run goes on to its next action
            cli_env = {**env, "CALTRACE_ACTOR": "lan-at-the-bench"}
            done = subprocess.run(
                [CALTRACE, "runs", "answer", str(action["action_id"])],
                env=cli_env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            _wait(
                "the next action",
                lambda: (
                    (a := client.get(f"/runs/{run_id}/action", headers=auth).json())
                    and a["action_id"] != action["action_id"]
                ),
            )

            # an event stream stays open while the service is told to stop
            kinds: list[str] = []

            def follow() -> None:
                try:
                    with httpx.stream("GET", f"{base}/runs/{run_id}/events", headers=auth, timeout=60) as stream:
                        for line in stream.iter_lines():
                            if line.startswith("event: "):
                                kinds.append(line[len("event: ") :])
                except httpx.RemoteProtocolError:  # the stopping server ends the open stream after its grace time
                    kinds.append("(cut)")

            reader = threading.Thread(target=follow, daemon=True)
            reader.start()
            _wait("the event stream", lambda: kinds)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)  # the open stream is ended after 5 s, then the worker pauses the run
        reader.join(10)
        assert not reader.is_alive() and kinds[0] == "state"
        shown = subprocess.run(
            [CALTRACE, "runs", "show", run_id, "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        run = json.loads(shown.stdout)
        assert run["state"] == "paused" and "service shutdown" in run["message"], run
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
