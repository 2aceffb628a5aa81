"""The public verification pages (server-rendered Jinja2, no JavaScript; decision 0510), Vietnamese by default,
``?lang=en`` for English:

- ``GET /verify/{number}?h=...``: what the QR code of a certificate opens: its status (green valid, amber
  substituted by ..., red revoked) and identity in plain words, a clear warning when the link's hash does not match
  the certificate as issued, and a form to check a file;
- ``POST /verify``: the form's upload, answered with the verifier's report as a page;
- ``GET /verify?number=...``: the form to look a number up.

Mounted at the root (not under ``/api/v1``), outside the OpenAPI document; rate limited as the API's public routes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.web.deps import ServiceDep
from api.web.errors import ApiProblem
from api.web.ratelimit import RateLimited
from api.web.routers.verification import VERIFY_SUFFIXES
from api.web.uploads import bounded_upload
from api.web.verification import status_of, verify_upload
from registry.errors import NotFoundError

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
LANGUAGES = ("vi", "en")

router = APIRouter(include_in_schema=False, dependencies=[RateLimited])

#: the pages' words: key -> (Vietnamese, English)
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Xác minh giấy chứng nhận", "Certificate verification"),
    "other_language": ("English", "Tiếng Việt"),
    "valid": ("Giấy chứng nhận hợp lệ: đã ban hành và đang có hiệu lực.", "Valid: issued and in force."),
    "substituted": ("Giấy chứng nhận này đã bị thay thế bởi", "This certificate was substituted by"),
    "revoked": ("Giấy chứng nhận này đã thu hồi.", "This certificate was revoked."),
    "reason": ("Lý do", "Reason"),
    "hash_ok": (
        "Mã băm trong đường dẫn khớp với tệp XML đã ban hành.",
        "The hash in the link matches the XML file as issued.",
    ),
    "hash_bad": (
        "Mã băm trong đường dẫn KHÔNG khớp với tệp XML đã ban hành: bản bạn đang xem có thể không phải bản đã cấp. "
        "Hãy tải tệp lên bên dưới để kiểm tra.",
        "The hash in the link does NOT match the XML file as issued: the copy you hold may not be the one issued. "
        "Upload the file below to check it.",
    ),
    "number": ("Số giấy chứng nhận", "Certificate number"),
    "kind": ("Loại", "Kind"),
    "issued_on": ("Ngày ban hành", "Date of issue"),
    "signer": ("Người ký", "Signed by"),
    "customer": ("Khách hàng", "Customer"),
    "subject": ("Đối tượng", "Subject"),
    "manufacturer": ("Hãng sản xuất", "Manufacturer"),
    "model": ("Kiểu", "Model"),
    "serial_number": ("Số sản xuất", "Serial number"),
    "brand": ("Nhãn hiệu", "Brand"),
    "lot_number": ("Số lô", "Lot number"),
    "nominal_quantity": ("Lượng danh định", "Nominal quantity"),
    "xml_sha256": ("SHA-256 của tệp XML", "SHA-256 of the XML file"),
    "pdf_sha256": ("SHA-256 của tệp PDF", "SHA-256 of the PDF file"),
    "kind_calibration": ("Giấy chứng nhận hiệu chuẩn", "Calibration certificate"),
    "kind_verification": ("Giấy chứng nhận kiểm định", "Verification certificate"),
    "kind_test": ("Kết quả kiểm tra lô hàng đóng gói sẵn", "Prepackage lot check"),
    "check_file": ("Kiểm tra một tệp", "Check a file"),
    "check_file_help": (
        "Tải lên tệp XML (DCC) hoặc PDF của giấy chứng nhận để kiểm tra chữ ký số và đối chiếu với sổ đăng ký.",
        "Upload the certificate's XML (DCC) or PDF file to check its digital signature against the register.",
    ),
    "file": ("Tệp", "File"),
    "check": ("Kiểm tra", "Check"),
    "look_up": ("Tra cứu", "Look up"),
    "not_found": ("Không tìm thấy giấy chứng nhận", "Certificate not found"),
    "not_found_detail": (
        "Phòng thí nghiệm không ban hành giấy chứng nhận nào mang số này. Hãy kiểm tra lại số.",
        "The laboratory issued no certificate with this number. Check the number.",
    ),
    "report": ("Kết quả kiểm tra tệp", "File check"),
    "verdict_verified": ("Đã xác minh: mọi bước đều đạt.", "Verified: every step passed."),
    "verdict_failed": ("KHÔNG HỢP LỆ: có bước không đạt.", "NOT VALID: a step failed."),
    "verdict_not-confirmed": (
        "Chưa xác minh đầy đủ: xem các bước chưa xác nhận.",
        "Not fully verified: see the steps not confirmed.",
    ),
    "step": ("Bước", "Step"),
    "outcome": ("Kết quả", "Outcome"),
    "detail": ("Chi tiết", "Detail"),
    "bad_file": ("Không kiểm tra được tệp", "The file cannot be checked"),
    "another": ("Kiểm tra tệp khác", "Check another file"),
}
OUTCOMES: dict[str, tuple[str, str]] = {
    "pass": ("đạt", "pass"),
    "fail": ("không đạt", "fail"),
    "warn": ("chưa xác nhận", "not confirmed"),
    "skip": ("bỏ qua", "skipped"),
}


def _language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else "vi"


def _words(language: str) -> dict[str, str]:
    index = LANGUAGES.index(language)
    return {key: pair[index] for key, pair in WORDS.items()}


def _page(request: Request, template: str, language: str, status: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"lang": language, "t": _words(language), "quote": quote, **context},
        status_code=status,
        headers={"Cache-Control": "no-store"},  # a status may change (revoked): never served stale from a cache
    )


def _switch(number: str | None, language: str, h: str | None = None) -> str:
    """The link of this page in the other language."""
    query = {"lang": "en" if language == "vi" else "vi"}
    if h is not None:
        query["h"] = h
    path = f"/verify/{quote(number, safe='')}" if number else "/verify"
    return f"{path}?{urlencode(query)}"


Lang = Annotated[str | None, Query(description="vi (default) or en.")]


@router.get("/verify", response_class=HTMLResponse)
def lookup_page(request: Request, number: Annotated[str | None, Query()] = None, lang: Lang = None) -> Response:
    """The form to look up a number (and check a file); with ``?number=`` it goes to that certificate's page."""
    language = _language(lang)
    if number and number.strip():
        target = f"/verify/{quote(number.strip(), safe='')}" + ("?lang=en" if language == "en" else "")
        return RedirectResponse(target, status_code=303)
    return _page(request, "verify_lookup.html", language, switch=_switch(None, language))


@router.get("/verify/{number:path}", response_class=HTMLResponse)
def certificate_page(
    request: Request, number: str, service: ServiceDep, h: Annotated[str | None, Query()] = None, lang: Lang = None
) -> HTMLResponse:
    """A certificate's verification page."""
    language = _language(lang)
    switch = _switch(number, language, h)
    try:
        with service.read() as s:
            found = status_of(s, service, number, h)
    except NotFoundError:
        return _page(request, "verify_not_found.html", language, 404, number=number.strip(), switch=switch)
    return _page(request, "verify_certificate.html", language, c=found, switch=switch)


@router.post("/verify", response_class=HTMLResponse)
async def check_file_page(
    request: Request,
    service: ServiceDep,
    file: Annotated[UploadFile, File()],
    lang: Annotated[str, Form()] = "vi",
) -> HTMLResponse:
    """The form's upload checked by the verifier, answered as a page (a bad file: the problem, as a page)."""
    language = _language(lang)
    switch = f"/verify?lang={'en' if language == 'vi' else 'vi'}"
    try:
        upload = await bounded_upload(VERIFY_SUFFIXES)(file, service)
    except ApiProblem as problem:
        return _page(request, "verify_bad_file.html", language, problem.status, detail=problem.detail, switch=switch)
    from starlette.concurrency import run_in_threadpool  # noqa: PLC0415

    def check() -> Any:
        with service.read() as s:
            return verify_upload(s, service, upload)

    report = await run_in_threadpool(check)
    words = {k: v[LANGUAGES.index(language)] for k, v in OUTCOMES.items()}
    return _page(request, "verify_report.html", language, report=report, outcome_words=words, switch=switch)
