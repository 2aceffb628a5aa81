"""What an import did (or, for a dry run, would do): the rows rejected with their reasons, the warnings, the counts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from registry.importer.messages import Language, Message, msg, noun


@dataclass(frozen=True)
class RowIssue:
    """A problem with one cell: spreadsheet ``row`` (header = row 1), ``column`` (canonical name), the file's
    ``header`` text for that column, and the ``message`` (:mod:`registry.importer.messages`: a code and its
    arguments, in Vietnamese or English by :meth:`text`)."""

    row: int
    column: str
    header: str
    message: Message

    @property
    def code(self) -> str:
        """The message's stable code (``required.serial_number``)."""
        return self.message.code

    @property
    def reason(self) -> str:
        """The reason in English."""
        return self.message.text("en")

    def text(self, language: Language = "vi") -> str:
        """The reason in ``language``."""
        return self.message.text(language)

    def as_dict(self, language: Language = "vi") -> dict[str, Any]:
        """``{"row", "column", "header", "code", "reason"}``, the reason in ``language``."""
        return {
            "row": self.row,
            "column": self.column,
            "header": self.header,
            "code": self.code,
            "reason": self.text(language),
        }


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

    def summary(self, language: Language = "vi") -> str:
        """One line for people, in ``language``: counts, and what the rejected rows mean for what was written."""
        n_bad = len(self.rejected_rows)
        counts = [msg("summary.to_import" if self.dry_run else "summary.imported", n=self.imported)]
        if self.update:
            counts.append(msg("summary.to_update" if self.dry_run else "summary.updated", n=self.updated))
            counts.append(msg("summary.unchanged", n=self.unchanged))
        counts.append(msg("summary.rejected", n=n_bad))
        if self.customers_created:
            n_new = len(self.customers_created)
            counts.append(msg("summary.new_customers" if n_new > 1 else "summary.new_customer", n=n_new))
        listed = ", ".join(c.text(language) for c in counts)
        head = "summary.rows_one" if self.rows == 1 else "summary.rows_many"
        if self.records == "certificate values":  # several value rows make one certificate, counted whole
            head = "summary.rows_certificates"
        text = msg(head, file=self.file, rows=self.rows, counts=listed).text(language)  # counts: in language already
        if self.dry_run:
            return text + " " + msg("summary.dry_run").text(language)
        if not n_bad:
            return text
        many = n_bad > 1
        if self.imported or self.updated:
            advice = msg("summary.partly_many" if many else "summary.partly_one")
        else:
            advice = msg("summary.none_many" if many else "summary.none_one", record=noun(self.records))
        return text + " " + advice.text(language)

    def to_dict(self, language: Language = "vi") -> dict[str, Any]:
        """The report as plain JSON-able data; each issue with its message ``code`` and its ``reason`` in
        ``language``, and the ``summary`` line in ``language``."""
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("write_seconds",)}
        doc["customers_created"] = [asdict(c) for c in self.customers_created]
        doc["rejected"] = [issue.as_dict(language) for issue in self.rejected]
        doc["warnings"] = [issue.as_dict(language) for issue in self.warnings]
        doc["rejected_rows"] = self.rejected_rows
        doc["ok"] = self.ok
        doc["language"] = language
        doc["summary"] = self.summary(language)
        return doc

    def to_json(self, language: Language = "vi") -> str:
        """The report as a JSON document (UTF-8 text kept as is), messages in ``language``."""
        return json.dumps(self.to_dict(language), ensure_ascii=False, indent=2)
