"""Registry writes from the service through the spreadsheet importers' own validation (never a second copy of it).

A record the API receives becomes a one-sheet CSV whose columns are the import's column names (as the CLI's single
commands do, ``api.cli.centre``), checked and written by ``registry.importer``: a record entered in the browser, by
an API client, a CLI command or a spreadsheet row passes the same checks and is audited alike. A rejected row is
answered as a 422 problem whose ``errors`` point at the request fields (:func:`rejected`).
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

from fastapi import Request
from sqlalchemy.orm import Session

from api.web.errors import ApiProblem, FieldProblem, pointer
from registry import importer
from registry.importer import ImportReport, RowIssue

Language = Literal["vi", "en"]
#: the importers that take the centre's catalogue (procedure ids, standard kinds, driver models)
_WITH_CATALOGUE = frozenset(
    {"import_laboratory", "import_cmc", "import_staff", "import_standards", "import_certificates"}
)


def language(request: Request) -> Language:
    """The language of messages: Vietnamese when the request prefers it (``Accept-Language: vi``), else English."""
    accepted = request.headers.get("accept-language", "").strip().casefold()
    return "vi" if accepted.startswith("vi") else "en"


def catalogue() -> Any:
    """What the centre's records must name correctly (procedure ids, standard kinds, driver models, addresses):
    the CLI's catalogue, one definition for both."""
    from api.cli.centre import catalogue as centre_catalogue  # noqa: PLC0415 - loads the procedures when needed

    return centre_catalogue()


def rejected(
    report: ImportReport, lang: Language, locate: Callable[[RowIssue], list[str | int]] | None = None
) -> ApiProblem:
    """The 422 problem for a record the importer rejected; ``locate`` maps an issue to the request key path (default:
    its column, which the Create models name alike)."""
    where = locate or (lambda issue: [issue.column])
    errors = [
        FieldProblem(
            location="body", pointer=pointer(where(issue)), loc=where(issue), detail=issue.text(lang), code=issue.code
        )
        for issue in report.rejected
    ]
    detail = "; ".join(f"{e.pointer}: {e.detail}" for e in errors) or report.summary(lang)
    return ApiProblem(422, "rejected", "Record rejected by the registry's checks", detail, errors=errors)


def write_rows(
    s: Session,
    function_name: str,
    rows: Sequence[dict[str, str]],
    *,
    today: date,
    update: bool,
    lang: Language,
    locate: Callable[[RowIssue], list[str | int]] | None = None,
    what: str = "api",
) -> ImportReport:
    """Write ``rows`` (one record, or a certificate's value rows) by ``registry.importer.<function_name>`` in
    ``s``'s transaction; a rejected row raises the 422 problem of :func:`rejected` (nothing written)."""
    columns = list(dict.fromkeys(c for row in rows for c in row))
    with tempfile.TemporaryDirectory(prefix="caltrace-api-") as folder:
        path = Path(folder) / f"{what}.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, delimiter="\t")
            writer.writerow(columns)
            writer.writerows([[row.get(c, "") for c in columns] for row in rows])
        do = getattr(importer, function_name)
        extra = {"catalogue": catalogue()} if function_name in _WITH_CATALOGUE else {}
        report: ImportReport = do(s, path, today=today, update=update, **extra)
    if report.rejected:
        raise rejected(report, lang, locate)
    return report


def import_file(
    s: Session, function_name: str, name: str, content: bytes, *, today: date, update: bool, dry_run: bool
) -> ImportReport:
    """Import an uploaded spreadsheet ``name`` (its content already bounded and checked by :mod:`api.web.uploads`)
    by ``registry.importer.<function_name>``: good rows in, bad rows in the report."""
    with tempfile.TemporaryDirectory(prefix="caltrace-api-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        do = getattr(importer, function_name)
        extra = {"catalogue": catalogue()} if function_name in _WITH_CATALOGUE else {}
        report: ImportReport = do(s, path, today=today, update=update, dry_run=dry_run, **extra)
        return report


def cell(value: object) -> str:
    """A request value as the importer reads a cell: None -> "", a bool -> yes/no, a date -> ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
