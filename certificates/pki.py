"""The laboratory's own certification authority and its signatories' signing certificates.

Files live under ``<data dir>/pki`` (:func:`pki_paths`): ``ca.pem`` (the CA certificate, the trust anchor a
verifier is given), ``ca.key`` and one ``signers/<serial>.pem`` / ``signers/<serial>.key`` pair per signatory.
Every private key is PKCS#8 encrypted with a passphrase (``BestAvailableEncryption``: AES-256-CBC with a
scrypt/PBKDF2-derived key in the cryptography release used) that is never stored, and its file is mode 0600.

Keys are RSA-3072, signatures RSA PKCS#1 v1.5 with SHA-256 (docs/decisions/0410-lab-pki-and-tokens.md says why).
A signing certificate is issued only to an active member of staff authorised to sign at least one procedure on the
day (:func:`registry.runs.signing_procedures`); issuance, CA creation and revocation are written to the audit log
(actions ``pki-init-ca``, ``pki-issue-signer``, ``pki-revoke``, ``pki-crl``), and revocations are read back from
it. :func:`publish_crl` turns them into the CA's CRL (``crl.pem``, current for :data:`CRL_DAYS` days), which
signing embeds in each signature while it is current; a revocation deletes the old list.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from sqlalchemy.orm import Session

from certificates.errors import PkiNotFoundError, PkiRefusedError
from registry import audit
from registry.queries import find_staff, laboratory
from registry.runs import signing_procedures
from registry.settings import Settings, get_settings

#: RSA modulus of every key the lab makes (bits): 128-bit security, NIST SP 800-57 Part 1 Rev. 5, Table 2
KEY_BITS = 3072
#: validity of the lab CA certificate (days): 10 years
CA_DAYS = 3653
#: longest validity of a signatory's certificate (days): 3 years
SIGNER_MAX_DAYS = 1095
#: shortest passphrase accepted for a private key (characters)
MIN_PASSPHRASE = 8
#: environment variable holding the lab CA key's passphrase
CA_PASSPHRASE_ENV = "CALTRACE_PKI_PASSPHRASE"
#: environment variable holding a signatory's own key passphrase
SIGNER_PASSPHRASE_ENV = "CALTRACE_SIGNER_PASSPHRASE"
#: id-kp-documentSigning, RFC 9336 section 3.1
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
#: revocation reasons accepted by :func:`revoke` (RFC 5280 section 5.3.1 CRLReason names, for a later CRL)
REASONS = tuple(r.name for r in x509.ReasonFlags if r is not x509.ReasonFlags.remove_from_crl)
#: the audit log's entity for signing certificates
ENTITY = "signer_certificate"
#: how long a published CRL is current (days): its nextUpdate; signing embeds only a current CRL
CRL_DAYS = 7


@dataclass(frozen=True)
class PkiPaths:
    """Where the lab's PKI files are kept (``root`` = ``<data dir>/pki``)."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        """The lab CA certificate (PEM)."""
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        """The lab CA private key (encrypted PKCS#8 PEM, mode 0600)."""
        return self.root / "ca.key"

    @property
    def signers(self) -> Path:
        """Directory of the signatories' certificates and keys."""
        return self.root / "signers"

    def signer_cert(self, serial: str) -> Path:
        """A signatory's certificate (PEM) by serial number (lower-case hex)."""
        return self.signers / f"{serial}.pem"

    def signer_key(self, serial: str) -> Path:
        """A signatory's private key (encrypted PKCS#8 PEM, mode 0600) by serial number (lower-case hex)."""
        return self.signers / f"{serial}.key"

    @property
    def crl(self) -> Path:
        """The lab CA's current certificate revocation list (PEM), written by :func:`publish_crl`."""
        return self.root / "crl.pem"


def pki_paths(settings: Settings | None = None) -> PkiPaths:
    """The PKI files of this installation: ``pki`` in the data directory (CALTRACE_DATA_DIR)."""
    return PkiPaths((settings or get_settings()).data_dir / "pki")


@dataclass(frozen=True)
class CertificateInfo:
    """What ``caltrace pki list`` shows of a certificate."""

    serial: str
    subject: str
    username: str
    not_before: datetime
    not_after: datetime
    fingerprint: str
    path: Path
    revoked: str | None = None  # "<reason> on <date>" when revoked


def serial_hex(cert: x509.Certificate) -> str:
    """A certificate's serial number as lower-case hex, as used in file names and the audit log."""
    return format(cert.serial_number, "x")


def normalise_serial(text: str) -> str:
    """A serial number typed by a user (hex, any case, with or without colons or spaces) as :func:`serial_hex`."""
    cleaned = text.strip().lower().replace(":", "").replace(" ", "").removeprefix("0x").lstrip("0") or "0"
    if any(c not in "0123456789abcdef" for c in cleaned):
        raise PkiRefusedError(f"serial number {text!r} is not hexadecimal: copy it from `caltrace pki list`")
    return cleaned


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint of a certificate's DER encoding, as colon-separated upper-case hex (as openssl prints)."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def check_passphrase(passphrase: str) -> bytes:
    """The passphrase as bytes, refused when shorter than :data:`MIN_PASSPHRASE` characters."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise PkiRefusedError(f"a key passphrase needs at least {MIN_PASSPHRASE} characters")
    return passphrase.encode("utf-8")


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` created with ``mode`` (the mode is set before any byte is written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # an existing file keeps its old mode under os.open: set it
        os.write(fd, data)
    finally:
        os.close(fd)


def write_private_key(path: Path, key: rsa.RSAPrivateKey, passphrase: str) -> None:
    """Store ``key`` as PKCS#8 PEM encrypted with ``passphrase``, file mode 0600."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(check_passphrase(passphrase)),
    )
    _write(path, pem, 0o600)


def load_private_key(path: Path, passphrase: str) -> PrivateKeyTypes:
    """The private key in ``path`` decrypted with ``passphrase`` (PkiRefusedError when the passphrase is wrong)."""
    if not path.is_file():
        raise PkiNotFoundError(f"no private key at {path}")
    try:
        return serialization.load_pem_private_key(path.read_bytes(), passphrase.encode("utf-8"))
    except (ValueError, TypeError):
        raise PkiRefusedError(f"wrong passphrase for the key {path} (or the file is not an encrypted key)") from None


def load_certificate(path: Path) -> x509.Certificate:
    """The PEM certificate in ``path``."""
    if not path.is_file():
        raise PkiNotFoundError(f"no certificate at {path}")
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_ca(paths: PkiPaths) -> x509.Certificate:
    """The lab CA certificate, or PkiNotFoundError telling how to create it."""
    if not paths.ca_cert.is_file():
        raise PkiNotFoundError(f"there is no lab CA yet in {paths.root}: create it with `caltrace pki init`")
    return load_certificate(paths.ca_cert)


def _lab_name(session: Session) -> str:
    lab = laboratory(session)
    if lab is None or not lab.name.strip():
        raise PkiNotFoundError(
            "the registry has no laboratory yet: import it first (`caltrace registry import laboratory FILE`)"
        )
    return lab.name.strip()


def init_ca(
    session: Session,
    passphrase: str,
    *,
    force: bool = False,
    now: datetime | None = None,
    paths: PkiPaths | None = None,
) -> x509.Certificate:
    """Create the lab CA: an RSA-3072 key (encrypted with ``passphrase``) and a self-signed certificate valid
    :data:`CA_DAYS` days, O = the registry's laboratory. Refused when a CA exists, unless ``force``."""
    paths = paths or pki_paths()
    if paths.ca_cert.exists() and not force:
        raise PkiRefusedError(
            f"a lab CA already exists ({paths.ca_cert}); replacing it makes every signing certificate it issued "
            "untrusted: add --force only if that is what you want"
        )
    check_passphrase(passphrase)
    lab = _lab_name(session)
    record = laboratory(session)
    code = (record.accreditation_code or record.designation_code or "") if record else ""
    now = now or datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, lab),
            x509.NameAttribute(NameOID.COMMON_NAME, _common_name(f"{code} signing CA" if code else "Lab signing CA")),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    audit.record(
        session,
        "pki-init-ca",
        "lab_ca",
        serial_hex(cert),
        {
            "subject": cert.subject.rfc4514_string(),
            "not_before": cert.not_valid_before_utc,
            "not_after": cert.not_valid_after_utc,
            "fingerprint_sha256": fingerprint(cert),
            "replaced": force and paths.ca_cert.exists(),
        },
    )
    write_private_key(paths.ca_key, key, passphrase)
    _write(paths.ca_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert


def _common_name(text: str) -> str:
    """``text`` as a commonName, refused when longer than its upper bound (RFC 5280 appendix A.1, ub-common-name
    64; the cryptography package counts UTF-8 bytes, so about 40 Vietnamese letters with diacritics)."""
    text = text.strip()
    if not 1 <= len(text.encode("utf-8")) <= 64:
        raise PkiRefusedError(
            f"{text!r} cannot be a certificate's common name: it must be 1 to 64 bytes in UTF-8 "
            f"(it is {len(text.encode('utf-8'))}); shorten the name in the registry"
        )
    return text


def _key_usage(*, cert_sign: bool = False, signing: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def issue_signer(
    session: Session,
    username: str,
    ca_passphrase: str,
    signer_passphrase: str,
    *,
    today: date,
    days: int = SIGNER_MAX_DAYS,
    now: datetime | None = None,
    paths: PkiPaths | None = None,
    public_key: rsa.RSAPublicKey | None = None,
) -> x509.Certificate:
    """Issue a signing certificate to the authorised signatory ``username``: a new RSA-3072 key encrypted with
    ``signer_passphrase``, a certificate from the lab CA valid ``days`` days (at most :data:`SIGNER_MAX_DAYS`,
    never past the CA's end). Refused for an unknown, inactive or non-signing member of staff.

    With ``public_key`` (the RSA key of the signatory's PKCS#11 token, :meth:`Pkcs11Signer.public_key`) no key is
    made: the certificate binds that key, which never leaves the token, and no key file is written (at least
    2048 bits, NIST SP 800-57 Part 1 Rev. 5 Table 2: 112-bit security until 2030)."""
    if not 1 <= days <= SIGNER_MAX_DAYS:
        raise PkiRefusedError(f"--days must be 1..{SIGNER_MAX_DAYS} (3 years at most), not {days}")
    paths = paths or pki_paths()
    procedures = signing_procedures(session, username, today)
    staff = find_staff(session, username)
    assert staff is not None  # signing_procedures refused otherwise
    if public_key is None:
        check_passphrase(signer_passphrase)
    elif public_key.key_size < 2048:
        raise PkiRefusedError(f"the token's RSA key has {public_key.key_size} bits: 2048 at least")
    ca_cert = load_ca(paths)
    ca_key = load_private_key(paths.ca_key, ca_passphrase)
    if not isinstance(ca_key, rsa.RSAPrivateKey):
        raise PkiRefusedError(f"the lab CA key {paths.ca_key} is not an RSA key: recreate the CA")
    now = now or datetime.now(UTC)
    not_after = min(now + timedelta(days=days), ca_cert.not_valid_after_utc)
    if not_after <= now + timedelta(days=1):
        raise PkiRefusedError("the lab CA expires within a day: create a new CA (`caltrace pki init --force`)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS) if public_key is None else None
    subject_key = public_key if public_key is not None else key.public_key() if key is not None else None
    assert subject_key is not None
    org = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, str(org[0].value) if org else _lab_name(session)),
            x509.NameAttribute(NameOID.COMMON_NAME, _common_name(staff.full_name)),
            x509.NameAttribute(NameOID.USER_ID, username),
        ]
    )
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(subject_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    if staff.email:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(staff.email)]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    serial = serial_hex(cert)
    audit.record(
        session,
        "pki-issue-signer",
        ENTITY,
        serial,
        {
            "username": username,
            "subject": cert.subject.rfc4514_string(),
            "not_before": cert.not_valid_before_utc,
            "not_after": cert.not_valid_after_utc,
            "fingerprint_sha256": fingerprint(cert),
            "issuer_fingerprint_sha256": fingerprint(ca_cert),
            "procedures": procedures,
            "key": "file" if key is not None else "pkcs11-token",
        },
    )
    if key is not None:
        write_private_key(paths.signer_key(serial), key, signer_passphrase)
    _write(paths.signer_cert(serial), cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert


def revocations(session: Session) -> dict[str, str]:
    """Revoked signing certificates from the audit log: serial -> ``"<reason> on <date>"``."""
    return {
        serial: f"{payload.get('reason', 'unspecified')} on {at.date().isoformat()}"
        for serial, at, payload in audit.events(session, ENTITY, "pki-revoke")
    }


def list_signers(session: Session, paths: PkiPaths | None = None) -> list[CertificateInfo]:
    """Every signing certificate in the PKI directory, newest first, with its revocation when revoked."""
    paths = paths or pki_paths()
    revoked = revocations(session)
    infos = []
    for pem in sorted(paths.signers.glob("*.pem")) if paths.signers.is_dir() else []:
        cert = load_certificate(pem)
        uid = cert.subject.get_attributes_for_oid(NameOID.USER_ID)
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        serial = serial_hex(cert)
        infos.append(
            CertificateInfo(
                serial=serial,
                subject=str(cn[0].value) if cn else cert.subject.rfc4514_string(),
                username=str(uid[0].value) if uid else "",
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                fingerprint=fingerprint(cert),
                path=pem,
                revoked=revoked.get(serial),
            )
        )
    return sorted(infos, key=lambda i: i.not_before, reverse=True)


def revoke(session: Session, serial: str, reason: str, *, paths: PkiPaths | None = None) -> CertificateInfo:
    """Record the revocation of signing certificate ``serial`` (hex) for ``reason`` (one of :data:`REASONS`) in
    the audit log, and delete the published CRL (it no longer lists every revocation: :func:`publish_crl`)."""
    paths = paths or pki_paths()
    wanted = normalise_serial(serial)
    if reason not in REASONS:
        raise PkiRefusedError(f"unknown revocation reason {reason!r}; use one of: {', '.join(REASONS)}")
    found = [i for i in list_signers(session, paths) if i.serial == wanted]
    if not found:
        raise PkiNotFoundError(f"no signing certificate with serial {serial} in {paths.signers}")
    info = found[0]
    if info.revoked:
        raise PkiRefusedError(f"certificate {wanted} is already revoked ({info.revoked})")
    audit.record(
        session,
        "pki-revoke",
        ENTITY,
        wanted,
        {"reason": reason, "subject": info.subject, "username": info.username, "fingerprint_sha256": info.fingerprint},
    )
    paths.crl.unlink(missing_ok=True)  # it no longer lists every revocation: never embed it again
    return info


def publish_crl(
    session: Session,
    ca_passphrase: str,
    *,
    now: datetime | None = None,
    days: int = CRL_DAYS,
    paths: PkiPaths | None = None,
) -> x509.CertificateRevocationList:
    """Sign and write (``paths.crl``) the lab CA's CRL (RFC 5280 section 5): every revocation in the audit log
    with its date and reason code, thisUpdate ``now``, nextUpdate ``now + days``, a CRL number that grows with
    time (seconds since the epoch). Audited as ``pki-crl``. PkiRefusedError for ``days`` outside 1..31."""
    if not 1 <= days <= 31:
        raise PkiRefusedError(f"--days must be 1..31 (a revocation list must be renewed often), not {days}")
    paths = paths or pki_paths()
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    ca = load_ca(paths)
    key = load_private_key(paths.ca_key, ca_passphrase)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now)
        .next_update(now + timedelta(days=days))
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False)  # type: ignore[arg-type]
    )
    for serial, at, payload in audit.events(session, ENTITY, "pki-revoke"):
        entry = x509.RevokedCertificateBuilder().serial_number(int(serial, 16)).revocation_date(at)
        reason = payload.get("reason")
        if reason in REASONS and reason != "unspecified":
            entry = entry.add_extension(x509.CRLReason(x509.ReasonFlags[reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(key, hashes.SHA256())  # type: ignore[arg-type]
    _write(paths.crl, crl.public_bytes(serialization.Encoding.PEM), 0o644)
    audit.record(
        session,
        "pki-crl",
        ENTITY,
        "crl",
        {"number": int(now.timestamp()), "next_update": crl.next_update_utc, "revoked": len(crl)},
    )
    return crl


def current_crl(paths: PkiPaths | None = None, *, now: datetime | None = None) -> bytes | None:
    """The DER of the published CRL while it is current (``now`` before its nextUpdate), else None."""
    paths = paths or pki_paths()
    if not paths.crl.is_file():
        return None
    try:
        crl = x509.load_pem_x509_crl(paths.crl.read_bytes())
        ca = load_ca(paths)
        ours = crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    except ValueError:
        raise PkiRefusedError(f"{paths.crl} is not a readable revocation list: publish a new one (pki crl)") from None
    if not ours:  # the CA was replaced since: that list proves nothing about today's signers
        return None
    next_update = crl.next_update_utc
    if next_update is None or next_update <= (now or datetime.now(UTC)):
        return None
    return crl.public_bytes(serialization.Encoding.DER)


def ca_chain(paths: PkiPaths | None = None) -> Sequence[x509.Certificate]:
    """The issuer chain of a lab-issued signing certificate: the lab CA certificate."""
    return (load_ca(paths or pki_paths()),)
