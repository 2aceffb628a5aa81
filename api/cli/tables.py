"""Print rows as a rich table, CSV or JSON (the ``--format`` option of the report commands)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from registry.vocabulary import spreadsheet_safe


class Format(StrEnum):
    """Output formats."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _json(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    """A CSV cell: text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) gets a
    leading single quote (OWASP CSV injection rule); numbers, dates and yes/no are written as they are."""
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return _text(value)


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], fmt: Format, title: str = "") -> None:
    """Print ``rows`` (dicts) with ``columns`` = [(key, heading)]; CSV and JSON use the keys as names.

    CSV is safe to open in a spreadsheet: text cells that start like a formula are prefixed with ``'`` (see
    :func:`_cell`)."""
    if fmt is Format.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([spreadsheet_safe(key) for key, _ in columns])
        for row in rows:
            writer.writerow([_cell(row.get(key)) for key, _ in columns])
    elif fmt is Format.JSON:
        print(json.dumps([{k: _json(row.get(k)) for k, _ in columns} for row in rows], ensure_ascii=False, indent=1))
    else:
        table = Table(title=title or None, show_lines=False)
        for _, heading in columns:
            table.add_column(heading)
        for row in rows:
            table.add_row(*(_text(row.get(key)) for key, _ in columns))
        Console(width=200 if not sys.stdout.isatty() else None).print(table)
