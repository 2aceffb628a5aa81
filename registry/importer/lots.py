"""Importing prepackage lots (a packer's lot of prepackages to be checked): the lot columns, a row's checks, and
the rule that a lot already checked in a run is never changed by an import."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from registry.importer.base import _Importer, _key, _Row
from registry.importer.cells import (
    Cell,
    CellError,
    _cell_number,
    _is_blank,
    clean_text,
    parse_date,
    parse_number,
    parse_quantity,
    parse_tax_code,
)
from registry.importer.driver import _import, _import_concurrently
from registry.importer.headers import _IGNORED, COLUMN_ALIASES, Schema, _header_keys
from registry.importer.messages import Quantity, msg
from registry.importer.report import ImportReport
from registry.models import LOT_UNITS, Base, Customer, PrepackageLot, Run
from registry.units import canonical_unit

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
_NAME_LENGTH = next(int(getattr(c.type, "length", 0) or 0) for c in Customer.__table__.columns if c.name == "name")
_LOT_LENGTHS = {
    c.name: int(getattr(c.type, "length", 0) or 0)
    for c in PrepackageLot.__table__.columns
    if getattr(c.type, "length", None)
}


def parse_lot_size(value: Cell) -> int:
    """The number of prepackages in a lot: a whole number > 0 (``500``, ``500 gói``)."""
    if _is_blank(value):
        raise CellError(msg("lot_size.required"))
    if isinstance(value, str):
        text = clean_text(value)
        match = re.fullmatch(r"(?P<n>\S+?)\s*(?:gói|packages?|pcs|cái|hộp|chai|túi)?", text, flags=re.IGNORECASE)
        if not match:
            raise CellError(msg("lot_size.not_count", text=text))
        number = parse_number(match["n"])
    else:
        number = _cell_number(value)
    if number != number.to_integral_value() or number < 1:
        raise CellError(msg("lot_size.not_whole", number=number))
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
        super().load()
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
                self.reject(row, column, exc.message)
                texts[column] = ""
                continue
            limit = _NAME_LENGTH if column == "packer" else _LOT_LENGTHS[column]
            self.flag_formula(row, column, texts[column])
            if len(texts[column]) > limit:
                self.reject(row, column, msg("cell.too_long", limit=limit, length=len(texts[column])))
            elif not texts[column] and column in LOT_REQUIRED_COLUMNS:
                self.reject(row, column, msg(f"required.{column}"))  # packer, product, lot_number
        tax_code = self._cell(row, "packer_tax_code", parse_tax_code, get(cells, "packer_tax_code"))
        size = self._cell(row, "lot_size", parse_lot_size, get(cells, "lot_size"))
        nominal = self._nominal(row, get(cells, "nominal_quantity"), get(cells, "nominal_unit"))
        packed = self._cell(row, "packed_on", lambda v: parse_date(v, self.today), get(cells, "packed_on"))
        sampled = self._cell(row, "sampled_on", lambda v: parse_date(v, self.today), get(cells, "sampled_on"))
        if packed and sampled and sampled < packed:
            self.reject(
                row,
                "sampled_on",
                msg("lot.sampled_before_packed", sampled=sampled, packed=packed),
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
            self.reject(row, "nominal_quantity", exc.message)
            return None
        if value is None:
            self.reject(row, "nominal_quantity", msg("required.nominal"))
            return None
        unit = canonical_unit(unit) if unit else ""
        if unit and column_unit and unit != column_unit:
            self.reject(row, "nominal_unit", msg("nominal.unit_conflict", unit=unit, column_unit=column_unit))
            return None
        unit = unit or column_unit
        if unit not in LOT_UNITS:
            self.reject(
                row,
                "nominal_unit" if "nominal_unit" in self.columns.index else "nominal_quantity",
                msg("nominal.bad_unit", unit=unit) if unit else msg("nominal.no_unit"),
            )
            return None
        if value <= 0:
            self.reject(row, "nominal_quantity", msg("nominal.not_positive", quantity=Quantity(value, unit)))
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
            self.reject(row.row, "lot_number", msg("lot.twice", number=number, packer=row.owner.name, first=first))
            return False
        existing = row.owner.existing
        lot_id = self.lots.get((existing.id, row.key[2])) if existing is not None else None
        if existing is None or lot_id is None:  # a new lot (a row with another packer is another lot)
            return True
        runs = self.runs.get(lot_id, [])
        if not self.update:
            code = "lot.registered_checked" if runs else "lot.registered"
            self.reject(row.row, "lot_number", msg(code, id=str(lot_id), number=number, packer=existing.name))
            return False
        row.existing_id = lot_id
        changed = [self.columns.name(name) for name in self.differences(row)[1]] if runs else []
        if changed:
            self.reject(
                row.row,
                "lot_number",
                msg(
                    "lot.checked_many" if len(runs) > 1 else "lot.checked_once",
                    id=str(lot_id),
                    number=number,
                    packer=existing.name,
                    runs=", ".join(runs),
                    changed=", ".join(changed),
                ),
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
