"""The stability detector on hand-made series: spread, slope (least squares), flags, reset and timeout."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from acquisition.stability import StabilityCriterion, StabilityDetector, StabilityTimeout, wait_until_stable
from drivers.reading import Reading, ReadingStatus

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def r(value: float, second: float, status: ReadingStatus = ReadingStatus.STABLE) -> Reading:
    return Reading(value, "g", status, "bal-1", T0 + timedelta(seconds=second))


def test_stable_when_window_full_and_within_limits() -> None:
    det = StabilityDetector(StabilityCriterion(window=3, max_spread=0.0002, max_slope=0.001))
    assert not det.feed(r(100.0000, 0)).stable
    assert not det.feed(r(100.0001, 1)).stable  # window not full
    verdict = det.feed(r(100.0002, 2))
    # spread 0.0002 (at the limit: allowed); slope of 0, 1e-4, 2e-4 over 0, 1, 2 s is exactly 1e-4 g/s
    assert verdict.stable
    assert verdict.spread == pytest.approx(0.0002, abs=1e-12)
    assert verdict.slope == pytest.approx(1e-4, rel=1e-6)


def test_drift_is_caught_by_slope_even_within_spread() -> None:
    # 0.5 mg per second: spread over 4 s is 2 mg (allowed), slope 5e-4 g/s above a 1e-4 g/s limit
    det = StabilityDetector(StabilityCriterion(window=5, max_spread=0.003, max_slope=1e-4))
    verdicts = [det.feed(r(100 + 0.0005 * i, i)) for i in range(5)]
    assert not verdicts[-1].stable
    assert verdicts[-1].slope == pytest.approx(5e-4, rel=1e-6)


def test_unflagged_or_missing_value_resets_the_window() -> None:
    det = StabilityDetector(StabilityCriterion(window=2))
    det.feed(r(1.0, 0))
    assert not det.feed(r(1.0, 1, ReadingStatus.DYNAMIC)).stable
    assert not det.feed(r(1.0, 2)).stable  # window restarted
    assert det.feed(r(1.0, 3)).stable
    assert not det.feed(Reading(math.nan, "g", ReadingStatus.OVERLOAD, "bal-1", T0)).stable


def test_flag_can_be_ignored_for_instruments_without_one() -> None:
    det = StabilityDetector(StabilityCriterion(window=2, max_spread=0.1, require_flag=False))
    det.feed(r(5.0, 0, ReadingStatus.DYNAMIC))
    assert det.feed(r(5.05, 1, ReadingStatus.DYNAMIC)).stable


def test_wait_returns_the_stable_window_and_reports_every_reading() -> None:
    series = iter([r(v, i) for i, v in enumerate([90.0, 99.0, 100.0, 100.0, 100.0, 120.0])])
    seen: list[float] = []
    window = wait_until_stable(
        lambda: [next(series)], StabilityCriterion(window=3, max_spread=0.0), on_reading=lambda x: seen.append(x.value)
    )
    assert [x.value for x in window] == [100.0, 100.0, 100.0]
    assert seen == [90.0, 99.0, 100.0, 100.0, 100.0]


def test_wait_times_out_with_what_it_saw() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    values = iter(range(1000))
    with pytest.raises(StabilityTimeout, match=r"within 5 s .*spread"):
        wait_until_stable(
            lambda: [r(float(next(values)), now[0])],
            StabilityCriterion(window=3, max_spread=0.5, timeout=5),
            clock=clock,
        )


@pytest.mark.parametrize("kwargs", [{"window": 0}, {"max_spread": -1.0}, {"timeout": 0.0}])
def test_bad_criteria_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="stability"):
        StabilityCriterion(**kwargs)
