"""Batched ingest into the reading stores against a raw baseline measured in the same run.

1. SQLite: ``SQLiteReadingStore.append`` of pre-built :class:`StoredReading` batches against plain ``sqlite3``
   ``executemany`` of pre-built tuples into the same table, indexes and pragmas (WAL, synchronous=FULL, one
   transaction per batch). Targets: ratio >= 0.8 and >= 100 000 readings/s.
2. InfluxDB 1.x (a private ``influxd`` on loopback, started here): ``InfluxReadingStore.append`` (v1 API) against
   plain urllib3 POSTs of pre-built line protocol to ``/write?precision=u``. Target: ratio >= 0.8. Also printed: how
   long encoding the line protocol alone takes, the part of the store's work the baseline does untimed.

Each side runs ``--rounds`` times into fresh files or databases, alternating, and the best round counts (the
machine's noise only ever slows a round down).

    python benchmarks/store.py            # 200 000 readings in batches of 5 000, 5 rounds
    python benchmarks/store.py --quick    # 20 000 readings in batches of 2 000, 1 round (smoke test)
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import urllib3

from acquisition.store import InfluxReadingStore, SQLiteReadingStore, StoredReading
from acquisition.store.lineprotocol import encode
from acquisition.store.sqlite import PRAGMAS, SCHEMA
from drivers.reading import ReadingStatus

ROOT = Path(__file__).resolve().parent.parent

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T = TypeVar("T")
QUANTITIES = (("mass", "g"), ("temperature", "°C"), ("flow", "m³/h"), ("voltage", "V"))


def make_readings(count: int, instruments: int = 20) -> list[StoredReading]:
    """``count`` readings of ``instruments`` instruments, one every millisecond each, in run ``BENCH``."""
    out = []
    for i in range(count):
        quantity, unit = QUANTITIES[i % len(QUANTITIES)]
        out.append(
            StoredReading(
                instrument_id=f"inst-{i % instruments:02d}",
                quantity=quantity,
                value=100.0 + (i % 997) * 1e-4,
                unit=unit,
                status=ReadingStatus.STABLE if i % 10 else ReadingStatus.DYNAMIC,
                timestamp=T0 + timedelta(microseconds=1000 * (i // instruments)),
                run_id="BENCH",
                step=f"step-{i // 50_000}",
            )
        )
    return out


def batches(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def report(name: str, rate: float, raw: float, *, ratio_target: float, rate_target: float | None = None) -> bool:
    ratio = rate / raw
    ok = ratio >= ratio_target and (rate_target is None or rate >= rate_target)
    floor = f" and >= {rate_target:,.0f} readings/s" if rate_target else ""
    print(
        f"[{name}] store {rate:,.0f} readings/s; raw baseline {raw:,.0f} readings/s; ratio {ratio:.3f} "
        f"(target >= {ratio_target}{floor}): {'PASS' if ok else 'MISS'}"
    )
    return ok


# -- SQLite ------------------------------------------------------------------------------------------------------


def sqlite_bench(readings: list[StoredReading], size: int, rounds: int, workdir: Path) -> bool:
    rows = [
        (r.ts_us, r.instrument_id, r.quantity, r.run_id or "", r.step or "", r.value, r.unit, r.status.value)
        for r in readings
    ]
    raw_batches = batches(rows, size)
    store_batches = batches(readings, size)
    insert = (
        "INSERT INTO readings (ts, instrument_id, quantity, run_id, step, value, unit, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    raw_times: list[float] = []
    store_times: list[float] = []

    def raw_round(r: int) -> None:
        conn = sqlite3.connect(workdir / f"raw-{r}.db", isolation_level=None)
        for pragma in PRAGMAS:
            conn.execute(pragma)
        for statement in SCHEMA:
            conn.execute(statement)
        started = time.perf_counter()
        for batch in raw_batches:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, batch)
            conn.execute("COMMIT")
        raw_times.append(time.perf_counter() - started)
        if conn.execute("SELECT count(*) FROM readings").fetchone()[0] != len(rows):
            raise RuntimeError("the raw baseline lost rows")
        conn.close()

    def store_round(r: int) -> None:
        with SQLiteReadingStore(workdir / f"store-{r}.db") as store:
            started = time.perf_counter()
            for batch in store_batches:
                store.append(batch)
            store_times.append(time.perf_counter() - started)
            if store.count() != len(readings):
                raise RuntimeError("the store lost rows")

    for r in range(rounds):
        for side in (raw_round, store_round) if r % 2 == 0 else (store_round, raw_round):  # alternate who goes first
            side(r)
    n = len(readings)
    return report("sqlite", n / min(store_times), n / min(raw_times), ratio_target=0.8, rate_target=100_000)


# -- InfluxDB ----------------------------------------------------------------------------------------------------


def plain_line(r: StoredReading) -> str:
    """Line protocol written by hand for the baseline (same points as the store writes)."""

    def esc(text: str) -> str:
        return text.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")

    return (
        f"reading,instrument_id={esc(r.instrument_id)},quantity={esc(r.quantity)},run_id={esc(r.run_id or '')},"
        f'step={esc(r.step or "")},unit={esc(r.unit)} value={r.value!r},status="{r.status.value}" {r.ts_us}'
    )


def influx_bench(readings: list[StoredReading], size: int, rounds: int, workdir: Path) -> bool | None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # run as a script: tests.support (the influxd launcher) is importable
    from tests.support.influx import InfluxServer, influxd_path

    if influxd_path() is None:
        print("[influx] skipped: influxd is not installed (Debian package 'influxdb')")
        return None
    bodies = ["\n".join(plain_line(r) for r in chunk).encode() for chunk in batches(readings, size)]
    store_batches = batches(readings, size)
    http = urllib3.PoolManager(retries=False)
    raw_times: list[float] = []
    store_times: list[float] = []

    def raw_round(server: InfluxServer, r: int) -> None:
        database = f"raw{r}"
        server.query(f'CREATE DATABASE "{database}"')
        url = f"{server.url}/write?db={database}&precision=u"
        started = time.perf_counter()
        for body in bodies:
            reply = http.request("POST", url, body=body)
            if reply.status != 204:
                raise RuntimeError(f"raw write failed: HTTP {reply.status} {reply.data[:200]!r}")
        raw_times.append(time.perf_counter() - started)

    def store_round(server: InfluxServer, r: int) -> None:
        with InfluxReadingStore(server.url, f"store{r}", api="v1", spool_dir=workdir / "spool") as store:
            store.append(store_batches[0][:1])  # creates the database outside the timing, as for raw
            started = time.perf_counter()
            for batch in store_batches:
                store.append(batch)
            store_times.append(time.perf_counter() - started)
            if store.pending():
                raise RuntimeError("the store spooled readings during the benchmark: the server did not answer")
            counted = store.count()
            if counted != len(readings):
                raise RuntimeError(f"the store holds {counted} readings, expected {len(readings)}")

    with InfluxServer(workdir / "influxd") as server:
        for r in range(rounds):
            sides = [raw_round, store_round] if r % 2 == 0 else [store_round, raw_round]  # alternate who goes first
            for side in sides:
                side(server, r)
    n = len(readings)
    ok = report("influx v1", n / min(store_times), n / min(raw_times), ratio_target=0.8)
    encode_times = []
    for _ in range(rounds):  # detail only: the part of the store's work the raw baseline does before its timing
        started = time.perf_counter()
        for batch in store_batches:
            encode(batch)
        encode_times.append(time.perf_counter() - started)
    raw, encoding = min(raw_times), min(encode_times)
    print(
        f"[influx v1] detail: encoding the line protocol alone takes {encoding * 1e6 / n:.2f} µs per reading "
        f"({encoding:.3f} s of the store's {min(store_times):.3f} s; raw {raw:.3f} s); raw / (raw + encoding) = "
        f"{raw / (raw + encoding):.3f}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    parser.add_argument("--count", type=int, help="readings per run (default 200 000; quick 20 000)")
    parser.add_argument("--batch", type=int, help="readings per append (default 5 000; quick 2 000)")
    parser.add_argument("--rounds", type=int, help="runs per side, best counts (default 5; quick 1)")
    parser.add_argument("--skip-influx", action="store_true", help="SQLite only")
    args = parser.parse_args()
    count = args.count if args.count is not None else (20_000 if args.quick else 200_000)
    size = args.batch if args.batch is not None else (2_000 if args.quick else 5_000)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    if count < 1 or size < 1 or rounds < 1 or count > 5_000_000:
        parser.error("count must be 1..5 000 000, batch and rounds at least 1")
    print(f"store ingest: {count:,} readings in batches of {size:,}, best of {rounds} round(s)")
    readings = make_readings(count)
    with tempfile.TemporaryDirectory(prefix="caltrace-bench-store-") as tmp:
        workdir = Path(tmp)
        sqlite_bench(readings, size, rounds, workdir)
        if not args.skip_influx:
            influx_bench(readings, size, rounds, workdir)


if __name__ == "__main__":
    main()
