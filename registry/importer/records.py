"""What the imports that set up a centre share (laboratory, CMC table, staff, reference standards and their
certificates): records that belong to no customer, matched to registered ones by a key, checked against what the
caller knows of the procedures and drivers (:class:`Catalogue`: the registry layer imports neither), and written
all or nothing by the same driver as instruments and lots (:mod:`registry.importer.driver`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from registry.importer.base import _Importer, _Row
from registry.importer.cells import EARLIEST_DATE, Cell, CellError, _date_from_text, _is_blank, clean_text
from registry.importer.driver import _check, _prepare, _Prepared, _write
from registry.importer.headers import _IGNORED, COLUMN_ALIASES, Schema, _Columns, _header_keys
from registry.importer.messages import msg
from registry.importer.report import ImportReport
from registry.models import Base, Customer


@dataclass(frozen=True)
class Catalogue:
    """What the software offers that a centre's records must name correctly, given by the caller (the api layer):
    the procedure ids (``acquisition.procedures.procedure_ids``), the reference-standard kinds the procedures' roles
    accept, the driver model names (``drivers.registry.models``), a check of a driver address URL (raises
    ValueError saying what is wrong) and a check of a weight against its class. Empty means "not checked"."""

    procedures: tuple[str, ...] = ()
    standard_kinds: tuple[str, ...] = ()
    driver_models: tuple[str, ...] = ()
    check_address: Callable[[str], object] | None = None
    #: a weight-set piece against its class: (nominal g, conventional mass − nominal g, U g at k = 2, class) -> ""
    #: when it conforms, else a note saying why (the api layer gives OIML R111-1:2004 5.2 and 5.3.1, Table 1)
    check_piece: Callable[[float, float, float, str], str] | None = None


@dataclass
class _Record(_Row):
    """A validated row of a centre's record; ``children`` are the rows of a child table it brings (a member of
    staff's authorisations, a certificate's values)."""

    children: list[dict[str, Any]] = field(default_factory=list)


def schema(
    required: tuple[str, ...],
    optional: tuple[str, ...],
    aliases: dict[str, tuple[str, ...]],
    vietnamese: dict[str, str],
    records: str,
) -> Schema:
    """A :class:`Schema` whose columns ``STT``, ``Ghi chú``... are ignored as in every other import."""
    return Schema(
        required, optional, _header_keys({**aliases, _IGNORED: COLUMN_ALIASES[_IGNORED]}), vietnamese, records
    )


def any_date(value: Cell) -> date | None:
    """A date that may lie in the future (a validity end): the forms :func:`registry.importer.cells.parse_date`
    accepts, from 1950 on; None when empty."""
    if _is_blank(value):
        return None
    if hasattr(value, "date") and callable(value.date):
        found = value.date()
    elif isinstance(value, date):
        found = value
    elif isinstance(value, str):
        found = _date_from_text(clean_text(value))
    else:
        raise CellError(msg("date.not_date_value", value=str(value)))
    if not isinstance(found, date) or found < EARLIEST_DATE:
        raise CellError(msg("date.too_early_short", value=str(value), year=str(EARLIEST_DATE.year)))
    return found


def split_list(value: Cell) -> list[str]:
    """A list written in one cell: items separated by ``,``, ``;``, ``/``, ``+`` or new lines; empty items dropped."""
    text = clean_text(value)
    return [item.strip() for item in re.split(r"[,;/+\n]", text) if item.strip()]


class _RecordImporter(_Importer):
    """One import of a centre's records: registered ones by key, rows matched to them, the writes.

    A subclass says which table it writes (:attr:`model`), which column names a row (:attr:`key_column`), loads
    the registered records' keys (:meth:`registered`), validates a row (:meth:`validate`) and builds a record
    (:meth:`make`); :meth:`write_children` writes what a row brings for a child table."""

    key_column: str
    what: str  # the message code of what a record is ("what.staff": member of staff), for messages
    catalogue = Catalogue()
    source_dir = Path()  # the spreadsheet's folder: relative paths in it (a logo) are read from there

    def load(self) -> None:
        self.seen: dict[str, int] = {}
        self.existing: dict[str, int] = self.registered()

    def registered(self) -> dict[str, int]:
        """Key -> id of every registered record of this kind."""
        raise NotImplementedError

    def rebind(self, session: Session) -> None:
        self.session = session

    def accept(self, row: _Row) -> bool:
        """True for a row naming a new record, or a registered one when updating (``existing_id`` set)."""
        key = row.key[2]
        first = self.seen.setdefault(key, row.row)
        if first != row.row:
            self.reject(row.row, self.key_column, msg("record.twice", what=msg(self.what), first=first))
            return False
        existing = self.existing.get(key)
        if existing is None:
            return True
        if not self.update:
            self.reject(
                row.row,
                self.key_column,
                msg("record.registered", what=msg(self.what), id=str(existing)),
            )
            return False
        row.existing_id = existing
        return True

    def finish(self, rows: list[_Row]) -> list[_Row]:
        """The rows to write once every row is checked (a subclass drops rows whose group lost a row)."""
        return rows

    def make(self, row: _Record) -> Base:
        """A new record from a validated row."""
        raise NotImplementedError

    def write_children(self, record: Any, row: _Record) -> bool:
        """Write the row's children on ``record``; True when that changed something."""
        return False

    def children_differ(self, record: Any, row: _Record) -> bool:
        """True when writing the row's children would change ``record``."""
        return False

    def _differences(self, row: _Record) -> tuple[Any, dict[str, Any]]:
        record = self.session.get(self.model, row.existing_id)
        assert record is not None
        return record, {k: v for k, v in row.values.items() if getattr(record, k) != v}

    def apply(self, rows: list[_Row]) -> None:
        for row in rows:
            assert isinstance(row, _Record)
            if row.existing_id is None:
                record = self.make(row)
                self.session.add(record)
                self.write_children(record, row)
                self.report.imported += 1
                continue
            record, diff = self._differences(row)
            for name, value in diff.items():
                setattr(record, name, value)
            changed = self.write_children(record, row)
            if diff or changed:
                self.report.updated += 1
            else:
                self.report.unchanged += 1
        self.session.flush()

    def count_updates(self, rows: list[_Row]) -> None:
        for row in rows:
            assert isinstance(row, _Record)
            if row.existing_id is None:
                self.report.imported += 1
                continue
            record, diff = self._differences(row)
            if diff or self.children_differ(record, row):
                self.report.updated += 1
            else:
                self.report.unchanged += 1

    def write(self, row: _Row, owner: Customer) -> None:  # pragma: no cover - apply() does not call it
        raise NotImplementedError

    def text(self, row: int, cells: Sequence[Cell], column: str, limit: int, required: str = "") -> str:
        """A text cell, checked for length, formula look and (with ``required``: the code of the message saying
        what to write, ``required.lab_name``) presence."""
        try:
            text = clean_text(self.columns.get(cells, column))
        except CellError as exc:
            self.reject(row, column, exc.message)
            return ""
        self.flag_formula(row, column, text)
        if len(text) > limit:
            self.reject(row, column, msg("cell.too_long", limit=limit, length=len(text)))
        elif required and not text:
            self.reject(row, column, msg(required))
        return text


def lengths(*models: type[Base]) -> dict[str, int]:
    """Column name -> its length limit, for the string columns of ``models`` (later models win)."""
    return {
        c.name: int(getattr(c.type, "length", 0) or 0)
        for m in models
        for c in m.__table__.columns
        if getattr(c.type, "length", None)
    }


def import_records(
    kind: type[_RecordImporter],
    records_schema: Schema,
    table: str,
    session: Session,
    path: Path | str,
    *,
    catalogue: Catalogue | None,
    today: date | None,
    dry_run: bool,
    update: bool,
) -> ImportReport:
    """Check every row of ``path`` and write the good ones (or, for a dry run, count them) in a savepoint of
    ``session``, with one ``import`` audit event; see :func:`registry.importer.import_instruments`."""
    prepared = _prepare(records_schema, path, dry_run, update)
    importer = kind(session, prepared.report, prepared.columns, today or date.today(), update)
    importer.catalogue = catalogue or Catalogue()
    importer.source_dir = Path(path).resolve().parent
    accepted = importer.finish(_check(importer, prepared))
    prepared.report.rejected.sort(key=lambda issue: issue.row)
    if dry_run:
        importer.count_updates(accepted)
        prepared.report.warnings.sort(key=lambda issue: issue.row)
        return prepared.report
    _write(importer, prepared, accepted, table, records_schema.records)
    return prepared.report


def import_rows(
    kind: type[_RecordImporter],
    records_schema: Schema,
    table: str,
    session: Session,
    rows: Sequence[dict[str, Cell]],
    *,
    source: str,
    digest: str,
    source_format: str,
    catalogue: Catalogue | None,
    today: date | None,
    dry_run: bool,
) -> ImportReport:
    """:func:`import_records` for rows that were not read from a spreadsheet but from another document (a DCC):
    ``rows`` map the schema's column names to cells (str, numbers or dates, as an .xlsx cell), checked by the same
    validation, written all or nothing in a savepoint of ``session`` with the same ``import`` audit event, which
    names ``source`` and its SHA-256 ``digest``. Row numbers in the report count from 2 (1 is the header)."""
    columns_used = list(dict.fromkeys(c for row in rows for c in row))
    name = Path(source).name
    report = ImportReport(name, digest, source_format, source, dry_run=dry_run, records=records_schema.records)
    columns = _Columns(1, columns_used, name, report, records_schema)
    body = [(n, [row.get(c) for c in columns_used]) for n, row in enumerate(rows, start=2)]
    prepared = _Prepared(Path(source), digest, report, columns, body)
    importer = kind(session, report, columns, today or date.today(), False)
    importer.catalogue = catalogue or Catalogue()
    accepted = importer.finish(_check(importer, prepared))
    report.rejected.sort(key=lambda issue: issue.row)
    if dry_run:
        importer.count_updates(accepted)
        report.warnings.sort(key=lambda issue: issue.row)
        return report
    _write(importer, prepared, accepted, table, records_schema.records)
    return report
