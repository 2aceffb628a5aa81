"""XAdES-B-B signatures made by :func:`certificates.xades.sign_dcc` with the lab's own PKI (a key file, and the same
key on a SoftHSM2 token) verify with caltrace's verifier and with xmlsec1, an independent one; tampering fails both
(caltrace issue 17)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from asn1crypto import cms  # type: ignore[import-untyped]  # locked through python-pkcs11
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from certificates.pki import PkiPaths, init_ca, issue_signer, load_private_key, serial_hex
from certificates.signer import FileKeySigner
from certificates.verify import Report, verify_bytes
from certificates.xades import issuer_serial_v2, sign_dcc
from registry.db import make_engine, session_scope, upgrade
from registry.settings import lab_today
from tests.certificates.conftest import CA_PASS, SIGNER_PASS, Identity, Pki, add_centre
from tests.certificates.test_own_signatures import _change_a_digit, _pretty, need_xmlsec1, unsigned_dcc
from tests.support.softhsm import make_token

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "xades": XADES}
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
#: the claimed signing time: now (the lab certificate is issued minutes before, so a fixed past time predates it)


def now() -> datetime:
    """The signing time: the moment of signing, whole seconds (UTC). Not taken once at import: the whole suite
    collects long before these tests run, and the lab certificates they issue start 5 min before *their* now."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class LabPki:
    """A lab CA and a signing certificate issued to ``sig`` (RSA-3072, key encrypted with SIGNER_PASS)."""

    paths: PkiPaths
    ca: x509.Certificate
    serial: str

    def signer(self) -> FileKeySigner:
        return FileKeySigner.issued(self.serial, SIGNER_PASS, self.paths)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    directory = tmp_path_factory.mktemp("lab")
    engine = make_engine(f"sqlite:///{directory / 'caltrace.db'}")
    upgrade(engine)
    add_centre(engine)
    paths = PkiPaths(directory / "pki")
    with session_scope(engine, "admin") as s:
        ca = init_ca(s, CA_PASS, paths=paths)
    with session_scope(engine, "admin") as s:
        cert = issue_signer(s, "sig", CA_PASS, SIGNER_PASS, today=lab_today(), paths=paths)
    return LabPki(paths, ca, serial_hex(cert))


class IdentitySigner:
    """A :class:`~certificates.signer.Signer` over a test identity (EC P-256 key in memory)."""

    def __init__(self, who: Identity, chain: Sequence[x509.Certificate]) -> None:
        self.who, self._chain = who, tuple(chain)

    @property
    def certificate(self) -> x509.Certificate:
        return self.who.cert

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        return self._chain

    def sign(self, data: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        return self.who.key.sign(data, ec.ECDSA(hash_algorithm))


def outcomes(report: Report) -> dict[str, str]:
    return {s.name: s.outcome for s in report.steps}


def verify(data: bytes, schemas: Path, *anchors: x509.Certificate) -> Report:
    return verify_bytes(data, "signed.xml", list(anchors), schema_directory=schemas)


def xmlsec1_ok(data: bytes, trusted: x509.Certificate, tmp_path: Path) -> bool:
    """True when ``xmlsec1 --verify --trusted-pem`` accepts ``data`` with ``trusted`` as the only anchor."""
    tool = need_xmlsec1()
    (tmp_path / "trusted.pem").write_bytes(trusted.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "signed.xml").write_bytes(data)
    done = subprocess.run(
        [
            tool,
            "--verify",
            "--trusted-pem",
            str(tmp_path / "trusted.pem"),
            "--id-attr:Id",
            f"{XADES}:SignedProperties",
            str(tmp_path / "signed.xml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0


def unsigned_bytes(examples: Path) -> bytes:
    """The DCC 3.2.0 example (its schema admits ds:Signature) with its signature removed."""
    return bytes(etree.tostring(unsigned_dcc(examples).getroottree(), xml_declaration=True, encoding="UTF-8"))


def test_a_lab_signature_verifies_with_the_lab_ca(examples: Path, schemas: Path, lab: LabPki, tmp_path: Path) -> None:
    signer = lab.signer()
    signed = sign_dcc(unsigned_bytes(examples), signer, signing_time=now())
    report = verify(signed, schemas, lab.ca)
    assert outcomes(report) == {
        "well-formed": "pass",
        "schema-version": "pass",
        "schema": "pass",  # DCC 3.2.0 admits ds:Signature as the root's last child
        "signature": "pass",
        "signing-certificate": "pass",
        "signing-time": "pass",  # claimed only, accepted because the chain is valid now
        "chain": "pass",
        "revocation": "warn",  # no RevocationValues at level B-B
    }, report.steps
    assert "XAdES" in report.step("signature").en  # type: ignore[union-attr]
    assert xmlsec1_ok(signed, lab.ca, tmp_path)


def test_the_signature_has_the_b_b_shape(examples: Path, lab: LabPki) -> None:
    signer = lab.signer()
    when = now()
    root = etree.fromstring(sign_dcc(unsigned_bytes(examples), signer, signing_time=when))
    sig = root[-1]
    assert sig.tag == f"{{{DS}}}Signature"  # the root's last child
    assert len(root.findall(f".//{{{DS}}}Signature")) == 1
    assert sig.find("ds:SignedInfo/ds:CanonicalizationMethod", NS).get("Algorithm") == EXC_C14N  # type: ignore[union-attr]
    method = sig.find("ds:SignedInfo/ds:SignatureMethod", NS)
    assert method is not None and method.get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    doc_ref, props_ref = sig.findall("ds:SignedInfo/ds:Reference", NS)
    assert doc_ref.get("URI") == ""
    assert [t.get("Algorithm") for t in doc_ref.findall("ds:Transforms/ds:Transform", NS)] == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        EXC_C14N,
    ]
    assert props_ref.get("Type") == "http://uri.etsi.org/01903#SignedProperties"
    assert [t.get("Algorithm") for t in props_ref.findall("ds:Transforms/ds:Transform", NS)] == [EXC_C14N]
    props = sig.find("ds:Object/xades:QualifyingProperties/xades:SignedProperties", NS)
    assert props is not None and props_ref.get("URI") == f"#{props.get('Id')}"
    qp = props.getparent()
    assert qp is not None and qp.get("Target") == f"#{sig.get('Id')}"
    assert props.findtext("xades:SignedSignatureProperties/xades:SigningTime", namespaces=NS) == when.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    fmt = props.find("xades:SignedDataObjectProperties/xades:DataObjectFormat", NS)
    assert fmt is not None and fmt.get("ObjectReference") == f"#{doc_ref.get('Id')}"
    assert fmt.findtext("xades:MimeType", namespaces=NS) == "text/xml"
    # SigningCertificateV2: SHA-256 of the certificate's DER, and IssuerSerialV2 decoded by asn1crypto as RFC 5035
    # IssuerSerial must name the lab CA and the certificate's serial number
    cert_v2 = props.find("xades:SignedSignatureProperties/xades:SigningCertificateV2/xades:Cert", NS)
    assert cert_v2 is not None
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    assert base64.b64decode(cert_v2.findtext("xades:CertDigest/ds:DigestValue", namespaces=NS) or "") == (
        hashlib.sha256(der).digest()
    )
    issuer_serial = cms.IssuerSerial.load(
        base64.b64decode(cert_v2.findtext("xades:IssuerSerialV2", namespaces=NS) or "")
    )
    assert issuer_serial["serial"].native == signer.certificate.serial_number
    (name,) = issuer_serial["issuer"]
    assert name.name == "directory_name"
    assert name.chosen.native == asn1_x509.Name.load(lab.ca.subject.public_bytes()).native
    # KeyInfo: the signer first, then the lab CA
    certs = [
        x509.load_der_x509_certificate(base64.b64decode(e.text or ""))
        for e in sig.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    ]
    assert certs == [signer.certificate, lab.ca]


Tamper = Callable[[bytes], bytes]


@pytest.mark.parametrize("tamper", [_change_a_digit, _pretty], ids=["changed-digit", "pretty-printed"])
def test_tampering_fails_both_verifiers(
    examples: Path, schemas: Path, lab: LabPki, tmp_path: Path, tamper: Tamper
) -> None:
    signed = sign_dcc(unsigned_bytes(examples), lab.signer(), signing_time=now())
    changed = tamper(signed)
    assert changed != signed
    report = verify(changed, schemas, lab.ca)
    assert [s.name for s in report.failed] == ["signature"]
    assert "digest does not match" in report.failed[0].en
    assert not xmlsec1_ok(changed, lab.ca, tmp_path)


def test_another_ca_is_not_trusted_by_either_verifier(
    examples: Path, schemas: Path, lab: LabPki, pki: Pki, tmp_path: Path
) -> None:
    signed = sign_dcc(unsigned_bytes(examples), lab.signer(), signing_time=now())
    assert [s.name for s in verify(signed, schemas, pki.root.cert).failed] == ["chain"]
    assert not xmlsec1_ok(signed, pki.root.cert, tmp_path)


def test_an_ec_key_signs_ecdsa_sha256(examples: Path, schemas: Path, pki: Pki, tmp_path: Path) -> None:
    signed = sign_dcc(unsigned_bytes(examples), IdentitySigner(pki.signer, [pki.root.cert]), signing_time=now())
    root = etree.fromstring(signed)
    method = root.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", NS)
    assert method is not None and method.get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
    value = base64.b64decode(root.findtext("ds:Signature/ds:SignatureValue", namespaces=NS) or "")
    assert len(value) == 64  # r || s, 32 octets each for P-256 (XML-DSig 1.1 section 6.4.3)
    got = outcomes(verify(signed, schemas, pki.root.cert))
    assert got["signature"] == got["signing-certificate"] == got["chain"] == "pass"
    assert xmlsec1_ok(signed, pki.root.cert, tmp_path)


def test_the_humidity_example_dcc_3_1_2(examples: Path, schemas: Path, lab: LabPki, tmp_path: Path) -> None:
    # DCC 3.1.2's schema has no place for ds:Signature: refused unless asked, and then schema-invalid (but the
    # signature itself is sound)
    data = (examples / "dcc_gp_humidity_v1.0.xml").read_bytes()
    with pytest.raises(ValueError, match=r"schemaVersion '3\.1\.2' has no place for a signature"):
        sign_dcc(data, lab.signer(), signing_time=now())
    signed = sign_dcc(data, lab.signer(), signing_time=now(), allow_old_schema=True)
    got = outcomes(verify(signed, schemas, lab.ca))
    assert got["signature"] == got["signing-certificate"] == got["chain"] == "pass"
    assert got["schema"] == "fail"
    assert b"<?xml-stylesheet" in signed  # what precedes the root is kept (and signed: URI="" covers it)
    assert xmlsec1_ok(signed, lab.ca, tmp_path)
    assert not xmlsec1_ok(_change_a_digit(signed), lab.ca, tmp_path)


def test_bad_input_is_refused_in_plain_words(examples: Path, pki: Pki) -> None:
    signer = IdentitySigner(pki.signer, [pki.root.cert])
    unsigned = unsigned_bytes(examples)
    with pytest.raises(ValueError, match="must carry a timezone"):
        sign_dcc(unsigned, signer, signing_time=datetime(2026, 12, 3, 10, 0))
    with pytest.raises(ValueError, match="already carries a ds:Signature"):
        sign_dcc(
            (examples / "dcc_gp_temperature_typical_v12_v3.2.0_signed.xml").read_bytes(), signer, signing_time=now()
        )
    with pytest.raises(ValueError, match="not a DCC"):
        sign_dcc(b"<invoice/>", signer, signing_time=now())
    with pytest.raises(ValueError, match="not well-formed"):
        sign_dcc(b"<dcc:digitalCalibrationCertificate", signer, signing_time=now())


def test_an_element_is_signed_as_a_copy_and_the_time_is_written_in_utc(examples: Path, pki: Pki) -> None:
    root = unsigned_dcc(examples)
    before = etree.tostring(root)
    hanoi = timezone(timedelta(hours=7))
    signed = sign_dcc(root, IdentitySigner(pki.signer, []), signing_time=datetime(2026, 12, 4, 0, 30, tzinfo=hanoi))
    assert etree.tostring(root) == before  # the caller's tree is left unsigned
    stamp = etree.fromstring(signed).findtext(".//xades:SigningTime", namespaces=NS)
    assert stamp == "2026-12-03T17:30:00Z"  # 00:30 on the 4th at UTC+7 is 17:30 UTC on the 3rd


# --- the same key on a PKCS#11 token (SoftHSM2) ---------------------------------------------------------------

#: signs in a child process: python-pkcs11 initialises a module once per process, with the SOFTHSM2_CONF it sees
#: then, and other tests in this process may have loaded SoftHSM2 with their own token directory
_CHILD = """
import sys
from datetime import datetime
from pathlib import Path
from certificates.pki import ca_chain, PkiPaths
from certificates.signer import Pkcs11Signer
from certificates.xades import issuer_serial_v2, sign_dcc
module, label, pin, pki_dir, source, out, when = sys.argv[1:]
signer = Pkcs11Signer(Path(module), label, pin, key_label="lab-signer", chain=ca_chain(PkiPaths(Path(pki_dir))))
data = sign_dcc(Path(source).read_bytes(), signer, signing_time=datetime.fromisoformat(when))
Path(out).write_bytes(data)
"""


@pytest.fixture(scope="module")
def token_signed(lab: LabPki, examples: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[bytes]:
    """The example signed through a SoftHSM2 token holding the lab signer's key and certificate."""
    directory = tmp_path_factory.mktemp("softhsm-xades")
    token = make_token(directory)
    key = load_private_key(lab.paths.signer_key(lab.serial), SIGNER_PASS)
    key_der = directory / "key.der"
    key_der.write_bytes(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_der = directory / "cert.der"
    cert = x509.load_pem_x509_certificate(lab.paths.signer_cert(lab.serial).read_bytes())
    cert_der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    token.import_object(key_der, "privkey", "lab-signer", "0a")
    token.import_object(cert_der, "cert", "lab-signer", "0a")
    key_der.unlink()
    source, out = directory / "unsigned.xml", directory / "signed.xml"
    source.write_bytes(unsigned_bytes(examples))
    args = [token.module, token.label, token.pin, lab.paths.root, source, out, now().isoformat()]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *map(str, args)],
        env=token.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    yield out.read_bytes()


def test_a_token_signature_verifies(token_signed: bytes, schemas: Path, lab: LabPki, tmp_path: Path) -> None:
    root = etree.fromstring(token_signed)
    assert root[-1].tag == f"{{{DS}}}Signature"
    got = outcomes(verify(token_signed, schemas, lab.ca))
    assert got["signature"] == got["signing-certificate"] == got["chain"] == got["schema"] == "pass"
    assert xmlsec1_ok(token_signed, lab.ca, tmp_path)
    changed = _change_a_digit(token_signed)
    assert verify(changed, schemas, lab.ca).step("signature").outcome == "fail"  # type: ignore[union-attr]
    assert not xmlsec1_ok(changed, lab.ca, tmp_path)


def test_issuer_serial_v2_matches_a_third_party_signature(examples: Path) -> None:
    # the 3.2.0 example was signed by another lab's tool: our DER IssuerSerialV2 of its signer's certificate must be
    # byte for byte the one that tool wrote
    root = etree.parse(examples / "dcc_gp_temperature_typical_v12_v3.2.0_signed.xml")
    theirs = base64.b64decode("".join((root.findtext(".//xades:IssuerSerialV2", namespaces=NS) or "").split()))
    (cert_el,) = root.findall(".//ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    cert = x509.load_der_x509_certificate(base64.b64decode("".join((cert_el.text or "").split())))
    assert issuer_serial_v2(cert) == theirs
    # and its B-B signed properties have the shape sign_dcc writes: SigningTime, SigningCertificateV2 and a
    # DataObjectFormat with MimeType text/xml for the document reference
    props = root.find(".//xades:SignedProperties", NS)
    assert props is not None
    assert props.find("xades:SignedSignatureProperties/xades:SigningTime", NS) is not None
    assert props.find("xades:SignedSignatureProperties/xades:SigningCertificateV2", NS) is not None
    mime = props.findtext("xades:SignedDataObjectProperties/xades:DataObjectFormat/xades:MimeType", namespaces=NS)
    assert mime == "text/xml"
