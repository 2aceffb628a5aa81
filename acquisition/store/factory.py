"""Open the reading store the installation's settings ask for."""

from __future__ import annotations

from acquisition.store.base import ReadingStore
from acquisition.store.influx import InfluxReadingStore
from acquisition.store.sqlite import SQLiteReadingStore
from registry.settings import Settings


def open_store(settings: Settings) -> ReadingStore:
    """``CALTRACE_STORE=sqlite`` (default): the SQLite file ``readings.db`` in the data directory;
    ``CALTRACE_STORE=influx``: InfluxDB at ``CALTRACE_INFLUX_URL``, spooling under the data directory's ``spool``."""
    if settings.store == "sqlite":
        return SQLiteReadingStore(settings.readings_path)
    if settings.store == "influx":
        return InfluxReadingStore(
            settings.influx_url,
            settings.influx_database,
            api=settings.influx_api,
            org=settings.influx_org,
            token=settings.influx_token,
            username=settings.influx_username,
            password=settings.influx_password,
            spool_dir=settings.spool_dir,
        )
    raise ValueError(f"unknown reading store {settings.store!r}: set CALTRACE_STORE to 'sqlite' or 'influx'")
