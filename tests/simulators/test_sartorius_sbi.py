"""The Sartorius SBI simulator over real loopback sockets: wire layout, faithfulness check 8 (blank unit =
unstable), zero/tare/adjustment, identification, auto print, and check 10 (pacing and faults).

Raw-socket tests compare the simulator's bytes with the layout in the Cubis MSE manual (pp. 69-70) directly, so
they do not depend on the driver's parser; the other tests drive it with the real driver.
"""

from __future__ import annotations

import math
import socket
import time
from typing import Any

import pytest

from drivers.address import SerialSettings, parse_address
from drivers.errors import DeviceConnectionError, DeviceTimeoutError, ProtocolError
from drivers.reading import ReadingStatus
from drivers.sartorius_sbi import SartoriusBalance
from simulators.base import SimOptions
from simulators.runner import SimulatorThread
from simulators.sartorius_sbi import SartoriusSimulator


def start(lab: SimulatorThread, settings: SerialSettings | None = None, **kw: Any) -> SartoriusSimulator:
    params: dict[str, Any] = {"settle_time": 0.3, "adjust_seconds": 0.3}
    params.update(kw)
    sim = SartoriusSimulator(SimOptions("bal1", "0037712345", settings=settings, seed=7), **params)
    lab.start(sim)
    return sim


def driver(sim: SartoriusSimulator, timeout: float = 1.0, crlf: bool = False) -> SartoriusBalance:
    return SartoriusBalance.connect(parse_address(f"{sim.url}?timeout={timeout}"), "bal1", crlf=crlf)


def raw(sim: SartoriusSimulator, request: bytes, lines: int = 1, timeout: float = 1.0) -> list[bytes]:
    """Send raw bytes, collect ``lines`` CR LF-terminated lines."""
    host, port = sim.url.removeprefix("socket://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        buffer = b""
        deadline = time.monotonic() + timeout
        while buffer.count(b"\r\n") < lines:
            assert time.monotonic() < deadline, f"no reply to {request!r}, got {buffer!r}"
            chunk = sock.recv(256)
            if not chunk:
                break
            buffer += chunk
    return [part + b"\r\n" for part in buffer.split(b"\r\n")[:lines]]


def wait_stable(sim: SartoriusSimulator, limit: float = 2.0) -> None:
    deadline = time.monotonic() + limit
    while not sim.physics.is_stable():
        assert time.monotonic() < deadline, "the simulated balance never became stable"
        time.sleep(0.02)


# ------------------------------------------------------------------------------------------- wire layout
def test_esc_p_without_and_with_crlf_gives_a_16_character_line(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    sim.place(123.56)
    wait_stable(sim)
    for request in (b"\x1bP", b"\x1bP\r\n"):
        [line] = raw(sim, request)
        text = line.decode("ascii")
        assert len(line) == 16
        assert text[0] == "+"  # position 1: sign
        assert text[1:10].strip() == "123.5600"  # positions 2-10: value, leading zeros blank
        assert text[1:10] == text[1:10].rjust(9)
        assert text[10] == " "
        assert text[11:14] == "g  "  # positions 12-14: unit
        assert text[14:] == "\r\n"


def test_22_character_form_has_the_id_first(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread, output_format=22)
    sim.place(12.5)
    wait_stable(sim)
    sim.physics.tare()
    sim.remove()  # net -12.5 g
    wait_stable(sim)
    [line] = raw(sim, b"\x1bP")
    assert len(line) == 22
    assert line[:6] == b"N     "
    assert line[6:7] == b"-"
    assert line[7:16].strip() == b"12.5000"
    assert line[17:20] == b"g  "


def test_noise_and_unknown_commands_between_commands_are_ignored(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    lines = raw(sim, b"junk\r\n\x1bK\x1bQ\x1bs3_\x1bx9_\x1bP\r\n", lines=1)
    assert len(lines[0]) == 16
    noise = b"\x1b\x1b\x1bx12345678901234567890_\x1b1\x1bp\xff\x00\x1bx1\r\n" + bytes(range(256)).replace(b"\x1b", b"")
    lines = raw(sim, noise + b"\x1bP", lines=1)
    assert len(lines[0]) == 16


def test_overload_and_underload_status_lines(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread, output_format=22)
    sim.place(300.0)
    wait_stable(sim)
    assert raw(sim, b"\x1bP") == [b"Stat     High       \r\n"]
    sim.place(-50.0)
    wait_stable(sim)
    assert raw(sim, b"\x1bP") == [b"Stat     Low        \r\n"]
    sim.set_output_format(16)
    assert raw(sim, b"\x1bP") == [b"   Low        \r\n"]


def test_error_line(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread, output_format=22)
    sim.set_error(123)
    assert raw(sim, b"\x1bP") == [b"Stat     ERR 123    \r\n"]
    with driver(sim) as bal:
        [reading] = bal.poll()
    assert reading.status is ReadingStatus.ERROR
    sim.set_error(None)


# ------------------------------------------------------------------------------------------- check 8
def test_check8_blank_unit_while_settling_then_stable_with_unit(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread, settle_time=0.4)
    with driver(sim) as bal:
        sim.place(100.0)
        [first] = bal.poll()
        [raw_first] = raw(sim, b"\x1bP")
        assert raw_first[11:14] == b"   "  # the unit field itself is blank on the wire
        assert first.status is ReadingStatus.DYNAMIC
        assert first.unit == ""
        assert first.has_value
        deadline = time.monotonic() + 2.0
        reading = first
        while reading.status is not ReadingStatus.STABLE:
            assert time.monotonic() < deadline, "never stable"
            time.sleep(0.05)
            [reading] = bal.poll()
        assert reading.unit == "g"
        assert reading.value == pytest.approx(100.0, abs=0.0005)


def test_poll_reports_overload_and_underload(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    with driver(sim) as bal:
        sim.place(250.0)
        wait_stable(sim)
        assert bal.poll()[0].status is ReadingStatus.OVERLOAD
        sim.place(-20.0)
        wait_stable(sim)
        assert bal.poll()[0].status is ReadingStatus.UNDERLOAD


# ------------------------------------------------------------------------------------------- operations
def test_tare_is_ignored_while_unstable_and_works_when_stable(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    with driver(sim) as bal:
        sim.place(50.0)
        bal.tare()  # unstable: ignored
        wait_stable(sim)
        [before] = bal.poll()
        assert before.value == pytest.approx(50.0, abs=0.001)
        bal.tare()
        [after] = bal.poll()
        assert after.value == pytest.approx(0.0, abs=0.0005)
        assert after.status is ReadingStatus.STABLE


def test_esc_t_zeroes_near_zero_and_tares_a_load(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    with driver(sim) as bal:
        sim.place(1.0)  # within the +-2 % zero range: ESC T zeroes
        wait_stable(sim)
        bal.tare_or_zero()
        assert sim.physics.read().tare_g == 0.0
        assert bal.poll()[0].value == pytest.approx(0.0, abs=0.0005)
        sim.add(30.0)  # beyond the zero range: ESC T tares
        wait_stable(sim)
        bal.tare_or_zero()
        bal.poll()
        assert sim.physics.read().tare_g == pytest.approx(30.0, abs=0.001)
        sim.remove()
        wait_stable(sim)
        bal.zero()  # ESC V: -30 g net is gross 0: zero clears the tare
        bal.poll()
        assert sim.physics.read().tare_g == 0.0


def test_adjustment_shows_c_then_values_again(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread, output_format=22, adjust_seconds=3.0)  # long enough for a loaded machine to look twice
    wait_stable(sim)
    with driver(sim) as bal:
        bal.adjust()
        [busy] = bal.poll()
        assert busy.status is ReadingStatus.DYNAMIC
        assert math.isnan(busy.value)
        assert raw(sim, b"\x1bP") == [b"Stat        C       \r\n"]
        deadline = time.monotonic() + 10.0
        [done] = bal.poll()
        while not done.has_value:  # values again once the adjustment is over (bounded)
            assert time.monotonic() < deadline, "the balance never came back from adjustment"
            time.sleep(0.1)
            [done] = bal.poll()


def test_identify(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread, output_format=22)
    with driver(sim, crlf=True) as bal:
        info = bal.identify()
        assert (info.model, info.serial_number, info.firmware) == ("MSE224S-100-DU", "0037712345", "01-70-03")
        assert bal.identification(4) == "01-47-02"
        assert bal.transport.name == "Sartorius MSE224S-100-DU SN 0037712345"
    assert raw(sim, b"\x1bx1_") == [b"Model MSE224S-100-DU\r\n"]
    sim.set_output_format(16)
    assert raw(sim, b"\x1bx2_\r\n") == [b"0037712345\r\n"]


def test_auto_print_streams_and_esc_p_stops_it(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread, auto_print_s=0.02)
    with driver(sim) as bal:
        lines = [bal.transport.read_line(timeout=1.0) for _ in range(3)]
        assert all(len(line) == 16 for line in lines)
        bal.command("P")  # stop the stream
        time.sleep(0.1)
        bal.transport.discard_input()
        with pytest.raises(DeviceTimeoutError):
            bal.transport.read_line(timeout=0.15)
        bal.command("P")  # and start it again
        assert len(bal.transport.read_line(timeout=1.0)) == 16


def test_controls_by_name(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    sim.control("place", load_g=10.0)
    assert sim.physics.load_g == 10.0
    sim.control("add", load_g=5.0)
    assert sim.physics.load_g == 15.0
    sim.control("remove")
    assert sim.physics.load_g == 0.0
    sim.control("set_eccentricity", position="back-left", relative=2e-6)
    assert sim.physics.eccentricity == {"back-left": 2e-6}
    sim.control("place", load_g=10.0, position="back-left")
    assert sim.physics.position == "back-left"
    with pytest.raises(ValueError, match="unknown load position"):
        sim.control("place", load_g=10.0, position="rear")
    with pytest.raises(ValueError, match="unknown action"):
        sim.control("explode")
    with pytest.raises(ValueError, match="16 or 22"):
        sim.control("set_output_format", chars=20)
    with pytest.raises(ValueError, match="1..999"):
        sim.set_error(0)
    assert sim.manifest_entry()["model"] == "sartorius-sbi"
    assert sim.manifest_entry()["protocol"] == "sbi"


# ------------------------------------------------------------------------------------------- check 10
def test_7o1_is_ten_bits_per_character() -> None:
    assert SerialSettings(baud=9600, bytesize=7, parity="O", stopbits=1).bits_per_character() == 10


@pytest.mark.parametrize(("output_format", "reply_len"), [(16, 16), (22, 22)])
def test_check10_pacing_lower_bound_from_byte_counts(
    sim_thread: SimulatorThread, output_format: int, reply_len: int
) -> None:
    settings = SerialSettings(baud=2400, bytesize=7, parity="O", stopbits=1)  # 10 bits/char: 4.17 ms/char
    sim = start(sim_thread, settings=settings, output_format=output_format)
    char_time = 10 / 2400
    with driver(sim, timeout=2.0) as bal:
        bal.poll()  # connect first
        polls = 5
        started = time.monotonic()
        for _ in range(polls):
            bal.poll()
        elapsed = time.monotonic() - started
    bound = polls * (2 + reply_len) * char_time  # ESC P in, the line out, back to back at best
    assert elapsed >= bound * 0.99, f"{elapsed:.4f} s for {polls} polls is faster than the line allows ({bound:.4f} s)"
    assert elapsed < bound + 1.5


def test_check10_drop_is_a_timeout_naming_the_balance(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    with driver(sim, timeout=0.3) as bal:
        sim.control("fault", fault="drop")
        started = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match=r"Sartorius SBI balance bal1 at socket://"):
            bal.poll()
        assert time.monotonic() - started < 1.5
        assert bal.poll()[0].has_value  # the next request is answered


def test_check10_garble_is_a_protocol_error_naming_the_balance(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    with driver(sim) as bal:
        bal.identify()
        sim.faults.inject("garble")
        with pytest.raises(ProtocolError, match=r"Sartorius MSE224S-100-DU SN 0037712345 at socket://"):
            bal.poll()
        assert bal.poll()[0].has_value


def test_check10_delay_beyond_timeout_then_recovery(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    with driver(sim, timeout=0.2) as bal:
        sim.faults.inject("delay", seconds=0.5)
        with pytest.raises(DeviceTimeoutError, match="bal1"):
            bal.poll()
        sim.faults.inject("clear")
        time.sleep(0.5)  # the late reply arrives and is discarded by the next query
        assert bal.poll()[0].has_value


def test_check10_silent_times_out(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    sim.faults.inject("silent")
    with driver(sim, timeout=0.2) as bal:
        started = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match="bal1"):
            bal.identify()
        assert time.monotonic() - started < 1.0


def test_check10_disconnect_is_a_connection_error_then_reconnects(sim_thread: SimulatorThread) -> None:
    sim = start(sim_thread)
    with driver(sim, timeout=0.5) as bal:
        bal.poll()
        sim.faults.inject("disconnect")
        with pytest.raises((DeviceConnectionError, DeviceTimeoutError), match="bal1"):
            bal.poll()
        deadline = time.monotonic() + 3.0
        while True:
            try:
                assert bal.poll()[0].has_value
                break
            except (DeviceConnectionError, DeviceTimeoutError):
                assert time.monotonic() < deadline, "did not reconnect"
                time.sleep(0.1)


def test_the_virtual_lab_spec_builds_this_simulator(sim_thread: SimulatorThread) -> None:
    from simulators.lab import InstrumentSpec

    spec = InstrumentSpec(
        "bal-2",
        "sartorius-sbi",
        "0034512345",
        line="baud=9600&bytesize=7&parity=O",
        seed=2,
        params={"capacity": 6200.0, "resolution": 0.01, "settle_time": 0.2},
    )
    sim = spec.build()
    assert isinstance(sim, SartoriusSimulator)
    sim_thread.start(sim)
    sim.place(1234.5)
    wait_stable(sim)
    [line] = raw(sim, b"\x1bP")
    assert line == b"+  1234.50 g  \r\n"
