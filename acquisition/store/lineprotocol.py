"""InfluxDB line protocol for readings (shared by the v1 and v2 APIs) and quoting for InfluxQL and Flux.

One reading is one point of measurement ``reading``::

    reading,instrument_id=bal-1,quantity=mass,run_id=R1,step=s3,unit=g value=100.0002,status="stable" 1700000000123456

Tags (sorted by key, empty ones omitted; commas, spaces and equals signs escaped with a backslash):
``instrument_id``, ``quantity``, ``run_id``, ``step``, ``unit``. Fields: ``value`` (float; absent when the value
is NaN, which line protocol cannot carry) and ``status`` (string). Timestamp: integer microseconds (``precision=u``).
"""

from __future__ import annotations

from collections.abc import Iterable
from math import isnan

from acquisition.store.base import StoredReading
from drivers.reading import ReadingStatus

MEASUREMENT = "reading"
TAG_KEYS = ("instrument_id", "quantity", "run_id", "step", "unit")
_TAG_ESCAPE = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STATUS_FIELD = {status: f'status="{status.value}"'.encode() for status in ReadingStatus}


def escape_tag(text: str) -> str:
    """A tag value with line protocol's special characters (comma, equals sign, space) escaped."""
    return text.translate(_TAG_ESCAPE)


def escape_string_field(text: str) -> str:
    """A string field value, quoted, with backslashes and double quotes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def series_key(reading: StoredReading) -> str:
    """Measurement and tag set of ``reading`` (the part of a line before the fields)."""
    parts = [MEASUREMENT]
    for key, text in zip(
        TAG_KEYS,
        (reading.instrument_id, reading.quantity, reading.run_id, reading.step, reading.unit),
        strict=True,
    ):
        if text:
            parts.append(f"{key}={escape_tag(text)}")
    return ",".join(parts)


def encode(readings: Iterable[StoredReading]) -> list[bytes]:
    """One UTF-8 line of line protocol per reading (no trailing newline), timestamps in microseconds.

    Built as bytes directly (``%a`` of a float is its shortest round-trip ``repr``): ingest speed is the point.
    """
    prefixes: dict[tuple[str, str, str | None, str | None, str], tuple[bytes, bytes]] = {}
    lines: list[bytes] = []
    append = lines.append
    for r in readings:
        key = (r.instrument_id, r.quantity, r.run_id, r.step, r.unit)
        prefix = prefixes.get(key)
        if prefix is None:
            series = series_key(r).encode()
            prefix = prefixes[key] = (series + b" value=", series + b" ")
        value = r.value
        if not isnan(value):
            append(b"%s%a,%s %d" % (prefix[0], value, _STATUS_FIELD[r.status], r.ts_us))
        else:
            append(b"%s%s %d" % (prefix[1], _STATUS_FIELD[r.status], r.ts_us))
    return lines


def influxql_string(text: str) -> str:
    """An InfluxQL string literal (single quotes; backslash and quote escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def influxql_identifier(text: str) -> str:
    """An InfluxQL double-quoted identifier (database, measurement or key name)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def flux_string(text: str) -> str:
    """A Flux string literal (double quotes; backslash, quote and ``${`` interpolation escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'
