"""Verify a certificate PDF (PAdES-signed PDF/A-3 carrying the DCC), step by step, in the report style of the XML
steps (:mod:`certificates.verify`).

Steps, in order:

1. ``pdf-signature`` — every PDF signature (pyHanko's validator: ``validate_pdf_signature``) is intact (the digest
   of the signed byte ranges matches) and its value verifies; the last one covers the **whole file** (a byte
   changed, or anything appended after signing, fails); an earlier signature may only be followed by later
   signatures and validation data (pyHanko's modification level).
2. ``pdf-chain`` — the signer chains to a ``--trust`` anchor (pyHanko's certificate validation with those anchors
   only, no fetching; revocation not checked: no revocation data is embedded).
3. ``pdf-timestamp`` — a signature timestamp (PAdES B-T) that verifies and chains to an anchor proves the signing
   time; without one the time is the signer's claim (/M), which needs no proof while the chain is valid now.
4. ``pdfa`` — the PDF/A identification in the XMP (pdfaid:part, pdfaid:conformance) and a PDF/A output intent.
5. ``pdf-dcc`` — exactly one embedded file is a DCC (XML with root dcc:digitalCalibrationCertificate); its
   /AFRelationship is reported. None, or more than one, fails.
6. ``pdf-binding`` — the page's verification link (the QR code's URL, also a link annotation) names the attached
   DCC's number and the first 16 hex digits of its SHA-256 (decision 0440): a DCC swapped for another, even one
   re-signed by a trusted signer, fails here.
7. the attached DCC's own steps (:func:`certificates.verify.verify_bytes`), each named ``dcc/<step>``.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis.policy_api import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from certificates.verify.report import Report
from certificates.verify.schema import safe_parser

DCC_ROOT = "{https://ptb.de/dcc}digitalCalibrationCertificate"
#: hex digits of the DCC's SHA-256 in the verification URL (certificates.pdf.HASH_PREFIX)
HASH_PREFIX = 16


@dataclass
class Attached:
    """An embedded file: its name, bytes, MIME subtype and /AFRelationship."""

    name: str
    data: bytes
    mime: str
    relationship: str
    associated: bool  # listed in the catalog's /AF


def _text(obj: Any) -> str:
    return str(obj) if obj is not None else ""


def embedded_files(reader: Any) -> list[Attached]:
    """Every embedded file of the document (the catalog's /Names /EmbeddedFiles and /AF), each once."""
    root = reader.root
    specs: list[Any] = []
    try:
        names = root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        names = None
    if names is not None:
        stack = [names]
        while stack:
            node = stack.pop().get_object()
            if "/Names" in node:
                arr = node["/Names"]
                specs += [arr[i + 1] for i in range(0, len(arr), 2)]
            if "/Kids" in node:
                stack += list(node["/Kids"])
    associated_ids: set[int] = set()
    if "/AF" in root:
        for ref in root["/AF"]:
            obj = ref.get_object()
            associated_ids.add(id(obj))
            specs.append(ref)
    out: list[Attached] = []
    seen: set[int] = set()
    for ref in specs:
        spec = ref.get_object()
        if id(spec) in seen:
            continue
        seen.add(id(spec))
        try:
            stream = spec["/EF"]["/F"].get_object()
            data = stream.data
        except (KeyError, AttributeError):
            continue
        name = _text(spec.get("/UF") or spec.get("/F"))
        mime = _text(stream.get("/Subtype")).lstrip("/").replace("#2F", "/").replace("#2f", "/")
        out.append(Attached(name, bytes(data), mime, _text(spec.get("/AFRelationship")).lstrip("/"), id(spec) in
                            associated_ids))  # fmt: skip
    return out


def _is_dcc(data: bytes) -> bool:
    try:
        return etree.fromstring(data, safe_parser()).tag == DCC_ROOT
    except etree.XMLSyntaxError:
        return False


def _dcc_number(data: bytes) -> str:
    root = etree.fromstring(data, safe_parser())
    return root.findtext("{*}administrativeData/{*}coreData/{*}uniqueIdentifier") or ""


def page_links(reader: Any) -> list[str]:
    """The URIs of the link annotations on every page."""
    uris: list[str] = []
    pages = [reader.root["/Pages"]]
    while pages:
        node = pages.pop(0).get_object()
        if "/Kids" in node:
            pages = list(node["/Kids"]) + pages
            continue
        for annot in node.get("/Annots", []) or []:
            a = annot.get_object()
            action = a.get("/A")
            if action is not None and "/URI" in action.get_object():
                uris.append(_text(action.get_object()["/URI"]))
    return uris


def _xmp(reader: Any) -> bytes:
    try:
        return bytes(reader.root["/Metadata"].get_object().data)
    except (KeyError, AttributeError):
        return b""


def _pdfa_step(report: Report, reader: Any) -> None:
    xmp = _xmp(reader)
    part = re.search(rb'pdfaid:part(?:="|>)\s*(\d)', xmp)
    conformance = re.search(rb'pdfaid:conformance(?:="|>)\s*([ABUabu])', xmp)
    intents = [i.get_object() for i in reader.root.get("/OutputIntents", []) or []]
    pdfa_intent = [i for i in intents if _text(i.get("/S")) == "/GTS_PDFA1" and "/DestOutputProfile" in i]
    if part and conformance and pdfa_intent:
        p, c = part.group(1).decode(), conformance.group(1).decode().upper()
        cond = _text(pdfa_intent[0].get("/OutputConditionIdentifier"))
        report.add(
            "pdfa",
            "pass",
            f"Tệp khai báo PDF/A-{p}{c.lower()} (XMP pdfaid) và có output intent PDF/A ({cond}). Chưa kiểm tra "
            "đầy đủ sự phù hợp PDF/A (cần công cụ như veraPDF).",
            f"the file declares PDF/A-{p}{c.lower()} (XMP pdfaid) and has a PDF/A output intent ({cond}). Full "
            "PDF/A conformance is not checked (that needs a validator such as veraPDF).",
        )
        return
    missing = [w for w, ok in (("pdfaid:part", part), ("pdfaid:conformance", conformance),
                                ("PDF/A output intent", pdfa_intent)) if not ok]  # fmt: skip
    which = ", ".join(missing)
    report.add(
        "pdfa", "warn", f"Không có nhận dạng PDF/A: thiếu {which}.", f"no PDF/A identification: {which} missing."
    )


def _validation_context(trust: Sequence[x509.Certificate], now: datetime) -> Any:
    roots = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in trust]
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=now)


def _subject(status: Any) -> str:
    try:
        return str(status.signing_cert.subject.human_friendly)
    except AttributeError:
        return "?"


def _signature_steps(report: Report, reader: Any, trust: Sequence[x509.Certificate], now: datetime) -> None:
    sigs = list(reader.embedded_signatures)
    if not sigs:
        report.add("pdf-signature", "fail", "Tệp PDF không có chữ ký số.", "the PDF carries no signature.")
        for name in ("pdf-chain", "pdf-timestamp"):
            report.add(name, "skip", "Không có chữ ký.", "no signature.")
        return
    context = _validation_context(trust, now)
    statuses: list[Any] = []
    problems_en: list[str] = []
    problems_vi: list[str] = []
    for i, sig in enumerate(sigs):
        last = i == len(sigs) - 1
        try:
            status = validate_pdf_signature(sig, context, context)
        except Exception as exc:  # pyHanko raises many kinds on a broken signature: each is a failure here
            problems_en.append(f"signature {sig.field_name}: cannot be validated ({type(exc).__name__}: {exc})")
            problems_vi.append(f"chữ ký {sig.field_name}: không kiểm tra được ({type(exc).__name__}: {exc})")
            continue
        statuses.append(status)
        if not status.intact:
            problems_en.append(f"signature {sig.field_name}: the signed bytes were changed (digest does not match)")
            problems_vi.append(f"chữ ký {sig.field_name}: nội dung đã ký bị thay đổi (giá trị băm không khớp)")
        elif not status.valid:
            problems_en.append(f"signature {sig.field_name}: the signature value does not verify")
            problems_vi.append(f"chữ ký {sig.field_name}: giá trị chữ ký không xác minh được")
        if last and status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            problems_en.append(f"signature {sig.field_name} does not cover the whole file: something was appended or "
                               "changed after signing")  # fmt: skip
            problems_vi.append(f"chữ ký {sig.field_name} không bao trùm toàn bộ tệp: có nội dung được thêm hoặc sửa "
                               "sau khi ký")  # fmt: skip
        level = status.modification_level
        allowed = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING)
        if not last and level not in allowed:
            problems_en.append(f"signature {sig.field_name}: the document was modified after it ({level})")
            problems_vi.append(f"chữ ký {sig.field_name}: tài liệu bị sửa đổi sau khi ký ({level})")
    if problems_en:
        report.add("pdf-signature", "fail", "; ".join(problems_vi), "; ".join(problems_en))
        for name in ("pdf-chain", "pdf-timestamp"):
            report.add(name, "skip", "Không kiểm tra vì chữ ký không hợp lệ.", "not checked: the signature is invalid.")
        return
    who = ", ".join(_subject(s) for s in statuses)
    n = len(statuses)
    report.add(
        "pdf-signature",
        "pass",
        f"{n} chữ ký PDF hợp lệ, chữ ký cuối bao trùm toàn bộ tệp; người ký: {who}.",
        f"{n} PDF signature(s) valid, the last covering the whole file; signed by {who}.",
    )
    _chain_and_time(report, statuses, trust)


def _chain_and_time(report: Report, statuses: list[Any], trust: Sequence[x509.Certificate]) -> None:
    if not trust:
        report.add("pdf-chain", "fail", "Chưa cho chứng thư gốc tin cậy (--trust).", "no trust anchor given (--trust).")
    else:
        untrusted = [s for s in statuses if not s.trusted]
        if untrusted:
            which = ", ".join(f"{_subject(s)} ({s.trust_problem_indic})" for s in untrusted)
            report.add(
                "pdf-chain",
                "fail",
                f"Người ký không dẫn đến chứng thư gốc tin cậy hoặc chuỗi không hiệu lực: {which}.",
                f"the signer does not chain to a trust anchor given, or the chain is not valid: {which}.",
            )
        else:
            report.add(
                "pdf-chain",
                "pass",
                "Chuỗi chứng thư của người ký dẫn đến chứng thư gốc tin cậy và còn hiệu lực.",
                "the signer's chain leads to a trust anchor given and is valid.",
            )
    status = statuses[-1]
    claimed = status.signer_reported_dt
    t = f"{claimed:%Y-%m-%dT%H:%M:%SZ}" if claimed else "?"
    ts = status.timestamp_validity
    if ts is None:
        chain_ok = bool(trust) and all(s.trusted for s in statuses)
        report.add(
            "pdf-timestamp",
            "pass" if chain_ok else "warn",
            f"Không có dấu thời gian (PAdES B-B); người ký khai thời điểm {t}."
            + (" Không cần chứng minh thời điểm vì chuỗi chứng thư còn hiệu lực hiện nay." if chain_ok else ""),
            f"no signature timestamp (PAdES B-B); the signer claims {t}."
            + (" No proof of the time is needed: the chain is valid now." if chain_ok else ""),
        )
        return
    if ts.intact and ts.valid and ts.trusted:
        report.add(
            "pdf-timestamp",
            "pass",
            f"Dấu thời gian hợp lệ và tin cậy chứng minh chữ ký có trước {ts.timestamp:%Y-%m-%dT%H:%M:%SZ} "
            "(PAdES B-T).",
            f"a valid, trusted signature timestamp proves the signature existed at {ts.timestamp:%Y-%m-%dT%H:%M:%SZ} "
            "(PAdES B-T).",
        )
    elif ts.intact and ts.valid:
        report.add(
            "pdf-timestamp",
            "warn",
            "Dấu thời gian hợp lệ nhưng đơn vị cấp dấu thời gian không dẫn đến gốc tin cậy nào.",
            "the signature timestamp verifies but its timestamp authority does not chain to a trust anchor given.",
        )
    else:
        report.add(
            "pdf-timestamp",
            "fail",
            "Dấu thời gian không khớp với chữ ký hoặc chữ ký của nó không hợp lệ.",
            "the signature timestamp does not match the signature or its own signature is invalid.",
        )


def _binding_step(report: Report, reader: Any, dcc: bytes) -> None:
    number = _dcc_number(dcc)
    digest = hashlib.sha256(dcc).hexdigest()[:HASH_PREFIX]
    links = [u for u in page_links(reader) if "/verify/" in urlsplit(u).path]
    if not links:
        report.add(
            "pdf-binding",
            "warn",
            "Trang không có liên kết xác minh (mã QR của caltrace): không đối chiếu được DCC đính kèm với trang.",
            "the pages carry no verification link (caltrace's QR code): the attached DCC cannot be tied to them.",
        )
        return
    for url in links:
        parts = urlsplit(url)
        shown_number = unquote(parts.path.rsplit("/verify/", 1)[1])
        shown_hash = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("h", "")
        if shown_number == number and shown_hash == digest:
            report.add(
                "pdf-binding",
                "pass",
                f"Liên kết xác minh trên trang nêu đúng số {number} và giá trị băm {digest} của DCC đính kèm.",
                f"the page's verification link names the attached DCC's number {number} and hash {digest}.",
            )
            return
    report.add(
        "pdf-binding",
        "fail",
        f"DCC đính kèm (số {number}, băm {digest}) không phải giấy chứng nhận mà trang nêu ({links[0]}): "
        "DCC đã bị thay thế.",
        f"the attached DCC (number {number}, hash {digest}) is not the certificate the page names ({links[0]}): "
        "the DCC was swapped.",
    )


def verify_pdf(
    data: bytes,
    report: Report,
    trust: Sequence[x509.Certificate],
    now: datetime,
    verify_xml: Callable[[bytes, str], Report],
) -> Report:
    """Add the PDF steps to ``report``; ``verify_xml(bytes, name)`` verifies the attached DCC."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        reader.root  # noqa: B018  (parses the catalog: a broken file fails here)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        report.add("pdf-signature", "fail", f"Không đọc được tệp PDF: {exc}", f"the PDF cannot be read: {exc}")
        return report
    _signature_steps(report, reader, trust, now)
    _pdfa_step(report, reader)
    files = embedded_files(reader)
    dccs = [f for f in files if _is_dcc(f.data)]
    if len(dccs) != 1:
        names = ", ".join(f.name for f in dccs) or "-"
        vi = "Tệp PDF không kèm DCC nào." if not dccs else f"Tệp PDF kèm {len(dccs)} DCC ({names}): phải đúng một."
        en = (
            "the PDF carries no DCC."
            if not dccs
            else f"the PDF carries {len(dccs)} DCCs ({names}): exactly one wanted."
        )
        report.add("pdf-dcc", "fail", vi, en)
        return report
    dcc = dccs[0]
    rel = dcc.relationship or "-"
    if not dcc.associated or rel not in ("Source", "Data", "Alternative", "Supplement"):
        report.add(
            "pdf-dcc",
            "warn",
            f"DCC đính kèm {dcc.name} không phải tệp liên kết của tài liệu (/AF, AFRelationship {rel}).",
            f"the attached DCC {dcc.name} is not an associated file of the document (/AF, AFRelationship {rel}).",
        )
    else:
        report.add(
            "pdf-dcc",
            "pass",
            f"Đúng một DCC đính kèm: {dcc.name} ({dcc.mime}, AFRelationship {rel}, {len(dcc.data)} byte).",
            f"exactly one attached DCC: {dcc.name} ({dcc.mime}, AFRelationship {rel}, {len(dcc.data)} bytes).",
        )
    _binding_step(report, reader, dcc.data)
    inner = verify_xml(dcc.data, f"{report.path}#{dcc.name}")
    for step in inner.steps:
        report.add(f"dcc/{step.name}", step.outcome, step.vi, step.en)
    return report
