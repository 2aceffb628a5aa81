"""Registry vocabulary that needs no database library: metrology fields and how names are compared.

Kept apart from ``registry.models`` so the command line can offer the fields in ``--help`` without loading
SQLAlchemy.
"""

from __future__ import annotations

import enum
import re
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


def identity_part(text: str) -> str:
    """Key of a manufacturer, model or serial number in an instrument's identity: NFC, casefolded, every space
    removed (``B912 345`` and ``b912345`` are the same serial number)."""
    return "".join(unicodedata.normalize("NFC", text).casefold().split())


#: first characters that make a spreadsheet (Excel, LibreOffice) read a cell as a formula: OWASP "CSV Injection"
#: (https://owasp.org/www-community/attacks/CSV_Injection): equals, plus, minus, at, tab, carriage return
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:[.,]\d+)*|[.,]\d+)(?:[eE][-+]?\d+)?")


def spreadsheet_safe(text: str) -> str:
    """``text`` as a CSV or spreadsheet cell that cannot run as a formula: prefixed with a single quote when it
    starts with one of :data:`FORMULA_START` (the OWASP rule). Only text cells are passed here: numbers stay
    numbers."""
    return "'" + text if text.startswith(FORMULA_START) else text


def looks_like_formula(text: str) -> bool:
    """True for imported text that a spreadsheet would run as a formula: starts with one of :data:`FORMULA_START`,
    and is neither a plain number (``-5``, ``+84``) nor only dashes (``-``, ``--``: "none" in many lab lists)."""
    if not text.startswith(FORMULA_START):
        return False
    return not (_PLAIN_NUMBER.fullmatch(text) or set(text) <= set("-–— "))
