"""Modbus RTU poll rate at 19200 baud against the line-rate limit.

A Siemens MASS 6000 flow meter simulator speaks RTU framed on TCP, paced at 19200 baud 8E1 (11 bits a character);
a :class:`~drivers.transport.modbus.ModbusTransport` polls it back to back. Two requests are measured: the manual's
mass-flow read (2 registers: request 8 bytes, reply 9) and the driver's full poll (18 registers: request 8, reply
41). The limit for one poll is

    (request bytes + reply bytes) x bits per character / baud  +  2 x 3.5 character times

(the RTU end-of-frame silence after the request and after the reply, Modbus over Serial Line V1.02 section 2.5.1).
Target: ratio figure/limit >= 0.9.

Two clients are measured:

* ``shipped``: the transport's default pymodbus ``ModbusSerialClient`` on ``socket://``. pymodbus 3.16 waits for
  a reply by polling ``in_waiting`` every 4 character times until it stops growing, but pyserial's ``socket://``
  handler reports 0 or 1 there (readable or not), not a byte count, so the reply is taken one byte per poll cycle:
  a 41-byte reply costs ~80 polls. Expect a ratio of ~0.3-0.5.
* ``rtu-timing``: the same pymodbus client with an honest byte count (``FIONREAD`` on the socket) and the poll
  interval set to the RTU inter-character time t1.5. This is the fix proposed for ``open_pymodbus`` (shared
  transport, not changed here); its ratio is the figure this benchmark reports against the target.

    python benchmarks/modbus_rate.py            # 10 s per measurement
    python benchmarks/modbus_rate.py --quick    # 1 s per measurement (smoke test, < 15 s)
"""

from __future__ import annotations

import argparse
import fcntl
import struct
import sys
import termios
import time
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient

from drivers.address import Address, parse_address
from drivers.transport.modbus import ClientFactory, ModbusClient, ModbusTransport, TracePacket, open_pymodbus
from simulators.flowrig import FlowMeterSimulator
from simulators.runner import SimulatorThread

BAUD = 19200
LINE = f"baud={BAUD}&bytesize=8&parity=E&stopbits=1"


class RtuSocketClient(ModbusSerialClient):
    """pymodbus' serial client with a true received-byte count on ``socket://`` and t1.5 reply polling."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recv_interval = max(1.5 * self._t0, 0.0005)  # RTU inter-character time t1.5

    def _in_waiting(self) -> int:
        sock = getattr(self.socket, "_socket", None)  # pyserial's socket:// handler keeps the TCP socket here
        if sock is None:
            return cast(int, super()._in_waiting())
        raw = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        return cast(int, struct.unpack("i", raw)[0])


def rtu_timing_client(address: Address, trace: TracePacket) -> ModbusClient:
    """A :data:`ClientFactory` building :class:`RtuSocketClient` (RTU addresses only)."""
    s = address.serial
    client = RtuSocketClient(
        address.target,
        framer=FramerType.RTU,
        baudrate=s.baud,
        bytesize=s.bytesize,
        parity=s.parity,
        stopbits=int(s.stopbits),
        timeout=address.timeout,
        retries=0,
        trace_packet=trace,
    )
    return cast(ModbusClient, client)


def measure(url: str, factory: ClientFactory, count: int, seconds: float) -> float:
    """Polls per second reading ``count`` holding registers from PDU 3000 for ``seconds``."""
    transport = ModbusTransport(url + "&timeout=1", name="benchmark meter", client_factory=factory)
    try:
        transport.read_holding_registers(3000, count)  # connect, warm up
        polls = 0
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            transport.read_holding_registers(3000, count)
            polls += 1
        return polls / elapsed
    finally:
        transport.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Modbus RTU poll rate at 19200 baud against the line-rate limit")
    parser.add_argument("--quick", action="store_true", help="short run (smoke test)")
    args = parser.parse_args(argv)
    seconds = 1.0 if args.quick else 10.0
    settings = parse_address(f"socket://127.0.0.1:1?{LINE}").serial
    bits = settings.bits_per_character()
    char = bits / BAUD
    clients: list[tuple[str, ClientFactory]] = [("shipped", open_pymodbus), ("rtu-timing", rtu_timing_client)]
    results: dict[str, list[float]] = {name: [] for name, _ in clients}
    with SimulatorThread() as lab:
        sim = lab.start(FlowMeterSimulator("bench-flow", "S0", settings=settings, framing="rtu", unit=1, seed=1))
        print(f"Modbus RTU at {BAUD} baud 8E1 ({bits} bits/char), RTU framed on TCP, paced by the simulator")
        for count in (2, 18):
            request, reply = 8, 5 + 2 * count
            limit = 1.0 / ((request + reply) * char + 2 * 3.5 * char)
            for name, factory in clients:
                figure = measure(sim.url, factory, count, seconds)
                ratio = figure / limit
                results[name].append(ratio)
                print(
                    f"{name:10s} read {count:2d} registers ({request}+{reply} bytes): figure {figure:6.1f} polls/s, "
                    f"limit {limit:6.1f} polls/s, ratio {ratio:.3f}"
                )
    print(f"shipped client worst ratio {min(results['shipped']):.3f} (pyserial socket:// in_waiting is 0/1)")
    print(f"rtu-timing client worst ratio {min(results['rtu-timing']):.3f} (target >= 0.9)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
