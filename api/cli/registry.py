"""``caltrace registry``: fill the registry from the lab's spreadsheets (``import instruments``, ``import lots``).

The work is done by :func:`registry.importer.import_instruments` and :func:`registry.importer.import_lots`; this
module opens the registry named by the settings (CALTRACE_DATA_DIR / CALTRACE_DATABASE_URL), checks the file in a
read transaction and writes its good rows in one short write transaction (runs and reports carry on meanwhile), and
prints what happened.
Exit status: 0 every row imported; 1 some rows rejected (the good ones are in); 2 nothing imported because the
file cannot be read or the database is not ready.

The messages (rejected rows' reasons, notes, file errors, the summary) are in Vietnamese by default and in English
with ``--lang en`` (:mod:`registry.importer.messages`); ``--json`` gives each message's code beside its text.
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

    from api.cli.results import Language
    from registry.importer import ImportReport, RowIssue

EXIT_REJECTED_ROWS = 1
EXIT_NOTHING_IMPORTED = 2

#: the ``--lang`` option of every import (as ``runs show --lang``): the language of the messages
Lang = Annotated[str, typer.Option("--lang", help="Language of the messages: vi (default) or en.")]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The shared metrology registry.")
import_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Import records from spreadsheets.")
app.add_typer(import_app, name="import", help="Import records from spreadsheets (CSV or .xlsx).")


@app.callback()
def _registry() -> None:
    """The shared metrology registry."""


@import_app.callback()
def _import() -> None:
    """Import records from spreadsheets (CSV or .xlsx)."""


def _issues_table(title: str, issues: list[RowIssue], lang: Language) -> Table:
    from registry.importer.messages import msg

    table = Table(title=title, title_justify="left")
    table.add_column(msg("cli.row").text(lang), justify="right")
    table.add_column(msg("cli.column").text(lang))
    table.add_column(msg("cli.problem").text(lang), overflow="fold")
    for issue in issues:
        table.add_row(str(issue.row), issue.header or issue.column, issue.text(lang))
    return table


def _print_report(report: ImportReport, lang: Language) -> None:
    from registry.importer.messages import msg

    console = Console(width=None if sys.stdout.isatty() else 160)
    if report.rejected:
        title = msg("cli.rejected_title", n=len(report.rejected_rows)).text(lang)
        console.print(_issues_table(title, report.rejected, lang))
    if report.warnings:
        console.print(_issues_table(msg("cli.notes_title").text(lang), report.warnings, lang))
    for customer in report.customers_created:
        code = "cli.new_customer" + ("_taxed" if customer.tax_code else "") + ("_dry" if report.dry_run else "")
        args = {"tax_code": customer.tax_code} if customer.tax_code else {}
        line = msg(code, name=customer.name, row=customer.row, **args).text(lang)
        console.print(line, highlight=False)
    console.print(report.summary(lang), highlight=False, soft_wrap=True)


def language_option(language: str) -> Language:
    """The ``--lang`` value checked (as ``runs show --lang``); a bad one fails with exit status 2."""
    from api.cli.results import check_language

    try:
        return check_language(language)
    except ValueError as exc:
        raise fail(str(exc), EXIT_NOTHING_IMPORTED) from None


def _run_import(
    do: Callable[[Engine, str], ImportReport], actor: str | None, as_json: bool, language: str = "vi"
) -> None:
    """Run one import (all or nothing) on the configured registry, print its report in ``language`` and exit with
    its status."""
    from sqlalchemy.exc import SQLAlchemyError

    from registry.db import open_registry
    from registry.errors import ImportFileError
    from registry.importer.messages import msg
    from registry.settings import default_actor

    lang = language_option(language)
    try:
        engine = open_registry()
        try:
            report = do(engine, actor or default_actor())
        finally:
            engine.dispose()
    except RegistryError as exc:
        text = exc.text(lang) if isinstance(exc, ImportFileError) else str(exc)
        message = text if "nothing" in str(exc) else msg("cli.nothing_imported", detail=text).text(lang)
        raise fail(message, EXIT_NOTHING_IMPORTED) from exc
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc)
        raise fail(msg("cli.database_failed", detail=reason).text(lang), EXIT_NOTHING_IMPORTED) from exc
    if as_json:
        typer.echo(report.to_json(lang))
    else:
        _print_report(report, lang)
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
    language: Lang = "vi",
) -> None:
    """Import customers' measuring instruments from FILE; good rows go in, bad rows are listed with the reason.

    Columns: customer, kind, manufacturer, model, serial_number, range, resolution, accuracy_class, location,
    interval_months, last_calibrated (Vietnamese headers accepted); optional customer_tax_code, field, group2.
    Messages in Vietnamese (default) or English (--lang en).
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
        language,
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
    language: Lang = "vi",
) -> None:
    """Import prepackage lots (for prepackage-r87) from FILE; good rows go in, bad rows are listed with the reason.

    Columns: packer, product, lot_number, lot_size, nominal_quantity (e.g. 500 g); optional brand, nominal_unit
    (g, kg, mL, L), packed_on, sampled_on, sampling_place, packer_tax_code (Vietnamese headers accepted).
    --update: registered lots are updated from their rows, except a lot already checked (a row changing it is rejected).
    Messages in Vietnamese (default) or English (--lang en).
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
        language,
    )


def _register_centre() -> None:
    from api.cli import centre

    centre.register(app, import_app, _run_import)


_register_centre()
