"""Sign a DCC with an enveloped XAdES baseline B signature (XAdES-B-B), built with lxml and cryptography.

The signature (``ds:Signature``, appended as the last child of the DCC's root element) has:

* SignedInfo canonicalized with exclusive C14N 1.0 (``http://www.w3.org/2001/10/xml-exc-c14n#``, W3C Exclusive XML
  Canonicalization 1.0, 2002) and signed RSA-SHA256 or ECDSA-SHA256 according to the certificate's key (URIs of
  RFC 6931 section 2.3); ECDSA's SignatureValue is ``r || s``, each half the key size (XML-DSig 1.1 section 6.4.3);
* a reference to the whole document (``URI=""``, enveloped-signature transform then exclusive C14N, SHA-256);
* a reference to ``xades:SignedProperties`` (``Type="http://uri.etsi.org/01903#SignedProperties"``, exclusive C14N
  transform, SHA-256) holding SigningTime, SigningCertificateV2 (SHA-256 of the certificate and IssuerSerialV2) and a
  DataObjectFormat (MimeType ``text/xml``) for the document reference;
* KeyInfo with the signer's certificate followed by its issuer chain.

Standards: W3C XML Signature Syntax and Processing 1.1 (2013); ETSI EN 319 132-1 V1.1.1 (2016-04), XAdES, element
names in the ``http://uri.etsi.org/01903/v1.3.2#`` namespace. Which elements the B-B level requires (SigningTime,
SigningCertificateV2, a DataObjectFormat with MimeType per signed data object) is written here as remembered from
EN 319 132-1's baseline requirements: **unverified** against the text, so no clause number is cited (the
third-party B-B example in shared/dcc-examples carries the same three).
IssuerSerialV2 is the base64 DER of ``IssuerSerial`` from RFC 5035 section 4 (issuer as GeneralNames holding one
directoryName, serial number as INTEGER).

Why not signxml: docs/decisions/0430-xades-signing.md. The key never leaves the :class:`~certificates.signer.Signer`
(a key file or a PKCS#11 token): it is asked for one signature, over the canonical SignedInfo.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from certificates.signer import Signer
from certificates.timestamp import fetch_token
from certificates.verify.schema import safe_parser

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
DCC_ROOT = "{https://ptb.de/dcc}digitalCalibrationCertificate"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
#: the first DCC schema version with a place for ds:Signature (the root's last child, ``ref="ds:Signature"``):
#: read in the 2.4.0 to 3.3.0 XSDs (3.2.0, 3.2.1, 3.3.0 have it; 2.4.0, 3.1.1, 3.1.2 do not)
FIRST_SIGNABLE_VERSION = (3, 2, 0)
#: MIME type of the signed document (RFC 7303 section 4.1; text/xml as DCC tools write it)
DOCUMENT_MIME_TYPE = "text/xml"


def _ds(name: str) -> str:
    return f"{{{DS}}}{name}"


def _xades(name: str) -> str:
    return f"{{{XADES}}}{name}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV (X.690 section 8.1: definite length, short form below 128 octets)."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def issuer_serial_v2(cert: x509.Certificate) -> bytes:
    """DER of RFC 5035 ``IssuerSerial`` for ``cert``: SEQUENCE { GeneralNames { [4] directoryName }, INTEGER }.

    directoryName is tagged explicitly (a tagged CHOICE is always explicit, X.680 section 31.2.7)."""
    issuer = cert.issuer.public_bytes()  # DER of the Name
    general_names = _der(0x30, _der(0xA4, issuer))
    serial = cert.serial_number
    integer = _der(0x02, serial.to_bytes(serial.bit_length() // 8 + 1, "big", signed=True))
    return _der(0x30, general_names + integer)


def _exc_c14n(node: etree._Element | etree._ElementTree) -> bytes:
    return etree.tostring(node, method="c14n", exclusive=True, with_comments=False)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _reference(
    signed_info: etree._Element, uri: str, transforms: list[str], *, ref_id: str | None = None, ref_type: str = ""
) -> etree._Element:
    attrs = {"Id": ref_id} if ref_id else {}
    if ref_type:
        attrs["Type"] = ref_type
    ref = _sub(signed_info, _ds("Reference"), URI=uri, **attrs)
    tr = _sub(ref, _ds("Transforms"))
    for alg in transforms:
        _sub(tr, _ds("Transform"), Algorithm=alg)
    _sub(ref, _ds("DigestMethod"), Algorithm=SHA256)
    return _sub(ref, _ds("DigestValue"))


def _parse(document: bytes | etree._Element | etree._ElementTree) -> etree._ElementTree:
    if isinstance(document, bytes):
        try:
            return etree.ElementTree(etree.fromstring(document, safe_parser()))
        except etree.XMLSyntaxError as exc:
            raise ValueError(f"the DCC is not well-formed XML ({exc}): sign the file caltrace wrote") from None
    root = document.getroot() if isinstance(document, etree._ElementTree) else document
    # a copy of the whole document, with what precedes and follows the root (e.g. an xml-stylesheet PI)
    return etree.ElementTree(etree.fromstring(etree.tostring(root.getroottree()), safe_parser()))


def _signature_method(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_SHA256
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ECDSA_SHA256
    raise ValueError(f"the signer's certificate has a {type(key).__name__}: only RSA or EC keys can sign a DCC")


def _signature_value(signer: Signer, data: bytes) -> bytes:
    """The SignatureValue octets: PKCS#1 v1.5 as is; ECDSA converted from DER to ``r || s`` (XML-DSig 1.1 6.4.3)."""
    raw = signer.sign(data, hashes.SHA256())
    key = signer.certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        r, s = decode_dss_signature(raw)
        half = (key.key_size + 7) // 8
        return r.to_bytes(half, "big") + s.to_bytes(half, "big")
    return raw


def _version(text: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in (text or "").split("."))
    except ValueError:
        return None


def timestamp_imprint(value: etree._Element) -> bytes:
    """What a SignatureTimeStamp stamps: the SHA-256 of the ds:SignatureValue element in exclusive C14N (the C14N
    named inside the SignatureTimeStamp). As remembered from EN 319 132-1's SignatureTimeStamp (**unverified**, no
    clause cited); it agrees with the third-party long-term example in shared/dcc-examples (tested)."""
    return hashlib.sha256(_exc_c14n(value)).digest()


def _add_signature_timestamp(qualifying: etree._Element, value: etree._Element, url: str, sid: str) -> None:
    """Level T: a SignatureTimeStamp (RFC 3161 token) of :func:`timestamp_imprint` from the server at ``url``."""
    token = fetch_token(url, timestamp_imprint(value))
    unsigned = _sub(_sub(qualifying, _xades("UnsignedProperties")), _xades("UnsignedSignatureProperties"))
    stamp = _sub(unsigned, _xades("SignatureTimeStamp"), Id=f"{sid}-signature-timestamp")
    _sub(stamp, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    _sub(stamp, _xades("EncapsulatedTimeStamp"), _b64(token))


def signable(
    document: bytes | etree._Element | etree._ElementTree, *, allow_old_schema: bool = False
) -> etree._ElementTree:
    """A copy of ``document`` as a tree, once it is known that :func:`sign_dcc` can sign it: well-formed, a DCC,
    schemaVersion 3.2.0 or later (unless ``allow_old_schema``), not signed yet. ValueError saying what is wrong."""
    tree = _parse(document)
    root = tree.getroot()
    if root.tag != DCC_ROOT:
        raise ValueError(f"the root element is {root.tag}, not dcc:digitalCalibrationCertificate: not a DCC")
    version = _version(root.get("schemaVersion"))
    if not allow_old_schema and (version is None or version < FIRST_SIGNABLE_VERSION):
        raise ValueError(
            f"DCC schemaVersion {root.get('schemaVersion')!r} has no place for a signature (ds:Signature is in the "
            "schema from 3.2.0): write the certificate as DCC 3.2.0 or later before signing"
        )
    if next(root.iter(_ds("Signature")), None) is not None:
        raise ValueError("the DCC already carries a ds:Signature: sign the unsigned certificate")
    return tree


def _add_revocation_values(qualifying: etree._Element, crls: Sequence[bytes]) -> None:
    """xades:RevocationValues/CRLValues with each DER CRL, in the (possibly new) UnsignedSignatureProperties."""
    unsigned = qualifying.find(_xades("UnsignedProperties"))
    if unsigned is None:
        unsigned = _sub(qualifying, _xades("UnsignedProperties"))
    usp = unsigned.find(_xades("UnsignedSignatureProperties"))
    if usp is None:
        usp = _sub(unsigned, _xades("UnsignedSignatureProperties"))
    values = _sub(_sub(usp, _xades("RevocationValues")), _xades("CRLValues"))
    for der in crls:
        _sub(values, _xades("EncapsulatedCRLValue"), _b64(der))


def sign_dcc(
    document: bytes | etree._Element | etree._ElementTree,
    signer: Signer,
    *,
    signing_time: datetime,
    allow_old_schema: bool = False,
    timestamp_url: str | None = None,
    crls: Sequence[bytes] = (),
) -> bytes:
    """The DCC ``document`` (XML bytes, or an lxml element/tree, left unchanged) with an enveloped XAdES-B-B
    signature by ``signer`` appended to its root, serialised as UTF-8 bytes with an XML declaration.

    ``signing_time`` (timezone-aware) is written as the signed SigningTime, in UTC to the second. ValueError when the
    document is not a DCC, is already signed, or the time is naive; also when its ``schemaVersion`` is older than
    3.2.0, whose schema has no place for ds:Signature (the signed file would fail schema validation), unless
    ``allow_old_schema`` (:func:`signable`). With ``timestamp_url`` the signature gets an RFC 3161
    SignatureTimeStamp from that server (level T; TimestampError when the server fails). ``crls`` (DER) are embedded
    as xades:RevocationValues (unsigned properties), so a verifier without our registry can see the signer's
    certificate was not revoked when it signed (:func:`certificates.pki.current_crl`). The result must not be
    re-indented: any change of the document's characters, whitespace included, breaks the signature."""
    if signing_time.tzinfo is None or signing_time.utcoffset() is None:
        raise ValueError("signing_time must carry a timezone (e.g. datetime.now(UTC))")
    tree = signable(document, allow_old_schema=allow_old_schema)
    root = tree.getroot()
    cert = signer.certificate
    method = _signature_method(cert)

    # the document digest: the enveloped transform removes the signature, which is not there yet
    doc_digest = hashlib.sha256(_exc_c14n(tree)).digest()

    sid = f"caltrace-sig-{secrets.token_hex(8)}"
    sig = etree.SubElement(root, _ds("Signature"), {"Id": sid}, nsmap={"ds": DS})
    signed_info = _sub(sig, _ds("SignedInfo"))
    _sub(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    _sub(signed_info, _ds("SignatureMethod"), Algorithm=method)
    doc_ref = f"{sid}-ref-document"
    _reference(signed_info, "", [ENVELOPED, EXC_C14N], ref_id=doc_ref).text = _b64(doc_digest)
    props_id = f"{sid}-signed-properties"
    props_digest = _reference(
        signed_info, f"#{props_id}", [EXC_C14N], ref_id=f"{sid}-ref-properties", ref_type=SIGNED_PROPERTIES_TYPE
    )
    value = _sub(sig, _ds("SignatureValue"), Id=f"{sid}-value")
    x509_data = _sub(_sub(sig, _ds("KeyInfo")), _ds("X509Data"))
    for c in (cert, *signer.chain):
        _sub(x509_data, _ds("X509Certificate"), _b64(c.public_bytes(Encoding.DER)))

    obj = _sub(sig, _ds("Object"))
    qualifying = etree.SubElement(obj, _xades("QualifyingProperties"), {"Target": f"#{sid}"}, nsmap={"xades": XADES})
    props = _sub(qualifying, _xades("SignedProperties"), Id=props_id)
    ssp = _sub(props, _xades("SignedSignatureProperties"))
    _sub(ssp, _xades("SigningTime"), signing_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    cert_v2 = _sub(_sub(ssp, _xades("SigningCertificateV2")), _xades("Cert"))
    cert_digest = _sub(cert_v2, _xades("CertDigest"))
    _sub(cert_digest, _ds("DigestMethod"), Algorithm=SHA256)
    _sub(cert_digest, _ds("DigestValue"), _b64(hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()))
    _sub(cert_v2, _xades("IssuerSerialV2"), _b64(issuer_serial_v2(cert)))
    sdop = _sub(props, _xades("SignedDataObjectProperties"))
    dof = _sub(sdop, _xades("DataObjectFormat"), ObjectReference=f"#{doc_ref}")
    _sub(dof, _xades("MimeType"), DOCUMENT_MIME_TYPE)

    props_digest.text = _b64(hashlib.sha256(_exc_c14n(props)).digest())
    value.text = _b64(_signature_value(signer, _exc_c14n(signed_info)))
    if timestamp_url:
        _add_signature_timestamp(qualifying, value, timestamp_url, sid)
    if crls:
        _add_revocation_values(qualifying, crls)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
