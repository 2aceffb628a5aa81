"""InfluxDB adapter on a real influxd 1.6: API detection, auth and 4xx errors, the spool with the server stopped and
started, replay order, restart and crash safety. v2 (no InfluxDB 2 server here): encoding, Flux text, client set-up
and spooling against a closed port."""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acquisition.store import (
    InfluxReadingStore,
    StoreAuthError,
    StoredReading,
    StoreRejectedError,
    StoreUnavailableError,
)
from acquisition.store.base import EPOCH, QueryFilter
from acquisition.store.influx import ServerUnreachableError, V1Api, V2Api, flux_query
from acquisition.store.lineprotocol import Chunk, encode, encode_chunks, rechunk
from acquisition.store.spool import Spool, spool_file
from drivers.reading import ReadingStatus
from tests.store.conftest import INFLUX_USER, influx_store
from tests.support.influx import InfluxServer, free_port, require_influxd

T0 = datetime(2024, 1, 1, tzinfo=UTC)
EPOCH_2024_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z in microseconds since 1970 (date -d @1704067200)


def rd(i: int, value: float | None = None, *, instrument: str = "bal-1", run: str = "R1") -> StoredReading:
    return StoredReading(
        instrument_id=instrument,
        value=float(i) if value is None else value,
        unit="g",
        status=ReadingStatus.STABLE,
        timestamp=T0 + timedelta(microseconds=i),
        run_id=run,
    )


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[InfluxServer]:
    """A server of this test alone (it gets stopped and started), authentication off."""
    server = InfluxServer(tmp_path / "influxd", binary=require_influxd())
    try:
        server.start()
        yield server
    finally:
        server.close()


def plain_store(server: InfluxServer, spool: Path, database: str = "lab", **kwargs: object) -> InfluxReadingStore:
    options: dict[str, object] = {"replay_interval": 0.1, "timeout": 5.0}
    options.update(kwargs)
    return InfluxReadingStore(server.url, database, spool_dir=spool, **options)  # type: ignore[arg-type]


def raw_write(server: InfluxServer, database: str, body: str) -> int:
    request = urllib.request.Request(f"{server.url}/write?db={database}&precision=u", data=body.encode())
    with urllib.request.urlopen(request, timeout=5) as reply:
        return int(reply.status)


# -- line protocol and v2 (no server needed) --------------------------------------------------------------------


def test_line_protocol_encoding_is_literal() -> None:
    full = StoredReading(
        instrument_id="bal 1",
        quantity="mass flow",
        value=0.1,
        unit="m³/h",
        status=ReadingStatus.STABLE,
        timestamp=T0 + timedelta(microseconds=1),
        run_id="R,1",
        step="a=b",
    )
    empty = StoredReading(
        instrument_id="b", value=math.nan, unit="", status=ReadingStatus.ERROR, timestamp=T0, run_id=""
    )
    quote = StoredReading(instrument_id='x"y', value=-2.5e300, unit="°C", status=ReadingStatus.DYNAMIC, timestamp=T0)
    assert encode([full, empty, quote]) == b"\n".join(
        [
            "reading,instrument_id=bal\\ 1,quantity=mass\\ flow,run_id=R\\,1,step=a\\=b,unit=m³/h "
            'value=0.1,status="stable" 1704067200000001'.encode(),
            b'reading,instrument_id=b status="error" 1704067200000000',
            'reading,instrument_id=x"y,unit=°C value=-2.5e+300,status="dynamic" 1704067200000000'.encode(),
        ]
    )


def reference_line(r: StoredReading) -> tuple[bytes, float | None, bytes, int]:
    """What one line must say, worked out line by line here: series part, value, status field, timestamp."""
    tags = [("instrument_id", r.instrument_id), ("quantity", r.quantity), ("run_id", r.run_id or "")]
    tags += [("step", r.step or ""), ("unit", r.unit)]
    escaped = [
        f"{k}={v.replace(',', chr(92) + ',').replace('=', chr(92) + '=').replace(' ', chr(92) + ' ')}"
        for k, v in tags
        if v
    ]
    return (
        ",".join(["reading", *escaped]).encode(),
        None if math.isnan(r.value) else r.value,
        f'status="{r.status.value}"'.encode(),
        r.ts_us,
    )


def parsed_line(line: bytes) -> tuple[bytes, float | None, bytes, int]:
    head, fields, stamp = line.rsplit(b" ", 2)
    value: float | None = None
    if fields.startswith(b"value="):
        text, fields = fields[len(b"value=") :].split(b",", 1)
        value = float(text)  # the decimal text must parse back to the very same double
    return head, value, fields, int(stamp)


@given(
    st.lists(
        st.tuples(
            st.floats(allow_infinity=False),  # NaN included
            st.sampled_from(["bal-1", "bal 2", "dmm,3", "x=y"]),
            st.sampled_from(["g", "m³/h", "°C", ""]),
            st.sampled_from(list(ReadingStatus)),
            st.integers(min_value=-(10**15), max_value=10**17),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_encoded_lines_say_what_each_reading_says(rows: list[tuple[float, str, str, ReadingStatus, int]]) -> None:
    readings = [
        StoredReading(
            instrument_id=inst, value=value, unit=unit, status=status, timestamp=EPOCH + timedelta(microseconds=us)
        )
        for value, inst, unit, status, us in rows
    ]
    lines = encode(readings).split(b"\n")
    assert len(lines) == len(readings)
    for line, reading in zip(lines, readings, strict=True):
        head, value, status, stamp = parsed_line(line)
        want_head, want_value, want_status, want_stamp = reference_line(reading)
        assert (head, status, stamp) == (want_head, want_status, want_stamp)
        if want_value is None:
            assert value is None
        else:
            assert value is not None and value == want_value
            assert math.copysign(1.0, value) == math.copysign(1.0, want_value)


def test_chunks_split_a_batch_in_order_and_rejoin_to_it() -> None:
    batch = [rd(i, math.nan if i % 7 == 3 else None) for i in range(23)]
    whole = encode(batch)
    chunks = encode_chunks(batch, 10)
    assert [c.readings for c in chunks] == [10, 10, 3]
    assert b"\n".join(c.body for c in chunks) == whole
    assert rechunk(whole, 23, 10) == chunks
    assert rechunk(whole, 23, 50) == [Chunk(23, whole)]
    assert encode([]) == b"" and encode_chunks([], 10) == []


def test_flux_query_text() -> None:
    flt = QueryFilter.build(
        run_id='R"1', instrument_id="bal-1", quantity="", start=T0, end=T0 + timedelta(seconds=1), limit=5
    )
    text = flux_query("lab", flt)
    assert 'from(bucket: "lab")' in text
    assert "range(start: 2024-01-01T00:00:00.000000Z, stop: 2024-01-01T00:00:01.000000Z)" in text
    assert 'r.run_id == "R\\"1"' in text and 'r.instrument_id == "bal-1"' in text and "not exists r.quantity" in text
    assert 'pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")' in text
    assert text.endswith("limit(n: 5)")
    counting = flux_query("lab", QueryFilter.build(), count=True)
    assert 'r._field == "status"' in counting and counting.endswith("count()")
    assert "range(start: 1677-09-22T00:00:00Z, stop: 2262-04-11T00:00:00Z)" in counting


def test_v2_client_is_configured_from_the_settings() -> None:
    api = V2Api("http://127.0.0.1:9", "lab", org="tdc-hanoi", token="tok", username=None, password=None, timeout=3)
    try:
        assert api.client.url == "http://127.0.0.1:9"
        assert api.client.org == "tdc-hanoi"
        assert api.client.token == "tok"
        assert api.bucket == "lab"
    finally:
        api.close()
    with pytest.raises(StoreAuthError, match="CALTRACE_INFLUX_TOKEN"):
        V2Api("http://127.0.0.1:9", "lab", org="o", token=None, username=None, password=None, timeout=3)


def test_v2_spools_when_nothing_listens(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with InfluxReadingStore(url, "lab", api="v2", org="o", token="t", spool_dir=tmp_path, timeout=2) as store:
        store.append([rd(i) for i in range(10)])
        assert store.pending() == 10
        with pytest.raises(StoreUnavailableError, match="10 readings are safe in the spool"):
            store.query()
        assert store.flush(timeout=0.3) is False


# -- the real server ----------------------------------------------------------------------------------------------


def test_auto_detects_v1_on_influxdb_1_6(influx_server: InfluxServer, tmp_path: Path) -> None:
    with influx_store(influx_server, tmp_path, api="auto") as store:
        assert store.api is None  # not asked yet
        store.append([rd(1)])
        assert store.api == "v1"
        assert store.count() == 1


def test_the_database_is_created_when_missing(influx_server: InfluxServer, tmp_path: Path) -> None:
    with influx_store(influx_server, tmp_path, database="fresh_db_x1") as store:
        store.append([rd(1)])
    shown = json.dumps(influx_server.query("SHOW DATABASES"))
    assert "fresh_db_x1" in shown


def test_wrong_password_is_an_auth_error_not_spooled(influx_server: InfluxServer, tmp_path: Path) -> None:
    with influx_store(influx_server, tmp_path, password="wrong") as store:
        with pytest.raises(StoreAuthError, match="refused the credentials.*CALTRACE_INFLUX_PASSWORD"):
            store.append([rd(1)])
        assert store.pending() == 0
        with pytest.raises(StoreAuthError):
            store.query()
    with (
        influx_store(influx_server, tmp_path, username=None, password=None) as anonymous,
        pytest.raises(StoreAuthError),
    ):
        anonymous.append([rd(1)])


def test_a_field_type_conflict_is_reported_not_spooled(own_server: InfluxServer, tmp_path: Path) -> None:
    own_server.query('CREATE DATABASE "lab"')
    # someone else's tool wrote "value" as a string first: every float value is now a type conflict
    assert raw_write(own_server, "lab", 'reading,instrument_id=other value="n/a",status="x" 1704067200000009') == 204
    with plain_store(own_server, tmp_path) as store:
        with pytest.raises(StoreRejectedError, match="HTTP 400.*field type conflict"):
            store.append([rd(1), rd(2)])
        assert store.pending() == 0
        store.append([rd(3, math.nan)])  # no value field: accepted
        assert store.count() == 2


def test_spool_while_the_server_is_down_then_replay(own_server: InfluxServer, tmp_path: Path) -> None:
    with plain_store(own_server, tmp_path, replay_interval=60) as store:  # replay only when asked (flush)
        store.append([rd(i) for i in range(0, 100)])
        own_server.stop()
        store.append([rd(i) for i in range(100, 300)])  # no exception: spooled
        store.append([rd(i) for i in range(300, 450)])
        assert store.pending() == 350
        with pytest.raises(StoreUnavailableError, match="350 readings are safe in the spool"):
            store.query()
        own_server.start()
        assert store.flush(timeout=10) is True
        assert store.pending() == 0
        got = store.query()
        assert [r.value for r in got] == [float(i) for i in range(450)]  # each once, in order
        assert store.count() == 450


def test_appends_after_the_server_returns_go_behind_the_spooled_ones(own_server: InfluxServer, tmp_path: Path) -> None:
    with plain_store(own_server, tmp_path, replay_interval=60) as store:
        own_server.stop()
        store.append([rd(0, 1.0)])  # identity X, value 1 (spooled)
        store.append([rd(0, 2.0)])  # identity X, value 2 (spooled, later)
        own_server.start()
        store.append([rd(0, 3.0), rd(1)])  # drains the spool first, then writes: 3.0 must win
        assert store.pending() == 0
        assert [r.value for r in store.query()] == [3.0, 1.0]


def test_spooled_batches_replay_oldest_first(own_server: InfluxServer, tmp_path: Path) -> None:
    with plain_store(own_server, tmp_path, replay_interval=60) as store:
        own_server.stop()
        for value in (1.0, 2.0, 3.0):
            store.append([rd(0, value)])  # the same identity three times: the last one sent wins
        own_server.start()
        assert store.flush(timeout=10)
        (only,) = store.query()
        assert only.value == 3.0


def test_the_background_thread_replays_without_being_asked(own_server: InfluxServer, tmp_path: Path) -> None:
    with plain_store(own_server, tmp_path, replay_interval=0.05) as store:
        own_server.stop()
        store.append([rd(i) for i in range(20)])
        own_server.start()
        deadline = time.monotonic() + 10
        while store.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.pending() == 0
    with plain_store(own_server, tmp_path) as check:
        assert check.count() == 20


def test_a_spool_survives_a_process_restart(own_server: InfluxServer, tmp_path: Path) -> None:
    own_server.stop()
    first = plain_store(own_server, tmp_path, replay_interval=60)
    first.append([rd(i) for i in range(30)])
    assert first.pending() == 30
    first.close()  # "the process ends" with readings still spooled on disk
    own_server.start()
    with plain_store(own_server, tmp_path) as second:  # a new store on the same spool directory
        assert second.flush(timeout=10)
        assert [r.value for r in second.query()] == [float(i) for i in range(30)]


def test_a_batch_sent_twice_after_a_crash_is_stored_once(own_server: InfluxServer, tmp_path: Path) -> None:
    batch = [rd(i) for i in range(40)]
    with plain_store(own_server, tmp_path) as store:
        store.append(batch)
    # a crash between the server's acknowledgement and the spool's delete leaves the batch in the spool
    spool = Spool(spool_file(tmp_path, own_server.url, "lab"))
    spool.put([Chunk(len(batch), encode(batch))])
    spool.close()
    with plain_store(own_server, tmp_path) as again:
        assert again.pending() == 40
        assert again.flush(timeout=10)
        assert again.count() == 40


def test_a_spooled_batch_the_server_refuses_is_set_aside(own_server: InfluxServer, tmp_path: Path) -> None:
    with plain_store(own_server, tmp_path, replay_interval=60) as store:
        store.append([rd(0)])
        own_server.stop()
        store.append([rd(1)])
        spool = Spool(spool_file(tmp_path, own_server.url, "lab"))
        spool.put(
            [Chunk(1, b'reading,instrument_id=bad value="text",status="stable" 1704067200000005')]
        )  # string value
        spool.close()
        store.append([rd(2)])
        own_server.start()
        assert store.flush(timeout=10)
        assert store.pending() == 0
        assert store.rejected() == 1
        assert [r.value for r in store.query()] == [0.0, 1.0, 2.0]


def test_two_servers_never_share_a_spool(tmp_path: Path) -> None:
    a = spool_file(tmp_path, "http://127.0.0.1:8086", "lab")
    assert a != spool_file(tmp_path, "http://127.0.0.1:8087", "lab")
    assert a != spool_file(tmp_path, "http://127.0.0.1:8086", "lab2")
    assert a == spool_file(tmp_path, "http://127.0.0.1:8086", "lab")


def test_credentials_reach_the_v1_api(influx_server: InfluxServer, tmp_path: Path) -> None:
    with influx_store(influx_server, tmp_path, username=INFLUX_USER[0], password=INFLUX_USER[1]) as store:
        store.append([rd(i) for i in range(3)])
        assert store.count() == 3
        assert store.latest("bal-1") == rd(2)


def test_a_failure_part_way_through_a_batch_spools_only_the_unacknowledged_chunks(
    own_server: InfluxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = V1Api.write
    calls: list[int] = []

    def third_request_fails(self: V1Api, body: bytes) -> None:  # the server goes away after two requests
        calls.append(body.count(b"\n") + 1)
        if len(calls) == 3:
            raise ServerUnreachableError("connection reset (injected)")
        real_write(self, body)

    with plain_store(own_server, tmp_path, replay_interval=60, batch_size=10) as store:
        monkeypatch.setattr(V1Api, "write", third_request_fails)
        store.append([rd(i) for i in range(45)])  # requests of 10, 10, 10 (fails), 10, 5
        assert calls == [10, 10, 10]
        assert store.pending() == 25  # readings 20..44: the failed request and every later one
        monkeypatch.setattr(V1Api, "write", real_write)
        assert store.flush(timeout=10)
        assert [r.value for r in store.query()] == [float(i) for i in range(45)]  # each once, in order
        assert store.count() == 45
