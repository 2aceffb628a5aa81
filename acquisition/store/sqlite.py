"""The embedded reading store: one SQLite file (WAL, ``synchronous=FULL``), safe for several threads and processes.

Table ``readings``: ``ts`` integer microseconds since 1970-01-01T00:00:00Z; ``value`` REAL, NULL for NaN; run id,
step and quantity as ``''`` when absent (SQLite treats NULLs as distinct in a UNIQUE key, so ``''`` keeps a reading
without a run idempotent). The UNIQUE key ``(run_id, ts, instrument_id, quantity, step)`` is the reading's identity
and doubles as the ``(run_id, ts)`` index; ``(instrument_id, ts)`` has its own index.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from math import isnan
from pathlib import Path

from acquisition.store.base import QueryFilter, ReadingStore, StoredReading, check_batch
from acquisition.store.errors import (
    StoreAccessError,
    StoreBusyError,
    StoreClosedError,
    StoreError,
    StoreVersionError,
)

SCHEMA_VERSION = 1
APPLICATION_ID = 0x43545244  # "CTRD": caltrace readings; tells this file apart from other SQLite files
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL")
SCHEMA = (
    """CREATE TABLE readings (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        instrument_id TEXT NOT NULL,
        quantity TEXT NOT NULL DEFAULT '',
        run_id TEXT NOT NULL DEFAULT '',
        step TEXT NOT NULL DEFAULT '',
        value REAL,
        unit TEXT NOT NULL,
        status TEXT NOT NULL,
        UNIQUE (run_id, ts, instrument_id, quantity, step)
    )""",
    "CREATE INDEX readings_instrument_ts ON readings (instrument_id, ts)",
)
INSERT = (
    "INSERT INTO readings (ts, instrument_id, quantity, run_id, step, value, unit, status) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, ts, instrument_id, quantity, step) "
    "DO UPDATE SET value = excluded.value, unit = excluded.unit, status = excluded.status"
)
_COLUMNS = "ts, instrument_id, quantity, run_id, step, value, unit, status"
_ORDER = "ts, instrument_id, quantity, run_id, step"

Row = tuple[int, str, str, str, str, float | None, str, str]


def _row_reading(row: Row) -> StoredReading:
    ts, instrument_id, quantity, run_id, step, value, unit, status = row
    return StoredReading.from_micros(
        ts,
        instrument_id=instrument_id,
        quantity=quantity,
        value=value,
        unit=unit,
        status=status,
        run_id=run_id,
        step=step,
    )


def _where(flt: QueryFilter) -> tuple[str, list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    for column, value in (
        ("run_id", flt.run_id),
        ("instrument_id", flt.instrument_id),
        ("step", flt.step),
        ("quantity", flt.quantity),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if flt.start_us is not None:
        clauses.append("ts >= ?")
        args.append(flt.start_us)
    if flt.end_us is not None:
        clauses.append("ts < ?")
        args.append(flt.end_us)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


class SQLiteReadingStore(ReadingStore):
    """Readings in the SQLite file ``path`` (created with its directory when missing).

    Every ``append`` is one transaction committed with ``synchronous=FULL`` (fsync of the WAL), so a returned
    append survives a process kill and a power cut. Each thread gets its own connection; concurrent writers wait
    up to ``busy_timeout`` seconds for each other.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        if busy_timeout <= 0:
            raise ValueError(f"busy_timeout must be positive seconds, got {busy_timeout!r}")
        self._busy_ms = int(busy_timeout * 1000)
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._prepare_directory()
        self._init_schema(self._connection())

    # -- connections -------------------------------------------------------------------------------------------

    def _prepare_directory(self) -> None:
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreAccessError(
                f"cannot create the directory {parent} for the reading store {self.path}: {exc.strerror or exc}. "
                "Set CALTRACE_DATA_DIR to a writable directory."
            ) from exc
        if not parent.is_dir():
            raise StoreAccessError(f"{parent} is not a directory: set CALTRACE_DATA_DIR to a writable directory")
        target = self.path if self.path.exists() else parent
        if not os.access(target, os.W_OK):
            raise StoreAccessError(
                f"the reading store {self.path} is not writable ({target} is read-only): "
                "fix its permissions or set CALTRACE_DATA_DIR to a writable directory"
            )

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreClosedError(f"the reading store {self.path} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")
            for pragma in PRAGMAS:
                conn.execute(pragma)
        except sqlite3.DatabaseError as exc:
            raise self._translate(exc, "open") from exc
        with self._lock:
            if self._closed:
                conn.close()
                raise StoreClosedError(f"the reading store {self.path} is closed")
            # connections of threads that have ended are closed here, so a pool of short-lived threads cannot leak
            alive = []
            for owner, other in self._connections:
                if owner.is_alive():
                    alive.append((owner, other))
                else:
                    other.close()
            alive.append((threading.current_thread(), conn))
            self._connections = alive
        self._local.conn = conn
        return conn

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                if version == 0:
                    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                    if tables:
                        raise StoreVersionError(
                            f"{self.path} is an SQLite file but not a caltrace reading store: "
                            "point the reading store at another file (CALTRACE_DATA_DIR)"
                        )
                    for statement in SCHEMA:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                elif app_id != APPLICATION_ID:
                    raise StoreVersionError(
                        f"{self.path} is not a caltrace reading store (application id {app_id:#x}): "
                        "point the reading store at another file (CALTRACE_DATA_DIR)"
                    )
                elif version > SCHEMA_VERSION:
                    raise StoreVersionError(
                        f"the reading store {self.path} has schema version {version}, written by a newer caltrace; "
                        f"this caltrace reads up to version {SCHEMA_VERSION}: upgrade caltrace"
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            self.close()
            raise self._translate(exc, "open") from exc
        except BaseException:
            self.close()
            raise

    def _translate(self, exc: sqlite3.DatabaseError, action: str) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreBusyError(
                f"the reading store {self.path} stayed locked by another writer for more than "
                f"{self._busy_ms / 1000:g} s during {action}: retry, or look for a stuck caltrace process"
            )
        if "readonly" in text or "unable to open" in text or "permission" in text.lower():
            return StoreAccessError(
                f"cannot {action} the reading store {self.path}: {text}. "
                "Check the file's permissions or set CALTRACE_DATA_DIR to a writable directory"
            )
        if "not a database" in text or "malformed" in text:
            return StoreVersionError(
                f"{self.path} is not a readable SQLite reading store ({text}): move it aside and restore a backup"
            )
        if "full" in text:
            return StoreError(f"the disk holding {self.path} is full during {action}: free space, then retry")
        return StoreError(f"reading store {self.path}: {action} failed: {text}")

    # -- the interface -----------------------------------------------------------------------------------------

    def append(self, readings: Sequence[StoredReading]) -> None:
        check_batch(readings)
        if not readings:
            return
        rows = [
            (
                r.ts_us,
                r.instrument_id,
                r.quantity,
                r.run_id or "",
                r.step or "",
                None if isnan(r.value) else r.value,
                r.unit,
                r.status.value,
            )
            for r in readings
        ]
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(INSERT, rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise self._translate(exc, "append to") from exc

    def query(
        self,
        *,
        run_id: str | None = None,
        instrument_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        step: str | None = None,
        quantity: str | None = None,
        limit: int | None = None,
    ) -> list[StoredReading]:
        flt = QueryFilter.build(
            run_id=run_id, instrument_id=instrument_id, start=start, end=end, step=step, quantity=quantity, limit=limit
        )
        if flt.empty_range:
            return []
        where, args = _where(flt)
        sql = f"SELECT {_COLUMNS} FROM readings{where} ORDER BY {_ORDER}"
        if flt.limit is not None:
            sql += " LIMIT ?"
            args.append(flt.limit)
        return [_row_reading(row) for row in self._fetch(sql, args)]

    def latest(
        self, instrument_id: str, *, quantity: str | None = None, run_id: str | None = None
    ) -> StoredReading | None:
        flt = QueryFilter.build(instrument_id=instrument_id, quantity=quantity, run_id=run_id)
        where, args = _where(flt)
        rows = self._fetch(
            f"SELECT {_COLUMNS} FROM readings{where} ORDER BY ts DESC, instrument_id, quantity, run_id, step LIMIT 1",
            args,
        )
        return _row_reading(rows[0]) if rows else None

    def count(self, *, run_id: str | None = None, instrument_id: str | None = None) -> int:
        where, args = _where(QueryFilter.build(run_id=run_id, instrument_id=instrument_id))
        return int(self._fetch(f"SELECT count(*) FROM readings{where}", args)[0][0])

    def _fetch(self, sql: str, args: Sequence[object]) -> list[Row]:
        conn = self._connection()
        try:
            rows: list[Row] = conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._translate(exc, "query") from exc
        return rows

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for _, conn in connections:
            conn.close()

    def __repr__(self) -> str:
        return f"SQLiteReadingStore({str(self.path)!r})"


__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SQLiteReadingStore"]
