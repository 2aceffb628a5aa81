"""A real PostgreSQL server for the tests: Debian's package, on 127.0.0.1 and a free port, data in a temp dir.

PostgreSQL refuses to run as root, so when the tests run as root (CI) the cluster is created and started as the
``postgres`` system user (created by the Debian package). Authentication is ``trust`` on loopback only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ports import server_port

SUPERUSER = "caltrace"
BIND_TRIES = 5  # starts on fresh ports when the chosen one was taken meanwhile


def _bin_dir() -> Path | None:
    """Directory of the newest installed PostgreSQL server binaries (Debian: /usr/lib/postgresql/NN/bin)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (see :mod:`tests.support.ports`)."""
    return server_port()


def unavailable(reason: str) -> None:
    """Skip, or fail under CI=true (a missing server must not turn a CI run green)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is needed under CI=true: {reason}")
    pytest.skip(reason)


class PostgresServer:
    """One throw-away PostgreSQL cluster. ``url(db)`` gives a psycopg 3 SQLAlchemy URL."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            unavailable("PostgreSQL server binaries not found (Debian package `postgresql`)")
        assert bin_dir is not None
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="caltrace-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.sockets.mkdir()
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                unavailable("running as root but there is no `postgres` user to run the server as")
            self.user = "postgres"
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chown(self.sockets, pw.pw_uid, pw.pw_gid)
            self.root.chmod(0o700)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd="/")

    def start(self) -> None:
        """initdb (first time) and start; raises with the server's log when it does not come up."""
        if not self.data.exists():
            done = self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
            if done.returncode:
                raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        log_path = self.root / "server.log"
        for attempt in range(1, BIND_TRIES + 1):
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
            )
            log_path.unlink(missing_ok=True)
            done = self._run("pg_ctl", "-D", str(self.data), "-l", str(log_path), "-o", options, "-w", "start")
            if not done.returncode:
                return
            log = log_path.read_text(errors="replace") if log_path.exists() else ""
            if "already in use" not in log or attempt == BIND_TRIES:
                raise RuntimeError(f"PostgreSQL did not start:\n{done.stdout}\n{done.stderr}\n{log}")
            self.port = free_port()  # someone took the port between choosing and starting: a fresh one

    def stop(self) -> None:
        """Fast shutdown; the data directory is removed."""
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` as the superuser."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A started server, stopped and removed at the end."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
