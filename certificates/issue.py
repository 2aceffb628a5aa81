"""Issuing, amending and revoking certificates: the workflow after a run is reviewed (issue 17.6, decision 0450).

:func:`issue_certificate`, in the caller's transaction:

1. refuses a run that already has a certificate in force (amend it instead) and a signing key that is not the
   signatory's current lab-issued certificate (:func:`certificates.signing.current_certificate`);
2. allocates the next number of the run's series (:func:`registry.certificates.allocate_number`);
3. builds the DCC (:func:`certificates.dcc.build_dcc`: the run reviewed, every ISO/IEC 17025 item present, the
   signatory active, authorised to sign the procedure on the day of signing and not the run's technician);
4. lets an optional :class:`PdfMaker` embed the PDF, signs XAdES (:func:`certificates.xades.sign_dcc`), and lets the
   maker write the signed PDF/A-3 that carries the signed DCC;
5. records the certificate row (status issued, SHA-256 of each file) and a ``certificate-issue`` audit entry;
6. stores the files once, read-only, under ``<store>/<year>/<number>.xml`` (and ``.pdf``).

Nothing is visible before the transaction commits: a failure rolls the number back with the row (no gap). The files
are written last; a caller whose commit fails removes them (:func:`discard`). A file left by a process killed
between storing and committing is never overwritten: the next issue of that number is refused, naming the file
(decision 0450).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from sqlalchemy.orm import Session

from certificates.dcc import build_dcc, to_bytes
from certificates.dcc_replaces import Replaces
from certificates.pdf import verification_url
from certificates.pki import PkiPaths, current_crl, fingerprint, pki_paths
from certificates.signer import Signer
from certificates.signing import current_certificate
from certificates.verify.schema import safe_parser
from certificates.xades import sign_dcc
from registry import audit
from registry.certificates import (
    allocate_number,
    find_certificate,
    issued_for_run,
    series_of,
    signing_authorisation,
)
from registry.errors import NotPermittedError
from registry.models import Certificate, CertificateStatus, Run
from registry.queries import find_staff
from registry.runs import signing_procedures
from registry.settings import get_settings

#: the audit log's entity of the workflow's named events (entity id: the certificate number)
ENTITY = "certificate"
#: characters kept in a stored file's name; any other (``/`` of ``{year}/HC-...``) becomes ``_``
_SAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


class WorkflowError(ValueError):
    """The workflow refused (bad usage or a rule of the lab: exit 2); ``vi`` and ``en`` say why and what to do."""

    exit_code = 2

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en

    def text(self, language: str) -> str:
        """The reason in ``language`` (``vi`` or ``en``)."""
        return self.vi if language == "vi" else self.en


class PdfMaker(Protocol):
    """Makes the certificate's PDF/A-3 around the DCC (``certificates.pdf`` and ``certificates.pades``).

    ``embed`` renders the PDF from the unsigned DCC and embeds it in ``dcc:document`` (``render_pdf`` then
    ``embed_document``); ``signed_pdf`` renders the PDF again with the *signed* DCC as its associated file and
    signs it (``render_pdf(..., attachment=signed_dcc)`` then ``sign_pdf``). ``verify_url`` is the public
    verification URL the QR code carries. An adapter over those functions::

        class PdfA3:
            def embed(self, dcc, *, verify_url):
                embed_document(dcc, render_pdf(dcc, verify_url=verify_url))

            def signed_pdf(self, signed_dcc, *, verify_url, signer, signing_time, timestamp_url):
                dcc = etree.fromstring(signed_dcc, safe_parser())
                pdf = render_pdf(dcc, verify_url=verify_url, attachment=signed_dcc)
                return sign_pdf(pdf, signer, signing_time=signing_time, timestamp_url=timestamp_url)
    """

    def embed(self, dcc: etree._Element, *, verify_url: str) -> None: ...

    def signed_pdf(
        self,
        signed_dcc: bytes,
        *,
        verify_url: str,
        signer: Signer,
        signing_time: datetime,
        timestamp_url: str | None,
    ) -> bytes: ...


@dataclass(frozen=True)
class IssuedCertificate:
    """What :func:`issue_certificate` made: the number, the stored files and their SHA-256 (hex)."""

    number: str
    run_id: str
    kind: str
    series: str
    signatory: str
    signer_serial: str
    signing_time: datetime
    xml_path: Path
    xml_sha256: str
    pdf_path: Path | None = None
    pdf_sha256: str | None = None
    replaces: str | None = None

    @property
    def paths(self) -> list[Path]:
        """The stored files."""
        return [self.xml_path] + ([self.pdf_path] if self.pdf_path is not None else [])


def store_dir() -> Path:
    """Where issued certificates are stored: ``certificates`` in the data directory (CALTRACE_DATA_DIR)."""
    return get_settings().data_dir / "certificates"


def stored_path(store: Path, number: str, issued_at: datetime, suffix: str) -> Path:
    """``<store>/<year>/<number><suffix>``: the year of issue in the lab's time zone, the number with every
    character other than letters, digits, ``.``, ``-`` and ``_`` written ``_``."""
    year = issued_at.astimezone(ZoneInfo(get_settings().timezone)).year
    return store / str(year) / f"{_SAFE.sub('_', number)}{suffix}"


def verify_url(number: str, signed_dcc: bytes | None = None) -> str:
    """The public verification URL of certificate ``number`` (CALTRACE_PUBLIC_URL ``/verify/<number>``), with the
    signed DCC's hash prefix when given (:func:`certificates.pdf.verification_url`)."""
    return verification_url(number, signed_dcc)


def _mark_of(xml: bytes) -> str | None:
    """The verification mark number stated in a stored DCC (``coreData`` identification
    ``refType="caltrace_verificationMark"``), or None."""
    root = etree.fromstring(xml, safe_parser())
    for ident in root.iterfind(".//{https://ptb.de/dcc}identification[@refType='caltrace_verificationMark']"):
        value = ident.findtext("{https://ptb.de/dcc}value")
        if value and value.strip():
            return value.strip()
    return None


def _valid_until(root: etree._Element) -> date | None:
    """The last valid day a verification certificate states (statement ``caltrace_verificationValidity``)."""
    text = root.findtext(
        ".//{https://ptb.de/dcc}statement[@refType='caltrace_verificationValidity']/{https://ptb.de/dcc}date"
    )
    return date.fromisoformat(text.strip()) if text else None


def _signer_serial(
    session: Session, signatory: str, signer: Signer, now: datetime, paths: PkiPaths, procedure: str
) -> str:
    """The serial of the signatory's current lab-issued certificate, which ``signer`` must hold; WorkflowError when
    the signatory may not sign on the day (naming their authorisation for ``procedure`` when it has lapsed)."""
    day = now.astimezone(ZoneInfo(get_settings().timezone)).date()
    try:
        signing_procedures(session, signatory, day)
    except NotPermittedError as exc:
        staff = find_staff(session, signatory)
        why = signing_authorisation(staff, procedure, day) if staff is not None and staff.active else None
        detail = f"{exc} ({why})" if why else str(exc)
        raise WorkflowError(f"{signatory} không được ký: {detail}", f"{signatory} may not sign: {detail}") from None
    info = current_certificate(session, signatory, now, paths)
    held = fingerprint(signer.certificate)
    if held != info.fingerprint:
        raise WorkflowError(
            f"khóa ký không phải chứng thư hiện hành của {signatory} ({info.serial})",
            f"the signing key is not {signatory}'s current certificate ({info.serial}): sign with that one",
        )
    return info.serial


def _write_once(path: Path, data: bytes, number: str) -> None:
    """Write ``data`` to ``path`` through a temp file and a hard link, which never replaces a file, then leave it
    read-only (mode 0444). A file already there is refused: the number was allocated just now, so it belongs to no
    registered certificate (an issue interrupted between storing and committing, or a store kept from another
    registry) and a person must look at it before it is moved (decision 0450)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        raise WorkflowError(
            f"đã có tệp {path} (SHA-256 {digest}) cho số {number} chưa đăng ký: có thể do lần ban hành bị gián đoạn "
            "hoặc thư mục lưu của sổ đăng ký khác; kiểm tra rồi chuyển tệp đi nơi khác và ban hành lại",
            f"{path} exists already (SHA-256 {digest}) for number {number}, which is not registered: an issue "
            "interrupted before it committed, or a store kept from another registry; look at it, move it "
            "elsewhere and issue again (a stored file is never overwritten)",
        )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o444)
    try:
        os.link(tmp, path)  # FileExistsError rather than replacing a file that appeared meanwhile
    finally:
        tmp.unlink()


def discard(issued: IssuedCertificate) -> None:
    """Remove the stored files of a certificate whose transaction did not commit (the caller's clean-up)."""
    for path in issued.paths:
        path.unlink(missing_ok=True)


def _make(
    session: Session,
    run: Run,
    *,
    signatory: str,
    signer: Signer,
    now: datetime,
    store: Path,
    pdf: PdfMaker | None,
    timestamp_url: str | None,
    paths: PkiPaths,
    replaces: Certificate | None,
    reason: str,
    mark: str | None = None,
) -> tuple[IssuedCertificate, Certificate]:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(ZoneInfo(get_settings().timezone))
    serial = _signer_serial(session, signatory, signer, now, paths, run.procedure.code)
    try:
        series = series_of(run)
        number, _seq = allocate_number(session, series, local)
    except NotPermittedError as exc:
        raise WorkflowError(f"không cấp được số giấy chứng nhận: {exc}", f"no certificate number: {exc}") from None
    before = None if replaces is None else Replaces(replaces.number, replaces.xml_sha256 or "", reason)
    root = build_dcc(
        session, run.id, number=number, issued_on=local.date(), signatory=signatory, replaces=before, mark=mark
    )
    if pdf is not None:
        pdf.embed(root, verify_url=verify_url(number))
    crl = current_crl(paths, now=now)  # the CA's current revocation list: offline verifiers see the signer's status
    signed = sign_dcc(to_bytes(root), signer, signing_time=now, timestamp_url=timestamp_url, crls=[crl] if crl else [])
    pdf_bytes = None
    if pdf is not None:
        pdf_bytes = pdf.signed_pdf(
            signed, verify_url=verify_url(number, signed), signer=signer, signing_time=now, timestamp_url=timestamp_url
        )
    staff = find_staff(session, signatory)
    assert staff is not None  # _signer_serial and build_dcc checked
    xml_sha = hashlib.sha256(signed).hexdigest()
    pdf_sha = hashlib.sha256(pdf_bytes).hexdigest() if pdf_bytes is not None else None
    if run.instrument is not None:
        customer_id = run.instrument.owner_id
    else:
        assert run.lot is not None  # a run has exactly one subject (check constraint one_subject)
        customer_id = run.lot.packer_id
    row = Certificate(
        number=number,
        kind=run.procedure.kind,
        status=CertificateStatus.ISSUED,
        run_id=run.id,
        customer_id=customer_id,
        instrument_id=run.instrument_id,
        lot_id=run.lot_id,
        signer_id=staff.id,
        issued_at=now,
        valid_until=_valid_until(root),
        xml_sha256=xml_sha,
        pdf_sha256=pdf_sha,
    )
    session.add(row)
    session.flush()
    xml_path = stored_path(store, number, now, ".xml")
    pdf_path = stored_path(store, number, now, ".pdf") if pdf_bytes is not None else None
    audit.record(
        session,
        "certificate-issue",
        ENTITY,
        number,
        {
            "run_id": run.id,
            "kind": run.procedure.kind.value,
            "series": series,
            "signatory": signatory,
            "certificate_serial": serial,
            "signer_certificate_sha256": hashlib.sha256(signer.certificate.public_bytes(Encoding.DER)).hexdigest(),
            "signing_time": now,
            "timestamp_url": timestamp_url or "",
            "xml_sha256": xml_sha,
            "pdf_sha256": pdf_sha or "",
            "xml_path": str(xml_path),
            "pdf_path": str(pdf_path or ""),
            "replaces": replaces.number if replaces is not None else "",
        },
    )
    issued = IssuedCertificate(
        number=number,
        run_id=run.id,
        kind=run.procedure.kind.value,
        series=series,
        signatory=signatory,
        signer_serial=serial,
        signing_time=now,
        xml_path=xml_path,
        xml_sha256=xml_sha,
        pdf_path=pdf_path,
        pdf_sha256=pdf_sha,
        replaces=replaces.number if replaces is not None else None,
    )
    written: list[Path] = []
    try:
        _write_once(xml_path, signed, number)
        written.append(xml_path)
        if pdf_path is not None and pdf_bytes is not None:
            _write_once(pdf_path, pdf_bytes, number)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return issued, row


def issue_certificate(
    session: Session,
    run_id: str,
    *,
    signatory: str,
    signer: Signer,
    now: datetime,
    store: Path,
    pdf: PdfMaker | None = None,
    timestamp_url: str | None = None,
    pki: PkiPaths | None = None,
    mark: str | None = None,
) -> IssuedCertificate:
    """Issue the certificate of the reviewed run ``run_id``, signed by ``signatory`` with ``signer`` at ``now``
    (aware), stored under ``store``; the steps are in the module docstring. Refusals: :class:`WorkflowError`
    (already issued, a key that is not the signatory's, no numbering pattern), DccRefusedError (a 17025 item
    missing, not reviewed, signatory not authorised or the technician), PkiNotFoundError (no usable certificate).
    ``mark``: the verification mark (stamp) number a verification certificate needs (refused without one, and on
    any other kind)."""
    run = session.get(Run, run_id)
    if run is None:
        raise WorkflowError(f"không có lần đo {run_id!r}", f"no run {run_id!r}: `caltrace runs list` shows the runs")
    current = issued_for_run(session, run_id)
    if current:
        n = current[0].number
        raise WorkflowError(
            f"lần đo {run_id} đã có giấy chứng nhận {n}: muốn sửa thì dùng `caltrace certificate amend {n}`",
            f"run {run_id} already has certificate {n} in force: amend it (`caltrace certificate amend {n}`)",
        )
    with session.begin_nested():  # a failure takes the number back even if the caller then commits
        issued, _row = _make(
            session,
            run,
            signatory=signatory,
            signer=signer,
            now=now,
            store=store,
            pdf=pdf,
            timestamp_url=timestamp_url,
            paths=pki or pki_paths(),
            replaces=None,
            reason="",
            mark=mark,
        )
    return issued


def _final(session: Session, cert: Certificate, doing_vi: str, doing_en: str) -> None:
    """Refuse unless ``cert`` is issued: substituted and revoked certificates are final."""
    if cert.status is CertificateStatus.ISSUED:
        return
    extra = ""
    if cert.status is CertificateStatus.SUBSTITUTED and cert.replaced_by_id is not None:
        other = session.get(Certificate, cert.replaced_by_id)
        extra = f" → {other.number if other is not None else cert.replaced_by_id}"
    raise WorkflowError(
        f"giấy chứng nhận {cert.number} đang ở trạng thái {cert.status.value}{extra}: không {doing_vi} được "
        "(chỉ giấy chứng nhận đã ban hành)",
        f"certificate {cert.number} is {cert.status.value}{extra}: only an issued certificate can be {doing_en}",
    )


def amend_certificate(
    session: Session,
    number: str,
    *,
    reason: str,
    signatory: str,
    signer: Signer,
    now: datetime,
    store: Path,
    pdf: PdfMaker | None = None,
    timestamp_url: str | None = None,
    pki: PkiPaths | None = None,
    mark: str | None = None,
) -> IssuedCertificate:
    """Replace the issued certificate ``number`` by a new one with a new number, built from the run's current
    (reviewed) data and carrying ``reportAmendedSubstituted``/``previousReport`` (the old number, the SHA-256 of its
    stored XML, ``reason``). The original becomes ``substituted`` with ``replaced_by_id`` and the reason; a
    ``certificate-amend`` audit entry names both. Only an issued certificate can be amended. A verification
    certificate keeps the original's mark unless ``mark`` gives a new one."""
    if not reason.strip():
        raise WorkflowError("cần nêu lý do sửa đổi (--reason)", "give the reason for the amendment (--reason)")
    try:
        old = find_certificate(session, number)
    except LookupError as exc:
        raise WorkflowError(f"không có giấy chứng nhận {number!r}", str(exc)) from None
    _final(session, old, "sửa đổi", "amended")
    if mark is None:
        original = stored_path(store, old.number, old.issued_at or now, ".xml")
        mark = _mark_of(original.read_bytes()) if original.is_file() else None
    with session.begin_nested():  # a failure takes the number back even if the caller then commits
        issued, row = _make(
            session,
            old.run,
            signatory=signatory,
            signer=signer,
            now=now,
            store=store,
            pdf=pdf,
            timestamp_url=timestamp_url,
            paths=pki or pki_paths(),
            replaces=old,
            reason=reason.strip(),
            mark=mark,
        )
        try:
            old.status = CertificateStatus.SUBSTITUTED
            old.replaced_by_id = row.id
            old.status_reason = reason.strip()
            session.flush()
            audit.record(
                session,
                "certificate-amend",
                ENTITY,
                old.number,
                {"replaced_by": issued.number, "reason": reason.strip(), "signatory": signatory, "at": now},
            )
        except BaseException:
            discard(issued)
            raise
    return issued


def revoke_certificate(session: Session, number: str, *, reason: str, by: str, now: datetime) -> Certificate:
    """Revoke the issued certificate ``number`` for ``reason``: status ``revoked``, the reason kept, a
    ``certificate-revoke`` audit entry. ``by`` must be an active member of staff authorised to sign the
    certificate's procedure on the day (the authority that issues may withdraw). Substituted or revoked
    certificates are final."""
    if not reason.strip():
        raise WorkflowError("cần nêu lý do thu hồi (--reason)", "give the reason for the revocation (--reason)")
    try:
        cert = find_certificate(session, number)
    except LookupError as exc:
        raise WorkflowError(f"không có giấy chứng nhận {number!r}", str(exc)) from None
    _final(session, cert, "thu hồi", "revoked")
    today = now.astimezone(ZoneInfo(get_settings().timezone)).date()
    code = cert.run.procedure.code
    try:
        codes = signing_procedures(session, by, today)
    except NotPermittedError as exc:
        raise WorkflowError(f"{by} không được thu hồi: {exc}", f"{by} may not revoke: {exc}") from None
    if code not in codes:
        raise WorkflowError(
            f"{by} không được ủy quyền ký {code} ngày {today}, nên không được thu hồi {cert.number}",
            f"{by} is not authorised to sign {code} on {today}, so may not revoke {cert.number}",
        )
    cert.status = CertificateStatus.REVOKED
    cert.status_reason = reason.strip()
    session.flush()
    audit.record(session, "certificate-revoke", ENTITY, cert.number, {"reason": reason.strip(), "by": by, "at": now})
    return cert
