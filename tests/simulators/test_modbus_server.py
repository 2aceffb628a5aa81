"""The generic Modbus slave simulator, checked on the wire with raw sockets (what a real device would send).

Exception 0x02 and silence for a foreign RTU unit id: Modbus Application Protocol V1.1b3 section 7 and Modbus over
Serial Line V1.02 section 2.4.1 (PROTOCOLS.md faithfulness check 7). CRCs from the test's own CRC-16.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from drivers.address import SerialSettings
from drivers.errors import DeviceConnectionError, DeviceTimeoutError, ProtocolError
from drivers.transport.backoff import Backoff
from drivers.transport.modbus import ModbusTransport
from simulators.modbus_server import ModbusDevice, ModbusServer
from simulators.runner import SimulatorThread
from tests.drivers.test_modbus_transport_fake import rtu


@pytest.fixture(scope="module")
def lab() -> Iterator[SimulatorThread]:
    with SimulatorThread() as thread:
        yield thread


def serve(lab: SimulatorThread, framing: str = "rtu", settings: SerialSettings | None = None, **device_kw):
    device = ModbusDevice(1, holding={0x30: 215, 0x31: 500, 0x32: 113, 0x33: 10127}, **device_kw)
    server = ModbusServer(device, framing=framing, settings=settings)  # type: ignore[arg-type]
    lab.call(server.start())
    return server


def exchange(port: int, request: bytes, expect: int, timeout: float = 1.0) -> tuple[bytes, float, float]:
    """Send ``request``; return (reply, seconds to first byte, seconds to last byte); b"" when silent."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        start = time.monotonic()
        sock.sendall(request)
        data, first = b"", 0.0
        sock.settimeout(timeout)
        try:
            while len(data) < expect:
                chunk = sock.recv(expect - len(data))
                if not chunk:
                    break
                if not data:
                    first = time.monotonic() - start
                data += chunk
        except TimeoutError:
            pass
        return data, first, time.monotonic() - start


def test_rtu_read_has_no_address_shift(lab):
    server = serve(lab)
    try:
        reply, _, _ = exchange(server.port, rtu("01 03 00 30 00 01"), 7)
        assert reply == rtu("01 03 02 00 D7")
        reply, _, _ = exchange(server.port, rtu("01 03 00 33 00 01"), 7)
        assert reply == rtu("01 03 02 27 8F")
    finally:
        lab.call(server.stop())


def test_rtu_unmapped_register_is_exception_02(lab):
    server = serve(lab)
    try:
        reply, _, _ = exchange(server.port, rtu("01 03 00 2F 00 02"), 5)  # 0x2F is not mapped
        assert reply == rtu("01 83 02")
        reply, _, _ = exchange(server.port, rtu("01 03 00 34 00 01"), 5)
        assert reply == rtu("01 83 02")
    finally:
        lab.call(server.stop())


def test_rtu_foreign_unit_broadcast_and_bad_crc_are_silent(lab):
    server = serve(lab)
    try:
        for request in (rtu("02 03 00 30 00 01"), rtu("00 03 00 30 00 01"), bytes.fromhex("01 03 00 30 00 01 00 00")):
            reply, _, _ = exchange(server.port, request, 7, timeout=0.3)
            assert reply == b""
        assert exchange(server.port, rtu("01 03 00 30 00 01"), 7)[0] == rtu("01 03 02 00 D7")
    finally:
        lab.call(server.stop())


def test_unsupported_function_and_bad_count(lab):
    server = serve(lab, functions=(3,))
    try:
        assert exchange(server.port, rtu("01 04 00 30 00 01"), 5)[0] == rtu("01 84 01")
        assert exchange(server.port, rtu("01 03 00 30 00 00"), 5)[0] == rtu("01 83 03")
        assert exchange(server.port, rtu("01 03 00 30 00 7E"), 5)[0] == rtu("01 83 03")  # 126 > 125
    finally:
        lab.call(server.stop())


def test_tcp_exception_and_foreign_unit(lab):
    server = serve(lab, framing="tcp")
    any_unit = serve(lab, framing="tcp", answer_any_unit=True)
    try:
        reply, _, _ = exchange(server.port, bytes.fromhex("00 07 00 00 00 06 01 03 00 40 00 01"), 9)
        assert reply == bytes.fromhex("00 07 00 00 00 03 01 83 02")
        reply, _, _ = exchange(server.port, bytes.fromhex("00 08 00 00 00 06 09 03 00 30 00 01"), 11, timeout=0.3)
        assert reply == b""
        reply, _, _ = exchange(any_unit.port, bytes.fromhex("00 08 00 00 00 06 09 03 00 30 00 01"), 11)
        assert reply == bytes.fromhex("00 08 00 00 00 05 09 03 02 00 D7")
    finally:
        lab.call(server.stop())
        lab.call(any_unit.stop())


def test_writes_only_to_writable_registers(lab):
    server = serve(lab, writable=(0x2000,))
    try:
        assert exchange(server.port, rtu("01 06 20 00 00 05"), 8)[0] == rtu("01 06 20 00 00 05")
        assert exchange(server.port, rtu("01 06 00 30 00 05"), 5)[0] == rtu("01 86 02")
        assert exchange(server.port, rtu("01 10 20 00 00 01 02 00 07"), 8)[0] == rtu("01 10 20 00 00 01")
        assert server.device.read("holding", 0x2000, 1) == [7]
    finally:
        lab.call(server.stop())


@pytest.mark.parametrize(("parity", "bits"), [("E", 11), ("N", 10)])
def test_rtu_pacing_lower_bound(lab, parity, bits):
    settings = SerialSettings(baud=19200, parity=parity)
    assert settings.bits_per_character() == bits
    server = serve(lab, settings=settings)
    try:
        request = rtu("01 03 00 30 00 04")  # 8 characters
        char = bits / 19200
        gaps = []
        for _ in range(3):  # the spread is observed by a client thread: a loaded machine can wake it late once
            reply, first, last = exchange(server.port, request, 13)  # 3 + 8 data + 2 CRC
            assert reply == rtu("01 03 08 00 D7 01 F4 00 71 27 8F")
            # the request arrives at line rate, then 3.5 characters of silence end the frame, then the reply's
            # first character takes one character time; the remaining 12 follow at line rate
            assert first >= (len(request) + 3.5 + 1) * char * 0.95
            assert last >= (len(request) + 3.5 + len(reply)) * char * 0.95
            gaps.append(last - first)
            # spread over the line; a late first-byte observation shrinks the gap, so only half the ideal is
            # required, in at least one of three exchanges (a reply sent in one burst fails all three)
            if gaps[-1] >= (len(reply) - 1) * char * 0.5:
                break
        else:
            raise AssertionError(f"reply not spread over the line in any exchange: gaps {gaps} s")
    finally:
        lab.call(server.stop())


def test_faults_map_to_errors_and_recover(lab):
    server = serve(lab, settings=SerialSettings(baud=38400, parity="E"))
    url = server.url + "&timeout=0.3"
    t = ModbusTransport(url, name="Sim slave SN 1", backoff=Backoff(initial=0.01))
    try:
        assert t.read_holding_registers(0x30, 2) == [215, 500]
        server.faults.inject("drop")
        with pytest.raises(DeviceTimeoutError, match="Sim slave SN 1"):
            t.read_holding_registers(0x30, 2)
        server.faults.inject("garble")
        with pytest.raises(ProtocolError, match="Sim slave SN 1"):
            t.read_holding_registers(0x30, 2)
        server.faults.inject("disconnect")  # one loss: the read is sent again on a new connection
        assert t.read_holding_registers(0x30, 2) == [215, 500]
        server.faults.inject("disconnect", count=2)
        with pytest.raises(DeviceConnectionError, match="Sim slave SN 1"):
            t.read_holding_registers(0x30, 2)
        time.sleep(0.05)
        server.faults.inject("delay", seconds=0.5)
        with pytest.raises(DeviceTimeoutError):
            t.read_holding_registers(0x30, 2)
        server.faults.inject("clear")
        server.faults.inject("silent")
        with pytest.raises(DeviceTimeoutError):
            t.read_holding_registers(0x30, 2)
        server.faults.inject("clear")
        time.sleep(0.6)  # the delayed reply of the old connection must not be taken for a new answer
        assert t.read_holding_registers(0x31, 1) == [500]
    finally:
        t.close()
        lab.call(server.stop())
