"""``caltrace certificate``: verify a Digital Calibration Certificate (DCC XML; PDF recognised, not yet checked).

Exit codes of ``certificate verify``: 0 when every step passed (steps that do not apply are skipped); 1 when a step
failed or could not confirm what it checks (``warn``: an unsigned file, a signing time only the signer claims, an
expired signer with no trusted timestamp, no revocation values, schema validation off); 2 for bad usage (missing
file, not XML or PDF, unreadable ``--trust`` file, bad ``--lang``). The report tells failures from warnings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli.errors import fail

app = typer.Typer(no_args_is_help=True, help="Digital Calibration Certificates (DCC).")

_MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "-"}


@app.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(help="The DCC XML file (or a PDF) to verify.")],
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="A PEM file of trusted certificates (anchors); repeat for several."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    lang: Annotated[str, typer.Option("--lang", help="Language of the report: vi (default) or en.")] = "vi",
) -> None:
    """Verify a DCC step by step: well-formed, schema, signature, signing time, chain to --trust, revocation.

    Exit 0 only when every step passes; 1 when a step fails or cannot be confirmed; 2 for bad usage."""
    from certificates.verify import OUTCOME_WORDS, STEP_TITLES, verify_bytes
    from certificates.verify.pki import load_pem_certificates

    if lang not in ("vi", "en"):
        raise fail(f"--lang must be vi or en, got {lang!r}", 2)
    if not file.is_file():
        raise fail(f"{file}: no such file (give the path of a DCC XML or PDF file)", 2)
    data = file.read_bytes()
    head = data.lstrip()[:5]
    if not (head.startswith(b"<") or head == b"%PDF-" or data.startswith(b"\xef\xbb\xbf<")):
        raise fail(f"{file}: neither XML nor PDF (a DCC is an XML file, or a PDF carrying one)", 2)
    anchors = []
    for pem in trust or []:
        try:
            anchors += load_pem_certificates(pem.read_bytes())
        except (OSError, ValueError) as exc:
            raise fail(f"--trust {pem}: cannot read a certificate ({exc}); give a PEM file", 2) from None
    report = verify_bytes(data, str(file), anchors)
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        for step in report.steps:
            title = STEP_TITLES[step.name][lang]
            word = OUTCOME_WORDS[step.outcome][lang]
            typer.echo(f"{_MARKS[step.outcome]} {title}: {word} — {step.detail(lang)}")
        if report.verified:
            typer.echo("Kết quả: đã xác minh." if lang == "vi" else "Result: verified.")
        elif report.failed:
            names = ", ".join(STEP_TITLES[s.name][lang] for s in report.failed)
            typer.echo(f"Kết quả: KHÔNG HỢP LỆ ({names})." if lang == "vi" else f"Result: NOT VALID ({names}).")
        else:
            typer.echo(
                "Kết quả: chưa xác minh đầy đủ (xem các bước chưa xác nhận)."
                if lang == "vi"
                else "Result: not fully verified (see the steps not confirmed)."
            )
    if not report.verified:
        raise typer.Exit(1)
