"""The lab CA's revocation list: published from the audit log's revocations, embedded in each signature while it
is current, so an offline verifier (ours, and xmlsec1 for the signature) sees the signer was not revoked; a
revocation withdraws the old list; a signature carrying a list that names its signer fails the revocation step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree
from sqlalchemy.engine import Engine

from certificates.errors import PkiRefusedError
from certificates.pki import PkiPaths, current_crl, init_ca, issue_signer, publish_crl, revoke, serial_hex
from certificates.signer import FileKeySigner
from certificates.verify import verify_bytes
from certificates.xades import sign_dcc
from registry import audit
from registry.db import read_session, session_scope
from registry.settings import lab_today
from tests.certificates.conftest import CA_PASS, SIGNER_PASS
from tests.certificates.test_xades import outcomes, unsigned_bytes, xmlsec1_ok


@pytest.fixture
def ca(engine: Engine, paths: PkiPaths) -> x509.Certificate:
    with session_scope(engine, "admin") as s:
        return init_ca(s, CA_PASS, paths=paths)


def _signer(engine: Engine, paths: PkiPaths) -> FileKeySigner:
    with session_scope(engine, "admin") as s:
        cert = issue_signer(s, "sig", CA_PASS, SIGNER_PASS, today=lab_today(), paths=paths)
    return FileKeySigner.issued(serial_hex(cert), SIGNER_PASS, paths)


def _publish(engine: Engine, paths: PkiPaths, **kw: object) -> x509.CertificateRevocationList:
    with session_scope(engine, "admin") as s:
        return publish_crl(s, CA_PASS, paths=paths, **kw)  # type: ignore[arg-type]


def test_a_signature_with_the_current_list_verifies_offline(
    engine: Engine, paths: PkiPaths, ca: x509.Certificate, examples: Path, schemas: Path, tmp_path: Path
) -> None:
    signer = _signer(engine, paths)
    unlisted = sign_dcc(unsigned_bytes(examples), signer, signing_time=datetime.now(UTC))
    assert outcomes(verify_bytes(unlisted, "a.xml", [ca], schema_directory=schemas))["revocation"] == "warn"

    crl = _publish(engine, paths)
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert len(crl) == 0 and crl.next_update_utc is not None
    assert crl.next_update_utc - crl.last_update_utc == timedelta(days=7)
    der = current_crl(paths)
    assert der is not None
    signed = sign_dcc(unsigned_bytes(examples), signer, signing_time=datetime.now(UTC), crls=[der])
    report = verify_bytes(signed, "b.xml", [ca], schema_directory=schemas)
    assert outcomes(report)["revocation"] == "pass" and report.verified, report.steps
    assert xmlsec1_ok(signed, ca, tmp_path)  # unsigned properties: the signature is untouched
    found = etree.fromstring(signed).findall(".//{http://uri.etsi.org/01903/v1.3.2#}EncapsulatedCRLValue")
    assert len(found) == 1
    with read_session(engine) as s:
        assert [p["revoked"] for _, _, p in audit.events(s, "signer_certificate", "pki-crl")] == [0]


def test_a_revocation_withdraws_the_list_and_the_next_one_names_the_signer(
    engine: Engine, paths: PkiPaths, ca: x509.Certificate, examples: Path, schemas: Path
) -> None:
    signer = _signer(engine, paths)
    _publish(engine, paths)
    with session_scope(engine, "admin") as s:
        revoke(s, serial_hex(signer.certificate), "key_compromise", paths=paths)
    assert not paths.crl.exists() and current_crl(paths) is None  # never embed a list missing a revocation
    crl = _publish(engine, paths)
    entry = crl.get_revoked_certificate_by_serial_number(signer.certificate.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.key_compromise
    der = current_crl(paths)
    assert der is not None
    signed = sign_dcc(unsigned_bytes(examples), signer, signing_time=datetime.now(UTC), crls=[der])
    report = verify_bytes(signed, "c.xml", [ca], schema_directory=schemas)
    assert [s.name for s in report.failed] == ["revocation"]
    assert "revoked" in report.failed[0].en


def test_an_outdated_list_or_one_of_a_replaced_ca_is_not_embedded(
    engine: Engine, paths: PkiPaths, ca: x509.Certificate
) -> None:
    _publish(engine, paths, days=1)
    assert current_crl(paths, now=datetime.now(UTC) + timedelta(hours=23)) is not None
    assert current_crl(paths, now=datetime.now(UTC) + timedelta(days=1, minutes=1)) is None
    with session_scope(engine, "admin") as s:
        init_ca(s, CA_PASS, paths=paths, force=True)
    assert current_crl(paths) is None  # signed by the old CA key
    with pytest.raises(PkiRefusedError, match="1..31"):
        _publish(engine, paths, days=40)
    paths.crl.write_text("not a list")
    with pytest.raises(PkiRefusedError, match="not a readable revocation list"):
        current_crl(paths)
