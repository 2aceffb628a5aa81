"""StoredReading: validation, conversion to and from driver readings, exact microsecond time arithmetic."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from acquisition.store import StoredReading
from acquisition.store.base import from_micros, to_micros
from drivers.reading import Reading, ReadingStatus

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def make(**changes: object) -> StoredReading:
    fields: dict[str, object] = {
        "instrument_id": "bal-1",
        "value": 1.0,
        "unit": "g",
        "status": ReadingStatus.STABLE,
        "timestamp": T0,
    }
    fields.update(changes)
    return StoredReading(**fields)  # type: ignore[arg-type]


def test_microseconds_since_the_epoch_are_exact() -> None:
    assert to_micros(T0) == 1_704_067_200_000_000  # Unix time of 2024-01-01T00:00:00Z is 1704067200 s
    assert to_micros(datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)) == 1
    assert to_micros(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == -1
    far = datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC)  # float64 seconds cannot hold this to 1 us
    assert from_micros(to_micros(far)) == far
    assert to_micros(datetime(2024, 1, 1, 7, tzinfo=timezone(timedelta(hours=7)))) == 1_704_067_200_000_000
    with pytest.raises(ValueError, match="aware"):
        to_micros(datetime(2024, 1, 1))


def test_status_text_and_ints_are_accepted() -> None:
    r = make(status="overload", value=3)
    assert r.status is ReadingStatus.OVERLOAD and r.value == 3.0 and isinstance(r.value, float)
    assert make(run_id="", step="").run_id is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"instrument_id": ""}, "instrument_id must not be empty"),
        ({"unit": "g\n"}, "control characters"),
        ({"run_id": "a\\b"}, "backslashes"),
        ({"value": math.inf}, "infinite"),
        ({"value": True}, "must be a number"),
        ({"value": "1.0"}, "must be a number"),
        ({"status": "wobbly"}, "not one of stable, dynamic"),
        ({"timestamp": datetime(2024, 1, 1)}, "aware"),
        ({"timestamp": "2024-01-01"}, "must be a datetime"),
        ({"instrument_id": 7}, "must be a string"),
    ],
)
def test_bad_readings_are_refused_with_the_reason(changes: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        make(**changes)


def test_from_reading_and_back() -> None:
    reading = Reading(math.nan, "", ReadingStatus.ERROR, "env-1", T0, quantity="temperature")
    stored = StoredReading.from_reading(reading, run_id="R1", step="soak")
    assert (stored.run_id, stored.step, stored.quantity, stored.ts_us) == ("R1", "soak", "temperature", to_micros(T0))
    back = stored.to_reading()
    assert math.isnan(back.value) and back.status is ReadingStatus.ERROR and back.timestamp == T0
    assert stored.same_as(StoredReading.from_reading(reading, run_id="R1", step="soak"))
    assert not stored.same_as(StoredReading.from_reading(reading, run_id="R2", step="soak"))
