"""Importing a centre's reference standards and their certificate history.

A standard is one row (code, name, kind, field, range, class, resolution, driver model and address). A certificate
is one or more rows, one per certified value, grouped by (standard, issuer, number): a weight set's certificate
has a row per piece (nominal, conventional mass or its correction, U, k, class, density); a thermo-hygro-barometer's
a row per quantity (temperature, humidity, pressure) with its U. A certificate is imported whole or not at all: a
rejected value row rejects every row of its certificate. A certificate that a run has used is never changed.

Weight-set values are stored in g (``acquisition.procedures.weightset`` reads them so): ``point`` nominal,
``value`` conventional mass, ``U`` at ``k``, optional ``label``, ``class`` (OIML R111-1 class) and ``density``
(kg/m³).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.importer.cells import (
    Cell,
    CellError,
    _is_blank,
    clean_text,
    parse_bool,
    parse_quantity,
    parse_range,
)
from registry.importer.fields import infer_field, parse_field
from registry.importer.messages import msg
from registry.importer.records import Catalogue, _Record, _RecordImporter, import_records, lengths, schema
from registry.importer.report import ImportReport
from registry.models import Base, ReferenceStandard
from registry.units import convert

#: the kind a weight set is registered as (the cg-18, R76 and R111 procedures' ``weights`` role)
WEIGHT_SET = "weight set"

STANDARDS = schema(
    ("code", "name", "kind", "range"),
    (
        "field",
        "manufacturer",
        "model",
        "serial_number",
        "accuracy_class",
        "resolution",
        "driver_model",
        "address",
        "traceability",
        "active",
    ),
    {
        "code": ("standard code", "inventory number", "mã chuẩn", "mã số chuẩn", "ký hiệu chuẩn", "mã"),
        "name": ("standard", "standard name", "tên chuẩn", "tên chuẩn đo lường", "tên"),
        "kind": ("standard kind", "type of standard", "loại chuẩn", "loại"),
        "range": ("measuring range", "phạm vi đo", "phạm vi", "khoảng đo"),
        "field": ("metrology field", "lĩnh vực", "lĩnh vực đo"),
        "manufacturer": ("maker", "make", "hãng sản xuất", "hãng sx", "nhà sản xuất"),
        "model": ("type", "kiểu", "kiểu loại"),
        "serial_number": ("serial", "serial no", "s/n", "số sản xuất", "số sx", "số máy"),
        "accuracy_class": ("class", "accuracy", "cấp chính xác", "ccx"),
        "resolution": ("scale interval", "d", "độ phân giải", "giá trị độ chia"),
        "driver_model": ("driver", "driver model", "trình điều khiển", "giao thức"),
        "address": ("driver address", "url", "connection", "địa chỉ kết nối", "cổng kết nối"),
        "traceability": ("traced to", "liên kết chuẩn", "dẫn xuất từ", "nguồn liên kết"),
        "active": ("in use", "đang sử dụng", "còn sử dụng"),
    },
    {
        "code": "mã chuẩn",
        "name": "tên chuẩn",
        "kind": "loại chuẩn",
        "range": "phạm vi đo",
        "field": "lĩnh vực",
        "manufacturer": "hãng sản xuất",
        "model": "kiểu",
        "serial_number": "số sản xuất",
        "accuracy_class": "cấp chính xác",
        "resolution": "độ phân giải",
        "driver_model": "trình điều khiển",
        "address": "địa chỉ kết nối",
        "traceability": "liên kết chuẩn",
        "active": "đang sử dụng",
    },
    "standards",
)
_STD_LENGTHS = lengths(ReferenceStandard)


class _StandardImporter(_RecordImporter):
    """Reference standards by code."""

    model = ReferenceStandard
    key_column = "code"
    what = "what.standard"

    def registered(self) -> dict[str, int]:
        return {s.code: s.id for s in self.session.scalars(select(ReferenceStandard))}

    def validate(self, row: int, cells: Sequence[Cell]) -> _Record | None:
        problems = len(self.report.rejected)
        get = self.columns.get
        t: dict[str, str] = {}
        required = {
            "code": "required.standard_code",
            "name": "required.standard_name",
            "kind": "required.standard_kind",
        }
        for column in (
            "code",
            "name",
            "kind",
            "manufacturer",
            "model",
            "serial_number",
            "accuracy_class",
            "driver_model",
            "address",
        ):
            t[column] = self.text(row, cells, column, _STD_LENGTHS[column], required.get(column, ""))
        traceability = self.text(row, cells, "traceability", 2000)
        if t["code"] and " " in t["code"]:
            self.reject(row, "code", msg("code.space", code=t["code"]))
        kinds = self.catalogue.standard_kinds
        if t["kind"] and kinds and t["kind"] not in kinds:
            self.note(row, "kind", msg("standard.kind_unused", kind=t["kind"], kinds=", ".join(kinds)))
        field = self._cell(row, "field", parse_field, get(cells, "field")) or infer_field(f"{t['kind']} {t['name']}")
        measured = self._range(row, get(cells, "range"))
        resolution = self._resolution(row, get(cells, "resolution"), measured[2] if measured else "")
        model = t["driver_model"].casefold().replace(" ", "-").replace("_", "-")
        if model and self.catalogue.driver_models and model not in self.catalogue.driver_models:
            self.reject(
                row,
                "driver_model",
                msg("standard.not_driver", model=t["driver_model"], drivers=", ".join(self.catalogue.driver_models)),
            )
        if bool(model) != bool(t["address"]):
            missing = "address" if model else "driver_model"
            self.reject(
                row,
                missing,
                msg("standard.driver_and_address"),
            )
        elif t["address"] and self.catalogue.check_address is not None:
            try:
                self.catalogue.check_address(t["address"])
            except ValueError as exc:
                self.reject(row, "address", msg("standard.bad_address", detail=str(exc)))
        active = True
        if "active" in self.columns.index and not _is_blank(get(cells, "active")):
            active = bool(self._cell(row, "active", parse_bool, get(cells, "active")))
        if len(self.report.rejected) > problems or measured is None:
            return None
        values: dict[str, Any] = {
            "code": t["code"],
            "name": t["name"],
            "kind": t["kind"],
            "field": field,
            "manufacturer": t["manufacturer"],
            "model": t["model"],
            "serial_number": t["serial_number"],
            "range_min": measured[0],
            "range_max": measured[1],
            "range_unit": measured[2],
            "accuracy_class": t["accuracy_class"],
            "resolution": resolution,
            "driver_model": model,
            "address": t["address"],
            "traceability": traceability,
            "active": active,
        }
        for column in STANDARDS.optional:
            if column not in self.columns.index and column in values and column != "field":
                del values[column]
        return _Record(row, "", None, values, ("", "", t["code"]))

    def _range(self, row: int, value: Cell) -> tuple[float | None, float | None, str] | None:
        if _is_blank(value):
            return None, None, ""
        try:
            parsed = parse_range(clean_text(value))
        except CellError as exc:
            self.reject(row, "range", exc.message)
            return None
        if parsed is None:
            self.reject(row, "range", msg("standard.not_range", text=clean_text(value)))
            return None
        low = float(parsed.low) if parsed.low is not None else None
        return low, float(parsed.high), parsed.unit

    def _resolution(self, row: int, value: Cell, range_unit: str) -> float | None:
        if _is_blank(value):
            return None
        try:
            number, unit = parse_quantity(value)
        except CellError as exc:
            self.reject(row, "resolution", exc.message)
            return None
        if unit and range_unit and unit != range_unit:
            converted = convert(number, unit, range_unit, difference=True)
            if converted is None:
                self.reject(row, "resolution", msg("standard.resolution_unit", unit=unit, range_unit=range_unit))
                return None
            number = converted
        return float(number)

    def make(self, row: _Record) -> Base:
        return ReferenceStandard(**row.values)


def import_standards(
    session: Session,
    path: Path | str,
    *,
    today: date | None = None,
    dry_run: bool = False,
    update: bool = False,
    catalogue: Catalogue | None = None,
) -> ImportReport:
    """Import reference standards from ``path`` (code, name, kind, range; optional field, manufacturer, model,
    serial number, class, resolution, driver model and address, traceability, active). The driver model and the
    address are checked against ``catalogue``; a kind no procedure uses is imported with a note."""
    return import_records(
        _StandardImporter,
        STANDARDS,
        "reference_standard",
        session,
        path,
        catalogue=catalogue,
        today=today,
        dry_run=dry_run,
        update=update,
    )
