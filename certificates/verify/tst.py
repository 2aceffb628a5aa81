"""Verify an RFC 3161 timestamp token (a SignatureTimeStamp of a XAdES signature), with asn1crypto and cryptography.

What is checked, and where it comes from:

- the token is CMS SignedData (RFC 5652 §5) whose encapsulated content type is id-ct-TSTInfo (RFC 3161 §2.4.2);
- the TSTInfo ``messageImprint`` equals the digest, by the token's own hash algorithm, of the data the caller says
  was stamped (for XAdES: the ds:SignatureValue element, canonicalized as the SignatureTimeStamp names);
- the one SignerInfo's signed attributes carry ``contentType`` = id-ct-TSTInfo and a ``messageDigest`` equal to
  the digest of the encapsulated TSTInfo, and its signature over the DER SET OF those attributes verifies with the
  key of the certificate the SignerInfo names (RFC 5652 §5.4, §11.1–11.2);
- that certificate has extendedKeyUsage id-kp-timeStamping only, marked critical (RFC 3161 §2.3);
- a path from it to a trust anchor the verifier was given (the same ``--trust`` anchors as the signer's), every
  certificate valid at ``genTime`` (:func:`certificates.verify.pki.build_path`, ``invalid_at``).

Not checked: the TSA's revocation status, ESS signingCertificate(V2) binding, the TSA policy OID.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, tsp  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from certificates.verify import pki

#: hash algorithms a token may use (asn1crypto names → hashlib / cryptography); SHA-1 is refused
_HASHES: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    "sha256": ("sha256", hashes.SHA256()),
    "sha384": ("sha384", hashes.SHA384()),
    "sha512": ("sha512", hashes.SHA512()),
}


@dataclass
class TokenCheck:
    """The outcome of one token: ``ok`` when everything above holds; ``problem`` says what did not (English)."""

    ok: bool = False
    problem: str = ""
    gen_time: datetime | None = None
    tsa: x509.Certificate | None = None
    path: list[x509.Certificate] | None = None
    #: the token is sound and covers the data, but its TSA does not chain to a trust anchor
    untrusted: bool = False


def _verify(cert: x509.Certificate, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> bool:
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _is_tsa(cert: x509.Certificate) -> bool:
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return False
    return ext.critical and list(ext.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def check_token(der: bytes, stamped: bytes, trust: list[x509.Certificate]) -> TokenCheck:
    """Check the DER TimeStampToken ``der`` over the bytes ``stamped`` against ``trust`` (see the module text)."""
    out = TokenCheck()
    try:
        info_obj = cms.ContentInfo.load(der)
        if info_obj["content_type"].native != "signed_data":
            out.problem = "the timestamp token is not CMS SignedData"
            return out
        sd = info_obj["content"]
        encap = sd["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            out.problem = "the timestamp token does not hold a TSTInfo"
            return out
        tst_der = encap["content"].contents
        info = tsp.TSTInfo.load(tst_der)
        out.gen_time = info["gen_time"].native
        imprint_alg = info["message_imprint"]["hash_algorithm"]["algorithm"].native
        if imprint_alg not in _HASHES:
            out.problem = f"the token's imprint uses {imprint_alg}, which is not accepted"
            return out
        if hashlib.new(_HASHES[imprint_alg][0], stamped).digest() != info["message_imprint"]["hashed_message"].native:
            out.problem = "the token stamps other data than this signature value (message imprint differs)"
            return out
        certs = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in (sd["certificates"] or [])
            if c.name == "certificate"
        ]
        if len(sd["signer_infos"]) != 1:
            out.problem = "the timestamp token must have exactly one signer"
            return out
        si = sd["signer_infos"][0]
        sid = si["sid"]
        if sid.name != "issuer_and_serial_number":
            out.problem = "the token names its signer by key identifier, which caltrace does not resolve"
            return out
        serial = sid.chosen["serial_number"].native
        issuer = sid.chosen["issuer"].dump()
        signers = [c for c in certs if c.serial_number == serial and c.issuer.public_bytes() == issuer]
        if not signers:
            out.problem = "the token does not carry its TSA's certificate"
            return out
        tsa = out.tsa = signers[0]
        digest_alg = si["digest_algorithm"]["algorithm"].native
        if digest_alg not in _HASHES:
            out.problem = f"the token is signed with digest {digest_alg}, which is not accepted"
            return out
        attrs = si["signed_attrs"]
        if not attrs:
            out.problem = "the token's signer info has no signed attributes"
            return out
        values = {a["type"].native: a["values"][0] for a in attrs}
        if values.get("content_type") is None or values["content_type"].native != "tst_info":
            out.problem = "the token's signed content-type attribute is not TSTInfo"
            return out
        digest = hashlib.new(_HASHES[digest_alg][0], tst_der).digest()
        if values.get("message_digest") is None or values["message_digest"].native != digest:
            out.problem = "the token's message-digest attribute does not match its TSTInfo: altered token"
            return out
        signed = b"\x31" + attrs.dump()[1:]  # DER SET OF, not the [0] IMPLICIT tag (RFC 5652 §5.4)
        if not _verify(tsa, si["signature"].native, signed, _HASHES[digest_alg][1]):
            out.problem = "the TSA's signature on the token does not verify"
            return out
    except (ValueError, TypeError, KeyError) as exc:
        out.problem = f"the timestamp token cannot be read ({exc})"
        return out
    if not _is_tsa(tsa):
        out.problem = f"{pki.name(tsa)} is not a timestamping certificate (critical extendedKeyUsage timeStamping)"
        return out
    path = pki.build_path(tsa, certs, trust)
    if path is None:
        out.untrusted = True
        out.problem = f"the TSA {pki.name(tsa)} does not chain to any trust anchor given"
        return out
    assert out.gen_time is not None
    bad = pki.invalid_at(path, out.gen_time)
    if bad:
        which = ", ".join(pki.name(c) for c in bad)
        out.problem = f"the TSA's chain was not valid at the stamped time: {which}"
        return out
    out.path, out.ok = path, True
    return out
