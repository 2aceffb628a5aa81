"""Models of the certificate workflow: issued certificates, the completeness report of a run's certificate, and the
requests that issue, amend and revoke (decision 0450; ``certificates.issue``).

The signing key's passphrase is a :class:`~pydantic.SecretStr`: it is never echoed in a response, a validation
error or a log line, and it is used once to open the key, never stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, SecretStr

from api.web.schemas.common import CreateModel, PublicModel

#: a certificate's life (``registry.models.CertificateStatus``)
Status = Literal["draft", "issued", "amended", "substituted", "revoked"]


class SubjectPublic(PublicModel):
    """What the certificate is about: one customer's instrument, or one prepackage lot."""

    type: Literal["instrument", "lot"]
    id: int
    description: str = Field(description="Kind, manufacturer, model and serial number; or product and lot number.")
    customer_id: int
    customer: str = Field(description="The customer's (for a lot: the packer's) name.")


class CertificatePublic(PublicModel):
    """An issued certificate as the registry records it (times UTC; ``valid_until`` a date of the lab)."""

    number: str
    kind: str = Field(description="calibration, verification or test (the run's procedure kind).")
    status: Status
    run_id: str
    procedure: str = Field(description="Code of the run's procedure.")
    subject: SubjectPublic
    signer: str | None = Field(description="Username of the signatory.")
    issued_at: datetime | None
    valid_until: date | None = Field(description="Last valid day of a verification certificate, if it states one.")
    xml_sha256: str | None = Field(description="SHA-256 (hex) of the stored signed DCC XML.")
    pdf_sha256: str | None = Field(description="SHA-256 (hex) of the stored signed PDF/A-3, if one was made.")
    replaced_by: str | None = Field(description="Number of the certificate that substituted this one.")
    replaces: list[str] = Field(description="Numbers of the certificates this one substituted.")
    reason: str = Field(description="Why it was substituted or revoked (empty while in force).")


class MissingItemPublic(PublicModel):
    """One thing that keeps the certificate from being issued now, with the clause that asks for it."""

    clause: str = Field(
        description="ISO/IEC 17025:2017 clause (e.g. '7.8.2.1 e'), or the workflow's own check: review, kind, "
        "mark, interval, run, issued, signing-key."
    )
    unverified: bool = Field(description="The clause letter could not be checked against the standard's own text.")
    text: str = Field(description="What is missing and what to do, in the request's language.")
    vi: str
    en: str


class DraftReportPublic(PublicModel):
    """Whether a certificate can be issued for the run now by ``signatory``, and if not every reason."""

    run_id: str
    procedure: str
    certificate_kind: str | None = Field(
        description="The certificate the run gives: calibration, verification, nonConformity or lotCheck; null when "
        "none fits."
    )
    signatory: str | None = Field(description="The member of staff checked as the signatory.")
    checked_on: date = Field(description="The lab's day the checks were made for (authorisations, issue date).")
    standard: str = Field(description="The edition the clauses refer to.")
    can_issue: bool
    missing: list[MissingItemPublic]


class IssueCreate(CreateModel):
    """Issue the run's certificate, signed by the logged-in signatory with their lab-issued key file."""

    passphrase: SecretStr = Field(
        min_length=1, max_length=1024, description="Passphrase of your lab-issued signing key; never stored or shown."
    )
    mark: str | None = Field(
        default=None,
        max_length=60,
        description="Verification mark (stamp) number: needed for a passed verification, refused on other kinds.",
    )
    timestamp: bool | None = Field(
        default=None,
        description="Add an RFC 3161 signature timestamp from the installation's server (CALTRACE_TSA_URL): true "
        "requires it, false leaves it out, null (default) uses it when it is configured.",
    )


class AmendCreate(IssueCreate):
    """Replace an issued certificate by a new one (new number) naming it; the original becomes substituted."""

    reason: str = Field(min_length=1, max_length=1000, description="Why it is replaced (stated in the new one).")
    mark: str | None = Field(
        default=None, max_length=60, description="A new verification mark number (default: the original's)."
    )


class RevokeCreate(CreateModel):
    """Revoke an issued certificate."""

    reason: str = Field(min_length=1, max_length=1000, description="Why it is revoked (kept in the registry).")
