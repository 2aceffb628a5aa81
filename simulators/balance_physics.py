"""A protocol-neutral model of an electronic balance, shared by the balance simulators (MT-SICS, Sartorius SBI).

All masses are in grams (g), times in seconds (s) on a monotonic clock, rates in g/s.

The model, kept deliberately simple:

* **Load.** ``load_g`` is the true mass on the pan (it may be negative: a lifted pan or a force from below).
* **Settling.** After a load change at ``t0`` the raw sensor level approaches the new load exponentially:
  ``level(t) = load + step * exp(-(t - t0) / tau)`` where ``step`` is the difference between the level at ``t0``
  and the new load. ``tau`` is chosen from the step so that the residual is ``d/20`` after ``settle_time_s``:
  ``tau = settle_time_s / ln(|step| / (d/20))``. Hence the stabilisation time does not depend on the step size,
  as on a real balance with a fixed stability criterion, and a test can make it as short as it likes. The
  residual at the moment the balance reports stable is a twentieth of a digit: a balance's stability detector does
  not report stable while the indication is still a quarter of a digit away and moving (with ``d/4``, a 1.4 d
  discrimination load could show no change at all once noise was added).
* **Noise.** Gaussian noise (clipped at 3 sigma) whose standard deviation decays with the transient:
  ``sigma(t) = noise_g + dynamic_noise_g * exp(-(t - t0) / tau_n)`` with ``tau_n = settle_time_s / 8``, so
  the settled noise is ``noise_g`` (default ``d/10``). The generator is seeded (reproducible tests).
* **Zero drift.** The zero point creeps at ``drift_g_per_s`` (set at run time); a zero operation removes the
  accumulated offset.
* **Sensitivity.** ``sensitivity_error`` (relative, e.g. ``2e-6``) scales the load; an internal adjustment
  sets it back to 0 and takes ``adjust_seconds`` during which the balance is busy.
* **Eccentricity.** The load sits at one of :data:`POSITIONS`: ``centre`` or a quarter of the pan
  (``front-left``, ``back-left``, ``back-right``, ``front-right``: the eccentricity-test positions of OIML
  R76-1 A.4.7 and EURAMET cg-18 5.3, named as the procedures name them). ``eccentricity`` maps an off-centre
  position to a relative error ``epsilon``: a load ``m`` placed there indicates ``epsilon * m`` more than at the
  centre, on top of the sensitivity error, so the settled indication is ``m * (1 + sensitivity_error +
  epsilon)``. The centre is the reference (no error); positions not configured have none (the default: no
  eccentricity error). ``place`` records the position (default centre), ``add`` keeps it (the whole load is
  taken to sit there), ``remove`` returns it to the centre. A change of position alone starts no transient (the
  indication moves at once) but restarts the stability time. An adjustment leaves the eccentricity (a property
  of the load receptor) as it is.
* **Stability.** The indication is stable once ``settle_time_s`` has passed since the last load change and the
  drift is at most ``stable_drift_g_per_s`` (default ``d`` per second); otherwise it is dynamic.
* **Range.** Gross indication above ``capacity_g + 9 d`` is overload; below ``-underload_g`` (default 2 % of
  capacity: an empty pan on a balance zeroed with its pan on) is underload. No numeric value is then shown.
* **Zero and tare.** Zeroing is allowed within ``zero_range_g`` (default ±2 % of capacity, as OIML R 76 allows
  for the zero-setting device) of the power-on zero; taring needs a positive gross load up to capacity. Both need
  a stable indication unless called with ``immediate=True`` (MT-SICS ``ZI``/``TI``) and fail while adjusting.
* **Display.** Every value leaving the model is rounded to the readability ``d`` (``resolution_g``);
  ``decimals`` tells a protocol how many decimals to print.

Nothing here knows a wire protocol. The physical state is guarded by a :class:`threading.Lock` so tests may
call control methods from one thread while a simulator loop reads from another.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from simulators.base import SimulatedInstrument

Clock = Callable[[], float]

#: Where a load can sit on the pan: the centre, then the four quarters (OIML R76-1 A.4.7, EURAMET cg-18 5.3).
POSITIONS: tuple[str, ...] = ("centre", "front-left", "back-left", "back-right", "front-right")
CENTRE = POSITIONS[0]


class RangeState(StrEnum):
    """Where the gross load lies relative to the weighing range."""

    OK = "ok"
    OVERLOAD = "overload"
    UNDERLOAD = "underload"


class Outcome(StrEnum):
    """Result of a zero, tare or adjustment request."""

    DONE = "done"
    UNSTABLE = "unstable"  # no stable indication (only for the non-immediate forms)
    BUSY = "busy"  # an internal adjustment is running
    ABOVE_RANGE = "above_range"  # above the zero-setting or taring range (MT-SICS ``Z +`` / ``T +``)
    BELOW_RANGE = "below_range"  # below the zero-setting or taring range (MT-SICS ``Z -`` / ``T -``)


@dataclass(frozen=True, slots=True)
class Indication:
    """What the balance shows at one instant.

    ``net_g`` and ``gross_g`` (g) are rounded to the readability d (NaN when ``state`` is not OK);
    ``tare_g`` (g) is the tare memory, rounded to d; ``stable`` is the stability detector's verdict;
    ``busy`` is True while an internal adjustment runs.
    """

    net_g: float
    gross_g: float
    tare_g: float
    stable: bool
    state: RangeState
    busy: bool = False


@dataclass(frozen=True, slots=True)
class ZeroTareResult:
    """Outcome of a zero or tare request; ``tare_g`` (g) is the tare memory afterwards, ``stable`` the
    stability at the moment the operation was taken (meaningful for the immediate forms)."""

    outcome: Outcome
    stable: bool
    tare_g: float


class BalancePhysics:
    """A balance's weighing cell, zero/tare logic and stability detector (see the module docstring).

    Parameters (g, s): ``capacity_g`` (Max), ``resolution_g`` (readability d), ``settle_time_s`` (time to
    stability after a load change), ``noise_g`` (settled noise standard deviation, default d/10),
    ``dynamic_noise_g`` (extra noise right after a load change, default 50 d), ``overload_margin_d`` (overload
    above Max + this many d), ``underload_g``, ``zero_range_g``, ``stable_drift_g_per_s``, ``adjust_seconds``,
    ``sensitivity_error`` (relative), ``eccentricity`` (off-centre position -> relative error, see
    :meth:`set_eccentricity`), ``seed`` (noise generator) and ``clock`` (monotonic seconds).
    """

    def __init__(
        self,
        capacity_g: float = 220.0,
        resolution_g: float = 0.0001,
        *,
        settle_time_s: float = 1.5,
        noise_g: float | None = None,
        dynamic_noise_g: float | None = None,
        overload_margin_d: float = 9.0,
        underload_g: float | None = None,
        zero_range_g: float | None = None,
        stable_drift_g_per_s: float | None = None,
        adjust_seconds: float = 5.0,
        sensitivity_error: float = 0.0,
        eccentricity: Mapping[str, float] | None = None,
        seed: int | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        if not (math.isfinite(capacity_g) and capacity_g > 0):
            raise ValueError(f"capacity_g must be a positive number of grams, got {capacity_g!r}")
        if not (math.isfinite(resolution_g) and 0 < resolution_g < capacity_g):
            raise ValueError(f"resolution_g must be > 0 g and below the capacity, got {resolution_g!r}")
        for name, value in (("settle_time_s", settle_time_s), ("adjust_seconds", adjust_seconds)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be >= 0 s, got {value!r}")
        d = resolution_g
        self.capacity_g = float(capacity_g)
        self.resolution_g = float(resolution_g)
        self.settle_time_s = float(settle_time_s)
        self.noise_g = d / 10 if noise_g is None else float(noise_g)
        self.dynamic_noise_g = 50 * d if dynamic_noise_g is None else float(dynamic_noise_g)
        if self.noise_g < 0 or self.dynamic_noise_g < 0:
            raise ValueError("noise_g and dynamic_noise_g must be >= 0 g")
        self.overload_limit_g = self.capacity_g + overload_margin_d * d
        self.underload_g = 0.02 * self.capacity_g if underload_g is None else abs(float(underload_g))
        self.zero_range_g = 0.02 * self.capacity_g if zero_range_g is None else abs(float(zero_range_g))
        self.stable_drift_g_per_s = d if stable_drift_g_per_s is None else abs(float(stable_drift_g_per_s))
        self.adjust_seconds = float(adjust_seconds)
        self.decimals = max(0, -int(Decimal(repr(self.resolution_g)).normalize().as_tuple().exponent))
        self._clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        now = clock()
        # physical state (guarded by _lock)
        self._load = 0.0
        self._t0 = now  # time of the last load change
        self._step = 0.0  # level(t0) - load at the last change
        self._tau = 0.0  # settling time constant of the last change (s)
        self._drift = 0.0  # g/s
        self._drift_offset = 0.0  # zero offset accumulated up to _drift_t (g)
        self._drift_t = now
        self._zero_ref = 0.0  # raw level taken as zero (g)
        self._tare = 0.0  # tare memory (g, unrounded)
        self._sensitivity_error = float(sensitivity_error)
        self._eccentricity: dict[str, float] = {}  # off-centre position -> relative error
        for position, relative in (eccentricity or {}).items():
            self._eccentricity[_off_centre(position)] = _relative_eccentricity(position, relative)
        self._position = CENTRE  # where the load sits
        self._adjust_until = -math.inf

    # ------------------------------------------------------------------ controls
    def now(self) -> float:
        """The model's clock (monotonic seconds)."""
        return self._clock()

    @property
    def load_g(self) -> float:
        """True mass on the pan (g)."""
        with self._lock:
            return self._load

    @property
    def position(self) -> str:
        """Where the load sits on the pan (one of :data:`POSITIONS`)."""
        with self._lock:
            return self._position

    @property
    def eccentricity(self) -> dict[str, float]:
        """The configured relative eccentricity error of each off-centre position (missing ones: 0)."""
        with self._lock:
            return dict(self._eccentricity)

    def place(self, load_g: float, now: float | None = None, *, position: str = CENTRE) -> None:
        """Put ``load_g`` grams on the pan at ``position`` (one of :data:`POSITIONS`), replacing what was there;
        the indication starts settling."""
        if not math.isfinite(load_g):
            raise ValueError(f"load must be a finite number of grams, got {load_g!r}")
        _check_position(position)
        with self._lock:
            self._position = position
            self._change_load(float(load_g), self._t(now))

    def add(self, load_g: float, now: float | None = None) -> None:
        """Add ``load_g`` grams (negative removes) to what is on the pan, at the load's present position."""
        if not math.isfinite(load_g):
            raise ValueError(f"load must be a finite number of grams, got {load_g!r}")
        with self._lock:
            self._change_load(self._load + float(load_g), self._t(now))

    def remove(self, now: float | None = None) -> None:
        """Empty the pan (the next load is placed at the centre unless ``place`` says otherwise)."""
        with self._lock:
            self._position = CENTRE
            self._change_load(0.0, self._t(now))

    def set_drift(self, g_per_s: float, now: float | None = None) -> None:
        """Make the zero point creep at ``g_per_s`` grams per second from now on."""
        if not math.isfinite(g_per_s):
            raise ValueError(f"drift must be a finite number of g/s, got {g_per_s!r}")
        with self._lock:
            t = self._t(now)
            self._drift_offset = self._offset(t)
            self._drift_t = t
            self._drift = float(g_per_s)

    def set_sensitivity_error(self, relative: float) -> None:
        """Set the span error (relative, e.g. ``2e-6``) that an internal adjustment removes."""
        with self._lock:
            self._sensitivity_error = float(relative)

    def set_eccentricity(self, position: str, relative: float) -> None:
        """Make a load ``m`` at the off-centre ``position`` indicate ``relative * m`` more than at the centre
        (relative, e.g. ``4e-6``; 0 removes the error). The centre is the reference and cannot be set."""
        key = _off_centre(position)
        value = _relative_eccentricity(position, relative)
        with self._lock:
            self._eccentricity[key] = value

    # ------------------------------------------------------------------ reading
    def read(self, now: float | None = None) -> Indication:
        """The indication at ``now`` (default: the clock), rounded to d, with stability and range state."""
        with self._lock:
            t = self._t(now)
            raw = self._raw(t, noisy=True)
            stable = self._stable(t)
            busy = t < self._adjust_until
            gross = raw - self._zero_ref
            tare = self._round(self._tare)
            if gross > self.overload_limit_g:
                return Indication(math.nan, math.nan, tare, stable, RangeState.OVERLOAD, busy)
            if gross < -self.underload_g:
                return Indication(math.nan, math.nan, tare, stable, RangeState.UNDERLOAD, busy)
            return Indication(self._round(gross - self._tare), self._round(gross), tare, stable, RangeState.OK, busy)

    def is_stable(self, now: float | None = None) -> bool:
        """True when the stability detector reports stable at ``now``."""
        with self._lock:
            return self._stable(self._t(now))

    def stable_at(self) -> float | None:
        """Clock time from which the indication is stable (if nothing changes); None if drift prevents it."""
        with self._lock:
            if abs(self._drift) > self.stable_drift_g_per_s:
                return None
            return self._t0 + self.settle_time_s

    def is_busy(self, now: float | None = None) -> bool:
        """True while an internal adjustment runs."""
        with self._lock:
            return self._t(now) < self._adjust_until

    # ------------------------------------------------------------------ operations
    def zero(self, now: float | None = None, *, immediate: bool = False) -> ZeroTareResult:
        """Set the present gross level as zero and clear the tare.

        Needs stability unless ``immediate``; refused while adjusting or outside the zero-setting range.
        """
        with self._lock:
            t = self._t(now)
            stable = self._stable(t)
            if t < self._adjust_until:
                return ZeroTareResult(Outcome.BUSY, stable, self._round(self._tare))
            if not (stable or immediate):
                return ZeroTareResult(Outcome.UNSTABLE, stable, self._round(self._tare))
            level = self._raw(t, noisy=True)
            if level > self.zero_range_g:
                return ZeroTareResult(Outcome.ABOVE_RANGE, stable, self._round(self._tare))
            if level < -self.zero_range_g:
                return ZeroTareResult(Outcome.BELOW_RANGE, stable, self._round(self._tare))
            self._zero_ref = level
            self._tare = 0.0
            return ZeroTareResult(Outcome.DONE, stable, 0.0)

    def tare(self, now: float | None = None, *, immediate: bool = False) -> ZeroTareResult:
        """Store the present gross indication as tare; ``tare_g`` of the result is the new tare (rounded to d).

        Needs stability unless ``immediate``; the gross load must lie in (0, capacity]; refused while adjusting.
        """
        with self._lock:
            t = self._t(now)
            stable = self._stable(t)
            if t < self._adjust_until:
                return ZeroTareResult(Outcome.BUSY, stable, self._round(self._tare))
            if not (stable or immediate):
                return ZeroTareResult(Outcome.UNSTABLE, stable, self._round(self._tare))
            gross = self._round(self._raw(t, noisy=True) - self._zero_ref)
            if gross > self.capacity_g:
                return ZeroTareResult(Outcome.ABOVE_RANGE, stable, self._round(self._tare))
            if gross < 0:
                return ZeroTareResult(Outcome.BELOW_RANGE, stable, self._round(self._tare))
            self._tare = gross
            return ZeroTareResult(Outcome.DONE, stable, gross)

    def clear_tare(self) -> None:
        """Empty the tare memory."""
        with self._lock:
            self._tare = 0.0

    def start_adjustment(self, now: float | None = None) -> Outcome:
        """Start an internal adjustment lasting ``adjust_seconds``; BUSY if one runs, UNSTABLE if not stable.

        The adjustment removes the sensitivity error; it ends at :meth:`adjustment_ends_at`.
        """
        with self._lock:
            t = self._t(now)
            if t < self._adjust_until:
                return Outcome.BUSY
            if not self._stable(t):
                return Outcome.UNSTABLE
            self._adjust_until = t + self.adjust_seconds
            self._sensitivity_error = 0.0
            return Outcome.DONE

    def adjustment_ends_at(self) -> float:
        """Clock time at which the running (or last) adjustment ends; -inf if none was started."""
        with self._lock:
            return self._adjust_until

    # ------------------------------------------------------------------ helpers (caller holds _lock)
    def _t(self, now: float | None) -> float:
        return self._clock() if now is None else now

    def _round(self, grams: float) -> float:
        """Round to the readability d (ties to even)."""
        return round(round(grams / self.resolution_g) * self.resolution_g, self.decimals)

    def _offset(self, t: float) -> float:
        return self._drift_offset + self._drift * (t - self._drift_t)

    def _level(self, t: float) -> float:
        """Noise-free sensor level (g) without zero drift."""
        elapsed = max(0.0, t - self._t0)
        transient = self._step * math.exp(-elapsed / self._tau) if self._tau > 0 else 0.0
        return self._load + transient

    def _raw(self, t: float, *, noisy: bool) -> float:
        span = 1.0 + self._sensitivity_error + self._eccentricity.get(self._position, 0.0)
        value = self._level(t) * span + self._offset(t)
        if noisy:
            elapsed = max(0.0, t - self._t0)
            tau_n = self.settle_time_s / 8
            decay = math.exp(-elapsed / tau_n) if tau_n > 0 else 0.0
            sigma = self.noise_g + self.dynamic_noise_g * decay
            if sigma > 0:
                value += max(-3.0, min(3.0, self._rng.gauss(0.0, 1.0))) * sigma
        return value

    def _stable(self, t: float) -> bool:
        return t - self._t0 >= self.settle_time_s and abs(self._drift) <= self.stable_drift_g_per_s

    def _change_load(self, new_load: float, t: float) -> None:
        start = self._level(t)
        self._load = new_load
        self._t0 = t
        self._step = start - new_load
        threshold = self.resolution_g / 20
        if self.settle_time_s > 0 and abs(self._step) > threshold:
            self._tau = self.settle_time_s / math.log(abs(self._step) / threshold)
        else:
            self._tau = 0.0


def _check_position(position: str) -> str:
    """``position`` if it is one of :data:`POSITIONS`, else ValueError naming them."""
    if position not in POSITIONS:
        raise ValueError(f"unknown load position {position!r}; positions on the pan: {', '.join(POSITIONS)}")
    return position


def _off_centre(position: str) -> str:
    """``position`` if it is an off-centre position, else ValueError."""
    if _check_position(position) == CENTRE:
        raise ValueError(
            "the centre is the reference position of the eccentricity test: it has no eccentricity error; set "
            f"one of {', '.join(POSITIONS[1:])}"
        )
    return position


def _relative_eccentricity(position: str, relative: float) -> float:
    """``relative`` as a float if it is a finite number of magnitude below 1, else ValueError."""
    if isinstance(relative, bool) or not isinstance(relative, (int, float)) or not math.isfinite(relative):
        raise ValueError(f"eccentricity at {position} must be a finite relative error, got {relative!r}")
    if abs(relative) >= 1:
        raise ValueError(f"eccentricity at {position} must be a relative error (e.g. 4e-6), got {relative!r}")
    return float(relative)


class SimulatedBalance(SimulatedInstrument):
    """A simulated balance whatever its protocol: a :class:`BalancePhysics` pan and the controls on it.

    Subclasses assign ``self.physics`` and ``self.server`` and add their protocol loop.
    """

    controls: ClassVar[frozenset[str]] = frozenset(
        {"place", "add", "remove", "set_drift", "set_sensitivity_error", "set_eccentricity", "display"}
    )
    physics: BalancePhysics

    @property
    def capacity(self) -> float:
        """Max, in g."""
        return self.physics.capacity_g

    def place(self, load_g: float, position: str = CENTRE) -> None:
        """Put ``load_g`` grams on the pan at ``position`` (``centre``, ``front-left``, ``back-left``,
        ``back-right`` or ``front-right``), replacing the load."""
        self.physics.place(load_g, position=position)

    def add(self, load_g: float) -> None:
        """Add ``load_g`` grams to the pan (negative removes some)."""
        self.physics.add(load_g)

    def remove(self) -> None:
        """Empty the pan."""
        self.physics.remove()

    def set_drift(self, g_per_s: float) -> None:
        """Let the zero creep at ``g_per_s`` g/s (above the stability limit the balance never settles)."""
        self.physics.set_drift(g_per_s)

    def set_sensitivity_error(self, relative: float) -> None:
        """Span error (relative) that an internal adjustment removes."""
        self.physics.set_sensitivity_error(relative)

    def set_eccentricity(self, position: str, relative: float) -> None:
        """Relative error of a load at the off-centre ``position`` (``relative * load`` g more than at the centre)."""
        self.physics.set_eccentricity(position, relative)

    def display(self) -> dict[str, float | bool | str | None]:
        """What an operator standing at the balance sees now: ``net_g`` (g, rounded to d; None when over- or
        underloaded), ``stable`` (the stability mark) and ``state`` (``ok``, ``overload``, ``underload``).

        For demo operators whose next action depends on the display (the changeover-point method of OIML R76-1
        A.4.8.2); each call draws fresh noise, like looking at the display again.
        """
        ind = self.physics.read()
        net = ind.net_g if ind.state is RangeState.OK else None
        return {"net_g": net, "stable": ind.stable, "state": ind.state.value}
