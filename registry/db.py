"""Engines, sessions and migrations of the registry database (SQLite by default, PostgreSQL by URL).

SQLite runs in WAL mode with foreign keys on, and every writing transaction starts with ``BEGIN IMMEDIATE`` so two
writers queue for the lock instead of failing half-way (the audit chain needs one writer at a time). Sessions that
only read (:func:`read_session`) begin a deferred transaction instead: in WAL mode they read a consistent snapshot
and never wait for a writer, even one that holds the lock for minutes. Every connection waits at most
:data:`BUSY_TIMEOUT_S` for a lock (SQLite ``busy_timeout``, PostgreSQL ``lock_timeout``) and then fails with an error
that :func:`retry_when_locked` recognises. PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``; a
plain ``postgresql://`` URL is taken to mean psycopg 3).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from registry import audit
from registry.errors import BadSettingError, DatabaseError, RegistryBusyError, RegistryError, SchemaOutOfDateError
from registry.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")
#: seconds a connection waits for a lock held by another transaction before failing (SQLite busy_timeout,
#: PostgreSQL lock_timeout)
BUSY_TIMEOUT_S = 30.0
#: execution option of a read-only engine: SQLite transactions begin DEFERRED (a snapshot, no write lock)
READ_ONLY = "caltrace_read_only"
#: PostgreSQL SQLSTATEs of a lock not obtained in time or a transaction that lost a conflict (retrying may succeed)
_PG_BUSY = {"55P03", "40001", "40P01"}


def normalise_url(url: str) -> str:
    """The URL with the driver made explicit: ``postgresql://`` -> ``postgresql+psycopg://``."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise BadSettingError(
            f"CALTRACE_DATABASE_URL {url!r} is not a database URL; "
            "use e.g. postgresql+psycopg://user:password@host:5432/caltrace or sqlite:///path/caltrace.db"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise BadSettingError(
            f"unsupported database {parsed.get_backend_name()!r}: caltrace supports SQLite and PostgreSQL"
        )
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, busy_timeout_s: float = BUSY_TIMEOUT_S, **kwargs: Any) -> Engine:
    """An engine for ``url`` with caltrace's connection settings; a SQLite file's directory is created.

    ``busy_timeout_s`` (s) is how long a statement waits for a lock held by another transaction before failing.
    """
    if not busy_timeout_s > 0:
        raise ValueError(f"busy_timeout_s must be positive seconds, got {busy_timeout_s!r}")
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the data directory for {parsed.database}: {exc}") from exc
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s}, **kwargs)
        _sqlite_setup(engine, busy_timeout_s)
    else:
        options = f"-c lock_timeout={int(busy_timeout_s * 1000)}"
        given = parsed.query.get("options")  # the URL's own ?options=... are kept, ours added after them
        if given:
            options = f"{given if isinstance(given, str) else ' '.join(given)} {options}"
        engine = create_engine(url, pool_pre_ping=True, connect_args={"options": options}, **kwargs)
    return engine


def _sqlite_setup(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # deferred: a WAL snapshot, never waits for a writer
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def engine_from_settings(settings: Settings | None = None) -> Engine:
    """The registry engine for the installation's settings."""
    settings = settings or Settings()
    return make_engine(settings.resolved_database_url)


def open_registry(settings: Settings | None = None, *, migrated: bool = True) -> Engine:
    """The installation's registry engine; with ``migrated``, refuse a database not brought up to date by
    ``caltrace db upgrade`` (:class:`SchemaOutOfDateError`: a missing SQLite file, or an older schema)."""
    settings = settings or Settings()
    url = make_url(settings.resolved_database_url)
    if migrated and url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise SchemaOutOfDateError(f"there is no registry at {url.database}: run `caltrace db upgrade` first")
    engine = engine_from_settings(settings)
    if migrated:
        require_current(engine)
    return engine


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine`` whose changes are written to the audit log (actor: ``session.info['actor']``).

    With ``read_only`` the sessions only read: on SQLite their transactions take no write lock (so they never wait
    for a writer, nor make writers wait), and a flush with changes raises :class:`RegistryError`.
    """
    if read_only:
        factory = sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
        event.listen(factory, "before_flush", _refuse_writes)
        return factory
    factory = sessionmaker(engine, expire_on_commit=False)
    audit.install(factory)
    return factory


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RegistryError("a read-only registry session cannot write; use registry.db.session_scope")


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A read-only session (see :func:`session_factory`); closed when the block ends, which ends its transaction
    and leaves the objects read detached with their values."""
    with session_factory(engine, read_only=True)() as session:
        yield session


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


def is_busy_error(exc: BaseException) -> bool:
    """True for a database error that means "another transaction holds the lock" (retrying may succeed):
    SQLite's ``database is locked`` / ``busy``, PostgreSQL's lock timeout, serialization failure or deadlock."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _PG_BUSY:
        return True
    text_ = str(orig).lower()
    return isinstance(exc, OperationalError) and ("database is locked" in text_ or "database is busy" in text_)


def retry_when_locked(
    write: Callable[[], T], *, what: str, attempts: int = 3, backoff_s: float = 2.0, max_backoff_s: float = 30.0
) -> T:
    """``write()``, retried while the registry is locked by another writer (see :func:`is_busy_error`).

    ``write`` must be one whole transaction (e.g. a ``session_scope`` block), so a failed attempt left nothing.
    Between attempts it waits ``backoff_s`` seconds, doubled each time up to ``max_backoff_s``; each attempt itself
    waits up to the connection's busy timeout. After ``attempts`` failures it raises :class:`RegistryBusyError`
    naming ``what`` could not be written and for how long it tried. Other errors pass through at once.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be 1 or more, got {attempts}")
    started = time.monotonic()
    delay = backoff_s
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except DBAPIError as exc:
            if not is_busy_error(exc):
                raise
            if attempt == attempts:
                waited = time.monotonic() - started
                raise RegistryBusyError(
                    f"the registry stayed locked by another writer (e.g. a large import) for {waited:.0f} s over "
                    f"{attempts} attempts, so {what} could not be written ({exc.orig})"
                ) from exc
            log.warning("registry busy writing %s (attempt %d of %d): %s", what, attempt, attempts, exc.orig)
        time.sleep(delay)
        delay = min(delay * 2, max_backoff_s)
    raise AssertionError("unreachable")  # pragma: no cover


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
        with engine.execution_options(**{READ_ONLY: True}).connect() as connection:  # never waits for a writer
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
