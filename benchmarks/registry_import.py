"""Instrument import speed: rows per second of ``caltrace registry import instruments`` on a fresh registry.

A generated spreadsheet of N rows, as a lab's list looks (a customer every 20 rows with a tax code, ranges with
units and decimal commas, resolutions in another SI prefix, dates dd/mm/yyyy, a few ranges kept as text), is
imported into an empty, migrated SQLite registry (or the PostgreSQL database given by ``--url``) in two ways:

1. ``import_instruments_concurrently``: what the command does. The rows are read and checked in a read
   transaction, then written in one short write transaction; printed: rows/s overall and how long the write lock
   was held.
2. ``import_instruments``: the whole import in one transaction, as a Python caller does it.

    python benchmarks/registry_import.py              # 100 000 rows
    python benchmarks/registry_import.py --rows 20000 # fewer rows
    python benchmarks/registry_import.py --quick      # 2 000 rows (smoke test)
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HEADER = (
    "customer",
    "customer_tax_code",
    "kind",
    "manufacturer",
    "model",
    "serial_number",
    "range",
    "resolution",
    "accuracy_class",
    "location",
    "interval_months",
    "last_calibrated",
)
KINDS = (
    ("Cân phân tích", "Mettler Toledo", "XPR205", "(0 ÷ 220) g", "0,01 mg", "I"),
    ("Đồng hồ nước", "Itron", "Multimag TM II", "(0,04 ÷ 4) m³/h", "0,05 L", "B"),
    ("Cột đo xăng dầu", "Tatsuno", "Sunny", "(5 ÷ 50) L/min", "", "0,5"),
    ("Đồng hồ vạn năng", "Fluke", "87V", "0 - 1000 V", "0.1 mV", "0,05 %"),
    ("Nhiệt kế điện tử", "Testo", "735-2", "-50 ... 150 °C", "0,01 °C", "0,05"),
    ("Áp kế lò xo", "Wika", "213.53", "0 ÷ 16 bar", "0,5 bar", "1,6"),
    ("Đồng hồ nước", "Zenner", "MTKD", "Q3 = 2,5 m³/h", "", "B"),
)
LAST_DAY = date(2026, 11, 1)


def write_instruments_csv(path: Path, rows: int, *, start: int = 0, last_day: date = LAST_DAY) -> Path:
    """Write ``rows`` distinct instruments (serials ``SN{start + i}``, calibrated on ``last_day`` or up to 700 days
    before) to ``path`` as UTF-8 CSV; returns ``path``."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i in range(start, start + rows):
            kind, maker, model, rng, res, cls = KINDS[i % len(KINDS)]
            customer = i // 20
            calibrated = last_day - timedelta(days=i % 700)
            out.writerow(
                (
                    f"Công ty TNHH Khách hàng {customer}",
                    f"{3600000000 + customer:010d}",
                    kind,
                    maker,
                    model,
                    f"SN{i:07d}",
                    rng,
                    res,
                    cls,
                    f"Phòng {i % 9}",
                    12 if i % 3 else "24 tháng",
                    calibrated.strftime("%d/%m/%Y"),
                )
            )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2 000 rows")
    parser.add_argument("--url", help="a PostgreSQL URL of an empty database (default: a fresh SQLite file)")
    parser.add_argument("--single", action="store_true", help="also time the one-transaction import")
    args = parser.parse_args()
    rows = 2_000 if args.quick else args.rows

    from registry.db import downgrade, make_engine, session_scope, upgrade
    from registry.importer import import_instruments, import_instruments_concurrently

    with tempfile.TemporaryDirectory() as tmp:
        sheet = write_instruments_csv(Path(tmp) / "instruments.csv", rows)
        today = date(2026, 12, 1)
        ways = ["concurrent", "single"] if args.single or args.quick else ["concurrent"]
        for way in ways:
            url = args.url or f"sqlite:///{Path(tmp) / f'{way}.db'}"
            engine = make_engine(url)
            if args.url:
                downgrade(engine, "base")
            upgrade(engine)
            started = time.perf_counter()
            if way == "concurrent":
                report = import_instruments_concurrently(engine, sheet, actor="bench", today=today)
                lock_s = report.write_seconds or float("nan")
            else:
                with session_scope(engine, "bench") as session:
                    report = import_instruments(session, sheet, today=today)
                lock_s = float("nan")
            elapsed = time.perf_counter() - started
            engine.dispose()
            assert report.imported == rows and not report.rejected, report.summary()
            print(
                f"[{engine.dialect.name} {way}] {rows} rows in {elapsed:.1f} s: {rows / elapsed:.0f} rows/s; "
                f"write transaction {lock_s:.1f} s"
            )


if __name__ == "__main__":
    main()
