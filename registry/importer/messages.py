"""Every message an import gives, in Vietnamese (the default) and English (caltrace issue 16, item 3).

A message is a stable ``code`` from :data:`CATALOGUE` with named arguments (:class:`Message`); its text is made
when it is shown, in the reader's language (:meth:`Message.text`). Numbers are written with a decimal comma in
Vietnamese (``0,1 mg``) and a decimal point in English; dates as dd/mm/yyyy in both. An argument may itself be a
message (a noun such as "phương tiện đo" / "instrument") or a list of messages (joined with "; ").

Quoted literals (what the user wrote, or should write) are in «…» in Vietnamese and '…' in English; commands and
option names (``--update``, ```caltrace registry import laboratory FILE```) are the same in both.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, NamedTuple

from registry.importer.messages_centre import CENTRE
from registry.importer.messages_rows import ROWS

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")


class Quantity(NamedTuple):
    """A number with its unit ("" for none), written ``0,1 mg`` / ``0.1 mg``."""

    number: Decimal | float | int
    unit: str = ""


class Span(NamedTuple):
    """A range ``low – high unit`` (numbers as :func:`render` writes them)."""

    low: Decimal | float | int
    high: Decimal | float | int
    unit: str = ""


def number_text(value: Decimal | float | int, language: Language) -> str:
    """A number as written in ``language``: a decimal comma in Vietnamese, a point in English; floats in the
    shortest form (``%g``), Decimals as given (``0.10`` stays ``0,10``)."""
    text = format(value, "g") if isinstance(value, float) else str(value)
    return text.replace(".", ",") if language == "vi" else text


def render(value: object, language: Language) -> str:
    """One argument of a message as text in ``language``."""
    if isinstance(value, Message):
        return value.text(language)
    if isinstance(value, bool):
        return ("có" if value else "không") if language == "vi" else ("yes" if value else "no")
    if isinstance(value, Quantity):
        return f"{number_text(value.number, language)} {value.unit}".strip()
    if isinstance(value, Span):
        return f"{number_text(value.low, language)} – {number_text(value.high, language)} {value.unit}".strip()
    if isinstance(value, Decimal | float | int):
        return number_text(value, language)
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, tuple | list):
        return "; ".join(render(item, language) for item in value)
    return str(value)


def fields_of(template: str) -> set[str]:
    """The named fields of a template (``{row}``, ``{first}``); ``{{seq}}`` is a literal, not a field."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class Message:
    """A message by code with its arguments; ``templates`` is its (Vietnamese, English) pair."""

    code: str
    args: tuple[tuple[str, object], ...] = ()
    templates: tuple[str, str] = field(default=("", ""), compare=False, repr=False)

    def text(self, language: Language = "vi") -> str:
        """The message in ``language`` ("vi" or "en")."""
        template = self.templates[0] if language == "vi" else self.templates[1]
        return template.format(**{name: render(value, language) for name, value in self.args})

    def __str__(self) -> str:
        return self.text("en")


def message_from(catalogue: Mapping[str, tuple[str, str]], code: str, /, **args: object) -> Message:
    """The message ``code`` of ``catalogue`` with ``args`` (KeyError for an unknown code or a missing argument)."""
    templates = catalogue[code]
    missing = fields_of(templates[1]) - set(args)
    if missing:
        raise KeyError(f"message {code!r} needs {sorted(missing)}")
    return Message(code, tuple(sorted(args.items())), templates)


def msg(code: str, /, **args: object) -> Message:
    """The import message ``code`` of :data:`CATALOGUE` with ``args``."""
    return message_from(CATALOGUE, code, **args)


def noun(records: str) -> Message:
    """The singular noun of a kind of record (a :class:`~registry.importer.headers.Schema`'s ``records``)."""
    return msg(f"noun.{records}")


#: code -> (Vietnamese, English) template with named fields (str.format); the same fields in both. The messages
#: of the file and of instruments' and lots' rows are in :mod:`registry.importer.messages_rows`, those of a centre's
#: records in :mod:`registry.importer.messages_centre`.
CATALOGUE: dict[str, tuple[str, str]] = {
    # --- nouns (arguments of other messages) --------------------------------------------------------------------
    "noun.instruments": ("phương tiện đo", "instrument"),
    "noun.lots": ("lô hàng", "lot"),
    "noun.laboratory records": ("thông tin phòng thí nghiệm", "laboratory record"),
    "noun.CMC lines": ("dòng CMC", "CMC line"),
    "noun.staff members": ("nhân viên", "staff member"),
    "noun.standards": ("chuẩn đo lường", "standard"),
    "noun.certificate values": ("giá trị của giấy chứng nhận", "certificate value"),
    "what.laboratory": ("phòng thí nghiệm", "laboratory"),
    "what.cmc": ("dòng CMC (đại lượng, phương tiện đo và phạm vi đo)", "CMC line (quantity, instrument and range)"),
    "what.staff": ("nhân viên", "member of staff"),
    "what.standard": ("chuẩn đo lường", "reference standard"),
    "what.certificate": ("giấy chứng nhận", "certificate"),
    **ROWS,
    **CENTRE,
    # --- the summary line and its advice (ImportReport.summary) ---------------------------------------------------
    "summary.rows_one": ("{file}: {rows} dòng: {counts}.", "{file}: {rows} row: {counts}."),
    "summary.rows_many": ("{file}: {rows} dòng: {counts}.", "{file}: {rows} rows: {counts}."),
    "summary.rows_certificates": (
        "{file}: {rows} dòng giá trị: {counts} (nhập, cập nhật, không đổi: đếm theo giấy chứng nhận; bị từ chối: "
        "đếm theo dòng).",
        "{file}: {rows} value rows: {counts} (imported, updated, unchanged: counted in certificates; rejected: in "
        "rows).",
    ),
    "summary.to_import": ("sẽ nhập {n}", "{n} to import"),
    "summary.imported": ("đã nhập {n}", "{n} imported"),
    "summary.to_update": ("sẽ cập nhật {n}", "{n} to update"),
    "summary.updated": ("đã cập nhật {n}", "{n} updated"),
    "summary.unchanged": ("không đổi {n}", "{n} unchanged"),
    "summary.rejected": ("bị từ chối {n}", "{n} rejected"),
    "summary.new_customer": ("{n} khách hàng mới", "{n} new customer"),
    "summary.new_customers": ("{n} khách hàng mới", "{n} new customers"),
    "summary.dry_run": ("Chạy thử: chưa ghi gì vào cơ sở dữ liệu.", "Dry run: nothing was written."),
    "summary.partly_one": (
        "Các dòng đúng đã vào cơ sở dữ liệu; sửa dòng bị từ chối rồi chỉ nhập lại dòng đó (hoặc nhập lại cả tệp "
        "với --update).",
        "The good rows are in the registry; fix the rejected row and import just that one (or the whole file "
        "again with --update).",
    ),
    "summary.partly_many": (
        "Các dòng đúng đã vào cơ sở dữ liệu; sửa các dòng bị từ chối rồi chỉ nhập lại những dòng đó (hoặc nhập "
        "lại cả tệp với --update).",
        "The good rows are in the registry; fix the rejected rows and import just those (or the whole file again "
        "with --update).",
    ),
    "summary.none_one": (
        "Chưa ghi {record} nào; sửa dòng bị từ chối rồi nhập lại.",
        "No {record} was written; fix the rejected row and import again.",
    ),
    "summary.none_many": (
        "Chưa ghi {record} nào; sửa các dòng bị từ chối rồi nhập lại.",
        "No {record} was written; fix the rejected rows and import again.",
    ),
    # --- what the command prints around the report (api/cli/registry.py) ----------------------------------------
    "cli.rejected_title": ("Dòng bị từ chối ({n})", "Rejected rows ({n})"),
    "cli.notes_title": ("Ghi chú (các dòng vẫn được nhập)", "Notes (rows imported)"),
    "cli.row": ("dòng", "row"),
    "cli.column": ("cột", "column"),
    "cli.problem": ("vấn đề", "problem"),
    "cli.new_customer": (
        "khách hàng mới {name} đã được tạo, xuất hiện lần đầu ở dòng {row}",
        "new customer {name} created, first named in row {row}",
    ),
    "cli.new_customer_dry": (
        "khách hàng mới {name} sẽ được tạo, xuất hiện lần đầu ở dòng {row}",
        "new customer {name} would be created, first named in row {row}",
    ),
    "cli.new_customer_taxed": (
        "khách hàng mới {name} (mã số thuế {tax_code}) đã được tạo, xuất hiện lần đầu ở dòng {row}",
        "new customer {name} (tax code {tax_code}) created, first named in row {row}",
    ),
    "cli.new_customer_taxed_dry": (
        "khách hàng mới {name} (mã số thuế {tax_code}) sẽ được tạo, xuất hiện lần đầu ở dòng {row}",
        "new customer {name} (tax code {tax_code}) would be created, first named in row {row}",
    ),
    "cli.nothing_imported": ("{detail}; chưa nhập gì", "{detail}; nothing was imported"),
    "cli.database_failed": (
        "cơ sở dữ liệu gặp lỗi: {detail}; chưa nhập gì",
        "the registry database failed: {detail}; nothing was imported",
    ),
}
