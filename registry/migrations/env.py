"""Alembic environment: migrations run on the engine caltrace passes in (``config.attributes['engine']``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

from registry.models import Base

config = context.config


def run_migrations_online() -> None:
    """Run the migrations in one transaction on caltrace's engine (batch mode on SQLite for ALTERs)."""
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        raise RuntimeError("run migrations through `caltrace db upgrade`, which passes the engine in")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=engine.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run `caltrace db upgrade`")
run_migrations_online()
