"""Print rows as a rich table, CSV or JSON (the ``--format`` option of the report commands)."""

from __future__ import annotations

import csv
import io
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


#: UTF-8 byte-order mark: Excel opens a CSV file as UTF-8 only when it starts with these bytes (without them it
#: assumes the Windows code page and Vietnamese letters come out garbled)
UTF8_BOM = b"\xef\xbb\xbf"


def write_csv_text(text: str) -> None:
    """Write CSV ``text`` to standard output as UTF-8 bytes preceded by the BOM, whatever the terminal's encoding
    (the text goes to the byte stream when there is one)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (some test runners): the BOM as a character
        sys.stdout.write("\ufeff" + text)
        return
    sys.stdout.flush()
    buffer.write(UTF8_BOM + text.encode("utf-8"))
    buffer.flush()


def emit(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    fmt: Format,
    title: str = "",
    *,
    empty: str = "",
) -> None:
    """Print ``rows`` (dicts) with ``columns`` = [(key, heading)]; CSV and JSON use the keys as names (whatever the
    language of the headings). With no rows and an ``empty`` message, the table format prints the title and that
    message instead of an empty table (CSV still writes its header line, JSON ``[]``).

    CSV is safe to open in a spreadsheet: text cells that start like a formula are prefixed with ``'`` (see
    :func:`_cell`), and it is written as UTF-8 with a byte-order mark (:func:`write_csv_text`), so that Excel
    reads Vietnamese text correctly."""
    if fmt is Format.CSV:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([spreadsheet_safe(key) for key, _ in columns])
        for row in rows:
            writer.writerow([_cell(row.get(key)) for key, _ in columns])
        write_csv_text(text.getvalue())
    elif fmt is Format.JSON:
        print(json.dumps([{k: _json(row.get(k)) for k, _ in columns} for row in rows], ensure_ascii=False, indent=1))
    elif not rows and empty:
        print(f"{title}\n{empty}" if title else empty)
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


#: (key, Vietnamese heading, English heading, right-aligned) of a budget table's columns; the numbers carry their
#: units (:func:`uncertainty.presentation.present_budget`), so there is no unit column
BUDGET_COLUMNS: tuple[tuple[str, str, str, bool], ...] = (
    ("input", "đại lượng vào", "input", False),
    ("source", "nguồn", "source", False),
    ("value", "giá trị", "value", True),
    ("u", "u", "u", True),
    ("distribution", "phân bố", "distribution", False),
    ("sensitivity", "hệ số nhạy", "sensitivity", True),
    ("contribution", "đóng góp", "contribution", True),
    ("dof", "bậc tự do", "dof", True),
    ("note", "ghi chú", "note", False),
)

#: the words around a budget table, (Vietnamese, English)
BUDGET_WORDS: dict[str, tuple[str, str]] = {
    "model": ("mô hình", "model"),
    "coverage": ("xác suất phủ", "coverage probability"),
}


def budget_table(console: Console, title: str, budget: Mapping[str, Any] | None, language: str = "vi") -> bool:
    """Print an uncertainty budget (``acquisition.methods.base.Budget`` or its JSON document) on ``console``.

    One row per input (input, source, value, u, distribution, sensitivity, contribution in the result's unit,
    dof — ∞ for infinitely many — and note), each number with its unit and rounded for reading by
    :func:`uncertainty.presentation.present_budget` (GUM 7.2.6: u(x_i) and contributions up to two significant
    digits, x_i to the last digit of its u; docs/presentation.md); the model as the caption, then u_c, ν_eff, k
    (two decimals, with the coverage probability) and U = k·u_c with the budget's unit. Headings and words in
    ``language`` (vi or en), and so are the rows' sources and notes (``source_vi`` / ``note_vi`` in Vietnamese,
    the English ones for a budget stored without them; decision 0361). Long sources and notes wrap. False (nothing
    printed) when there is no budget (None: the result states no uncertainty, e.g. a lot decision) or it has no
    rows; ValueError for a budget that cannot be shown (e.g. a zero U).
    """
    from uncertainty.presentation import present_budget

    if budget is None:
        return False
    rows = budget.get("rows") or []
    if not isinstance(rows, list) or not rows:
        return False
    lang: Any = "en" if language == "en" else "vi"
    index = 2 if lang == "en" else 1
    shown = present_budget(budget, language=lang)
    model = budget.get("model")
    table = Table(
        title=title,
        title_justify="left",
        caption=f"{BUDGET_WORDS['model'][index - 1]}: {model}" if model else None,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_lines=True,
        padding=(0, 0),
        collapse_padding=True,
    )
    for column in BUDGET_COLUMNS:
        key, heading, right = column[0], str(column[index]), bool(column[3])
        wraps = key in ("source", "note")
        table.add_column(
            heading,
            justify="right" if right else "left",
            overflow="fold" if wraps else "ellipsis",
            min_width=16 if wraps else None,
            ratio=1 if wraps else None,
            no_wrap=not wraps and key != "distribution",
        )
    for row in shown["rows"]:
        table.add_row(*(str(row.get(column[0], "")) for column in BUDGET_COLUMNS))
    console.print(table)
    lines = []
    if "u" in shown:
        lines.append(f"  u_c   = {shown['u']}")
    if "dof" in shown:
        lines.append(f"  ν_eff = {shown['dof']}")
    if "k" in shown:
        p = shown.get("coverage_probability")
        lines.append(f"  k     = {shown['k']}" + (f" ({BUDGET_WORDS['coverage'][index - 1]} {p})" if p else ""))
    if "U" in shown:
        lines.append(f"  U     = k·u_c = {shown['U']}")
    for line in lines:
        console.print(line, highlight=False)
    return True
