"""The import driver: read the file, find its header and columns, check every row against the registry, and write
the good rows and the ``import`` audit event in one savepoint (all or nothing), or only count them for a dry run.
:func:`_import_concurrently` checks in a read transaction and holds the write lock only to write."""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from registry import audit
from registry.db import read_session, session_scope
from registry.errors import ImportFileError, RegistryError
from registry.importer.base import _Importer, _Row
from registry.importer.cells import Cell, _is_blank
from registry.importer.headers import Schema, _Columns
from registry.importer.messages import msg, noun
from registry.importer.report import CreatedCustomer, ImportReport
from registry.importer.sheets import _find_header, read_sheet
from registry.models import AuditHead

log = logging.getLogger(__name__)


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
        raise ImportFileError(msg("file.no_body", file=path.name, header_row=header_row, record=noun(schema.records)))
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
