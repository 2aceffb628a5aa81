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
        message = _explain(exc)
        if message is None:
            raise
        typer.echo(f"error: {message}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


def _explain(exc: Exception) -> str | None:
    """The user-facing message for errors of libraries loaded lazily (None: a bug, let it surface)."""
    store_errors = sys.modules.get("acquisition.store.errors")
    if store_errors is not None and isinstance(exc, store_errors.StoreError):
        return str(exc)
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            return (
                f"cannot use the registry database: {exc.orig}\n"
                "check CALTRACE_DATABASE_URL and that the database server is running"
            )
    return None
