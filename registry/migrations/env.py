"""Alembic environment: migrations run on the engine caltrace passes in (``config.attributes['engine']``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection, Engine

from registry.models import Base

config = context.config


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """Switch SQLite's foreign-key enforcement (only possible outside a transaction: on the driver connection)."""
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def run_migrations_online() -> None:
    """Run the migrations in one transaction on caltrace's engine (batch mode on SQLite for ALTERs).

    On SQLite, batch mode rebuilds a table (copy, drop, rename). With foreign keys enforced, dropping the old
    table would cascade-delete (or be refused for) the rows of the tables that reference it, so enforcement is off
    during the migration, as SQLite's documented procedure for schema changes says, and ``PRAGMA
    foreign_key_check`` must find no violation before the transaction commits.
    """
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        raise RuntimeError("run migrations through `caltrace db upgrade`, which passes the engine in")
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            _sqlite_foreign_keys(connection, False)
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration left rows that break foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                if connection.in_transaction():
                    connection.rollback()
                _sqlite_foreign_keys(connection, True)


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run `caltrace db upgrade`")
run_migrations_online()
