"""Batched ingest into the reading stores against a raw baseline measured in the same run.

1. SQLite: ``SQLiteReadingStore.append`` of pre-built :class:`StoredReading` batches against plain ``sqlite3``
   ``executemany`` of pre-built tuples into the same table, indexes and pragmas (WAL, synchronous=FULL, one
   transaction per batch). Targets: ratio >= 0.8 and >= 100 000 readings/s.
2. InfluxDB 1.x (a private ``influxd`` on loopback, started here): ``InfluxReadingStore.append`` (v1 API) against
   plain urllib3 POSTs of pre-built line protocol to ``/write?precision=u``. Target: ratio >= 0.8. Also printed: how
   long encoding the line protocol alone takes, the part of the store's work the baseline does untimed.

How it is measured: in each round the two sides write into their own fresh file or database, batch by batch in
turn (raw batch 1, store batch 1, store batch 2, raw batch 2, ...: who goes first alternates), each call timed on
its own. Both sides so see the same moments of the machine (other processes, the server's background snapshots and
compactions), which on these shared machines move a whole round by 10-20 %. A round's ratio is raw time over store
time; the verdict is the median of the rounds' ratios, and the range is printed with it.

    python benchmarks/store.py            # 200 000 readings in batches of 5 000, 7 rounds
    python benchmarks/store.py --quick    # 20 000 readings in batches of 2 000, 1 round (smoke test)
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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


def interleaved(raw_step: Callable[[int], None], store_step: Callable[[int], None], count: int) -> tuple[float, float]:
    """Seconds spent in ``raw_step(i)`` and in ``store_step(i)`` for batches ``i < count``, taken in turn."""
    raw = store = 0.0
    clock = time.perf_counter
    for i in range(count):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            started = clock()
            if side == 0:
                raw_step(i)
                raw += clock() - started
            else:
                store_step(i)
                store += clock() - started
    return raw, store


def report(
    name: str, n: int, rounds: list[tuple[float, float]], *, ratio_target: float, rate_target: float | None = None
) -> bool:
    """Print the median round's figures and the verdict; ``rounds`` holds (raw seconds, store seconds)."""
    ratios = sorted(raw / store for raw, store in rounds)
    ratio = statistics.median(ratios)
    rate = n / statistics.median(store for _, store in rounds)
    raw_rate = n / statistics.median(raw for raw, _ in rounds)
    ok = ratio >= ratio_target and (rate_target is None or rate >= rate_target)
    floor = f" and >= {rate_target:,.0f} readings/s" if rate_target else ""
    spread = f" (rounds {ratios[0]:.3f}-{ratios[-1]:.3f})" if len(ratios) > 1 else ""
    print(
        f"[{name}] store {rate:,.0f} readings/s; raw baseline {raw_rate:,.0f} readings/s; ratio {ratio:.3f}{spread} "
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
    results: list[tuple[float, float]] = []
    for r in range(rounds):
        conn = sqlite3.connect(workdir / f"raw-{r}.db", isolation_level=None)
        for pragma in PRAGMAS:
            conn.execute(pragma)
        for statement in SCHEMA:
            conn.execute(statement)

        def raw_step(i: int, conn: sqlite3.Connection = conn) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, raw_batches[i])
            conn.execute("COMMIT")

        with SQLiteReadingStore(workdir / f"store-{r}.db") as store:
            results.append(interleaved(raw_step, lambda i: store.append(store_batches[i]), len(store_batches)))
            if store.count() != len(readings):
                raise RuntimeError("the store lost rows")
        if conn.execute("SELECT count(*) FROM readings").fetchone()[0] != len(rows):
            raise RuntimeError("the raw baseline lost rows")
        conn.close()
    return report("sqlite", len(readings), results, ratio_target=0.8, rate_target=100_000)


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
    results: list[tuple[float, float]] = []

    with InfluxServer(workdir / "influxd") as server:
        for r in range(rounds):
            server.query(f'CREATE DATABASE "raw{r}"')
            url = f"{server.url}/write?db=raw{r}&precision=u"

            def raw_step(i: int, url: str = url) -> None:
                reply = http.request("POST", url, body=bodies[i])
                if reply.status != 204:
                    raise RuntimeError(f"raw write failed: HTTP {reply.status} {reply.data[:200]!r}")

            with InfluxReadingStore(server.url, f"store{r}", api="v1", spool_dir=workdir / "spool") as store:
                store.append(store_batches[0][:1])  # creates the database outside the timing, as for raw
                results.append(interleaved(raw_step, lambda i: store.append(store_batches[i]), len(bodies)))
                if store.pending():
                    raise RuntimeError("the store spooled readings during the benchmark: the server did not answer")
                counted = store.count()
                if counted != len(readings):
                    raise RuntimeError(f"the store holds {counted} readings, expected {len(readings)}")
    n = len(readings)
    ok = report("influx v1", n, results, ratio_target=0.8)
    encode_times = []
    for _ in range(rounds):  # detail only: the part of the store's work the raw baseline does before its timing
        started = time.perf_counter()
        for batch in store_batches:
            encode(batch)
        encode_times.append(time.perf_counter() - started)
    raw, encoding = statistics.median(t for t, _ in results), statistics.median(encode_times)
    print(
        f"[influx v1] detail: encoding the line protocol alone takes {encoding * 1e6 / n:.2f} µs per reading "
        f"({encoding:.3f} s of the store's {statistics.median(t for _, t in results):.3f} s; raw {raw:.3f} s); "
        f"raw / (raw + encoding) = {raw / (raw + encoding):.3f}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    parser.add_argument("--count", type=int, help="readings per run (default 200 000; quick 20 000)")
    parser.add_argument("--batch", type=int, help="readings per append (default 5 000; quick 2 000)")
    parser.add_argument("--rounds", type=int, help="rounds, the median counts (default 7; quick 1)")
    parser.add_argument("--skip-influx", action="store_true", help="SQLite only")
    args = parser.parse_args()
    count = args.count if args.count is not None else (20_000 if args.quick else 200_000)
    size = args.batch if args.batch is not None else (2_000 if args.quick else 5_000)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 7)
    if count < 1 or size < 1 or rounds < 1 or count > 5_000_000:
        parser.error("count must be 1..5 000 000, batch and rounds at least 1")
    print(f"store ingest: {count:,} readings in batches of {size:,}, median of {rounds} interleaved round(s)")
    readings = make_readings(count)
    with tempfile.TemporaryDirectory(prefix="caltrace-bench-store-") as tmp:
        workdir = Path(tmp)
        sqlite_bench(readings, size, rounds, workdir)
        if not args.skip_influx:
            influx_bench(readings, size, rounds, workdir)


if __name__ == "__main__":
    main()
