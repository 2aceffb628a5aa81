"""Acquisition speed against physical limits, measured in one run.

1. Line rate: readings per second from an MT-SICS simulator paced at 9600 baud 8N1 (``SI`` polled back to back)
   against the line-rate limit 9600 / (10 bits x (request + reply bytes)). Target ratio >= 0.9.
2. Many instruments: N simulated instruments (MT-SICS and SBI balances paced at 9600 baud, Modbus TCP
   thermo-hygro-barometers) polled concurrently at 10 Hz for D seconds; then the mixed default lab (balances,
   environment, flow meters, calibrator, DMMs) polled together at 2 Hz. Prints the achieved rate against the
   scheduled rate, lost samples (a poll slot with no reading: an error or an overrun; target 0) and CPU use of
   the poller and of the simulator process (measured separately: the lab runs in its own process).

    python benchmarks/acquisition_rate.py            # 32 instruments, 30 s
    python benchmarks/acquisition_rate.py --quick    # 4 instruments, 3 s (smoke test)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from drivers.address import parse_address
from drivers.registry import open_instrument
from drivers.transport.serial import SerialTransport
from simulators.lab import InstrumentSpec, VirtualLab

ROOT = Path(__file__).resolve().parent.parent


def line_rate(seconds: float) -> dict[str, float]:
    """Benchmark 1: SI readings/s at 9600 8N1 against the line-rate limit."""
    spec = InstrumentSpec("bal-bench", "mt-sics", "B000000001", line="baud=9600&bytesize=8&parity=N", seed=1)
    with VirtualLab([spec]) as lab:
        url = lab.manifest()["instruments"][0]["url"]
        # the bytes on the wire for one reading, from one raw exchange
        with SerialTransport(parse_address(url + "?timeout=2")) as raw:
            request = b"SI\r\n"
            reply = raw.query(request)
        bits = parse_address(url + "?baud=9600&bytesize=8&parity=N").serial.bits_per_character()
        limit = 9600 / (bits * (len(request) + len(reply)))
        inst = open_instrument(url + "?timeout=2", "mt-sics", "bal-bench")
        with inst:
            inst.poll()
            n = 0
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                inst.poll()
                n += 1
            elapsed = time.perf_counter() - started
    rate = n / elapsed
    print(
        f"[line rate] MT-SICS SI at 9600 8N1: {rate:.2f} readings/s; line-rate limit {limit:.2f} readings/s "
        f"({len(request)} + {len(reply)} bytes x {bits} bits); ratio {rate / limit:.3f} (target >= 0.9)"
    )
    return {"rate": rate, "limit": limit, "ratio": rate / limit}


def lab_config(count: int) -> dict[str, list[dict[str, object]]]:
    """A lab of ``count`` instruments: half MT-SICS, a quarter SBI, a quarter Modbus TCP environment."""
    items: list[dict[str, object]] = []
    for i in range(count):
        kind = ("mt-sics", "mt-sics", "sartorius-sbi", "environment")[i % 4]
        item: dict[str, object] = {"id": f"i{i:02d}", "kind": kind, "serial_number": f"{20240000 + i}", "seed": i}
        if kind == "mt-sics":
            item["line"] = "baud=9600&bytesize=8&parity=N"
        elif kind == "sartorius-sbi":
            item["line"] = "baud=9600&bytesize=7&parity=O"
        else:
            item["params"] = {"framing": "tcp", "unit": 1}
        items.append(item)
    return {"instruments": items}


def start_lab_process(
    config: Mapping[str, object] | None, workdir: Path
) -> tuple[subprocess.Popen[bytes], list[dict[str, str]]]:
    """Start `caltrace simulate` (``config``; None = the default lab) in its own process; wait for its manifest."""
    manifest = workdir / "manifest.json"
    args = ["--manifest", str(manifest)]
    if config is not None:
        (workdir / "lab.json").write_text(json.dumps(config))
        args += ["--config", str(workdir / "lab.json")]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "simulate", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not manifest.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"virtual lab did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.05)
    return proc, json.loads(manifest.read_text())["instruments"]


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def many_instruments(config: Mapping[str, object] | None, seconds: float, hz: float, title: str) -> dict[str, float]:
    """Poll every instrument of a lab (``config``; None = the default lab) concurrently at ``hz`` for ``seconds``."""
    period = 1.0 / hz
    with tempfile.TemporaryDirectory() as tmp:
        proc, entries = start_lab_process(config, Path(tmp))
        try:
            got = [0] * len(entries)
            lost = [0] * len(entries)
            errors: list[str] = []
            start_at = time.monotonic() + 1.0  # connect everyone first, then start together
            slots = int(seconds * hz)

            def poller(k: int, entry: dict[str, str]) -> None:
                inst = open_instrument(
                    entry["url"] + ("&" if "?" in entry["url"] else "?") + "timeout=0.5", entry["model"], entry["id"]
                )
                with inst:
                    inst.poll()  # open the link
                    for slot in range(slots):
                        due = start_at + slot * period
                        delay = due - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                        elif delay < -period:  # this slot's time has already passed: lost
                            lost[k] += 1
                            continue
                        try:
                            inst.poll()
                            got[k] += 1
                        except Exception as exc:
                            lost[k] += 1
                            errors.append(f"{entry['id']}: {exc}")

            threads = [threading.Thread(target=poller, args=(k, e)) for k, e in enumerate(entries)]
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            lab_cpu0 = cpu_seconds_of(proc.pid)
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            lab_cpu = cpu_seconds_of(proc.pid) - lab_cpu0
        finally:
            proc.terminate()
            proc.wait(10)
    wall = seconds
    client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    achieved = sum(got) / wall
    target = len(entries) * hz
    print(
        f"[{title}: {len(entries)} instruments at {hz:g} Hz for {seconds:g} s] achieved {achieved:.1f} readings/s of "
        f"{target:.0f} scheduled (ratio {achieved / target:.3f}); lost samples {sum(lost)} (target 0); "
        f"CPU: poller {100 * client_cpu / wall:.1f} %, simulators {100 * lab_cpu / wall:.1f} % of one core"
    )
    for line in errors[:5]:
        print(f"  lost: {line}")
    return {"achieved": achieved, "target": target, "lost": float(sum(lost))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small and short: a smoke test")
    parser.add_argument("--instruments", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    line_rate(2.0 if args.quick else 10.0)
    seconds = args.seconds or (3.0 if args.quick else 30.0)
    many_instruments(lab_config(args.instruments or (4 if args.quick else 32)), seconds, 10.0, "balances + environment")
    # the default lab: balances, environment, flow meters, calibrator and DMMs (a DMM reading integrates for
    # NPLC/50 Hz, 0.2 s at its default NPLC 10, so the mixed lab is polled at 2 Hz)
    many_instruments(None, seconds, 2.0, "mixed default lab")


if __name__ == "__main__":
    main()
