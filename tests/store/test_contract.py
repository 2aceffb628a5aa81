"""The ReadingStore contract, run against both adapters (SQLite file, real InfluxDB 1.6 over its v1 API)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from acquisition.store import ReadingStore, StoreClosedError, StoredReading
from drivers.reading import Reading, ReadingStatus

T0 = datetime(2024, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def rd(
    instrument: str,
    at: datetime,
    value: float = 1.0,
    *,
    run: str | None = "R1",
    step: str | None = None,
    quantity: str = "",
    unit: str = "g",
    status: ReadingStatus = ReadingStatus.STABLE,
) -> StoredReading:
    return StoredReading(
        instrument_id=instrument,
        quantity=quantity,
        value=value,
        unit=unit,
        status=status,
        timestamp=at,
        run_id=run,
        step=step,
    )


def names(readings: list[StoredReading]) -> list[tuple[str, float]]:
    return [(r.instrument_id, r.value) for r in readings]


def test_query_by_run_is_ordered_by_time_then_instrument(store: ReadingStore) -> None:
    # appended out of order on purpose
    store.append(
        [
            rd("bal-2", T0 + 2 * US, 3.0),
            rd("bal-1", T0, 1.0),
            rd("bal-2", T0, 2.0),
            rd("bal-1", T0 + 2 * US, 4.0),
            rd("bal-1", T0 + US, 9.0, run="R2"),
        ]
    )
    assert names(store.query(run_id="R1")) == [("bal-1", 1.0), ("bal-2", 2.0), ("bal-1", 4.0), ("bal-2", 3.0)]
    assert names(store.query(run_id="R2")) == [("bal-1", 9.0)]
    assert store.query(run_id="R3") == []
    assert names(store.query()) == [("bal-1", 1.0), ("bal-2", 2.0), ("bal-1", 9.0), ("bal-1", 4.0), ("bal-2", 3.0)]


def test_query_by_instrument_step_and_quantity(store: ReadingStore) -> None:
    store.append(
        [
            rd("env-1", T0, 23.1, quantity="temperature", unit="°C", step="warm-up"),
            rd("env-1", T0, 45.0, quantity="humidity", unit="%", step="warm-up"),
            rd("env-1", T0 + US, 23.2, quantity="temperature", unit="°C", step="load"),
            rd("bal-1", T0 + US, 100.0, step="load"),
        ]
    )
    assert names(store.query(instrument_id="env-1")) == [("env-1", 45.0), ("env-1", 23.1), ("env-1", 23.2)]
    assert names(store.query(instrument_id="env-1", quantity="temperature")) == [("env-1", 23.1), ("env-1", 23.2)]
    assert names(store.query(step="load")) == [("bal-1", 100.0), ("env-1", 23.2)]
    assert names(store.query(quantity="")) == [("bal-1", 100.0)]
    assert store.query(instrument_id="nope") == []


def test_time_range_includes_start_and_excludes_end(store: ReadingStore) -> None:
    store.append([rd("bal-1", T0 + i * US, float(i)) for i in range(5)])
    got = store.query(start=T0 + US, end=T0 + 3 * US)
    assert [r.value for r in got] == [1.0, 2.0]
    assert [r.value for r in store.query(start=T0 + 3 * US)] == [3.0, 4.0]
    assert [r.value for r in store.query(end=T0 + US)] == [0.0]
    assert store.query(start=T0 + 3 * US, end=T0 + 3 * US) == []
    assert store.query(start=T0 + 4 * US, end=T0) == []


def test_limit_takes_the_first_readings_in_order(store: ReadingStore) -> None:
    store.append([rd("bal-1", T0 + i * US, float(i)) for i in range(10)][::-1])
    assert [r.value for r in store.query(limit=3)] == [0.0, 1.0, 2.0]
    assert [r.value for r in store.query(start=T0 + 8 * US, limit=5)] == [8.0, 9.0]


def test_latest(store: ReadingStore) -> None:
    assert store.latest("env-1") is None
    store.append(
        [
            rd("env-1", T0, 23.0, quantity="temperature", run="R1"),
            rd("env-1", T0 + 5 * US, 24.0, quantity="temperature", run="R1"),
            rd("env-1", T0 + 9 * US, 50.0, quantity="humidity", run="R2"),
            rd("env-1", T0 + 7 * US, 25.0, quantity="temperature", run="R2"),
            rd("bal-1", T0 + 99 * US, 1.0),
        ]
    )
    newest = store.latest("env-1")
    assert newest is not None and (newest.quantity, newest.value, newest.timestamp) == ("humidity", 50.0, T0 + 9 * US)
    temp = store.latest("env-1", quantity="temperature")
    assert temp is not None and temp.value == 25.0
    in_r1 = store.latest("env-1", quantity="temperature", run_id="R1")
    assert in_r1 is not None and in_r1.value == 24.0
    assert store.latest("env-1", quantity="pressure") is None


def test_latest_picks_the_first_instrument_order_among_equal_times(store: ReadingStore) -> None:
    store.append([rd("env-1", T0, 1.0, quantity=q) for q in ("temperature", "humidity", "pressure")])
    newest = store.latest("env-1")
    assert newest is not None and newest.quantity == "humidity"  # alphabetical first of the three


def test_count(store: ReadingStore) -> None:
    assert store.count() == 0
    store.append([rd("bal-1", T0 + i * US) for i in range(7)] + [rd("bal-2", T0 + i * US, run="R2") for i in range(3)])
    assert store.count() == 10
    assert store.count(run_id="R1") == 7
    assert store.count(instrument_id="bal-2") == 3
    assert store.count(run_id="R2", instrument_id="bal-1") == 0


def test_reappending_the_same_readings_stores_them_once(store: ReadingStore) -> None:
    batch = [rd("bal-1", T0 + i * US, float(i), step="s1") for i in range(50)] + [
        rd("bal-1", T0, 7.0, run=None),  # no run: must be idempotent too
        rd("bal-1", T0, 8.0, run=None, quantity="tare"),
    ]
    store.append(batch)
    store.append(batch)
    store.append(batch[10:20])
    assert store.count() == 52
    assert store.count(run_id="R1") == 50
    assert len(store.query(instrument_id="bal-1")) == 52


def test_a_reappended_identity_keeps_the_last_value(store: ReadingStore) -> None:
    store.append([rd("bal-1", T0, 1.0)])
    store.append([rd("bal-1", T0, 2.0, status=ReadingStatus.DYNAMIC)])
    (only,) = store.query()
    assert (only.value, only.status) == (2.0, ReadingStatus.DYNAMIC)


def test_nan_with_error_status_round_trips(store: ReadingStore) -> None:
    store.append(
        [
            rd("bal-1", T0, math.nan, status=ReadingStatus.ERROR, unit=""),
            rd("bal-1", T0 + US, math.nan, status=ReadingStatus.OVERLOAD),
            rd("bal-1", T0 + 2 * US, 0.0),
        ]
    )
    got = store.query()
    assert [r.status for r in got] == [ReadingStatus.ERROR, ReadingStatus.OVERLOAD, ReadingStatus.STABLE]
    assert math.isnan(got[0].value) and math.isnan(got[1].value) and got[2].value == 0.0
    assert (got[0].unit, got[1].unit) == ("", "g")
    assert not got[0].to_reading().has_value
    assert store.count() == 3


def test_labels_with_spaces_commas_equals_and_unicode(store: ReadingStore) -> None:
    odd = [
        rd("bal 1", T0, 1.0, unit="m³/h", quantity="mass flow", step="step one"),
        rd("flow,2", T0, 2.0, unit="°C", run="R,1 x"),
        rd("a=b", T0, 3.0, unit="kg/m³", quantity="q=1,2"),
        rd("Cân phân tích", T0, 4.0, unit="µS/cm", run="lô số 7"),
        rd('it\'s "quoted"', T0, 5.0, unit="'"),
    ]
    store.append(odd)
    for original in odd:
        (got,) = store.query(instrument_id=original.instrument_id)
        assert got.same_as(original), (got, original)
    (by_run,) = store.query(run_id="R,1 x")
    assert by_run.instrument_id == "flow,2"
    (by_quantity,) = store.query(quantity="q=1,2")
    assert by_quantity.unit == "kg/m³"
    assert [r.value for r in store.query(step="step one")] == [1.0]


def test_microsecond_timestamps_and_exact_values_are_preserved(store: ReadingStore) -> None:
    moments = [
        datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2024, 3, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        datetime(2100, 1, 1, 0, 0, 0, 123456, tzinfo=UTC),
    ]
    values = [0.1, 1e-300, -2.5e300, 123456789.12345679]
    store.append([rd("bal-1", m, v) for m, v in zip(moments, values, strict=True)])
    got = store.query()
    assert [r.timestamp for r in got] == sorted(moments)
    assert all(r.timestamp.tzinfo is not None and r.timestamp.utcoffset() == timedelta(0) for r in got)
    by_time = dict(zip(moments, values, strict=True))
    assert all(r.value == by_time[r.timestamp] for r in got)  # bit-exact float64 round trip


def test_extreme_values_and_nan_amid_a_batch_round_trip_bit_exact(store: ReadingStore) -> None:
    # the smallest subnormal, the largest double, values whose shortest decimal has an exponent (1e-07, 2.5e-05,
    # 1e+16, 1e+22) and 0.1 + 0.2 (shortest form 17 digits), with NaN readings between them
    values = [5e-324, 1.7976931348623157e308, 0.0, 1e-7, 2.5e-5, 1e16, 1e22, 0.1 + 0.2, -123.456e-10]
    batch = []
    for i, value in enumerate(values):
        batch.append(rd("dmm-1", T0 + 2 * i * US, value))
        batch.append(rd("dmm-1", T0 + (2 * i + 1) * US, math.nan, status=ReadingStatus.OVERLOAD))
    store.append(batch)
    got = store.query()
    assert len(got) == 2 * len(values)
    for expected, stored in zip(values, got[0::2], strict=True):
        assert stored.value == expected and math.copysign(1.0, stored.value) == math.copysign(1.0, expected)
        assert stored.status is ReadingStatus.STABLE
    assert all(math.isnan(r.value) and r.status is ReadingStatus.OVERLOAD for r in got[1::2])


def test_negative_zero_is_stored_as_zero(store: ReadingStore) -> None:
    store.append([rd("bal-1", T0, -0.0)])
    (got,) = store.query()
    assert got.value == 0.0 and math.copysign(1.0, got.value) == 1.0  # the same reading on either store


def test_aware_non_utc_timestamps_are_normalised(store: ReadingStore) -> None:
    hanoi = timezone(timedelta(hours=7))
    store.append([rd("bal-1", datetime(2024, 1, 1, 7, 0, 0, 5, tzinfo=hanoi))])
    (got,) = store.query(start=T0, end=T0 + 10 * US)
    assert got.timestamp == T0 + 5 * US and got.timestamp.utcoffset() == timedelta(0)


def test_driver_readings_round_trip_through_the_store(store: ReadingStore) -> None:
    reading = Reading(100.0002, "g", ReadingStatus.STABLE, "bal-1", T0 + 3 * US, quantity="mass")
    store.append([StoredReading.from_reading(reading, run_id="R9", step="load-100g")])
    (got,) = store.query(run_id="R9", step="load-100g")
    assert got.to_reading() == reading


def test_bad_arguments_are_refused_before_any_io(store: ReadingStore) -> None:
    reading = Reading(1.0, "g", ReadingStatus.STABLE, "bal-1", T0)
    with pytest.raises(TypeError, match="StoredReading.from_reading"):
        store.append([reading])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="sequence of StoredReading"):
        store.append(rd("bal-1", T0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="aware"):
        store.query(start=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="limit"):
        store.query(limit=0)
    with pytest.raises(ValueError, match="instrument_id"):
        store.latest("")
    store.append([])
    assert store.count() == 0


def test_closed_store_says_so(store: ReadingStore) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreClosedError, match="closed"):
        store.append([rd("bal-1", T0)])
    with pytest.raises(StoreClosedError):
        store.query()
