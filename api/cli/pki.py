"""``caltrace pki``: the lab CA, signatories' signing certificates and PKCS#11 tokens (certificates.pki)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli.errors import EXIT_USAGE, fail
from api.cli.tables import Format, emit

app = typer.Typer(no_args_is_help=True, help="The lab's signing keys: CA, signatories' certificates, tokens.")

PIN_ENV = "CALTRACE_PKCS11_PIN"


def _secret(env: str, prompt: str, *, confirm: bool = False) -> str:
    """A passphrase or PIN: from the environment variable ``env``, else typed at a hidden prompt (never stored)."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise fail(f"{prompt}: set {env} or run the command in a terminal to type it", EXIT_USAGE)
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


@app.command("init")
def init_command(
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing lab CA (its certificates stop being trusted).")
    ] = False,
) -> None:
    """Create the lab CA (RSA-3072 key encrypted with CALTRACE_PKI_PASSPHRASE or a typed passphrase)."""
    from certificates.errors import PkiError
    from certificates.pki import CA_PASSPHRASE_ENV, fingerprint, init_ca, pki_paths
    from registry.db import open_registry, session_scope
    from registry.settings import default_actor

    paths = pki_paths()
    if paths.ca_cert.exists() and not force:
        raise fail(f"a lab CA already exists ({paths.ca_cert}): add --force to replace it", EXIT_USAGE)
    passphrase = _secret(CA_PASSPHRASE_ENV, "passphrase for the lab CA key", confirm=True)
    try:
        with session_scope(open_registry(), default_actor()) as session:
            cert = init_ca(session, passphrase, force=force, paths=paths)
    except PkiError as exc:
        raise fail(str(exc), exc.exit_code) from None
    typer.echo(f"lab CA certificate: {paths.ca_cert}")
    typer.echo(f"SHA-256 fingerprint: {fingerprint(cert)}")
    typer.echo(f"valid until: {cert.not_valid_after_utc.date().isoformat()}")


@app.command("issue-signer")
def issue_signer_command(
    user: Annotated[str, typer.Argument(help="Username of the authorised signatory.")],
    days: Annotated[int, typer.Option("--days", help="Validity in days (at most 1095, never past the CA's).")] = 1095,
    module: Annotated[
        Path | None, typer.Option("--pkcs11-module", help="Certify the RSA key on this PKCS#11 token module (.so).")
    ] = None,
    token: Annotated[str | None, typer.Option("--token", help="Token label (with --pkcs11-module).")] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="Label of the key on the token (with --pkcs11-module).")
    ] = None,
) -> None:
    """Issue a signing certificate to an authorised signatory; their key is encrypted with
    CALTRACE_SIGNER_PASSPHRASE (or a typed passphrase), the CA key opened with CALTRACE_PKI_PASSPHRASE. With
    --pkcs11-module/--token/--key the lab CA certifies the RSA key on the signatory's token instead (PIN from
    CALTRACE_PKCS11_PIN or typed): the key never leaves the token and no key file is written."""
    from certificates.errors import PkiError
    from certificates.pki import (
        CA_PASSPHRASE_ENV,
        SIGNER_PASSPHRASE_ENV,
        fingerprint,
        issue_signer,
        load_ca,
        pki_paths,
        serial_hex,
    )
    from registry.db import open_registry, read_session, session_scope
    from registry.runs import signing_procedures
    from registry.settings import default_actor, lab_today

    paths = pki_paths()
    engine = open_registry()
    today = lab_today()
    try:
        load_ca(paths)
        with read_session(engine) as session:  # refuse before asking for any passphrase
            signing_procedures(session, user, today)
        public = None
        if module is not None or token is not None or key is not None:
            if module is None or not token or not key:
                raise fail("give --pkcs11-module, --token and --key together (the token's RSA key)", EXIT_USAGE)
            from certificates.signer import Pkcs11Signer

            pin = _secret(PIN_ENV, f"PIN of token {token}")
            public = Pkcs11Signer(module, token, pin, key_label=key, read_certificate=False).public_key()
        ca_passphrase = _secret(CA_PASSPHRASE_ENV, "passphrase of the lab CA key")
        signer_passphrase = (
            "" if public is not None
            else _secret(SIGNER_PASSPHRASE_ENV, f"new passphrase for {user}'s signing key", confirm=True)
        )  # fmt: skip
        with session_scope(engine, default_actor()) as session:
            cert = issue_signer(
                session, user, ca_passphrase, signer_passphrase, today=today, days=days, paths=paths, public_key=public
            )
    except PkiError as exc:
        raise fail(str(exc), exc.exit_code) from None
    serial = serial_hex(cert)
    typer.echo(f"signing certificate {serial} for {user}: {paths.signer_cert(serial)}")
    if module is not None:
        typer.echo(
            f"its key stays on token {token!r} (key {key!r}): sign with "
            f"--pkcs11-module {module} --token {token} --key {key}"
        )
    typer.echo(f"valid {cert.not_valid_before_utc.date()} .. {cert.not_valid_after_utc.date()}")
    typer.echo(f"SHA-256 fingerprint: {fingerprint(cert)}")


@app.command("list")
def list_command(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.TABLE,
) -> None:
    """The signing certificates issued by the lab CA: subject, serial, validity, revoked or not."""
    from certificates.errors import PkiError
    from certificates.pki import list_signers, pki_paths
    from registry.db import open_registry, read_session

    try:
        with read_session(open_registry()) as session:
            infos = list_signers(session, pki_paths())
    except PkiError as exc:
        raise fail(str(exc), exc.exit_code) from None
    rows = [
        {
            "serial": i.serial,
            "subject": i.subject,
            "username": i.username,
            "not_before": i.not_before.date().isoformat(),
            "not_after": i.not_after.date().isoformat(),
            "revoked": i.revoked or "",
            "fingerprint": i.fingerprint,
        }
        for i in infos
    ]
    columns = [(k, k) for k in ("serial", "subject", "username", "not_before", "not_after", "revoked")]
    if fmt is not Format.TABLE:
        columns.append(("fingerprint", "fingerprint"))
    emit(rows, columns, fmt, "Signing certificates")


@app.command("show-ca")
def show_ca_command() -> None:
    """The lab CA certificate as PEM on stdout (give it to a verifier as the trust anchor)."""
    from cryptography.hazmat.primitives import serialization

    from certificates.errors import PkiError
    from certificates.pki import load_ca, pki_paths

    try:
        cert = load_ca(pki_paths())
    except PkiError as exc:
        raise fail(str(exc), exc.exit_code) from None
    typer.echo(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), nl=False)


@app.command("revoke")
def revoke_command(
    serial: Annotated[str, typer.Argument(help="Serial number (hex) from `caltrace pki list`.")],
    reason: Annotated[
        str,
        typer.Option("--reason", help="key_compromise, affiliation_changed, superseded, cessation_of_operation, ..."),
    ],
) -> None:
    """Record that a signing certificate is revoked (in the audit log); then publish a new list: `caltrace pki crl`."""
    from certificates.errors import PkiError
    from certificates.pki import revoke
    from registry.db import open_registry, session_scope
    from registry.settings import default_actor

    try:
        with session_scope(open_registry(), default_actor()) as session:
            info = revoke(session, serial, reason)
    except PkiError as exc:
        raise fail(str(exc), exc.exit_code) from None
    typer.echo(f"revoked {info.serial} ({info.subject}): {reason}")
    typer.echo("the old revocation list was withdrawn: publish the new one with `caltrace pki crl`")


@app.command("crl")
def crl_command(
    days: Annotated[int, typer.Option("--days", help="Days until the list must be renewed (1..31).")] = 7,
) -> None:
    """Publish the lab CA's revocation list (CA passphrase from CALTRACE_PKI_PASSPHRASE or typed). Signing embeds
    it while it is current, so anyone can check a signatory was not revoked; renew it before it runs out."""
    from certificates.errors import PkiError
    from certificates.pki import CA_PASSPHRASE_ENV, pki_paths, publish_crl
    from registry.db import open_registry, session_scope
    from registry.settings import default_actor

    paths = pki_paths()
    passphrase = _secret(CA_PASSPHRASE_ENV, "passphrase of the lab CA key")
    try:
        with session_scope(open_registry(), default_actor()) as session:
            crl = publish_crl(session, passphrase, days=days, paths=paths)
    except PkiError as exc:
        raise fail(str(exc), exc.exit_code) from None
    until = crl.next_update_utc
    typer.echo(f"revocation list {paths.crl}: {len(crl)} revoked, current until {until:%Y-%m-%dT%H:%M:%SZ}")


@app.command("pkcs11-test")
def pkcs11_test_command(
    module: Annotated[Path, typer.Option("--module", help="The token's PKCS#11 module (.so).")],
    token: Annotated[str, typer.Option("--token", help="Token label.")],
    key: Annotated[str, typer.Option("--key", help="Label of the signing key (and its certificate) on the token.")],
) -> None:
    """Sign a test blob on the token (PIN from CALTRACE_PKCS11_PIN or typed) and check it with the token's
    certificate."""
    from cryptography.hazmat.primitives import hashes

    from certificates.errors import PkiError
    from certificates.signer import Pkcs11Signer, verify_signature

    pin = _secret(PIN_ENV, f"PIN of token {token}")
    blob = b"caltrace pkcs11-test: a blob signed to check the token"
    try:
        signer = Pkcs11Signer(module, token, pin, key_label=key)
        signature = signer.sign(blob, hashes.SHA256())
    except PkiError as exc:
        raise fail(str(exc), exc.exit_code) from None
    subject = signer.certificate.subject.rfc4514_string()
    if not verify_signature(signer.certificate, signature, blob, hashes.SHA256()):
        raise fail(f"the token signed, but the signature does not verify with its certificate {subject}", 1)
    typer.echo(f"token {token}, key {key}: signature verified with the certificate {subject}")
