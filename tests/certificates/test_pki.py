"""The lab CA and signatories' certificates: extensions, chain (checked with cryptography and with openssl), keys
encrypted at rest, who may get one, and the audit trail."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from sqlalchemy import select
from sqlalchemy.engine import Engine

from certificates.errors import PkiNotFoundError, PkiRefusedError
from certificates.pki import (
    CA_DAYS,
    PkiPaths,
    init_ca,
    issue_signer,
    list_signers,
    load_private_key,
    revoke,
    serial_hex,
)
from certificates.signer import FileKeySigner, verify_signature
from registry import audit
from registry.db import read_session, session_scope
from registry.errors import NotPermittedError
from registry.models import AuditEntry
from registry.settings import lab_today
from tests.certificates.conftest import CA_PASS, LAB, SIGNER_PASS

OPENSSL = shutil.which("openssl")


def _init(engine: Engine, paths: PkiPaths, **kw: object) -> x509.Certificate:
    with session_scope(engine, "admin") as s:
        return init_ca(s, CA_PASS, paths=paths, **kw)  # type: ignore[arg-type]


def _issue(engine: Engine, paths: PkiPaths, user: str = "sig", **kw: object) -> x509.Certificate:
    with session_scope(engine, "admin") as s:
        return issue_signer(s, user, CA_PASS, SIGNER_PASS, today=lab_today(), paths=paths, **kw)  # type: ignore[arg-type]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_ca_certificate_is_a_self_signed_ca_of_the_laboratory(engine: Engine, paths: PkiPaths) -> None:
    before = datetime.now(UTC)
    cert = _init(engine, paths)
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)  # raises when the self-signature is wrong
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == LAB
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is True
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert not ku.value.digital_signature and not ku.value.content_commitment
    # 10 years: 3653 days (two or three leap days), from now
    life = cert.not_valid_after_utc - before
    assert timedelta(days=3652) < life <= timedelta(days=3653, minutes=1)
    assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 3072
    assert paths.ca_cert.read_bytes() == cert.public_bytes(serialization.Encoding.PEM)


def test_the_ca_key_is_encrypted_and_private(engine: Engine, paths: PkiPaths) -> None:
    _init(engine, paths)
    assert _mode(paths.ca_key) == 0o600
    pem = paths.ca_key.read_bytes()
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in pem
    with pytest.raises(TypeError):  # cryptography: a password is needed for an encrypted key
        serialization.load_pem_private_key(pem, None)
    with pytest.raises(PkiRefusedError, match="wrong passphrase"):
        load_private_key(paths.ca_key, "not the passphrase")
    key = load_private_key(paths.ca_key, CA_PASS)
    assert isinstance(key, rsa.RSAPrivateKey)
    ca_public = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes()).public_key()
    assert isinstance(ca_public, rsa.RSAPublicKey)
    assert key.public_key().public_numbers() == ca_public.public_numbers()


def test_init_refuses_to_replace_a_ca_unless_forced(engine: Engine, paths: PkiPaths) -> None:
    first = _init(engine, paths)
    with pytest.raises(PkiRefusedError, match="already exists"):
        _init(engine, paths)
    assert x509.load_pem_x509_certificate(paths.ca_cert.read_bytes()) == first
    paths.ca_key.chmod(0o644)  # a replaced key file must not keep a looser mode
    second = _init(engine, paths, force=True)
    assert second.serial_number != first.serial_number
    assert x509.load_pem_x509_certificate(paths.ca_cert.read_bytes()) == second
    assert _mode(paths.ca_key) == 0o600
    with read_session(engine) as s:
        payloads = [
            json.loads(p) for p in s.scalars(select(AuditEntry.payload).where(AuditEntry.action == "pki-init-ca"))
        ]
    assert [p["replaced"] for p in payloads] == [False, True]


def test_init_refuses_a_short_passphrase(engine: Engine, paths: PkiPaths) -> None:
    with session_scope(engine, "admin") as s, pytest.raises(PkiRefusedError, match="at least 8"):
        init_ca(s, "short", paths=paths)
    assert not paths.ca_key.exists()


def test_a_signing_certificate_names_the_signatory_and_chains_to_the_ca(engine: Engine, paths: PkiPaths) -> None:
    ca = _init(engine, paths)
    cert = _issue(engine, paths)
    cert.verify_directly_issued_by(ca)
    assert cert.issuer == ca.subject
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Thị Hoa"
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "sig"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == LAB
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment
    assert not (ku.key_cert_sign or ku.crl_sign or ku.key_encipherment or ku.data_encipherment)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ObjectIdentifier("1.3.6.1.5.5.7.3.36") in eku  # id-kp-documentSigning, RFC 9336
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["hoa@example.vn"]
    # 3 years at most: 1095 days
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(days=1095, minutes=5)
    assert cert.not_valid_after_utc <= ca.not_valid_after_utc
    serial = serial_hex(cert)
    assert _mode(paths.signer_key(serial)) == 0o600
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(paths.signer_key(serial).read_bytes(), None)


@pytest.mark.skipif(OPENSSL is None, reason="openssl (Debian package openssl) is not installed")
def test_openssl_verifies_the_chain_and_reads_the_key_usage(engine: Engine, paths: PkiPaths) -> None:
    _init(engine, paths)
    cert = _issue(engine, paths)
    pem = paths.signer_cert(serial_hex(cert))
    done = subprocess.run(
        [str(OPENSSL), "verify", "-CAfile", str(paths.ca_cert), str(pem)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(": OK")
    text = subprocess.run(
        [str(OPENSSL), "x509", "-noout", "-text", "-in", str(pem)], capture_output=True, text=True, check=True
    ).stdout
    assert "Digital Signature, Non Repudiation" in text
    assert "CA:FALSE" in text
    ca_text = subprocess.run(
        [str(OPENSSL), "x509", "-noout", "-text", "-in", str(paths.ca_cert)], capture_output=True, text=True, check=True
    ).stdout
    assert "CA:TRUE" in ca_text and "Certificate Sign, CRL Sign" in ca_text
    # a certificate from another CA does not verify against the lab CA
    other = PkiPaths(paths.root.parent / "other-pki")
    _init(engine, other)
    done = subprocess.run(
        [str(OPENSSL), "verify", "-CAfile", str(other.ca_cert), str(pem)], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0


def test_a_signing_certificate_never_outlives_the_ca(engine: Engine, paths: PkiPaths) -> None:
    # a CA made 3553 days ago has 100 days left: a 3-year certificate is cut at the CA's end
    ca = _init(engine, paths, now=datetime.now(UTC) - timedelta(days=CA_DAYS - 100))
    cert = _issue(engine, paths)
    assert cert.not_valid_after_utc == ca.not_valid_after_utc
    short = _issue(engine, paths, days=30)
    assert timedelta(days=29) < short.not_valid_after_utc - datetime.now(UTC) <= timedelta(days=30)


@pytest.mark.parametrize("days", [0, 1096, -5])
def test_validity_outside_three_years_is_refused(engine: Engine, paths: PkiPaths, days: int) -> None:
    _init(engine, paths)
    with pytest.raises(PkiRefusedError, match="--days"):
        _issue(engine, paths, days=days)


@pytest.mark.parametrize(
    ("user", "why"),
    [
        ("tech", "not authorised to sign"),  # performs and reviews, does not sign
        ("gone", "no active member"),  # deactivated
        ("nobody", "no active member"),  # unknown
        ("late", "not authorised to sign"),  # authorisation ended yesterday
        ("soon", "not authorised to sign"),  # authorisation begins tomorrow
    ],
)
def test_only_an_active_authorised_signatory_gets_a_certificate(
    engine: Engine, paths: PkiPaths, user: str, why: str
) -> None:
    _init(engine, paths)
    with read_session(engine) as s:
        entries_before = len(s.scalars(select(AuditEntry)).all())
    with pytest.raises(NotPermittedError, match=why):
        _issue(engine, paths, user=user)
    assert not paths.signers.exists() or not any(paths.signers.iterdir())
    with read_session(engine) as s:
        assert len(s.scalars(select(AuditEntry)).all()) == entries_before


def test_no_ca_and_wrong_ca_passphrase_are_refused(engine: Engine, paths: PkiPaths) -> None:
    with pytest.raises(PkiNotFoundError, match="caltrace pki init"):
        _issue(engine, paths)
    _init(engine, paths)
    with session_scope(engine, "admin") as s, pytest.raises(PkiRefusedError, match="wrong passphrase"):
        issue_signer(s, "sig", "wrong passphrase", SIGNER_PASS, today=lab_today(), paths=paths)


def test_init_issue_and_revoke_are_audited(engine: Engine, paths: PkiPaths) -> None:
    ca = _init(engine, paths)
    cert = _issue(engine, paths)
    serial = serial_hex(cert)
    with session_scope(engine, "admin") as s:
        revoke(s, serial.upper(), "key_compromise", paths=paths)
    with read_session(engine) as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action.like("pki-%")).order_by(AuditEntry.seq)).all()
        assert audit.verify(s).ok
    assert [(r.action, r.actor) for r in rows] == [
        ("pki-init-ca", "admin"),
        ("pki-issue-signer", "admin"),
        ("pki-revoke", "admin"),
    ]
    assert rows[0].entity_id == serial_hex(ca)
    issued = json.loads(rows[1].payload)
    assert rows[1].entity_id == serial
    assert issued["username"] == "sig" and issued["procedures"] == ["cg18"]
    assert issued["fingerprint_sha256"] == cert.fingerprint(hashes.SHA256()).hex(":").upper()
    assert json.loads(rows[2].payload)["reason"] == "key_compromise"


def test_list_shows_revocation_and_revoke_checks_its_input(engine: Engine, paths: PkiPaths) -> None:
    _init(engine, paths)
    first = _issue(engine, paths)
    second = _issue(engine, paths)
    with session_scope(engine, "admin") as s:
        revoke(s, serial_hex(first), "superseded", paths=paths)
        with pytest.raises(PkiRefusedError, match="already revoked"):
            revoke(s, serial_hex(first), "superseded", paths=paths)
        with pytest.raises(PkiNotFoundError, match="no signing certificate"):
            revoke(s, "abc123", "superseded", paths=paths)
        with pytest.raises(PkiRefusedError, match="unknown revocation reason"):
            revoke(s, serial_hex(second), "bored", paths=paths)
    with read_session(engine) as s:
        infos = {i.serial: i for i in list_signers(s, paths)}
    assert set(infos) == {serial_hex(first), serial_hex(second)}
    assert "superseded" in (infos[serial_hex(first)].revoked or "")
    assert infos[serial_hex(second)].revoked is None
    assert infos[serial_hex(second)].username == "sig" and infos[serial_hex(second)].subject == "Nguyễn Thị Hoa"


def test_a_file_key_signs_and_the_certificate_verifies(engine: Engine, paths: PkiPaths) -> None:
    ca = _init(engine, paths)
    cert = _issue(engine, paths)
    signer = FileKeySigner.issued(serial_hex(cert), SIGNER_PASS, paths)
    assert signer.certificate == cert
    assert list(signer.chain) == [ca]
    data = b"<SignedInfo>...</SignedInfo>"
    for algorithm in (hashes.SHA256(), hashes.SHA384(), hashes.SHA512()):
        signature = signer.sign(data, algorithm)
        assert len(signature) == 3072 // 8
        assert verify_signature(cert, signature, data, algorithm)
        assert not verify_signature(cert, signature, data + b" ", algorithm)
    with pytest.raises(PkiRefusedError, match="not supported"):
        signer.sign(data, hashes.SHA1())
    with pytest.raises(PkiRefusedError, match="wrong passphrase"):
        FileKeySigner.issued(serial_hex(cert), CA_PASS, paths)
