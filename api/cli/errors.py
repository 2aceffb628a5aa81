"""Turn the errors a user can cause into one clear line on stderr and an exit code, never a traceback.

Exit codes of every ``caltrace`` command (the README's table):

* 0 — done.
* 1 — the command could not do its work: rows rejected, a record not found, an instrument, database or server
  that does not answer, a registry not yet created or migrated (`caltrace db upgrade`), a broken audit chain.
* 2 — bad usage or refused: a wrong option or value, a bad address or unknown model, a wrong setting,
  a refusal by the registry's records (not authorised, standard expired), a port already in use.
* 3 — a run paused (resume it later).
* 130 — stopped by Ctrl-C; 143 — stopped by SIGTERM.
"""

from __future__ import annotations

import sys

import typer

from api.cli.logs import configure_logging
from drivers.errors import AddressError, DriverError, UnknownModelError
from registry.errors import BadSettingError, MigrationRefusedError, NotPermittedError, RegistryError

EXIT_OK = 0
EXIT_FAILED = 1  # rejected rows, not found, no answer
EXIT_USAGE = 2  # bad usage or refused
EXIT_PAUSED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM

#: errors that mean "bad usage or refused" (exit 2); every other DriverError/RegistryError exits 1
_USAGE_ERRORS = (AddressError, UnknownModelError, BadSettingError, NotPermittedError, MigrationRefusedError)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def run_app(app: typer.Typer) -> None:
    """Run ``app`` with library logging sent to the log file; known errors become one ``error: ...`` line on stderr
    (exit 1, or 2 for bad usage and refusals), Ctrl-C exits 130."""
    configure_logging()
    try:
        app()
    except (DriverError, RegistryError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE if isinstance(exc, _USAGE_ERRORS) else EXIT_FAILED)
    except Exception as exc:
        explained = _explain(exc)
        if explained is None:
            raise
        message, code = explained
        typer.echo(f"error: {message}", err=True)
        sys.exit(code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


def _explain(exc: Exception) -> tuple[str, int] | None:
    """The user-facing message and exit code for errors of libraries loaded lazily (None: a bug, let it
    surface)."""
    store_errors = sys.modules.get("acquisition.store.errors")
    if store_errors is not None and isinstance(exc, store_errors.StoreError):
        return str(exc), EXIT_FAILED
    if "pydantic" in sys.modules:
        from pydantic import ValidationError

        if isinstance(exc, ValidationError) and exc.title == "Settings":
            wrong = "; ".join(
                f"CALTRACE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
            )
            return f"a setting is wrong: {wrong} (see the settings table in the README)", EXIT_USAGE
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            return (
                f"cannot use the registry database: {exc.orig}\n"
                "check CALTRACE_DATABASE_URL and that the database server is running"
            ), EXIT_FAILED
    return None
