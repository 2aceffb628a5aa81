"""Models of the public verification (decision 0510): what a certificate states about itself and its status, and
the verifier's step-by-step report of an uploaded file. Nothing internal (record ids, run data) is in them."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from api.web.schemas.common import PublicModel


class SubjectPublic(PublicModel):
    """The certificate's subject as the certificate states it: an instrument or a prepackage lot."""

    type: Literal["instrument", "lot"] = Field(description="What was calibrated, verified or checked.")
    name: str = Field(description="The instrument's kind as named on the certificate, or the lot's product.")
    manufacturer: str = Field(default="", description="The instrument's manufacturer (empty for a lot).")
    model: str = Field(default="", description="The instrument's model (empty for a lot).")
    serial_number: str = Field(default="", description="The instrument's serial number (empty for a lot).")
    brand: str = Field(default="", description="The lot's brand (empty for an instrument).")
    lot_number: str = Field(default="", description="The lot's number (empty for an instrument).")
    nominal_quantity: str = Field(default="", description="The lot's nominal quantity with its unit, e.g. '500 g'.")


class VerificationPublic(PublicModel):
    """The public status of one certificate, and what it states about itself."""

    number: str = Field(description="The certificate number.")
    status: Literal["valid", "substituted", "revoked"] = Field(
        description="valid (issued and in force), substituted (replaced by a newer certificate) or revoked."
    )
    reason: str = Field(description="Why it was substituted or revoked (empty when valid).")
    replaced_by: str | None = Field(description="The number of the certificate that replaces it (substituted only).")
    kind: Literal["calibration", "verification", "test"] = Field(
        description="calibration, verification (kiểm định), or test (a prepackage lot check)."
    )
    issued_on: date | None = Field(description="The date of issue (the laboratory's calendar day).")
    xml_sha256: str = Field(description="SHA-256 (hex) of the signed DCC XML as issued.")
    pdf_sha256: str | None = Field(description="SHA-256 (hex) of the signed PDF as issued, when one was issued.")
    signer: str = Field(description="The name of the person who signed it.")
    customer: str = Field(description="The customer's name as the certificate states it.")
    subject: SubjectPublic
    hash_given: str | None = Field(description="The hash prefix given in the link (?h=), lower case; null if none.")
    hash_matches: bool | None = Field(
        description="Whether the given prefix begins the SHA-256 of the signed DCC XML as issued; null if none given."
    )


class StepPublic(PublicModel):
    """One verification step, titled and detailed in Vietnamese and English."""

    step: str = Field(description="The step's name, e.g. signature, stored-hash, dcc/registry-status.")
    outcome: Literal["pass", "fail", "warn", "skip"]
    title_vi: str
    title_en: str
    detail_vi: str
    detail_en: str


class VerifyReportPublic(PublicModel):
    """The verifier's report of an uploaded DCC XML or certificate PDF (as ``caltrace certificate verify``)."""

    file: str = Field(description="The uploaded file's name.")
    verdict: Literal["verified", "failed", "not-confirmed"] = Field(
        description="verified: every step passed or did not apply; failed: a step failed; not-confirmed: none "
        "failed but one could not confirm what it checks."
    )
    steps: list[StepPublic]
