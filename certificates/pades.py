"""Sign a certificate PDF with a PAdES signature (pyHanko): baseline B-B, and B-T with an RFC 3161 timestamp.

The signature is an incremental update (ETSI EN 319 142-1 PAdES baseline; SubFilter ETSI.CAdES.detached, SHA-256,
ESS signing-certificate-v2 and no CMS signingTime attribute: the time is the signature dictionary's /M, and for
B-T the signature timestamp token). Which attributes each level needs is written as remembered from EN 319 142-1
and pyHanko's documentation: **unverified** against the standard's text, so no clause is cited.

The key never leaves the :class:`~certificates.signer.Signer` (a key file or a PKCS#11 token): pyHanko is given a
signer (:class:`CaltraceCmsSigner`) whose raw signing asks our Signer for one signature over the signed attributes.

PDF/A survives: the update appends objects and a new xref section after the original bytes (which stay as they
are); pyHanko updates the existing XMP packet in place (its modify date), keeping pdfaid:part and conformance;
tests/certificates/test_pdf.py checks both after signing.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_cms import Signer as PyhankoSigner
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certificates.pdf import embed_document, render_pdf
from certificates.signer import Signer
from certificates.timestamp import TimestampError
from certificates.verify.schema import safe_parser

#: the signature field pyHanko creates (an invisible signature: the page shows who signed in text)
FIELD_NAME = "caltrace-signature"
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _asn1(cert: x509.Certificate) -> Any:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


class CaltraceCmsSigner(PyhankoSigner):
    """pyHanko's Signer over a caltrace :class:`~certificates.signer.Signer` (file key or PKCS#11 token): pyHanko
    builds the CMS and asks :meth:`async_sign_raw` for the one signature, which our Signer makes."""

    def __init__(self, signer: Signer) -> None:
        self._ours = signer
        super().__init__(
            signing_cert=_asn1(signer.certificate),
            cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in signer.chain]),  # type: ignore[no-untyped-call]
            embed_roots=True,
        )

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        """Our Signer's signature of ``data`` (RSA PKCS#1 v1.5 or DER ECDSA); a zero placeholder of the largest
        size on a dry run, so a token is asked to sign once only."""
        key = self._ours.certificate.public_key()
        if dry_run:
            if isinstance(key, rsa.RSAPublicKey):
                return bytes((key.key_size + 7) // 8)
            half = (key.key_size + 7) // 8 if isinstance(key, ec.EllipticCurvePublicKey) else 66
            return bytes(2 * (half + 3) + 3)  # DER SEQUENCE of two INTEGERs, each with a sign octet
        algorithm = _HASHES.get(digest_algorithm.lower())
        if algorithm is None:
            raise ValueError(f"digest {digest_algorithm} is not supported: sha256, sha384 or sha512")
        return self._ours.sign(data, algorithm())


class PdfaIncrementalWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer, with the document information /Producer equal to the XMP pdf:Producer.

    pyHanko 0.38 writes ``pdf:Producer`` = its own name into the XMP but appends its name to the information
    dictionary's /Producer (``WeasyPrint …; pyHanko …``); PDF/A wants the two to agree (ISO 19005-3: the document
    information dictionary and the XMP metadata equivalent; **clause unverified**). Both say pyHanko's name."""

    def _update_meta(self) -> None:
        super()._update_meta()  # type: ignore[no-untyped-call]
        if self._info is not None and "/Metadata" in self.root:
            self._info.get_object()["/Producer"] = generic.TextStringObject(VENDOR)  # type: ignore[no-untyped-call]
            self.mark_update(self._info)


class _TimedSigner(PdfSigner):
    """pyHanko's PdfSigner with the signing time (/M) given rather than read from the clock."""

    def __init__(self, *args: Any, when: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._when = when

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._when.astimezone(UTC)
        return session


def _check_key(signer: Signer) -> None:
    key = signer.certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError(f"the signer's certificate has a {type(key).__name__}: only RSA or EC keys can sign a PDF")


def sign_pdf(
    pdf: bytes,
    signer: Signer,
    *,
    signing_time: datetime | None = None,
    timestamp_url: str | None = None,
    reason: str | None = None,
    location: str | None = None,
    contact: str | None = None,
) -> bytes:
    """``pdf`` with a PAdES signature by ``signer`` appended as an incremental update: B-B, or B-T when
    ``timestamp_url`` names an RFC 3161 server (its token over the signature value is embedded).

    ``signing_time`` (timezone-aware; default now) is the signature dictionary's /M. ValueError when ``pdf`` is not
    a PDF or the time is naive; :class:`~certificates.timestamp.TimestampError` when the timestamp server fails."""
    if not pdf.lstrip()[:5] == b"%PDF-":
        raise ValueError("not a PDF (it does not start with %PDF-): sign the PDF caltrace rendered")
    when = signing_time or datetime.now(UTC)
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("signing_time must carry a timezone (e.g. datetime.now(UTC))")
    _check_key(signer)
    cms_signer = CaltraceCmsSigner(signer)
    meta = PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        contact_info=contact,
        use_pades_lta=False,
        embed_validation_info=False,
    )
    timestamper = None
    if timestamp_url:
        if not timestamp_url.startswith(("http://", "https://")):
            raise TimestampError(f"timestamp server {timestamp_url!r} is not an http(s) URL")
        timestamper = HTTPTimeStamper(timestamp_url, timeout=15)

    try:
        writer = PdfaIncrementalWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError) as exc:
        raise ValueError(f"the PDF cannot be read ({exc})") from None
    out = io.BytesIO()
    try:
        _TimedSigner(meta, cms_signer, timestamper=timestamper, when=when).sign_pdf(writer, output=out)
    except SigningError as exc:
        if timestamper is not None and "timestamp" in str(exc).lower():
            raise TimestampError(f"timestamp server {timestamp_url} gave no usable token ({exc})") from None
        raise
    except OSError as exc:
        if timestamper is not None:
            raise TimestampError(f"timestamp server {timestamp_url} did not answer or gave no token ({exc})") from None
        raise
    return out.getvalue()


class PdfA3:
    """The certificate workflow's PDF maker (:class:`certificates.issue.PdfMaker`): the rendering embedded in the
    DCC carries a QR code of the number only; the issued PDF/A-3 carries the signed DCC as its associated file and
    a QR code of the number and the signed DCC's hash prefix, and is signed PAdES by the same signatory (decision
    0440). Rendering: :func:`certificates.pdf.render_pdf`."""

    def embed(self, dcc: etree._Element, *, verify_url: str) -> None:
        """Render ``dcc`` (unsigned) and embed it as ``dcc:document``."""
        embed_document(dcc, render_pdf(dcc, verify_url=verify_url))

    def signed_pdf(
        self,
        signed_dcc: bytes,
        *,
        verify_url: str,
        signer: Signer,
        signing_time: datetime,
        timestamp_url: str | None,
    ) -> bytes:
        """The PDF/A-3 of ``signed_dcc`` with it attached, PAdES-signed by ``signer`` at ``signing_time``."""
        number = etree.fromstring(signed_dcc, safe_parser()).findtext(
            "{https://ptb.de/dcc}administrativeData/{https://ptb.de/dcc}coreData/{https://ptb.de/dcc}uniqueIdentifier"
        )
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in (number or "dcc")) + ".xml"
        pdf = render_pdf(signed_dcc, verify_url=verify_url, attachment=signed_dcc, attachment_name=name)
        return sign_pdf(pdf, signer, signing_time=signing_time, timestamp_url=timestamp_url)
