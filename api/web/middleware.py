"""Security headers on every response (a pure ASGI middleware, so streamed responses keep streaming).

Content-Security-Policy allows only the service's own scripts, styles and images, no plugins, no framing
(``frame-ancestors 'none'``, with ``X-Frame-Options: DENY`` for older browsers); ``X-Content-Type-Options:
nosniff``; ``Referrer-Policy: same-origin`` (a certificate's verification link does not leak to other sites);
API answers are ``Cache-Control: no-store``; behind TLS (``cookie_secure``), Strict-Transport-Security.
:class:`BodyLimit` bounds every request body.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_security_headers(headers: MutableHeaders, *, secure: bool, api: bool = True) -> None:
    """Set the security headers on ``headers`` (those already set are kept)."""
    for name, value in HEADERS.items():
        headers.setdefault(name, value)
    if api:
        headers.setdefault("Cache-Control", "no-store")
    if secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith("/api/")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(MutableHeaders(scope=message), secure=self.secure, api=api)
            await send(message)

        await self.app(scope, receive, sending)


#: bytes a request may carry beyond the upload limit (multipart boundaries, headers of parts, other form fields)
BODY_OVERHEAD = 1 << 20


class BodyLimit:
    """ASGI middleware refusing a request body larger than the upload limit plus :data:`BODY_OVERHEAD`: at once
    when its Content-Length says so, else as soon as the bytes received pass it (413 problem), so no request can
    make the service buffer an unbounded body. ``limit`` is read at each request (the settings may change)."""

    def __init__(self, app: ASGIApp, *, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.limit() + BODY_OVERHEAD
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await self._refuse(scope, receive, send, cap)
            return
        received = 0

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    from api.web.errors import ApiProblem  # noqa: PLC0415 - errors imports this module

                    raise ApiProblem(413, "too-large", "Request too large", f"the request body passed {cap} bytes")
            return message

        await self.app(scope, counting, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        from api.web.errors import PROBLEM_JSON, Problem  # noqa: PLC0415 - errors imports this module

        body = Problem(
            type="urn:caltrace:problem:too-large",
            title="Request too large",
            status=413,
            detail=f"the request body is larger than {cap} bytes; send less",
            instance=str(scope.get("path", "")),
        )
        response = JSONResponse(body.model_dump(mode="json"), status_code=413, media_type=PROBLEM_JSON)
        await response(scope, receive, send)
