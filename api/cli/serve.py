"""``caltrace serve``: the service (FastAPI on uvicorn).

Without ``--demo`` it needs its secrets (``CALTRACE_SECRET_KEY``) and a migrated registry, and refuses to start
naming what is missing. With ``--demo`` it runs on embedded defaults: the SQLite registry in the data directory
(created and migrated), the demo laboratory seeded as ``caltrace db seed-demo`` does, a login for every role with
a password printed at the start (``CALTRACE_DEMO_PASSWORD`` fixes them), a secret key made for the process, and the
session cookie allowed over plain HTTP. The service logs to the log file (``caltrace.log`` in the data directory).
"""

from __future__ import annotations

import errno
import os
import secrets
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.errors import EXIT_USAGE, fail

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

#: seconds the service waits for open requests (event streams) at shutdown before it ends them and pauses its runs
SHUTDOWN_GRACE_S = 5

#: demo logins: username -> (role, the demo lab's member of staff it acts as, or None)
DEMO_LOGINS: dict[str, tuple[str, str | None]] = {
    "technician": ("technician", "demo"),
    "reviewer": ("reviewer", "demo-reviewer"),
    "signatory": ("signatory", "demo-reviewer"),
    "admin": ("admin", None),
    "auditor": ("auditor", None),
}
DEMO_PASSWORD_ENV = "CALTRACE_DEMO_PASSWORD"


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_USAGE) from None
    return True


def seed_demo(engine: Engine) -> dict[str, str]:
    """Migrate the registry, seed the demo laboratory and (re)set the demo logins' passwords; username ->
    password."""
    from acquisition.procedures import procedure_ids
    from api.web.accounts import add_account, set_password
    from api.web.security import system_clock
    from lab import seed_demo_lab
    from registry.db import session_scope, upgrade
    from registry.models import UserAccount
    from registry.settings import get_settings

    upgrade(engine)
    with session_scope(engine, "demo") as s:
        seed_demo_lab(s, get_settings().lab_today(), procedure_ids())
    fixed = os.environ.get(DEMO_PASSWORD_ENV)
    passwords: dict[str, str] = {}
    with session_scope(engine, "demo") as s:
        for username, (role, staff) in DEMO_LOGINS.items():
            password = fixed or secrets.token_urlsafe(9)
            if s.query(UserAccount).filter_by(username=username).first() is None:
                add_account(s, username, password, [role], staff)
            else:
                set_password(s, username, password, system_clock())
            passwords[username] = password
    return passwords


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Embedded defaults, the demo lab and a login for every role (not for use).")
    ] = False,
) -> None:
    """Start the service: the API under /api/v1 (OpenAPI document /api/v1/openapi.json). Outside --demo it needs
    CALTRACE_SECRET_KEY and a registry migrated by `caltrace db upgrade`; logins: `caltrace users add`."""
    import uvicorn

    from api.web.app import create_app
    from api.web.settings import ServiceSettings
    from registry.db import open_registry
    from registry.settings import get_settings

    # demo mode only by the flag: CALTRACE_DEMO in the environment cannot lift the secrets' requirement
    settings = ServiceSettings(demo=True, cookie_secure=False) if demo else ServiceSettings(demo=False)
    problems = settings.problems()
    if problems:
        raise fail(
            "the service cannot start: " + "; ".join(problems) + " (see docs/service.md; or try --demo)", EXIT_USAGE
        )
    if not _port_free(host, port):
        raise fail(f"port {port} on {host} is already in use: stop the other program or give --port", EXIT_USAGE)
    registry = get_settings()
    passwords: dict[str, str] = {}
    if demo:
        engine = open_registry(registry, migrated=False)
        passwords = seed_demo(engine)
    else:
        engine = open_registry(registry)
    app = create_app(settings, registry=registry, engine=engine)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    typer.echo(f"caltrace service at {url}/  (API {url}/api/v1, OpenAPI {url}/api/v1/openapi.json)")
    typer.echo(f"registry: {engine.url.render_as_string(hide_password=True)}; log: {registry.log_path}")
    if demo:
        typer.echo("demo mode: not for real use (secret key made for this process, cookies over plain HTTP)")
        typer.echo("demo logins (username / password / role):")
        for username, password in passwords.items():
            typer.echo(f"  {username:11} {password:14} {DEMO_LOGINS[username][0]}")
    typer.echo("Ctrl-C stops it.")
    # open event streams (GET /runs/{id}/events) are ended after SHUTDOWN_GRACE_S, so the shutdown reaches the run
    # worker, which pauses the executing runs (sources to standby first)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
