"""Certificate paths and revocation for a signature, with cryptography's X.509 primitives.

The path is built by hand rather than with ``cryptography.x509.verification``: its policies (CA/B Forum Web PKI)
check a leaf's extended key usage for TLS server or client authentication, which a document-signing certificate
does not carry, and a signature must be judged at its signing time as well as now. What is checked (RFC 5280
§6.1.3, reduced): each certificate's issuer name equals the next one's subject and its signature verifies with the
next one's key (``verify_directly_issued_by``); every issuer below the anchor is a CA (basicConstraints cA=TRUE);
each certificate's validity period contains the time asked about. Not checked: name constraints, policies, key
usage of the signer.

Revocation (RFC 5280 §5 CRLs, RFC 6960 OCSP), from values embedded in the signature only: a CRL counts when its
issuer is the certificate's issuer and its signature verifies with that issuer's key; an OCSP response counts when
it is signed by the issuer or by a responder certificate the issuer issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

MAX_DEPTH = 8


def load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM (or a single DER) file; ValueError when there is none."""
    pem = b"-----BEGIN" in data
    certs = x509.load_pem_x509_certificates(data) if pem else [x509.load_der_x509_certificate(data)]
    if not certs:
        raise ValueError("no certificate found")
    return certs


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def build_path(
    signer: x509.Certificate, intermediates: list[x509.Certificate], anchors: list[x509.Certificate]
) -> list[x509.Certificate] | None:
    """The path signer → ... → anchor (anchor last), ignoring validity periods; None when there is none."""

    def walk(path: list[x509.Certificate]) -> list[x509.Certificate] | None:
        current = path[-1]
        if current in anchors:
            # a trusted intermediate: carry on to a trusted issuer when one was given too, for a complete report
            above = [a for a in anchors if a not in path and _issued_by(current, a)]
            return [*path, above[0]] if above and current.issuer != current.subject else path
        if len(path) > MAX_DEPTH:
            return None
        for anchor in anchors:
            if anchor not in path and _issued_by(current, anchor):
                return walk([*path, anchor])
        for cand in intermediates:
            if cand not in path and _is_ca(cand) and _issued_by(current, cand):
                found = walk([*path, cand])
                if found:
                    return found
        return None

    return walk([signer])


def invalid_at(path: list[x509.Certificate], at: datetime) -> list[x509.Certificate]:
    """The certificates of ``path`` whose validity period does not contain ``at``."""
    return [c for c in path if not (c.not_valid_before_utc <= at <= c.not_valid_after_utc)]


def name(cert: x509.Certificate) -> str:
    """The subject in RFC 4514 form."""
    return cert.subject.rfc4514_string()


@dataclass
class RevocationStatus:
    """What the embedded values say about one certificate: ``good``, ``revoked`` or ``unknown``."""

    cert: x509.Certificate
    status: str
    source: str = ""
    revoked_at: datetime | None = None


def _verify_with(key: object, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm | None) -> bool:
    if algorithm is None:
        return False
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def revocation(
    cert: x509.Certificate, issuer: x509.Certificate, crls: list[bytes], ocsps: list[bytes]
) -> RevocationStatus:
    """The status of ``cert`` according to the embedded CRLs and OCSP responses (revoked wins over good)."""
    result = RevocationStatus(cert, "unknown")
    for der in crls:
        try:
            crl = x509.load_der_x509_crl(der)
        except ValueError:
            continue
        try:
            valid = crl.issuer == issuer.subject and crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
        except (TypeError, ValueError):
            valid = False
        if not valid:
            continue
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            return RevocationStatus(cert, "revoked", "CRL", entry.revocation_date_utc)
        result = RevocationStatus(cert, "good", f"CRL of {crl.last_update_utc:%Y-%m-%d}")
    for der in ocsps:
        try:
            resp = ocsp.load_der_ocsp_response(der)
        except ValueError:
            continue
        if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            continue
        responders = [issuer, *[c for c in resp.certificates if _issued_by(c, issuer)]]
        if not any(
            _verify_with(r.public_key(), resp.signature, resp.tbs_response_bytes, resp.signature_hash_algorithm)
            for r in responders
        ):
            continue
        for single in resp.responses:
            if single.serial_number != cert.serial_number:
                continue
            digest = hashes.Hash(single.hash_algorithm)
            digest.update(issuer.subject.public_bytes())
            if digest.finalize() != single.issuer_name_hash:
                continue
            if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
                return RevocationStatus(cert, "revoked", "OCSP", single.revocation_time_utc)
            if single.certificate_status == ocsp.OCSPCertStatus.GOOD:
                ocsp_source = f"OCSP of {resp.produced_at_utc:%Y-%m-%d}"
                result = RevocationStatus(
                    cert, "good", f"{result.source}, {ocsp_source}" if result.source else ocsp_source
                )
    return result
