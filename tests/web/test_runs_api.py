"""The runs API in demo mode on the virtual lab (simulators on loopback): a cg-18 calibration started, driven by
answering its operator actions through the API, streamed as server-sent events, completed and reviewed; pause and
resume; abort with the sources left in standby; a second app on the same registry answering the first one's action.
Every wait is bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from api.web.accounts import add_account
from api.web.app import create_app
from api.web.settings import ServiceSettings
from registry.actions import pending_actions, run_actions
from registry.db import make_engine, read_session, session_scope, upgrade
from registry.runs import describe_run
from registry.settings import Settings
from tests.support.postgres import PostgresServer
from tests.web.conftest import BASE_URL, LOGINS, PASSWORD, Clock

RUNS = "/api/v1/runs"
CALTRACE = str(Path(sys.executable).parent / "caltrace")
CG18 = "nawi-calibration-cg18"
#: the demo balance's relative sensitivity error (lab/nawi_cg18.py SENSITIVITY) and its scale interval d (g)
SENSITIVITY = 2e-6
D_G = 0.0001
#: seconds any one wait of these tests may last
WAIT_S = 90.0


def _seed(url: str, clock: Clock) -> Engine:
    from acquisition.procedures import procedure_ids
    from lab import seed_demo_lab

    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine, "test") as s:
        seed_demo_lab(s, clock().date(), procedure_ids())
        for username, (roles, staff) in LOGINS.items():
            add_account(s, username, PASSWORD, roles, staff)
    return engine


def _app(engine: Engine, url: str, tmp_path: Path, clock: Clock, *, demo: bool = True) -> FastAPI:
    settings = ServiceSettings(
        secret_key=SecretStr("k" * 48), demo=demo, max_runs=2, events_heartbeat_s=0.5, action_timeout_s=120
    )
    return create_app(settings, registry=Settings(data_dir=tmp_path, database_url=url), engine=engine, clock=clock)


class Service:
    """One app (a service process) with a client and bearer tokens per login."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.client = TestClient(app, base_url=BASE_URL, raise_server_exceptions=False)
        self._tokens: dict[str, dict[str, str]] = {}

    def auth(self, username: str) -> dict[str, str]:
        if username not in self._tokens:
            answer = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            self._tokens[username] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return self._tokens[username]

    def get(self, path: str, who: str = "tech") -> Any:
        answer = self.client.get(path, headers=self.auth(who))
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, path: str, body: Any = None, who: str = "tech", expect: int = 200) -> Any:
        answer = self.client.post(path, json=body, headers=self.auth(who))
        assert answer.status_code == expect, answer.text
        return answer.json()

    def run(self, run_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = self.get(f"{RUNS}/{run_id}")
        return doc


@pytest.fixture
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Service, Service]]:
    """Two demo apps (two service processes) on one registry, SQLite unless the test asks for ``postgresql``
    (indirect parametrization); their runs are paused at teardown."""
    if getattr(request, "param", "sqlite") == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database()
    else:
        url = f"sqlite:///{tmp_path / 'caltrace.db'}"
    clock = Clock()
    engine = _seed(url, clock)
    first, second = Service(_app(engine, url, tmp_path, clock)), Service(_app(engine, url, tmp_path, clock))
    yield first, second
    for service in (first, second):
        assert service.app.state.runs.shutdown(30.0) == []
    engine.dispose()


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    """``check()`` until it returns something true, at most ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def drive(
    service: Service, run_id: str, until: Callable[[dict[str, Any]], bool], answerer: Service | None = None
) -> dict[str, Any]:
    """Answer every pending action of the run done (the demo's virtual lab then does what it asks) until
    ``until(run)``; fails when the run stops otherwise."""
    answerer = answerer or service
    end = time.monotonic() + WAIT_S
    while time.monotonic() < end:
        run = service.run(run_id)
        if until(run):
            return run
        assert run["state"] in ("created", "running"), run
        action = run["pending_action"]
        if action is not None and action["expects"] == "done":
            reply = answerer.client.post(
                f"{RUNS}/{run_id}/action",
                json={"action_id": action["action_id"], "answer": "done"},
                headers=answerer.auth("tech"),
            )
            assert reply.status_code in (200, 409), reply.text  # 409: answered meanwhile (never here), or closed
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not get there in {WAIT_S:g} s: {service.run(run_id)}")


def read_events(
    service: Service, run_id: str, comments: list[str] | None = None
) -> tuple[threading.Thread, list[tuple[str, dict[str, Any]]]]:
    """Read the run's event stream on a thread (it ends when the run stops executing): (thread, events); its
    comment lines (keep-alives) go to ``comments``."""
    events: list[tuple[str, dict[str, Any]]] = []
    comments = comments if comments is not None else []

    def read() -> None:
        with service.client.stream("GET", f"{RUNS}/{run_id}/events", headers=service.auth("aud")) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            kind = ""
            for line in answer.iter_lines():
                if line.startswith("event: "):
                    kind = line[len("event: ") :]
                elif line.startswith("data: "):
                    events.append((kind, json.loads(line[len("data: ") :])))
                elif line.startswith(":"):
                    comments.append(line)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, events


def test_a_demo_cg18_run_is_driven_through_the_api_streamed_completed_and_reviewed(
    services: tuple[Service, Service],
) -> None:
    api, _ = services
    started = api.post(RUNS, {"procedure": CG18}, expect=201)
    run_id = started["run_id"]
    assert started["technician"] == "demo"  # the login's member of staff
    assert started["standards"] == {"weights": "DEMO-W-E2", "environment": "DEMO-ENV"}  # the virtual lab's
    reader, events = read_events(api, run_id)
    first = wait_for("the first operator action", lambda: api.get(f"{RUNS}/{run_id}/action"))
    assert first["text_vi"] and first["text_en"] and first["status"] == "pending"
    run = drive(api, run_id, lambda r: r["state"] == "completed")
    reader.join(WAIT_S)
    assert not reader.is_alive()

    # the results: cg-18 errors of indication at each load, from the simulated balance's +2 ppm sensitivity error
    errors = [r for r in run["results"] if r["quantity"] == "error of indication"] or run["results"]
    assert run["results"] and all(r["budget"] for r in errors)
    points = {r["point"]: r for r in errors if r["point"] is not None}
    assert {50.0, 100.0, 200.0} <= set(points)
    for load in (50.0, 100.0, 200.0):
        r = points[load]
        value_g = r["value"] / 1000 if r["unit"] == "mg" else r["value"]
        # expected error: indication - conventional mass = m * 2e-6 (the simulator's sensitivity error), give or
        # take the rounding to d and the simulator's noise: within 1.5 d
        assert abs(value_g - load * SENSITIVITY) <= 1.5 * D_G, (load, r)

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "state" and kinds[-1] == "ended"
    assert {"step-started", "reading", "action-requested", "action-answered", "completed"} <= set(kinds)
    assert events[-1][1]["state"] == "completed"
    reading = next(data for kind, data in events if kind == "reading")
    assert reading["run_id"] == run_id and reading["unit"] and "value" in reading

    # the first action was answered by the technician's login, audited with it
    record = api.client.get(f"{RUNS}/{run_id}/action", headers=api.auth("tech"))
    assert record.status_code == 200 and record.json() is None  # nothing pending any more
    again = api.client.post(
        f"{RUNS}/{run_id}/action", json={"action_id": first["action_id"], "answer": "done"}, headers=api.auth("tech")
    )
    assert again.status_code == 409 and "already answered" in again.json()["detail"]
    assert "by tech" in again.json()["detail"]

    # review: not by the technician's role, then by the reviewer
    assert api.client.post(f"{RUNS}/{run_id}/review", headers=api.auth("tech")).status_code == 403
    reviewed = api.post(f"{RUNS}/{run_id}/review", who="rev")
    assert reviewed["state"] == "reviewed" and reviewed["reviewer"] == "demo-reviewer"
    assert run_id in [r["run_id"] for r in api.get(f"{RUNS}?state=reviewed", who="aud")]


def test_pause_and_resume_through_the_api(services: tuple[Service, Service]) -> None:
    api, _ = services
    run_id = api.post(RUNS, {"procedure": CG18}, expect=201)["run_id"]
    comments: list[str] = []
    reader, events = read_events(api, run_id, comments)
    wait_for("the first operator action", lambda: api.get(f"{RUNS}/{run_id}/action"))
    time.sleep(1.2)  # nothing happens while the action waits: keep-alive comments (every 0.5 s here)
    api.post(f"{RUNS}/{run_id}/pause", {"reason": "lunch"}, expect=202)
    paused = wait_for("the pause", lambda: (r := api.run(run_id))["state"] == "paused" and r)
    reader.join(WAIT_S)
    assert not reader.is_alive() and comments and set(comments) == {": keep-alive"}
    assert [kind for kind, _ in events][-3:] == ["cancelled", "paused", "ended"]
    assert "cancelled by tech" in paused["message"] and "lunch" in paused["message"]
    assert paused["pending_action"] is None and not paused["executing_here"]
    again = api.client.post(f"{RUNS}/{run_id}/pause", headers=api.auth("tech"))
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"

    # only the run's technician resumes it: a second technician login (another member of staff) is refused
    with session_scope(api.app.state.service.engine, "test") as s:
        add_account(s, "tech2", PASSWORD, ("technician",), "demo-reviewer")
    other = api.client.post(f"{RUNS}/{run_id}/resume", headers=api.auth("tech2"))
    assert other.status_code == 409 and "only they may resume it" in other.json()["detail"]
    resumed = api.post(f"{RUNS}/{run_id}/resume", expect=202)
    assert resumed["executing_here"]
    wait_for("the resumed run", lambda: api.run(run_id)["state"] == "running")
    run = drive(api, run_id, lambda r: r["state"] == "completed")
    assert run["results"]


def test_abort_leaves_the_run_aborted_and_the_calibrator_in_standby(services: tuple[Service, Service]) -> None:
    api, _ = services
    run_id = api.post(RUNS, {"procedure": "dmm-calibration"}, expect=201)["run_id"]
    calibrator = api.app.state.runs.scenarios[run_id].calibrator
    drive(api, run_id, lambda r: calibrator.manifest_entry()["operate"])  # the calibrator sources
    api.post(f"{RUNS}/{run_id}/abort", {"reason": "wrong range"}, expect=202)
    aborted = wait_for("the abort", lambda: (r := api.run(run_id))["state"] == "aborted" and r)
    assert "wrong range" in aborted["message"]
    assert calibrator.manifest_entry()["operate"] is False  # the engine put it to standby
    assert api.client.post(f"{RUNS}/{run_id}/resume", headers=api.auth("tech")).status_code == 409


@pytest.mark.parametrize("services", ["sqlite", "postgresql"], indirect=True)
def test_a_second_service_process_answers_and_cancels_the_first_ones_run(services: tuple[Service, Service]) -> None:
    first, second = services
    run_id = first.post(RUNS, {"procedure": CG18}, expect=201)["run_id"]
    pending = wait_for("the first operator action", lambda: second.get(f"{RUNS}/{run_id}/action"))
    seen = second.run(run_id)
    assert not seen["executing_here"] and seen["state"] == "running"
    answered = second.post(f"{RUNS}/{run_id}/action", {"action_id": pending["action_id"], "answer": "done"})
    assert answered["status"] == "answered" and answered["answered_by"] == "tech"
    # the first process's run goes on to its next action
    nxt = wait_for(
        "the next operator action",
        lambda: (a := first.get(f"{RUNS}/{run_id}/action")) and a["action_id"] != pending["action_id"] and a,
    )
    assert nxt["status"] == "pending"
    # a few more answered from the second process, then it aborts the run the first one executes
    drive(first, run_id, lambda r: r["steps_completed"] >= 3, answerer=second)
    reader, events = read_events(second, run_id)  # the run executes in the first: the second follows the registry
    wait_for("the second's event stream", lambda: events)
    second.post(f"{RUNS}/{run_id}/abort", {"reason": "customer left"}, expect=202)
    reader.join(WAIT_S)
    assert not reader.is_alive()
    assert {kind for kind, _ in events} == {"state"} and events[-1][1]["state"] == "aborted"
    aborted = wait_for("the abort", lambda: (r := first.run(run_id))["state"] == "aborted" and r)
    assert "customer left" in aborted["message"] and "cancelled by tech" in aborted["message"]
    wait_for("the first process's worker to let the run go", lambda: not first.app.state.runs.executing(run_id))


def test_refusals_are_problem_documents(services: tuple[Service, Service]) -> None:
    api, _ = services
    unknown = api.client.post(RUNS, json={"procedure": "no-such"}, headers=api.auth("tech"))
    assert unknown.status_code == 422 and unknown.headers["content-type"] == "application/problem+json"
    reviewer = api.client.post(RUNS, json={"procedure": CG18}, headers=api.auth("rev"))
    assert reviewer.status_code == 403
    wrong = api.client.post(RUNS, json={"procedure": CG18, "instrument": "NO-SUCH-SERIAL"}, headers=api.auth("tech"))
    assert wrong.status_code == 409, wrong.text
    assert "NO-SUCH-SERIAL" in wrong.json()["detail"]
    bad = api.client.post(RUNS, json={"procedure": CG18, "parameters": {"loads": [1]}}, headers=api.auth("tech"))
    assert bad.status_code == 422 and "unknown parameter 'loads'" in bad.json()["detail"]
    assert bad.json()["errors"][0]["pointer"] == "#/parameters"
    assert api.get(f"{RUNS}?state=created") == []  # nothing was registered for the refused requests
    assert api.client.get(f"{RUNS}/ffffffff", headers=api.auth("tech")).status_code == 404
    assert api.client.get(f"{RUNS}/ffffffff/events", headers=api.auth("tech")).status_code == 404


def test_the_command_line_in_another_process_answers_an_action_of_a_service_run(
    services: tuple[Service, Service], tmp_path: Path
) -> None:
    """Two processes for real: ``caltrace runs answer`` answers the pending action of a run the service executes."""
    api, _ = services
    run_id = api.post(RUNS, {"procedure": CG18}, expect=201)["run_id"]
    pending = wait_for("the first operator action", lambda: api.get(f"{RUNS}/{run_id}/action"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env.update(CALTRACE_DATA_DIR=str(tmp_path), CALTRACE_ACTOR="lan-at-the-bench")
    done = subprocess.run(
        [CALTRACE, "runs", "answer", str(pending["action_id"])],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    wait_for(
        "the next operator action",
        lambda: (a := api.get(f"{RUNS}/{run_id}/action")) and a["action_id"] != pending["action_id"],
    )
    with read_session(api.app.state.service.engine) as s:
        first = run_actions(s, run_id)[0]
    assert (first["status"], first["answer"], first["answered_by"]) == ("answered", "done", "lan-at-the-bench")


def test_the_service_shutdown_pauses_its_executing_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'caltrace.db'}"
    clock = Clock()
    engine = _seed(url, clock)
    app = _app(engine, url, tmp_path, clock)
    with TestClient(app, base_url=BASE_URL) as client:  # the lifespan: its end stops the run worker
        token = client.post("/api/v1/auth/token", json={"username": "tech", "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        run_id = client.post(RUNS, json={"procedure": CG18}, headers=auth).json()["run_id"]
        wait_for("the first operator action", lambda: client.get(f"{RUNS}/{run_id}/action", headers=auth).json())
    assert not app.state.runs.executing(run_id)
    with read_session(engine) as s:
        run = describe_run(s, run_id)
        assert run["state"] == "paused" and "service shutdown" in run["message"]
        assert pending_actions(s, run_id) == []  # closed as cancelled: nobody waits for them
    engine.dispose()
