"""``caltrace db``: create and migrate the registry database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(no_args_is_help=True, help="Create and migrate the registry database.")


@app.command("upgrade")
def upgrade_command(
    revision: Annotated[str, typer.Option(help="Target revision (default: the newest).")] = "head",
) -> None:
    """Create the registry database, or migrate it to the newest schema (safe to run again)."""
    from registry.db import current_revision, open_registry, upgrade

    engine = open_registry(migrated=False)
    before = current_revision(engine)
    upgrade(engine, revision)
    after = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        typer.echo(f"registry at {where} is already at revision {after}")
    else:
        typer.echo(f"registry at {where} migrated from {before or 'empty'} to revision {after}")


@app.command("seed-demo")
def seed_demo_command() -> None:
    """Add the demo laboratory, staff, standards, customers and instruments to the registry (as `make run` does).

    Safe to run again: what is there already is left alone, so a second run adds nothing.
    """
    from acquisition.procedures import procedure_ids
    from lab import seed_demo_lab
    from registry.db import open_registry, session_scope
    from registry.settings import get_settings

    engine = open_registry()
    before = _row_count(engine)
    with session_scope(engine, "demo") as s:
        seed_demo_lab(s, get_settings().lab_today(), procedure_ids())
    added = _row_count(engine) - before
    where = engine.url.render_as_string(hide_password=True)
    if added:
        typer.echo(f"demo lab seeded in the registry at {where} ({added} records added)")
    else:
        typer.echo(f"demo lab already in the registry at {where}; nothing to add")


def _row_count(engine: Engine) -> int:
    """Rows in every table of the registry (the demo seed's count of what it added)."""
    from sqlalchemy import func, select

    from registry.models import Base

    with engine.connect() as connection:
        return sum(
            int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for table in Base.metadata.sorted_tables
        )


@app.command("downgrade")
def downgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes every table.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: a downgrade can drop data.")] = False,
) -> None:
    """Migrate the registry down to REVISION (needs --yes: data in dropped tables is lost)."""
    from registry.db import current_revision, downgrade, open_registry

    if not yes:
        typer.echo("error: a downgrade can drop tables and their data; add --yes if you mean it", err=True)
        raise typer.Exit(2)
    engine = open_registry(migrated=False)
    downgrade(engine, revision)
    typer.echo(f"registry downgraded to {current_revision(engine) or 'empty (base)'}")


@app.command("current")
def current_command() -> None:
    """Print the registry's URL (password hidden), its schema revision and the newest one (a SQLite registry not
    yet created is reported, not created)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from registry.db import current_revision, head_revision, normalise_url, open_registry
    from registry.settings import get_settings

    url = make_url(normalise_url(get_settings().resolved_database_url))
    typer.echo(f"database: {url.render_as_string(hide_password=True)}")
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        typer.echo(f"revision: none, no registry there yet (run `caltrace db upgrade`)  (newest: {head_revision()})")
        return
    current = current_revision(open_registry(migrated=False))
    typer.echo(f"revision: {current or 'empty (run `caltrace db upgrade`)'}  (newest: {head_revision()})")
