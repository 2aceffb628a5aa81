"""The transports' shared life cycle (drivers/transport/lifecycle.py): lazy open, idempotent close, back-off, lock.

A fake link stands in for the port; a fake clock drives :class:`Backoff`, so the delays are checked exactly.
Documented back-off (Backoff's docstring): the first failure waits ``initial`` (0.2 s), each further failure
doubles the wait up to ``maximum`` (10 s), a success resets it.
"""

from __future__ import annotations

import threading
import time

import pytest

from drivers.errors import DeviceConnectionError
from drivers.transport import Backoff, ModbusTransport, SerialTransport
from drivers.transport.lifecycle import TransportLifecycle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeLink:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class FakeTransport(TransportLifecycle[FakeLink]):
    down_reason = "last try failed"
    advice = "Check the fake cable."

    def __init__(self, backoff: Backoff | None = None) -> None:
        super().__init__("socket://127.0.0.1:9", name="Fake SN 7", backoff=backoff)
        self.fail = False
        self.links: list[FakeLink] = []

    def _connect(self) -> FakeLink:
        if self.fail:
            raise DeviceConnectionError(f"{self.describe()}: cannot open (refused). {self.advice}")
        self.links.append(FakeLink())
        return self.links[-1]

    def _disconnect(self, link: FakeLink) -> None:
        link.close()


def test_backoff_doubles_from_initial_and_caps_at_maximum() -> None:
    clock = FakeClock()
    b = Backoff(clock=clock)  # documented defaults: 0.2 s doubling to 10 s
    expected = [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0, 10.0]  # 0.2 * 2**n, capped: 12.8 > 10 is the first cut
    seen = []
    for _ in expected:
        b.failed()
        seen.append(b.wait_left())
        clock.now += 100  # let the attempt happen
    assert seen == pytest.approx(expected)
    b.succeeded()
    assert b.wait_left() == 0
    b.failed()
    assert b.wait_left() == pytest.approx(0.2)  # a success starts again from initial


def test_a_failed_open_refuses_further_attempts_until_the_backoff_ends() -> None:
    clock = FakeClock()
    t = FakeTransport(Backoff(initial=0.5, maximum=1.5, clock=clock))
    t.fail = True
    with pytest.raises(DeviceConnectionError, match=r"^Fake SN 7 at socket://127.0.0.1:9: cannot open \(refused\)"):
        t.open()
    with pytest.raises(DeviceConnectionError) as down:
        t.open()
    assert str(down.value) == (
        "Fake SN 7 at socket://127.0.0.1:9: link is down (last try failed); next attempt in 0.5 s. "
        "Check the fake cable."
    )
    clock.now += 0.5
    with pytest.raises(DeviceConnectionError, match="cannot open"):
        t.open()  # allowed again, fails again: the wait doubles
    with pytest.raises(DeviceConnectionError, match=r"next attempt in 1\.0 s"):
        t.open()
    clock.now += 1.0
    with pytest.raises(DeviceConnectionError, match="cannot open"):
        t.open()
    with pytest.raises(DeviceConnectionError, match=r"next attempt in 1\.5 s"):  # 2.0 capped at 1.5
        t.open()
    clock.now += 1.5
    t.fail = False
    t.open()
    assert t.is_open
    t._link_lost()  # after a success the next failure waits initial again
    with pytest.raises(DeviceConnectionError, match=r"next attempt in 0\.5 s"):
        t.open()
    assert t.links[0].closed == 1


def test_the_link_opens_once_and_is_reused() -> None:
    t = FakeTransport()
    assert not t.is_open and t.links == []  # nothing opens before it is needed
    t.open()
    t.open()
    with t.exclusive():
        t.open()
    assert len(t.links) == 1 and t.is_open


def test_close_is_idempotent_and_the_next_use_reopens() -> None:
    t = FakeTransport()
    t.close()  # never opened: nothing to do
    t.open()
    first = t.links[0]
    t.close()
    t.close()
    assert first.closed == 1 and not t.is_open
    t.open()  # a plain close is no failure: no back-off
    assert len(t.links) == 2 and t.is_open
    with t:
        pass
    assert t.links[1].closed == 1 and not t.is_open  # the context manager closes


def test_exclusive_makes_other_threads_wait_until_it_ends() -> None:
    t = FakeTransport()
    entered, release, done = threading.Event(), threading.Event(), threading.Event()

    def holder() -> None:
        with t.exclusive():
            entered.set()
            release.wait(5)

    def other() -> None:
        t.open()  # takes the same lock
        done.set()

    a = threading.Thread(target=holder)
    a.start()
    assert entered.wait(5)
    b = threading.Thread(target=other)
    b.start()
    time.sleep(0.2)
    assert not done.is_set()  # waiting, not refused and not interleaved
    release.set()
    a.join(5)
    b.join(5)
    assert done.is_set()


@pytest.mark.parametrize(
    ("transport", "reason", "advice"),
    [
        (
            SerialTransport("socket://127.0.0.1:9", name="Bal SN 1", backoff=Backoff(initial=5.0)),
            "last reconnection failed",
            "Check the cable, power and address.",
        ),
        (
            ModbusTransport("modbus+tcp://127.0.0.1:9?unit=1", name="Env SN 2", backoff=Backoff(initial=5.0)),
            "last connection attempt failed",
            "Check the cable, power, IP address/port and that no other program holds the port.",
        ),
    ],
)
def test_both_transports_keep_their_words_on_the_shared_life_cycle(
    transport: SerialTransport | ModbusTransport, reason: str, advice: str
) -> None:
    assert isinstance(transport, TransportLifecycle)
    transport._backoff.failed()  # as after a failed attempt
    with pytest.raises(DeviceConnectionError) as down:
        transport.open()
    message = str(down.value)
    assert message.startswith(f"{transport.describe()}: link is down ({reason}); next attempt in ")
    assert message.endswith(f" s. {advice}")
    transport.close()
    transport.close()
    assert not transport.is_open
