"""The bilingual (Vietnamese/English) certificate PDF, PDF/A-3b, rendered from the DCC XML (caltrace issue 17 item 4).

:func:`render_pdf` reads everything it shows from the DCC (:mod:`certificates.pdf_view`), so every kind of DCC
renders, and writes it with WeasyPrint (HTML/CSS through Pango; template ``templates/certificate.html``), with:

- the certificate number and "Trang x / y — Page x of y" on every page (CSS paged-media counters);
- the results table (value, U, k, coverage probability as the DCC writes them), the stated-uncertainty notes,
  conformity statements with their decision rule, the uncertainty statement, the environmental conditions, the
  standards with their certificate numbers (traceability), the statements and the responsible persons;
- a chart of error against the measuring point with U bars and MPE lines (:mod:`certificates.pdf_chart`);
- a QR code of the verification URL (:func:`verification_url`; segno, SVG);
- PDF/A-3b (ISO 19005-3, conformance level B): WeasyPrint's ``pdf/a-3b`` variant writes the XMP identification
  (pdfaid:part 3, conformance B), the sRGB output intent, embedded fonts; an ``attachment`` (the signed DCC) is
  embedded as an associated file: in the catalog's /AF, /AFRelationship /Source, MIME type application/xml.

Fonts: DejaVu Sans from Debian's fonts-dejavu-core (every Vietnamese letter; decision 0440), used from the
package's path, never copied. :func:`embed_document` puts a PDF into the DCC as ``dcc:document``.
"""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import pydyf  # type: ignore[import-untyped]
import segno
import weasyprint  # type: ignore[import-untyped]
from lxml import etree

from certificates.pdf_chart import Chart, chart
from certificates.pdf_view import DCC, Bi, View, read_view
from certificates.verify.schema import safe_parser
from registry.settings import get_settings

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "FONT_FILES",
    "embed_document",
    "read_view",
    "render_html",
    "render_pdf",
    "verification_url",
]

#: Debian fonts-dejavu-core's DejaVu Sans (regular, bold): Latin Extended Additional holds every Vietnamese letter
FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
)
FONT_PACKAGE = "fonts-dejavu-core"
DEFAULT_PUBLIC_URL = "http://localhost:8000"
#: hex digits of the signed DCC's SHA-256 carried in the verification URL
HASH_PREFIX = 16
TEMPLATES = Path(__file__).with_name("templates")
LOCATIONS = {
    "laboratory": Bi("Tại phòng thí nghiệm", "At the laboratory"),
    "customer": Bi("Tại cơ sở của khách hàng", "At the customer's site"),
    "laboratoryBranch": Bi("Tại chi nhánh của phòng thí nghiệm", "At a branch of the laboratory"),
    "customerBranch": Bi("Tại chi nhánh của khách hàng", "At a branch of the customer"),
    "mobileLaboratory": Bi("Phòng thí nghiệm lưu động", "Mobile laboratory"),
}
DIGITAL = Bi(
    "Giấy chứng nhận này được ký số; bản XML (DCC) đã ký được đính kèm trong tệp PDF. Xác minh bằng mã QR hoặc "
    "`caltrace certificate verify`.",
    "This certificate is digitally signed; the signed XML (DCC) is attached to this PDF. Verify it with the QR code "
    "or `caltrace certificate verify`.",
)


def verification_url(number: str, signed_dcc: bytes | None = None, *, base: str | None = None) -> str:
    """``{base}/verify/{number}?h={first 16 hex digits of the SHA-256 of signed_dcc}``; without ``signed_dcc`` the
    number only (the PDF embedded in the DCC itself, decision 0440). ``base`` defaults to the setting
    CALTRACE_PUBLIC_URL."""
    if base is None:
        base = get_settings().public_url
    url = f"{base.rstrip('/')}/verify/{quote(number, safe='')}"
    if signed_dcc is not None:
        url += f"?h={hashlib.sha256(signed_dcc).hexdigest()[:HASH_PREFIX]}"
    return url


def _root(dcc: etree._ElementTree | etree._Element | bytes) -> etree._Element:
    if isinstance(dcc, bytes):
        try:
            return etree.fromstring(dcc, safe_parser())
        except etree.XMLSyntaxError as exc:
            raise ValueError(f"the DCC is not well-formed XML ({exc})") from None
    return dcc.getroot() if isinstance(dcc, etree._ElementTree) else dcc


def _css_string(text: object) -> str:
    """``text`` safe inside a double-quoted CSS string."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _qr_svg(url: str) -> str:
    qr = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    qr.save(out, kind="svg", xmldecl=False, svgns=True, scale=4, border=2, omitsize=True, nl=False)
    return out.getvalue().decode("utf-8")


def _fonts() -> tuple[Path, Path]:
    missing = [str(f) for f in FONT_FILES if not f.is_file()]
    if missing:
        raise RuntimeError(
            f"the certificate font is missing ({', '.join(missing)}): install Debian's {FONT_PACKAGE} "
            "(scripts/debian-packages.txt, `make system`)"
        )
    return FONT_FILES[0], FONT_FILES[1]


def render_html(view: View, *, verify_url: str) -> tuple[str, Chart | None]:
    """The certificate page as HTML (and its chart), from a :class:`~certificates.pdf_view.View`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["css"] = _css_string
    regular, bold = _fonts()
    drawn = chart(view.results)
    html = env.get_template("certificate.html").render(
        v=view,
        chart=drawn,
        qr_svg=_qr_svg(verify_url),
        verify_url=verify_url,
        font_regular=regular.as_uri(),
        font_bold=bold.as_uri(),
        location=LOCATIONS.get(view.location, Bi(view.location, view.location) if view.location else None),
        digital=DIGITAL,
    )
    return html, drawn


def render_pdf(
    dcc: etree._ElementTree | etree._Element | bytes,
    *,
    verify_url: str,
    attachment: bytes | None = None,
    attachment_name: str = "dcc.xml",
) -> bytes:
    """The PDF/A-3b certificate of the DCC ``dcc`` (a tree, element or XML bytes), with a QR code of
    ``verify_url``; with ``attachment`` (the signed DCC's bytes) embedded as an associated file
    (/AFRelationship /Source, application/xml) named ``attachment_name``.

    ValueError when ``dcc`` is not a DCC or has no number; RuntimeError when the font package is missing."""
    view = read_view(_root(dcc))
    html, _ = render_html(view, verify_url=verify_url)
    attachments: list[Any] = []
    if attachment is not None:
        if not attachment_name.strip() or "/" in attachment_name:
            raise ValueError(f"attachment name {attachment_name!r}: give a plain file name such as dcc.xml")
        data_url = "data:application/xml;base64," + base64.b64encode(attachment).decode("ascii")
        attachments.append(
            weasyprint.Attachment(
                url=data_url,
                name=attachment_name,
                description=f"Digital Calibration Certificate (DCC XML) {view.number}",
                relationship="Source",
            )
        )
    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES)).render()
    document.metadata.title = f"{view.title.vi} {view.number} / {view.title.en} {view.number}"
    document.metadata.authors = [view.laboratory] if view.laboratory else []
    document.metadata.created = document.metadata.modified = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document.metadata.lang = "vi"
    pdf: bytes = document.write_pdf(
        pdf_variant="pdf/a-3b", attachments=attachments, uncompressed_pdf=False, finisher=_unique_associated_files
    )
    return pdf


def _unique_associated_files(_document: Any, pdf: Any) -> None:
    """Each associated file once in the catalog's /AF (WeasyPrint 70 lists an attachment twice there: from the
    EmbeddedFiles name tree and from its file specification)."""
    af = pdf.catalog.get("AF")
    if af:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(af))


def embed_document(doc: etree._ElementTree | etree._Element, pdf: bytes) -> None:
    """Add ``pdf`` to the DCC ``doc`` as ``dcc:document`` (fileName ``<number>.pdf``, mimeType application/pdf,
    dataBase64), after ``dcc:measurementResults`` and an optional ``dcc:comment`` (DCC 3.3.0 sequence), before any
    ``ds:Signature``. ValueError when the DCC already has a document, is signed, or ``pdf`` is not a PDF.

    The PDF given should be a rendering whose QR code carries the number only (:func:`verification_url` without
    the signed bytes): the issued PDF carries the signed DCC and its hash, so it cannot itself be inside that DCC
    (decision 0440)."""
    root = doc.getroot() if isinstance(doc, etree._ElementTree) else doc
    if root.tag != f"{{{DCC}}}digitalCalibrationCertificate":
        raise ValueError(f"the root element is {root.tag}, not dcc:digitalCalibrationCertificate: not a DCC")
    if not pdf.startswith(b"%PDF-"):
        raise ValueError("the document to embed is not a PDF (it does not start with %PDF-)")
    if root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is not None:
        raise ValueError("the DCC is signed already: embed the PDF before signing (the signature covers it)")
    if root.find(f"{{{DCC}}}document") is not None:
        raise ValueError("the DCC already holds a dcc:document: embed the PDF once")
    anchor = root.find(f"{{{DCC}}}comment")
    if anchor is None:
        anchor = root.find(f"{{{DCC}}}measurementResults")
    if anchor is None:
        raise ValueError("the DCC has no dcc:measurementResults: nothing to place the document after")
    number = root.findtext(f"{{{DCC}}}administrativeData/{{{DCC}}}coreData/{{{DCC}}}uniqueIdentifier") or "dcc"
    document = etree.Element(f"{{{DCC}}}document")
    for tag, text in (
        ("fileName", _file_name(number) + ".pdf"),
        ("mimeType", "application/pdf"),
        ("dataBase64", base64.b64encode(pdf).decode("ascii")),
    ):
        etree.SubElement(document, f"{{{DCC}}}{tag}").text = text
    anchor.addnext(document)


def _file_name(number: str) -> str:
    """A certificate number as a file name (``HC/2026-1`` -> ``HC_2026-1``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in number.strip()) or "dcc"
