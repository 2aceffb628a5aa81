"""What an import did (or, for a dry run, would do): the rows rejected with their reasons, the warnings, the counts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


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
