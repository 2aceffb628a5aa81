"""The verifier checks a XAdES SignatureTimeStamp's RFC 3161 token (certificates.verify.tst): a token by a trusted
TSA proves the signing time, so a signer certificate that has expired since still passes; an altered token, a token
of another signature and a TSA without the timeStamping purpose fail at the signing-time step."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography import x509
from lxml import etree

from certificates.verify import verify_bytes, verify_file
from certificates.verify.pki import load_pem_certificates
from certificates.xades import sign_dcc
from tests.certificates.conftest import Pki
from tests.certificates.test_xades import NS, IdentitySigner, outcomes, unsigned_bytes
from tests.certificates.test_xades_timestamp import OPENSSL, Tsa

STEM = "dcc_gp_temperature_typical_v12_v3.2.0"


@pytest.fixture(scope="module")
def tsa(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tsa]:
    if OPENSSL is None:
        pytest.fail("openssl is not installed (Debian package openssl)")
    server = Tsa(tmp_path_factory.mktemp("tsa"), pki.root)
    yield server
    server.close()


def _token_of(root: etree._Element) -> etree._Element:
    el = root.find(".//xades:SignatureTimeStamp/xades:EncapsulatedTimeStamp", NS)
    assert el is not None
    return el


def _example_token_certs(examples: Path) -> list[x509.Certificate]:
    root = etree.parse(examples / f"{STEM}_signed_lt.xml").getroot()
    der = base64.b64decode("".join((_token_of(root).text or "").split()))
    sd = cms.ContentInfo.load(der)["content"]
    return [x509.load_der_x509_certificate(c.chosen.dump()) for c in sd["certificates"]]


def test_a_third_party_token_proves_the_time_once_its_tsa_root_is_trusted(examples: Path, schemas: Path) -> None:
    # the README: the signer certificate expired 2024-12-02. The long-term form carries a timestamp by the DFN
    # "Zeitstempel 2022" TSA under T-TeleSec GlobalRoot Class 2 (read from the token: not in trusted_certs/).
    lab_root = load_pem_certificates((examples / "trusted_certs" / "root.crt").read_bytes())
    telesec = [c for c in _example_token_certs(examples) if c.subject == c.issuer]
    assert len(telesec) == 1 and "T-TeleSec GlobalRoot Class 2" in telesec[0].subject.rfc4514_string()

    only_lab = verify_file(examples / f"{STEM}_signed_lt.xml", lab_root, schema_directory=schemas)
    assert outcomes(only_lab)["signing-time"] == "warn"
    assert "Zeitstempel 2022" in only_lab.step("signing-time").en  # type: ignore[union-attr]

    both = verify_file(examples / f"{STEM}_signed_lt.xml", [*lab_root, *telesec], schema_directory=schemas)
    got = outcomes(both)
    assert got["signing-time"] == "pass", both.step("signing-time")
    # the token's genTime, printed by `openssl ts -reply -token_in -text` on that token: 2023-06-20 12:12:37 GMT
    assert "existed at 2023-06-20T12:12:37Z" in both.step("signing-time").en  # type: ignore[union-attr]
    assert got["chain"] == "pass" and "expired now" in both.step("chain").en  # type: ignore[union-attr]
    assert got["revocation"] == "pass"
    assert both.verified


def test_a_token_moved_from_another_signature_fails(examples: Path, schemas: Path, pki: Pki, tsa: Tsa) -> None:
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    ours = etree.fromstring(
        sign_dcc(unsigned_bytes(examples), signer, signing_time=datetime.now(UTC), timestamp_url=tsa.url)
    )
    other = etree.fromstring(
        sign_dcc(unsigned_bytes(examples), signer, signing_time=datetime.now(UTC), timestamp_url=tsa.url)
    )
    _token_of(ours).text = _token_of(other).text  # unsigned properties: the signature itself still verifies
    report = verify_bytes(etree.tostring(ours), "moved.xml", [pki.root.cert], schema_directory=schemas)
    got = outcomes(report)
    assert got["signature"] == "pass"
    assert got["signing-time"] == "fail"
    assert "stamps other data" in report.step("signing-time").en  # type: ignore[union-attr]
    assert not report.verified


def test_an_altered_token_fails(examples: Path, schemas: Path, pki: Pki, tsa: Tsa) -> None:
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    root = etree.fromstring(
        sign_dcc(unsigned_bytes(examples), signer, signing_time=datetime.now(UTC), timestamp_url=tsa.url)
    )
    el = _token_of(root)
    der = bytearray(base64.b64decode(el.text or ""))
    # change one digit of the genTime inside the TSTInfo (GeneralizedTime "20YYMMDDhhmmss"): the TSA signed
    # the digest of the original TSTInfo, so the message-digest attribute no longer matches
    at = der.find(b"\x18\x0f20") + 2 + 12  # tag, length, then the seconds' tens digit of YYYYMMDDhhmmss
    assert at > 14
    der[at] = ord("0") if der[at] != ord("0") else ord("1")
    el.text = base64.b64encode(bytes(der)).decode()
    report = verify_bytes(etree.tostring(root), "altered.xml", [pki.root.cert], schema_directory=schemas)
    assert outcomes(report)["signing-time"] == "fail"
    assert "altered token" in report.step("signing-time").en  # type: ignore[union-attr]


def test_an_untrusted_tsa_leaves_the_time_a_claim(examples: Path, schemas: Path, pki: Pki, tsa: Tsa) -> None:
    from tests.certificates.conftest import make_identity

    other_root = make_identity("another root", None, ca=True)
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    signed = sign_dcc(unsigned_bytes(examples), signer, signing_time=datetime.now(UTC), timestamp_url=tsa.url)
    # trust the signer certificate itself (and an unrelated root), not the root the TSA chains to
    report = verify_bytes(signed, "t.xml", [pki.signer.cert, other_root.cert], schema_directory=schemas)
    time_step = report.step("signing-time")
    assert time_step is not None
    assert "does not chain to any trust anchor" in time_step.en and "signer's claim" in time_step.en
    # the token proves nothing, but the signer's chain is valid now, so no proof of the time is needed
    assert time_step.outcome == "pass" and "No proof of the time is needed" in time_step.en
