"""``caltrace report``: what is due, which standards expire, forward trace of a standard, and annual statistics.

The tables (titles, column headings, the message when nothing matches, the annual summary lines) are in Vietnamese
by default and in English with ``--lang en`` (:data:`REPORT_WORDS`, :data:`SUMMARY_WORDS`). CSV and JSON keep the
machine names in English (the column keys, e.g. ``next_due``, ``days_left``) whatever ``--lang`` says: they are what
spreadsheets and integrators' scripts refer to, and they must not change with the reader's language. Cell values
(dates, codes, the registry's status words) are shown as stored.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.errors import fail
from api.cli.tables import Format, emit
from registry.vocabulary import MetrologyField

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(no_args_is_help=True, help="Reports from the registry: due dates, traceability, statistics.")

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")]
TodayOpt = Annotated[
    str | None, typer.Option("--today", help="Count days from this date (YYYY-MM-DD) instead of today.")
]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of the table: vi (default) or en.")]

#: (key, Vietnamese heading, English heading)
Column = tuple[str, str, str]


class ReportWords:
    """A report's words in both languages: the title (a ``str.format`` template), the column headings and the message
    printed instead of an empty table."""

    def __init__(self, title: tuple[str, str], columns: list[Column], empty: tuple[str, str]) -> None:
        self.title = title
        self.columns = columns
        self.empty = empty

    def pick(self, language: str) -> tuple[str, list[tuple[str, str]], str]:
        """(title template, [(key, heading)], empty message) in ``language``."""
        i = 0 if language == "vi" else 1
        return self.title[i], [(c[0], c[1 + i]) for c in self.columns], self.empty[i]


#: every report's words, by command name (tests/api/test_cli_report_language.py walks the app against this)
REPORT_WORDS: dict[str, ReportWords] = {
    "due": ReportWords(
        (
            "Phương tiện đo đến hạn trước {day} + {days} ngày: {count}",
            "Instruments due by {day} + {days} days: {count}",
        ),
        [
            ("next_due", "Hạn", "Due"),
            ("days_left", "Số ngày", "Days"),
            ("customer", "Khách hàng", "Customer"),
            ("tax_code", "Mã số thuế", "Tax code"),
            ("kind", "Phương tiện đo", "Instrument"),
            ("manufacturer", "Hãng sản xuất", "Manufacturer"),
            ("model", "Kiểu", "Model"),
            ("serial_number", "Số sản xuất", "Serial"),
            ("location", "Nơi sử dụng", "Location"),
            ("field", "Lĩnh vực", "Field"),
            ("group2", "Nhóm 2", "Group 2"),
            ("last_calibrated", "Lần trước", "Last"),
        ],
        ("Không có phương tiện đo nào đến hạn.", "No instrument is due."),
    ),
    "standards": ReportWords(
        ("Chuẩn đo lường đến hạn trước {day} + {days} ngày", "Reference standards due by {day} + {days} days"),
        [
            ("code", "Mã", "Code"),
            ("name", "Chuẩn", "Standard"),
            ("serial_number", "Số sản xuất", "Serial"),
            ("status", "Tình trạng", "Status"),
            ("due_on", "Hạn", "Due"),
            ("days_left", "Số ngày", "Days"),
            ("certificate", "Giấy chứng nhận", "Certificate"),
            ("issuer", "Nơi cấp", "Issuer"),
        ],
        ("Không có chuẩn nào đến hạn, hết hạn hoặc chưa có giấy chứng nhận.", "No reference standard is due."),
    ),
    "trace": ReportWords(
        ("Các lần dùng {standard} từ {start} đến {end}: {count}", "Uses of {standard} from {start} to {end}: {count}"),
        [
            ("run_finished", "Kết thúc (UTC)", "Finished (UTC)"),
            ("run_id", "Lần chạy", "Run"),
            ("procedure", "Quy trình", "Procedure"),
            ("customer", "Khách hàng", "Customer"),
            ("tax_code", "Mã số thuế", "Tax code"),
            ("instrument", "Phương tiện đo", "Instrument"),
            ("serial_number", "Số sản xuất", "Serial"),
            ("standard_certificate", "Giấy chứng nhận của chuẩn", "Standard's certificate"),
            ("certificate", "Giấy chứng nhận", "Certificate"),
            ("certificate_status", "Tình trạng", "Status"),
        ],
        ("Chuẩn này không được dùng trong khoảng thời gian đó.", "The standard was not used in that period."),
    ),
    "annual": ReportWords(
        ("Công việc hoàn thành trong năm {year}", "Work finished in {year}"),
        [
            ("field", "Lĩnh vực", "Field"),
            ("kind", "Công việc", "Work"),
            ("runs", "Số lần chạy", "Runs"),
            ("passed", "Đạt", "Passed"),
            ("failed", "Không đạt", "Failed"),
            ("not_assessed", "Không kết luận", "No verdict"),
        ],
        ("Không có công việc nào hoàn thành trong năm này.", "No work was finished in that year."),
    ),
}

#: the annual report's summary lines: CSV key (kept in English) -> (Vietnamese label, English label)
SUMMARY_WORDS: dict[str, tuple[str, str]] = {
    "customers_served": ("Số khách hàng đã phục vụ", "Customers served"),
    "instruments_served": ("Số phương tiện đo đã thực hiện", "Instruments served"),
    "group2_instruments": ("Số phương tiện đo nhóm 2", "Group 2 instruments"),
    "certificates_issued": ("Số giấy chứng nhận đã cấp", "Certificates issued"),
    "prepackage_lot_checks": ("Số lần kiểm tra lô hàng đóng gói sẵn", "Prepackage lot checks"),
    "prepackage_lots_checked": ("Số lô hàng đóng gói sẵn đã kiểm tra", "Prepackage lots checked"),
    "prepackage_lots_conforming": ("Số lô đạt", "Prepackage lots conforming"),
    "prepackage_lots_not_conforming": ("Số lô không đạt", "Prepackage lots not conforming"),
    "prepackage_lots_no_verdict": ("Số lô không kết luận", "Prepackage lots without a verdict"),
    "packers_served": ("Số cơ sở đóng gói đã phục vụ", "Packers served"),
}


#: the annual table's field and kind values in words (registry.vocabulary.MetrologyField, the procedures' kinds,
#: ``all`` of the total row) -> (Vietnamese, English); the table only: CSV and JSON keep the values
CELL_WORDS: dict[str, tuple[str, str]] = {
    "mass": ("khối lượng", "mass"),
    "volume-flow": ("dung tích – lưu lượng", "volume and flow"),
    "electrical": ("điện", "electrical"),
    "temperature": ("nhiệt độ", "temperature"),
    "pressure": ("áp suất", "pressure"),
    "length": ("độ dài", "length"),
    "other": ("khác", "other"),
    "calibration": ("hiệu chuẩn", "calibration"),
    "verification": ("kiểm định", "verification"),
    "test": ("thử nghiệm", "test"),
    "all": ("tất cả", "all"),
}


def _language(text: str) -> str:
    """The ``--lang`` value (vi or en), as ``runs show`` checks it; exit 2 otherwise."""
    from api.cli.results import check_language

    try:
        return check_language(text)
    except ValueError as exc:
        raise fail(str(exc), 2) from None


def _session() -> Session:
    from registry.db import open_registry, session_factory

    return session_factory(open_registry(), read_only=True)()  # reads a snapshot: never waits for a writer


def _date(text: str | None, option: str) -> date:
    if text is None:
        from registry.settings import lab_today

        return lab_today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date; use YYYY-MM-DD", param_hint=option) from None


@app.command("due")
def due_command(
    days: Annotated[int, typer.Option("--days", "-d", min=0, help="Due within this many days (overdue included).")],
    customer: Annotated[str | None, typer.Option(help="Only this customer (name, tax code or id).")] = None,
    field: Annotated[MetrologyField | None, typer.Option(help="Only this metrology field.")] = None,
    no_overdue: Annotated[bool, typer.Option("--no-overdue", help="Leave out instruments already overdue.")] = False,
    fmt: FormatOpt = Format.TABLE,
    today: TodayOpt = None,
    language: LangOpt = "vi",
) -> None:
    """Customers' instruments due for calibration or verification within DAYS days (overdue ones first)."""
    lang = _language(language)
    day = _date(today, "--today")
    from registry.queries import instruments_due

    with _session() as session:
        rows = instruments_due(
            session, days, day, customer=customer, field=field.value if field else None, include_overdue=not no_overdue
        )
    title, columns, empty = REPORT_WORDS["due"].pick(lang)
    title = title.format(day=day.isoformat(), days=days, count=len(rows))
    emit([asdict(r) for r in rows], columns, fmt, title, empty=empty)


@app.command("standards")
def standards_command(
    days: Annotated[int, typer.Option("--days", "-d", min=0, help="Due within this many days.")] = 30,
    fmt: FormatOpt = Format.TABLE,
    today: TodayOpt = None,
    language: LangOpt = "vi",
) -> None:
    """The lab's reference standards due for calibration within DAYS days, expired, or never certified."""
    lang = _language(language)
    day = _date(today, "--today")
    from registry.queries import standards_due

    with _session() as session:
        rows = standards_due(session, days, day)
    title, columns, empty = REPORT_WORDS["standards"].pick(lang)
    emit([asdict(r) for r in rows], columns, fmt, title.format(day=day.isoformat(), days=days), empty=empty)


@app.command("trace")
def trace_command(
    standard: Annotated[str, typer.Argument(help="The standard's code (or id).")],
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD), inclusive.")],
    fmt: FormatOpt = Format.TABLE,
    language: LangOpt = "vi",
) -> None:
    """Forward trace: every run (and certificate, customer) that used STANDARD between --from and --to."""
    lang = _language(language)
    lo, hi = _date(start, "--from"), _date(end, "--to")
    if hi < lo:
        raise typer.BadParameter("--to is before --from", param_hint="--to")
    from registry.queries import forward_trace
    from registry.settings import get_settings

    with _session() as session:
        rows = forward_trace(session, standard, lo, hi, get_settings().timezone)
    title, columns, empty = REPORT_WORDS["trace"].pick(lang)
    title = title.format(standard=standard, start=lo, end=hi, count=len(rows))
    emit([asdict(r) for r in rows], columns, fmt, title, empty=empty)


@app.command("annual")
def annual_command(
    year: Annotated[int, typer.Option("--year", "-y", min=1900, max=9999, help="Calendar year (lab time).")],
    fmt: FormatOpt = Format.TABLE,
    language: LangOpt = "vi",
) -> None:
    """Annual statistics: calibrations and verifications by field, pass/fail, customers, Group-2 instruments; and
    prepackage lot checks as their own category (lots, conforming or not, packers served)."""
    lang = _language(language)
    from registry.queries import annual_statistics
    from registry.settings import get_settings

    with _session() as session:
        stats = annual_statistics(session, year, get_settings().timezone)
    rows = [asdict(r) for r in stats.rows]
    if rows or fmt is Format.CSV:  # the CSV always ends with the total row; an empty table says so instead
        rows.append(asdict(stats.total))
    title, columns, empty = REPORT_WORDS["annual"].pick(lang)
    if fmt is Format.TABLE:
        index = 0 if lang == "vi" else 1
        for row in rows:
            for key in ("field", "kind"):
                row[key] = CELL_WORDS.get(str(row[key]), (row[key], row[key]))[index]
    if fmt is Format.JSON:
        doc = {
            "year": year,
            "rows": [asdict(r) for r in stats.rows],
            "total": asdict(stats.total),
            "customers_served": stats.customers_served,
            "instruments_served": stats.instruments_served,
            "group2_instruments": stats.group2_instruments,
            "certificates_issued": stats.certificates_issued,
            "prepackage_lots": asdict(stats.lots),
        }
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=1))
        return
    emit(rows, columns, fmt, title.format(year=year), empty=empty)
    summary = [
        ("customers_served", stats.customers_served),
        ("instruments_served", stats.instruments_served),
        ("group2_instruments", stats.group2_instruments),
        ("certificates_issued", stats.certificates_issued),
        ("prepackage_lot_checks", stats.lots.runs),
        ("prepackage_lots_checked", stats.lots.lots),
        ("prepackage_lots_conforming", stats.lots.conforming),
        ("prepackage_lots_not_conforming", stats.lots.not_conforming),
        ("prepackage_lots_no_verdict", stats.lots.no_verdict),
        ("packers_served", stats.lots.packers_served),
    ]
    if fmt is Format.CSV:
        for key, value in summary:
            typer.echo(f"{key},,{value},,,")
    else:
        index = 0 if lang == "vi" else 1
        for key, value in summary:
            typer.echo(f"{SUMMARY_WORDS[key][index]}: {value}")
