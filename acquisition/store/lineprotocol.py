"""InfluxDB line protocol for readings (shared by the v1 and v2 APIs) and quoting for InfluxQL and Flux.

One reading is one point of measurement ``reading``::

    reading,instrument_id=bal-1,quantity=mass,run_id=R1,step=s3,unit=g value=100.0002,status="stable" 1700000000123456

Tags (sorted by key, empty ones omitted; commas, spaces and equals signs escaped with a backslash):
``instrument_id``, ``quantity``, ``run_id``, ``step``, ``unit``. Fields: ``value`` (float; absent when the value
is NaN, which line protocol cannot carry) and ``status`` (string). Timestamp: integer microseconds (``precision=u``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import orjson

from acquisition.store.base import StoredReading
from drivers.reading import ReadingStatus

MEASUREMENT = "reading"
TAG_KEYS = ("instrument_id", "quantity", "run_id", "step", "unit")
_TAG_ESCAPE = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STATUS_FIELD = {status: b',status="%s" ' % status.value.encode() for status in ReadingStatus}
_VALUE = b"value="
_SeriesKey = tuple[str, str, str | None, str | None, str]


class Chunk(NamedTuple):
    """Part of a batch as one write request: ``readings`` lines of line protocol in ``body`` (UTF-8)."""

    readings: int
    body: bytes


def escape_tag(text: str) -> str:
    """A tag value with line protocol's special characters (comma, equals sign, space) escaped."""
    return text.translate(_TAG_ESCAPE)


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


def encode(readings: Sequence[StoredReading]) -> bytes:
    """The line protocol of ``readings``: one UTF-8 line per reading, joined by newlines (none at the end);
    timestamps in microseconds.

    Ingest speed is the point, so the batch is built column by column instead of line by line: the series part
    of each line comes from a per-call cache, and orjson formats all values and all timestamps in one call each
    (floats as their shortest round-trip decimal, like ``repr``, which InfluxDB parses back to the same double;
    NaN comes out as ``null``, and such lines are rewritten without the value field). The pieces are then
    interleaved by slice assignment and joined once. About half the time of formatting line by line.
    """
    count = len(readings)
    if count == 0:
        return b""
    cache: dict[_SeriesKey, bytes] = {}
    get = cache.get

    def miss(key: _SeriesKey, reading: StoredReading) -> bytes:
        prefix = cache[key] = series_key(reading).encode() + b" " + _VALUE
        return prefix

    prefixes = [get(k := (r.instrument_id, r.quantity, r.run_id, r.step, r.unit)) or miss(k, r) for r in readings]
    values_text = orjson.dumps([r.value for r in readings])
    values = values_text[1:-1].split(b",")
    stamps = orjson.dumps([r.ts_us for r in readings])[1:-1].split(b",")
    statuses = [_STATUS_FIELD[r.status] for r in readings]
    if b"n" in values_text:  # "null": a NaN, which line protocol cannot carry; the line keeps only the status
        for i, text in enumerate(values):
            if text == b"null":
                prefixes[i] = prefixes[i][: -len(_VALUE)]
                values[i] = b""
                statuses[i] = statuses[i][1:]
    pieces = [b"\n"] * (5 * count - 1)  # every fifth piece is the newline after a line, none after the last
    pieces[0::5] = prefixes
    pieces[1::5] = values
    pieces[2::5] = statuses
    pieces[3::5] = stamps
    return b"".join(pieces)


def encode_chunks(readings: Sequence[StoredReading], size: int) -> list[Chunk]:
    """``readings`` encoded in chunks of at most ``size`` readings, in order (one write request each)."""
    return [Chunk(len(part), encode(part)) for part in (readings[i : i + size] for i in range(0, len(readings), size))]


def rechunk(body: bytes, readings: int, size: int) -> list[Chunk]:
    """A stored body of ``readings`` lines split into chunks of at most ``size`` lines, in order."""
    if readings <= size:
        return [Chunk(readings, body)]
    lines = body.split(b"\n")
    return [Chunk(len(lines[i : i + size]), b"\n".join(lines[i : i + size])) for i in range(0, len(lines), size)]


def influxql_string(text: str) -> str:
    """An InfluxQL string literal (single quotes; backslash and quote escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def influxql_identifier(text: str) -> str:
    """An InfluxQL double-quoted identifier (database, measurement or key name)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def flux_string(text: str) -> str:
    """A Flux string literal (double quotes; backslash, quote and ``${`` interpolation escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'
