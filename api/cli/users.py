"""``caltrace users``: logins to the service (``add``, ``passwd``, ``list``, ``unlock``).

A password is never a command-line argument (it would sit in the shell history and the process list): it comes
from ``CALTRACE_PASSWORD`` or is typed at a hidden prompt, twice. Every change is audited as the actor
(``--actor``, default $CALTRACE_ACTOR or the login name); the password hash is redacted in the audit log.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from api.cli.errors import EXIT_USAGE, fail

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Logins to the service: roles, passwords, locks.")

PASSWORD_ENV = "CALTRACE_PASSWORD"

Actor = Annotated[
    str | None, typer.Option(help="Who is recorded in the audit log (default: $CALTRACE_ACTOR or your login).")
]


def _password(username: str) -> str:
    """The new password: $CALTRACE_PASSWORD, else typed twice at a hidden prompt."""
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        raise fail(
            f"the password of {username}: set {PASSWORD_ENV} or run the command in a terminal to type it", EXIT_USAGE
        )
    return str(typer.prompt(f"Password for {username}", hide_input=True, confirmation_prompt=True))


def _actor(actor: str | None) -> str:
    from registry.settings import default_actor

    return actor or default_actor()


@app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="The login name, one word (e.g. lan).")],
    role: Annotated[
        list[str],
        typer.Option("--role", help="technician, reviewer, signatory, admin or auditor (repeat for several)."),
    ],
    staff: Annotated[
        str | None,
        typer.Option(help="The member of staff the login acts as (required for technician, reviewer, signatory)."),
    ] = None,
    actor: Actor = None,
) -> None:
    """Create a login with ROLEs (password from $CALTRACE_PASSWORD or a prompt)."""
    from api.web.accounts import add_account, check_roles
    from registry.db import open_registry, session_scope

    try:
        roles = check_roles(role)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    password = _password(username)
    engine = open_registry()
    try:
        with session_scope(engine, _actor(actor)) as s:
            add_account(s, username, password, roles, staff)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    finally:
        engine.dispose()
    typer.echo(f"login {username} created ({', '.join(roles)}{f'; acts as {staff}' if staff else ''})")


@app.command("passwd")
def passwd_command(
    username: Annotated[str, typer.Argument(help="The login.")],
    actor: Actor = None,
) -> None:
    """Set a new password (from $CALTRACE_PASSWORD or a prompt); the login's open sessions and tokens end."""
    from api.web.accounts import set_password
    from api.web.security import system_clock
    from registry.db import open_registry, session_scope

    password = _password(username)
    engine = open_registry()
    try:
        with session_scope(engine, _actor(actor)) as s:
            set_password(s, username, password, system_clock())
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    finally:
        engine.dispose()
    typer.echo(f"password of {username} changed; its sessions and tokens ended")


@app.command("unlock")
def unlock_command(
    username: Annotated[str, typer.Argument(help="The login.")],
    actor: Actor = None,
) -> None:
    """Lift a lock left by too many wrong passwords (and clear the count)."""
    from api.web.accounts import unlock
    from registry.db import open_registry, session_scope

    engine = open_registry()
    try:
        with session_scope(engine, _actor(actor)) as s:
            changed = unlock(s, username)
    finally:
        engine.dispose()
    typer.echo(f"{username} unlocked" if changed else f"{username} was not locked")


@app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="A JSON list.")] = False) -> None:
    """The logins: roles, member of staff, failed logins and locks."""
    from api.web.accounts import list_accounts
    from registry.db import open_registry, read_session

    engine = open_registry()
    try:
        with read_session(engine) as s:
            rows = list_accounts(s)
    finally:
        engine.dispose()
    if as_json:
        doc = [
            {
                "username": r.username,
                "roles": list(r.roles),
                "staff": r.staff,
                "active": r.active,
                "failed_logins": r.failed_logins,
                "locked_until": r.locked_until.isoformat() if r.locked_until else None,
            }
            for r in rows
        ]
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no logins: caltrace users add USERNAME --role admin")
        return
    for r in rows:
        state = "" if r.active else " (inactive)"
        lock = f", locked until {r.locked_until:%Y-%m-%d %H:%M} UTC" if r.locked_until else ""
        failed = f", {r.failed_logins} failed login(s)" if r.failed_logins else ""
        staff = f", acts as {r.staff}" if r.staff else ""
        typer.echo(f"{r.username}: {', '.join(r.roles)}{staff}{failed}{lock}{state}")
