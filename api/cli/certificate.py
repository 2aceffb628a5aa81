"""``caltrace certificate``: the workflow of issued certificates (issue, list, show, amend, revoke, export; decision
0450), verify any Digital Calibration Certificate (DCC XML, or the signed PDF carrying one), and sign a DCC XML file
as an authorised signatory (XAdES-B-B with their lab-issued key).

Messages of the workflow commands are Vietnamese by default, English with ``--lang en``. Exit codes of ``issue``,
``amend``, ``revoke``: 0 done; 1 something needed is missing (no lab CA, no usable signing certificate, an unknown
run or certificate number); 2 refused (the run not reviewed or an ISO/IEC 17025 item missing, listed; the signatory
not authorised or the run's technician; a certificate already in force for the run; a substituted or revoked
certificate; no numbering pattern; a stored file already there). ``show``/``export``: 1 for an unknown number, a
stored file missing or differing from its recorded SHA-256.

Exit codes of ``certificate sign``: 0 signed; 1 when something needed is missing (no lab CA, no usable signing
certificate); 2 for bad usage or a refusal (missing file, not a signable DCC, an existing --out, a signatory not
authorised today, a wrong passphrase).

Exit codes of ``certificate verify``: 0 when every step passed (steps that do not apply are skipped); 1 when a step
failed or could not confirm what it checks (``warn``: an unsigned file, a signing time only the signer claims, an
expired signer with no trusted timestamp, no revocation values, schema validation off); 2 for bad usage (missing
file, not XML or PDF, unreadable ``--trust`` file, bad ``--lang``). The report tells failures from warnings. When the
installation has a registry, our own certificates are also checked against it (status, stored hash, the signer's
authorisation, revocation of the signing key).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.errors import fail

app = typer.Typer(
    no_args_is_help=True,
    help="Certificates (DCC): issue, list, show, amend, revoke, export; verify any DCC; sign a DCC file.",
)

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
    from certificates.verify import OUTCOME_WORDS, step_title
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
    report = _verify_with_registry(data, str(file), anchors, lang)
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


def _verify_with_registry(data: bytes, name: str, anchors: list[Any], lang: str) -> Any:
    """verify_bytes, with the registry steps when this installation has a registry (CALTRACE_DATABASE_URL, or
    caltrace.db in the data directory); without one (or one that cannot be opened, said on stderr) the file's own
    steps only."""
    from certificates.verify import verify_bytes
    from registry.db import open_registry, read_session
    from registry.errors import RegistryError
    from registry.settings import get_settings

    settings = get_settings()
    if not (settings.database_url or (settings.data_dir / "caltrace.db").is_file()):
        return verify_bytes(data, name, anchors)
    try:
        engine = open_registry(settings)
    except RegistryError as exc:
        note = "ghi chú: không mở được sổ đăng ký, bỏ qua các bước sổ đăng ký" if lang == "vi" else (
            "note: the registry cannot be opened; its steps are left out")  # fmt: skip
        typer.echo(f"{note} ({exc})", err=True)
        return verify_bytes(data, name, anchors)
    with read_session(engine) as session:
        return verify_bytes(data, name, anchors, registry=session)


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


# --- the workflow: issue, list, show, amend, revoke, export (decision 0450) ----------------------------------------

#: (key, Vietnamese heading, English heading) of ``certificate list``; JSON uses the keys
LIST_COLUMNS: list[tuple[str, str, str]] = [
    ("number", "số", "number"),
    ("kind", "loại", "kind"),
    ("status", "trạng thái", "status"),
    ("run_id", "lần đo", "run"),
    ("signer", "người ký", "signer"),
    ("issued_at", "ban hành lúc", "issued"),
    ("replaced_by", "thay bằng", "replaced by"),
    ("reason", "lý do", "reason"),
]
#: status -> (vi, en)
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "draft": ("bản nháp", "draft"),
    "issued": ("đã ban hành", "issued"),
    "amended": ("đã sửa đổi", "amended"),
    "substituted": ("đã bị thay thế", "substituted"),
    "revoked": ("đã thu hồi", "revoked"),
}
KIND_WORDS: dict[str, tuple[str, str]] = {
    "calibration": ("hiệu chuẩn", "calibration"),
    "verification": ("kiểm định", "verification"),
    "test": ("thử nghiệm", "test"),
}

Lang = Annotated[str, typer.Option("--lang", help="Language of the messages: vi (default) or en.")]
PkcsModule = Annotated[
    Path | None, typer.Option("--pkcs11-module", help="Sign with the key on a PKCS#11 token: its module (.so).")
]
PkcsToken = Annotated[str | None, typer.Option("--token", help="Token label (with --pkcs11-module).")]
PkcsKey = Annotated[str | None, typer.Option("--key", help="Key label on the token (with --pkcs11-module).")]


def _lang(language: str) -> str:
    if language not in ("vi", "en"):
        raise fail(f"--lang must be vi or en, got {language!r}", 2)
    return language


def _say(lang: str, vi: str, en: str) -> None:
    typer.echo(vi if lang == "vi" else en)


#: a PKCS#11 token key: (module .so, token label, key label)
Token = tuple[Path, str, str]


def _token_option(module: Path | None, token: str | None, key: str | None) -> Token | None:
    if module is None and token is None and key is None:
        return None
    if module is None or not token or not key:
        raise fail("give --pkcs11-module, --token and --key together (the signatory's token key)", 2)
    return (module, token, key)


def _open_signer(signer: str, lang: str, token: Token | None = None) -> tuple[Any, Any, Any]:
    """(engine, PKI paths, the signatory's key: their key file, or with ``token`` the key on their PKCS#11 token
    whose certificate the lab CA issued), after the checks that need no passphrase or PIN."""
    from datetime import UTC, datetime

    from api.cli.pki import _secret
    from certificates.errors import PkiError
    from certificates.pki import SIGNER_PASSPHRASE_ENV, load_ca, pki_paths
    from certificates.signing import current_certificate, lab_signer
    from registry.db import open_registry, read_session
    from registry.errors import NotPermittedError
    from registry.runs import signing_procedures
    from registry.settings import lab_today

    paths = pki_paths()
    engine = open_registry()
    today, now = lab_today(), datetime.now(UTC)
    try:
        load_ca(paths)
        with read_session(engine) as session:  # refuse before asking for the passphrase
            signing_procedures(session, signer, today)
            current_certificate(session, signer, now, paths)
        if token is not None:
            from api.cli.pki import PIN_ENV
            from certificates.pki import ca_chain, load_certificate
            from certificates.signer import Pkcs11Signer

            with read_session(engine) as session:
                info = current_certificate(session, signer, now, paths)
            pin = _secret(PIN_ENV, f"PIN of token {token[1]}")
            key: Any = Pkcs11Signer(
                token[0], token[1], pin, key_label=token[2], certificate=load_certificate(info.path),
                chain=ca_chain(paths),
            )  # fmt: skip
            if key.public_key().public_numbers() != key.certificate.public_key().public_numbers():
                raise fail(
                    f"the key {token[2]!r} on token {token[1]!r} is not the key of {signer}'s current certificate "
                    f"{info.serial}: certify it with `caltrace pki issue-signer {signer} --pkcs11-module ...`",
                    2,
                )
        else:
            passphrase = _secret(SIGNER_PASSPHRASE_ENV, f"passphrase of {signer}'s signing key")
            with read_session(engine) as session:
                key = lab_signer(session, signer, passphrase, today=today, now=now, paths=paths)
    except NotPermittedError as exc:
        raise fail(str(exc), 2) from None
    except PkiError as exc:
        raise fail(str(exc), exc.exit_code) from None
    return engine, paths, key


def _make_certificate(lang: str, signer: str, work: Any, tsa: str | None, token: Token | None = None) -> Any:
    """Run ``work(session, key, paths, now, tsa)`` (issue or amend) in one transaction; the stored files are
    removed when the transaction does not commit. Refusals become one line and exit 2."""
    from datetime import UTC, datetime

    from certificates.dcc_content import DccRefusedError
    from certificates.errors import PkiError
    from certificates.issue import WorkflowError, discard
    from registry.db import session_scope
    from registry.settings import default_actor, get_settings

    engine, paths, key = _open_signer(signer, lang, token)
    tsa = tsa or get_settings().tsa_url or None
    issued = None
    try:
        with session_scope(engine, default_actor()) as session:
            issued = work(session, key, paths, datetime.now(UTC), tsa)
    except BaseException as exc:
        if issued is not None:
            discard(issued)
        if isinstance(exc, WorkflowError | DccRefusedError):
            raise fail(exc.text(lang), 2) from None
        if isinstance(exc, PkiError):
            raise fail(str(exc), exc.exit_code) from None
        if isinstance(exc, ValueError):
            raise fail(str(exc), 2) from None
        if isinstance(exc, OSError):  # the store cannot be written: nothing was committed
            where = f"{exc.filename}: " if exc.filename else ""
            raise fail(f"cannot store the certificate ({where}{exc.strerror}); nothing was issued", 1) from None
        raise
    return issued


def _report_issued(issued: Any, lang: str, out: Path | None) -> None:
    for path, digest in ((issued.xml_path, issued.xml_sha256), (issued.pdf_path, issued.pdf_sha256)):
        if path is not None:
            _say(lang, f"đã lưu {path} (SHA-256 {digest})", f"stored {path} (SHA-256 {digest})")
    if out is not None:
        for path in _copy_out(issued.paths, out, lang):
            _say(lang, f"đã chép ra {path}", f"copied to {path}")
    _say(
        lang,
        "kiểm tra bằng: caltrace certificate verify --trust <CA của phòng, `caltrace pki show-ca`> "
        + str(issued.xml_path),
        "verify with: caltrace certificate verify --trust <lab CA, `caltrace pki show-ca`> " + str(issued.xml_path),
    )


def _copy_out(paths: list[Path], out: Path, lang: str) -> list[Path]:
    import shutil

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"--out {out}: {exc.strerror}", 2) from None
    copied = []
    for path in paths:
        target = out / path.name
        if target.exists():
            raise fail(
                f"{target} đã có: chọn thư mục khác (không ghi đè)" if lang == "vi"
                else f"{target} exists already: choose another directory (never overwritten)",
                2,
            )  # fmt: skip
        shutil.copyfile(path, target)
        copied.append(target)
    return copied


@app.command("issue")
def issue_command(
    run: Annotated[str, typer.Argument(help="The reviewed run: its id or a unique prefix (4 characters or more).")],
    signer: Annotated[str, typer.Option("--signer", help="Username of the signatory (not the run's technician).")],
    out: Annotated[Path | None, typer.Option("--out", help="Also copy the signed files into this directory.")] = None,
    tsa: Annotated[
        str | None, typer.Option("--tsa", help="RFC 3161 timestamp server URL (XAdES-T). Default: CALTRACE_TSA_URL.")
    ] = None,
    mark: Annotated[
        str | None, typer.Option("--mark", help="Verification mark (stamp) number: needed for a passed verification.")
    ] = None,
    module: PkcsModule = None,
    token: PkcsToken = None,
    key_label: PkcsKey = None,
    language: Lang = "vi",
) -> None:
    """Issue the certificate of a reviewed run: the next number of its kind, the DCC signed by --signer with their
    lab-issued key (passphrase from CALTRACE_SIGNER_PASSPHRASE or typed), stored read-only in the data directory
    with its SHA-256, audited. Exit 0 issued; 1 something needed is missing; 2 refused (listing why)."""
    from certificates.issue import issue_certificate, store_dir
    from certificates.pades import PdfA3
    from registry.db import open_registry, read_session
    from registry.runs import resolve_run_id

    lang = _lang(language)
    with read_session(open_registry()) as s:
        run_id = resolve_run_id(s, run)

    def work(session: Any, key: Any, paths: Any, now: Any, stamp: str | None) -> Any:
        return issue_certificate(
            session,
            run_id,
            signatory=signer,
            signer=key,
            now=now,
            store=store_dir(),
            timestamp_url=stamp,
            pki=paths,
            mark=mark,
            pdf=PdfA3(),
        )

    issued = _make_certificate(lang, signer, work, tsa, _token_option(module, token, key_label))
    _say(
        lang,
        f"đã ban hành giấy chứng nhận {issued.number} cho lần đo {run_id}, người ký {signer}",
        f"issued certificate {issued.number} for run {run_id}, signed by {signer}",
    )
    _report_issued(issued, lang, out)


@app.command("amend")
def amend_command(
    number: Annotated[str, typer.Argument(help="The issued certificate's number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is replaced (stated in the new certificate).")],
    signer: Annotated[str, typer.Option("--signer", help="Username of the signatory of the new certificate.")],
    out: Annotated[Path | None, typer.Option("--out", help="Also copy the signed files into this directory.")] = None,
    tsa: Annotated[
        str | None, typer.Option("--tsa", help="RFC 3161 timestamp server URL (XAdES-T). Default: CALTRACE_TSA_URL.")
    ] = None,
    mark: Annotated[
        str | None, typer.Option("--mark", help="A new verification mark number (default: the original's).")
    ] = None,
    module: PkcsModule = None,
    token: PkcsToken = None,
    key_label: PkcsKey = None,
    language: Lang = "vi",
) -> None:
    """Replace an issued certificate by a new one with a new number, built from the run's current reviewed data and
    naming the original (reportAmendedSubstituted); the original becomes substituted. Exit 2 when refused."""
    from certificates.issue import amend_certificate, store_dir
    from certificates.pades import PdfA3

    lang = _lang(language)

    def work(session: Any, key: Any, paths: Any, now: Any, stamp: str | None) -> Any:
        return amend_certificate(
            session,
            number,
            reason=reason,
            signatory=signer,
            signer=key,
            now=now,
            store=store_dir(),
            timestamp_url=stamp,
            pki=paths,
            mark=mark,
            pdf=PdfA3(),
        )

    issued = _make_certificate(lang, signer, work, tsa, _token_option(module, token, key_label))
    _say(
        lang,
        f"đã ban hành {issued.number} thay thế {number} (lý do: {reason})",
        f"issued {issued.number} replacing {number} (reason: {reason})",
    )
    _report_issued(issued, lang, out)


@app.command("revoke")
def revoke_command(
    number: Annotated[str, typer.Argument(help="The issued certificate's number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is revoked (kept in the registry).")],
    by: Annotated[str, typer.Option("--by", help="Username of the signatory who revokes it.")],
    language: Lang = "vi",
) -> None:
    """Revoke an issued certificate: status revoked with the reason, audited; `certificate verify` reports it. A
    substituted or revoked certificate is final (exit 2)."""
    from datetime import UTC, datetime

    from certificates.issue import WorkflowError, revoke_certificate
    from registry.db import open_registry, session_scope
    from registry.settings import default_actor

    lang = _lang(language)
    try:
        with session_scope(open_registry(), default_actor()) as session:
            revoke_certificate(session, number, reason=reason, by=by, now=datetime.now(UTC))
    except WorkflowError as exc:
        raise fail(exc.text(lang), 2) from None
    _say(lang, f"đã thu hồi {number} (lý do: {reason})", f"revoked {number} (reason: {reason})")


def _row(s: Any, cert: Any, lang: str) -> dict[str, Any]:
    from api.cli.results import lab_time
    from registry.models import Certificate
    from registry.settings import get_settings

    i = 0 if lang == "vi" else 1
    other = s.get(Certificate, cert.replaced_by_id) if cert.replaced_by_id is not None else None
    issued_at = lab_time(cert.issued_at, get_settings().timezone) if cert.issued_at is not None else ""
    return {
        "number": cert.number,
        "kind": KIND_WORDS.get(cert.kind.value, (cert.kind.value,) * 2)[i],
        "status": STATUS_WORDS.get(cert.status.value, (cert.status.value,) * 2)[i],
        "run_id": cert.run_id,
        "signer": cert.signer.username if cert.signer is not None else "",
        "issued_at": issued_at,
        "replaced_by": other.number if other is not None else "",
        "reason": cert.status_reason,
    }


@app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option("--status", help="Only this status: issued, substituted, revoked.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (English keys and values).")] = False,
    language: Lang = "vi",
) -> None:
    """The issued certificates, newest first."""
    from api.cli.tables import Format, emit
    from registry.certificates import list_certificates
    from registry.db import open_registry, read_session
    from registry.models import CertificateStatus

    lang = _lang(language)
    try:
        wanted = CertificateStatus(status) if status else None
    except ValueError:
        raise fail(f"--status must be one of {', '.join(s.value for s in CertificateStatus)}", 2) from None
    with read_session(open_registry()) as s:
        rows = [_row(s, c, "en" if as_json else lang) for c in list_certificates(s, wanted)]
    if as_json:
        for row in rows:  # JSON keeps the values, not the words
            row["status"] = next(k for k, v in STATUS_WORDS.items() if v[1] == row["status"])
    i = 0 if lang == "vi" else 1
    columns = [(key, words[i]) for key, *words in LIST_COLUMNS]
    title = ("giấy chứng nhận", "certificates")[i]
    empty = ("Chưa có giấy chứng nhận nào.", "No certificates.")[i]
    emit(rows, columns, Format.JSON if as_json else Format.TABLE, title=title, empty=empty)


def _stored(cert: Any) -> list[Path]:
    from certificates.issue import store_dir, stored_path

    assert cert.issued_at is not None
    found = [stored_path(store_dir(), cert.number, cert.issued_at, ".xml")]
    if cert.pdf_sha256:
        found.append(stored_path(store_dir(), cert.number, cert.issued_at, ".pdf"))
    return found


@app.command("show")
def show_command(
    number: Annotated[str, typer.Argument(help="The certificate's number.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    language: Lang = "vi",
) -> None:
    """One certificate: status (and why), what it replaces or what replaced it, its stored files and SHA-256."""
    from sqlalchemy import select

    from registry.certificates import find_certificate
    from registry.db import open_registry, read_session
    from registry.models import Certificate

    lang = _lang(language)
    with read_session(open_registry()) as s:  # an unknown number: NotFoundError, one line and exit 1 (run_app)
        cert = find_certificate(s, number)
        doc = _row(s, cert, "en" if as_json else lang)
        if as_json:
            doc["status"] = cert.status.value
            doc["kind"] = cert.kind.value
        replaced = s.scalars(select(Certificate.number).where(Certificate.replaced_by_id == cert.id)).all()
        doc["replaces"] = ", ".join(replaced)
        doc["procedure"] = cert.run.procedure.code
        doc["xml_sha256"] = cert.xml_sha256 or ""
        doc["pdf_sha256"] = cert.pdf_sha256 or ""
        doc["files"] = [str(p) for p in _stored(cert)] if cert.issued_at is not None else []
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    i = 0 if lang == "vi" else 1
    heads = {key: words[i] for key, *words in LIST_COLUMNS}
    heads.update({"replaces": ("thay thế cho", "replaces")[i], "procedure": ("quy trình", "procedure")[i]})
    for key, value in doc.items():
        shown = "\n  ".join(value) if isinstance(value, list) else value
        typer.echo(f"{heads.get(key, key)}: {shown}")


@app.command("export")
def export_command(
    number: Annotated[str, typer.Argument(help="The certificate's number.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to copy the stored files into.")],
    language: Lang = "vi",
) -> None:
    """Copy a certificate's stored files into --out, after checking each against the SHA-256 recorded at issue
    (exit 1 when a stored file is missing or differs; nothing is copied then)."""
    import hashlib

    from registry.certificates import find_certificate
    from registry.db import open_registry, read_session

    lang = _lang(language)
    with read_session(open_registry()) as s:
        cert = find_certificate(s, number)
        if cert.issued_at is None:
            raise fail(f"{number}: chưa ban hành" if lang == "vi" else f"{number} is not issued", 2)
        files = _stored(cert)
        expected = [cert.xml_sha256, cert.pdf_sha256][: len(files)]
    for path, digest in zip(files, expected, strict=True):
        if not path.is_file():
            raise fail(f"thiếu tệp đã lưu {path}" if lang == "vi" else f"the stored file {path} is missing", 1)
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise fail(
                f"{path}: SHA-256 khác giá trị ghi khi ban hành" if lang == "vi"
                else f"{path}: its SHA-256 differs from the one recorded at issue",
                1,
            )  # fmt: skip
    for path in _copy_out(files, out, lang):
        _say(lang, f"đã chép ra {path}", f"copied to {path}")
