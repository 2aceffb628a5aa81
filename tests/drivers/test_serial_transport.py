"""SerialTransport over real loopback sockets: timeouts, garbage, disconnects, reconnection, one-at-a-time.

The peer is a SerialServer (the simulators' serial-device-server stand-in) running a tiny echo protocol:
``PING`` -> ``PONG``; ``SLOW`` -> ``DONE`` after 0.2 s; anything else -> ``?``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from drivers.address import SerialSettings, parse_address
from drivers.errors import DeviceConnectionError, DeviceTimeoutError, ProtocolError
from drivers.transport import Backoff, SerialTransport
from simulators.runner import SimulatorThread
from simulators.serial_server import LineConnection, SerialServer


async def echo(conn: LineConnection) -> None:
    while (line := await conn.read_line()) is not None:
        cmd = line.strip()
        if cmd == b"PING":
            await conn.send(b"PONG\r\n")
        elif cmd == b"SLOW":
            await asyncio.sleep(0.2)
            await conn.send(b"DONE\r\n")
        elif cmd == b"JUNK":
            conn.writer.write(b"x" * 5000)  # never a line end
            await conn.writer.drain()
        else:
            await conn.send(b"?\r\n")


def start(lab: SimulatorThread, settings: SerialSettings | None = None) -> SerialServer:
    server = SerialServer(echo, settings=settings)
    lab.call(server.start())
    return server


@pytest.fixture
def server(sim_thread: SimulatorThread):
    srv = start(sim_thread)
    yield srv
    sim_thread.call(srv.stop())


def transport(server: SerialServer, timeout: float = 0.5) -> SerialTransport:
    return SerialTransport(f"{server.url}?timeout={timeout}", name="Echo box SN 42")


def test_query_returns_the_reply_line(server: SerialServer) -> None:
    with transport(server) as t:
        assert t.query(b"PING\r\n") == b"PONG\r\n"
        assert t.query(b"what\r\n") == b"?\r\n"


def test_silence_times_out_naming_the_instrument(server: SerialServer, sim_thread: SimulatorThread) -> None:
    server.faults.inject("silent")
    with transport(server, timeout=0.3) as t:
        started = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match=r"Echo box SN 42 at socket://127\.0\.0\.1:\d+.*0\.3 s"):
            t.query(b"PING\r\n")
        assert time.monotonic() - started < 2.0


def test_endless_garbage_is_a_protocol_error_not_a_hang(server: SerialServer) -> None:
    with transport(server, timeout=2) as t, pytest.raises(ProtocolError, match="no line end"):
        t.query(b"JUNK\r\n")


def test_a_late_reply_is_not_taken_for_the_next_one(server: SerialServer) -> None:
    with transport(server, timeout=0.05) as t:
        with pytest.raises(DeviceTimeoutError):
            t.query(b"SLOW\r\n")  # DONE arrives after we gave up
        time.sleep(0.3)
        assert t.query(b"PING\r\n") == b"PONG\r\n"


def test_disconnect_is_reported_and_the_next_call_reconnects(server: SerialServer) -> None:
    with transport(server) as t:
        assert t.query(b"PING\r\n") == b"PONG\r\n"
        server.faults.inject("disconnect")
        with pytest.raises(DeviceConnectionError, match="Echo box SN 42.*connection lost"):
            t.query(b"PING\r\n")
        time.sleep(Backoff().initial + 0.05)
        assert t.query(b"PING\r\n") == b"PONG\r\n"


def test_unreachable_device_backs_off_between_attempts() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = SerialTransport(
        parse_address(f"socket://127.0.0.1:{port}?timeout=0.2"), name="Gone SN 1", backoff=Backoff(initial=5.0)
    )
    with pytest.raises(DeviceConnectionError, match="Gone SN 1.*cannot open"):
        t.query(b"PING\r\n")
    with pytest.raises(DeviceConnectionError, match=r"next attempt in \d"):
        t.query(b"PING\r\n")  # refused at once, without hammering the device


def test_concurrent_callers_get_their_own_replies(server: SerialServer) -> None:
    """One request, one reply: threads sharing a transport never interleave exchanges."""
    errors: list[str] = []
    with transport(server) as t:

        def worker(cmd: bytes, expected: bytes) -> None:
            for _ in range(30):
                got = t.query(cmd + b"\r\n")
                if got != expected:
                    errors.append(f"{cmd!r} -> {got!r}")

        threads = [threading.Thread(target=worker, args=(b"PING", b"PONG\r\n")) for _ in range(3)]
        threads += [threading.Thread(target=worker, args=(b"HUH", b"?\r\n")) for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
    assert errors == []


def test_server_paces_bytes_at_the_line_rate(sim_thread: SimulatorThread) -> None:
    """At 1200 baud 8N1 (10 bits/char) PING CR LF (6) + PONG CR LF (6) take >= 12 * 10 / 1200 = 0.1 s."""
    srv = start(sim_thread, SerialSettings(baud=1200))
    with SerialTransport(f"{srv.url}?timeout=2") as t:
        t.query(b"PING\r\n")  # connect first
        started = time.monotonic()
        for _ in range(3):
            assert t.query(b"PING\r\n") == b"PONG\r\n"
        elapsed = time.monotonic() - started
    assert elapsed >= 3 * 12 * 10 / 1200 * 0.98
    sim_thread.call(srv.stop())


def test_a_local_port_in_use_by_another_process_is_refused_in_plain_words() -> None:
    # a pseudo-terminal is a real local serial device for pyserial; the holder is another process, as when two
    # caltrace runs (or caltrace and a vendor program) reach for one instrument
    import os
    import subprocess
    import sys

    master, slave = os.openpty()
    path = os.ttyname(slave)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import serial, sys, time\n"
            f"held = serial.Serial({path!r}, exclusive=True)\n"
            "print('held', flush=True)\n"
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        transport = SerialTransport(parse_address(f"serial://{path}?timeout=1"), name="balance B1")
        with pytest.raises(DeviceConnectionError) as refused:
            transport.open()
        assert "in use by another program or caltrace process" in str(refused.value)
        assert "balance B1" in str(refused.value)
    finally:
        holder.kill()
        holder.wait()
    transport = SerialTransport(parse_address(f"serial://{path}?timeout=1"), name="balance B1")
    transport.open()  # free again once the holder is gone
    transport.close()
    os.close(master)
    os.close(slave)
