"""Stability detection: one reusable component for every procedure step that waits for a steady indication.

A reading is *stable* when the last ``window`` readings (all flagged stable by the instrument, if ``require_flag``)
span at most ``max_spread`` and their least-squares slope is at most ``max_slope`` in magnitude. Both limits are in
the reading's unit (slope: unit per second). ``timeout`` (seconds) bounds the wait: a step that never settles fails
with :class:`StabilityTimeout` naming the spread and slope it saw, so the technician knows what to fix (draughts,
vibration, temperature).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from drivers.reading import Reading


@dataclass(frozen=True)
class StabilityCriterion:
    """When a series of readings counts as stable (units: the reading's unit; slope per second; timeout in s)."""

    window: int = 5
    max_spread: float = math.inf
    max_slope: float = math.inf
    timeout: float = 60.0
    require_flag: bool = True

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"stability window must be at least 1 reading, got {self.window}")
        if not self.max_spread >= 0 or not self.max_slope >= 0:
            raise ValueError("stability limits must be >= 0")
        if not self.timeout > 0:
            raise ValueError(f"stability timeout must be > 0 s, got {self.timeout}")

    @classmethod
    def from_dict(cls, data: dict[str, float | int | bool]) -> StabilityCriterion:
        """From a procedure definition's mapping (missing keys take the defaults)."""
        return cls(**data)  # type: ignore[arg-type]


class StabilityTimeout(TimeoutError):  # noqa: N818 - it is a TimeoutError, named for what timed out
    """The indication did not settle within the criterion's timeout."""


@dataclass(frozen=True)
class Verdict:
    """The state of the window after one more reading."""

    stable: bool
    spread: float
    slope: float
    count: int


def _slope(times: list[float], values: list[float]) -> float:
    n = len(times)
    if n < 2:
        return 0.0
    mt = sum(times) / n
    mv = sum(values) / n
    sxx = sum((t - mt) ** 2 for t in times)
    if sxx == 0:
        return 0.0
    return sum((t - mt) * (v - mv) for t, v in zip(times, values, strict=True)) / sxx


class StabilityDetector:
    """Feed readings one by one; ``feed`` says whether the last ``window`` of them are stable."""

    def __init__(self, criterion: StabilityCriterion) -> None:
        self.criterion = criterion
        self._window: deque[Reading] = deque(maxlen=criterion.window)

    def reset(self) -> None:
        """Forget the readings seen so far (after a load change)."""
        self._window.clear()

    def feed(self, reading: Reading) -> Verdict:
        """Add ``reading``; one without a value or (with ``require_flag``) not flagged stable resets the window."""
        c = self.criterion
        if not reading.has_value or (c.require_flag and not reading.is_stable):
            self._window.clear()
            return Verdict(False, math.inf, math.inf, 0)
        self._window.append(reading)
        values = [r.value for r in self._window]
        t0 = self._window[0].timestamp
        times = [(r.timestamp - t0).total_seconds() for r in self._window]
        spread = max(values) - min(values)
        slope = _slope(times, values)
        full = len(self._window) == c.window
        # a spread exactly at the limit counts as within it, whatever the binary rounding of the indications
        slack = 4 * math.ulp(max(abs(v) for v in values))
        stable = full and spread <= c.max_spread + slack and abs(slope) <= c.max_slope
        return Verdict(stable, spread, slope, len(self._window))

    @property
    def readings(self) -> list[Reading]:
        """The readings in the current window, oldest first."""
        return list(self._window)


def wait_until_stable(
    poll: Callable[[], Iterable[Reading]],
    criterion: StabilityCriterion,
    *,
    on_reading: Callable[[Reading], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    pause: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Reading]:
    """Poll until the last ``window`` readings are stable; return that window.

    ``on_reading`` sees every reading first (the run engine stores each one before it is used). Raises
    :class:`StabilityTimeout` after ``criterion.timeout`` seconds of ``clock``.
    """
    detector = StabilityDetector(criterion)
    deadline = clock() + criterion.timeout
    last = Verdict(False, math.inf, math.inf, 0)
    status = ""
    while True:
        for reading in poll():
            if on_reading is not None:
                on_reading(reading)
            status = reading.status.value
            last = detector.feed(reading)
            if last.stable:
                return detector.readings
        if clock() >= deadline:
            if status in ("overload", "underload", "error"):
                raise StabilityTimeout(
                    f"no value within {criterion.timeout:g} s: the instrument reports {status}; check the load "
                    "and the instrument"
                )
            raise StabilityTimeout(
                f"the indication did not settle within {criterion.timeout:g} s (last {last.count} readings: spread "
                f"{last.spread:.6g}, slope {last.slope:.3g}/s; limits {criterion.max_spread:g} and "
                f"{criterion.max_slope:g}/s): check for draughts, vibration or a load still moving"
            )
        if pause:
            sleep(pause)
