"""``caltrace report``: what is due, which standards expire, forward trace of a standard, and annual statistics."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.tables import Format, emit
from registry.vocabulary import MetrologyField

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(no_args_is_help=True, help="Reports from the registry: due dates, traceability, statistics.")

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")]
TodayOpt = Annotated[
    str | None, typer.Option("--today", help="Count days from this date (YYYY-MM-DD) instead of today.")
]


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
) -> None:
    """Customers' instruments due for calibration or verification within DAYS days (overdue ones first)."""
    day = _date(today, "--today")
    from registry.queries import instruments_due

    with _session() as session:
        rows = instruments_due(
            session, days, day, customer=customer, field=field.value if field else None, include_overdue=not no_overdue
        )
    columns = [
        ("next_due", "Due"),
        ("days_left", "Days"),
        ("customer", "Customer"),
        ("tax_code", "Tax code"),
        ("kind", "Instrument"),
        ("manufacturer", "Manufacturer"),
        ("model", "Model"),
        ("serial_number", "Serial"),
        ("location", "Location"),
        ("field", "Field"),
        ("group2", "Group 2"),
        ("last_calibrated", "Last"),
    ]
    emit([asdict(r) for r in rows], columns, fmt, f"Instruments due by {day.isoformat()} + {days} days: {len(rows)}")


@app.command("standards")
def standards_command(
    days: Annotated[int, typer.Option("--days", "-d", min=0, help="Due within this many days.")] = 30,
    fmt: FormatOpt = Format.TABLE,
    today: TodayOpt = None,
) -> None:
    """The lab's reference standards due for calibration within DAYS days, expired, or never certified."""
    day = _date(today, "--today")
    from registry.queries import standards_due

    with _session() as session:
        rows = standards_due(session, days, day)
    columns = [
        ("code", "Code"),
        ("name", "Standard"),
        ("serial_number", "Serial"),
        ("status", "Status"),
        ("due_on", "Due"),
        ("days_left", "Days"),
        ("certificate", "Certificate"),
        ("issuer", "Issuer"),
    ]
    emit([asdict(r) for r in rows], columns, fmt, f"Reference standards due by {day.isoformat()} + {days} days")


@app.command("trace")
def trace_command(
    standard: Annotated[str, typer.Argument(help="The standard's code (or id).")],
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD), inclusive.")],
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Forward trace: every run (and certificate, customer) that used STANDARD between --from and --to."""
    lo, hi = _date(start, "--from"), _date(end, "--to")
    if hi < lo:
        raise typer.BadParameter("--to is before --from", param_hint="--to")
    from registry.queries import forward_trace
    from registry.settings import get_settings

    with _session() as session:
        rows = forward_trace(session, standard, lo, hi, get_settings().timezone)
    columns = [
        ("run_finished", "Finished (UTC)"),
        ("run_id", "Run"),
        ("procedure", "Procedure"),
        ("customer", "Customer"),
        ("tax_code", "Tax code"),
        ("instrument", "Instrument"),
        ("serial_number", "Serial"),
        ("standard_certificate", "Standard's certificate"),
        ("certificate", "Certificate"),
        ("certificate_status", "Status"),
    ]
    emit([asdict(r) for r in rows], columns, fmt, f"Uses of {standard} from {lo} to {hi}: {len(rows)}")


@app.command("annual")
def annual_command(
    year: Annotated[int, typer.Option("--year", "-y", min=1900, max=9999, help="Calendar year (lab time).")],
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Annual statistics: calibrations and verifications by field, pass/fail, customers, Group-2 instruments; and
    prepackage lot checks as their own category (lots, conforming or not, packers served)."""
    from registry.queries import annual_statistics
    from registry.settings import get_settings

    with _session() as session:
        stats = annual_statistics(session, year, get_settings().timezone)
    rows = [asdict(r) for r in stats.rows]
    rows.append(asdict(stats.total))
    columns = [
        ("field", "Field"),
        ("kind", "Work"),
        ("runs", "Runs"),
        ("passed", "Passed"),
        ("failed", "Failed"),
        ("not_assessed", "No verdict"),
    ]
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
    emit(rows, columns, fmt, f"Work finished in {year}")
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
        for key, value in summary:
            typer.echo(f"{key.replace('_', ' ').capitalize()}: {value}")
