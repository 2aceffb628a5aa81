"""A standard's certificate read from its own document (a DCC) rather than a spreadsheet: its value rows go through
the certificate import's own checks (:mod:`registry.importer.certificates`), whole or not at all, audited as an
``import`` naming the document; the record keeps the document's file name and SHA-256. The document is read above
the registry (``certificates/read_dcc.py``, ``certificates/standard_dcc.py``: decision 0460)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from registry.importer.cells import Cell
from registry.importer.certificates import CERTIFICATES, _CertificateImporter
from registry.importer.records import Catalogue, _Record, import_rows
from registry.importer.report import ImportReport
from registry.models import Base, StandardCertificate


class _DocumentCertificateImporter(_CertificateImporter):
    """A certificate read from its own document (a DCC): the record keeps the document's file name and SHA-256."""

    file_name = ""
    file_sha256: str | None = None

    def make(self, row: _Record) -> Base:
        return StandardCertificate(
            values=row.children, file_name=self.file_name[:200], file_sha256=self.file_sha256, **row.values
        )


def import_certificate_document(
    session: Session,
    rows: Sequence[dict[str, Cell]],
    *,
    source: str,
    sha256: str,
    today: date | None = None,
    dry_run: bool = False,
    catalogue: Catalogue | None = None,
) -> ImportReport:
    """Import one standard's certificate read from a document (``source``, e.g. a DCC file, with its SHA-256):
    ``rows`` are the certificate's value rows by the columns of :func:`import_certificates` (standard, number,
    issuer, calibrated_on, valid_until, uncertainty, ...), checked exactly as spreadsheet rows, written whole or not
    at all with an ``import`` audit event naming the document, and the record keeps the file name and hash. A
    certificate already registered (same issuer and number) is rejected (no ``update``)."""
    name = Path(source).name

    class _ThisDocument(_DocumentCertificateImporter):
        file_name = name
        file_sha256 = sha256

    return import_rows(
        _ThisDocument,
        CERTIFICATES,
        "standard_certificate",
        session,
        rows,
        source=source,
        digest=sha256,
        source_format="dcc",
        catalogue=catalogue,
        today=today,
        dry_run=dry_run,
    )
