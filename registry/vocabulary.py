"""Registry vocabulary that needs no database library: metrology fields and how names are compared.

Kept apart from ``registry.models`` so the command line can offer the fields in ``--help`` without loading
SQLAlchemy.
"""

from __future__ import annotations

import enum
import unicodedata


class MetrologyField(enum.StrEnum):
    """Metrology fields used in statistics (lĩnh vực đo lường)."""

    MASS = "mass"
    VOLUME_FLOW = "volume-flow"
    ELECTRICAL = "electrical"
    TEMPERATURE = "temperature"
    PRESSURE = "pressure"
    LENGTH = "length"
    OTHER = "other"


def name_key(text: str) -> str:
    """Case-, space- and Unicode-form-insensitive key of a name or serial typed by people (NFC, casefolded)."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())
