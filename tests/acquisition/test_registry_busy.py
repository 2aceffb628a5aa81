"""A run survives a busy registry (issue 14.3): a large import and a run side by side both complete, readers never
wait for writers, and a checkpoint write that cannot get the lock retries, then pauses the run with the reason."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine
from typer.testing import CliRunner

import acquisition.engine as engine_module
from acquisition.channel import AutomaticFrontEnd, OperatorAction
from acquisition.engine import RunEngine
from acquisition.store import SQLiteReadingStore
from api.cli import app
from benchmarks.registry_import import write_instruments_csv
from drivers.registry import open_instrument
from lab.base import DemoScenario
from registry.db import make_engine, read_session
from registry.models import MeasuringInstrument, Run, RunState
from simulators.mtsics import MtSicsSimulator
from tests.acquisition.conftest import DemoRun
from tests.acquisition.test_engine import TODAY, ToyProcedure, balance, registry  # noqa: F401 - fixtures

CALTRACE = str(Path(sys.executable).parent / "caltrace")
IMPORT_ROWS = 50_000


def write_locked(path: Path) -> bool:
    """True while another connection holds the SQLite file's write lock (probed without waiting)."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc), exc
        return True
    finally:
        if probe.in_transaction:
            probe.execute("ROLLBACK")
        probe.close()
    return False


@pytest.mark.slow
def test_a_dmm_run_and_a_large_import_side_by_side_both_complete(
    demo_run: Callable[..., DemoRun], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's reproduction: while a DMM run is mid-way (calibrator live, run `running`), a 50 000-row import
    takes the registry's write lock; `runs list` and `audit verify` answer meanwhile, the run's next checkpoint
    waits for the import's commit, and both finish."""
    db = tmp_path / "dmm-calibration.db"  # where demo_run puts the registry
    sheet = write_instruments_csv(tmp_path / "big.csv", IMPORT_ROWS, last_day=date.today() - timedelta(days=2))
    for name in list(os.environ):
        if name.startswith("CALTRACE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CALTRACE_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("CALTRACE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CALTRACE_ACTOR", "importer")
    seen: dict[str, object] = {}

    def prepare(demo: DemoScenario) -> None:
        act = demo.act
        actions: list[OperatorAction] = []

        def act_then_import(action: OperatorAction) -> None:
            act(action)
            actions.append(action)
            if seen or len(actions) != 2:  # at the second operator action (the DMM demo: connect for current)
                return
            # mid-run: start the import and wait until it holds the write lock
            started = time.monotonic()
            seen["import"] = importer = subprocess.Popen(
                [CALTRACE, "registry", "import", "instruments", str(sheet), "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
            )
            while not write_locked(db):
                assert importer.poll() is None, "the import ended before it was seen holding the write lock"
                assert time.monotonic() - started < 120, "the import never took the write lock"
                time.sleep(0.01)
            t0 = time.monotonic()
            listed = CliRunner().invoke(app, ["runs", "list", "-f", "json"])
            verified = CliRunner().invoke(app, ["audit", "verify"])
            seen["readers_s"] = time.monotonic() - t0
            seen["still_locked"] = write_locked(db)
            seen["listed"], seen["verified"] = listed, verified

        demo.act = act_then_import  # type: ignore[method-assign]

    run = demo_run("dmm-calibration", prepare=prepare)
    importer = seen["import"]
    assert isinstance(importer, subprocess.Popen)
    out, err = importer.communicate(timeout=300)
    assert importer.returncode == 0, err[-2000:]
    assert f'"imported": {IMPORT_ROWS}' in out
    # the readers answered while the import held the lock (they did not wait for it)
    assert seen["listed"].exit_code == 0, seen["listed"].output  # type: ignore[attr-defined]
    assert '"state": "running"' in seen["listed"].output  # type: ignore[attr-defined]  # the DMM run, mid-way
    assert seen["verified"].exit_code == 0, seen["verified"].output  # type: ignore[attr-defined]
    assert "audit log intact" in seen["verified"].output  # type: ignore[attr-defined]
    assert seen["still_locked"], f"the import's write ended before the readers returned ({seen['readers_s']:.1f} s)"
    # the run waited for the import's commit and completed
    assert run.outcome.state == "completed", run.outcome.message
    with read_session(run.registry) as s:
        assert s.get(Run, run.outcome.run_id).state is RunState.COMPLETED  # type: ignore[union-attr]
        assert s.scalar(select(MeasuringInstrument.id).where(MeasuringInstrument.serial_number == "SN0049999"))
    listed = CliRunner().invoke(app, ["audit", "verify"])
    assert listed.exit_code == 0, listed.output


# --- the checkpoint's retries, deterministically: another connection holds the lock ---------------------------------


def _raw_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def hold_write_lock(engine: Engine) -> Connection:
    """A connection holding the lock every registry writer needs (SQLite: the database's write lock; PostgreSQL:
    the audit head row, which every audited write locks). Roll it back to release."""
    conn = engine.connect()
    if engine.dialect.name == "sqlite":
        conn.execute(text("SELECT 1"))  # the begin event issues BEGIN IMMEDIATE
    else:
        conn.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
    return conn


@pytest.fixture
def quick(registry: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:  # noqa: F811 - fixture
    """The test registry with a 0.3 s busy timeout, and checkpoint retries of 3 attempts from 0.2 s back-off: a
    write gives up after about 0.3 x 3 + 0.2 + 0.4 = 1.5 s."""
    monkeypatch.setattr(engine_module, "CHECKPOINT_ATTEMPTS", 3)
    monkeypatch.setattr(engine_module, "CHECKPOINT_BACKOFF_S", 0.2)
    quick = make_engine(_raw_url(registry), busy_timeout_s=0.3)
    yield quick
    quick.dispose()


def _run_with_lock_at_second_load(
    registry: Engine,  # noqa: F811 - fixture
    quick: Engine,
    balance: MtSicsSimulator,  # noqa: F811 - fixture
    tmp_path: Path,
    hold_s: float | None,
) -> tuple[RunEngine, str, object, list[Connection]]:
    """Execute the toy run; when the operator places the second load, another connection takes the write lock and
    keeps it ``hold_s`` seconds (None: until the caller releases it)."""
    engine = RunEngine(quick, SQLiteReadingStore(tmp_path / "readings.db"), actor="lan", today=lambda: TODAY)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    held: list[Connection] = []
    blocker = make_engine(_raw_url(registry))

    def act(action: OperatorAction) -> None:
        balance.control("place", load_g=action.params["load_g"])
        if action.params["load_g"] == 100.0 and not held:
            held.append(hold_write_lock(blocker))
            if hold_s is not None:
                threading.Timer(hold_s, held[0].rollback).start()

    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        outcome = engine.execute(ToyProcedure(), run_id, {"balance": inst}, AutomaticFrontEnd(act))
    return engine, run_id, outcome, held


def test_a_checkpoint_that_finds_the_registry_locked_retries_and_the_run_completes(
    registry: Engine,  # noqa: F811 - fixture
    quick: Engine,
    balance: MtSicsSimulator,  # noqa: F811 - fixture
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # locked for 0.8 s: the first attempt (0.3 s) fails, the retries (after 0.2 s, then 0.4 s) get the lock
    with caplog.at_level(logging.WARNING, logger="registry.db"):
        _, run_id, outcome, held = _run_with_lock_at_second_load(registry, quick, balance, tmp_path, 0.8)
    assert outcome.state == "completed", outcome.message  # type: ignore[attr-defined]
    assert any("registry busy" in r.getMessage() for r in caplog.records)  # it did have to retry
    with read_session(registry) as s:
        assert s.get(Run, run_id).state is RunState.COMPLETED  # type: ignore[union-attr]
    held[0].close()


def test_a_checkpoint_that_never_gets_the_lock_pauses_the_run_with_the_reason_and_it_resumes(
    registry: Engine,  # noqa: F811 - fixture
    quick: Engine,
    balance: MtSicsSimulator,  # noqa: F811 - fixture
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    engine, run_id, outcome, held = _run_with_lock_at_second_load(registry, quick, balance, tmp_path, None)
    assert time.monotonic() - started < 30  # bounded: gave up, did not hang
    assert outcome.state == "paused"  # type: ignore[attr-defined]
    message = outcome.message  # type: ignore[attr-defined]
    assert "locked by another writer" in message and "3 attempts" in message
    assert f"--resume {run_id}" in message
    assert "could not be recorded" in message or "still shows the run as running" in message
    # readers are not held up by the lock meanwhile
    with read_session(quick) as s:
        state = s.get(Run, run_id).state  # type: ignore[union-attr]
    assert state is RunState.RUNNING  # the pause could not be written either: the run shows as running
    held[0].rollback()
    held[0].close()
    # the lock gone, the same process resumes the run (it is its own owner) and it completes
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        done = engine.execute(
            ToyProcedure(),
            run_id,
            {"balance": inst},
            AutomaticFrontEnd(lambda a: balance.control("place", load_g=a.params["load_g"])),
        )
    assert done.state == "completed", done.message
