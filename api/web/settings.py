"""Settings of the service, read from ``CALTRACE_*`` environment variables (or a ``.env`` file), beside the
installation's :class:`registry.settings.Settings`.

Outside demo mode the secrets have no defaults: :meth:`ServiceSettings.missing` names the ones not set and
``caltrace serve`` refuses to start until they are. In demo mode (``caltrace serve --demo``) a random secret key is
made for the process (sessions end when it stops) and the session cookie may travel over plain HTTP on loopback.
"""

from __future__ import annotations

import secrets

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from registry.settings import _env_files

#: the shortest secret key accepted (characters): HMAC-SHA-256 keys of at least 256 bits of a random text
MIN_SECRET_KEY_CHARS = 32


class ServiceSettings(BaseSettings):
    """The service's settings; each field is also the environment variable ``CALTRACE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="CALTRACE_", env_file=_env_files(), extra="ignore")

    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs session cookies and bearer tokens (at least 32 characters, random; "
        "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`). Required outside demo mode.",
    )
    demo: bool = Field(
        default=False, description="Demo mode: embedded defaults and demo accounts (set by serve --demo only)."
    )
    cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only (false only behind no TLS, e.g. demo)."
    )
    session_cookie: str = Field(default="caltrace_session", description="Name of the session cookie.")
    session_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60, description="Session cookie lifetime (min).")
    token_minutes: int = Field(default=60, ge=1, le=30 * 24 * 60, description="Bearer token lifetime (min).")
    lockout_attempts: int = Field(default=5, ge=1, le=100, description="Wrong passwords in a row that lock an account.")
    lockout_minutes: int = Field(
        default=15, ge=1, le=7 * 24 * 60, description="How long a locked account stays locked."
    )
    max_upload_bytes: int = Field(
        default=20_000_000, ge=1024, le=200_000_000, description="Largest file an upload may send (bytes)."
    )
    public_rate_per_minute: int = Field(
        default=60,
        ge=1,
        le=100_000,
        description="Requests a minute one client address may send to the public verification routes (429 beyond).",
    )

    max_runs: int = Field(
        default=4, ge=1, le=64, description="Runs this service process executes at once (its run worker's threads)."
    )
    action_timeout_s: float = Field(
        default=3600.0,
        gt=0,
        le=7 * 24 * 3600,
        description="Seconds an operator action of a run waits for its answer before the run pauses.",
    )
    events_heartbeat_s: float = Field(
        default=15.0, gt=0, le=300, description="Seconds between keep-alive comments of a run's event stream."
    )
    events_bound: int = Field(
        default=1000, ge=10, le=100_000, description="Events a run's event stream holds for a slow client."
    )

    def missing(self) -> list[str]:
        """The environment variables that must be set before the service may start (none in demo mode)."""
        if self.demo:
            return []
        missing = []
        if self.secret_key is None or not self.secret_key.get_secret_value().strip():
            missing.append("CALTRACE_SECRET_KEY")
        return missing

    def problems(self) -> list[str]:
        """What is wrong with the settings as given, one sentence each (empty: the service may start)."""
        found = [f"{name} is not set (outside demo mode it has no default)" for name in self.missing()]
        key = self.secret_key.get_secret_value() if self.secret_key is not None else ""
        if key and len(key) < MIN_SECRET_KEY_CHARS:
            found.append(f"CALTRACE_SECRET_KEY is {len(key)} characters; give at least {MIN_SECRET_KEY_CHARS}")
        return found

    def signing_key(self) -> bytes:
        """The key that signs tokens; in demo mode without one, a random key made once for this settings object."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value().encode("utf-8")
        if not self.demo:
            raise ValueError("CALTRACE_SECRET_KEY is not set: the service cannot sign sessions without it")
        self.secret_key = SecretStr(secrets.token_urlsafe(48))
        return self.secret_key.get_secret_value().encode("utf-8")
