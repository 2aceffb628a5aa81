"""A durable first-in-first-out queue of line-protocol batches waiting for the time-series server.

One SQLite file per destination (server URL + database) in the spool directory, WAL with ``synchronous=FULL``:
:meth:`Spool.put` returns only after the batch is fsync'd. Batches leave the queue oldest-first and only after the
server acknowledged them (:meth:`Spool.delete`); a batch the server refuses as malformed moves to the ``rejected``
table with the server's reason (kept for a person to inspect, never silently dropped).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acquisition.store.errors import StoreAccessError, StoreError, StoreVersionError
from acquisition.store.lineprotocol import Chunk

SPOOL_VERSION = 1
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS batches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_us INTEGER NOT NULL,
        readings INTEGER NOT NULL,
        body BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS rejected (
        id INTEGER PRIMARY KEY,
        created_us INTEGER NOT NULL,
        rejected_us INTEGER NOT NULL,
        readings INTEGER NOT NULL,
        body BLOB NOT NULL,
        reason TEXT NOT NULL
    )""",
)


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One queued batch: its queue position ``id``, number of readings and line-protocol ``body`` (UTF-8)."""

    id: int
    readings: int
    body: bytes


def spool_file(spool_dir: Path, url: str, database: str) -> Path:
    """The spool file of one destination: readable name plus a hash, so two servers never share a queue."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{url.split('://', 1)[-1]}-{database}").strip("-")[:60]
    digest = hashlib.sha256(f"{url}\n{database}".encode()).hexdigest()[:12]
    return spool_dir / f"influx-{slug}-{digest}.sqlite"


class Spool:
    """The queue in ``path`` (created with its directory when missing). Thread-safe; several processes may share
    a file (SQLite locking, ``busy_timeout`` seconds)."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StoreAccessError(
                f"cannot create the time-series spool {path}: {exc}. Readings could not be kept while the server "
                "is away; set CALTRACE_DATA_DIR to a writable directory"
            ) from exc
        try:
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("BEGIN IMMEDIATE")
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SPOOL_VERSION:
                self._conn.execute("ROLLBACK")
                raise StoreVersionError(
                    f"the spool {path} has version {version}, written by a newer caltrace: upgrade caltrace "
                    "(its readings are still in that file)"
                )
            for statement in _SCHEMA:
                self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version={SPOOL_VERSION}")
            self._conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise StoreAccessError(f"cannot use the time-series spool {path}: {exc}") from exc
        except BaseException:
            self._conn.close()
            raise

    def _run(self, action: str, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"time-series spool {self.path}: {action} failed: {exc}. Free disk space or fix permissions; "
                    "the readings of this batch are not stored"
                    if action == "put"
                    else f"time-series spool {self.path}: {action} failed: {exc}"
                ) from exc

    def put(self, chunks: Sequence[Chunk]) -> None:
        """Queue ``chunks`` as one batch (UTF-8 line protocol, one reading per line); durable (fsync'd) when this
        returns."""
        readings = sum(chunk.readings for chunk in chunks)
        if readings:
            body = b"\n".join(chunk.body for chunk in chunks if chunk.readings)
            self._run(
                "put",
                "INSERT INTO batches (created_us, readings, body) VALUES (?, ?, ?)",
                (time.time_ns() // 1000, readings, body),
            )

    def oldest(self) -> SpooledBatch | None:
        """The batch at the head of the queue, or None when it is empty."""
        rows = self._run("read", "SELECT id, readings, body FROM batches ORDER BY id LIMIT 1")
        if not rows:
            return None
        batch_id, readings, body = rows[0]
        return SpooledBatch(int(batch_id), int(readings), bytes(body))

    def delete(self, batch_id: int) -> None:
        """Remove a batch the server acknowledged."""
        self._run("delete", "DELETE FROM batches WHERE id = ?", (batch_id,))

    def reject(self, batch: SpooledBatch, reason: str) -> None:
        """Move a batch the server refused as malformed to the ``rejected`` table, with the reason."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute(
                    "INSERT INTO rejected (id, created_us, rejected_us, readings, body, reason) "
                    "SELECT id, created_us, ?, readings, body, ? FROM batches WHERE id = ?",
                    (time.time_ns() // 1000, reason, batch.id),
                )
                self._conn.execute("DELETE FROM batches WHERE id = ?", (batch.id,))
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StoreError(f"time-series spool {self.path}: cannot set a rejected batch aside: {exc}") from exc

    def pending(self) -> int:
        """Readings waiting in the queue."""
        return int(self._run("count", "SELECT coalesce(sum(readings), 0) FROM batches")[0][0])

    def rejected(self) -> int:
        """Readings the server refused, kept in the ``rejected`` table."""
        return int(self._run("count", "SELECT coalesce(sum(readings), 0) FROM rejected")[0][0])

    def close(self) -> None:
        """Close the file (the queue stays on disk)."""
        with self._lock:
            self._conn.close()
