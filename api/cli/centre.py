"""``caltrace registry`` commands that set up a centre: importing the laboratory, CMC table, staff, standards and
certificates; ``lab set|show``, ``cmc add|list|show|deactivate``, ``staff add|list|show|authorise|deactivate``,
``standards add|list|show|certify|deactivate``; and ``check`` (what the centre lacks before it can run each
procedure). ``lab set``, ``cmc add`` and ``standards certify`` write through the spreadsheet import's own
validation (:func:`_one_record`), so a single command and a spreadsheet row are checked by the same code.

Exit status: 0 done (``check``: nothing missing); 1 rows rejected, a record not found, or (``check``) something
missing; 2 bad usage (a bad option value, a file that cannot be read, a registry not ready).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.cli.errors import fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from registry.importer import Catalogue, ImportReport

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2

lab_app = typer.Typer(no_args_is_help=True, add_completion=False, help="The laboratory.")
cmc_app = typer.Typer(no_args_is_help=True, add_completion=False, help="The laboratory's CMC table.")
staff_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Staff and their authorisations.")
standards_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Reference standards.")

DryRun = Annotated[bool, typer.Option("--dry-run", help="Check the file and report; write nothing.")]
Update = Annotated[bool, typer.Option("--update", help="Update records already registered instead of rejecting them.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report as a JSON document.")]
Actor = Annotated[
    str | None, typer.Option(help="Who is recorded in the audit log (default: $CALTRACE_ACTOR or your login).")
]
Lang = Annotated[str, typer.Option("--lang", help="Language of the messages: vi (default) or en.")]
FileArg = Annotated[Path, typer.Argument(help="The spreadsheet: .csv (UTF-8 or Windows-1258; , ; or tab) or .xlsx.")]


def catalogue() -> Catalogue:
    """What the records must name correctly: procedure ids, the standard kinds their roles accept, driver models
    and the address check (the registry layer imports neither acquisition nor drivers)."""
    from acquisition.procedures import get_procedure, procedure_ids
    from drivers.address import parse_address
    from drivers.registry import models
    from registry.importer import Catalogue

    codes = tuple(procedure_ids())
    kinds = sorted({k for c in codes for role in get_procedure(c).definition.roles for k in role.standard_kinds})
    return Catalogue(codes, tuple(kinds), tuple(models()), parse_address, piece_note)


def piece_note(nominal_g: float, correction_g: float, u_g: float, weight_class: str) -> str:
    """ "" when a weight meets its class, else why not: OIML R111-1:2004 5.3.1 |m_c − m_0| + U ≤ δm and 5.2
    U ≤ δm/3, δm from Table 1 (``acquisition.methods.weights``); U in g at k = 2. ValueError for a nominal value or
    class the table does not encode."""
    from acquisition.methods.weights import mpe_mg, r111_conformity

    mpe = mpe_mg(nominal_g, weight_class)
    conformity, _, note = r111_conformity(correction_g * 1000.0, u_g * 1000.0, mpe)
    return "" if conformity == "pass" else f"{nominal_g:g} g class {weight_class}: {note}"


def _import_into(function_name: str) -> Callable[[Any, str, Path, bool, bool], ImportReport]:
    def run(engine: Any, actor: str, file: Path, dry_run: bool, update: bool) -> ImportReport:
        from registry import importer
        from registry.db import session_scope
        from registry.settings import lab_today

        do = getattr(importer, function_name)
        with session_scope(engine, actor) as s:
            report: ImportReport = do(s, file, today=lab_today(), dry_run=dry_run, update=update, catalogue=catalogue())
            return report

    return run


def register(app: typer.Typer, import_app: typer.Typer, run_import: Callable[..., None]) -> None:
    """Add the centre's commands to ``caltrace registry`` (``app``) and ``caltrace registry import``."""
    for kind, function_name, what in (
        ("laboratory", "import_laboratory", "the laboratory (one row: name, address, accreditation, numbering)"),
        ("cmc", "import_cmc", "the CMC table (quantity, range, CMC, method)"),
        ("staff", "import_staff", "staff with their roles and authorised procedures"),
        ("standards", "import_standards", "reference standards (code, name, kind, range, driver, address)"),
        ("certificates", "import_certificates", "standards' certificates, one row per certified value"),
    ):
        import_app.command(kind)(_import_command(_import_into(function_name), what, run_import))
    from api.cli import standard_dcc

    standard_dcc.register(import_app)
    app.add_typer(lab_app, name="lab", help="The laboratory.")
    app.add_typer(cmc_app, name="cmc", help="The laboratory's CMC table.")
    app.add_typer(staff_app, name="staff", help="Staff and their authorisations.")
    app.add_typer(standards_app, name="standards", help="Reference standards.")
    app.command("check")(check_command)


def _import_command(
    do: Callable[[Any, str, Path, bool, bool], ImportReport], what: str, run_import: Callable[..., None]
) -> Callable[..., None]:
    """One ``caltrace registry import KIND`` command running ``do``."""

    def command(
        file: FileArg,
        dry_run: DryRun = False,
        update: Update = False,
        as_json: AsJson = False,
        actor: Actor = None,
        language: Lang = "vi",
    ) -> None:
        run_import(lambda engine, who: do(engine, who, file, dry_run, update), actor, as_json, language)

    command.__doc__ = (
        f"Import {what} from FILE; good rows go in, bad rows are listed with the reason (docs/registry-import.md)."
        "\n\nMessages in Vietnamese (default) or English (--lang en)."
        "\n\nExit status 0: all rows imported; 1: some rows rejected (the others are in); 2: nothing imported."
    )
    return command


@contextmanager
def _session(actor: str | None = None) -> Iterator[Session]:
    """A write session on the configured registry (not migrated: exit 2 with the fix)."""
    from registry.db import open_registry, session_scope
    from registry.errors import RegistryError
    from registry.settings import default_actor

    try:
        engine = open_registry()
    except RegistryError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    try:
        with session_scope(engine, actor or default_actor()) as s:
            yield s
    finally:
        engine.dispose()


def _console() -> Console:
    import sys

    return Console(width=None if sys.stdout.isatty() else 160)


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    from registry.importer.cells import CellError
    from registry.importer.records import any_date

    try:
        return any_date(text)
    except CellError as exc:
        raise fail(f"{option}: {exc}", EXIT_USAGE) from exc


def _show(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
        return
    for key, value in doc.items():
        if isinstance(value, list):
            typer.echo(f"{key}:")
            for item in value:
                typer.echo("  - " + ", ".join(f"{k} {v}" for k, v in item.items()))
        else:
            typer.echo(f"{key}: {'' if value is None else value}")


def _one_record(
    function_name: str, what: str, rows: list[dict[str, str]], actor: str | None, *, update: bool, language: str
) -> ImportReport:
    """Write one record by the spreadsheet import's own code (``registry.importer.<function_name>``): ``rows`` (one
    record, or a certificate's value rows) become a one-sheet CSV whose columns are the import's column names, so a
    single command and a spreadsheet row are checked by the same validation and audited alike (the ``import``
    event names the file ``<what>.csv``). A rejected row exits 1, naming the option (:func:`_option`); a file or
    registry error exits 2."""
    import csv
    import tempfile

    from sqlalchemy.exc import SQLAlchemyError

    from api.cli.results import check_language
    from registry import importer
    from registry.errors import ImportFileError, RegistryError
    from registry.settings import lab_today

    lang = check_language(language)
    columns = list(dict.fromkeys(c for row in rows for c in row))
    with tempfile.TemporaryDirectory(prefix="caltrace-") as folder:
        path = Path(folder) / f"{what}.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, delimiter="\t")
            writer.writerow(columns)
            writer.writerows([[row.get(c, "") for c in columns] for row in rows])
        try:
            with _session(actor) as s:
                report: ImportReport = getattr(importer, function_name)(
                    s, path, today=lab_today(), update=update, catalogue=catalogue()
                )
        except RegistryError as exc:  # ImportFileError: e.g. no laboratory registered yet
            text = exc.text(lang) if isinstance(exc, ImportFileError) else str(exc)
            raise fail(text.replace(f"{what}.csv: ", ""), EXIT_USAGE) from exc
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise fail(f"the registry database refused it: {reason}; nothing was written", EXIT_USAGE) from exc
    for issue in report.warnings:
        note = "ghi chú" if lang == "vi" else "note"
        typer.echo(f"{note}: {_option(issue.column)}: {issue.text(lang)}", err=True)
    if report.rejected:
        for issue in report.rejected:
            typer.echo(f"{_option(issue.column)}: {issue.text(lang)}", err=True)
        raise fail("chưa ghi gì" if lang == "vi" else "nothing was written", EXIT_NOT_FOUND)
    return report


#: an import column -> the option of the single commands that fills it
OPTIONS: dict[str, str] = {
    "name": "--name",
    "address": "--address",
    "accreditation_code": "--accreditation",
    "designation_code": "--designation",
    "phone": "--phone",
    "email": "--email",
    "logo_path": "--logo",
    "certificate_numbering": "--numbering",
    "verification_numbering": "--verification-numbering",
    "notice_numbering": "--notice-numbering",
    "lot_numbering": "--lot-numbering",
    "quantity": "--quantity",
    "range": "--range",
    "cmc": "--cmc",
    "method": "--method",
    "field": "--field",
    "instrument_kind": "--instrument",
    "standard": "CODE",
    "number": "--number",
    "issuer": "--issuer",
    "calibrated_on": "--calibrated",
    "issued_on": "--issued",
    "valid_until": "--due",
    "uncertainty": "--value U",
    "nominal": "--value point",
}


def _option(column: str) -> str:
    return OPTIONS.get(column, f"--value {column}")


# --- lab, cmc ---------------------------------------------------------------------------------------------------


@lab_app.command("show")
def lab_show(as_json: AsJson = False) -> None:
    """The registered laboratory (exit 1 when none is registered yet)."""
    from registry.queries import laboratory

    with _session() as s:
        lab = laboratory(s)
        if lab is None:
            raise fail("no laboratory is registered: caltrace registry import laboratory FILE", EXIT_NOT_FOUND)
        doc = {
            "name": lab.name,
            "address": lab.address,
            "accreditation": lab.accreditation_code,
            "designation": lab.designation_code,
            "phone": lab.phone,
            "email": lab.email,
            "logo": lab.logo_path,
            "certificate numbering": lab.certificate_numbering,
            "verification numbering": lab.verification_numbering,
            "notice numbering": lab.notice_numbering or "(= verification)",
            "lot check numbering": lab.lot_numbering or "(= verification)",
            "CMC lines": sum(1 for line in lab.cmc if line.active),
        }
    _show(doc, as_json)


@cmc_app.command("list")
def cmc_list(
    all_: Annotated[bool, typer.Option("--all", help="Include withdrawn lines.")] = False,
    as_json: AsJson = False,
) -> None:
    """The laboratory's CMC table (the lines in force; --all: withdrawn ones too)."""
    from sqlalchemy import select

    from registry.models import CmcEntry

    with _session() as s:
        query = select(CmcEntry).order_by(CmcEntry.field, CmcEntry.range_min, CmcEntry.id)
        if not all_:
            query = query.where(CmcEntry.active.is_(True))
        rows = [_cmc_row(e) for e in s.scalars(query)]
    _table(rows, as_json, "no CMC lines: caltrace registry cmc add or caltrace registry import cmc FILE")


def _table(rows: list[dict[str, Any]], as_json: bool, empty: str) -> None:
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    if not rows:
        typer.echo(empty)
        return
    table = Table()
    for column in rows[0]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    _console().print(table)


@lab_app.command("set")
def lab_set(
    name: Annotated[str | None, typer.Option("--name", help="The laboratory's name (tên phòng thí nghiệm).")] = None,
    address: Annotated[str | None, typer.Option(help="Its address (địa chỉ).")] = None,
    accreditation: Annotated[
        str | None, typer.Option(help="Accreditation number (số hiệu công nhận, e.g. 'VILAS 123').")
    ] = None,
    designation: Annotated[str | None, typer.Option(help="Designation number for verification (số chỉ định).")] = None,
    phone: Annotated[str | None, typer.Option(help="Telephone.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    logo: Annotated[
        Path | None, typer.Option(help="The logo image file for reports (stored as an absolute path).")
    ] = None,
    numbering: Annotated[
        str | None,
        typer.Option(
            help="Calibration certificate numbering pattern, e.g. 'HC-{year}-{seq:06d}' (year, yy, month, seq)."
        ),
    ] = None,
    verification_numbering: Annotated[
        str | None,
        typer.Option(
            "--verification-numbering",
            help="Verification certificate numbering pattern, e.g. 'KĐ-{year}-{seq:06d}' (its own running numbers).",
        ),
    ] = None,
    notice_numbering: Annotated[
        str | None,
        typer.Option(
            "--notice-numbering",
            help="Notice of non-conformity numbering pattern; '' (default): the verification pattern and numbers.",
        ),
    ] = None,
    lot_numbering: Annotated[
        str | None,
        typer.Option(
            "--lot-numbering",
            help="Prepackage lot check (R87) numbering pattern; '' (default): the verification pattern and numbers.",
        ),
    ] = None,
    actor: Actor = None,
    language: Lang = "vi",
) -> None:
    """Register the laboratory, or change what is given of the registered one (the others stay).

    Checked as a row of 'caltrace registry import laboratory': the name and address are required the first time,
    the numbering pattern needs {seq}. Exit 1: a value rejected (nothing written); 2: a logo file that does not
    exist."""
    from registry.queries import laboratory

    given = {
        "name": name,
        "address": address,
        "accreditation_code": accreditation,
        "designation_code": designation,
        "phone": phone,
        "email": email,
        "certificate_numbering": numbering,
        "verification_numbering": verification_numbering,
        "notice_numbering": notice_numbering,
        "lot_numbering": lot_numbering,
    }
    if logo is not None:
        found = logo.expanduser().resolve()
        if not found.is_file():
            raise fail(f"--logo: no file {str(logo)!r}: give the path of the logo image", EXIT_USAGE)
        given["logo_path"] = str(found)
    if all(v is None for v in given.values()):
        raise fail("nothing to set: give --name, --address, --accreditation, --numbering...", EXIT_USAGE)
    with _session() as s:  # the spreadsheet's required columns as registered; optional ones only when given
        lab = laboratory(s)
        row = {
            column: ("" if lab is None else str(getattr(lab, column) or ""))
            for column in ("name", "address", "accreditation_code", "certificate_numbering")
        }
    row.update({k: v for k, v in given.items() if v is not None})
    report = _one_record("import_laboratory", "registry-lab-set", [row], actor, update=True, language=language)
    if report.imported:
        typer.echo(f"registered the laboratory {row['name']}")
    elif report.updated:
        typer.echo(f"updated the laboratory {row['name']}")
    else:
        typer.echo(f"the laboratory {row['name']} already reads so: nothing changed")


def _cmc_row(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "field": e.field.value,
        "quantity": e.quantity,
        "instrument": e.instrument_kind,
        "range": f"{e.range_min:g} – {e.range_max:g} {e.range_unit}",
        "cmc": f"{e.cmc * 1e6:g} ppm" if e.cmc_relative else f"{e.cmc:g} {e.cmc_unit}",
        "method": e.method_reference,
        "active": e.active,
    }


@cmc_app.command("add")
def cmc_add(
    quantity: Annotated[str, typer.Option(help="The quantity (đại lượng), e.g. 'khối lượng'.")],
    range_: Annotated[str, typer.Option("--range", help="The range with its unit, e.g. '0 - 220 g'.")],
    cmc: Annotated[str, typer.Option(help="The CMC (U, k = 2) with its unit, e.g. '0,1 mg' or relative '2 ppm'.")],
    method: Annotated[str, typer.Option(help="The method or procedure, e.g. 'EURAMET cg-18 v4.0'.")],
    instrument: Annotated[str, typer.Option(help="The kind of instrument it is for, e.g. 'cân phân tích'.")] = "",
    field: Annotated[str | None, typer.Option(help="Metrology field (default: inferred from the quantity).")] = None,
    update: Annotated[
        bool, typer.Option("--update", help="Replace the CMC and method of the line with this quantity and range.")
    ] = False,
    actor: Actor = None,
    language: Lang = "vi",
) -> None:
    """Add a line to the laboratory's CMC table, checked as a row of 'caltrace registry import cmc'.

    Exit 1: a value rejected, or the same quantity, instrument and range already registered (without --update);
    2: no laboratory registered yet."""
    from registry.queries import laboratory

    with _session() as s:
        if laboratory(s) is None:
            raise fail(
                "no laboratory is registered yet: register it first (caltrace registry lab set --name ... "
                "--address ..., or caltrace registry import laboratory FILE), then its CMC lines",
                EXIT_USAGE,
            )
    row = {"quantity": quantity, "range": range_, "cmc": cmc, "method": method, "instrument_kind": instrument}
    if field is not None:
        row["field"] = field
    report = _one_record("import_cmc", "registry-cmc-add", [row], actor, update=update, language=language)
    done = "added" if report.imported else "updated" if report.updated else "unchanged"
    typer.echo(f"CMC line {done}: {quantity} {range_}: {cmc} ({method})")


def _cmc_line(s: Session, line_id: int) -> Any:
    from registry.models import CmcEntry

    line = s.get(CmcEntry, line_id)
    if line is None:
        raise fail(f"no CMC line #{line_id}: caltrace registry cmc list shows them", EXIT_NOT_FOUND)
    return line


@cmc_app.command("show")
def cmc_show(
    line_id: Annotated[int, typer.Argument(metavar="ID", help="The line's id (cmc list).")], as_json: AsJson = False
) -> None:
    """One CMC line (withdrawn ones too)."""
    with _session() as s:
        doc = _cmc_row(_cmc_line(s, line_id))
    _show(doc, as_json)


@cmc_app.command("deactivate")
def cmc_deactivate(
    line_id: Annotated[int, typer.Argument(metavar="ID", help="The line's id (cmc list).")], actor: Actor = None
) -> None:
    """Withdraw a CMC line: it no longer counts (registry check, the CMC shown beside U) but stays in the registry,
    as certificates issued while it was in force stated it (``cmc list --all`` shows it)."""
    with _session(actor) as s:
        line = _cmc_line(s, line_id)
        if not line.active:
            raise fail(f"CMC line #{line_id} is already withdrawn", EXIT_USAGE)
        line.active = False
        text = f"{line.quantity} {line.range_min:g} – {line.range_max:g} {line.range_unit}"
    typer.echo(f"CMC line #{line_id} ({text}) withdrawn")


# --- staff ------------------------------------------------------------------------------------------------------


def _staff(s: Session, username: str) -> Any:
    from registry.queries import find_staff

    found = find_staff(s, username)
    if found is None:
        raise fail(f"no member of staff {username!r}: caltrace registry staff list shows them", EXIT_NOT_FOUND)
    return found


def _roles(auth: Any) -> str:
    return "+".join(
        name
        for name, flag in (("perform", auth.can_perform), ("review", auth.can_review), ("sign", auth.can_sign))
        if flag
    )


@staff_app.command("add")
def staff_add(
    username: Annotated[str, typer.Argument(help="Login name, one word (e.g. lan).")],
    full_name: Annotated[str, typer.Option("--name", help="Full name (e.g. 'Nguyễn Thị Lan').")],
    email: Annotated[str, typer.Option(help="E-mail address.")] = "",
    card: Annotated[str | None, typer.Option(help="Verification officer card number (thẻ kiểm định viên).")] = None,
    card_until: Annotated[str | None, typer.Option(help="The card's validity end (dd/mm/yyyy).")] = None,
    actor: Actor = None,
) -> None:
    """Register a member of staff (then give authorisations: registry staff authorise)."""
    from registry.models import Staff
    from registry.queries import find_staff

    if not username or " " in username:
        raise fail(f"{username!r}: a username is one word (e.g. lan)", EXIT_USAGE)
    if bool(card) != bool(card_until):
        raise fail("--card and --card-until go together: the card number and its validity end", EXIT_USAGE)
    until = _date(card_until, "--card-until")
    with _session(actor) as s:
        if find_staff(s, username) is not None:
            raise fail(f"{username!r} is already registered: caltrace registry staff show {username}", EXIT_USAGE)
        s.add(Staff(username=username, full_name=full_name, email=email, officer_card=card, officer_card_expires=until))
    typer.echo(f"registered {username} ({full_name})")


@staff_app.command("authorise")
def staff_authorise(
    username: Annotated[str, typer.Argument(help="The member of staff.")],
    procedure: Annotated[str, typer.Argument(help="The procedure id (caltrace procedures lists them).")],
    perform: Annotated[bool, typer.Option("--perform", help="May perform it (technician).")] = False,
    review: Annotated[bool, typer.Option("--review", help="May review its runs.")] = False,
    sign: Annotated[bool, typer.Option("--sign", help="May sign its certificates.")] = False,
    valid_from: Annotated[str | None, typer.Option("--from", help="First day (dd/mm/yyyy; default today).")] = None,
    valid_until: Annotated[str | None, typer.Option("--until", help="Last day (dd/mm/yyyy; default open).")] = None,
    actor: Actor = None,
) -> None:
    """Authorise USERNAME for PROCEDURE (replaces an earlier authorisation for it)."""
    from acquisition.procedures import procedure_ids
    from registry.models import Authorisation
    from registry.settings import lab_today

    if procedure not in procedure_ids():
        raise fail(f"{procedure!r} is not a procedure id; the procedures are: {', '.join(procedure_ids())}", EXIT_USAGE)
    if not (perform or review or sign):
        raise fail("say what the person may do: --perform, --review and/or --sign", EXIT_USAGE)
    start = _date(valid_from, "--from") or lab_today()
    until = _date(valid_until, "--until")
    if until is not None and until < start:
        raise fail(f"--until {until:%d/%m/%Y} is before --from {start:%d/%m/%Y}", EXIT_USAGE)
    with _session(actor) as s:
        staff = _staff(s, username)
        auth = next((a for a in staff.authorisations if a.procedure_code == procedure), None)
        if auth is None:
            auth = Authorisation(procedure_code=procedure)
            staff.authorisations.append(auth)
        auth.can_perform, auth.can_review, auth.can_sign = perform, review, sign
        auth.valid_from, auth.valid_until = start, until
        roles = _roles(auth)
    typer.echo(f"{username} may {roles} {procedure} from {start:%d/%m/%Y}")


@staff_app.command("list")
def staff_list(
    all_: Annotated[bool, typer.Option("--all", help="Include staff who have left.")] = False,
    as_json: AsJson = False,
) -> None:
    """Members of staff and the procedures they are authorised for."""
    from sqlalchemy import select

    from registry.models import Staff

    with _session() as s:
        query = select(Staff).order_by(Staff.username)
        if not all_:
            query = query.where(Staff.active.is_(True))
        rows = [
            {
                "username": st.username,
                "name": st.full_name,
                "active": st.active,
                "officer card": f"{st.officer_card} until {st.officer_card_expires}" if st.officer_card else "",
                "authorisations": "; ".join(f"{a.procedure_code} ({_roles(a)})" for a in st.authorisations),
            }
            for st in s.scalars(query)
        ]
    _table(rows, as_json, "no staff registered: caltrace registry import staff FILE")


@staff_app.command("show")
def staff_show(username: Annotated[str, typer.Argument()], as_json: AsJson = False) -> None:
    """One member of staff with every authorisation."""
    with _session() as s:
        st = _staff(s, username)
        doc = {
            "username": st.username,
            "name": st.full_name,
            "email": st.email,
            "active": st.active,
            "officer card": st.officer_card,
            "officer card valid until": st.officer_card_expires,
            "authorisations": [
                {
                    "procedure": a.procedure_code,
                    "may": _roles(a),
                    "from": a.valid_from,
                    "until": a.valid_until or "open",
                }
                for a in st.authorisations
            ],
        }
    _show(doc, as_json)


@staff_app.command("deactivate")
def staff_deactivate(username: Annotated[str, typer.Argument()], actor: Actor = None) -> None:
    """Mark a member of staff as gone: they can no longer perform, review or sign (their records stay)."""
    with _session(actor) as s:
        _staff(s, username).active = False
    typer.echo(f"{username} deactivated")


# --- standards ----------------------------------------------------------------------------------------------------


def _standard(s: Session, code: str) -> Any:
    from registry.errors import NotFoundError
    from registry.queries import find_standard

    try:
        return find_standard(s, code)
    except NotFoundError as exc:
        raise fail(f"{exc}: caltrace registry standards list shows them", EXIT_NOT_FOUND) from exc


@standards_app.command("add")
def standards_add(
    code: Annotated[str, typer.Argument(help="The lab's code of the standard (e.g. W-E2).")],
    name: Annotated[str, typer.Option("--name", help="Its name.")],
    kind: Annotated[str, typer.Option("--kind", help="Its kind (e.g. 'weight set', 'thermo-hygro-barometer').")],
    field: Annotated[str | None, typer.Option(help="Metrology field (default: inferred from the kind).")] = None,
    accuracy_class: Annotated[str, typer.Option("--class", help="Accuracy class (e.g. E2).")] = "",
    driver_model: Annotated[str, typer.Option("--driver", help="Driver model, for a standard caltrace reads.")] = "",
    address: Annotated[str, typer.Option(help="Its address URL (with --driver).")] = "",
    actor: Actor = None,
) -> None:
    """Register a reference standard (its certificates: caltrace registry import certificates FILE)."""
    from sqlalchemy import select

    from registry.importer.cells import CellError
    from registry.importer.fields import infer_field, parse_field
    from registry.models import ReferenceStandard

    known = catalogue()
    if not code or " " in code:
        raise fail(f"{code!r}: a code is one word (e.g. W-E2)", EXIT_USAGE)
    try:
        chosen = parse_field(field) if field else None
    except CellError as exc:
        raise fail(f"--field: {exc}", EXIT_USAGE) from exc
    model = driver_model.casefold().replace(" ", "-").replace("_", "-")
    if model and model not in known.driver_models:
        raise fail(f"--driver {driver_model!r}: the drivers are: {', '.join(known.driver_models)}", EXIT_USAGE)
    if bool(model) != bool(address):
        raise fail("--driver and --address go together", EXIT_USAGE)
    if address:
        try:
            if known.check_address is not None:
                known.check_address(address)
        except ValueError as exc:
            raise fail(f"--address: {exc}", EXIT_USAGE) from exc
    if kind not in known.standard_kinds:
        typer.echo(f"note: no procedure uses a standard of kind {kind!r} ({', '.join(known.standard_kinds)})")
    with _session(actor) as s:
        if s.scalars(select(ReferenceStandard.id).where(ReferenceStandard.code == code)).first() is not None:
            raise fail(f"{code} is already registered: caltrace registry standards show {code}", EXIT_USAGE)
        s.add(
            ReferenceStandard(
                code=code,
                name=name,
                kind=kind,
                field=chosen or infer_field(f"{kind} {name}"),
                accuracy_class=accuracy_class,
                driver_model=model,
                address=address,
            )
        )
    typer.echo(f"registered {code} ({name})")


@standards_app.command("list")
def standards_list(
    all_: Annotated[bool, typer.Option("--all", help="Include retired standards.")] = False,
    as_json: AsJson = False,
) -> None:
    """Reference standards with their certificate in force."""
    from sqlalchemy import select

    from registry.models import ReferenceStandard
    from registry.queries import current_certificate
    from registry.settings import lab_today

    today = lab_today()
    with _session() as s:
        query = select(ReferenceStandard).order_by(ReferenceStandard.code)
        if not all_:
            query = query.where(ReferenceStandard.active.is_(True))
        rows = []
        for std in s.scalars(query):
            cert = current_certificate(s, std.id, today)
            state = "no certificate" if cert is None else f"{cert.number} until {cert.due_on:%d/%m/%Y}"
            if cert is not None and cert.due_on < today:
                state += " (EXPIRED)"
            rows.append(
                {
                    "code": std.code,
                    "name": std.name,
                    "kind": std.kind,
                    "class": std.accuracy_class,
                    "certificate": state,
                }
            )
    _table(rows, as_json, "no standards registered: caltrace registry import standards FILE")


@standards_app.command("show")
def standards_show(code: Annotated[str, typer.Argument()], as_json: AsJson = False) -> None:
    """One reference standard with its certificate history (newest last) and certified values."""
    with _session() as s:
        std = _standard(s, code)
        doc = {
            "code": std.code,
            "name": std.name,
            "kind": std.kind,
            "field": std.field.value,
            "range": f"{std.range_min if std.range_min is not None else ''} – {std.range_max or ''} {std.range_unit}",
            "class": std.accuracy_class,
            "driver": std.driver_model,
            "address": std.address,
            "active": std.active,
            "certificates": [
                {
                    "number": c.number,
                    "issuer": c.issuer,
                    "calibrated": c.calibrated_on,
                    "valid until": c.due_on,
                    "values": len(c.values),
                }
                for c in std.certificates
            ],
        }
        if as_json:
            doc["certificates"] = [
                dict(d, values=c.values) for d, c in zip(doc["certificates"], std.certificates, strict=True)
            ]
            _show(doc, as_json)
            return
        values = std.certificates[-1].values if std.certificates else []
    _show(doc, as_json)
    if values:
        typer.echo("certified values (latest certificate):")
        for v in values:
            what = v.get("label") or v.get("quantity") or v.get("point", "")
            value = f"{v['value']:.6f}".rstrip("0").rstrip(".") + f" {v.get('unit', '')}" if "value" in v else ""
            extra = (f", class {v['class']}" if "class" in v else "") + (
                f", density {v['density']:g} kg/m³" if "density" in v else ""
            )
            unit = str(v.get("unit", ""))
            u = f"{v['U'] * 1000:.3g} mg" if unit == "g" and v["U"] < 0.1 else f"{v['U']:.3g} {unit}"
            typer.echo(f"  - {what}: {value}{' ' if value else ''}U {u} (k = {v.get('k', 2):g}){extra}")


#: what ``--value`` may say: key -> the certificate import's column
VALUE_KEYS: dict[str, str] = {
    "quantity": "quantity",
    "label": "label",
    "point": "nominal",
    "nominal": "nominal",
    "value": "value",
    "u": "uncertainty",
    "k": "k",
    "unit": "unit",
}


def _value_row(text: str) -> dict[str, str]:
    """``quantity=temperature; U=0,3 °C; k=2`` -> the certificate import's cells (``;``-separated KEY=VALUE, so
    that a decimal comma stays a decimal comma)."""
    cells: dict[str, str] = {}
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        column = VALUE_KEYS.get(key.strip().casefold())
        if not sep or column is None:
            raise fail(
                f"--value {text!r}: {item!r} is not KEY=VALUE with KEY among {', '.join(VALUE_KEYS)} "
                "(e.g. --value 'quantity=temperature; point=20 °C; value=20,02 °C; U=0,15 °C; k=2')",
                EXIT_USAGE,
            )
        cells[column] = value.strip()
    if "uncertainty" not in cells:
        raise fail(f"--value {text!r}: give U=... (the expanded uncertainty with its unit)", EXIT_USAGE)
    return cells


@standards_app.command("certify")
def standards_certify(
    code: Annotated[str, typer.Argument(help="The standard's code.")],
    number: Annotated[str, typer.Option(help="The certificate number (số giấy chứng nhận).")],
    issuer: Annotated[str, typer.Option(help="Who issued it (cơ quan cấp), e.g. 'Viện Đo lường Việt Nam'.")],
    calibrated: Annotated[str, typer.Option(help="Calibration date (ngày hiệu chuẩn), dd/mm/yyyy.")],
    due: Annotated[str, typer.Option(help="Valid until (hiệu lực đến), dd/mm/yyyy.")],
    value: Annotated[
        list[str],
        typer.Option(
            help="One certified value, repeatable: 'quantity=...; point=...; value=...; U=...; k=...; unit=...' "
            "(U required with its unit; k default 2; e.g. 'quantity=temperature; U=0,3 °C').",
        ),
    ],
    issued: Annotated[str | None, typer.Option(help="Issue date (ngày cấp; default: the calibration date).")] = None,
    actor: Actor = None,
    language: Lang = "vi",
) -> None:
    """Add a calibration certificate with its certified values (each with U and k) to standard CODE.

    Checked as the rows of 'caltrace registry import certificates' (one row per --value; the certificate goes in
    whole or not at all). A weight set's pieces (nominal, conventional mass or correction, U, class, density per
    piece) are entered by spreadsheet only: caltrace registry import certificates FILE. Exit 1: no such standard,
    a value rejected or the certificate already registered; 2: bad usage (a weight set, a malformed --value)."""
    from registry.importer.standards import WEIGHT_SET

    with _session() as s:
        kind = _standard(s, code).kind
    if kind == WEIGHT_SET:
        raise fail(
            f"{code} is a weight set: its certificate's pieces are entered by spreadsheet, one row per piece "
            "(caltrace registry import certificates FILE; docs/registry-import.md)",
            EXIT_USAGE,
        )
    header = {"standard": code, "number": number, "issuer": issuer, "calibrated_on": calibrated, "valid_until": due}
    if issued is not None:
        header["issued_on"] = issued
    rows = [{**header, **_value_row(text)} for text in value]
    _one_record("import_certificates", "registry-standards-certify", rows, actor, update=False, language=language)
    typer.echo(f"{code}: certificate {number} of {issuer} registered with {len(rows)} certified value(s)")


@standards_app.command("deactivate")
def standards_deactivate(code: Annotated[str, typer.Argument()], actor: Actor = None) -> None:
    """Retire a reference standard: no new run may use it (its history stays)."""
    with _session(actor) as s:
        _standard(s, code).active = False
    typer.echo(f"{code} retired")


# --- check ------------------------------------------------------------------------------------------------------


def check_command(
    procedure: Annotated[list[str] | None, typer.Option("--procedure", "-p", help="Only this procedure.")] = None,
    instrument: Annotated[
        str | None,
        typer.Option("--instrument", "-i", help="Also check that a CMC line covers this instrument's range (serial)."),
    ] = None,
    as_json: AsJson = False,
    language: Lang = "vi",
) -> None:
    """What the centre still lacks before it can run each procedure, in Vietnamese (default) or English (--lang en).
    Exit 0 when nothing is missing."""
    from acquisition.procedures import procedure_ids
    from acquisition.readiness import readiness
    from api.cli.results import check_language
    from registry.settings import lab_today

    try:
        lang = check_language(language)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from None

    unknown = [p for p in procedure or [] if p not in procedure_ids()]
    if unknown:
        raise fail(
            f"{unknown[0]!r} is not a procedure id; the procedures are: {', '.join(procedure_ids())}", EXIT_USAGE
        )
    with _session() as s:
        subject = None
        if instrument is not None:
            from registry.errors import NotFoundError
            from registry.runs import find_instrument

            try:
                subject = find_instrument(s, instrument)
            except NotFoundError as exc:
                raise fail(str(exc), EXIT_NOT_FOUND) from exc
        found = readiness(s, lab_today(), list(procedure) if procedure else None, subject)
    if as_json:
        doc = [{"procedure": r.procedure, "missing": r.gaps(lang), "codes": [m.code for m in r.missing]} for r in found]
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        ready, missing = ("sẵn sàng", "còn thiếu") if lang == "vi" else ("ready", "missing")
        for r in found:
            if r.ready:
                typer.echo(f"{r.procedure}: {ready}")
            else:
                typer.echo(f"{r.procedure}: {missing}")
                for gap in r.gaps(lang):
                    typer.echo(f"  - {gap}")
    if any(not r.ready for r in found):
        raise typer.Exit(EXIT_NOT_FOUND)
