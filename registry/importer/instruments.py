"""Importing measuring instruments: a row's checks (texts, serial number, range and resolution in compatible units,
interval, calibration date, duplicates in the file and the registry), and how a new instrument is written."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from registry import audit
from registry.importer.base import _Importer, _Row
from registry.importer.cells import (
    Cell,
    CellError,
    ParsedRange,
    _cell_number,
    _is_blank,
    add_months,
    clean_text,
    parse_bool,
    parse_date,
    parse_interval,
    parse_quantity,
    parse_range,
    parse_tax_code,
)
from registry.importer.driver import _import, _import_concurrently
from registry.importer.fields import infer_field, parse_field
from registry.importer.headers import INSTRUMENTS, _Columns
from registry.importer.messages import Message, Quantity, msg
from registry.importer.report import ImportReport
from registry.models import Base, Customer, MeasuringInstrument, instrument_identity
from registry.units import convert, unit_info
from registry.vocabulary import identity_part

_ident = identity_part  # an instrument's identity: case and every space ignored (``B91 234`` = ``b91234``)

_NO_SERIAL = {"-", "--", "n/a", "na", "không", "không có", "ksn", "không số", "none", "?"}

_LENGTHS = {
    c.name: int(getattr(c.type, "length", 0) or 0)
    for c in (*MeasuringInstrument.__table__.columns, *Customer.__table__.columns)
    if getattr(c.type, "length", None)
}


class _InstrumentImporter(_Importer):
    """One instrument import: customers and instruments as registered, the rows' owners, and the writes."""

    model = MeasuringInstrument
    watched = ("customer", "measuring_instrument")
    #: new instruments are written by one multi-row INSERT per batch (and audited from the values written), not as
    #: ORM objects: the same rows and audit entries, several times faster
    bulk_insert = True

    def __init__(self, session: Session, report: ImportReport, columns: _Columns, today: date, update: bool) -> None:
        super().__init__(session, report, columns, today, update)
        self.existing: dict[tuple[str, str, str], tuple[int, str]] = {}
        self.seen: dict[tuple[str, str, str], int] = {}

    def load(self) -> None:
        super().load()
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
                self.reject(row, column, exc.message)
                texts[column] = ""
                unreadable.add(column)
                continue
            limit = _LENGTHS["name" if column == "customer" else column]
            if len(texts[column]) > limit:
                self.reject(row, column, msg("cell.too_long", limit=limit, length=len(texts[column])))
            self.flag_formula(row, column, texts[column])
        if not texts["customer"] and "customer" not in unreadable:
            self.reject(row, "customer", msg("required.customer_merged" if self.xlsx else "required.customer"))
        if not texts["kind"] and "kind" not in unreadable:
            self.reject(row, "kind", msg("required.kind"))
        serial = texts["serial_number"]
        if not serial:
            if "serial_number" not in unreadable:
                self.reject(row, "serial_number", msg("required.serial_number"))
        elif serial.casefold() in _NO_SERIAL:
            self.reject(row, "serial_number", msg("serial.placeholder", serial=serial))
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

    def _range_and_resolution(self, row: int, range_cell: Cell, resolution_cell: Cell) -> dict[str, Any] | None:
        ok = True
        try:
            range_text = clean_text(range_cell)
        except CellError as exc:
            self.reject(row, "range", exc.message)
            return None
        parsed: ParsedRange | None = None
        if isinstance(range_cell, int | float) and not isinstance(range_cell, bool):
            parsed = ParsedRange(None, _cell_number(range_cell), "")
        elif range_text:
            try:
                parsed = parse_range(range_text)
            except CellError as exc:
                self.reject(row, "range", exc.message)
                ok = False
            else:
                if parsed is None:
                    self.flag_formula(row, "range", range_text)
                    self.note(row, "range", msg("range.kept_as_text", text=range_text))
        if len(range_text) > _LENGTHS["range_text"]:
            self.reject(row, "range", msg("range.too_long", limit=_LENGTHS["range_text"]))
            ok = False
        unit = parsed.unit if parsed else ""
        resolution: Decimal | None = None
        resolution_unit = ""
        if not _is_blank(resolution_cell):
            try:
                res_value, res_unit = parse_quantity(resolution_cell)
            except CellError as exc:
                self.reject(row, "resolution", exc.message)
                return None
            if res_value <= 0:
                self.reject(row, "resolution", msg("resolution.not_positive", quantity=Quantity(res_value, res_unit)))
                return None
            if res_unit and parsed is not None and not unit:
                self.reject(row, "range", msg("range.no_unit", range=range_text, unit=res_unit))
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
            self.reject(row, "range", msg("range.unit_too_long", unit=unit, limit=_LENGTHS["range_unit"]))
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
            self.reject(row, "serial_number", msg("instrument.twice", described=described, first=first))
            return
        if key in self.existing and not self.update:
            inst_id, owner = self.existing[key]
            self.reject(
                row,
                "serial_number",
                msg("instrument.registered", id=str(inst_id), described=described, owner=owner),
            )

    def accept(self, row: _Row) -> bool:
        """True for a validated row that goes in: its owner resolved and, when updating, the record it updates set."""
        if self.update and row.key in self.existing:
            row.existing_id = self.existing[row.key][0]
        return self.resolve_owner(row)

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

    def build(self, row: _Row, owner: Customer) -> Base:
        """A new record from a validated row."""
        return _build_instrument(row, owner)


def _with_defaults(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each other column of ``table`` (but the primary key) at its scalar default, else None."""
    out = dict(values)
    for column in table.columns:
        if column.primary_key or column.key in out:
            continue
        default = column.default
        out[column.key] = default.arg if default is not None and default.is_scalar else None
    return out


def _unconvertible(source: str, target: str) -> Message:
    """Why a resolution in ``source`` cannot be kept with a range in ``target``."""
    a, b = unit_info(source), unit_info(target)
    if a and b and a[0] != b[0]:
        return msg(
            "resolution.other_quantity", source=source, source_quantity=a[0], target=target, target_quantity=b[0]
        )
    unknown = ", ".join(repr(u) for u, info in ((source, a), (target, b)) if info is None)
    return msg("resolution.unknown_unit", source=source, target=target, unknown=unknown)


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
    return _import(_InstrumentImporter, INSTRUMENTS, "measuring_instrument", session, path, today, dry_run, update)


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
        _InstrumentImporter, INSTRUMENTS, "measuring_instrument", engine, path, actor, today, dry_run, update
    )
