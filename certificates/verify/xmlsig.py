"""Check an XML-DSig / XAdES signature with lxml and cryptography, one reference at a time.

Standards: W3C XML Signature Syntax and Processing 1.1 (2013) — §4.4.3 (Reference URI: ``""`` is the whole
document without comments, ``#id`` one element), §6.6.4 (enveloped-signature transform), §4.4.3.2 (a node-set
becomes octets by inclusive C14N 1.0 when no canonicalization transform follows), §6.4.3 (ECDSA: SignatureValue is
``r || s``, each half the key size; RFC 4050 / RFC 6931); ETSI EN 319 132-1 V1.1.1 (XAdES): SignedProperties,
SigningTime, SigningCertificate(V2), SignatureTimeStamp, CertificateValues, RevocationValues (the element names
are those of the XAdES 1.3.2 namespace; the clause numbers of EN 319 132-1 were not checked against its text:
**unverified**, so none are cited).

Canonicalization: C14N 1.0 (with and without comments), exclusive C14N 1.0 (with InclusiveNamespaces PrefixList)
via libxml2. C14N 1.1 is computed as C14N 1.0: the two differ only in how ``xml:id`` / ``xml:base`` of ancestors are
inherited into a document subset (C14N 1.1 §2.4); a whole-document reference gives identical octets.
SHA-1 digests and signatures are refused as too weak (RFC 6194).
"""

from __future__ import annotations

import base64
import copy
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "xades": XADES}

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#: canonicalization URI -> (exclusive, with comments)
C14N: dict[str, tuple[bool, bool]] = {
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
    "http://www.w3.org/2006/12/xml-c14n11": (False, False),
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}
#: digest URI -> hashlib name (RFC 6931 §2.1)
DIGESTS: dict[str, str] = {
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}
WEAK_DIGESTS = {"http://www.w3.org/2000/09/xmldsig#sha1"}
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
#: signature method URI -> (key kind, hash name) (RFC 6931 §2.2, §2.3)
SIGNATURE_METHODS: dict[str, tuple[str, str]] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": ("rsa", "sha256"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": ("rsa", "sha384"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": ("rsa", "sha512"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": ("ec", "sha256"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": ("ec", "sha384"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": ("ec", "sha512"),
}


@dataclass
class ReferenceCheck:
    """One ds:Reference: its Id and URI, whether its digest matched, and why not."""

    ref_id: str
    uri: str
    ok: bool
    problem: str = ""
    covers_document: bool = False
    is_signed_properties: bool = False


@dataclass
class SignatureCheck:
    """What was found and checked in one ds:Signature."""

    references: list[ReferenceCheck] = field(default_factory=list)
    value_ok: bool = False
    value_problem: str = ""
    algorithm: str = ""
    signer: x509.Certificate | None = None
    certificates: list[x509.Certificate] = field(default_factory=list)
    signing_time: datetime | None = None
    signing_time_signed: bool = False
    signing_cert_digest: bool | None = None  # None: no SigningCertificate property
    timestamp_present: bool = False
    #: the first SignatureTimeStamp's DER token and the octets it must stamp (the canonical ds:SignatureValue)
    timestamp_token: bytes | None = None
    timestamp_data: bytes | None = None
    timestamp_problem: str = ""
    crls: list[bytes] = field(default_factory=list)
    ocsps: list[bytes] = field(default_factory=list)
    xades: bool = False


def find_signatures(root: etree._Element) -> list[etree._Element]:
    """Every ds:Signature element in the document."""
    return list(root.iter(f"{{{DS}}}Signature"))


def _b64(text: str | None) -> bytes:
    return base64.b64decode("".join((text or "").split()), validate=True)


def _canonical(node: etree._Element | etree._ElementTree, algorithm: str, prefixes: list[str] | None) -> bytes:
    exclusive, comments = C14N[algorithm]
    return etree.tostring(
        node,
        method="c14n",
        exclusive=exclusive,
        with_comments=comments,
        inclusive_ns_prefixes=prefixes if exclusive else None,
    )


def _remove_keep_tail(el: etree._Element) -> None:
    """Remove ``el`` but keep its tail text (the enveloped transform removes the element node only)."""
    parent = el.getparent()
    if parent is None:
        raise ValueError("the signature is the document element: nothing is enveloped")
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _same_node(work: etree._ElementTree, el: etree._Element) -> etree._Element:
    """The element of the copy ``work`` at the position of ``el`` in the original tree."""
    indices: list[int] = []
    node = el
    while (parent := node.getparent()) is not None:
        indices.append(parent.index(node))
        node = parent
    found = work.getroot()
    for i in reversed(indices):
        found = found[i]
    return found


def _by_id(tree: etree._ElementTree, value: str) -> list[etree._Element]:
    found = tree.xpath("//*[@Id=$v or @ID=$v or @id=$v]", v=value)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def _check_reference(tree: etree._ElementTree, sig: etree._Element, ref: etree._Element) -> ReferenceCheck:
    uri = ref.get("URI")
    check = ReferenceCheck(ref_id=ref.get("Id") or "", uri=uri if uri is not None else "(none)", ok=False)
    check.is_signed_properties = ref.get("Type", "").endswith("#SignedProperties")
    if uri is None or not (uri == "" or uri.startswith("#")):
        check.problem = f"reference URI {uri!r} is not supported (only '' and '#id')"
        return check
    work = copy.deepcopy(tree)
    sig_copy = _same_node(work, sig)
    if uri == "":
        target: etree._Element | etree._ElementTree = work
        check.covers_document = True
    else:
        hits = _by_id(work, uri[1:])
        if len(hits) != 1:
            check.problem = f"{len(hits)} elements carry the Id {uri[1:]!r} (need exactly one)"
            return check
        target = hits[0]
        check.covers_document = target is work.getroot()
    algorithms = [t.get("Algorithm", "") for t in ref.findall("ds:Transforms/ds:Transform", NS)]
    octets: bytes | None = None
    for i, alg in enumerate(algorithms):
        if alg == ENVELOPED:
            _remove_keep_tail(sig_copy)
        elif alg in C14N and i == len(algorithms) - 1:
            t = ref.findall("ds:Transforms/ds:Transform", NS)[i]
            inc = t.find("{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces")
            prefixes = (inc.get("PrefixList") or "").split() if inc is not None else None
            octets = _canonical(target, alg, prefixes)
        else:
            check.problem = f"transform {alg!r} is not supported here"
            return check
    if octets is None:  # XML-DSig 1.1 §4.4.3.2: a node-set becomes octets by inclusive C14N 1.0
        octets = _canonical(target, "http://www.w3.org/TR/2001/REC-xml-c14n-20010315", None)
    method = ref.find("ds:DigestMethod", NS)
    alg = method.get("Algorithm", "") if method is not None else ""
    if alg in WEAK_DIGESTS:
        check.problem = "SHA-1 digest refused (too weak, RFC 6194)"
        return check
    if alg not in DIGESTS:
        check.problem = f"digest method {alg!r} is not supported"
        return check
    try:
        expected = _b64(ref.findtext("ds:DigestValue", namespaces=NS))
    except ValueError:
        check.problem = "DigestValue is not base64"
        return check
    actual = hashlib.new(DIGESTS[alg], octets).digest()
    if actual != expected:
        check.problem = "digest does not match: the referenced content changed after signing"
        return check
    check.ok = True
    return check


def _verify_value(sig: etree._Element, key: object, check: SignatureCheck) -> bool:
    """True when ``key`` verifies the SignatureValue over the canonical SignedInfo."""
    signed_info = sig.find("ds:SignedInfo", NS)
    if signed_info is None:
        return False
    c14n_el = signed_info.find("ds:CanonicalizationMethod", NS)
    c14n = c14n_el.get("Algorithm", "") if c14n_el is not None else ""
    inc = c14n_el.find("{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces") if c14n_el is not None else None
    if c14n not in C14N:
        check.value_problem = f"SignedInfo canonicalization {c14n!r} is not supported"
        return False
    data = _canonical(signed_info, c14n, (inc.get("PrefixList") or "").split() if inc is not None else None)
    value = _b64(sig.findtext("ds:SignatureValue", namespaces=NS))
    kind, hash_name = SIGNATURE_METHODS[check.algorithm]
    algorithm = _HASHES[hash_name]
    try:
        if kind == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(value) // 2
            der = encode_dss_signature(int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big"))
            key.verify(der, data, ec.ECDSA(algorithm))
        elif kind == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(value, data, padding.PKCS1v15(), algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _certs(elements: list[etree._Element]) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(_b64(e.text)) for e in elements]


def check_signature(tree: etree._ElementTree, sig: etree._Element) -> SignatureCheck:
    """Check every reference and the SignatureValue of ``sig``; collect the XAdES properties and embedded values.

    Raises ValueError for a signature too malformed to check (no SignedInfo, bad base64, unreadable certificate)."""
    check = SignatureCheck()
    signed_info = sig.find("ds:SignedInfo", NS)
    if signed_info is None:
        raise ValueError("ds:Signature has no ds:SignedInfo")
    for ref in signed_info.findall("ds:Reference", NS):
        check.references.append(_check_reference(tree, sig, ref))
    method = signed_info.find("ds:SignatureMethod", NS)
    check.algorithm = method.get("Algorithm", "") if method is not None else ""
    check.certificates = _certs(sig.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS))
    unsigned = sig.find(".//xades:QualifyingProperties/xades:UnsignedProperties/xades:UnsignedSignatureProperties", NS)
    extra: list[x509.Certificate] = []
    if unsigned is not None:
        extra = _certs(unsigned.findall("xades:CertificateValues/xades:EncapsulatedX509Certificate", NS))
        stamp = unsigned.find("xades:SignatureTimeStamp", NS)
        check.timestamp_present = stamp is not None
        if stamp is not None:
            _timestamp(sig, stamp, check)
        check.crls = [_b64(e.text) for e in unsigned.findall(".//xades:EncapsulatedCRLValue", NS)]
        check.ocsps = [_b64(e.text) for e in unsigned.findall(".//xades:EncapsulatedOCSPValue", NS)]
    if check.algorithm not in SIGNATURE_METHODS:
        check.value_problem = f"signature method {check.algorithm!r} is not supported (SHA-1 is refused)"
    elif not check.certificates:
        check.value_problem = "no X.509 certificate in KeyInfo: the signer cannot be identified"
    else:
        for cert in check.certificates:
            if _verify_value(sig, cert.public_key(), check):
                check.value_ok, check.signer = True, cert
                break
        if not check.value_ok and not check.value_problem:
            check.value_problem = "SignatureValue does not verify with the key of any certificate in KeyInfo"
    check.certificates += extra
    _xades_properties(sig, check)
    return check


def _timestamp(sig: etree._Element, stamp: etree._Element, check: SignatureCheck) -> None:
    """The token of a SignatureTimeStamp and what it stamps: the ds:SignatureValue element canonicalized by the
    stamp's own ds:CanonicalizationMethod, inclusive C14N 1.0 when none is named (ETSI EN 319 132-1 V1.1.1
    5.3.4 as remembered, **unverified**; the exclusive form agrees with a third-party token, tested)."""
    value = sig.find("ds:SignatureValue", NS)
    method = stamp.find("ds:CanonicalizationMethod", NS)
    alg = method.get("Algorithm", "") if method is not None else "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    token = stamp.findtext("xades:EncapsulatedTimeStamp", namespaces=NS)
    if value is None or token is None:
        check.timestamp_problem = "the SignatureTimeStamp holds no EncapsulatedTimeStamp"
        return
    if alg not in C14N:
        check.timestamp_problem = f"the SignatureTimeStamp's canonicalization {alg!r} is not supported"
        return
    try:
        check.timestamp_token = _b64(token)
    except ValueError:
        check.timestamp_problem = "the EncapsulatedTimeStamp is not base64"
        return
    check.timestamp_data = _canonical(value, alg, None)


def _xades_properties(sig: etree._Element, check: SignatureCheck) -> None:
    props = sig.find(".//xades:QualifyingProperties/xades:SignedProperties", NS)
    if props is None:
        return
    check.xades = True
    props_id = props.get("Id")
    check.signing_time_signed = any(r.ok and props_id is not None and r.uri == f"#{props_id}" for r in check.references)
    text = props.findtext("xades:SignedSignatureProperties/xades:SigningTime", namespaces=NS)
    if text:
        stamp = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        check.signing_time = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    digest = props.find(".//xades:SigningCertificateV2/xades:Cert/xades:CertDigest", NS)
    if digest is None:
        digest = props.find(".//xades:SigningCertificate/xades:Cert/xades:CertDigest", NS)
    if digest is not None and check.signer is not None:
        method = digest.find("ds:DigestMethod", NS)
        alg = method.get("Algorithm", "") if method is not None else ""
        if alg in DIGESTS:
            der = check.signer.public_bytes(encoding=Encoding.DER)
            check.signing_cert_digest = hashlib.new(DIGESTS[alg], der).digest() == _b64(
                digest.findtext("ds:DigestValue", namespaces=NS)
            )
        else:
            check.signing_cert_digest = False
