"""The MT-SICS simulator over real loopback sockets: faithfulness checks 1-4 and 10 of PROTOCOLS.md.

Raw exchanges go through a plain SerialTransport (bytes as the balance sends them); driver-level checks use
MtSicsBalance against the simulator. Expected formats come from the MT-SICS Reference Manual (2.1.2.1: value
right-aligned in 10 characters, unit after one space; 2.1.3: S I / S + / S - / ES; chapter 3: @ -> I4 A "<SNR>",
I2/I4 quoted, C3 -> C3 B ... C3 A), not from the simulator's own output.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from typing import Any

import pytest

from drivers.address import SerialSettings
from drivers.errors import DeviceConnectionError, DeviceError, DeviceTimeoutError, ProtocolError
from drivers.mtsics import MtSicsBalance
from drivers.reading import ReadingStatus
from drivers.registry import open_instrument
from drivers.transport import Backoff, SerialTransport
from simulators.base import SimOptions
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread

SERIAL = "B912345678"
WEIGHT_LINE = re.compile(rb"^S ([SD]) (.{10}) g\r\n$")


def start(lab: SimulatorThread, settings: SerialSettings | None = None, **kw) -> MtSicsSimulator:
    params: dict[str, Any] = {"settle_time": 0.3, "stability_timeout": 0.4, "adjust_seconds": 0.4}
    params.update(kw)
    sim = lab.start(MtSicsSimulator(SimOptions("bal-1", SERIAL, settings=settings, seed=7), **params))
    assert isinstance(sim, MtSicsSimulator)
    return sim


def raw(sim: MtSicsSimulator, timeout: float = 1.0) -> SerialTransport:
    return SerialTransport(f"{sim.url}?timeout={timeout}", name="MT-SICS simulator")


def driver(sim: MtSicsSimulator, timeout: float = 1.0) -> MtSicsBalance:
    transport = SerialTransport(f"{sim.url}?timeout={timeout}", name="XS204 SN B912345678", backoff=Backoff(0.0))
    return MtSicsBalance(transport, "bal-1")


def settle(sim: MtSicsSimulator) -> None:
    time.sleep(sim.physics.settle_time_s + 0.05)


# -- check 1: SI / S / overload / underload / ES ---------------------------------------------------------------
def test_si_dynamic_while_settling_then_stable(sim_thread):
    sim = start(sim_thread)
    with raw(sim) as t:
        settle(sim)
        sim.place(100.0)
        first = t.query(b"SI\r\n")
        m = WEIGHT_LINE.match(first)
        assert m, first
        assert m.group(1) == b"D"
        settle(sim)
        second = t.query(b"SI\r\n")
        m = WEIGHT_LINE.match(second)
        assert m, second
        assert m.group(1) == b"S"
        assert abs(float(m.group(2)) - 100.0) <= 0.0005


def test_s_waits_for_stability(sim_thread):
    sim = start(sim_thread)
    with raw(sim) as t:
        settle(sim)
        sim.place(50.0)
        started = time.monotonic()
        reply = t.query(b"S\r\n")
        waited = time.monotonic() - started
        assert reply.startswith(b"S S "), reply
        assert waited >= 0.2  # it waited for the settle time (0.3 s) rather than answering at once


def test_s_answers_s_i_after_its_timeout(sim_thread):
    sim = start(sim_thread)
    with raw(sim) as t:
        sim.set_drift(0.01)  # 100 d/s: never stable
        started = time.monotonic()
        assert t.query(b"S\r\n") == b"S I\r\n"
        assert time.monotonic() - started >= 0.35


def test_overload_is_exactly_s_plus_and_underload_s_minus(sim_thread):
    sim = start(sim_thread)
    with raw(sim) as t:
        sim.place(250.0)
        settle(sim)
        assert t.query(b"SI\r\n") == b"S +\r\n"
        assert t.query(b"S\r\n") == b"S +\r\n"
        sim.place(-20.0)
        settle(sim)
        assert t.query(b"SI\r\n") == b"S -\r\n"


@pytest.mark.parametrize("request_line", [b"\r\n", b"XYZ\r\n", b"si\r\n", b"S 5\r\n", b"I9\r\n"])
def test_unknown_command_and_empty_line_answer_es(sim_thread, request_line):
    sim = start(sim_thread)
    with raw(sim) as t:
        assert t.query(request_line) == b"ES\r\n"


# -- check 2: @, I2, I4 -------------------------------------------------------------------------------------------
def test_reset_answers_i4_with_quoted_serial(sim_thread):
    sim = start(sim_thread)
    with raw(sim) as t:
        assert t.query(b"@\r\n") == b'I4 A "B912345678"\r\n'
        assert t.query(b"I4\r\n") == b'I4 A "B912345678"\r\n'
        assert re.match(rb'^I2 A "XS204 220\.0000 g"\r\n$', t.query(b"I2\r\n"))


def test_driver_identifies_the_simulator(sim_thread):
    sim = start(sim_thread, balance_type="XS204 DeltaRange")
    with driver(sim) as bal:
        info = bal.identify()
        assert (info.model, info.serial_number, info.capacity) == ("XS204 DeltaRange", SERIAL, "220.0000 g")
        assert "XS204 DeltaRange SN B912345678" in bal.who
        assert bal.reset() == SERIAL
        assert (0, "SIR") in bal.commands()


# -- check 3: C3 ------------------------------------------------------------------------------------------------------
def test_c3_answers_b_then_a_seconds_later(sim_thread):
    sim = start(sim_thread, adjust_seconds=0.5)
    with raw(sim, timeout=2.0) as t:
        settle(sim)
        started = time.monotonic()
        assert t.query(b"C3\r\n") == b"C3 B\r\n"
        assert t.query(b"SI\r\n") == b"S I\r\n"  # busy while adjusting
        assert t.read_line(2.0) == b"C3 A\r\n"
        assert time.monotonic() - started >= 0.45


def test_driver_adjusts_and_c3_refused_when_unstable(sim_thread):
    sim = start(sim_thread, adjust_seconds=0.3)
    with driver(sim) as bal:
        sim.place(10.0)
        with pytest.raises(DeviceError) as info:
            bal.adjust_internal(timeout=2.0)
        assert info.value.code == "I"
        settle(sim)
        bal.adjust_internal(timeout=2.0)
        assert bal.weight_immediate().status is ReadingStatus.STABLE


# -- check 4: padding, sign, unit -------------------------------------------------------------------------------------
def test_values_are_right_aligned_in_ten_characters_with_sign(sim_thread):
    sim = start(sim_thread)
    with raw(sim) as t:
        sim.place(-1.5)  # within the underload margin (-4.4 g)
        settle(sim)
        reply = t.query(b"SI\r\n")
        assert re.match(rb"^S S    -1\.50\d\d g\r\n$", reply), reply  # 4 pad spaces + 7 characters = 10
        sim.place(123.4567)
        settle(sim)
        reply = t.query(b"SI\r\n")
        assert re.match(rb"^S S   123\.45\d\d g\r\n$", reply), reply


def test_driver_keeps_sign_and_unit(sim_thread):
    sim = start(sim_thread, unit="g")
    with driver(sim) as bal:
        sim.place(-2.0)
        settle(sim)
        r = bal.weight()
        assert r.status is ReadingStatus.STABLE
        assert r.value == pytest.approx(-2.0, abs=0.0005)
        assert r.unit == "g"
        su = bal.weight_display_unit_immediate()
        assert su.unit == "g"


def test_zero_and_tare_through_the_driver(sim_thread):
    sim = start(sim_thread)
    with driver(sim) as bal:
        sim.place(20.0)
        with pytest.raises(DeviceError):
            bal.zero()  # 20 g is outside the zero-setting range (2 % of 220 g)
        tare = bal.tare()
        assert tare.value == pytest.approx(20.0, abs=0.0005)
        sim.add(5.0)
        settle(sim)
        assert bal.weight().value == pytest.approx(5.0, abs=0.0005)
        assert bal.tare_value().value == tare.value
        bal.clear_tare()
        assert bal.tare_value().value == 0.0
        sim.remove()
        settle(sim)
        bal.zero()
        assert bal.zero_immediately() is True


def test_sir_stream_from_the_simulator(sim_thread):
    sim = start(sim_thread, stream_interval=0.02)
    with driver(sim) as bal:
        with contextlib.closing(bal.stream()) as readings:
            got = [r for _, r in zip(range(5), readings, strict=False)]
        assert len(got) == 5
        assert all(r.unit == "g" for r in got)
        assert bal.weight_immediate().unit == "g"  # the stream stopped; the link is clean


def test_registry_opens_the_driver(sim_thread):
    sim = start(sim_thread)
    inst = open_instrument(sim.url + "?timeout=1", "mt-sics", "bal-1")
    with inst:
        assert isinstance(inst, MtSicsBalance)
        [r] = inst.poll()
        assert r.instrument_id == "bal-1"


def test_controls_by_name_and_concurrent_use(sim_thread):
    sim = start(sim_thread, settle_time=0.0)
    sim.control("place", load_g=10.0)
    with pytest.raises(ValueError, match="unknown action"):
        sim.control("explode")
    with pytest.raises(ValueError):
        sim.control("place", grams=1)
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            sim.add(0.001)
            sim.add(-0.001)

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        with driver(sim) as bal:
            for _ in range(20):
                assert bal.weight_immediate().value == pytest.approx(10.0, abs=0.01)
    finally:
        stop.set()
        worker.join(5)


def test_eccentricity_controls_reach_the_wire(sim_thread):
    sim = start(sim_thread, settle_time=0.0, noise=0.0)
    sim.control("set_eccentricity", position="front-left", relative=1e-4)
    with driver(sim) as bal:
        sim.control("place", load_g=100.0)  # the centre by default
        assert bal.weight_immediate().value == pytest.approx(100.0, abs=1e-9)
        sim.control("place", load_g=100.0, position="front-left")  # 1e-4 * 100 g = 0.01 g more
        assert bal.weight_immediate().value == pytest.approx(100.01, abs=1e-9)
        sim.control("add", load_g=50.0)  # still front left: 1e-4 * 150 g = 0.015 g
        assert bal.weight_immediate().value == pytest.approx(150.015, abs=1e-9)
        sim.control("place", load_g=100.0, position="back-right")  # not configured
        assert bal.weight_immediate().value == pytest.approx(100.0, abs=1e-9)
    with pytest.raises(ValueError, match="unknown load position"):
        sim.control("place", load_g=1.0, position="left")
    with pytest.raises(ValueError, match="centre is the reference"):
        sim.control("set_eccentricity", position="centre", relative=1e-6)
    with pytest.raises(ValueError):
        sim.control("set_eccentricity", relative=1e-6)  # the position is required


def test_display_control_shows_what_the_wire_shows(sim_thread):
    """The ``display`` control (for demo operators that watch the balance): the net value rounded to d = 0.1 mg,
    the stability mark, and no value when overloaded (Max 220 g + 9 d)."""
    sim = start(sim_thread, settle_time=0.3, noise=0.0)
    sim.control("place", load_g=100.00004)
    shown = sim.control("display")
    assert shown["stable"] is False and shown["state"] == "ok"
    time.sleep(0.35)
    assert sim.control("display") == {"net_g": pytest.approx(100.0, abs=1e-12), "stable": True, "state": "ok"}
    with driver(sim) as bal:
        assert bal.weight_immediate().value == pytest.approx(100.0, abs=1e-9)
    sim.control("place", load_g=221.0)
    time.sleep(0.35)  # once the level has risen past 220.0009 g
    assert sim.control("display")["net_g"] is None and sim.control("display")["state"] == "overload"


# -- check 10: pacing and faults --------------------------------------------------------------------------------------
def test_si_exchange_is_paced_at_9600_8n1(sim_thread):
    sim = start(sim_thread, settings=SerialSettings(baud=9600, bytesize=8, parity="N", stopbits=1))
    with raw(sim) as t:
        t.query(b"SI\r\n")  # connect first
        request = b"SI\r\n"
        started = time.monotonic()
        reply = t.query(request)
        elapsed = time.monotonic() - started
    bits_per_char = 1 + 8 + 0 + 1  # start, 8 data, no parity, 1 stop
    minimum = (len(request) + len(reply)) * bits_per_char / 9600
    assert elapsed >= minimum * 0.98, (elapsed, minimum)


def test_dropped_reply_is_a_timeout_naming_the_balance(sim_thread):
    sim = start(sim_thread)
    with driver(sim, timeout=0.3) as bal:
        bal.poll()
        sim.control("fault", fault="drop")
        with pytest.raises(DeviceTimeoutError, match="XS204 SN B912345678"):
            bal.poll()
        assert bal.poll()[0].unit == "g"


def test_delayed_reply(sim_thread):
    sim = start(sim_thread)
    with driver(sim, timeout=0.5) as bal:
        sim.control("fault", fault="delay", seconds=0.2)
        started = time.monotonic()
        bal.poll()
        assert time.monotonic() - started >= 0.2
        sim.control("fault", fault="delay", seconds=0.8)
        with pytest.raises(DeviceTimeoutError):
            bal.poll()
        sim.control("fault", fault="clear")


def test_garbled_reply_is_a_protocol_error(sim_thread):
    sim = start(sim_thread)
    with driver(sim) as bal:
        sim.control("fault", fault="garble")
        with pytest.raises(ProtocolError, match="XS204 SN B912345678"):
            bal.poll()
        assert bal.poll()[0].unit == "g"


def test_disconnect_then_next_call_reconnects(sim_thread):
    sim = start(sim_thread)
    with driver(sim) as bal:
        bal.poll()
        sim.control("fault", fault="disconnect")
        with pytest.raises(DeviceConnectionError, match="XS204 SN B912345678"):
            bal.poll()
        assert bal.poll()[0].unit == "g"


def test_silent_balance_times_out_and_never_hangs(sim_thread):
    sim = start(sim_thread)
    with driver(sim, timeout=0.2) as bal:
        sim.control("fault", fault="silent")
        started = time.monotonic()
        for _ in range(3):
            with pytest.raises(DeviceTimeoutError, match="switched on"):
                bal.poll()
        assert time.monotonic() - started < 2.0
        sim.control("fault", fault="clear")
        assert bal.poll()[0].unit == "g"
