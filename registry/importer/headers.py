"""The columns a spreadsheet may have: their header names (English and Vietnamese aliases), and the map from a file's
header row to canonical columns (:class:`_Columns`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from openpyxl.utils import get_column_letter

from registry.errors import ImportFileError
from registry.importer.cells import Cell, _is_blank, clean_text
from registry.importer.messages import msg
from registry.importer.report import ImportReport, RowIssue

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
                report.warnings.append(RowIssue(header_row, "", text, msg("header.unknown")))
                continue
            if column == _IGNORED:
                continue
            if column in self.index:
                first = get_column_letter(self.index[column] + 1)
                raise ImportFileError(
                    msg(
                        "file.duplicate_column",
                        file=file_name,
                        first=first,
                        first_header=self.header[column],
                        second=get_column_letter(position + 1),
                        second_header=text,
                        column=column,
                    )
                )
            self.index[column] = position
            self.header[column] = text
        missing = [c for c in schema.required if c not in self.index]
        if missing:
            raise ImportFileError(
                msg(
                    "file.missing_columns" if len(missing) > 1 else "file.missing_column",
                    file=file_name,
                    columns=", ".join(missing),
                    header_row=header_row,
                    expected=schema.expected,
                    optional=",".join(schema.optional),
                    vietnamese=", ".join(repr(schema.vietnamese[c]) for c in missing),
                )
            )

    def get(self, cells: Sequence[Cell], column: str) -> Cell:
        position = self.index.get(column)
        return cells[position] if position is not None and position < len(cells) else None

    def name(self, column: str) -> str:
        return self.header.get(column, column)
