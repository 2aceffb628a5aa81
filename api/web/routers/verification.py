"""Public verification (no login, rate limited per client address; decision 0510):

- ``GET /certificates/{number}/verification``: a certificate's status and what it states to identify it, with
  ``?h=`` (the hash prefix of the QR code's link) checked against the stored XML's SHA-256;
- ``POST /verify``: the verifier's step-by-step report of an uploaded DCC XML or certificate PDF.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.web.deps import ServiceDep
from api.web.errors import problem_responses
from api.web.ratelimit import RateLimited
from api.web.schemas.verification import VerificationPublic, VerifyReportPublic
from api.web.uploads import Upload, upload_dependency
from api.web.verification import status_of, verify_upload

router = APIRouter(tags=["verification"], dependencies=[RateLimited])

#: the files a verification upload may be
VERIFY_SUFFIXES = (".xml", ".pdf")
#: the hash prefix of a verification link
HashPrefix = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9a-fA-F]{8,64}$",
        description="The hash prefix of the verification link (hex, 8 to 64 digits; the QR code carries 16): "
        "the answer says whether it begins the SHA-256 of the signed DCC XML as issued.",
    ),
]


@router.get(
    "/certificates/{number:path}/verification",
    response_model=VerificationPublic,
    operation_id="verification_get",
    responses=problem_responses(404, 429),
)
def get_verification(number: str, service: ServiceDep, h: HashPrefix = None) -> VerificationPublic:
    """The status of certificate ``number`` (valid, substituted with the replacing number, or revoked, with the
    reason), its date of issue and kind, the SHA-256 of the signed XML and PDF as issued, the signer, the customer
    and the subject as the certificate states them. No login needed."""
    with service.read() as s:
        return status_of(s, service, number, h)


@router.post(
    "/verify",
    response_model=VerifyReportPublic,
    operation_id="verification_verify_file",
    responses=problem_responses(413, 415, 422, 429),
)
def verify_file(
    service: ServiceDep, upload: Annotated[Upload, upload_dependency(VERIFY_SUFFIXES)]
) -> VerifyReportPublic:
    """Verify an uploaded DCC XML or certificate PDF (multipart field ``file``) step by step, as ``caltrace
    certificate verify``: the file's own steps against the lab CA, then the register's (status, stored hash,
    signatory's authorisation). Each step in Vietnamese and English, and the verdict. No login needed."""
    with service.read() as s:
        return verify_upload(s, service, upload)
