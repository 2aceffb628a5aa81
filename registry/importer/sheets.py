"""Reading a spreadsheet file: CSV (UTF-8 with or without BOM, UTF-16, Windows-1258; ``,`` ``;`` or tab) or Excel
.xlsx, bounded in size, and finding its header row."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from registry.errors import ImportFileError
from registry.importer.cells import Cell, _is_blank, clean_text
from registry.importer.headers import _IGNORED, INSTRUMENTS, Schema, _fold, column_for_header
from registry.importer.messages import msg, noun

HEADER_SEARCH_ROWS = 10  # the header may sit below a title line or two
MAX_FILE_BYTES = 200_000_000  # the largest spreadsheet an import reads (bytes): bounded memory for bounded input


@dataclass
class Sheet:
    """The cells of a spreadsheet as read: rows with their spreadsheet row numbers."""

    format: str
    source: str
    rows: list[tuple[int, list[Cell]]]


def _sniff_csv(text: str) -> tuple[str, int]:
    """The delimiter (the one whose header row names most known columns) and how many lines to skip."""
    first = text.split("\n", 1)[0].strip()
    match = re.fullmatch(r"sep=(.)", first)
    if match:  # Excel's "sep=;" hint line; Excel does not show it as a row
        return match.group(1), 1
    best, best_score = ",", (-1, -1)
    for delimiter in (",", ";", "\t"):
        records: list[list[str]] = []
        try:
            for record in _take(csv.reader(io.StringIO(text), delimiter=delimiter), HEADER_SEARCH_ROWS):
                records.append(record)
        except csv.Error:  # e.g. a cell beyond the csv module's field limit: judged on the records before it
            pass
        known = max((sum(1 for c in rec if column_for_header(c) not in (None, _IGNORED)) for rec in records), default=0)
        width = max((len(rec) for rec in records), default=0)
        if (known, width) > best_score:
            best, best_score = delimiter, (known, width)
    return best, 0


def _take(iterator: Iterator[list[str]], n: int) -> Iterator[list[str]]:
    for i, item in enumerate(iterator):
        if i >= n:
            return
        yield item


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (BOM or not), UTF-16 with BOM, else Windows-1258 (Vietnamese ANSI CSV)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ImportFileError(msg("file.utf16_broken", file=name, byte=str(exc.start))) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1258"), "cp1258"
    except UnicodeDecodeError as exc:
        raise ImportFileError(msg("file.encoding", file=name, byte=str(exc.start))) from exc


def _read_csv(path: Path, data: bytes) -> Sheet:
    name = path.name
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(msg("file.xlsx_as_csv", file=name))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(msg("file.xls_as_csv", file=name))
    text, encoding = _decode(data, name)
    if "\x00" in text:
        raise ImportFileError(msg("file.nul", file=name))
    # Windows-1258 writes most Vietnamese letters as a base letter plus a combining tone mark: compose them.
    text = unicodedata.normalize("NFC", text)
    delimiter, skip = _sniff_csv(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[tuple[int, list[Cell]]] = []
    try:
        for number, record in enumerate(reader, start=1 - skip):
            if number >= 1:
                rows.append((number, [_unquote_excel_text(cell) for cell in record]))
    except csv.Error as exc:
        code = "file.csv_long_cell" if "field larger than field limit" in str(exc) else "file.csv_error"
        raise ImportFileError(msg(code, file=name, line=str(reader.line_num), detail=str(exc))) from exc
    shown = {"\t": "tab"}.get(delimiter, repr(delimiter))
    return Sheet("csv", f"encoding {encoding}, delimiter {shown}", rows)


_EXCEL_TEXT = re.compile(r'\s*="(.*)"\s*')


def _unquote_excel_text(cell: str) -> str:
    """``="0101234567"`` (the CSV trick that keeps leading zeros in Excel) -> ``0101234567``."""
    if "=" not in cell:  # the common case, without a regular expression (every cell of a CSV comes here)
        return cell
    match = _EXCEL_TEXT.fullmatch(cell)
    return match.group(1) if match else cell


def _read_xlsx(path: Path, data: bytes) -> Sheet:
    name = path.name
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(msg("file.encrypted", file=name))
    if not data.startswith(b"PK"):
        raise ImportFileError(msg("file.not_xlsx", file=name))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError) as exc:
        raise ImportFileError(msg("file.damaged_xlsx", file=name, detail=str(exc))) from exc
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise ImportFileError(msg("file.no_sheet", file=name))
        chosen = next((ws for ws in sheets if _fold(ws.title) in ("instruments", "phuong tien do")), sheets[0])
        if hasattr(chosen, "reset_dimensions"):
            chosen.reset_dimensions()  # some writers record wrong sheet dimensions; read every cell there is
        rows: list[tuple[int, list[Cell]]] = []
        for number, values in enumerate(chosen.iter_rows(min_row=1, values_only=True), start=1):
            rows.append((number, list(values)))
        return Sheet("xlsx", f"sheet {chosen.title!r}", rows)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise ImportFileError(msg("file.damaged_xlsx", file=name, detail=str(exc))) from exc
    finally:
        workbook.close()


def read_sheet(path: Path, schema: Schema = INSTRUMENTS) -> tuple[Sheet, str]:
    """The file's cells and the SHA-256 (hex) of its bytes; :class:`ImportFileError` when it cannot be read."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        if suffix == ".xls":
            raise ImportFileError(msg("file.old_xls", file=path.name))
        if not suffix:
            raise ImportFileError(msg("file.no_extension", file=path.name))
        raise ImportFileError(msg("file.wrong_type", file=path.name, suffix=suffix))
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImportFileError(
                msg("file.too_big", file=path.name, size_mb=round(size / 1e6), limit_mb=round(MAX_FILE_BYTES / 1e6))
            )
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ImportFileError(msg("file.not_found", path=str(path))) from exc
    except IsADirectoryError as exc:
        raise ImportFileError(msg("file.directory", path=str(path))) from exc
    except OSError as exc:
        raise ImportFileError(msg("file.unreadable", path=str(path), detail=str(exc.strerror or exc))) from exc
    if not data.strip():
        raise ImportFileError(msg("file.empty", file=path.name, expected=schema.expected, record=noun(schema.records)))
    digest = hashlib.sha256(data).hexdigest()
    sheet = _read_csv(path, data) if suffix == ".csv" else _read_xlsx(path, data)
    return sheet, digest


def _find_header(sheet: Sheet, file_name: str, schema: Schema = INSTRUMENTS) -> int:
    """Index in ``sheet.rows`` of the header: the first row (of the first few) naming at least three columns."""
    for i, (_number, cells) in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        known = {column_for_header(clean_text(c), schema.keys) for c in cells if isinstance(c, str) and c.strip()}
        if len(known - {None, _IGNORED}) >= 3:
            return i
    for i, (_number, cells) in enumerate(sheet.rows):
        if any(not _is_blank(c) for c in cells):
            return i
    raise ImportFileError(msg("file.no_rows", file=file_name, expected=schema.expected, record=noun(schema.records)))
