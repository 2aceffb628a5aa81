"""The verifier's steps that need our registry (issue 17.7, decision 0450): run only when a registry session is
given, and only for a certificate whose number (``coreData/uniqueIdentifier``) and issuer are ours.

- ``registry-status``: issued passes; substituted (naming the replacing number and the reason), revoked (with the
  reason) and a number of ours that the register does not hold fail.
- ``stored-hash``: the SHA-256 of the file equals the one recorded when it was issued.
- ``authorisation``: the signer's certificate is one the lab issued, to the member of staff recorded as the
  certificate's signer, who held an authorisation to sign the run's procedure on the day of signing (the signed
  SigningTime, else the recorded issue time) and did not perform the run.
- ``revocation`` (replacing the embedded-values step's outcome): a lab-issued signing certificate revoked in our
  registry (``caltrace pki revoke``) fails; one that is not revoked passes on the registry's word.

The issuer is ours when the DCC's ``calibrationLaboratoryCode`` is our accreditation code, or, without a code, its
laboratory name is ours.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from cryptography import x509
from lxml import etree
from sqlalchemy.orm import Session

from certificates.pki import CertificateInfo, PkiPaths, fingerprint, list_signers
from certificates.verify.report import Report, Step
from registry.certificates import find_certificate, signing_authorisation, staff_by_id
from registry.models import Certificate, CertificateStatus
from registry.queries import find_staff, laboratory
from registry.settings import get_settings

DCC = "{https://ptb.de/dcc}"
REGISTRY_STEPS = ("registry-status", "stored-hash", "authorisation")


def _ours(session: Session, root: etree._Element) -> bool:
    lab = laboratory(session)
    if lab is None:
        return False
    box = root.find(f"{DCC}administrativeData/{DCC}calibrationLaboratory")
    if box is None:
        return False
    code = (box.findtext(f"{DCC}calibrationLaboratoryCode") or "").strip()
    if code:
        return bool(lab.accreditation_code) and code == lab.accreditation_code
    names = [(e.text or "").strip() for e in box.iterfind(f"{DCC}contact/{DCC}name/{DCC}content")]
    return lab.name.strip() in names


def registry_steps(
    report: Report,
    root: etree._Element,
    data: bytes,
    signer: x509.Certificate | None,
    signing_time: datetime | None,
    session: Session,
    paths: PkiPaths,
) -> None:
    """Add the registry steps for the DCC ``root`` (its file's bytes ``data``) signed by ``signer`` (None when
    unsigned or the signature failed) at the signed ``signing_time`` (None when not signed)."""
    number = (root.findtext(f"{DCC}administrativeData/{DCC}coreData/{DCC}uniqueIdentifier") or "").strip()
    if not _ours(session, root):
        for name in REGISTRY_STEPS:
            report.add(name, "skip", "Không phải giấy chứng nhận của phòng thí nghiệm này.",
                       "not a certificate of this laboratory.")  # fmt: skip
        return
    try:
        cert = find_certificate(session, number)
    except LookupError:
        report.add(
            "registry-status",
            "fail",
            f"Giấy chứng nhận mang tên phòng thí nghiệm này nhưng số {number!r} không có trong sổ đăng ký.",
            f"the certificate names this laboratory but number {number!r} is not in its register.",
        )
        for name in REGISTRY_STEPS[1:]:
            report.add(name, "skip", "Không có trong sổ đăng ký.", "not in the register.")
        return
    _status_step(report, session, cert)
    digest = hashlib.sha256(data).hexdigest()
    if cert.xml_sha256 and digest == cert.xml_sha256:
        report.add("stored-hash", "pass", f"SHA-256 của tệp khớp với bản đã lưu ({digest[:16]}…).",
                   f"the file's SHA-256 matches the stored one ({digest[:16]}…).")  # fmt: skip
    else:
        stored = (cert.xml_sha256 or "none")[:16]
        report.add(
            "stored-hash",
            "fail",
            f"SHA-256 của tệp ({digest[:16]}…) khác bản đã lưu khi ban hành ({stored}…): tệp không phải bản đã cấp.",
            f"the file's SHA-256 ({digest[:16]}…) differs from the one stored at issue ({stored}…): not the file "
            "issued.",
        )
    ours = _lab_issued(session, signer, paths)
    _authorisation_step(report, session, cert, signer, ours, signing_time)
    _revocation(report, ours)


def _status_step(report: Report, session: Session, cert: Certificate) -> None:
    if cert.status is CertificateStatus.ISSUED:
        report.add("registry-status", "pass", f"Giấy chứng nhận {cert.number} đang có hiệu lực (đã ban hành).",
                   f"certificate {cert.number} is in force (issued).")  # fmt: skip
    elif cert.status is CertificateStatus.SUBSTITUTED:
        other = session.get(Certificate, cert.replaced_by_id) if cert.replaced_by_id is not None else None
        by = other.number if other is not None else "?"
        report.add(
            "registry-status",
            "fail",
            f"Giấy chứng nhận {cert.number} đã được thay thế bởi {by} (lý do: {cert.status_reason}).",
            f"certificate {cert.number} was substituted by {by} (reason: {cert.status_reason}).",
        )
    elif cert.status is CertificateStatus.REVOKED:
        report.add(
            "registry-status",
            "fail",
            f"Giấy chứng nhận {cert.number} đã bị thu hồi (lý do: {cert.status_reason}).",
            f"certificate {cert.number} was revoked (reason: {cert.status_reason}).",
        )
    else:
        report.add(
            "registry-status",
            "fail",
            f"Giấy chứng nhận {cert.number} ở trạng thái {cert.status.value}, chưa ban hành.",
            f"certificate {cert.number} is {cert.status.value}, not issued.",
        )


def _lab_issued(session: Session, signer: x509.Certificate | None, paths: PkiPaths) -> CertificateInfo | None:
    if signer is None:
        return None
    wanted = fingerprint(signer)
    return next((i for i in list_signers(session, paths) if i.fingerprint == wanted), None)


def _authorisation_step(
    report: Report,
    session: Session,
    cert: Certificate,
    signer: x509.Certificate | None,
    ours: CertificateInfo | None,
    signing_time: datetime | None,
) -> None:
    if signer is None:
        report.add("authorisation", "fail", "Không có chữ ký hợp lệ để xác định người ký.",
                   "no valid signature to tell who signed.")  # fmt: skip
        return
    if ours is None:
        report.add("authorisation", "fail", "Chứng thư ký không phải do phòng thí nghiệm cấp cho người ký nào.",
                   "the signing certificate is not one the laboratory issued to a signatory.")  # fmt: skip
        return
    staff = find_staff(session, ours.username)
    at = signing_time or cert.issued_at
    problems: list[tuple[str, str]] = []
    if staff is None:
        problems.append((f"không có nhân viên {ours.username!r}", f"no member of staff {ours.username!r}"))
    else:
        recorded = staff_by_id(session, cert.signer_id)
        if recorded is not None and recorded.id != staff.id:
            problems.append(
                (
                    f"sổ ghi người ký {recorded.username}, chữ ký của {staff.username}",
                    f"the register names {recorded.username} as signer, the signature is {staff.username}'s",
                )
            )
        if staff.id == cert.run.technician_id:
            problems.append((f"{staff.username} đã thực hiện lần đo", f"{staff.username} performed the run"))
        if at is None:
            problems.append(("không biết thời điểm ký", "no signing time"))
        else:
            day = at.astimezone(ZoneInfo(get_settings().timezone)).date()
            why = signing_authorisation(staff, cert.run.procedure.code, day)
            if why is not None:
                problems.append((f"{staff.username} không được ủy quyền ký {cert.run.procedure.code} ngày {day}", why))
    if problems:
        report.add("authorisation", "fail", "; ".join(p[0] for p in problems), "; ".join(p[1] for p in problems))
        return
    assert staff is not None and at is not None
    report.add(
        "authorisation",
        "pass",
        f"{staff.full_name} ({staff.username}) được ủy quyền ký {cert.run.procedure.code} vào thời điểm ký "
        f"{at:%Y-%m-%dT%H:%M:%SZ} và không thực hiện lần đo.",
        f"{staff.full_name} ({staff.username}) was authorised to sign {cert.run.procedure.code} at the signing time "
        f"{at:%Y-%m-%dT%H:%M:%SZ} and did not perform the run.",
    )


def _revocation(report: Report, ours: CertificateInfo | None) -> None:
    """Our registry's word on a lab-issued signing certificate overrides the embedded-values step's outcome."""
    if ours is None:
        return
    index = next((i for i, s in enumerate(report.steps) if s.name == "revocation"), None)
    if ours.revoked:
        step = Step(
            "revocation",
            "fail",
            f"Chứng thư ký {ours.serial} đã bị thu hồi trong sổ đăng ký của phòng thí nghiệm ({ours.revoked}).",
            f"the signing certificate {ours.serial} is revoked in the laboratory's registry ({ours.revoked}).",
        )
    elif index is not None and report.steps[index].outcome == "fail":
        return  # an embedded CRL or OCSP response says revoked: that stands
    else:
        step = Step(
            "revocation",
            "pass",
            f"Sổ đăng ký của phòng thí nghiệm: chứng thư ký {ours.serial} không bị thu hồi.",
            f"the laboratory's registry: signing certificate {ours.serial} is not revoked.",
        )
    if index is None:
        report.steps.append(step)
    else:
        report.steps[index] = step
