"""What the technicians' web UI pages share (decision 0530): language, login, roles, CSRF, rendering, notices.

The pages are server-rendered Jinja2 (``templates/ui/``), mounted at the root outside the OpenAPI document, in
Vietnamese by default and in English after ``?lang=en`` (remembered in the ``caltrace_lang`` cookie). They use the
same session cookie as the API's ``/auth/login``; a page without a session redirects to ``/login?next=...``, a form
post carries the session's CSRF token in the ``csrf_token`` field (every form of ``layout.html`` gets it as
``csrf``), and a role the account lacks gets a 403 page, not a problem document. The only scripts are the service's
own files under ``/static`` (the Content-Security-Policy allows nothing else: no inline script or style).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.web.accounts import Account
from api.web.deps import csrf_ok, optional_account

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
LANGUAGES = ("vi", "en")
LANG_COOKIE = "caltrace_lang"

#: words of the layout and of every page: key -> (Vietnamese, English); a page adds its own (``render(words=)``)
COMMON: dict[str, tuple[str, str]] = {
    "app": ("caltrace", "caltrace"),
    "other_language": ("English", "Tiếng Việt"),
    "nav_dashboard": ("Tổng quan", "Dashboard"),
    "nav_runs": ("Phép đo", "Runs"),
    "nav_certificates": ("Giấy chứng nhận", "Certificates"),
    "nav_registry": ("Sổ đăng ký", "Registry"),
    "nav_uncertainty": ("Độ không đảm bảo đo", "Uncertainty"),
    "nav_verify": ("Xác minh", "Verify"),
    "logout": ("Đăng xuất", "Log out"),
    "login": ("Đăng nhập", "Log in"),
    "username": ("Tên đăng nhập", "Username"),
    "password": ("Mật khẩu", "Password"),
    "login_title": ("Đăng nhập caltrace", "Log in to caltrace"),
    "login_wrong": (
        "Sai tên đăng nhập hoặc mật khẩu (nhập sai nhiều lần sẽ khoá tài khoản).",
        "Wrong username or password (repeated failures lock the account).",
    ),
    "login_locked": (
        "Tài khoản bị khoá đến {until} UTC do nhập sai mật khẩu nhiều lần; hãy thử lại sau hoặc nhờ quản trị viên mở.",
        "The account is locked until {until} UTC after too many wrong passwords; try again then or ask an admin.",
    ),
    "forbidden": ("Không được phép", "Not allowed"),
    "forbidden_role": (
        "Trang này cần vai trò {roles}; tài khoản của bạn có vai trò {have}.",
        "This page needs the role {roles}; your account has {have}.",
    ),
    "forbidden_csrf": (
        "Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã CSRF). Hãy tải lại trang và gửi lại.",
        "The form is stale or invalid (CSRF token missing). Reload the page and send it again.",
    ),
    "back": ("Quay lại", "Back"),
    "not_found": ("Không tìm thấy", "Not found"),
    "role_technician": ("kỹ thuật viên", "technician"),
    "role_reviewer": ("người soát xét", "reviewer"),
    "role_signatory": ("người ký", "signatory"),
    "role_admin": ("quản trị", "admin"),
    "role_auditor": ("kiểm tra viên", "auditor"),
}


class LoginRequired(Exception):  # noqa: N818 - a redirect, not a bug
    """A page needs a session: answered by a redirect to the login page, back to ``next_url`` after it."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageForbidden(Exception):  # noqa: N818 - a refusal, not a bug
    """A page refused: ``key`` is the COMMON word explaining why, formatted with ``values``."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def ui_language(request: Request) -> str:
    """The page's language: ``?lang=`` first, then the ``caltrace_lang`` cookie, else Vietnamese."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in LANGUAGES else "vi"


def words_for(language: str, *tables: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """COMMON and ``tables`` (later ones win) picked in ``language``."""
    i = LANGUAGES.index(language)
    picked = {key: pair[i] for key, pair in COMMON.items()}
    for table in tables:
        picked.update({key: pair[i] for key, pair in table.items()})
    return picked


def safe_next(url: str | None) -> str:
    """A local path to go back to after logging in (anything else, e.g. ``//evil.example``, goes to ``/``)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


def page_account(request: Request, account: Annotated[Account | None, Depends(optional_account)]) -> Account:
    """The page's account; without a session a redirect to the login page (:class:`LoginRequired`)."""
    if account is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return account


PageAccount = Annotated[Account, Depends(page_account)]


def _role_words(roles: frozenset[str] | set[str], language: str) -> str:
    words = words_for(language)
    return ", ".join(words.get(f"role_{r}", r) for r in sorted(roles))


def page_roles(*roles: str) -> Any:
    """A dependency: the page's account when it holds one of ``roles`` (a 403 page otherwise)."""
    wanted = frozenset(roles)

    def check(request: Request, account: PageAccount) -> Account:
        if not account.roles & wanted:
            language = ui_language(request)
            raise PageForbidden(
                "forbidden_role", roles=_role_words(wanted, language), have=_role_words(account.roles, language)
            )
        return account

    return Depends(check)


async def form_account(request: Request, account: PageAccount) -> Account:
    """The account of a form post, whose ``csrf_token`` field must be the session's (a 403 page otherwise)."""
    if not await csrf_ok(request):
        raise PageForbidden("forbidden_csrf")
    return account


FormAccount = Annotated[Account, Depends(form_account)]


def form_roles(*roles: str) -> Any:
    """A dependency: the account of a form post (CSRF checked) holding one of ``roles``."""
    wanted = frozenset(roles)

    def check(request: Request, account: FormAccount) -> Account:
        if not account.roles & wanted:
            language = ui_language(request)
            raise PageForbidden(
                "forbidden_role", roles=_role_words(wanted, language), have=_role_words(account.roles, language)
            )
        return account

    return Depends(check)


def switch_url(request: Request, language: str) -> str:
    """This page's address in the other language."""
    query = dict(request.query_params)
    query["lang"] = "en" if language == "vi" else "vi"
    return f"{request.url.path}?{urlencode(query)}"


def render(
    request: Request,
    template: str,
    *,
    words: Mapping[str, tuple[str, str]] | None = None,
    account: Account | None = None,
    status: int = 200,
    nav: str = "",
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` (under ``templates/``) in the request's language, never cached; the context has
    ``lang``, ``t`` (the words), ``account``, ``csrf`` (for forms), ``switch`` (the other language's link),
    ``nav`` (the active menu entry), ``notice`` (``?notice=`` looked up in the words) and ``context``."""
    language = ui_language(request)
    t = words_for(language, words or {})
    notice_key = request.query_params.get("notice", "")
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "lang": language,
            "t": t,
            "account": account,
            "csrf": str(getattr(request.state, "csrf", "")),
            "switch": switch_url(request, language),
            "nav": nav,
            "notice": t.get(f"notice_{notice_key}", "") if notice_key else "",
            "quote": quote,
            **context,
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    """A 303 to ``url`` (after a form post), with ``?notice=`` naming a word to show there."""
    if notice:
        url += ("&" if "?" in url else "?") + urlencode({"notice": notice})
    return RedirectResponse(url, status_code=303)


def install(app: FastAPI) -> None:
    """Answer :class:`LoginRequired` with a redirect to the login page and :class:`PageForbidden` with a 403 page."""

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse("/login?" + urlencode({"next": safe_next(exc.next_url)}), status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageForbidden)
        language = ui_language(request)
        message = words_for(language)[exc.key].format(**exc.values)
        return render(request, "ui/error.html", status=403, title_key="forbidden", message=message)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(PageForbidden, forbidden)
