"""Signatures made here (throwaway CA and signer, signxml, exclusive C14N) verify, and each tampering is rejected
with the failing step named; xmlsec1, an independent verifier, agrees on the signatures (caltrace issue 17)."""

from __future__ import annotations

import base64
import copy
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from lxml import etree
from signxml import XMLSigner  # type: ignore[import-untyped]
from signxml.xades import XAdESSigner  # type: ignore[import-untyped]

from certificates.verify import Report, verify_bytes
from certificates.verify.xmlsig import DS, NS, XADES
from tests.certificates.conftest import Identity, Pki

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
SOURCE = "dcc_gp_temperature_typical_v12_v3.2.0_signed.xml"  # a DCC 3.2.0, whose schema admits ds:Signature


def unsigned_dcc(examples: Path) -> etree._Element:
    """The 3.2.0 example with its signature removed."""
    root = etree.fromstring((examples / SOURCE).read_bytes())
    for sig in root.findall(f"{{{DS}}}Signature"):
        root.remove(sig)
    return root


def sign(root: etree._Element, who: Identity, *, xades: bool = True) -> bytes:
    """Enveloped ECDSA-SHA256 signature. Plain XML-DSig uses exclusive C14N; XAdES uses C14N 1.1, because signxml
    5.2 writes its SignedProperties and KeyInfo references with no Transform while digesting them with the
    configured algorithm, so with exclusive C14N its output fails every verifier (signxml's own included)."""
    if xades:
        signer = XAdESSigner(signature_algorithm="ecdsa-sha256", digest_algorithm="sha256", c14n_algorithm=C14N11)
    else:
        signer = XMLSigner(signature_algorithm="ecdsa-sha256", digest_algorithm="sha256", c14n_algorithm=EXC_C14N)
    signed = signer.sign(root, key=who.key_pem(), cert=[who.cert_pem().decode()])
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def verify(data: bytes, schemas: Path, *anchors: Identity) -> Report:
    return verify_bytes(data, "test.xml", [a.cert for a in anchors], schema_directory=schemas)


def outcomes(report: Report) -> dict[str, str]:
    return {s.name: s.outcome for s in report.steps}


def add_crl(data: bytes, issuer: Identity, revoked: x509.Certificate | None = None) -> bytes:
    """Embed a CRL signed by ``issuer`` as XAdES RevocationValues (unsigned properties: the signature stays valid)."""
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + timedelta(days=7))
    )
    if revoked is not None:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(revoked.serial_number)
            .revocation_date(now - timedelta(minutes=30))
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(issuer.key, hashes.SHA256())
    root = etree.fromstring(data)
    qp = root.find(f".//{{{XADES}}}QualifyingProperties")
    assert qp is not None
    unsigned = etree.SubElement(qp, f"{{{XADES}}}UnsignedProperties")
    usp = etree.SubElement(unsigned, f"{{{XADES}}}UnsignedSignatureProperties")
    values = etree.SubElement(etree.SubElement(usp, f"{{{XADES}}}RevocationValues"), f"{{{XADES}}}CRLValues")
    value = etree.SubElement(values, f"{{{XADES}}}EncapsulatedCRLValue")
    value.text = base64.b64encode(crl.public_bytes(serialization.Encoding.DER)).decode()
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def test_own_xades_signature_with_revocation_values_verifies(examples: Path, schemas: Path, pki: Pki) -> None:
    data = add_crl(sign(unsigned_dcc(examples), pki.signer), pki.root)
    report = verify(data, schemas, pki.root)
    assert outcomes(report) == {
        "well-formed": "pass",
        "schema-version": "pass",
        "schema": "pass",
        "signature": "pass",
        "signing-certificate": "pass",
        "signing-time": "pass",
        "chain": "pass",
        "revocation": "pass",
    }, report.steps
    assert report.verified


def test_plain_xmldsig_signature_verifies(examples: Path, schemas: Path, pki: Pki) -> None:
    report = verify(sign(unsigned_dcc(examples), pki.signer, xades=False), schemas, pki.root)
    got = outcomes(report)
    assert got["signature"] == "pass" and "XML-DSig" in report.step("signature").en  # type: ignore[union-attr]
    assert got["signing-certificate"] == "skip"
    assert got["chain"] == "pass"
    assert got["signing-time"] == "warn"  # plain XML-DSig signs no time
    assert got["revocation"] == "warn"  # and carries no revocation values
    assert not report.failed and not report.verified


def _change_a_digit(data: bytes) -> bytes:
    root = etree.fromstring(data)
    value = root.find(".//{https://ptb.de/si}value")
    assert value is not None and value.text
    text = value.text.strip()
    i = next(i for i, ch in enumerate(text) if ch.isdigit())
    value.text = text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1 :]
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _pretty(data: bytes) -> bytes:
    root = etree.fromstring(data, etree.XMLParser(remove_blank_text=True))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@pytest.mark.parametrize("tamper", [_change_a_digit, _pretty], ids=["changed-digit", "pretty-printed"])
def test_tampered_content_fails_the_signature_step(examples: Path, schemas: Path, pki: Pki, tamper: object) -> None:
    signed = sign(unsigned_dcc(examples), pki.signer)
    assert verify(signed, schemas, pki.root).step("signature").outcome == "pass"  # type: ignore[union-attr]
    report = verify(tamper(signed), schemas, pki.root)  # type: ignore[operator]
    assert [s.name for s in report.failed] == ["signature"]
    assert "URI '')" in report.failed[0].en and "digest does not match" in report.failed[0].en


def test_untrusted_signer_fails_the_chain_step(examples: Path, schemas: Path, pki: Pki) -> None:
    report = verify(sign(unsigned_dcc(examples), pki.stranger), schemas, pki.root)
    assert [s.name for s in report.failed] == ["chain"]
    assert "does not chain to any trust anchor" in report.failed[0].en


def test_no_trust_anchor_fails_the_chain_step(examples: Path, schemas: Path, pki: Pki) -> None:
    report = verify(sign(unsigned_dcc(examples), pki.signer), schemas)
    assert [s.name for s in report.failed] == ["chain"]


def test_expired_signer_fails_the_chain_step(examples: Path, schemas: Path, pki: Pki) -> None:
    # signed now (SigningTime = now) with a certificate that expired 35 days ago
    report = verify(sign(unsigned_dcc(examples), pki.expired_signer), schemas, pki.root)
    assert [s.name for s in report.failed] == ["chain"]
    assert "not valid at the claimed signing time" in report.failed[0].en


def test_revoked_signer_fails_the_revocation_step(examples: Path, schemas: Path, pki: Pki) -> None:
    data = add_crl(sign(unsigned_dcc(examples), pki.signer), pki.root, revoked=pki.signer.cert)
    report = verify(data, schemas, pki.root)
    assert [s.name for s in report.failed] == ["revocation"]


def test_crl_from_someone_else_is_not_trusted(examples: Path, schemas: Path, pki: Pki) -> None:
    # a CRL signed by another CA says nothing about our signer: revocation stays unconfirmed
    data = add_crl(sign(unsigned_dcc(examples), pki.signer), pki.stranger_root)
    assert outcomes(verify(data, schemas, pki.root))["revocation"] == "warn"


def test_invalid_against_schema_fails_the_schema_step(examples: Path, schemas: Path) -> None:
    root = unsigned_dcc(examples)
    root.append(etree.Element("{https://ptb.de/dcc}notInTheSchema"))
    report = verify(etree.tostring(root), schemas)
    assert outcomes(report)["schema"] == "fail"


def test_entities_are_not_expanded(schemas: Path) -> None:
    data = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    report = verify(data, schemas)
    assert "root:x:" not in str(report.as_json())  # /etc/passwd never read into the document
    assert outcomes(report)["schema-version"] == "fail"


def test_changed_signing_time_fails_the_signed_properties_reference(examples: Path, schemas: Path, pki: Pki) -> None:
    root = etree.fromstring(sign(unsigned_dcc(examples), pki.signer))
    stamp = root.find(f".//{{{XADES}}}SigningTime")
    assert stamp is not None
    stamp.text = "2020-01-01T00:00:00+00:00"
    report = verify(etree.tostring(root), schemas, pki.root)
    assert [s.name for s in report.failed] == ["signature"]
    assert "SignedProperties" in report.failed[0].en and "digest does not match" in report.failed[0].en
    assert "URI '')" not in report.failed[0].en  # the document reference still matches


def test_a_duplicated_id_is_refused(examples: Path, schemas: Path, pki: Pki) -> None:
    # signature wrapping: a second element carrying the SignedProperties Id must not be digested instead
    root = etree.fromstring(sign(unsigned_dcc(examples), pki.signer))
    props = root.find(f".//{{{XADES}}}SignedProperties")
    assert props is not None
    sig = root.find(f"{{{DS}}}Signature")
    assert sig is not None
    sig.addprevious(copy.deepcopy(props))
    report = verify(etree.tostring(root), schemas, pki.root)
    step = report.step("signature")
    assert step is not None and step.outcome == "fail" and "2 elements carry the Id" in step.en


def need_xmlsec1() -> str:
    """The xmlsec1 program; on CI (CI=true, which installs scripts/debian-packages.txt) its absence is a failure."""
    found = shutil.which("xmlsec1")
    if found is None:
        why = "xmlsec1 (Debian package xmlsec1, scripts/debian-packages.txt) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    return found


@pytest.mark.parametrize("xades", [True, False], ids=["xades", "xmldsig"])
def test_xmlsec1_agrees(examples: Path, schemas: Path, pki: Pki, tmp_path: Path, xades: bool) -> None:
    XMLSEC1 = need_xmlsec1()
    signed = sign(unsigned_dcc(examples), pki.signer, xades=xades)
    (tmp_path / "root.pem").write_bytes(pki.root.cert_pem())
    cases = {"good": signed, "tampered": _change_a_digit(signed)}
    for name, data in cases.items():
        (tmp_path / f"{name}.xml").write_bytes(data)
        proc = subprocess.run(
            [
                str(XMLSEC1),
                "--verify",
                "--trusted-pem",
                str(tmp_path / "root.pem"),
                "--id-attr:Id",
                f"{XADES}:SignedProperties",
                "--id-attr:Id",
                f"{DS}:KeyInfo",
                str(tmp_path / f"{name}.xml"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        ours = verify(data, schemas, pki.root).step("signature")
        assert ours is not None
        assert (proc.returncode == 0) == (ours.outcome == "pass") == (name == "good"), (name, proc.stderr[-500:])


def test_namespaces_used() -> None:
    assert NS == {"ds": DS, "xades": XADES}


def test_a_signing_time_in_the_future_fails(examples: Path, schemas: Path, pki: Pki) -> None:
    # verified "a day earlier" than the signature claims to be made: the claimed time is 24 h in the future
    data = sign(unsigned_dcc(examples), pki.signer)
    report = verify_bytes(
        data, "t.xml", [pki.root.cert], schema_directory=schemas, now=datetime.now(UTC) - timedelta(days=1)
    )
    assert "signing-time" in [s.name for s in report.failed]
