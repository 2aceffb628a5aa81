"""``caltrace registry import standard-certificate FILE.xml --standard CODE --due DATE``: a reference standard's DCC
into its certificate history (:func:`certificates.standard_dcc.import_standard_dcc`, decision 0460).

Prints what it read (a table; Vietnamese by default, English with ``--lang en``), the verification's steps that did
not pass, notes, and every reason it refused. Exit status: 0 imported (with ``--dry-run``: it would be); 1 refused,
nothing written (verification failed, or warnings not accepted with ``--accept-warnings``; a value it cannot map;
the item is not the standard; no such standard; the registry rejects it); 2 bad usage (no such file, an unreadable
``--trust`` file, a bad ``--due`` or ``--lang``, a registry not ready).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.cli.errors import fail

if TYPE_CHECKING:
    from certificates.standard_dcc import Recorded, StandardDccImport
    from registry.importer.messages import Language

EXIT_REFUSED = 1
EXIT_USAGE = 2
_MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "-"}


def standard_certificate_command(
    file: Annotated[Path, typer.Argument(help="The standard's DCC (XML, schema 2.4.0 to 3.3.0).")],
    standard: Annotated[str, typer.Option("--standard", help="The code of the reference standard it certifies.")],
    due: Annotated[
        str, typer.Option("--due", help="Valid until (hiệu lực đến), dd/mm/yyyy: a DCC states no recalibration date.")
    ],
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="A PEM file of trusted certificates (the issuer's CA); repeat for several."),
    ] = None,
    accept_warnings: Annotated[
        bool,
        typer.Option(
            "--accept-warnings",
            help="Import although verification could not confirm a step (unsigned, no trusted timestamp, ...).",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Verify, read and check; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was read and done as JSON.")] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who is recorded in the audit log (default: $CALTRACE_ACTOR or your login).")
    ] = None,
    language: Annotated[str, typer.Option("--lang", help="Language of the messages: vi (default) or en.")] = "vi",
) -> None:
    """Import a reference standard's Digital Calibration Certificate (DCC) into its certificate history.

    Verifies it first (a failed step refuses; a warning such as 'unsigned' needs --accept-warnings), checks that its
    item is the standard (serial number), reads the number, dates, issuing laboratory and the values with U and k
    (a weight set: each piece's conventional mass correction, matched by nominal value and marking), shows them and
    writes the certificate whole, or nothing. Messages in Vietnamese (default) or English (--lang en).
    Exit 0: imported (--dry-run: would be); 1: refused, nothing written; 2: bad usage."""
    from sqlalchemy.exc import SQLAlchemyError

    from api.cli.centre import catalogue
    from api.cli.results import check_language
    from certificates.standard_dcc import import_standard_dcc
    from certificates.verify.pki import load_pem_certificates
    from registry.db import open_registry, session_scope
    from registry.errors import RegistryError
    from registry.importer.cells import CellError
    from registry.importer.records import any_date
    from registry.settings import default_actor, lab_today

    try:
        lang = check_language(language)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if not file.is_file():
        raise fail(f"{file}: no such file (give the path of the standard's DCC XML)", EXIT_USAGE)
    try:
        valid_until = any_date(due)
    except CellError as exc:
        raise fail(f"--due: {exc.message.text(lang)}", EXIT_USAGE) from None
    if valid_until is None:
        raise fail("--due: give the date the certificate is valid until (dd/mm/yyyy)", EXIT_USAGE)
    anchors = []
    for pem in trust or []:
        try:
            anchors += load_pem_certificates(pem.read_bytes())
        except (OSError, ValueError) as exc:
            raise fail(f"--trust {pem}: cannot read a certificate ({exc}); give a PEM file", EXIT_USAGE) from None
    data = file.read_bytes()
    try:
        engine = open_registry()
    except RegistryError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    try:
        with session_scope(engine, actor or default_actor()) as s:
            outcome = import_standard_dcc(
                s,
                data,
                str(file),
                standard,
                due=valid_until,
                trust=anchors,
                accept_warnings=accept_warnings,
                dry_run=dry_run,
                today=lab_today(),
                catalogue=catalogue(),
            )
            shown = _as_dict(outcome, lang) if as_json else None
            if not as_json:
                _print(outcome, lang)
    except RegistryError as exc:
        raise fail(f"{exc}; nothing was written", EXIT_USAGE) from exc
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise fail(f"the registry database failed: {reason}; nothing was written", EXIT_USAGE) from exc
    finally:
        engine.dispose()
    if shown is not None:
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=2, default=str))
    if not outcome.ok:
        raise typer.Exit(EXIT_REFUSED)


def _t(key: str, lang: Language, **args: object) -> str:
    from certificates.read_dcc_messages import m

    return m(key, **args).text(lang)


def _number(value: Any, lang: Language) -> str:
    """A number as written in ``lang`` (decimal comma in Vietnamese), a Decimal digit for digit without exponent."""
    from decimal import Decimal

    from registry.importer.messages import number_text

    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.replace(".", ",") if lang == "vi" else text
    return number_text(value, lang)


def _cell_text(cell: object, unit: str, lang: Language) -> str:
    """A number cell (``0.00014`` with ``unit``, or ``0.00014 g``) in the reader's language."""
    from decimal import Decimal

    number, _, own = str(cell).partition(" ")
    return f"{_number(Decimal(number), lang)} {own or unit}".strip()


def _recorded_text(r: Recorded, lang: Language) -> str:
    """What the registry records for a value, in the reader's language (numbers as the import reads them)."""
    from decimal import Decimal

    row = r.row
    unit = str(row.get("unit") or "")
    U = _cell_text(row["uncertainty"], unit, lang)
    if "correction" in row:
        sign = "+" if Decimal(str(row["correction"])) >= 0 else ""
        return _t("cli.recorded_correction", lang, correction=sign + _cell_text(row["correction"], unit, lang), U=U)
    if unit == "g" and "quantity" not in row:
        return _t("cli.recorded_mass", lang, mass=_cell_text(row["value"], unit, lang), U=U)
    return _t("cli.recorded_value", lang, value=_cell_text(row["value"], unit, lang), U=U)


def _print(outcome: StandardDccImport, lang: Language) -> None:
    from certificates.verify import OUTCOME_WORDS, STEP_TITLES

    console = Console(width=None if sys.stdout.isatty() else 160)
    c = outcome.content
    console.print(_t("cli.title", lang, code=outcome.code, file=outcome.file), highlight=False)
    if c is not None:
        lab = c.laboratory + (f" ({_t('cli.accreditation', lang, code=c.accreditation)})" if c.accreditation else "")
        span = "" if c.begin is None else f"{c.begin:%d/%m/%Y}"
        if c.end is not None and c.end != c.begin:
            span = f"{span} – {c.end:%d/%m/%Y}" if span else f"{c.end:%d/%m/%Y}"
        ids = "; ".join(f"{issuer} {value}".strip() for issuer, value in c.item_ids)
        lines = [
            ("cli.number", c.number),
            ("cli.laboratory", lab),
            ("cli.calibrated", span),
            ("cli.issued", f"{c.issued_on:%d/%m/%Y}" if c.issued_on else _t("cli.not_stated", lang)),
            ("cli.item", f"{c.item_name} — {ids}" if c.item_name else ids),
            ("cli.schema", c.schema_version),
            ("cli.sha256", outcome.sha256),
        ]
        for code, value in lines:
            console.print(f"  {_t(code, lang)}: {value}", highlight=False)
    if outcome.verification is not None:
        console.print(_t("cli.verification", lang) + ":", highlight=False)
        for step in outcome.verification.steps:
            title, word = STEP_TITLES[step.name][lang], OUTCOME_WORDS[step.outcome][lang]
            console.print(f"  {_MARKS[step.outcome]} {title}: {word} — {step.detail(lang)}", highlight=False)
    values = c.values if c is not None else []
    if values:
        recorded = {id(r.source): r for r in outcome.recorded}
        table = Table(title=_t("cli.values_title", lang, n=len(values)), title_justify="left")
        for code in ("cli.col_result", "cli.col_nominal", "cli.col_piece", "cli.col_value"):
            table.add_column(_t(code, lang), overflow="fold")
        table.add_column("U")
        table.add_column("k")
        table.add_column(_t("cli.col_p", lang))
        table.add_column(_t("cli.col_recorded", lang), overflow="fold")
        for v in values:
            r = recorded.get(id(v))
            nominal = f"{_number(v.nominal, lang)} {v.nominal_unit}" if v.nominal is not None else ""
            table.add_row(
                v.where.text(lang),
                nominal,
                r.piece if r is not None and r.piece else v.label,
                f"{_number(v.value, lang)} {v.unit}".strip(),
                f"{_number(v.U, lang)} {v.U_unit}".strip() if v.U is not None else "",
                _number(v.k, lang) if v.k is not None else "",
                _number(v.p, lang) if v.p is not None else "",
                _recorded_text(r, lang) if r is not None else "—",
            )
        console.print(table)
    if outcome.notes:
        console.print(_t("cli.notes_title", lang) + ":", highlight=False)
        for note in outcome.notes:
            console.print(f"  - {note.text(lang)}", highlight=False, soft_wrap=True)
    if outcome.refusals:
        console.print(_t("cli.refused_title", lang, n=len(outcome.refusals)) + ":", highlight=False)
        for reason in outcome.refusals:
            console.print(f"  - {reason.text(lang)}", highlight=False, soft_wrap=True)
        console.print(_t("cli.refused", lang), highlight=False)
        return
    assert c is not None
    n = len(outcome.recorded)
    code = "cli.dry_run" if outcome.dry_run else "cli.imported"
    console.print(_t(code, lang, number=c.number, issuer=c.laboratory, code=outcome.code, n=n), highlight=False)


def _as_dict(outcome: StandardDccImport, lang: Language) -> dict[str, Any]:
    c = outcome.content
    return {
        "file": outcome.file,
        "sha256": outcome.sha256,
        "standard": outcome.code,
        "dry_run": outcome.dry_run,
        "ok": outcome.ok,
        "written": outcome.written,
        "language": lang,
        "verification": outcome.verification.as_json() if outcome.verification is not None else None,
        "certificate": None
        if c is None
        else {
            "number": c.number,
            "laboratory": c.laboratory,
            "accreditation": c.accreditation,
            "calibrated_from": c.begin,
            "calibrated_to": c.end,
            "issued_on": c.issued_on,
            "item": c.item_name,
            "item_ids": [{"issuer": i, "value": v} for i, v in c.item_ids],
            "schema_version": c.schema_version,
        },
        "values": [
            {
                "result": r.source.where.text(lang),
                "kind": r.source.kind,
                "value": str(r.source.value),
                "unit": r.source.unit,
                "U": str(r.source.U),
                "k": str(r.source.k),
                "p": None if r.source.p is None else str(r.source.p),
                "nominal": None if r.source.nominal is None else f"{r.source.nominal} {r.source.nominal_unit}",
                "piece": r.piece,
                "recorded": {k: str(v) for k, v in r.row.items()},
            }
            for r in outcome.recorded
        ],
        "notes": [{"code": n.code, "text": n.text(lang)} for n in outcome.notes],
        "refusals": [{"code": r.code, "text": r.text(lang)} for r in outcome.refusals],
    }


def register(import_app: typer.Typer) -> None:
    """Add ``standard-certificate`` to ``caltrace registry import``."""
    import_app.command("standard-certificate")(standard_certificate_command)
