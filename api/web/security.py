"""Passwords, signed tokens and the service's clock (decision 0500).

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended option: 64 MiB, 3
passes, 4 lanes). Tokens are ``v1.<payload>.<signature>``: the payload is base64url JSON ``{"sub": account id,
"ver": token version, "typ": "session" | "bearer", "exp": Unix seconds, "csrf": session's CSRF token}`` and the
signature its HMAC-SHA-256 under the secret key. A token is valid while unexpired and while the account's
``token_version`` still equals ``ver``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: the service's clock: now, aware UTC (tests inject a controllable one)
Clock = Callable[[], datetime]
TokenKind = Literal["session", "bearer"]

_hasher = PasswordHasher()
#: a hash of no password anyone has, verified against for unknown users so that a login takes as long either way
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_CHARS = 10


def system_clock() -> datetime:
    """Now, aware UTC."""
    return datetime.now(UTC)


def check_password_rule(password: str) -> None:
    """ValueError unless ``password`` is acceptable: at least :data:`MIN_PASSWORD_CHARS` characters, not blank."""
    if len(password) < MIN_PASSWORD_CHARS or not password.strip():
        raise ValueError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; with no hash (unknown user) the same work is done and False
    is returned."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash at the next good login)."""
    return _hasher.check_needs_rehash(stored_hash)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: the account, its token version, the kind, expiry (Unix s) and CSRF token."""

    account_id: int
    version: int
    kind: TokenKind
    expires: int
    csrf: str = ""


def issue_token(key: bytes, claims: TokenClaims) -> str:
    """The signed token for ``claims``."""
    body: dict[str, Any] = {"sub": claims.account_id, "ver": claims.version, "typ": claims.kind, "exp": claims.expires}
    if claims.csrf:
        body["csrf"] = claims.csrf
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signature = _b64(hmac.new(key, f"v1.{payload}".encode("ascii"), hashlib.sha256).digest())
    return f"v1.{payload}.{signature}"


def read_token(key: bytes, token: str, kind: TokenKind, now: datetime) -> TokenClaims | None:
    """The claims of ``token`` when its signature is good, it is of ``kind`` and not expired at ``now``; else None."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "v1":
        return None
    expected = _b64(hmac.new(key, f"v1.{parts[1]}".encode("ascii"), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return None
    try:
        body = json.loads(_unb64(parts[1]))
        claims = TokenClaims(int(body["sub"]), int(body["ver"]), body["typ"], int(body["exp"]), body.get("csrf", ""))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if claims.kind != kind or claims.expires <= now.timestamp():
        return None
    return claims


def new_csrf_token() -> str:
    """A fresh random CSRF token (256 bits)."""
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), expected)
