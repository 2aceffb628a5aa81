"""Import customers' measuring instruments from a lab's spreadsheet (CSV or Excel .xlsx) into the registry.

Labs keep their instrument lists in spreadsheets. :func:`import_instruments` reads one (English or Vietnamese
headers; CSV in UTF-8, UTF-8 with BOM, UTF-16 or Windows-1258, delimited by ``,``, ``;`` or tab; or the sheet
"instruments" / the first sheet of an .xlsx), validates every row, and adds the good rows in one transaction. Bad
rows are reported with their spreadsheet row number (header = row 1), column and reason; nothing is ever
half-written. ``docs/registry-import.md`` describes the format for users.

Numbers accept a decimal point or a decimal comma (``2,5``); a lone separator followed by exactly three digits
(``1.000``, ``2,500``) is refused as ambiguous (thousands separator or decimal?). Units are normalised (``m3`` ->
``m³``, ``oC`` -> ``°C``, ``ml`` -> ``mL``) and a resolution is stored in the range's unit, converted by SI prefix or
an exact factor when the units differ (``0.1 mg`` with a range in ``g`` -> 0.0001).
"""

from __future__ import annotations

import calendar
import codecs
import csv
import hashlib
import io
import json
import logging
import re
import time as clock
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import Table, and_, insert, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from registry import audit
from registry.db import read_session, session_scope
from registry.errors import ImportFileError, RegistryError
from registry.models import (
    LOT_UNITS,
    AuditEntry,
    AuditHead,
    Base,
    Customer,
    MeasuringInstrument,
    MetrologyField,
    PrepackageLot,
    Run,
    instrument_identity,
)
from registry.vocabulary import identity_part, looks_like_formula, name_key

log = logging.getLogger(__name__)

# --- columns -------------------------------------------------------------------------------------------------------

REQUIRED_COLUMNS: tuple[str, ...] = (
    "customer",
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
OPTIONAL_COLUMNS: tuple[str, ...] = ("customer_tax_code", "field", "group2")
_IGNORED = "(ignored)"

#: Header names accepted for each column (besides the column's own name); compared case-, space- and
#: diacritic-insensitively, and a trailing parenthesised note such as "(tháng)" may be added.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "customer": (
        "customer name",
        "owner",
        "khách hàng",
        "tên khách hàng",
        "đơn vị sử dụng",
        "tên đơn vị",
        "chủ sở hữu",
        "doanh nghiệp",
        "tên doanh nghiệp",
    ),
    "kind": (
        "instrument",
        "instrument kind",
        "instrument type",
        "tên phương tiện đo",
        "phương tiện đo",
        "loại",
        "loại phương tiện đo",
        "tên thiết bị",
        "thiết bị",
    ),
    "manufacturer": ("maker", "make", "brand", "hãng sản xuất", "hãng sx", "hãng", "nhà sản xuất", "nsx"),
    "model": ("type", "kiểu", "kiểu loại", "kiểu/model", "ký hiệu", "ký mã hiệu", "mã hiệu"),
    "serial_number": (
        "serial",
        "serial no",
        "s/n",
        "sn",
        "số sản xuất",
        "số sx",
        "số hiệu",
        "số máy",
        "số serial",
        "số seri",
    ),
    "range": ("measuring range", "measurement range", "capacity", "phạm vi đo", "phạm vi", "khoảng đo"),
    "resolution": ("scale interval", "d", "division", "giá trị độ chia", "độ phân giải", "độ chia"),
    "accuracy_class": ("class", "accuracy", "cấp chính xác", "độ chính xác", "ccx", "cấp cx"),
    "location": (
        "place of use",
        "site",
        "vị trí",
        "nơi sử dụng",
        "địa điểm",
        "nơi lắp đặt",
        "vị trí lắp đặt",
        "địa điểm sử dụng",
    ),
    "interval_months": (
        "interval",
        "calibration interval",
        "verification interval",
        "chu kỳ",
        "chu kỳ hiệu chuẩn",
        "chu kỳ kiểm định",
        "chu kỳ hc",
        "chu kỳ kđ",
    ),
    "last_calibrated": (
        "last calibration",
        "last calibrated on",
        "calibration date",
        "last verified",
        "verification date",
        "ngày hiệu chuẩn",
        "ngày kiểm định",
        "ngày hiệu chuẩn gần nhất",
        "ngày kiểm định gần nhất",
        "ngày hc",
        "ngày kđ",
        "ngày hiệu chuẩn/kiểm định",
        "ngày kiểm định/hiệu chuẩn",
    ),
    "customer_tax_code": ("tax code", "tax id", "mst", "mã số thuế", "mã số doanh nghiệp", "mã số thuế khách hàng"),
    "field": ("metrology field", "lĩnh vực", "lĩnh vực đo", "lĩnh vực đo lường"),
    "group2": ("group 2", "group ii", "nhóm 2", "pđo nhóm 2", "phương tiện đo nhóm 2", "thuộc nhóm 2"),
    _IGNORED: ("stt", "tt", "no", "#", "số tt", "số thứ tự", "note", "notes", "remarks", "ghi chú"),
}

#: Vietnamese headers shown in messages and docs, one per column.
VIETNAMESE_HEADERS: dict[str, str] = {
    "customer": "khách hàng",
    "kind": "tên phương tiện đo",
    "manufacturer": "hãng sản xuất",
    "model": "kiểu",
    "serial_number": "số sản xuất",
    "range": "phạm vi đo",
    "resolution": "giá trị độ chia",
    "accuracy_class": "cấp chính xác",
    "location": "nơi sử dụng",
    "interval_months": "chu kỳ (tháng)",
    "last_calibrated": "ngày hiệu chuẩn",
    "customer_tax_code": "mã số thuế",
    "field": "lĩnh vực",
    "group2": "nhóm 2",
}

MAX_INTERVAL_MONTHS = 120
#: the earliest date accepted in a date column: older ones are typos or Excel's zero date (00/01/1900)
EARLIEST_DATE = date(1950, 1, 1)
FLUSH_EVERY = 500  # instruments per flush: bounds memory, keeps each audit append a moderate batch
INSERT_EVERY = 2000  # new instruments per multi-row INSERT (and audit append)
HEADER_SEARCH_ROWS = 10  # the header may sit below a title line or two
MAX_FILE_BYTES = 200_000_000  # the largest spreadsheet an import reads (bytes): bounded memory for bounded input


def _fold(text: str) -> str:
    """Case-, diacritic- and punctuation-insensitive key of a header or keyword."""
    text = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return re.sub(r"[\s_\-./:*()\[\]]+", " ", text).strip()


def _header_keys(aliases_by_column: dict[str, tuple[str, ...]] | None = None) -> dict[str, str]:
    keys: dict[str, str] = {}
    for column, aliases in (COLUMN_ALIASES if aliases_by_column is None else aliases_by_column).items():
        for name in (column, *aliases):
            key = _fold(name)
            if keys.setdefault(key, column) != column:
                raise AssertionError(f"header alias {name!r} means both {keys[key]} and {column}")
    return keys


_HEADER_KEYS = _header_keys()


def column_for_header(header: str, keys: dict[str, str] | None = None) -> str | None:
    """The column a header names (``"Số sản xuất"`` -> ``"serial_number"``), or None when it is unknown.

    ``keys``: the header keys of another kind of record (default: instruments)."""
    keys = _HEADER_KEYS if keys is None else keys
    text = unicodedata.normalize("NFC", header).strip()
    found = keys.get(_fold(text))
    if found is None:  # "Chu kỳ (tháng)", "Range (g)": a trailing note in brackets
        found = keys.get(_fold(re.sub(r"\s*[(\[][^()\[\]]*[)\]]\s*$", "", text)))
    return found


@dataclass(frozen=True)
class Schema:
    """The columns of one kind of record a spreadsheet can import: required and optional columns, header keys
    (from the aliases), one Vietnamese header per column for messages, and the records' name (plural)."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    keys: dict[str, str]
    vietnamese: dict[str, str]
    records: str

    @property
    def expected(self) -> str:
        """The header to write, for messages."""
        return ",".join(self.required)


INSTRUMENTS = Schema(REQUIRED_COLUMNS, OPTIONAL_COLUMNS, _HEADER_KEYS, VIETNAMESE_HEADERS, "instruments")


# --- the report ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowIssue:
    """A problem with one cell: spreadsheet ``row`` (header = row 1), ``column`` (canonical name), the file's
    ``header`` text for that column, and the ``reason``."""

    row: int
    column: str
    header: str
    reason: str


@dataclass(frozen=True)
class CreatedCustomer:
    """A customer the import created (``row``: the first row naming it)."""

    name: str
    tax_code: str | None
    row: int


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    file: str
    sha256: str
    format: str  # "csv" or "xlsx"
    source: str  # "encoding utf-8-sig, delimiter ';'" or "sheet 'instruments'"
    dry_run: bool = False
    update: bool = False
    records: str = "instruments"  # what the file lists: instruments or lots
    rows: int = 0  # non-blank rows below the header
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    customers_created: list[CreatedCustomer] = field(default_factory=list)
    rejected: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    write_seconds: float | None = field(default=None, compare=False)  # s the write transaction took, if timed

    @property
    def rejected_rows(self) -> list[int]:
        """Row numbers with at least one problem, ascending."""
        return sorted({issue.row for issue in self.rejected})

    @property
    def ok(self) -> bool:
        """True when every row was accepted."""
        return not self.rejected

    def summary(self) -> str:
        """One line for people: counts, and what the rejected rows mean for what was written."""
        n_bad = len(self.rejected_rows)
        counts = [f"{self.imported} {'to import' if self.dry_run else 'imported'}"]
        if self.update:
            counts.append(f"{self.updated} {'to update' if self.dry_run else 'updated'}")
            counts.append(f"{self.unchanged} unchanged")
        counts.append(f"{n_bad} rejected")
        if self.customers_created:
            n_new = len(self.customers_created)
            counts.append(f"{n_new} new customer{'s' if n_new > 1 else ''}")
        text = f"{self.file}: {self.rows} row{'s' if self.rows != 1 else ''}: {', '.join(counts)}."
        if self.dry_run:
            return text + " Dry run: nothing was written."
        if not n_bad:
            return text
        rows = f"the rejected row{'s' if n_bad > 1 else ''}"
        if self.imported or self.updated:
            return (
                text + f" The good rows are in the registry; fix {rows} and import just "
                f"{'those' if n_bad > 1 else 'that one'} (or the whole file again with --update)."
            )
        return text + f" No {self.records.removesuffix('s')} was written; fix {rows} and import again."

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able data."""
        doc = asdict(self)
        del doc["write_seconds"]
        doc["rejected_rows"] = self.rejected_rows
        doc["ok"] = self.ok
        return doc

    def to_json(self) -> str:
        """The report as a JSON document (UTF-8 text kept as is)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


# --- reading the file ----------------------------------------------------------------------------------------------

Cell = object  # str from CSV; str, int, float, bool, datetime, time, timedelta or None from Excel


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
            raise ImportFileError(
                f"{name}: broken UTF-16 text at byte {exc.start}: save it again as CSV UTF-8"
            ) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1258"), "cp1258"
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{name}: the text is neither UTF-8 nor Windows-1258 (byte {exc.start}); "
            "in Excel use File > Save As > 'CSV UTF-8 (Comma delimited)'"
        ) from exc


def _read_csv(path: Path, data: bytes) -> Sheet:
    name = path.name
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(f"{name} is an Excel workbook (.xlsx), not CSV text: rename it to .xlsx")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(f"{name} is an old Excel .xls workbook, not CSV text: save it as .xlsx or CSV UTF-8")
    text, encoding = _decode(data, name)
    if "\x00" in text:
        raise ImportFileError(f"{name} contains NUL bytes: it is not a text (CSV) file")
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
        hint = (
            ': a cell this long is most often a stray double quote (") that makes the rest of the file one cell; '
            "remove it, or quote the whole cell"
            if "field larger than field limit" in str(exc)
            else ""
        )
        raise ImportFileError(f"{name}: not readable as CSV (line {reader.line_num}): {exc}{hint}") from exc
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
        raise ImportFileError(
            f"{name} is password-protected (encrypted) or an old .xls workbook under an .xlsx name: "
            "remove the password (File > Info > Protect Workbook) or save it as .xlsx, then import again"
        )
    if not data.startswith(b"PK"):
        raise ImportFileError(f"{name} is not an Excel .xlsx workbook (a CSV? rename it to .csv)")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError) as exc:
        raise ImportFileError(
            f"{name} is a damaged .xlsx workbook ({exc}): open it in Excel and save it again"
        ) from exc
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise ImportFileError(f"{name} has no worksheet")
        chosen = next((ws for ws in sheets if _fold(ws.title) in ("instruments", "phuong tien do")), sheets[0])
        if hasattr(chosen, "reset_dimensions"):
            chosen.reset_dimensions()  # some writers record wrong sheet dimensions; read every cell there is
        rows: list[tuple[int, list[Cell]]] = []
        for number, values in enumerate(chosen.iter_rows(min_row=1, values_only=True), start=1):
            rows.append((number, list(values)))
        return Sheet("xlsx", f"sheet {chosen.title!r}", rows)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise ImportFileError(
            f"{name} is a damaged .xlsx workbook ({exc}): open it in Excel and save it again"
        ) from exc
    finally:
        workbook.close()


def read_sheet(path: Path, schema: Schema = INSTRUMENTS) -> tuple[Sheet, str]:
    """The file's cells and the SHA-256 (hex) of its bytes; :class:`ImportFileError` when it cannot be read."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        hint = " (old Excel format: save it as .xlsx)" if suffix == ".xls" else ""
        raise ImportFileError(f"{path.name}: expected a .csv or .xlsx file, not {suffix or 'no extension'}{hint}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImportFileError(
                f"{path.name} is {size / 1e6:.0f} MB; an import takes at most {MAX_FILE_BYTES / 1e6:.0f} MB "
                f"(about a million rows): split the file"
            )
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ImportFileError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise ImportFileError(f"{path} is a directory, not a spreadsheet") from exc
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise ImportFileError(
            f"{path.name} is empty: expected a header row ({schema.expected}) and {schema.records.removesuffix('s')} "
            "rows"
        )
    digest = hashlib.sha256(data).hexdigest()
    sheet = _read_csv(path, data) if suffix == ".csv" else _read_xlsx(path, data)
    return sheet, digest


# --- cell parsing --------------------------------------------------------------------------------------------------


class CellError(ValueError):
    """A cell that cannot be used; the message says why and what to write instead."""


def _is_blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_text(value: Cell) -> str:
    """A text cell: NFC, whitespace collapsed; numbers as written (``12.0`` -> ``12``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date | time | timedelta):
        raise CellError(
            f"the spreadsheet turned this into a date/time ({value}): format the column as Text and type it again"
        )
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


_NUMBER = r"[-+]?(?:\d+(?:[.,]\d+)*|[.,]\d+)"
_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-", "‐": "-", "‑": "-", "\u00a0": " ", "\u202f": " "})


def parse_number(token: str) -> Decimal:
    """A number with a decimal point or a decimal comma; thousands separators only when unambiguous."""
    text = token.strip().translate(_DASHES).replace(" ", "")
    sign = ""
    if text[:1] in "+-":
        sign, text = ("-" if text[0] == "-" else ""), text[1:]
    if not re.fullmatch(r"\d+(?:[.,]\d+)*|[.,]\d+", text):
        raise CellError(f"{token!r} is not a number")
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        group_sep = "." if decimal_sep == "," else ","
        whole, _, fraction = text.rpartition(decimal_sep)
        if text.count(decimal_sep) > 1 or not re.fullmatch(rf"\d{{1,3}}(?:\{group_sep}\d{{3}})+", whole):
            raise CellError(f"{token!r} mixes '.' and ',' in a way that is not a number")
        return Decimal(sign + whole.replace(group_sep, "") + "." + fraction)
    if commas + dots == 0:
        return Decimal(sign + text)
    separator = "," if commas else "."
    if commas + dots > 1:  # 1.000.000 or 1,000,000: thousands separators
        if not re.fullmatch(rf"\d{{1,3}}(?:\{separator}\d{{3}})+", text):
            raise CellError(f"{token!r} is not a number")
        return Decimal(sign + text.replace(separator, ""))
    whole, fraction = text.split(separator)
    if len(fraction) == 3 and re.fullmatch(r"[1-9]\d{0,2}", whole):
        as_decimal = f"{whole}.{fraction}".rstrip("0").rstrip(".")
        raise CellError(
            f"{token!r} is ambiguous (thousands separator or decimal {separator!r}?): "
            f"write {whole}{fraction} or {as_decimal}"
        )
    return Decimal(sign + (whole or "0") + "." + fraction)


def _cell_number(value: Cell) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"{value} is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return parse_number(clean_text(value))


# --- units ---------------------------------------------------------------------------------------------------------

_PREFIX = {
    "n": Decimal("1e-9"),
    "µ": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "c": Decimal("1e-2"),
    "d": Decimal("1e-1"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
}
_PREFIXED_BASES = {
    "g": "mass",
    "m": "length",
    "L": "volume",
    "V": "voltage",
    "A": "current",
    "Ω": "resistance",
    "W": "power",
    "Wh": "energy",
    "VA": "apparent power",
    "Hz": "frequency",
    "Pa": "pressure",
    "N": "force",
    "s": "time",
}


def _unit_table() -> dict[str, tuple[str, Decimal]]:
    table: dict[str, tuple[str, Decimal]] = {}
    for base, dimension in _PREFIXED_BASES.items():
        for prefix, factor in _PREFIX.items():
            table.setdefault(prefix + base, (dimension, factor))
    for prefix in ("m", "c", "d", ""):  # cubic metres in litres
        table[prefix + "m³"] = ("volume", _PREFIX[prefix] ** 3 * 1000)
    table.update(
        {
            "t": ("mass", Decimal("1e6")),  # tonne, in grams
            "min": ("time", Decimal(60)),
            "h": ("time", Decimal(3600)),
            "bar": ("pressure", Decimal("1e5")),
            "mbar": ("pressure", Decimal(100)),
            "atm": ("pressure", Decimal(101325)),
            "mmHg": ("pressure", Decimal("133.322387415")),
            "mmH₂O": ("pressure", Decimal("9.80665")),
            "kgf/cm²": ("pressure", Decimal("98066.5")),
            "psi": ("pressure", Decimal("4.4482216152605") / Decimal("0.00064516")),
            # temperature differences (a resolution is one): 1 K = 1 °C, 1 °F = 5/9 K
            "°C": ("temperature", Decimal(1)),
            "K": ("temperature", Decimal(1)),
            "°F": ("temperature", Decimal(5) / Decimal(9)),
        }
    )
    return table


_UNITS = _unit_table()
_UNIT_ALIASES = {
    "l": "L",
    "lít": "L",
    "lit": "L",
    "litre": "L",
    "liter": "L",
    "giờ": "h",
    "hr": "h",
    "phút": "min",
    "giây": "s",
    "sec": "s",
    "tấn": "t",
    "ohm": "Ω",
    "ôm": "Ω",
    "độ c": "°C",
    "oc": "°C",
    "ºc": "°C",
    "℃": "°C",
    "of": "°F",
    "ºf": "°F",
    "℉": "°F",
    "mmh2o": "mmH₂O",
    "kgf/cm2": "kgf/cm²",
}


def _canonical_part(part: str) -> str:
    part = part.strip()
    alias = _UNIT_ALIASES.get(part.casefold())
    if alias:
        return alias
    if len(part) > 1 and part[0] in _PREFIX:
        alias = _UNIT_ALIASES.get(part[1:].casefold())
        if alias and alias in _PREFIXED_BASES:
            return part[0] + alias
    if len(part) > 1 and part[0] == "u" and part[1:] in _PREFIXED_BASES:
        return "µ" + part[1:]
    part = re.sub(r"(?<=m)([23])(?!\d)", lambda m: "²" if m.group(1) == "2" else "³", part)
    if part in _UNITS:
        return part
    if len(part) > 1 and part[0] == "K" and "k" + part[1:] in _UNITS:  # "Kg", "KV": kilo written in capitals
        return "k" + part[1:]
    matches = [unit for unit in _UNITS if unit.casefold() == part.casefold()]
    return matches[0] if len(matches) == 1 else part


def canonical_unit(text: str) -> str:
    """The unit in caltrace's spelling (``m3/giờ`` -> ``m³/h``, ``oC`` -> ``°C``, ``ml`` -> ``mL``); unknown units
    are returned cleaned but otherwise as written."""
    text = unicodedata.normalize("NFC", text).replace("μ", "µ").strip()
    text = re.sub(r"\s+", " ", text)
    whole = _UNIT_ALIASES.get(text.casefold())
    if whole:
        return whole
    if text.casefold() in ("kgf/cm2", "kgf/cm²"):
        return "kgf/cm²"
    if "/" in text:
        num, _, den = text.partition("/")
        return f"{_canonical_part(num)}/{_canonical_part(den)}"
    return _canonical_part(text)


def _unit_info(unit: str) -> tuple[str, Decimal] | None:
    if unit in _UNITS:
        return _UNITS[unit]
    if unit.count("/") == 1:
        num, den = (_UNITS.get(p) for p in unit.split("/"))
        if num and den and den[0] == "time":
            return f"{num[0]}/time", num[1] / den[1]
    return None


def convert(value: Decimal, source: str, target: str, *, difference: bool) -> Decimal | None:
    """``value`` in ``source`` units expressed in ``target`` units, or None when they are not convertible.

    ``difference`` says the value is an interval (a resolution): then °C, K and °F convert by scale only. A
    temperature reading (a range end) in another temperature unit is not converted (offset scales).
    """
    if source == target:
        return value
    a, b = _unit_info(source), _unit_info(target)
    if a is None or b is None or a[0] != b[0]:
        return None
    if a[0] == "temperature" and not difference:
        return None
    return value * a[1] / b[1]


# --- range and resolution --------------------------------------------------------------------------------------------

_SEPARATOR = r"(?:-|÷|\.{2,}|…|~|\bto\b|đến|tới)"
_UNIT_START = r"(?:[^\W\d_]|[°µ%‰℃℉])"  # a letter, °, µ, % or ℃
_UNIT_TOKEN = rf"{_UNIT_START}[^\s,;=()\[\]]*"
_LOW_UNIT = rf"{_UNIT_START}[^\s,;=()\[\].…~÷\-]*"  # a unit before a range separator cannot contain one
_RANGE_RE = re.compile(
    rf"^(?:từ|from)?\s*[(\[]?\s*(?P<lo>{_NUMBER})\s*(?P<lo_unit>{_LOW_UNIT})?\s*{_SEPARATOR}\s*"
    rf"(?P<hi>{_NUMBER})\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_MAX_RE = re.compile(
    rf"^(?:max(?:imum)?\.?|tối đa|đến|up to|≤|<=)?\s*[:=]?\s*(?P<hi>{_NUMBER})\s*(?P<rest>.*)$", re.IGNORECASE
)


@dataclass(frozen=True)
class ParsedRange:
    """A measuring range: ``low`` (None when only the maximum is given) .. ``high`` in ``unit`` ("" if none)."""

    low: Decimal | None
    high: Decimal
    unit: str


def _trailing_unit(rest: str) -> str | None:
    """The unit after the last number ("" when none), or None when the rest is not just a unit."""
    rest = rest.strip().strip("()[]").strip()
    if not rest:
        return ""
    if re.fullmatch(rf"{_UNIT_TOKEN}(?: {_UNIT_TOKEN})?", rest):
        return canonical_unit(rest)
    return None


def parse_range(text: str) -> ParsedRange | None:
    """``0-220 g``, ``0 – 220 g``, ``(0 ÷ 220) g``, ``0 ... 220 g``, ``-50 đến 150 °C``, ``220 g``, ``max 220 g``,
    ``2,5 m³/h``; None when the text is not one range (kept as text only). :class:`CellError` for a range that
    is a range but wrong (minimum above maximum, ends in unconvertible units, ambiguous number)."""
    text = unicodedata.normalize("NFC", text).translate(_DASHES).strip()
    match = _RANGE_RE.match(text)
    if match:
        unit = _trailing_unit(match.group("rest"))
        if unit is None:
            return None
        low, high = parse_number(match.group("lo")), parse_number(match.group("hi"))
        lo_unit = canonical_unit(match.group("lo_unit")) if match.group("lo_unit") else ""
        if lo_unit and not unit:
            unit = lo_unit
        elif lo_unit and lo_unit != unit:
            converted = convert(low, lo_unit, unit, difference=False)
            if converted is None:
                raise CellError(f"the range's ends are in {lo_unit} and {unit}: write both in one unit")
            low = converted
        if low > high:
            raise CellError(f"the range's minimum {low} is above its maximum {high}")
        return ParsedRange(low, high, unit)
    match = _MAX_RE.match(text)
    if match:
        unit = _trailing_unit(match.group("rest"))
        if unit is None:
            return None
        return ParsedRange(None, parse_number(match.group("hi")), unit)
    return None


def parse_quantity(value: Cell) -> tuple[Decimal, str]:
    """A resolution such as ``0.1 mg``, ``0,0001 g``, ``d = 0.01 °C`` or a bare number (unit "")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _cell_number(value), ""
    text = clean_text(value).translate(_DASHES)
    text = re.sub(r"^(?:d|e|resolution|độ phân giải)\s*[=:]\s*", "", text, flags=re.IGNORECASE)
    match = re.fullmatch(rf"(?P<num>{_NUMBER})\s*(?P<rest>.*)", text)
    if not match:
        raise CellError(f"{text!r} is not a number with an optional unit (e.g. 0.1 mg or 0,01 °C)")
    unit = _trailing_unit(match.group("rest"))
    if unit is None:
        raise CellError(f"{text!r} is not a number with an optional unit (e.g. 0.1 mg or 0,01 °C)")
    return parse_number(match.group("num")), unit


# --- other cells -----------------------------------------------------------------------------------------------------


def parse_date(value: Cell, today: date) -> date | None:
    """A calibration date: an Excel date cell, ISO ``2026-03-15``, Vietnamese ``15/03/2026`` (also ``15-03-2026``,
    ``15.03.2026``, ``ngày 15 tháng 3 năm 2026``); None when empty; never after ``today`` nor before
    :data:`EARLIEST_DATE` (1950: a typo in the year, or Excel's empty date 00/01/1900)."""
    if _is_blank(value):
        return None
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        raise CellError(f"{value} is a number, not a date: format the cell as a date or write dd/mm/yyyy")
    elif not isinstance(value, str):
        raise CellError(f"{value} is not a date: write dd/mm/yyyy")
    else:
        found = _date_from_text(clean_text(value))
    if found > today:
        raise CellError(f"{found.strftime('%d/%m/%Y')} is in the future (today is {today.strftime('%d/%m/%Y')})")
    if found < EARLIEST_DATE:
        raise CellError(
            f"{found.strftime('%d/%m/%Y')} is before {EARLIEST_DATE.year}: check the year (an empty Excel date cell "
            "shows as 1900)"
        )
    return found


def _date_from_text(text: str) -> date:
    forms = (
        (r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?", "ISO"),
        (r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})", "yyyy/mm/dd"),
        (r"(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?", "dd/mm/yyyy"),
        (r"ngày\s*(?P<d>\d{1,2})\s*tháng\s*(?P<m>\d{1,2})\s*năm\s*(?P<y>\d{4})", "ngày d tháng m năm y"),
    )
    for pattern, form in forms:
        match = re.fullmatch(pattern, text, flags=re.IGNORECASE)
        if match:
            try:
                return date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError as exc:
                raise CellError(f"{text!r} is not a calendar date ({form}: {exc})") from exc
    if re.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}", text):
        raise CellError(f"{text!r} has a two-digit year: write the year in full (dd/mm/yyyy)")
    raise CellError(f"{text!r} is not a date: write dd/mm/yyyy (e.g. 15/03/2026) or yyyy-mm-dd")


def parse_interval(value: Cell) -> int:
    """The calibration interval in whole months, 1..120 (``12``, ``12 tháng``, ``12 months``, ``1 năm``)."""
    if _is_blank(value):
        raise CellError("required: the calibration/verification interval in months (e.g. 12)")
    months = Decimal(1)
    if isinstance(value, str):
        text = clean_text(value)
        match = re.fullmatch(r"(?P<n>\S+?)\s*(?P<u>tháng|months?|mo|năm|years?|y)?", text, flags=re.IGNORECASE)
        if not match:
            raise CellError(f"{text!r} is not a number of months")
        if (match["u"] or "").casefold() in ("năm", "year", "years", "y"):
            months = Decimal(12)
        number = parse_number(match["n"]) * months
    else:
        number = _cell_number(value)
    if number != number.to_integral_value():
        raise CellError(f"{number} is not a whole number of months")
    if number < 1:
        raise CellError(f"{number} months: the interval must be at least 1 month")
    if number > MAX_INTERVAL_MONTHS:
        raise CellError(f"{number} months is longer than {MAX_INTERVAL_MONTHS} months (10 years): check the column")
    return int(number)


def add_months(start: date, months: int) -> date:
    """``start`` plus whole calendar months, the day clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


_TRUE = {"yes", "y", "true", "1", "x", "có", "co", "c"}
_FALSE = {"no", "n", "false", "0", "không", "khong", "k", ""}


def parse_bool(value: Cell) -> bool:
    """A yes/no cell: yes/no, true/false, 1/0, x (= yes), có/không; empty = no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = clean_text(value).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(f"{text!r} is not yes/no: write yes, no, x, có or không (empty = no)")


def parse_tax_code(value: Cell) -> str | None:
    """A Vietnamese tax code (mã số thuế): 10 digits, or 10 + ``-`` + 3 for a branch; None when empty."""
    if _is_blank(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        digits = clean_text(value)
        if re.fullmatch(r"\d{9}", digits):
            raise CellError(
                f"{digits} has 9 digits: the spreadsheet probably dropped the leading 0 of a 10-digit tax code; "
                "format the column as Text and write all 10 digits"
            )
        text = digits
    else:
        text = re.sub(r"\s+", "", clean_text(value))
    if not re.fullmatch(r"\d{10}(?:-\d{3})?", text):
        raise CellError(f"{text!r} is not a tax code: 10 digits, or 10 digits '-' 3 digits for a branch")
    return text


_FIELD_NAMES: dict[str, MetrologyField] = {
    **{_fold(f.value): f for f in MetrologyField},
    **{
        _fold(name): f
        for names, f in (
            (("khối lượng", "mass"), MetrologyField.MASS),
            (
                ("dung tích", "lưu lượng", "dung tích lưu lượng", "volume", "flow", "volume flow"),
                MetrologyField.VOLUME_FLOW,
            ),
            (("điện", "điện điện từ", "electrical", "electric"), MetrologyField.ELECTRICAL),
            (("nhiệt", "nhiệt độ", "nhiệt học", "temperature"), MetrologyField.TEMPERATURE),
            (("áp suất", "pressure"), MetrologyField.PRESSURE),
            (("độ dài", "chiều dài", "length"), MetrologyField.LENGTH),
            (("khác", "other"), MetrologyField.OTHER),
        )
        for name in names
    },
}


def parse_field(value: Cell) -> MetrologyField | None:
    """The metrology field named in a cell (English value or Vietnamese name); None when empty."""
    if _is_blank(value):
        return None
    text = clean_text(value)
    found = _FIELD_NAMES.get(_fold(text))
    if found is None:
        allowed = ", ".join(f.value for f in MetrologyField)
        raise CellError(f"{text!r} is not a metrology field: write one of {allowed} (or leave it empty)")
    return found


# Checked in order, first match wins: "điện áp" (voltage) must not read as pressure, "cặp nhiệt điện"
# (thermocouple) not as electrical. "điện tử" (electronic) and "hiện số" (digital) say nothing about the field and
# are removed first: "Cân điện tử" is a balance.
_FIELD_KEYWORDS: tuple[tuple[MetrologyField, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        MetrologyField.PRESSURE,
        ("áp kế", "áp suất", "huyết áp", "khí áp", "chân không"),
        ("pressure", "manometer", "barometer", "sphygmomanometer", "vacuum gauge"),
    ),
    (
        MetrologyField.TEMPERATURE,
        ("nhiệt",),
        ("thermo", "temperature", "pt100", "rtd"),
    ),
    (
        MetrologyField.VOLUME_FLOW,
        (
            "đồng hồ nước",
            "công tơ nước",
            "nước",
            "lưu lượng",
            "cột đo",
            "nhiên liệu",
            "xăng dầu",
            "bồn",
            "bể",
            "xi téc",
            "xitec",
            "bình chuẩn",
            "ca đong",
            "dung tích",
            "đồng hồ khí",
            "công tơ khí",
        ),
        ("water meter", "flow", "fuel", "dispenser", "tank", "gas meter", "volume", "pipette", "burette"),
    ),
    (
        MetrologyField.ELECTRICAL,
        ("điện", "công tơ", "vạn năng", "ampe", "vôn", "ôm kế", "điện trở"),
        ("electric", "energy meter", "kwh", "multimeter", "dmm", "volt", "amp", "ohm", "megger", "calibrator"),
    ),
    (
        MetrologyField.MASS,
        ("cân", "quả cân", "khối lượng"),
        ("balance", "scale", "weigh", "weight", "mass"),
    ),
    (
        MetrologyField.LENGTH,
        ("thước", "taximet", "độ dài", "chiều dài", "panme", "đồng hồ so"),
        ("length", "taxi", "caliper", "calliper", "micrometer", "ruler", "tape measure", "dial indicator"),
    ),
)
_FIELD_PATTERNS = tuple(
    (
        f,
        re.compile(
            "|".join(
                [rf"(?<!\w){re.escape(word)}(?!\w)" for word in vietnamese]
                + [rf"(?<!\w){re.escape(stem)}" for stem in english]
            ),
            re.IGNORECASE,
        ),
    )
    for f, vietnamese, english in _FIELD_KEYWORDS
)


def infer_field(kind: str) -> MetrologyField:
    """The metrology field an instrument kind suggests (``Cân phân tích`` -> mass), ``other`` when none."""
    text = unicodedata.normalize("NFC", kind).casefold()
    text = re.sub(r"(?<!\w)(?:điện tử|hiện số)(?!\w)", " ", text)
    for found, pattern in _FIELD_PATTERNS:
        if pattern.search(text):
            return found
    return MetrologyField.OTHER


_NO_SERIAL = {"-", "--", "n/a", "na", "không", "không có", "ksn", "không số", "none", "?"}


_key = name_key  # case-, space- and Unicode-form-insensitive key of a name or serial
_ident = identity_part  # an instrument's identity: case and every space ignored (``B91 234`` = ``b91234``)


# --- the import ------------------------------------------------------------------------------------------------------

_LENGTHS = {
    c.name: int(getattr(c.type, "length", 0) or 0)
    for c in (*MeasuringInstrument.__table__.columns, *Customer.__table__.columns)
    if getattr(c.type, "length", None)
}


@dataclass
class _Row:
    """One validated spreadsheet row, ready to become an instrument."""

    row: int
    customer: str
    tax_code: str | None
    values: dict[str, Any]
    key: tuple[str, str, str]
    existing_id: int | None = None
    owner: _CustomerPlan | None = None


@dataclass
class _CustomerPlan:
    """An owner as the import will use it: an existing customer, or one to create (maybe setting a tax code)."""

    name: str
    tax_code: str | None
    row: int
    existing: Customer | None = None
    set_tax_code: bool = False
    created: Customer | None = None


class _Columns:
    """Map from canonical column names to their positions and header texts in the file."""

    def __init__(
        self,
        header_row: int,
        header: Sequence[Cell],
        file_name: str,
        report: ImportReport,
        schema: Schema = INSTRUMENTS,
    ) -> None:
        self.schema = schema
        self.index: dict[str, int] = {}
        self.header: dict[str, str] = {}
        for position, cell in enumerate(header):
            if _is_blank(cell):
                continue
            text = clean_text(cell) if not isinstance(cell, datetime | date | time | timedelta) else str(cell)
            column = column_for_header(text, schema.keys)
            if column is None:
                report.warnings.append(RowIssue(header_row, "", text, "not a known column: ignored"))
                continue
            if column == _IGNORED:
                continue
            if column in self.index:
                first = get_column_letter(self.index[column] + 1)
                raise ImportFileError(
                    f"{file_name}: columns {first} ({self.header[column]!r}) and {get_column_letter(position + 1)} "
                    f"({text!r}) both mean {column}: keep one"
                )
            self.index[column] = position
            self.header[column] = text
        missing = [c for c in schema.required if c not in self.index]
        if missing:
            raise ImportFileError(
                f"{file_name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(header row {header_row}). Expected the header: {schema.expected} "
                f"[optional: {','.join(schema.optional)}]; Vietnamese headers such as "
                f"{', '.join(repr(schema.vietnamese[c]) for c in missing)} are accepted too"
            )

    def get(self, cells: Sequence[Cell], column: str) -> Cell:
        position = self.index.get(column)
        return cells[position] if position is not None and position < len(cells) else None

    def name(self, column: str) -> str:
        return self.header.get(column, column)


def _find_header(sheet: Sheet, file_name: str, schema: Schema = INSTRUMENTS) -> int:
    """Index in ``sheet.rows`` of the header: the first row (of the first few) naming at least three columns."""
    for i, (_number, cells) in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        known = {column_for_header(clean_text(c), schema.keys) for c in cells if isinstance(c, str) and c.strip()}
        if len(known - {None, _IGNORED}) >= 3:
            return i
    for i, (_number, cells) in enumerate(sheet.rows):
        if any(not _is_blank(c) for c in cells):
            return i
    raise ImportFileError(
        f"{file_name} has no rows: expected a header row ({schema.expected}) and {schema.records.removesuffix('s')} "
        "rows"
    )


class _Importer:
    """One import: the registry's customers and instruments as loaded, the rows' owners, and the writes."""

    owner_column = "customer"  # the column naming the customer a row belongs to
    model: type[Base] = MeasuringInstrument  # the table a row is written to
    owner_attribute = "owner"  # the model's relationship to its customer (``owner_id`` its column)
    #: audited entities whose changes (any action) invalidate the checks of rows made before them
    watched: tuple[str, ...] = ("customer", "measuring_instrument")
    #: audited entities whose new rows invalidate those checks
    watched_inserts: tuple[str, ...] = ()
    #: new records are written by one multi-row INSERT per batch (and audited from the values written), not as ORM
    #: objects: the same rows and audit entries, several times faster
    bulk_insert = True

    def __init__(self, session: Session, report: ImportReport, columns: _Columns, today: date, update: bool) -> None:
        self.session = session
        self.report = report
        self.columns = columns
        self.today = today
        self.update = update
        self.by_tax: dict[str, _CustomerPlan] = {}
        self.by_name: dict[str, list[_CustomerPlan]] = {}
        self.plans: list[_CustomerPlan] = []
        self.existing: dict[tuple[str, str, str], tuple[int, str]] = {}
        self.seen: dict[tuple[str, str, str], int] = {}
        self.xlsx = report.format == "xlsx"

    # database state -------------------------------------------------------------------------------------------

    def load(self) -> None:
        for customer in self.session.scalars(select(Customer).order_by(Customer.id)):
            plan = _CustomerPlan(customer.name, customer.tax_code, 0, existing=customer)
            self._index(plan)
        rows = self.session.execute(
            select(
                MeasuringInstrument.id,
                MeasuringInstrument.manufacturer,
                MeasuringInstrument.model,
                MeasuringInstrument.serial_number,
                Customer.name,
            ).join(Customer, MeasuringInstrument.owner_id == Customer.id)
        )
        for inst_id, manufacturer, model, serial, owner in rows:
            self.existing.setdefault((_ident(manufacturer), _ident(model), _ident(serial)), (inst_id, owner))

    @classmethod
    def changed_since(cls, session: Session, seq: int) -> bool:
        """True when the audit log has an entry after ``seq`` that touches what this import's checks read."""
        touched = or_(
            AuditEntry.entity.in_(cls.watched),
            and_(AuditEntry.action == "insert", AuditEntry.entity.in_(cls.watched_inserts)),
        )
        return session.scalar(select(AuditEntry.seq).where(AuditEntry.seq > seq, touched).limit(1)) is not None

    def rebind(self, session: Session) -> None:
        """Continue in ``session`` (the write transaction): the registered customers are taken from it."""
        self.session = session
        customers = {c.id: c for c in session.scalars(select(Customer))}
        for plan in {id(p): p for plans in self.by_name.values() for p in plans}.values():
            if plan.existing is not None:
                plan.existing = customers[plan.existing.id]

    def _index(self, plan: _CustomerPlan) -> None:
        if plan.tax_code:
            self.by_tax[plan.tax_code] = plan
        self.by_name.setdefault(_key(plan.name), []).append(plan)

    # rows -------------------------------------------------------------------------------------------------------

    def reject(self, row: int, column: str, reason: str) -> None:
        self.report.rejected.append(RowIssue(row, column, self.columns.name(column), reason))

    def flag_formula(self, row: int, column: str, text: str) -> None:
        """Note a text cell that a spreadsheet would run as a formula (OWASP CSV injection): it is kept as text,
        never evaluated, and caltrace's CSV exports write it with a leading ``'``."""
        if looks_like_formula(text):
            shown = text if len(text) <= 40 else text[:37] + "..."
            self.report.warnings.append(
                RowIssue(
                    row,
                    column,
                    self.columns.name(column),
                    f"{shown!r} starts with {text[0]!r}, so a spreadsheet could run it as a formula: kept as text "
                    "(not evaluated); check it is what the customer wrote",
                )
            )

    def validate(self, row: int, cells: Sequence[Cell]) -> _Row | None:
        """The row's values, or None after recording every problem it has."""
        problems = len(self.report.rejected)
        get = self.columns.get
        texts: dict[str, str] = {}
        unreadable: set[str] = set()
        for column in ("customer", "kind", "manufacturer", "model", "serial_number", "accuracy_class", "location"):
            try:
                texts[column] = clean_text(get(cells, column))
            except CellError as exc:
                self.reject(row, column, str(exc))
                texts[column] = ""
                unreadable.add(column)
                continue
            limit = _LENGTHS["name" if column == "customer" else column]
            if len(texts[column]) > limit:
                self.reject(row, column, f"longer than {limit} characters ({len(texts[column])})")
            self.flag_formula(row, column, texts[column])
        if not texts["customer"] and "customer" not in unreadable:
            hint = " (merged cells? unmerge them and fill the customer in on every row)" if self.xlsx else ""
            self.reject(row, "customer", "required: the customer (owner) of the instrument" + hint)
        if not texts["kind"] and "kind" not in unreadable:
            self.reject(row, "kind", "required: what the instrument is (e.g. Cân phân tích, Đồng hồ nước)")
        serial = texts["serial_number"]
        if not serial:
            if "serial_number" not in unreadable:
                self.reject(row, "serial_number", "required: the instrument's serial number")
        elif serial.casefold() in _NO_SERIAL:
            self.reject(
                row, "serial_number", f"{serial!r} is not a serial number: mark the instrument and write that mark"
            )
            serial = ""

        tax_code = self._cell(row, "customer_tax_code", parse_tax_code, get(cells, "customer_tax_code"))
        chosen_field = self._cell(row, "field", parse_field, get(cells, "field"))
        group2 = self._cell(row, "group2", parse_bool, get(cells, "group2"))
        interval = self._cell(row, "interval_months", parse_interval, get(cells, "interval_months"))
        last = self._cell(row, "last_calibrated", lambda v: parse_date(v, self.today), get(cells, "last_calibrated"))
        measured = self._range_and_resolution(row, get(cells, "range"), get(cells, "resolution"))

        key = (_ident(texts["manufacturer"]), _ident(texts["model"]), _ident(serial))
        if serial:
            self._check_duplicate(row, key, texts)
        if len(self.report.rejected) > problems:
            return None
        assert interval is not None and measured is not None
        values: dict[str, Any] = {
            "kind": texts["kind"],
            "field": chosen_field or infer_field(texts["kind"]),
            "manufacturer": texts["manufacturer"],
            "model": texts["model"],
            "serial_number": serial,
            "accuracy_class": texts["accuracy_class"],
            "location": texts["location"],
            "group2": bool(group2),
            "interval_months": interval,
            "last_calibrated": last,
            "next_due": add_months(last, interval) if last else None,
            **measured,
        }
        for column in ("field", "group2"):
            if column not in self.columns.index:  # a column the file lacks: inferred or default when new, an
                del values[column]  # update leaves the registered value alone (see _build_instrument)
        return _Row(row, texts["customer"], tax_code, values, key)

    def _cell(self, row: int, column: str, parse: Any, value: Cell) -> Any:
        try:
            return parse(value)
        except CellError as exc:
            self.reject(row, column, str(exc))
            return None

    def _range_and_resolution(self, row: int, range_cell: Cell, resolution_cell: Cell) -> dict[str, Any] | None:
        ok = True
        try:
            range_text = clean_text(range_cell)
        except CellError as exc:
            self.reject(row, "range", str(exc))
            return None
        parsed: ParsedRange | None = None
        if isinstance(range_cell, int | float) and not isinstance(range_cell, bool):
            parsed = ParsedRange(None, _cell_number(range_cell), "")
        elif range_text:
            try:
                parsed = parse_range(range_text)
            except CellError as exc:
                self.reject(row, "range", str(exc))
                ok = False
            else:
                if parsed is None:
                    self.flag_formula(row, "range", range_text)
                    self.report.warnings.append(
                        RowIssue(
                            row,
                            "range",
                            self.columns.name("range"),
                            f"{range_text!r} is kept as text: no minimum/maximum could be read from it",
                        )
                    )
        if len(range_text) > _LENGTHS["range_text"]:
            self.reject(row, "range", f"longer than {_LENGTHS['range_text']} characters")
            ok = False
        unit = parsed.unit if parsed else ""
        resolution: Decimal | None = None
        resolution_unit = ""
        if not _is_blank(resolution_cell):
            try:
                res_value, res_unit = parse_quantity(resolution_cell)
            except CellError as exc:
                self.reject(row, "resolution", str(exc))
                return None
            if res_value <= 0:
                self.reject(row, "resolution", f"{res_value} {res_unit}".strip() + ": the resolution must be positive")
                return None
            if res_unit and parsed is not None and not unit:
                self.reject(
                    row,
                    "range",
                    f"the range {range_text!r} has no unit but the resolution is in {res_unit}: "
                    f"write the range with its unit (e.g. {range_text} {res_unit})",
                )
                return None
            if res_unit and not unit:
                unit = res_unit  # the range was empty or text only: the unit is the resolution's
            resolution_unit = unit
            if res_unit and res_unit != unit:
                converted = convert(res_value, res_unit, unit, difference=True)
                if (
                    converted is None
                    and "/" in unit
                    and convert(res_value, res_unit, unit.split("/")[0], difference=True) is not None
                ):
                    resolution_unit = res_unit  # a flow range with a volume scale interval: kept in its own unit
                elif converted is None:
                    self.reject(row, "resolution", _unconvertible(res_unit, unit))
                    return None
                else:
                    res_value = converted
            resolution = res_value
        if len(unit) > _LENGTHS["range_unit"]:
            self.reject(row, "range", f"the unit {unit!r} is longer than {_LENGTHS['range_unit']} characters")
            ok = False
        if not ok:
            return None
        return {
            "range_text": range_text,
            "range_min": float(parsed.low) if parsed and parsed.low is not None else None,
            "range_max": float(parsed.high) if parsed else None,
            "range_unit": unit,
            "resolution": float(resolution) if resolution is not None else None,
            "resolution_unit": resolution_unit if resolution is not None else "",
        }

    def _check_duplicate(self, row: int, key: tuple[str, str, str], texts: dict[str, str]) -> None:
        described = " / ".join(t for t in (texts["manufacturer"], texts["model"], texts["serial_number"]) if t)
        first = self.seen.setdefault(key, row)
        if first != row:
            self.reject(row, "serial_number", f"the same instrument ({described}) as row {first} of this file")
            return
        if key in self.existing and not self.update:
            inst_id, owner = self.existing[key]
            self.reject(
                row,
                "serial_number",
                f"already registered: instrument #{inst_id} ({described}) of {owner}; "
                "import with --update to update it from this file",
            )

    def accept(self, row: _Row) -> bool:
        """True for a validated row that goes in: its owner resolved and, when updating, the record it updates set."""
        if self.update and row.key in self.existing:
            row.existing_id = self.existing[row.key][0]
        return self.resolve_owner(row)

    def resolve_owner(self, row: _Row) -> bool:
        """Attach the row's owner (existing, or planned); False after rejecting the row when it is ambiguous."""
        name_key = _key(row.customer)
        if row.tax_code:
            plan = self.by_tax.get(row.tax_code)
            if plan is not None:
                if _key(plan.name) != name_key:
                    self.report.warnings.append(
                        RowIssue(
                            row.row,
                            self.owner_column,
                            self.columns.name(self.owner_column),
                            f"tax code {row.tax_code} belongs to {plan.name!r}: the instrument goes to that customer",
                        )
                    )
                row.owner = plan
                return True
            untaxed = [p for p in self.by_name.get(name_key, []) if not p.tax_code]
            if len(untaxed) == 1:
                plan = untaxed[0]
                plan.tax_code = row.tax_code
                plan.set_tax_code = plan.existing is not None
                self.by_tax[row.tax_code] = plan
                row.owner = plan
                return True
            if len(untaxed) > 1:
                self.reject(
                    row.row, self.owner_column, f"several customers are named {row.customer!r} without a tax code"
                )
                return False
        else:
            matches = self.by_name.get(name_key, [])
            if len(matches) == 1:
                row.owner = matches[0]
                return True
            if len(matches) > 1:
                codes = ", ".join(p.tax_code or "none" for p in matches)
                self.reject(
                    row.row,
                    self.owner_column,
                    f"several customers are named {row.customer!r} (tax codes {codes}): "
                    f"add the {self.owner_column}_tax_code column to say which",
                )
                return False
        plan = _CustomerPlan(row.customer, row.tax_code, row.row)
        self.plans.append(plan)
        self._index(plan)
        row.owner = plan
        return True

    # writing ----------------------------------------------------------------------------------------------------

    def apply(self, rows: list[_Row]) -> None:
        """Create the planned customers (packers, for lots) and write the rows (:meth:`write`); flushed in batches of
        :data:`FLUSH_EVERY`. With :attr:`bulk_insert`, new records are inserted in batches of :data:`INSERT_EVERY`
        after the customers and updates."""
        for plan in self.plans:
            plan.created = Customer(name=plan.name, tax_code=plan.tax_code)
            self.session.add(plan.created)
        for plan in {id(p): p for r in rows if r.owner for p in [r.owner]}.values():
            if plan.set_tax_code and plan.existing is not None:
                plan.existing.tax_code = plan.tax_code
        new: list[tuple[_Row, Customer]] = []
        for count, row in enumerate(rows, start=1):
            assert row.owner is not None
            owner = row.owner.existing or row.owner.created
            assert owner is not None
            if self.bulk_insert and row.existing_id is None:
                new.append((row, owner))
                continue
            self.write(row, owner)
            if count % FLUSH_EVERY == 0:
                self.session.flush()
        self.session.flush()  # customers get their ids
        for start in range(0, len(new), INSERT_EVERY):
            self._insert_many(new[start : start + INSERT_EVERY])

    def _insert_many(self, batch: list[tuple[_Row, Customer]]) -> None:
        """Insert new records in one statement and audit each as the ORM would (every column, with its id).

        The ids are read back by the unique ``identity_key`` (RETURNING with many rows would run row by row on
        SQLite)."""
        table = MeasuringInstrument.__table__
        assert isinstance(table, Table)
        values = [self.insert_values(row, owner) for row, owner in batch]
        self.session.execute(insert(table), values)
        keys = [v["identity_key"] for v in values]
        found = self.session.execute(select(table.c.identity_key, table.c.id).where(table.c.identity_key.in_(keys)))
        ids: dict[str, int] = {key: id_ for key, id_ in found}
        actor = str(self.session.info.get("actor") or "system")
        audit.append(
            self.session.connection(),
            actor,
            (
                audit.Change("insert", table.name, str(ids[v["identity_key"]]), {**v, "id": ids[v["identity_key"]]})
                for v in values
            ),
        )
        self.report.imported += len(batch)

    def insert_values(self, row: _Row, owner: Customer) -> dict[str, Any]:
        """Every column of a new record (but its id), defaults filled in as the ORM fills them."""
        return _instrument_values(row, owner)

    def write(self, row: _Row, owner: Customer) -> None:
        """Write one good row: a new record of ``owner`` (:meth:`build`), or the changes to the one it updates."""
        if row.existing_id is not None:
            self._update(row, owner)
        else:
            self.session.add(self.build(row, owner))
            self.report.imported += 1

    def build(self, row: _Row, owner: Customer) -> Base:
        """A new record from a validated row."""
        return _build_instrument(row, owner)

    def differences(self, row: _Row) -> tuple[Base, dict[str, Any]]:
        """The registered record a row updates, and the values of the row that differ from it."""
        record = self.session.get(self.model, row.existing_id)
        assert record is not None and row.owner is not None
        diff = {name: value for name, value in row.values.items() if getattr(record, name) != value}
        if row.owner.existing is None or row.owner.existing.id != getattr(record, f"{self.owner_attribute}_id"):
            diff[self.owner_attribute] = row.owner
            self.report.warnings.append(
                RowIssue(
                    row.row,
                    self.owner_column,
                    self.columns.name(self.owner_column),
                    f"{self.report.records.removesuffix('s')} #{row.existing_id} changes owner from "
                    f"{getattr(record, self.owner_attribute).name!r} to {row.owner.name!r}",
                )
            )
        return record, diff

    def count_updates(self, rows: list[_Row]) -> None:
        """Dry run: count the rows that would add a record, update a registered one, or change nothing."""
        for row in rows:
            if row.existing_id is None:
                self.report.imported += 1
            elif self.differences(row)[1]:
                self.report.updated += 1
            else:
                self.report.unchanged += 1

    def _update(self, row: _Row, owner: Customer) -> None:
        record, diff = self.differences(row)
        if not diff:
            self.report.unchanged += 1
            return
        for name, value in diff.items():
            setattr(record, name, owner if name == self.owner_attribute else value)
        self.report.updated += 1


def _with_defaults(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each other column of ``table`` (but the primary key) at its scalar default, else None."""
    out = dict(values)
    for column in table.columns:
        if column.primary_key or column.key in out:
            continue
        default = column.default
        out[column.key] = default.arg if default is not None and default.is_scalar else None
    return out


def _unconvertible(source: str, target: str) -> str:
    """Why a resolution in ``source`` cannot be kept with a range in ``target``."""
    a, b = _unit_info(source), _unit_info(target)
    if a and b and a[0] != b[0]:
        return (
            f"{source} ({a[0]}) cannot be the resolution of a range in {target} ({b[0]}): a resolution is in the "
            f"range's quantity (or, for a flow range, its volume); check the unit, or leave the resolution empty"
        )
    unknown = " and ".join(repr(u) for u, info in ((source, a), (target, b)) if info is None)
    return f"{source} cannot be converted to the range's unit {target} ({unknown} unknown to caltrace): use one unit"


def _instrument_values(row: _Row, owner: Customer) -> dict[str, Any]:
    """Every column of a new instrument (but its id), as :func:`_build_instrument` and a flush would set them."""
    values = {**row.values, "owner_id": owner.id}
    if "field" not in values:
        values["field"] = infer_field(values["kind"])
    values["identity_key"] = instrument_identity(values["manufacturer"], values["model"], values["serial_number"])
    values["serial_key"] = identity_part(values["serial_number"])
    return _with_defaults(MeasuringInstrument.__table__, values)


def _build_instrument(row: _Row, owner: Customer) -> MeasuringInstrument:
    """A new instrument from a validated row; without a field column, the field is inferred from the kind."""
    return MeasuringInstrument(owner=owner, **{"field": infer_field(row.values["kind"]), **row.values})


def import_instruments(
    session: Session, path: Path | str, *, today: date | None = None, dry_run: bool = False, update: bool = False
) -> ImportReport:
    """Import the instruments listed in ``path`` (.csv or .xlsx) in ``session``'s transaction.

    Good rows are added (their inserts audited as usual) and bad rows reported; unknown customers are created.
    An already registered instrument (same manufacturer, model and serial number, compared case- and
    space-insensitively) is a rejected row, or with ``update`` is updated from the row. One ``import`` audit event
    records the file name, its SHA-256 and the counts. The writes run in a savepoint: any error leaves nothing of
    the import behind, even if the caller then commits. ``dry_run`` validates and reports, writing nothing.
    ``today`` (default: the local date) bounds the calibration dates. Raises :class:`ImportFileError` for a file
    that cannot be read at all (before anything is written).
    """
    return _import(_Importer, INSTRUMENTS, "measuring_instrument", session, path, today, dry_run, update)


def import_instruments_concurrently(
    engine: Engine,
    path: Path | str,
    *,
    actor: str,
    today: date | None = None,
    dry_run: bool = False,
    update: bool = False,
) -> ImportReport:
    """:func:`import_instruments` on ``engine`` as ``actor``, holding the write lock only to write.

    The file is read and its rows checked in a read transaction, so runs, reports and other users carry on
    meanwhile; the good rows are then written in one short write transaction (all or nothing). If the registry's
    customers or instruments changed in between, the rows are checked again inside the write transaction.
    ``report.write_seconds`` is how long the write transaction took.
    """
    return _import_concurrently(
        _Importer, INSTRUMENTS, "measuring_instrument", engine, path, actor, today, dry_run, update
    )


@dataclass
class _Prepared:
    """A read sheet, its report started and its columns found: everything an import needs before the registry."""

    path: Path
    digest: str
    report: ImportReport
    columns: _Columns
    body: list[tuple[int, list[Cell]]]


def _prepare(schema: Schema, path: Path | str, dry_run: bool, update: bool) -> _Prepared:
    """Read and decode the file, find the header and columns (no database)."""
    path = Path(path)
    sheet, digest = read_sheet(path, schema)
    report = ImportReport(
        path.name, digest, sheet.format, sheet.source, dry_run=dry_run, update=update, records=schema.records
    )
    header_at = _find_header(sheet, path.name, schema)
    header_row, header_cells = sheet.rows[header_at]
    columns = _Columns(header_row, header_cells, path.name, report, schema)
    body = [(n, cells) for n, cells in sheet.rows[header_at + 1 :] if _has_values(cells, columns)]
    if not body:
        raise ImportFileError(
            f"{path.name} has a header (row {header_row}) but no {schema.records.removesuffix('s')} rows below it"
        )
    return _Prepared(path, digest, report, columns, body)


def _check(importer: _Importer, prepared: _Prepared) -> list[_Row]:
    """Load the registry's state into ``importer`` and validate every row; returns the accepted rows."""
    report, columns = prepared.report, prepared.columns
    importer.load()
    accepted: list[_Row] = []
    for number, cells in prepared.body:
        report.rows += 1
        parsed = importer.validate(number, cells)
        if parsed is not None and importer.accept(parsed):
            accepted.append(parsed)
    order = {column: i for i, column in enumerate(sorted(columns.index, key=columns.index.__getitem__))}
    report.rejected.sort(key=lambda issue: (issue.row, order.get(issue.column, len(order))))
    used = {id(r.owner) for r in accepted}  # customers planned for rows rejected later are not created
    importer.plans = [p for p in importer.plans if id(p) in used]
    report.customers_created = [CreatedCustomer(p.name, p.tax_code, p.row) for p in importer.plans]
    return accepted


def _write(importer: _Importer, prepared: _Prepared, accepted: list[_Row], table: str, records: str) -> None:
    """Write the accepted rows and the ``import`` audit event in a savepoint of the importer's session."""
    session, report, path = importer.session, prepared.report, prepared.path
    try:
        with session.begin_nested():
            importer.apply(accepted)
            audit.record(
                session,
                "import",
                table,
                path.name[:60],
                {
                    "file": path.name,
                    "sha256": prepared.digest,
                    "rows": report.rows,
                    "imported": report.imported,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "rejected_rows": report.rejected_rows,
                    "customers_created": len(report.customers_created),
                },
            )
        report.warnings.sort(key=lambda issue: issue.row)
    except (IntegrityError, DataError) as exc:
        raise RegistryError(
            f"{path.name}: the database refused the import, nothing of it was written ({exc.orig}); "
            f"another user may have registered the same {records} meanwhile: import again to see which"
        ) from exc


def _import(
    kind: type[_Importer],
    schema: Schema,
    table: str,
    session: Session,
    path: Path | str,
    today: date | None,
    dry_run: bool,
    update: bool,
) -> ImportReport:
    """One import of ``schema``'s records by ``kind`` (see :func:`import_instruments`); audited on ``table``."""
    prepared = _prepare(schema, path, dry_run, update)
    importer = kind(session, prepared.report, prepared.columns, today or date.today(), update)
    accepted = _check(importer, prepared)
    if dry_run:
        importer.count_updates(accepted)
        prepared.report.warnings.sort(key=lambda issue: issue.row)
        return prepared.report
    _write(importer, prepared, accepted, table, schema.records)
    return prepared.report


def _import_concurrently(
    kind: type[_Importer],
    schema: Schema,
    table: str,
    engine: Engine,
    path: Path | str,
    actor: str,
    today: date | None,
    dry_run: bool,
    update: bool,
) -> ImportReport:
    """:func:`_import` in two transactions, so that a large file holds the registry's write lock briefly.

    1. In a read transaction (a snapshot: no lock, other users read and write meanwhile) the file is read and every
       row checked against the registry; the audit log's last sequence number at that moment is noted.
    2. In one write transaction the accepted rows are written, unless the audit log shows that something the
       checks depended on (``kind.watched``) changed since step 1; then the checks are done again inside the write
       transaction, so the result is always that of an import checked against the registry it writes to.
    """
    today = today or date.today()
    prepared = _prepare(schema, path, dry_run, update)
    with read_session(engine) as reader:
        mark = reader.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0
        importer = kind(reader, prepared.report, prepared.columns, today, update)
        accepted = _check(importer, prepared)
        if dry_run:
            importer.count_updates(accepted)
            prepared.report.warnings.sort(key=lambda issue: issue.row)
            return prepared.report
    started = clock.perf_counter()
    with session_scope(engine, actor) as writer:
        if kind.changed_since(writer, mark):
            log.info("%s: the registry changed while the file was checked; checking again", prepared.path.name)
            report = _import(kind, schema, table, writer, path, today, dry_run, update)
        else:
            importer.rebind(writer)
            _write(importer, prepared, accepted, table, schema.records)
            report = prepared.report
    report.write_seconds = clock.perf_counter() - started
    return report


def _has_values(cells: Sequence[Cell], columns: _Columns) -> bool:
    return any(not _is_blank(columns.get(cells, c)) for c in (*columns.schema.required, *columns.schema.optional))


# --- prepackage lots -------------------------------------------------------------------------------------------------

LOT_REQUIRED_COLUMNS: tuple[str, ...] = ("packer", "product", "lot_number", "lot_size", "nominal_quantity")
LOT_OPTIONAL_COLUMNS: tuple[str, ...] = (
    "brand",
    "nominal_unit",
    "packed_on",
    "sampled_on",
    "sampling_place",
    "packer_tax_code",
)
LOT_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "packer": (
        "packer name",
        "importer",
        "customer",
        "cơ sở đóng gói",
        "tổ chức đóng gói",
        "đơn vị đóng gói",
        "nhà đóng gói",
        "nhà nhập khẩu",
        "doanh nghiệp",
        "tên doanh nghiệp",
        "khách hàng",
    ),
    "product": ("product name", "goods", "tên hàng", "tên hàng hóa", "hàng hóa", "sản phẩm", "tên sản phẩm"),
    "brand": ("trademark", "nhãn hiệu", "thương hiệu", "nhãn hàng"),
    "lot_number": ("lot", "lot no", "batch", "batch number", "số lô", "mã lô", "lô", "số lô hàng"),
    "lot_size": ("lot size", "packages", "cỡ lô", "số gói", "số lượng gói", "số lượng", "số lượng trong lô"),
    "nominal_quantity": ("nominal", "qn", "nominal quantity", "lượng danh định", "định lượng", "khối lượng tịnh"),
    "nominal_unit": ("unit", "đơn vị", "đơn vị đo", "đơn vị tính"),
    "packed_on": ("packing date", "production date", "ngày đóng gói", "ngày sản xuất", "ngày sx"),
    "sampled_on": ("sampling date", "ngày lấy mẫu"),
    "sampling_place": ("sampling place", "nơi lấy mẫu", "địa điểm lấy mẫu"),
    "packer_tax_code": ("tax code", "tax id", "mst", "mã số thuế", "mã số doanh nghiệp"),
    _IGNORED: COLUMN_ALIASES[_IGNORED],
}
LOT_VIETNAMESE_HEADERS: dict[str, str] = {
    "packer": "cơ sở đóng gói",
    "product": "tên hàng hóa",
    "brand": "nhãn hiệu",
    "lot_number": "số lô",
    "lot_size": "cỡ lô",
    "nominal_quantity": "lượng danh định",
    "nominal_unit": "đơn vị",
    "packed_on": "ngày đóng gói",
    "sampled_on": "ngày lấy mẫu",
    "sampling_place": "nơi lấy mẫu",
    "packer_tax_code": "mã số thuế",
}
LOTS = Schema(
    LOT_REQUIRED_COLUMNS, LOT_OPTIONAL_COLUMNS, _header_keys(LOT_COLUMN_ALIASES), LOT_VIETNAMESE_HEADERS, "lots"
)
_LOT_LENGTHS = {
    c.name: int(getattr(c.type, "length", 0) or 0)
    for c in PrepackageLot.__table__.columns
    if getattr(c.type, "length", None)
}


def parse_lot_size(value: Cell) -> int:
    """The number of prepackages in a lot: a whole number > 0 (``500``, ``500 gói``)."""
    if _is_blank(value):
        raise CellError("required: the number of prepackages in the lot (e.g. 500)")
    if isinstance(value, str):
        text = clean_text(value)
        match = re.fullmatch(r"(?P<n>\S+?)\s*(?:gói|packages?|pcs|cái|hộp|chai|túi)?", text, flags=re.IGNORECASE)
        if not match:
            raise CellError(f"{text!r} is not a number of prepackages")
        number = parse_number(match["n"])
    else:
        number = _cell_number(value)
    if number != number.to_integral_value() or number < 1:
        raise CellError(f"{number} is not a whole number of prepackages (1 or more)")
    return int(number)


class _LotImporter(_Importer):
    """One lot import: customers (packers), lots and their runs as registered, the rows' packers, and the writes."""

    owner_column = "packer"
    model = PrepackageLot
    owner_attribute = "packer"
    watched = ("customer", "prepackage_lot")
    watched_inserts = ("run",)  # a lot with runs is not changed: a new run invalidates the check
    bulk_insert = False  # lot lists are short

    def load(self) -> None:
        for customer in self.session.scalars(select(Customer).order_by(Customer.id)):
            self._index(_CustomerPlan(customer.name, customer.tax_code, 0, existing=customer))
        self.lots: dict[tuple[int, str], int] = {}
        for lot_id, packer_id, number in self.session.execute(
            select(PrepackageLot.id, PrepackageLot.packer_id, PrepackageLot.lot_number)
        ):
            self.lots[(packer_id, _key(number))] = lot_id
        self.runs: dict[int, list[str]] = {}  # lot id -> its runs, oldest first
        for lot_id, run_id in self.session.execute(
            select(PrepackageLot.id, Run.id).join(Run, Run.lot_id == PrepackageLot.id).order_by(Run.created_at, Run.id)
        ):
            self.runs.setdefault(lot_id, []).append(run_id)
        self.rows_by_lot: dict[tuple[int, str], int] = {}

    def validate(self, row: int, cells: Sequence[Cell]) -> _Row | None:
        """The row's lot values, or None after recording every problem it has."""
        problems = len(self.report.rejected)
        get = self.columns.get
        texts: dict[str, str] = {}
        for column in ("packer", "product", "brand", "lot_number", "sampling_place"):
            try:
                texts[column] = clean_text(get(cells, column))
            except CellError as exc:
                self.reject(row, column, str(exc))
                texts[column] = ""
                continue
            limit = _LENGTHS["name"] if column == "packer" else _LOT_LENGTHS[column]
            self.flag_formula(row, column, texts[column])
            if len(texts[column]) > limit:
                self.reject(row, column, f"longer than {limit} characters ({len(texts[column])})")
            elif not texts[column] and column in LOT_REQUIRED_COLUMNS:
                what = {
                    "packer": "the enterprise that packed or imported the goods",
                    "product": "what the goods are (e.g. Đường kính trắng túi 500 g)",
                    "lot_number": "the lot number printed on the packages",
                }[column]
                self.reject(row, column, f"required: {what}")
        tax_code = self._cell(row, "packer_tax_code", parse_tax_code, get(cells, "packer_tax_code"))
        size = self._cell(row, "lot_size", parse_lot_size, get(cells, "lot_size"))
        nominal = self._nominal(row, get(cells, "nominal_quantity"), get(cells, "nominal_unit"))
        packed = self._cell(row, "packed_on", lambda v: parse_date(v, self.today), get(cells, "packed_on"))
        sampled = self._cell(row, "sampled_on", lambda v: parse_date(v, self.today), get(cells, "sampled_on"))
        if packed and sampled and sampled < packed:
            self.reject(
                row,
                "sampled_on",
                f"sampled on {sampled.strftime('%d/%m/%Y')}, before the goods were packed "
                f"({packed.strftime('%d/%m/%Y')}): check both dates",
            )
        if len(self.report.rejected) > problems:
            return None
        assert size is not None and nominal is not None
        values: dict[str, Any] = {
            "product": texts["product"],
            "brand": texts["brand"],
            "lot_number": texts["lot_number"],
            "lot_size": size,
            "nominal_quantity": nominal[0],
            "nominal_unit": nominal[1],
            "packed_on": packed,
            "sampled_on": sampled,
            "sampling_place": texts["sampling_place"],
        }
        for column in ("brand", "packed_on", "sampled_on", "sampling_place"):
            if column not in self.columns.index:  # a column the file lacks: the default, or an update leaves it alone
                del values[column]
        return _Row(row, texts["packer"], tax_code, values, ("", "", _key(texts["lot_number"])))

    def _nominal(self, row: int, quantity: Cell, unit_cell: Cell) -> tuple[float, str] | None:
        """Qn and its unit (g, kg, mL or L) from ``500 g`` or from ``500`` with the unit column."""
        try:
            value, unit = parse_quantity(quantity) if not _is_blank(quantity) else (None, "")
            column_unit = canonical_unit(clean_text(unit_cell)) if not _is_blank(unit_cell) else ""
        except CellError as exc:
            self.reject(row, "nominal_quantity", str(exc))
            return None
        if value is None:
            self.reject(row, "nominal_quantity", "required: the nominal quantity Qn labelled on each package")
            return None
        unit = canonical_unit(unit) if unit else ""
        if unit and column_unit and unit != column_unit:
            self.reject(row, "nominal_unit", f"the quantity says {unit} but the unit column {column_unit}: keep one")
            return None
        unit = unit or column_unit
        if unit not in LOT_UNITS:
            got = f"{unit!r}" if unit else "no unit"
            self.reject(
                row,
                "nominal_unit" if "nominal_unit" in self.columns.index else "nominal_quantity",
                f"{got}: the nominal quantity must be in g, kg, mL or L (e.g. 500 g)",
            )
            return None
        if value <= 0:
            self.reject(row, "nominal_quantity", f"{value} {unit}: the nominal quantity must be more than 0")
            return None
        return float(value), unit

    def accept(self, row: _Row) -> bool:
        """True for a validated row that goes in: its packer resolved and the lot new, or updatable (below)."""
        return self.resolve_owner(row) and self.check_duplicate(row)

    def check_duplicate(self, row: _Row) -> bool:
        """False after rejecting a lot listed twice in the file; a lot already registered for the packer, unless
        updating (then ``row.existing_id`` is set); or, when updating, a checked lot the row would change."""
        assert row.owner is not None
        number = row.values["lot_number"]
        key = (id(row.owner), row.key[2])
        first = self.rows_by_lot.setdefault(key, row.row)
        if first != row.row:
            self.reject(row.row, "lot_number", f"the same lot ({number} of {row.owner.name}) as row {first}")
            return False
        existing = row.owner.existing
        lot_id = self.lots.get((existing.id, row.key[2])) if existing is not None else None
        if existing is None or lot_id is None:  # a new lot (a row with another packer is another lot)
            return True
        runs = self.runs.get(lot_id, [])
        if not self.update:
            hint = "" if runs else "; import with --update to update it from this file"
            self.reject(row.row, "lot_number", f"already registered: lot #{lot_id} ({number}) of {existing.name}{hint}")
            return False
        row.existing_id = lot_id
        changed = [self.columns.name(name) for name in self.differences(row)[1]] if runs else []
        if changed:
            self.reject(
                row.row,
                "lot_number",
                f"lot #{lot_id} ({number}) of {existing.name} was checked in run{'s' if len(runs) > 1 else ''} "
                f"{', '.join(runs)}: import does not change a checked lot's record (this row changes "
                f"{', '.join(changed)}); correct it by amending the check's result or certificate",
            )
            return False
        return True

    def build(self, row: _Row, owner: Customer) -> Base:
        """A new lot packed by ``owner``."""
        return PrepackageLot(packer=owner, **row.values)


def import_lots(
    session: Session, path: Path | str, *, today: date | None = None, dry_run: bool = False, update: bool = False
) -> ImportReport:
    """Import the prepackage lots listed in ``path`` (.csv or .xlsx) in ``session``'s transaction.

    The same machinery and behaviour as :func:`import_instruments`: good rows are added, bad rows reported with row,
    column and reason; packers are matched to customers (by tax code, else name) or created; a lot already
    registered for its packer (same lot number, case- and space-insensitive) is a rejected row, or with ``update``
    is updated from the row, except that a lot with runs is not changed (its row is rejected unless it changes
    nothing). An optional column the file lacks leaves the registered value alone. One ``import`` audit event
    records the file. The writes run in a savepoint: nothing of a failed import stays. ``today`` bounds the
    packing and sampling dates.
    """
    return _import(_LotImporter, LOTS, "prepackage_lot", session, path, today, dry_run, update)


def import_lots_concurrently(
    engine: Engine,
    path: Path | str,
    *,
    actor: str,
    today: date | None = None,
    dry_run: bool = False,
    update: bool = False,
) -> ImportReport:
    """:func:`import_lots` on ``engine`` as ``actor``, checked in a read transaction and written in a short write
    transaction (see :func:`import_instruments_concurrently`)."""
    return _import_concurrently(_LotImporter, LOTS, "prepackage_lot", engine, path, actor, today, dry_run, update)
