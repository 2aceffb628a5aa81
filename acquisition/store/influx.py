"""Readings in InfluxDB, with a durable local spool for the times the server is away.

Two HTTP APIs, one schema (see :mod:`acquisition.store.lineprotocol`):

* ``v1``: ``POST /write?db=...&precision=u`` (line protocol) and ``GET /query`` (InfluxQL, JSON), through urllib3.
  InfluxDB 1.x (Debian's 1.6), and the v1 compatibility API of InfluxDB 2.x and 3.x (send a token).
* ``v2``: influxdb-client (synchronous writes, Flux queries), for InfluxDB 2.x.
* ``auto``: ``GET /ping`` and its ``X-Influxdb-Version`` header: 1.x and 3.x -> v1 (InfluxDB 3 has no Flux),
  anything else -> v2. Decided at the first successful contact, so a store can start while the server is down.

Delivery: a batch goes to the server when it answers; when it does not (connection refused or reset, timeout,
HTTP 5xx) the batch is written to the spool and ``append`` returns normally. Spooled batches are sent oldest-first
before any newer batch, by the next ``append``, ``flush``, ``query`` or a background thread, and each leaves the
spool only after the server acknowledged it. Points are idempotent (measurement + tag set + timestamp), so a batch
sent twice (a crash between the server's acknowledgement and the spool's delete) is stored once.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlencode, urlsplit

import urllib3

from acquisition.store.base import QueryFilter, ReadingStore, StoredReading, check_batch, from_micros, to_micros
from acquisition.store.errors import (
    StoreAuthError,
    StoreClosedError,
    StoreError,
    StoreRejectedError,
    StoreUnavailableError,
)
from acquisition.store.lineprotocol import (
    MEASUREMENT,
    Chunk,
    encode_chunks,
    flux_string,
    influxql_identifier,
    influxql_string,
    rechunk,
)
from acquisition.store.spool import Spool, SpooledBatch, spool_file

log = logging.getLogger("caltrace.store")

ApiName = Literal["auto", "v1", "v2"]
MAX_REPLAY_DELAY = 30.0  # seconds between replay attempts at most, while the server stays away
_FLUX_MIN = "1677-09-22T00:00:00Z"  # InfluxDB's time range (signed 64-bit nanoseconds)
_FLUX_MAX = "2262-04-11T00:00:00Z"


class ServerUnreachableError(Exception):
    """The server did not answer usefully (no connection, timeout, HTTP 5xx): spool and retry later.

    ``sent`` counts the chunks (write requests) of the failing call that the server had already acknowledged.
    """

    sent: int = 0


def _flux_time(micros: int) -> str:
    return from_micros(micros).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def flux_query(bucket: str, flt: QueryFilter, *, newest_first: bool = False, count: bool = False) -> str:
    """The Flux query for ``flt`` on ``bucket`` (one row per reading: fields pivoted into columns)."""
    start = _flux_time(flt.start_us) if flt.start_us is not None else _FLUX_MIN
    stop = _flux_time(flt.end_us) if flt.end_us is not None else _FLUX_MAX
    predicates = [f"r._measurement == {flux_string(MEASUREMENT)}"]
    for key, value in (
        ("run_id", flt.run_id),
        ("instrument_id", flt.instrument_id),
        ("step", flt.step),
        ("quantity", flt.quantity),
    ):
        if value:
            predicates.append(f"r.{key} == {flux_string(value)}")
        elif value == "":
            predicates.append(f"not exists r.{key}")
    lines = [
        f"from(bucket: {flux_string(bucket)})",
        f"  |> range(start: {start}, stop: {stop})",
        f"  |> filter(fn: (r) => {' and '.join(predicates)})",
    ]
    if count:
        lines += ['  |> filter(fn: (r) => r._field == "status")', "  |> group()", "  |> count()"]
        return "\n".join(lines)
    lines += [
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        "  |> group()",
        f'  |> sort(columns: ["_time"], desc: {"true" if newest_first else "false"})',
    ]
    if flt.limit is not None:
        lines.append(f"  |> limit(n: {flt.limit})")
    return "\n".join(lines)


class _Api(Protocol):
    name: str

    def write(self, body: bytes) -> None: ...

    def select(self, flt: QueryFilter, *, newest_first: bool = False) -> list[StoredReading]: ...

    def count(self, flt: QueryFilter) -> int: ...

    def close(self) -> None: ...


def _server_message(data: bytes, headers: Any) -> str:
    message = headers.get("X-Influxdb-Error") if headers is not None else None
    if message:
        return str(message)
    try:
        decoded = json.loads(data)
        if isinstance(decoded, dict) and ("error" in decoded or "message" in decoded):
            return str(decoded.get("error") or decoded.get("message"))
    except ValueError:
        pass
    return data[:300].decode("utf-8", "replace").strip() or "(no message)"


def _reading_from_row(row: dict[str, Any]) -> StoredReading:
    value = row.get("value")
    return StoredReading.from_micros(
        int(row["time"]),
        instrument_id=str(row.get("instrument_id") or ""),
        quantity=str(row.get("quantity") or ""),
        value=None if value is None else float(value),
        unit=str(row.get("unit") or ""),
        status=str(row.get("status")),
        run_id=row.get("run_id") or None,
        step=row.get("step") or None,
    )


class V1Api:
    """InfluxDB's v1 HTTP API (``/write``, ``/query``) over urllib3."""

    name = "v1"

    def __init__(self, http: urllib3.PoolManager, url: str, database: str, headers: dict[str, str]) -> None:
        self._http = http
        self._url = url
        self._database = database
        self._headers = headers
        self._write_path = "/write?" + urlencode({"db": database, "precision": "u"})

    def _request(self, method: str, path: str, *, body: bytes | None = None) -> urllib3.BaseHTTPResponse:
        try:
            response = self._http.request(method, self._url + path, body=body, headers=self._headers)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ServerUnreachableError(f"InfluxDB at {self._url} did not answer: {exc}") from exc
        if response.status in (401, 403):
            raise StoreAuthError(
                f"InfluxDB at {self._url} refused the credentials (HTTP {response.status}: "
                f"{_server_message(response.data, response.headers)}): check CALTRACE_INFLUX_USERNAME and "
                "CALTRACE_INFLUX_PASSWORD (or CALTRACE_INFLUX_TOKEN) and the user's rights on database "
                f"{self._database!r}"
            )
        if response.status >= 500:
            raise ServerUnreachableError(
                f"InfluxDB at {self._url} failed (HTTP {response.status}: "
                f"{_server_message(response.data, response.headers)})"
            )
        return response

    def write(self, body: bytes) -> None:
        response = self._request("POST", self._write_path, body=body)
        if response.status == 404 and "database not found" in _server_message(response.data, response.headers):
            self._create_database()
            response = self._request("POST", self._write_path, body=body)
        if 200 <= response.status < 300:
            return
        raise StoreRejectedError(
            f"InfluxDB at {self._url} refused readings for database {self._database!r} (HTTP {response.status}): "
            f"{_server_message(response.data, response.headers)}. The other readings of the batch may be stored; "
            "fix the data (e.g. a field type conflict in the database) and append again"
        )

    def _create_database(self) -> None:
        q = f"CREATE DATABASE {influxql_identifier(self._database)}"
        response = self._request("POST", "/query?" + urlencode({"q": q}))
        problem = None if response.status == 200 else _server_message(response.data, response.headers)
        if problem is None:
            for result in json.loads(response.data).get("results", []):
                problem = problem or result.get("error")
        if problem:
            raise StoreRejectedError(
                f"InfluxDB at {self._url} has no database {self._database!r} and refused to create it: {problem}. "
                "Create it (CREATE DATABASE) or give the user admin rights"
            )
        log.info("created InfluxDB database %r at %s", self._database, self._url)

    def influxql(self, q: str) -> list[dict[str, Any]]:
        """Series of one InfluxQL statement (results streamed in chunks); [] when the database does not exist."""
        params = {"db": self._database, "q": q, "epoch": "u", "chunked": "true", "chunk_size": "10000"}
        response = self._request("GET", "/query?" + urlencode(params))
        if response.status != 200:
            raise StoreRejectedError(
                f"InfluxDB at {self._url} refused the query {q!r} (HTTP {response.status}): "
                f"{_server_message(response.data, response.headers)}"
            )
        series: list[dict[str, Any]] = []
        for line in response.data.splitlines():
            if not line.strip():
                continue
            chunk = json.loads(line)
            problem = chunk.get("error")
            for result in chunk.get("results", []):
                problem = problem or result.get("error")
                series.extend(result.get("series", []))
            if problem:
                if "database not found" in str(problem):
                    return []
                raise StoreError(f"InfluxDB at {self._url} could not answer {q!r}: {problem}")
        return series

    def _where(self, flt: QueryFilter, *, at_us: int | None = None) -> str:
        clauses = []
        for key, value in (
            ("run_id", flt.run_id),
            ("instrument_id", flt.instrument_id),
            ("step", flt.step),
            ("quantity", flt.quantity),
        ):
            if value is not None:
                clauses.append(f"{influxql_identifier(key)} = {influxql_string(value)}")
        if at_us is not None:
            clauses.append(f"time = {at_us}u")
        if flt.start_us is not None:
            clauses.append(f"time >= {flt.start_us}u")
        if flt.end_us is not None:
            clauses.append(f"time < {flt.end_us}u")
        return (" WHERE " + " AND ".join(clauses)) if clauses else ""

    def _rows(self, q: str) -> list[StoredReading]:
        out: list[StoredReading] = []
        for series in self.influxql(q):
            columns = series["columns"]
            out.extend(_reading_from_row(dict(zip(columns, values, strict=True))) for values in series["values"])
        return out

    def select(self, flt: QueryFilter, *, newest_first: bool = False) -> list[StoredReading]:
        q = f"SELECT * FROM {influxql_identifier(MEASUREMENT)}{self._where(flt)}"
        q += " ORDER BY time DESC" if newest_first else " ORDER BY time ASC"
        if flt.limit is not None:
            q += f" LIMIT {flt.limit}"
        rows = self._rows(q)
        if newest_first and flt.limit == 1 and rows:
            # several readings may share the newest timestamp: return the first of them in the documented order
            rows = self._rows(
                f"SELECT * FROM {influxql_identifier(MEASUREMENT)}{self._where(flt, at_us=rows[0].ts_us)}"
            )
        return rows

    def count(self, flt: QueryFilter) -> int:
        series = self.influxql(f'SELECT count("status") FROM {influxql_identifier(MEASUREMENT)}{self._where(flt)}')
        return int(series[0]["values"][0][1]) if series else 0

    def close(self) -> None:
        """Nothing of its own to release (the pool belongs to the store)."""


class V2Api:
    """InfluxDB 2.x through influxdb-client: synchronous writes, Flux queries."""

    name = "v2"

    def __init__(
        self,
        url: str,
        bucket: str,
        *,
        org: str | None,
        token: str | None,
        username: str | None,
        password: str | None,
        timeout: float,
    ) -> None:
        if not token and not (username and password):
            raise StoreAuthError(
                f"InfluxDB at {url} speaks the v2 API, which needs credentials: set CALTRACE_INFLUX_TOKEN "
                "(or CALTRACE_INFLUX_USERNAME and CALTRACE_INFLUX_PASSWORD)"
            )
        self._url = url
        self.bucket = bucket
        self.org = org
        # imported here: influxdb-client takes about a second to import and only v2 installations need it
        client_module = importlib.import_module("influxdb_client")
        write_module = importlib.import_module("influxdb_client.client.write_api")
        credentials = {"token": token} if token else {"username": username or "", "password": password or ""}
        self.client: Any = client_module.InfluxDBClient(url=url, org=org, timeout=int(timeout * 1000), **credentials)
        self._precision = client_module.WritePrecision.US
        self._writer: Any = self.client.write_api(write_options=write_module.SYNCHRONOUS)
        self._reader = self.client.query_api()

    def _classify(self, exc: Exception, action: str) -> Exception:
        status = getattr(exc, "status", None)
        if isinstance(status, int):
            message = _server_message(getattr(exc, "body", b"") or b"", getattr(exc, "headers", None))
            if status in (401, 403):
                return StoreAuthError(
                    f"InfluxDB at {self._url} refused the token (HTTP {status}: {message}): check "
                    f"CALTRACE_INFLUX_TOKEN and its rights on bucket {self.bucket!r} in org {self.org!r}"
                )
            if status >= 500:
                return ServerUnreachableError(
                    f"InfluxDB at {self._url} failed during {action} (HTTP {status}: {message})"
                )
            hint = " Create the bucket first (influx bucket create)." if status == 404 else ""
            return StoreRejectedError(
                f"InfluxDB at {self._url} refused the {action} for bucket {self.bucket!r} (HTTP {status}): "
                f"{message}.{hint}"
            )
        if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
            return ServerUnreachableError(f"InfluxDB at {self._url} did not answer: {exc}")
        return exc

    def write(self, body: bytes) -> None:
        try:
            self._writer.write(bucket=self.bucket, org=self.org, record=body, write_precision=self._precision)
        except Exception as exc:
            raise self._classify(exc, "write") from exc

    def _records(self, flux: str) -> list[Any]:
        try:
            tables = self._reader.query(flux, org=self.org)
        except Exception as exc:
            raise self._classify(exc, "query") from exc
        return [record for table in tables for record in table.records]

    def select(self, flt: QueryFilter, *, newest_first: bool = False) -> list[StoredReading]:
        out = []
        for record in self._records(flux_query(self.bucket, flt, newest_first=newest_first)):
            row = dict(record.values)
            row["time"] = to_micros(row["_time"])
            out.append(_reading_from_row(row))
        return out

    def count(self, flt: QueryFilter) -> int:
        records = self._records(flux_query(self.bucket, flt, count=True))
        return int(records[0].values["_value"]) if records else 0

    def close(self) -> None:
        self.client.close()


class InfluxReadingStore(ReadingStore):
    """Readings in InfluxDB ``database`` (v1 database or v2 bucket) at ``url``, spooled under ``spool_dir``.

    ``api``: ``"v1"``, ``"v2"`` or ``"auto"`` (asks ``/ping``). v1 authenticates with ``username``/``password``
    (HTTP basic) or a ``token`` (v1 compatibility API of 2.x/3.x); v2 with ``token`` and ``org``. ``timeout`` bounds
    every HTTP exchange (seconds); ``batch_size`` is the most points per write request; the background replay retries
    after ``replay_interval`` seconds, doubling up to 30 s while the server stays away.
    """

    def __init__(
        self,
        url: str,
        database: str,
        *,
        spool_dir: str | Path,
        api: ApiName = "auto",
        org: str | None = None,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        batch_size: int = 5000,
        replay_interval: float = 1.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"InfluxDB URL must look like http://host:8086, got {url!r} (CALTRACE_INFLUX_URL)")
        if not database or any(c in database for c in "\n\r\\"):
            raise ValueError(f"InfluxDB database name must be non-empty text, got {database!r}")
        if api not in ("auto", "v1", "v2"):
            raise ValueError(f"InfluxDB api must be 'auto', 'v1' or 'v2', got {api!r} (CALTRACE_INFLUX_API)")
        if timeout <= 0 or batch_size < 1 or replay_interval <= 0:
            raise ValueError("timeout and replay_interval must be positive seconds and batch_size at least 1")
        self.url = url.rstrip("/")
        self.database = database
        self._requested: ApiName = api
        self._org, self._token, self._username, self._password = org, token, username, password
        self._timeout = timeout
        self._batch_size = batch_size
        self._replay_interval = replay_interval
        self._http = urllib3.PoolManager(
            maxsize=4, retries=False, timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout)
        )
        self._spool = Spool(spool_file(Path(spool_dir), self.url, database))
        self._lock = threading.RLock()
        self._closed = False
        self._api: _Api | None = None
        self._spooled = self._spool.pending() > 0
        self._outage_logged = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._replay_loop, name=f"influx-spool-{database}", daemon=True)
        self._thread.start()

    # -- API selection -----------------------------------------------------------------------------------------

    @property
    def api(self) -> str | None:
        """The API in use (``"v1"``/``"v2"``), or None while ``auto`` has not reached the server yet."""
        if self._api is not None:
            return self._api.name
        return None if self._requested == "auto" else self._requested

    def _v1_headers(self) -> dict[str, str]:
        if self._token:
            return {"Authorization": f"Token {self._token}"}
        if self._username is not None:
            raw = f"{self._username}:{self._password or ''}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        return {}

    def _detect(self) -> str:
        try:
            response = self._http.request("GET", self.url + "/ping")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ServerUnreachableError(f"InfluxDB at {self.url} did not answer: {exc}") from exc
        if response.status >= 500:
            raise ServerUnreachableError(f"InfluxDB at {self.url} failed its /ping (HTTP {response.status})")
        version = response.headers.get("X-Influxdb-Version")
        if response.status not in (200, 204) or version is None:
            raise StoreError(
                f"{self.url} does not answer like InfluxDB (/ping gave HTTP {response.status}, no version header): "
                "check CALTRACE_INFLUX_URL"
            )
        chosen = "v1" if version.lstrip("v").startswith(("1.", "3.")) else "v2"
        log.info("InfluxDB %s at %s: using the %s API", version, self.url, chosen)
        return chosen

    def _resolved(self) -> _Api:
        if self._api is None:
            name = self._detect() if self._requested == "auto" else self._requested
            if name == "v1":
                self._api = V1Api(self._http, self.url, self.database, self._v1_headers())
            else:
                self._api = V2Api(
                    self.url,
                    self.database,
                    org=self._org,
                    token=self._token,
                    username=self._username,
                    password=self._password,
                    timeout=self._timeout,
                )
        return self._api

    # -- delivery ----------------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the InfluxDB reading store for {self.url} database {self.database!r} is closed")

    def _send(self, chunks: Sequence[Chunk]) -> None:
        """Write ``chunks`` in order, one request each; the number acknowledged before any failure is in the raised
        :class:`ServerUnreachableError`'s ``sent`` attribute."""
        api = self._resolved()
        for sent, chunk in enumerate(chunks):
            try:
                api.write(chunk.body)
            except ServerUnreachableError as exc:
                exc.sent = sent
                raise

    def _drain(self) -> None:
        """Send spooled batches oldest-first (lock held); each leaves the spool once acknowledged."""
        while True:
            batch = self._spool.oldest()
            if batch is None:
                self._spooled = False
                if self._outage_logged:
                    log.info("InfluxDB at %s is back; the spool is empty", self.url)  # news for the log file
                    self._outage_logged = False
                return
            try:
                self._send(rechunk(batch.body, batch.readings, self._batch_size))
            except StoreRejectedError as exc:
                self._set_aside(batch, exc)
                continue
            self._spool.delete(batch.id)

    def _set_aside(self, batch: SpooledBatch, exc: StoreRejectedError) -> None:
        self._spool.reject(batch, str(exc))
        log.error(
            "InfluxDB refused a spooled batch of %d readings; it is kept in table 'rejected' of %s: %s",
            batch.readings,
            self._spool.path,
            exc,
        )

    def _spool_chunks(self, chunks: Sequence[Chunk], reason: ServerUnreachableError) -> None:
        self._spool.put(chunks)
        self._spooled = True
        if not self._outage_logged:
            log.warning(  # the caller reports what waits in the spool (the CLI once, on stderr)
                "%s; readings are spooled in %s until it answers",
                reason,
                self._spool.path,
                extra={"reported_by_caller": True},
            )
            self._outage_logged = True
        self._wake.set()

    def append(self, readings: Sequence[StoredReading]) -> None:
        check_batch(readings)
        if not readings:
            return
        chunks = encode_chunks(readings, self._batch_size)
        with self._lock:
            self._check_open()
            if self._spooled:
                try:
                    self._drain()
                except ServerUnreachableError as exc:
                    self._spool_chunks(chunks, exc)  # behind the older batches: order kept
                    return
            try:
                self._send(chunks)
            except ServerUnreachableError as exc:
                self._spool_chunks(chunks[exc.sent :], exc)  # the acknowledged chunks are on the server

    def pending(self) -> int:
        """Readings waiting in the spool (including those spooled by other processes for this destination)."""
        return self._spool.pending()

    def rejected(self) -> int:
        """Spooled readings the server refused as malformed, kept aside in the spool's ``rejected`` table."""
        return self._spool.rejected()

    def flush(self, timeout: float = 10.0) -> bool:
        """Send spooled readings now, retrying for up to ``timeout`` seconds; True when the spool is empty."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._check_open()
                try:
                    self._drain()
                    return True
                except ServerUnreachableError:
                    pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._spool.pending() == 0
            time.sleep(min(0.2, remaining))

    def _replay_loop(self) -> None:
        """Background replay: first attempt ``replay_interval`` after a batch is spooled, then doubling to 30 s."""
        delay = self._replay_interval
        while True:
            woken = self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            if woken:  # a batch was just spooled: the server has just failed, try again after the interval
                delay = self._replay_interval
                continue
            try:
                if not self._spooled:
                    # idle; another process may have spooled for this destination
                    self._spooled = self._spool.pending() > 0
                    delay = self._replay_interval if self._spooled else MAX_REPLAY_DELAY
                    continue
                with self._lock:
                    if self._closed:
                        return
                    self._drain()
                delay = self._replay_interval
            except ServerUnreachableError:
                delay = min(delay * 2, MAX_REPLAY_DELAY)
            except Exception:  # keep replaying; the error is logged for a person
                if self._stop.is_set():
                    return
                log.exception("replaying the InfluxDB spool %s failed", self._spool.path)
                delay = MAX_REPLAY_DELAY

    # -- queries -----------------------------------------------------------------------------------------------

    def _api_for_query(self) -> _Api:
        """The API, once every spooled reading is on the server (so a query sees everything appended)."""
        with self._lock:
            self._check_open()
            try:
                if self._spooled:
                    self._drain()
                return self._resolved()
            except ServerUnreachableError as exc:
                raise self._unavailable(exc) from exc

    def _unavailable(self, exc: ServerUnreachableError) -> StoreUnavailableError:
        waiting = self._spool.pending()
        kept = f"; {waiting} readings are safe in the spool {self._spool.path}" if waiting else ""
        return StoreUnavailableError(
            f"{exc}{kept}. A query needs the server: retry when InfluxDB is back (check that it runs and "
            "CALTRACE_INFLUX_URL)"
        )

    def _call(self, action: Any) -> Any:
        try:
            return action()
        except ServerUnreachableError as exc:
            raise self._unavailable(exc) from exc

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
        api = self._api_for_query()
        rows: list[StoredReading] = self._call(lambda: api.select(flt))
        rows.sort(key=lambda r: r.sort_key)
        return rows if flt.limit is None else rows[: flt.limit]

    def latest(
        self, instrument_id: str, *, quantity: str | None = None, run_id: str | None = None
    ) -> StoredReading | None:
        flt = QueryFilter.build(instrument_id=instrument_id, quantity=quantity, run_id=run_id, limit=1)
        api = self._api_for_query()
        rows: list[StoredReading] = self._call(lambda: api.select(flt, newest_first=True))
        if not rows:
            return None
        newest = max(r.ts_us for r in rows)
        return min((r for r in rows if r.ts_us == newest), key=lambda r: r.sort_key)

    def count(self, *, run_id: str | None = None, instrument_id: str | None = None) -> int:
        flt = QueryFilter.build(run_id=run_id, instrument_id=instrument_id)
        api = self._api_for_query()
        return int(self._call(lambda: api.count(flt)))

    def close(self) -> None:
        """Stop the replay thread and release connections; spooled readings stay on disk for the next store."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self._timeout + 5)
        with self._lock:
            if self._api is not None:
                self._api.close()
            self._spool.close()
            self._http.clear()

    def __repr__(self) -> str:
        return f"InfluxReadingStore({self.url!r}, {self.database!r}, api={self.api or self._requested!r})"


__all__ = ["InfluxReadingStore", "ServerUnreachableError", "V1Api", "V2Api", "flux_query"]
