"""SQLite store: durability across close and SIGKILL, concurrent writers, versioned file, clear errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from acquisition.store import (
    SQLiteReadingStore,
    StoreAccessError,
    StoreBusyError,
    StoredReading,
    StoreVersionError,
)
from drivers.reading import ReadingStatus

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 1, tzinfo=UTC)

# A writer process: appends BATCHES batches of SIZE readings of its own instrument, then says so and waits.
WRITER = """
import sys, time
from datetime import UTC, datetime, timedelta
from acquisition.store import SQLiteReadingStore, StoredReading
path, name, batches, size, wait = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "wait"
t0 = datetime(2024, 1, 1, tzinfo=UTC)
store = SQLiteReadingStore(path)
print("ready", flush=True)
sys.stdin.readline()  # start together
for b in range(batches):
    store.append([
        StoredReading(instrument_id=name, value=float(b * size + i), unit="g", status="stable",
                      timestamp=t0 + timedelta(microseconds=b * size + i), run_id="R1")
        for i in range(size)
    ])
print("appended", flush=True)
if wait:
    time.sleep(60)
"""


def spawn_writer(path: Path, name: str, batches: int, size: int, *, wait: bool = False) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), name, str(batches), str(size), "wait" if wait else "go"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def reading(i: int, instrument: str = "bal-1") -> StoredReading:
    return StoredReading(
        instrument_id=instrument,
        value=float(i),
        unit="g",
        status=ReadingStatus.STABLE,
        timestamp=T0 + timedelta(microseconds=i),
        run_id="R1",
    )


def test_readings_survive_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "data" / "readings.db"  # the directory is created
    with SQLiteReadingStore(path) as store:
        store.append([reading(i) for i in range(100)])
    with SQLiteReadingStore(path) as again:
        assert again.count() == 100
        assert [r.value for r in again.query(limit=3)] == [0.0, 1.0, 2.0]


def test_file_is_in_wal_mode_with_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "readings.db"
    SQLiteReadingStore(path).close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
        indexed = {row[0] for row in raw.execute("SELECT sql FROM sqlite_master WHERE type = 'index'") if row[0]}
        assert any("(instrument_id, ts)" in sql for sql in indexed)
    finally:
        raw.close()


def test_rows_survive_sigkill_right_after_append_returns(tmp_path: Path) -> None:
    path = tmp_path / "readings.db"
    proc = spawn_writer(path, "bal-9", batches=5, size=200, wait=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "appended"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with SQLiteReadingStore(path) as store:
        assert store.count(instrument_id="bal-9") == 1000
        assert store.latest("bal-9") is not None and store.latest("bal-9").value == 999.0  # type: ignore[union-attr]


def test_two_writer_processes_lose_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "readings.db"
    SQLiteReadingStore(path).close()
    procs = [spawn_writer(path, f"proc-{k}", batches=40, size=250) for k in range(2)]
    for proc in procs:  # release both at once
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "appended" in out
    with SQLiteReadingStore(path) as store:
        assert store.count() == 2 * 40 * 250
        for k in range(2):
            values = [r.value for r in store.query(instrument_id=f"proc-{k}")]
            assert values == [float(i) for i in range(40 * 250)]


def test_threads_sharing_one_store_lose_no_rows(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with SQLiteReadingStore(tmp_path / "readings.db") as store:

        def work(k: int) -> None:
            try:
                for b in range(20):
                    store.append([reading(b * 100 + i, f"thread-{k}") for i in range(100)])
                    store.count(instrument_id=f"thread-{k}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert store.count() == 4 * 20 * 100


def test_a_writer_held_too_long_gives_a_busy_error(tmp_path: Path) -> None:
    path = tmp_path / "readings.db"
    with SQLiteReadingStore(path, busy_timeout=0.2) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreBusyError, match="locked by another writer"):
                store.append([reading(1)])
            blocker.execute("ROLLBACK")
        finally:
            blocker.close()
        store.append([reading(1)])
        assert store.count() == 1


def test_a_file_from_a_newer_caltrace_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "readings.db"
    with SQLiteReadingStore(path) as store:
        store.append([reading(1)])
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 7")
    raw.commit()
    raw.close()
    with pytest.raises(StoreVersionError, match=r"schema version 7.*newer caltrace.*upgrade caltrace"):
        SQLiteReadingStore(path)


def test_another_sqlite_file_is_not_taken_for_a_reading_store(tmp_path: Path) -> None:
    path = tmp_path / "caltrace.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreVersionError, match="not a caltrace reading store"):
        SQLiteReadingStore(path)
    raw = sqlite3.connect(path)
    assert [r[0] for r in raw.execute("SELECT name FROM sqlite_master")] == ["customers"]  # left untouched
    raw.close()


def test_a_garbage_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "readings.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreVersionError, match="not a readable SQLite reading store"):
        SQLiteReadingStore(path)
    assert path.read_bytes().startswith(b"this is not sqlite")


def test_a_data_dir_that_is_a_file_names_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(StoreAccessError, match="CALTRACE_DATA_DIR"):
        SQLiteReadingStore(blocker / "readings.db")


def test_short_lived_threads_do_not_pile_up_connections(tmp_path: Path) -> None:
    with SQLiteReadingStore(tmp_path / "readings.db") as store:
        for k in range(20):
            t = threading.Thread(target=store.append, args=([reading(k)],))
            t.start()
            t.join()
        assert store.count() == 20
        assert len(store._connections) <= 2  # this thread's and the last worker's (closed on the next open)
