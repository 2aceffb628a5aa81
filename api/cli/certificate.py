"""``caltrace certificate``: verify a Digital Calibration Certificate (DCC XML, or the signed PDF carrying one), and
sign a DCC XML as an authorised signatory (XAdES-B-B with their lab-issued key).

Exit codes of ``certificate sign``: 0 signed; 1 when something needed is missing (no lab CA, no usable signing
certificate); 2 for bad usage or a refusal (missing file, not a signable DCC, an existing --out, a signatory not
authorised today, a wrong passphrase).

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

app = typer.Typer(no_args_is_help=True, help="Digital Calibration Certificates (DCC): verify, sign.")

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
    from certificates.verify import OUTCOME_WORDS, step_title, verify_bytes
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
            title = step_title(step.name, lang)
            word = OUTCOME_WORDS[step.outcome][lang]
            typer.echo(f"{_MARKS[step.outcome]} {title}: {word} — {step.detail(lang)}")
        if report.verified:
            typer.echo("Kết quả: đã xác minh." if lang == "vi" else "Result: verified.")
        elif report.failed:
            names = ", ".join(step_title(s.name, lang) for s in report.failed)
            typer.echo(f"Kết quả: KHÔNG HỢP LỆ ({names})." if lang == "vi" else f"Result: NOT VALID ({names}).")
        else:
            typer.echo(
                "Kết quả: chưa xác minh đầy đủ (xem các bước chưa xác nhận)."
                if lang == "vi"
                else "Result: not fully verified (see the steps not confirmed)."
            )
    if not report.verified:
        raise typer.Exit(1)


@app.command("sign")
def sign_command(
    file: Annotated[Path, typer.Argument(help="The unsigned DCC XML file (schema 3.2.0 or later).")],
    signer: Annotated[str, typer.Option("--signer", help="Username of the signatory (authorised to sign today).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the signed DCC (must not exist yet).")],
    tsa: Annotated[
        str | None,
        typer.Option(
            "--tsa", help="RFC 3161 timestamp server URL: adds a timestamp (XAdES-T). Default: CALTRACE_TSA_URL."
        ),
    ] = None,
) -> None:
    """Sign a DCC XML with an enveloped XAdES-B-B signature by the signatory's lab-issued key, opened with
    CALTRACE_SIGNER_PASSPHRASE or a typed passphrase (never stored); with --tsa (or CALTRACE_TSA_URL) a timestamp
    server adds a signature timestamp (XAdES-B-T). The signature is audited (dcc-sign)."""
    from datetime import UTC, datetime

    from api.cli.pki import _secret
    from certificates.errors import PkiError
    from certificates.pki import SIGNER_PASSPHRASE_ENV, current_crl, load_ca, pki_paths
    from certificates.signing import current_certificate, lab_signer, record_signature
    from certificates.xades import sign_dcc, signable
    from registry.db import open_registry, read_session, session_scope
    from registry.errors import NotPermittedError
    from registry.runs import signing_procedures
    from registry.settings import default_actor, get_settings, lab_today

    if not file.is_file():
        raise fail(f"{file}: no such file (give the path of the unsigned DCC XML)", 2)
    if out.exists():
        raise fail(f"--out {out} exists already: give a new path (a signed file is never overwritten)", 2)
    paths = pki_paths()
    engine = open_registry()
    today, now = lab_today(), datetime.now(UTC)
    tsa = tsa or get_settings().tsa_url
    data = file.read_bytes()
    try:
        signable(data)
    except ValueError as exc:
        raise fail(f"{file}: {exc}", 2) from None
    try:
        load_ca(paths)
        with read_session(engine) as session:  # refuse before asking for the passphrase
            signing_procedures(session, signer, today)
            info = current_certificate(session, signer, now, paths)
        passphrase = _secret(SIGNER_PASSPHRASE_ENV, f"passphrase of {signer}'s signing key")
        with read_session(engine) as session:
            key_signer = lab_signer(session, signer, passphrase, today=today, now=now, paths=paths)
        crl = current_crl(paths, now=now)  # embedded so a verifier without our registry sees the status
        signed = sign_dcc(data, key_signer, signing_time=now, timestamp_url=tsa or None, crls=[crl] if crl else [])
    except NotPermittedError as exc:
        raise fail(str(exc), 2) from None
    except PkiError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except ValueError as exc:
        raise fail(f"{file}: {exc}", 2) from None
    try:
        with out.open("xb") as handle:
            handle.write(signed)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror}", 1) from None
    try:  # no signed file without its audit entry
        with session_scope(engine, default_actor()) as session:
            digest = record_signature(
                session,
                signed,
                username=signer,
                serial=info.serial,
                signing_time=now,
                source=file,
                out=out,
                level="XAdES-B-T" if tsa else "XAdES-B-B",
            )
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    typer.echo(f"signed {out} as {info.subject} ({signer}), certificate {info.serial}")
    stamped = f"; timestamp from {tsa}" if tsa else " (no timestamp: level B)"
    if not crl:
        typer.echo("no current revocation list embedded: publish one with `caltrace pki crl`", err=True)
    typer.echo(f"signing time {now:%Y-%m-%dT%H:%M:%SZ}{stamped}; SHA-256 of the signed file {digest}")
    typer.echo("verify with: caltrace certificate verify --trust <lab CA, `caltrace pki show-ca`> " + str(out))
