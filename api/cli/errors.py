"""Turn the errors a user can cause into one clear line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import sys

import typer

from drivers.errors import DriverError
from registry.errors import RegistryError


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def run_app(app: typer.Typer) -> None:
    """Run ``app``; known errors become ``error: ...`` on stderr (exit 1), Ctrl-C exits 130."""
    try:
        app()
    except (DriverError, RegistryError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        if "sqlalchemy" not in sys.modules:
            raise
        from sqlalchemy.exc import OperationalError

        if not isinstance(exc, OperationalError):
            raise
        typer.echo(
            f"error: cannot use the registry database: {exc.orig}\n"
            "check CALTRACE_DATABASE_URL and that the database server is running",
            err=True,
        )
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
