"""Engines, sessions and migrations of the registry database (SQLite by default, PostgreSQL by URL).

SQLite runs in WAL mode with foreign keys on, and every transaction starts with ``BEGIN IMMEDIATE`` so two writers
queue for the lock instead of failing half-way (the audit chain needs one writer at a time). PostgreSQL is reached
through psycopg 3 (``postgresql+psycopg://``; a plain ``postgresql://`` URL is taken to mean psycopg 3).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from registry import audit
from registry.errors import DatabaseError, SchemaOutOfDateError
from registry.settings import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_S = 30.0


def normalise_url(url: str) -> str:
    """The URL with the driver made explicit: ``postgresql://`` -> ``postgresql+psycopg://``."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(
            f"CALTRACE_DATABASE_URL {url!r} is not a database URL; "
            "use e.g. postgresql+psycopg://user:password@host:5432/caltrace or sqlite:///path/caltrace.db"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"unsupported database {parsed.get_backend_name()!r}: caltrace supports SQLite and PostgreSQL"
        )
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with caltrace's connection settings; a SQLite file's directory is created."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the data directory for {parsed.database}: {exc}") from exc
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, **kwargs)
        _sqlite_setup(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    return engine


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def engine_from_settings(settings: Settings | None = None) -> Engine:
    """The registry engine for the installation's settings."""
    settings = settings or Settings()
    return make_engine(settings.resolved_database_url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine`` whose changes are written to the audit log (actor: ``session.info['actor']``)."""
    factory = sessionmaker(engine, expire_on_commit=False)
    audit.install(factory)
    return factory


@contextlib.contextmanager
def session_scope(engine: Engine, actor: str) -> Iterator[Session]:
    """A transaction as ``actor``: committed when the block ends, rolled back on any error (nothing half-written)."""
    with session_factory(engine)() as session:
        session.info["actor"] = actor
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def server_time(session: Session) -> float:
    """Now, in Unix seconds, by the registry server's clock (PostgreSQL's ``clock_timestamp()``; for SQLite, a file
    on this computer, this computer's clock). Computers sharing a registry compare times by this one clock."""
    if session.get_bind().dialect.name == "postgresql":
        return float(session.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
    return time.time()


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration pointing at caltrace's migrations, bound to ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema up to ``revision`` (creating it on an empty database)."""
    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        raise DatabaseError(f"cannot migrate {engine.url.render_as_string()}: {exc.orig}") from exc


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the schema down to ``revision`` (``base`` drops every table)."""
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None when it was never migrated."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise DatabaseError(f"cannot open the registry at {engine.url.render_as_string()}: {exc.orig}") from exc


def head_revision() -> str:
    """The newest revision this version of caltrace knows."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def require_current(engine: Engine) -> None:
    """Raise :class:`SchemaOutOfDateError` unless the database is at this caltrace's newest revision."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    known = {rev.revision for rev in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if current is None:
        raise SchemaOutOfDateError("the registry database is empty: run `caltrace db upgrade` first")
    if current not in known:
        raise SchemaOutOfDateError(
            f"the registry database is at revision {current}, which this caltrace does not know "
            "(it was written by a newer version): upgrade caltrace"
        )
    raise SchemaOutOfDateError(f"the registry database is at revision {current}, not {head}: run `caltrace db upgrade`")
