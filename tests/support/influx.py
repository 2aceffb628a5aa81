"""A real InfluxDB 1.x server for tests and benchmarks: Debian's ``influxd`` on loopback, data in a temp dir.

    with InfluxServer(tmp_dir) as server:          # starts and waits for /ping (bounded)
        server.url                                 # http://127.0.0.1:<port>
        server.stop(); server.start()              # same ports and data: "the server went away and came back"

``auth=(user, password)`` turns authentication on and creates that admin user. Every server started here is
terminated at interpreter exit at the latest, so no ``influxd`` outlives the test run.
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.support.ports import server_port

START_TIMEOUT = 30.0  # seconds for /ping to answer after launch
BIND_TRIES = 5  # first starts on fresh ports when a port was taken meanwhile
_RUNNING: set[subprocess.Popen[bytes]] = set()


def influxd_path() -> str | None:
    """Path of the ``influxd`` binary, or None when it is not installed."""
    return shutil.which("influxd") or (str(Path("/usr/bin/influxd")) if Path("/usr/bin/influxd").exists() else None)


def require_influxd() -> str:
    """``influxd``'s path; without it the test fails under CI (``CI=true``) and is skipped elsewhere."""
    import pytest

    path = influxd_path()
    if path is None:
        message = "influxd is not installed (Debian package 'influxdb'; make test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (see :mod:`tests.support.ports`)."""
    return server_port()


def _kill_leftovers() -> None:
    for proc in list(_RUNNING):
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        _RUNNING.discard(proc)


atexit.register(_kill_leftovers)


class _PortTakenError(RuntimeError):
    """influxd could not bind a port (someone took it between choosing and starting)."""


class InfluxServer:
    """One ``influxd`` with its config, data, WAL and log under ``root`` (a temp dir when None)."""

    def __init__(self, root: Path | None = None, *, auth: tuple[str, str] | None = None, binary: str | None = None):
        self.binary = binary or influxd_path()
        if self.binary is None:
            raise FileNotFoundError("influxd is not installed (Debian package 'influxdb')")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="caltrace-influx-")
            root = Path(self._tmp.name)
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.http_port = free_port()
        self.rpc_port = free_port()
        self.log_path = self.root / "influxd.log"
        self.config_path = self.root / "influxd.conf"
        self.config_path.write_text(self._config())
        self._proc: subprocess.Popen[bytes] | None = None
        self._user_created = False
        self._started_before = False

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def _config(self) -> str:
        return "\n".join(
            [
                "reporting-disabled = true",
                f'bind-address = "127.0.0.1:{self.rpc_port}"',
                "[meta]",
                f'  dir = "{self.root / "meta"}"',
                "[data]",
                f'  dir = "{self.root / "data"}"',
                f'  wal-dir = "{self.root / "wal"}"',
                "  query-log-enabled = false",
                "[http]",
                f'  bind-address = "127.0.0.1:{self.http_port}"',
                f"  auth-enabled = {'true' if self.auth else 'false'}",
                "  log-enabled = false",
                "[monitor]",
                "  store-enabled = false",
                "[continuous_queries]",
                "  enabled = false",
                "[logging]",
                '  level = "warn"',
                "",
            ]
        )

    def start(self) -> None:
        """Launch ``influxd`` and wait (at most 30 s) until ``/ping`` answers 204.

        On the first start, a port taken by someone else meanwhile means new ports and another try (at most
        ``BIND_TRIES``); a restart keeps its ports, since clients already know the URL.
        """
        if self.running:
            return
        for attempt in range(1, BIND_TRIES + 1):
            try:
                self._start_once()
                break
            except _PortTakenError:
                if self._started_before or attempt == BIND_TRIES:
                    raise
                self.http_port, self.rpc_port = free_port(), free_port()
                self.config_path.write_text(self._config())
                self.log_path.write_bytes(b"")  # the next failure is judged by its own log
        self._started_before = True

    def _start_once(self) -> None:
        log = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                [str(self.binary), "run", "-config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        _RUNNING.add(self._proc)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._proc.poll() is not None:
                _RUNNING.discard(self._proc)
                tail = self.log_tail()
                kind = _PortTakenError if "address already in use" in tail else RuntimeError
                raise kind(f"influxd exited with {self._proc.returncode} at start:\n{tail}")
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=1) as reply:
                    if reply.status == 204:
                        break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"influxd did not answer /ping within {START_TIMEOUT:g} s:\n{self.log_tail()}")
            time.sleep(0.05)
        if self.auth and not self._user_created:
            user, password = self.auth
            self.query(f"CREATE USER \"{user}\" WITH PASSWORD '{password}' WITH ALL PRIVILEGES", auth=False)
            self._user_created = True

    def stop(self) -> None:
        """Terminate ``influxd`` (SIGTERM, then SIGKILL after 10 s); data stays for a later :meth:`start`."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        _RUNNING.discard(proc)

    def close(self) -> None:
        """Stop the server and delete its temp dir (when it made one)."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def query(self, q: str, *, database: str | None = None, auth: bool = True) -> dict[str, object]:
        """Run one InfluxQL statement with POST (as the admin user when auth is on); the decoded JSON."""
        import json

        params = {"q": q, **({"db": database} if database else {})}
        request = urllib.request.Request(
            self.url + "/query", data=urllib.parse.urlencode(params).encode(), method="POST"
        )
        if self.auth and auth:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as reply:
            result: dict[str, object] = json.loads(reply.read())
        return result

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log (for error messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
