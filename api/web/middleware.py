"""Security headers on every response (a pure ASGI middleware, so streamed responses keep streaming).

Content-Security-Policy allows only the service's own scripts, styles and images, no plugins, no framing
(``frame-ancestors 'none'``, with ``X-Frame-Options: DENY`` for older browsers); ``X-Content-Type-Options:
nosniff``; ``Referrer-Policy: same-origin`` (a certificate's verification link does not leak to other sites);
API answers are ``Cache-Control: no-store``; behind TLS (``cookie_secure``), Strict-Transport-Security.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
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
