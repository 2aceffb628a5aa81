"""Importing who a centre is: the laboratory (one row) and its CMC table (quantity, range, CMC, method)."""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import ImportFileError
from registry.importer.base import _key
from registry.importer.cells import Cell, CellError, _is_blank, clean_text, parse_quantity, parse_range
from registry.importer.fields import infer_field, parse_field
from registry.importer.messages import msg
from registry.importer.records import (
    Catalogue,
    _Record,
    _RecordImporter,
    import_records,
    lengths,
    schema,
)
from registry.importer.report import ImportReport
from registry.models import Base, CmcEntry, Laboratory
from registry.units import convert

# --- the laboratory ------------------------------------------------------------------------------------------------

LABORATORY = schema(
    ("name", "address", "accreditation_code", "certificate_numbering"),
    ("designation_code", "phone", "email", "logo_path", "verification_numbering", "notice_numbering", "lot_numbering"),
    {
        "name": ("laboratory", "laboratory name", "tên phòng thí nghiệm", "tên trung tâm", "tên đơn vị", "tên"),
        "address": ("địa chỉ",),
        "accreditation_code": (
            "accreditation",
            "accreditation number",
            "số hiệu công nhận",
            "mã số công nhận",
            "số công nhận",
            "vilas",
        ),
        "designation_code": ("designation", "designation number", "số chỉ định", "mã số chỉ định"),
        "phone": ("telephone", "tel", "điện thoại", "số điện thoại"),
        "email": ("e-mail", "thư điện tử"),
        "logo_path": ("logo", "logo file", "biểu trưng", "tệp logo"),
        "certificate_numbering": (
            "certificate numbering",
            "certificate number pattern",
            "mẫu số giấy chứng nhận",
            "cách đánh số giấy chứng nhận",
            "đánh số giấy chứng nhận",
            "calibration numbering",
            "calibration certificate numbering",
            "mẫu số giấy chứng nhận hiệu chuẩn",
        ),
        "verification_numbering": (
            "verification numbering",
            "verification certificate numbering",
            "verification certificate number pattern",
            "mẫu số giấy chứng nhận kiểm định",
            "đánh số giấy chứng nhận kiểm định",
        ),
        "notice_numbering": (
            "notice numbering",
            "non-conformity notice numbering",
            "notice of non-conformity numbering",
            "mẫu số thông báo không đạt",
            "đánh số thông báo không đạt",
        ),
        "lot_numbering": (
            "lot numbering",
            "lot check numbering",
            "prepackage lot numbering",
            "mẫu số kết quả kiểm tra lô hàng",
            "đánh số kết quả kiểm tra lô hàng",
        ),
    },
    {
        "name": "tên phòng thí nghiệm",
        "address": "địa chỉ",
        "accreditation_code": "số hiệu công nhận",
        "certificate_numbering": "mẫu số giấy chứng nhận",
        "designation_code": "số chỉ định",
        "phone": "điện thoại",
        "email": "email",
        "logo_path": "logo",
        "verification_numbering": "mẫu số giấy chứng nhận kiểm định",
        "notice_numbering": "mẫu số thông báo không đạt",
        "lot_numbering": "mẫu số kết quả kiểm tra lô hàng",
    },
    "laboratory records",
)

#: the numbering pattern columns: calibration certificates, verification certificates, notices of non-conformity
#: (an empty notice pattern shares the verification one and its running numbers; registry.certificates)
NUMBERING_COLUMNS = ("certificate_numbering", "verification_numbering", "notice_numbering", "lot_numbering")
#: the placeholders a certificate numbering pattern may use, with a sample value each
NUMBERING_FIELDS: dict[str, int] = {"year": 2026, "yy": 26, "month": 3, "seq": 42}


def check_numbering(pattern: str) -> str:
    """``pattern`` if it is a usable certificate numbering pattern, e.g. ``{year}/HC-{seq:05d}``: Python format
    fields among ``year``, ``yy``, ``month`` and ``seq`` (the running number, required so that numbers differ);
    :class:`CellError` otherwise."""
    allowed = ", ".join("{" + name + "}" for name in NUMBERING_FIELDS)
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
        unknown = [name for name in names if name not in NUMBERING_FIELDS]
        if unknown:
            raise CellError(msg("numbering.unknown", placeholder="{" + unknown[0] + "}", allowed=allowed))
        if "seq" not in names:
            raise CellError(msg("numbering.no_seq", pattern=pattern))
        pattern.format(**NUMBERING_FIELDS)
    except (ValueError, IndexError, KeyError) as exc:
        if isinstance(exc, CellError):
            raise
        raise CellError(msg("numbering.bad", pattern=pattern, detail=str(exc))) from None
    return pattern


_LAB_LENGTHS = lengths(Laboratory)


class _LaboratoryImporter(_RecordImporter):
    """The laboratory: one row, the registry's one laboratory (created, or updated with ``--update``)."""

    model = Laboratory
    key_column = "name"
    what = "what.laboratory"

    def registered(self) -> dict[str, int]:
        first = self.session.scalars(select(Laboratory.id).order_by(Laboratory.id).limit(1)).first()
        return {} if first is None else {"laboratory": first}

    def validate(self, row: int, cells: Sequence[Cell]) -> _Record | None:
        problems = len(self.report.rejected)
        values: dict[str, Any] = {}
        for column in ("name", "address", "accreditation_code", "designation_code", "phone", "email", "logo_path"):
            required = {"name": "required.lab_name", "address": "required.lab_address"}.get(column, "")
            values[column] = self.text(row, cells, column, _LAB_LENGTHS[column], required)
        for column in ("accreditation_code", "designation_code"):
            values[column] = values[column] or None
        for column in NUMBERING_COLUMNS:  # one pattern per series (decision 0450)
            numbering = self.text(row, cells, column, _LAB_LENGTHS[column])
            values[column] = self._cell(row, column, check_numbering, numbering) if numbering else ""
        if values["logo_path"] and not (self.source_dir / Path(values["logo_path"])).is_file():
            self.note(row, "logo_path", msg("lab.logo_missing", path=values["logo_path"]))
        if len(self.report.rejected) > problems:
            return None
        for column in ("designation_code", "phone", "email", "logo_path", *NUMBERING_COLUMNS[1:]):
            if column not in self.columns.index:
                del values[column]
        return _Record(row, "", None, values, ("", "", "laboratory"))

    def accept(self, row: Any) -> bool:
        if row.key[2] in self.seen:
            self.reject(
                row.row,
                "name",
                msg("lab.one_only", first=self.seen["laboratory"]),
            )
            return False
        return super().accept(row)

    def make(self, row: _Record) -> Base:
        return Laboratory(**row.values)


def import_laboratory(
    session: Session,
    path: Path | str,
    *,
    today: date | None = None,
    dry_run: bool = False,
    update: bool = False,
    catalogue: Catalogue | None = None,
) -> ImportReport:
    """Register the laboratory from ``path`` (one row: name, address, accreditation code, calibration certificate
    numbering pattern; optional designation code, phone, email, logo path, verification and notice numbering
    patterns). With ``update`` the registered laboratory is
    updated from the row."""
    return import_records(
        _LaboratoryImporter,
        LABORATORY,
        "laboratory",
        session,
        path,
        catalogue=catalogue,
        today=today,
        dry_run=dry_run,
        update=update,
    )


def _require_laboratory(session: Session) -> Laboratory:
    """The registered laboratory (the CMC table's owner); ImportFileError when there is none yet."""
    lab = session.scalars(select(Laboratory).order_by(Laboratory.id).limit(1)).first()
    if lab is None:
        raise ImportFileError(msg("lab.none"))
    return lab


# --- the CMC table -----------------------------------------------------------------------------------------------

CMC = schema(
    ("quantity", "range", "cmc", "method"),
    ("field", "instrument_kind"),
    {
        "quantity": ("measurand", "đại lượng", "đại lượng đo"),
        "range": ("measuring range", "phạm vi đo", "phạm vi", "khoảng đo"),
        "cmc": (
            "cmc value",
            "calibration and measurement capability",
            "khả năng đo và hiệu chuẩn",
            "độ không đảm bảo đo",
            "cmc (u)",
        ),
        "method": (
            "method reference",
            "procedure",
            "method/procedure",
            "phương pháp",
            "quy trình",
            "phương pháp/quy trình",
            "phương pháp hiệu chuẩn",
        ),
        "field": ("metrology field", "lĩnh vực", "lĩnh vực đo"),
        "instrument_kind": ("instrument", "instrument kind", "phương tiện đo", "đối tượng", "tên phương tiện đo"),
    },
    {
        "quantity": "đại lượng",
        "range": "phạm vi đo",
        "cmc": "cmc",
        "method": "phương pháp",
        "field": "lĩnh vực",
        "instrument_kind": "phương tiện đo",
    },
    "CMC lines",
)

#: units that make a CMC relative, with their factor (a CMC of ``2 ppm`` is stored as 2e-6)
RELATIVE_UNITS: dict[str, Decimal] = {"%": Decimal("0.01"), "ppm": Decimal("1e-6"), "‰": Decimal("0.001")}
_CMC_LENGTHS = lengths(CmcEntry)


class _CmcImporter(_RecordImporter):
    """CMC lines of the registered laboratory, one per quantity, instrument kind and range."""

    model = CmcEntry
    key_column = "range"
    what = "what.cmc"

    def registered(self) -> dict[str, int]:
        self.laboratory = _require_laboratory(self.session)
        return {
            self._cmc_key(e.field.value, e.quantity, e.instrument_kind, e.range_min, e.range_max, e.range_unit): e.id
            for e in self.session.scalars(select(CmcEntry).where(CmcEntry.laboratory_id == self.laboratory.id))
        }

    @staticmethod
    def _cmc_key(field: str, quantity: str, kind: str, low: float, high: float, unit: str) -> str:
        return f"{field}|{_key(quantity)}|{_key(kind)}|{low!r}|{high!r}|{unit}"

    def validate(self, row: int, cells: Sequence[Cell]) -> _Record | None:
        problems = len(self.report.rejected)
        get = self.columns.get
        quantity = self.text(row, cells, "quantity", _CMC_LENGTHS["quantity"], "required.cmc_quantity")
        kind = self.text(row, cells, "instrument_kind", _CMC_LENGTHS["instrument_kind"])
        method = self.text(row, cells, "method", _CMC_LENGTHS["method_reference"], "required.cmc_method")
        chosen = self._cell(row, "field", parse_field, get(cells, "field"))
        field = chosen or infer_field(f"{quantity} {kind}")
        measured = self._range(row, get(cells, "range"))
        cmc = self._cmc(row, get(cells, "cmc"), measured[2] if measured else "")
        if len(self.report.rejected) > problems or measured is None or cmc is None:
            return None
        values = {
            "field": field,
            "quantity": quantity,
            "instrument_kind": kind,
            "range_min": measured[0],
            "range_max": measured[1],
            "range_unit": measured[2],
            "cmc": cmc[0],
            "cmc_unit": cmc[1],
            "cmc_relative": cmc[2],
            "method_reference": method,
        }
        key = self._cmc_key(field.value, quantity, kind, measured[0], measured[1], measured[2])
        return _Record(row, "", None, values, ("", "", key))

    def _range(self, row: int, value: Cell) -> tuple[float, float, str] | None:
        if _is_blank(value):
            self.reject(row, "range", msg("required.cmc_range"))
            return None
        try:
            parsed = parse_range(clean_text(value))
        except CellError as exc:
            self.reject(row, "range", exc.message)
            return None
        if parsed is None or not parsed.unit:
            self.reject(row, "range", msg("cmc.not_range", text=clean_text(value)))
            return None
        return float(parsed.low if parsed.low is not None else 0), float(parsed.high), parsed.unit

    def _cmc(self, row: int, value: Cell, range_unit: str) -> tuple[float, str, bool] | None:
        """The CMC as stored: (value, unit, relative). ``0,1 mg`` is absolute; ``2 ppm``, ``0,01 %`` relative."""
        if _is_blank(value):
            self.reject(row, "cmc", msg("required.cmc"))
            return None
        try:
            number, unit = parse_quantity(value)
        except CellError as exc:
            self.reject(row, "cmc", exc.message)
            return None
        if number <= 0:
            self.reject(row, "cmc", msg("cmc.not_positive", number=number))
            return None
        if unit in RELATIVE_UNITS:
            return float(number * RELATIVE_UNITS[unit]), "", True
        if not unit:
            self.reject(row, "cmc", msg("cmc.no_unit", number=number))
            return None
        if range_unit and convert(Decimal(1), unit, range_unit, difference=True) is None:
            self.reject(row, "cmc", msg("cmc.dimension", unit=unit, range_unit=range_unit))
            return None
        return float(number), unit, False

    def make(self, row: _Record) -> Base:
        return CmcEntry(laboratory_id=self.laboratory.id, **row.values)


def import_cmc(
    session: Session,
    path: Path | str,
    *,
    today: date | None = None,
    dry_run: bool = False,
    update: bool = False,
    catalogue: Catalogue | None = None,
) -> ImportReport:
    """Import the registered laboratory's CMC lines from ``path`` (quantity, range with unit, CMC with unit or
    relative, method; optional field and instrument kind). A line with the same quantity, instrument kind and range
    as a registered one is a rejected row, or with ``update`` updates its CMC and method."""
    return import_records(
        _CmcImporter, CMC, "cmc_entry", session, path, catalogue=catalogue, today=today, dry_run=dry_run, update=update
    )
