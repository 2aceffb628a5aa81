"""``caltrace registry``: fill the registry from the lab's spreadsheets (``import instruments``, ``import lots``).

The work is done by :func:`registry.importer.import_instruments` and :func:`registry.importer.import_lots`; this
module opens the registry named by the settings (CALTRACE_DATA_DIR / CALTRACE_DATABASE_URL), checks the file in a
read transaction and writes its good rows in one short write transaction (runs and reports carry on meanwhile), and
prints what happened.
Exit status: 0 every row imported; 1 some rows rejected (the good ones are in); 2 nothing imported because the
file cannot be read or the database is not ready.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.cli.errors import fail
from registry.errors import RegistryError

if TYPE_CHECKING:  # SQLAlchemy and openpyxl load when the command runs, so `caltrace --help` starts fast
    from sqlalchemy.engine import Engine

    from registry.importer import ImportReport, RowIssue

EXIT_REJECTED_ROWS = 1
EXIT_NOTHING_IMPORTED = 2

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The shared metrology registry.")
import_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Import records from spreadsheets.")
app.add_typer(import_app, name="import", help="Import records from spreadsheets (CSV or .xlsx).")


@app.callback()
def _registry() -> None:
    """The shared metrology registry."""


@import_app.callback()
def _import() -> None:
    """Import records from spreadsheets (CSV or .xlsx)."""


def _issues_table(title: str, issues: list[RowIssue]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("row", justify="right")
    table.add_column("column")
    table.add_column("problem", overflow="fold")
    for issue in issues:
        table.add_row(str(issue.row), issue.header or issue.column, issue.reason)
    return table


def _print_report(report: ImportReport) -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)
    if report.rejected:
        console.print(_issues_table(f"Rejected rows ({len(report.rejected_rows)})", report.rejected))
    if report.warnings:
        console.print(_issues_table("Notes (rows imported)", report.warnings))
    for customer in report.customers_created:
        tax = f" (tax code {customer.tax_code})" if customer.tax_code else ""
        verb = "would be created" if report.dry_run else "created"
        console.print(f"new customer {customer.name}{tax} {verb}, first named in row {customer.row}", highlight=False)
    console.print(report.summary(), highlight=False, soft_wrap=True)


def _run_import(do: Callable[[Engine, str], ImportReport], actor: str | None, as_json: bool) -> None:
    """Run one import (all or nothing) on the configured registry, print its report and exit with its status."""
    from sqlalchemy.exc import SQLAlchemyError

    from registry.db import open_registry
    from registry.settings import default_actor

    try:
        engine = open_registry()
        try:
            report = do(engine, actor or default_actor())
        finally:
            engine.dispose()
    except RegistryError as exc:
        message = str(exc) if "nothing" in str(exc) else f"{exc}; nothing was imported"
        raise fail(message, EXIT_NOTHING_IMPORTED) from exc
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise fail(f"the registry database failed: {reason}; nothing was imported", EXIT_NOTHING_IMPORTED) from exc
    if as_json:
        typer.echo(report.to_json())
    else:
        _print_report(report)
    if report.rejected:
        raise typer.Exit(EXIT_REJECTED_ROWS)


@import_app.command("instruments")
def instruments_command(
    file: Annotated[Path, typer.Argument(help="The spreadsheet: .csv (UTF-8 or Windows-1258; , ; or tab) or .xlsx.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and report; write nothing.")] = False,
    update: Annotated[
        bool, typer.Option("--update", help="Update instruments already registered instead of rejecting those rows.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as a JSON document.")] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who is recorded in the audit log (default: $CALTRACE_ACTOR or your login).")
    ] = None,
) -> None:
    """Import customers' measuring instruments from FILE; good rows go in, bad rows are listed with the reason.

    Columns: customer, kind, manufacturer, model, serial_number, range, resolution, accuracy_class, location,
    interval_months, last_calibrated (Vietnamese headers accepted); optional customer_tax_code, field, group2.
    Exit status 0: all rows imported; 1: some rows rejected (the others are in); 2: nothing imported.
    """
    from registry.importer import import_instruments_concurrently
    from registry.settings import lab_today

    _run_import(
        lambda engine, who: import_instruments_concurrently(
            engine, file, actor=who, today=lab_today(), dry_run=dry_run, update=update
        ),
        actor,
        as_json,
    )


@import_app.command("lots")
def lots_command(
    file: Annotated[Path, typer.Argument(help="The spreadsheet: .csv (UTF-8 or Windows-1258; , ; or tab) or .xlsx.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and report; write nothing.")] = False,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Update lots already registered (same packer and lot number) instead of rejecting those rows; "
            "a lot that has runs is not changed.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as a JSON document.")] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who is recorded in the audit log (default: $CALTRACE_ACTOR or your login).")
    ] = None,
) -> None:
    """Import prepackage lots (for prepackage-r87) from FILE; good rows go in, bad rows are listed with the reason.

    Columns: packer, product, lot_number, lot_size, nominal_quantity (e.g. 500 g); optional brand, nominal_unit
    (g, kg, mL, L), packed_on, sampled_on, sampling_place, packer_tax_code (Vietnamese headers accepted).
    --update: registered lots are updated from their rows, except a lot already checked (a row changing it is rejected).
    Exit status 0: all rows imported; 1: some rows rejected (the others are in); 2: nothing imported.
    """
    from registry.importer import import_lots_concurrently
    from registry.settings import lab_today

    _run_import(
        lambda engine, who: import_lots_concurrently(
            engine, file, actor=who, today=lab_today(), dry_run=dry_run, update=update
        ),
        actor,
        as_json,
    )


def _register_centre() -> None:
    from api.cli import centre

    centre.register(app, import_app, _run_import)


_register_centre()
