"""Modbus RTU poll rate at 19200 baud against the line-rate limit.

A Siemens MASS 6000 flow meter simulator speaks RTU framed on TCP, paced at 19200 baud 8E1 (11 bits a character);
a :class:`~drivers.transport.modbus.ModbusTransport` polls it back to back. Two requests are measured: the manual's
mass-flow read (2 registers: request 8 bytes, reply 9) and the driver's full poll (18 registers: request 8, reply
41). The limit for one poll is

    (request bytes + reply bytes) x bits per character / baud  +  2 x 3.5 character times

(the RTU end-of-frame silence after the request and after the reply, Modbus over Serial Line V1.02 section 2.5.1).
Target: ratio figure/limit >= 0.9.

Two clients are measured in the same run:

* ``caltrace``: the transport's default client (``RtuSerialClient``: pymodbus's RTU client with the true
  received-byte count from ``FIONREAD`` and t1.5 polling). Its ratio is the figure held against the target.
* ``pymodbus``: plain pymodbus ``ModbusSerialClient`` on ``socket://``, the peer. pymodbus 3.16 polls
  ``in_waiting``, which pyserial's ``socket://`` handler reports as 0 or 1, so it takes a reply one byte per poll
  cycle (ratio ~0.3-0.5).

    python benchmarks/modbus_rate.py            # 10 s per measurement
    python benchmarks/modbus_rate.py --quick    # 1 s per measurement (smoke test, < 15 s)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient

from drivers.address import Address, parse_address
from drivers.transport.modbus import ClientFactory, ModbusClient, ModbusTransport, TracePacket, open_pymodbus
from simulators.base import SimOptions
from simulators.flowrig import FlowMeterSimulator
from simulators.runner import SimulatorThread

BAUD = 19200
LINE = f"baud={BAUD}&bytesize=8&parity=E&stopbits=1"


def plain_pymodbus(address: Address, trace: TracePacket) -> ModbusClient:
    """The peer: pymodbus's own RTU client, as a :data:`ClientFactory`."""
    s = address.serial
    client = ModbusSerialClient(
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
    clients: list[tuple[str, ClientFactory]] = [("caltrace", open_pymodbus), ("pymodbus", plain_pymodbus)]
    results: dict[str, list[float]] = {name: [] for name, _ in clients}
    with SimulatorThread() as lab:
        sim = lab.start(
            FlowMeterSimulator(SimOptions("bench-flow", "S0", settings=settings, seed=1), framing="rtu", unit=1)
        )
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
    worst, peer = min(results["caltrace"]), min(results["pymodbus"])
    print(
        f"caltrace worst ratio to the line-rate limit {worst:.3f} (target >= 0.9); plain pymodbus {peer:.3f}; "
        f"caltrace/pymodbus ratio {worst / peer:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
