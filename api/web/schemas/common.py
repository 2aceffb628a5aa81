"""Models shared by every router."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PublicModel(BaseModel):
    """Base of response models: built from ORM rows by attribute."""

    model_config = ConfigDict(from_attributes=True)


class CreateModel(BaseModel):
    """Base of request models: unknown fields are refused (a typo is an error, not silently dropped)."""

    model_config = ConfigDict(extra="forbid")


class ImportIssuePublic(PublicModel):
    """One problem with one cell of an imported spreadsheet."""

    row: int = Field(description="Spreadsheet row (the header is row 1).")
    column: str = Field(description="The import's column name.")
    header: str = Field(description="The file's header text of that column.")
    code: str = Field(description="Stable message code.")
    reason: str = Field(description="What is wrong, in the request's language.")


class ImportReportPublic(PublicModel):
    """What a spreadsheet import did (or, for a dry run, would do): counts and each rejected row's reason."""

    file: str
    sha256: str
    format: str
    dry_run: bool
    update: bool
    records: str
    rows: int
    imported: int
    updated: int
    unchanged: int
    customers_created: list[dict[str, Any]]
    rejected: list[ImportIssuePublic]
    warnings: list[ImportIssuePublic]
    summary: str
