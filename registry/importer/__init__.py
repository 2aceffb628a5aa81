"""Import customers' measuring instruments and prepackage lots from a lab's spreadsheet (CSV or Excel .xlsx).

Labs keep their instrument lists in spreadsheets. :func:`import_instruments` reads one (English or Vietnamese
headers; CSV in UTF-8, UTF-8 with BOM, UTF-16 or Windows-1258, delimited by ``,``, ``;`` or tab; or the sheet
"instruments" / the first sheet of an .xlsx), validates every row, and adds the good rows in one transaction. Bad
rows are reported with their spreadsheet row number (header = row 1), column and reason; nothing is ever
half-written. :func:`import_lots` does the same for prepackage lots. ``docs/registry-import.md`` describes the format
for users.

Numbers accept a decimal point or a decimal comma (``2,5``); a lone separator followed by exactly three digits
(``1.000``, ``2,500``) is refused as ambiguous (thousands separator or decimal?). Units are normalised (``m3`` ->
``m³``, ``oC`` -> ``°C``, ``ml`` -> ``mL``) and a resolution is stored in the range's unit, converted by SI prefix or
an exact factor when the units differ (``0.1 mg`` with a range in ``g`` -> 0.0001), by the shared
:mod:`registry.units`.

The package, by concern:

- :mod:`~registry.importer.sheets`: reading the file (CSV encodings and delimiters, .xlsx) and finding the header row
- :mod:`~registry.importer.headers`: the columns and their header aliases, a file's header -> column map
- :mod:`~registry.importer.cells`: parsing one cell (numbers, ranges, resolutions, dates, intervals, yes/no, tax code)
- :mod:`~registry.importer.fields`: the metrology field, named or inferred from the instrument's kind
- :mod:`~registry.importer.report`: the import report
- :mod:`~registry.importer.base`: rows, owners (customers) and writes shared by every kind of record
- :mod:`~registry.importer.driver`: the import itself (check, write in a savepoint, dry run, two transactions)
- :mod:`~registry.importer.instruments`, :mod:`~registry.importer.lots`: customers' instruments and lots
- :mod:`~registry.importer.records`: what the imports that set up a centre share (:class:`Catalogue`)
- :mod:`~registry.importer.laboratory`, :mod:`~registry.importer.staff`: the laboratory and its CMC table; staff
- :mod:`~registry.importer.standards`, :mod:`~registry.importer.certificates`: standards and their certificates
- :mod:`~registry.importer.documents`: one standard's certificate read from its document (a DCC)
"""

from __future__ import annotations

from registry.importer import base, driver, instruments, lots
from registry.importer.base import FLUSH_EVERY, INSERT_EVERY
from registry.importer.cells import (
    EARLIEST_DATE,
    MAX_INTERVAL_MONTHS,
    Cell,
    CellError,
    ParsedRange,
    add_months,
    clean_text,
    parse_bool,
    parse_date,
    parse_interval,
    parse_number,
    parse_quantity,
    parse_range,
    parse_tax_code,
)
from registry.importer.certificates import import_certificates
from registry.importer.documents import import_certificate_document
from registry.importer.fields import infer_field, parse_field
from registry.importer.headers import (
    COLUMN_ALIASES,
    INSTRUMENTS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    VIETNAMESE_HEADERS,
    Schema,
    column_for_header,
)
from registry.importer.instruments import import_instruments, import_instruments_concurrently
from registry.importer.laboratory import import_cmc, import_laboratory
from registry.importer.lots import (
    LOT_COLUMN_ALIASES,
    LOT_OPTIONAL_COLUMNS,
    LOT_REQUIRED_COLUMNS,
    LOT_VIETNAMESE_HEADERS,
    LOTS,
    import_lots,
    import_lots_concurrently,
    parse_lot_size,
)
from registry.importer.records import Catalogue
from registry.importer.report import CreatedCustomer, ImportReport, RowIssue
from registry.importer.sheets import HEADER_SEARCH_ROWS, MAX_FILE_BYTES, Sheet, read_sheet
from registry.importer.staff import import_staff
from registry.importer.standards import import_standards
from registry.units import canonical_unit, convert

__all__ = [
    "COLUMN_ALIASES",
    "EARLIEST_DATE",
    "FLUSH_EVERY",
    "HEADER_SEARCH_ROWS",
    "INSERT_EVERY",
    "INSTRUMENTS",
    "LOTS",
    "LOT_COLUMN_ALIASES",
    "LOT_OPTIONAL_COLUMNS",
    "LOT_REQUIRED_COLUMNS",
    "LOT_VIETNAMESE_HEADERS",
    "MAX_FILE_BYTES",
    "MAX_INTERVAL_MONTHS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "VIETNAMESE_HEADERS",
    "Catalogue",
    "Cell",
    "CellError",
    "CreatedCustomer",
    "ImportReport",
    "ParsedRange",
    "RowIssue",
    "Schema",
    "Sheet",
    "add_months",
    "base",
    "canonical_unit",
    "clean_text",
    "column_for_header",
    "convert",
    "driver",
    "import_certificate_document",
    "import_certificates",
    "import_cmc",
    "import_instruments",
    "import_instruments_concurrently",
    "import_laboratory",
    "import_lots",
    "import_lots_concurrently",
    "import_staff",
    "import_standards",
    "infer_field",
    "instruments",
    "lots",
    "parse_bool",
    "parse_date",
    "parse_field",
    "parse_interval",
    "parse_lot_size",
    "parse_number",
    "parse_quantity",
    "parse_range",
    "parse_tax_code",
    "read_sheet",
]
