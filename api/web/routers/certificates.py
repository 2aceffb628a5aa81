"""The certificate workflow (issue 18.1; the library of issue 17, decision 0450): list and show issued certificates,
report whether a run's certificate can be issued, issue, amend, revoke, and download the stored signed files.

Who may do what: every login reads; the completeness report is for reviewers, signatories and administrators;
issuing, amending and revoking need the signatory role, and the signatory is always the member of staff the login
acts as (never a name in the request), so the registry's authorisations decide as they do for ``caltrace
certificate``. The key is the signatory's lab-issued key file, opened with the passphrase sent in the request body;
the passphrase is a ``SecretStr`` used once to open the key: it is not stored, logged, audited or repeated in any
answer. A PKCS#11 token (``caltrace certificate issue --pkcs11-module``) cannot be used through the service.

Refusals mirror the CLI's exit codes as HTTP statuses: an unknown run or certificate 404; the role, or the person
not allowed to sign (not authorised, the run's technician) 403; the records refusing (not reviewed, an ISO/IEC
17025 item missing, already issued, substituted or revoked, no lab CA or signing certificate) 409; bad input (a
wrong passphrase, a timestamp asked for with no server configured) 422. Reasons are in Vietnamese unless the request
prefers English (``Accept-Language: en``), as the CLI (``--lang``).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web.accounts import Account
from api.web.deps import CurrentAccount, Limit, Offset, Reader, Service, ServiceDep, require_roles
from api.web.errors import ApiProblem, FieldProblem, problem_responses
from api.web.schemas.certificates import (
    AmendCreate,
    CertificatePublic,
    DraftReportPublic,
    IssueCreate,
    MissingItemPublic,
    RevokeCreate,
    SubjectPublic,
)
from certificates.dcc_content import STANDARD, UNVERIFIED, DccRefusedError, Missing, gather, natural_kind
from certificates.errors import PkiError, PkiNotFoundError, PkiRefusedError
from certificates.issue import (
    IssuedCertificate,
    WorkflowError,
    amend_certificate,
    discard,
    issue_certificate,
    revoke_certificate,
    stored_path,
)
from certificates.pades import PdfA3
from certificates.pki import PkiPaths, load_ca, pki_paths
from certificates.signer import FileKeySigner
from certificates.signing import current_certificate, lab_signer
from registry.certificates import find_certificate, issued_for_run, pattern_for, series_of
from registry.errors import NotFoundError, NotPermittedError
from registry.models import Certificate, CertificateStatus, Run
from registry.runs import resolve_run_id

log = logging.getLogger(__name__)

router = APIRouter(tags=["certificates"])

Lang = Literal["vi", "en"]
#: accounts that may ask whether a run's certificate can be issued
Checker = Annotated[Account, require_roles("reviewer", "signatory", "admin")]
#: accounts that may issue, amend and revoke: the signatory (acting as their member of staff)
Signatory = Annotated[Account, require_roles("signatory")]

#: the stored files: suffix -> (media type, what it is)
FILES: dict[str, tuple[str, str]] = {
    ".xml": ("application/xml", "the signed Digital Calibration Certificate (DCC XML)"),
    ".pdf": ("application/pdf", "the signed PDF/A-3 carrying the signed DCC"),
}


def request_language(request: Request) -> Lang:
    """The language of the workflow's messages: English when the request's Accept-Language prefers ``en`` over
    ``vi`` (by q-value, RFC 9110 section 12.5.4), else Vietnamese (the CLI's default)."""
    best: tuple[float, Lang] = (-1.0, "vi")
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().casefold().split("-")[0]
        if primary not in ("vi", "en"):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best[0]:
            best = (q, "vi" if primary == "vi" else "en")
    return best[1] if best[0] > 0 else "vi"


def _say(lang: Lang, vi: str, en: str) -> str:
    return vi if lang == "vi" else en


# --- reading ------------------------------------------------------------------------------------------------------


def _subject(cert: Certificate) -> SubjectPublic:
    if cert.instrument is not None:
        i = cert.instrument
        words = " ".join(w for w in (i.kind, i.manufacturer, i.model) if w.strip())
        return SubjectPublic(
            type="instrument",
            id=i.id,
            description=f"{words}, serial {i.serial_number}",
            customer_id=cert.customer_id,
            customer=cert.customer.name,
        )
    assert cert.lot is not None  # exactly one subject (check constraint one_subject)
    lot = cert.lot
    return SubjectPublic(
        type="lot",
        id=lot.id,
        description=f"{lot.product} {lot.brand}".strip() + f", lot {lot.lot_number}",
        customer_id=cert.customer_id,
        customer=cert.customer.name,
    )


def _public(s: Session, cert: Certificate) -> CertificatePublic:
    other = s.get(Certificate, cert.replaced_by_id) if cert.replaced_by_id is not None else None
    replaces = s.scalars(
        select(Certificate.number).where(Certificate.replaced_by_id == cert.id).order_by(Certificate.id)
    ).all()
    return CertificatePublic(
        number=cert.number,
        kind=cert.kind.value,
        status=cert.status.value,
        run_id=cert.run_id,
        procedure=cert.run.procedure.code,
        subject=_subject(cert),
        signer=cert.signer.username if cert.signer is not None else None,
        issued_at=cert.issued_at,
        valid_until=cert.valid_until,
        xml_sha256=cert.xml_sha256,
        pdf_sha256=cert.pdf_sha256,
        replaced_by=other.number if other is not None else None,
        replaces=list(replaces),
        reason=cert.status_reason,
    )


def _location(number: str) -> str:
    return f"/api/v1/certificates/{quote(number, safe='')}"


@router.get(
    "/certificates",
    response_model=list[CertificatePublic],
    operation_id="certificates_list",
    responses=problem_responses(401),
)
def list_certificates(
    _: Reader,
    service: ServiceDep,
    status_: Annotated[
        CertificateStatus | None, Query(alias="status", description="Only certificates in this status.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[CertificatePublic]:
    """Issued certificates, newest first (as ``caltrace certificate list``)."""
    query = select(Certificate).order_by(Certificate.issued_at.desc(), Certificate.id.desc()).limit(limit)
    query = query.offset(offset)
    if status_ is not None:
        query = query.where(Certificate.status == status_)
    with service.read() as s:
        return [_public(s, c) for c in s.scalars(query)]


def _stored_file(service: Service, number: str, suffix: str) -> tuple[str, bytes]:
    """(file name, bytes) of certificate ``number``'s stored file, checked against the SHA-256 recorded at issue.
    404 for an unknown number or a file never made; a missing or changed file is a 500-class problem, logged,
    and nothing of the file is sent."""
    with service.read() as s:
        cert = find_certificate(s, number)
        expected = cert.xml_sha256 if suffix == ".xml" else cert.pdf_sha256
        issued_at = cert.issued_at
        number = cert.number
    if issued_at is None or not expected:
        what = "XML" if suffix == ".xml" else "PDF"
        raise ApiProblem(404, "not-found", "No such file", f"certificate {number} has no stored {what} file")
    path = stored_path(service.registry.data_dir / "certificates", number, issued_at, suffix)
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.error("certificate %s: the stored file %s cannot be read (%s)", number, path, exc.strerror or exc)
        raise ApiProblem(
            500,
            "stored-file-missing",
            "Stored file missing",
            f"the stored file of certificate {number} cannot be read; the incident is in the service log",
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        log.error(
            "certificate %s: the stored file %s changed: SHA-256 %s, recorded at issue %s; not sent",
            number,
            path,
            digest,
            expected,
        )
        raise ApiProblem(
            500,
            "stored-file-changed",
            "Stored file changed",
            f"the stored file of certificate {number} differs from the one recorded at issue (SHA-256): it is not "
            "sent; the incident is in the service log",
        )
    return path.name, data


def _download(service: Service, number: str, suffix: str) -> Response:
    name, data = _stored_file(service, number, suffix)
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(data, media_type=FILES[suffix][0], headers={"Content-Disposition": disposition})


def _file_responses(suffix: str) -> dict[int | str, dict[str, Any]]:
    media, what = FILES[suffix]
    return {
        200: {
            "description": f"{what}, as stored at issue (checked against its recorded SHA-256)",
            "content": {media: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(401, 404),
    }


@router.get(
    "/certificates/{number:path}/xml",
    response_class=Response,
    response_model=None,
    operation_id="certificates_xml",
    responses=_file_responses(".xml"),
)
def certificate_xml(number: str, _: Reader, service: ServiceDep) -> Response:
    """The stored signed DCC XML, checked against the SHA-256 recorded at issue before it is sent."""
    return _download(service, number, ".xml")


@router.get(
    "/certificates/{number:path}/pdf",
    response_class=Response,
    response_model=None,
    operation_id="certificates_pdf",
    responses=_file_responses(".pdf"),
)
def certificate_pdf(number: str, _: Reader, service: ServiceDep) -> Response:
    """The stored signed PDF/A-3 (carrying the signed DCC), checked against its recorded SHA-256 before it is
    sent."""
    return _download(service, number, ".pdf")


# --- the completeness report --------------------------------------------------------------------------------------


def _item(missing: Missing, lang: Lang) -> MissingItemPublic:
    return MissingItemPublic(
        clause=missing.clause,
        unverified=missing.clause in UNVERIFIED,
        text=_say(lang, missing.vi, missing.en),
        vi=missing.vi,
        en=missing.en,
    )


def _run(s: Session, run_id: str) -> Run:
    run = s.get(Run, resolve_run_id(s, run_id))
    if run is None:  # pragma: no cover - resolve_run_id found it
        raise NotFoundError(f"no run {run_id!r}")
    return run


def _lab_now(service: Service) -> datetime:
    return service.clock().astimezone(ZoneInfo(service.registry.timezone))


def _workflow_checks(s: Session, run: Run, signatory: str | None, now: datetime, paths: PkiPaths) -> list[Missing]:
    """The issue workflow's own refusals that ``gather`` does not make: a certificate already in force, no
    numbering pattern, no lab CA, no usable signing certificate of the signatory."""
    found: list[Missing] = []
    current = issued_for_run(s, run.id)
    if current:
        n = current[0].number
        found.append(
            Missing(
                "issued",
                f"lần đo {run.id} đã có giấy chứng nhận {n}: muốn sửa thì sửa đổi {n}",
                f"run {run.id} already has certificate {n} in force: amend it",
            )
        )
    try:
        pattern_for(s, series_of(run))
    except NotPermittedError as exc:
        found.append(Missing("7.8.2.1 d", f"không cấp được số giấy chứng nhận: {exc}", f"no certificate number: {exc}"))
    try:
        load_ca(paths)
        if signatory:
            current_certificate(s, signatory, now, paths)
    except PkiError as exc:
        found.append(Missing("signing-key", f"không có khóa ký dùng được: {exc}", f"no usable signing key: {exc}"))
    return found


@router.get(
    "/runs/{run_id}/certificate-draft",
    response_model=DraftReportPublic,
    operation_id="certificates_draft_report",
    responses=problem_responses(401, 403, 404, 409),
)
def draft_report(
    run_id: str,
    account: Checker,
    service: ServiceDep,
    request: Request,
    signatory: Annotated[
        str | None,
        Query(
            max_length=60,
            description="Username of the member of staff to check as the signatory (default: yourself if you are a "
            "signatory, else the run's reviewer).",
        ),
    ] = None,
    mark: Annotated[
        str | None, Query(max_length=60, description="The verification mark number that would be given.")
    ] = None,
) -> DraftReportPublic:
    """Whether the run's certificate can be issued now, and if not every missing item with its ISO/IEC 17025
    clause (the DCC builder's completeness checks) and the workflow's own refusals (already issued, no numbering
    pattern, no usable signing key). Nothing is written and no number is used."""
    lang = request_language(request)
    now = _lab_now(service)
    if signatory is None and account.has("signatory") and account.staff_username:
        signatory = account.staff_username
    with service.read() as s:
        run = _run(s, run_id)
        who = signatory or (run.reviewer.username if run.reviewer is not None else None)
        missing = _workflow_checks(s, run, who, now, pki_paths(service.registry))
        try:
            gather(s, run.id, number="DRAFT", issued_on=now.date(), signatory=signatory, mark=mark)
        except DccRefusedError as exc:
            missing = list(exc.missing) + missing
        kind = natural_kind(run)
        return DraftReportPublic(
            run_id=run.id,
            procedure=run.procedure.code,
            certificate_kind=kind.value if kind is not None else None,
            signatory=who,
            checked_on=now.date(),
            standard=STANDARD,
            can_issue=not missing,
            missing=[_item(m, lang) for m in missing],
        )


# --- issue, amend, revoke -----------------------------------------------------------------------------------------


def _signatory(account: Account) -> str:
    if not account.staff_username:
        raise ApiProblem(
            403, "forbidden", "Not allowed", "this login acts as no member of staff, so it cannot sign: ask an admin"
        )
    return account.staff_username


def _timestamp_url(service: Service, wanted: bool | None, lang: Lang) -> str | None:
    configured = service.registry.tsa_url or None
    if wanted is False:
        return None
    if wanted and not configured:
        raise ApiProblem(
            422,
            "validation",
            "No timestamp server",
            _say(
                lang,
                "chưa cấu hình máy chủ dấu thời gian (CALTRACE_TSA_URL): gửi timestamp=false hoặc bỏ trống",
                "no timestamp server is configured (CALTRACE_TSA_URL): send timestamp false or leave it out",
            ),
            errors=[FieldProblem(location="body", pointer="#/timestamp", loc=["timestamp"], detail="no server")],
        )
    return configured


def _open_key(service: Service, signatory: str, passphrase: str, lang: Lang) -> FileKeySigner:
    """The signatory's lab-issued key, opened with ``passphrase`` after the checks that need none. A wrong
    passphrase is a 422 that names neither the passphrase nor the key file's path."""
    paths = pki_paths(service.registry)
    now = service.clock()
    today = now.astimezone(ZoneInfo(service.registry.timezone)).date()
    try:
        load_ca(paths)
        with service.read() as s:
            return lab_signer(s, signatory, passphrase, today=today, now=now, paths=paths)
    except NotPermittedError as exc:
        raise ApiProblem(
            403, "not-authorised", "Not authorised to sign", _say(lang, f"{signatory} không được ký: {exc}", str(exc))
        ) from None
    except PkiRefusedError:
        log.warning("the signing key of %s was not opened: wrong passphrase (or a damaged key file)", signatory)
        raise ApiProblem(
            422,
            "key-refused",
            "Signing key not opened",
            _say(
                lang,
                f"không mở được khóa ký của {signatory}: sai mật khẩu khóa (hoặc tệp khóa hỏng)",
                f"the signing key of {signatory} could not be opened: wrong passphrase (or a damaged key file)",
            ),
            errors=[FieldProblem(location="body", pointer="#/passphrase", loc=["passphrase"], detail="wrong")],
        ) from None
    except PkiNotFoundError as exc:
        detail = _say(lang, f"không có khóa ký: {exc}", str(exc))
        raise ApiProblem(409, "refused", "No usable signing key", detail) from None


def _refused(exc: Exception, lang: Lang) -> ApiProblem:
    """The problem for a refusal of the workflow: the signatory's own standing (only 7.8.2.1 o items) 403, the
    records 409."""
    if isinstance(exc, DccRefusedError):
        personal = all(m.clause == "7.8.2.1 o" for m in exc.missing)
        if personal:
            return ApiProblem(403, "not-authorised", "Not authorised to sign this certificate", exc.text(lang))
        return ApiProblem(409, "incomplete", "The certificate cannot be issued", exc.text(lang))
    if isinstance(exc, WorkflowError):
        return ApiProblem(409, "refused", "Refused by the certificate workflow", exc.text(lang))
    if isinstance(exc, PkiError):  # a timestamp server that failed, a certificate gone meanwhile
        return ApiProblem(409, "refused", "Signing refused", str(exc))
    return ApiProblem(409, "refused", "Refused by the certificate workflow", str(exc))


def _make(
    service: Service, account: Account, lang: Lang, work: Any, what: str
) -> tuple[IssuedCertificate, CertificatePublic]:
    """Run ``work(session)`` (issue or amend) in one audited transaction; the stored files are removed when it
    does not commit (as the CLI). Refusals become problems."""
    issued: IssuedCertificate | None = None
    try:
        with service.write(account) as s:
            issued = work(s)
            assert issued is not None
            public = _public(s, find_certificate(s, issued.number))
    except (ValueError, PkiError) as exc:  # WorkflowError, DccRefusedError, a value the signing step refuses
        if issued is not None:
            discard(issued)
        raise _refused(exc, lang) from None
    except OSError as exc:
        if issued is not None:
            discard(issued)
        log.error("%s: the certificate store cannot be written (%s %s); nothing was issued", what, exc.filename, exc)
        raise ApiProblem(
            500,
            "store-failed",
            "Certificate store not writable",
            "the signed files cannot be stored; nothing was issued; the incident is in the service log",
        ) from None
    except BaseException:
        if issued is not None:
            discard(issued)
        raise
    return issued, public


@router.post(
    "/runs/{run_id}/certificate",
    response_model=CertificatePublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="certificates_issue",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def issue(
    run_id: str, body: IssueCreate, account: Signatory, service: ServiceDep, request: Request, response: Response
) -> CertificatePublic:
    """Issue the reviewed run's certificate, signed by you (the member of staff your login acts as) with your
    lab-issued key: the next number of its series, the DCC XML and PDF/A-3 signed, stored read-only with their
    SHA-256, audited (as ``caltrace certificate issue``). 409 lists every missing item; 403 when you may not sign it
    (not authorised for the procedure that day, or you performed the run)."""
    lang = request_language(request)
    signatory = _signatory(account)
    with service.read() as s:
        run_key = _run(s, run_id).id
    stamp = _timestamp_url(service, body.timestamp, lang)
    key = _open_key(service, signatory, body.passphrase.get_secret_value(), lang)
    paths = pki_paths(service.registry)
    store = service.registry.data_dir / "certificates"

    def work(s: Session) -> IssuedCertificate:
        return issue_certificate(
            s,
            run_key,
            signatory=signatory,
            signer=key,
            now=service.clock(),
            store=store,
            pdf=PdfA3(),
            timestamp_url=stamp,
            pki=paths,
            mark=body.mark,
        )

    issued, public = _make(service, account, lang, work, f"issue for run {run_key}")
    log.info("certificate %s issued for run %s by %s (login %s)", issued.number, run_key, signatory, account.username)
    response.headers["Location"] = _location(issued.number)
    return public


def _certificate_number(service: Service, number: str) -> str:
    with service.read() as s:
        return find_certificate(s, number).number


@router.post(
    "/certificates/{number:path}/amend",
    response_model=CertificatePublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="certificates_amend",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def amend(
    number: str, body: AmendCreate, account: Signatory, service: ServiceDep, request: Request, response: Response
) -> CertificatePublic:
    """Replace the issued certificate by a new one with a new number, built from the run's current reviewed data,
    signed by you and naming the original and the reason; the original becomes substituted (as ``caltrace
    certificate amend``). Returns the new certificate."""
    lang = request_language(request)
    signatory = _signatory(account)
    old = _certificate_number(service, number)
    stamp = _timestamp_url(service, body.timestamp, lang)
    key = _open_key(service, signatory, body.passphrase.get_secret_value(), lang)
    paths = pki_paths(service.registry)
    store = service.registry.data_dir / "certificates"

    def work(s: Session) -> IssuedCertificate:
        return amend_certificate(
            s,
            old,
            reason=body.reason,
            signatory=signatory,
            signer=key,
            now=service.clock(),
            store=store,
            pdf=PdfA3(),
            timestamp_url=stamp,
            pki=paths,
            mark=body.mark,
        )

    issued, public = _make(service, account, lang, work, f"amendment of {old}")
    log.info("certificate %s issued replacing %s by %s (login %s)", issued.number, old, signatory, account.username)
    response.headers["Location"] = _location(issued.number)
    return public


@router.post(
    "/certificates/{number:path}/revoke",
    response_model=CertificatePublic,
    operation_id="certificates_revoke",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def revoke(
    number: str, body: RevokeCreate, account: Signatory, service: ServiceDep, request: Request
) -> CertificatePublic:
    """Revoke the issued certificate for a reason (as ``caltrace certificate revoke``): you must be authorised to
    sign its procedure today. Substituted and revoked certificates are final (409)."""
    lang = request_language(request)
    signatory = _signatory(account)
    key = _certificate_number(service, number)
    try:
        with service.write(account) as s:
            cert = revoke_certificate(s, key, reason=body.reason, by=signatory, now=service.clock())
            public = _public(s, cert)
    except WorkflowError as exc:
        raise _refused(exc, lang) from None
    log.info("certificate %s revoked by %s (login %s)", key, signatory, account.username)
    return public


@router.get(
    "/certificates/{number:path}",
    response_model=CertificatePublic,
    operation_id="certificates_get",
    responses=problem_responses(401, 404),
)
def get_certificate(number: str, _: CurrentAccount, service: ServiceDep) -> CertificatePublic:
    """One certificate: status and why, what replaced it or what it replaces, the SHA-256 of its stored files."""
    with service.read() as s:
        return _public(s, find_certificate(s, number))
