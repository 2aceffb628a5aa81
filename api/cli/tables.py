"""Print rows as a rich table, CSV or JSON (the ``--format`` option of the report commands)."""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from rich import box
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


def budget_console() -> Console:
    """A console for budget tables: the terminal's width, or 120 columns when the output is not a terminal."""
    return Console(width=None if sys.stdout.isatty() else 120)


def number(x: Any, digits: int = 6) -> str:
    """A number with ``digits`` significant digits ("0" for −0.0); "" for None or a non-finite float."""
    if x is None or isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return ""
    return f"{x + 0.0:.{digits}g}"


def _dof(x: Any) -> str:
    """Degrees of freedom: None is infinitely many (JSON has no infinity)."""
    return "∞" if x is None else number(x, 4)


#: (key, heading, right-aligned, significant digits or None for text) of a budget table's columns
BUDGET_COLUMNS: tuple[tuple[str, str, bool, int | None], ...] = (
    ("input", "input", False, None),
    ("source", "source", False, None),
    ("value", "value", True, 6),
    ("unit", "unit", False, None),
    ("u", "u", True, 4),
    ("distribution", "distribution", False, None),
    ("sensitivity", "sensitivity", True, 4),
    ("contribution", "contribution", True, 4),
    ("dof", "dof", True, None),
    ("note", "note", False, None),
)


def budget_table(console: Console, title: str, budget: Mapping[str, Any] | None) -> bool:
    """Print an uncertainty budget (``acquisition.methods.base.Budget`` or its JSON document) on ``console``.

    One row per input (input, source, value, unit, u, distribution, sensitivity, contribution in the result's
    unit, dof — ∞ for infinitely many — and note), the model as the caption, then u_c, ν_eff, k (with the
    coverage probability) and U = k·u_c with the budget's unit. Long sources and notes wrap. False (nothing
    printed) when there is no budget (None: the result states no uncertainty, e.g. a lot decision) or it has no rows.
    """
    if budget is None:
        return False
    rows = budget.get("rows") or []
    if not isinstance(rows, list) or not rows:
        return False
    model = budget.get("model")
    table = Table(
        title=title,
        title_justify="left",
        caption=f"model: {model}" if model else None,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_lines=True,
        padding=(0, 0),
        collapse_padding=True,
    )
    for key, heading, right, _ in BUDGET_COLUMNS:
        wraps = key in ("source", "note")
        table.add_column(
            heading,
            justify="right" if right else "left",
            overflow="fold" if wraps else "ellipsis",
            min_width=16 if wraps else None,
            ratio=1 if wraps else None,
            no_wrap=not wraps and key != "distribution",
        )
    for row in rows:
        cells = []
        for key, _, _, digits in BUDGET_COLUMNS:
            value = row.get(key) if isinstance(row, Mapping) else None
            if key == "dof":
                cells.append(_dof(value) if isinstance(row, Mapping) and key in row else "")
            elif digits is not None:
                cells.append(number(value, digits))
            else:
                cells.append(_text(value))
        table.add_row(*cells)
    console.print(table)
    unit = str(budget.get("unit") or "")
    lines = []
    if budget.get("u") is not None:
        lines.append(f"  u_c   = {number(budget['u'], 4)} {unit}".rstrip())
    if "dof" in budget:
        lines.append(f"  ν_eff = {_dof(budget['dof'])}")
    if budget.get("k") is not None:
        p = budget.get("coverage_probability")
        lines.append(f"  k     = {number(budget['k'], 4)}" + (f" (coverage probability {100 * p:g} %)" if p else ""))
    if budget.get("U") is not None:
        lines.append(f"  U     = k·u_c = {number(budget['U'], 4)} {unit}".rstrip())
    for line in lines:
        console.print(line, highlight=False)
    return True
