"""The time-series store of raw readings: one interface, an embedded SQLite adapter and an InfluxDB adapter.

    from acquisition.store import StoredReading, open_store
    with open_store(settings) as store:
        store.append([StoredReading.from_reading(reading, run_id="R-2024-001", step="load-100g")])
        store.query(run_id="R-2024-001")

See docs/store.md for the schema, the spool and the durability guarantees.
"""

from acquisition.store.base import ReadingStore, StoredReading
from acquisition.store.errors import (
    StoreAccessError,
    StoreAuthError,
    StoreBusyError,
    StoreClosedError,
    StoreError,
    StoreRejectedError,
    StoreUnavailableError,
    StoreVersionError,
)
from acquisition.store.factory import open_store
from acquisition.store.influx import InfluxReadingStore
from acquisition.store.sqlite import SQLiteReadingStore

__all__ = [
    "InfluxReadingStore",
    "ReadingStore",
    "SQLiteReadingStore",
    "StoreAccessError",
    "StoreAuthError",
    "StoreBusyError",
    "StoreClosedError",
    "StoreError",
    "StoreRejectedError",
    "StoreUnavailableError",
    "StoreVersionError",
    "StoredReading",
    "open_store",
]
