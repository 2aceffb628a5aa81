"""Public verification of the lab's certificates (issue 18.2, decision 0510), shared by the API and the pages.

:func:`certificate_status` answers what a verification link (the QR code's ``/verify/<number>?h=<prefix>``) asks:
the certificate's status in the register, and what the certificate itself states to identify it. The identity
(subject, customer, signer) is read from the signed DCC stored at issue when its SHA-256 is the recorded one
(what the certificate states, even if a registry record changed later); otherwise from the registry records the
certificate was built from. Nothing else is revealed: no record ids, no run data.

:func:`verify_upload` runs the verifier (:func:`certificates.verify.verify_bytes`, the steps of ``caltrace
certificate verify``) on an uploaded file, trusting the lab CA of the installation's PKI directory when there is
one, with the registry steps.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from cryptography import x509
from lxml import etree
from sqlalchemy.orm import Session

from api.web.deps import Service
from api.web.schemas.verification import StepPublic, SubjectPublic, VerificationPublic, VerifyReportPublic
from api.web.uploads import Upload
from certificates.errors import PkiNotFoundError
from certificates.issue import stored_path
from certificates.pki import load_ca, pki_paths
from certificates.verify import Report, verify_bytes
from certificates.verify.schema import safe_parser
from registry.certificates import find_certificate
from registry.errors import NotFoundError
from registry.models import Certificate, CertificateStatus

DCC = "{https://ptb.de/dcc}"
#: a hash prefix in a link: hexadecimal, at least 8 digits (the QR codes carry 16), at most a whole SHA-256
HASH_PREFIX = re.compile(r"[0-9a-fA-F]{8,64}")
#: statuses the public may see: a draft was never issued, so it is "not found"
_PUBLIC = {
    CertificateStatus.ISSUED: "valid",
    CertificateStatus.SUBSTITUTED: "substituted",
    CertificateStatus.AMENDED: "substituted",
    CertificateStatus.REVOKED: "revoked",
}


def _stored_dcc(service: Service, cert: Certificate) -> etree._Element | None:
    """The signed DCC stored at issue, parsed, when its SHA-256 is the recorded one; else None."""
    if cert.issued_at is None or not cert.xml_sha256:
        return None
    path = stored_path(service.registry.data_dir / "certificates", cert.number, cert.issued_at, ".xml")
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != cert.xml_sha256:
        return None
    try:
        return etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError:
        return None


def _text(element: etree._Element | None, path: str) -> str:
    """The first text at ``path`` under ``element`` (``dcc:content`` in the first language given), stripped."""
    if element is None:
        return ""
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _instrument_from_dcc(root: etree._Element) -> SubjectPublic | None:
    item = root.find(f"{DCC}administrativeData/{DCC}items/{DCC}item")
    if item is None:
        return None
    serial = ""
    for ident in item.iterfind(f"{DCC}identifications/{DCC}identification"):
        if (ident.findtext(f"{DCC}issuer") or "").strip() == "manufacturer":
            serial = (ident.findtext(f"{DCC}value") or "").strip()
            break
    return SubjectPublic(
        type="instrument",
        name=_text(item, f"{DCC}name/{DCC}content"),
        manufacturer=_text(item, f"{DCC}manufacturer/{DCC}name/{DCC}content"),
        model=_text(item, f"{DCC}model"),
        serial_number=serial,
    )


def _signer_from_dcc(root: etree._Element) -> str:
    for person in root.iterfind(f"{DCC}administrativeData/{DCC}respPersons/{DCC}respPerson"):
        if (person.findtext(f"{DCC}mainSigner") or "").strip() == "true" or (
            person.findtext(f"{DCC}role") or ""
        ).strip() == "signatory":
            return _text(person, f"{DCC}person/{DCC}name/{DCC}content")
    return ""


def _subject_from_registry(cert: Certificate) -> SubjectPublic:
    if cert.lot is not None:
        lot = cert.lot
        return SubjectPublic(
            type="lot",
            name=lot.product,
            brand=lot.brand,
            lot_number=lot.lot_number,
            nominal_quantity=f"{lot.nominal_quantity:g} {lot.nominal_unit}",
        )
    instrument = cert.instrument
    assert instrument is not None  # the one_subject constraint
    return SubjectPublic(
        type="instrument",
        name=instrument.kind,
        manufacturer=instrument.manufacturer,
        model=instrument.model,
        serial_number=instrument.serial_number,
    )


def hash_matches(given: str | None, sha256: str) -> bool | None:
    """None when no prefix was given; else whether ``given`` (hex, at least 8 digits) begins ``sha256``."""
    if given is None:
        return None
    given = given.strip()
    return bool(HASH_PREFIX.fullmatch(given)) and sha256.startswith(given.casefold())


def status_of(session: Session, service: Service, number: str, h: str | None = None) -> VerificationPublic:
    """The public status of certificate ``number``; NotFoundError (404) when the register holds no issued
    certificate of that number."""
    try:
        cert = find_certificate(session, number)
    except NotFoundError:
        raise NotFoundError(f"no certificate {number.strip()!r} was issued by this laboratory") from None
    status = _PUBLIC.get(cert.status)
    if status is None or cert.issued_at is None or not cert.xml_sha256:
        raise NotFoundError(f"no certificate {number.strip()!r} was issued by this laboratory")
    replaced_by = None
    if status == "substituted" and cert.replaced_by_id is not None:
        other = session.get(Certificate, cert.replaced_by_id)
        replaced_by = other.number if other is not None else None
    root = _stored_dcc(service, cert)
    subject = None
    customer = signer = ""
    if root is not None:
        subject = None if cert.lot is not None else _instrument_from_dcc(root)
        customer = _text(root, f"{DCC}administrativeData/{DCC}customer/{DCC}name/{DCC}content")
        signer = _signer_from_dcc(root)
    if subject is None:
        subject = _subject_from_registry(cert)
    if not customer:
        customer = cert.customer.name
    if not signer and cert.signer is not None:
        signer = cert.signer.full_name
    issued_at: datetime = cert.issued_at
    return VerificationPublic(
        number=cert.number,
        status=status,  # type: ignore[arg-type]  # a value of _PUBLIC
        reason=cert.status_reason if status != "valid" else "",
        replaced_by=replaced_by,
        kind=cert.kind.value,
        issued_on=issued_at.astimezone(ZoneInfo(service.registry.timezone)).date(),
        xml_sha256=cert.xml_sha256,
        pdf_sha256=cert.pdf_sha256 or None,
        signer=signer,
        customer=customer,
        subject=subject,
        hash_given=h.strip().casefold() if h is not None else None,
        hash_matches=hash_matches(h, cert.xml_sha256),
    )


def lab_trust(service: Service) -> list[x509.Certificate]:
    """The lab CA of the installation's PKI directory, or nothing when there is none yet."""
    try:
        return [load_ca(pki_paths(service.registry))]
    except (PkiNotFoundError, OSError, ValueError):
        return []


def verify_upload(session: Session, service: Service, upload: Upload) -> VerifyReportPublic:
    """The verifier's report of ``upload`` (a DCC XML or a certificate PDF) against the lab CA and the register."""
    report: Report = verify_bytes(
        upload.content,
        upload.name,
        lab_trust(service),
        now=service.clock(),
        registry=session,
        pki_dir=pki_paths(service.registry),
    )
    body = report.as_json()
    return VerifyReportPublic(
        file=upload.name,
        verdict=body["verdict"],
        steps=[StepPublic(**step) for step in body["steps"]],
    )
