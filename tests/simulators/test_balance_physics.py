"""Tests of the protocol-neutral balance model (grams, seconds; injected clock)."""

from __future__ import annotations

import math
import threading

import pytest

from simulators.balance_physics import POSITIONS, BalancePhysics, Outcome, RangeState


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(**kw: object) -> tuple[BalancePhysics, FakeClock]:
    clock = FakeClock()
    params: dict[str, object] = {"capacity_g": 220.0, "resolution_g": 0.0001, "settle_time_s": 1.0, "seed": 1}
    params.update(kw)
    return BalancePhysics(clock=clock, **params), clock  # type: ignore[arg-type]


def test_empty_balance_reads_zero_and_is_stable_after_settle_time():
    bal, clock = make()
    clock.t += 1.0
    ind = bal.read()
    assert ind.state is RangeState.OK
    assert ind.stable
    assert abs(ind.net_g) <= 0.0003  # settled noise d/10, clipped at 3 sigma, then rounded to d


def test_load_settles_exponentially_and_becomes_stable():
    bal, clock = make()
    bal.place(100.0)
    first = bal.read()
    assert not first.stable
    clock.t += 0.5
    mid = bal.read()
    assert not mid.stable
    assert abs(mid.net_g - 100.0) > 0.001  # still settling: the transient is well above d
    clock.t += 0.5
    final = bal.read()
    assert final.stable
    assert final.net_g == pytest.approx(100.0, abs=0.0005)


def test_values_are_rounded_to_the_readability():
    bal, clock = make(resolution_g=0.01, capacity_g=6200.0)
    bal.place(12.3456)
    clock.t += 2
    ind = bal.read()
    assert ind.net_g == pytest.approx(12.35, abs=0.011)
    assert round(ind.net_g * 100) == pytest.approx(ind.net_g * 100, abs=1e-9)
    assert bal.decimals == 2


def test_decimals_follow_resolution():
    assert make(resolution_g=0.0001)[0].decimals == 4
    assert make(resolution_g=0.5, capacity_g=30000.0)[0].decimals == 1
    assert make(resolution_g=2.0, capacity_g=60000.0)[0].decimals == 0
    assert make(resolution_g=0.00001, capacity_g=5.1)[0].decimals == 5


def test_overload_above_max_plus_9d_and_underload():
    bal, clock = make()
    bal.place(220.0 + 8 * 0.0001)
    clock.t += 2
    assert bal.read().state is RangeState.OK
    bal.place(220.0 + 20 * 0.0001)
    clock.t += 2
    ind = bal.read()
    assert ind.state is RangeState.OVERLOAD
    assert math.isnan(ind.net_g)
    bal.place(-10.0)  # below -2 % of 220 g = -4.4 g
    clock.t += 2
    assert bal.read().state is RangeState.UNDERLOAD


def test_zero_and_tare_need_stability_unless_immediate():
    bal, _ = make()
    bal.place(1.0)
    assert bal.zero().outcome is Outcome.UNSTABLE
    assert bal.tare().outcome is Outcome.UNSTABLE
    res = bal.zero(immediate=True)
    assert res.outcome is Outcome.DONE
    assert not res.stable


def test_tare_stores_gross_and_net_reads_zero():
    bal, clock = make()
    bal.place(50.0)
    clock.t += 1.0
    res = bal.tare()
    assert res.outcome is Outcome.DONE
    assert res.tare_g == pytest.approx(50.0, abs=0.0005)
    ind = bal.read()
    assert ind.net_g == pytest.approx(0.0, abs=0.0005)
    assert ind.tare_g == res.tare_g
    bal.add(10.0)
    clock.t += 1.0
    assert bal.read().net_g == pytest.approx(10.0, abs=0.0005)
    bal.remove()
    clock.t += 1.0
    assert bal.read().net_g == pytest.approx(-50.0, abs=0.0005)
    # zero clears the tare... but only within the zero-setting range (empty pan: yes)
    assert bal.zero().outcome is Outcome.DONE
    assert bal.read().tare_g == 0.0


def test_zero_outside_range_is_refused():
    bal, clock = make()
    bal.place(10.0)  # 2 % of 220 g = 4.4 g
    clock.t += 1.0
    assert bal.zero().outcome is Outcome.ABOVE_RANGE
    bal.place(-3.0)
    clock.t += 1.0
    assert bal.zero().outcome is Outcome.DONE  # within -4.4 g
    bal.place(-6.0)
    clock.t += 1.0
    assert bal.zero().outcome is Outcome.BELOW_RANGE


def test_tare_of_negative_gross_is_refused():
    bal, clock = make()
    bal.place(-1.0)
    clock.t += 1.0
    assert bal.tare().outcome is Outcome.BELOW_RANGE


def test_drift_moves_zero_and_prevents_stability_when_fast():
    bal, clock = make()
    clock.t += 1.0
    bal.set_drift(0.00005)  # below d per second: still stable
    clock.t += 10.0
    ind = bal.read()
    assert ind.stable
    assert ind.net_g == pytest.approx(0.0005, abs=0.0004)
    bal.set_drift(0.01)
    assert not bal.is_stable()
    assert bal.stable_at() is None
    assert bal.zero().outcome is Outcome.UNSTABLE


def test_adjustment_takes_its_time_and_removes_span_error():
    bal, clock = make(adjust_seconds=3.0, sensitivity_error=1e-4)
    bal.place(100.0)
    clock.t += 1.0
    assert bal.read().net_g == pytest.approx(100.01, abs=0.0005)
    assert bal.start_adjustment() is Outcome.DONE
    assert bal.is_busy()
    assert bal.start_adjustment() is Outcome.BUSY
    assert bal.zero().outcome is Outcome.BUSY
    assert bal.adjustment_ends_at() == pytest.approx(clock.t + 3.0)
    clock.t += 3.0
    assert not bal.is_busy()
    assert bal.read().net_g == pytest.approx(100.0, abs=0.0005)


def test_adjustment_refused_when_unstable():
    bal, _ = make()
    bal.place(5.0)
    assert bal.start_adjustment() is Outcome.UNSTABLE


def test_seeded_noise_is_reproducible():
    a, ca = make(seed=42, noise_g=0.001)
    b, cb = make(seed=42, noise_g=0.001)
    for _ in range(5):
        ca.t += 0.3
        cb.t += 0.3
        assert a.read() == b.read()


def test_invalid_parameters_rejected():
    with pytest.raises(ValueError, match="capacity"):
        BalancePhysics(capacity_g=0)
    with pytest.raises(ValueError, match="resolution"):
        BalancePhysics(resolution_g=-1)
    with pytest.raises(ValueError, match="settle_time"):
        BalancePhysics(settle_time_s=-1)
    bal = BalancePhysics()
    with pytest.raises(ValueError, match="finite"):
        bal.place(math.nan)


def test_thread_safe_under_concurrent_use():
    bal = BalancePhysics(settle_time_s=0.0, seed=3)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for i in range(500):
                bal.add(0.001 if i % 2 else -0.001)
                bal.read()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert bal.load_g == pytest.approx(0.0, abs=1e-9)


# -- eccentricity ------------------------------------------------------------------------------------------------
# Noise-free balances (noise_g = dynamic_noise_g = 0) so each expected indication is exact: the true load times
# (1 + sensitivity error + eccentricity at the load's position), rounded to d = 0.0001 g.


def quiet(**kw: object) -> tuple[BalancePhysics, FakeClock]:
    return make(noise_g=0.0, dynamic_noise_g=0.0, **kw)


def settled(bal: BalancePhysics, clock: FakeClock) -> float:
    clock.t += 1.0  # settle_time_s of make()
    ind = bal.read()
    assert ind.stable
    return ind.net_g


def test_without_eccentricity_every_position_reads_alike():
    bal, clock = quiet()
    assert bal.eccentricity == {}
    for position in POSITIONS:
        bal.place(100.0, position=position)
        assert bal.position == position
        assert settled(bal, clock) == 100.0


def test_an_off_centre_load_indicates_relative_times_load_more():
    bal, clock = quiet(eccentricity={"back-right": 5e-6})
    bal.place(100.0)
    assert bal.position == "centre"
    assert settled(bal, clock) == 100.0
    bal.place(100.0, position="back-right")  # 5e-6 * 100 g = 0.0005 g = 5 d more
    assert settled(bal, clock) == 100.0005
    for position in ("front-left", "back-left", "front-right"):  # not configured: no error
        bal.place(100.0, position=position)
        assert settled(bal, clock) == 100.0
    bal.set_eccentricity("front-left", -4e-6)  # a negative error: -4e-6 * 50 g = -0.0002 g
    bal.place(50.0, position="front-left")
    assert settled(bal, clock) == 49.9998
    bal.set_eccentricity("back-right", 0.0)  # 0 removes it
    bal.place(100.0, position="back-right")
    assert settled(bal, clock) == 100.0
    assert bal.eccentricity == {"back-right": 0.0, "front-left": -4e-6}


def test_eccentricity_adds_to_the_sensitivity_error_and_survives_an_adjustment():
    bal, clock = quiet(sensitivity_error=2e-6, adjust_seconds=0.0)
    bal.set_eccentricity("front-left", 4e-6)
    bal.place(200.0, position="front-left")
    # 200 g * (1 + 2e-6 + 4e-6) = 200.0012 g
    assert settled(bal, clock) == 200.0012
    assert bal.start_adjustment() is Outcome.DONE  # removes the sensitivity error only
    assert bal.read().net_g == 200.0008  # 200 g * (1 + 4e-6)
    bal.place(200.0)
    assert settled(bal, clock) == 200.0


def test_add_keeps_the_position_and_remove_returns_to_the_centre():
    bal, clock = quiet(eccentricity={"front-left": 1e-5})
    bal.place(60.0, position="front-left")
    assert settled(bal, clock) == 60.0006  # 1e-5 * 60 g
    bal.add(40.0)
    assert bal.position == "front-left"
    assert settled(bal, clock) == 100.001  # the whole 100 g sits front left: 1e-5 * 100 g
    bal.remove()
    assert bal.position == "centre"
    assert settled(bal, clock) == 0.0
    bal.add(100.0)
    assert settled(bal, clock) == 100.0


def test_moving_the_load_restarts_the_stability_time():
    bal, clock = quiet(eccentricity={"back-left": 1e-5})
    bal.place(100.0)
    assert settled(bal, clock) == 100.0
    bal.place(100.0, position="back-left")
    assert not bal.read().stable
    clock.t += 0.5
    assert not bal.is_stable()
    clock.t += 0.5
    assert bal.read().stable and bal.read().net_g == 100.001


def test_eccentricity_positions_and_values_are_checked():
    with pytest.raises(ValueError, match="unknown load position 'middle'.*centre, front-left"):
        BalancePhysics(eccentricity={"middle": 1e-6})
    with pytest.raises(ValueError, match="centre is the reference"):
        BalancePhysics(eccentricity={"centre": 1e-6})
    bal, _ = quiet()
    bal.place(10.0)
    with pytest.raises(ValueError, match="unknown load position 'front left'"):
        bal.place(20.0, position="front left")
    assert bal.load_g == 10.0 and bal.position == "centre"  # refused before anything moved
    with pytest.raises(ValueError, match="centre is the reference"):
        bal.set_eccentricity("centre", 1e-6)
    with pytest.raises(ValueError, match="finite relative error"):
        bal.set_eccentricity("back-left", math.nan)
    with pytest.raises(ValueError, match="relative error"):
        bal.set_eccentricity("back-left", 1.5)
    assert bal.eccentricity == {}
