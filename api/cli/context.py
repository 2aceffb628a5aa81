"""What every registry command needs: the settings, the engine, and a check that the schema is current."""

from __future__ import annotations

import getpass
import os
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from registry.errors import DatabaseError

if TYPE_CHECKING:  # the registry pulls in SQLAlchemy; commands import it when they run, not at start-up
    from sqlalchemy.engine import Engine

    from registry.settings import Settings


def settings() -> Settings:
    """The installation's settings (CALTRACE_* environment variables)."""
    from registry.settings import Settings

    return Settings()


def registry_engine(*, migrated: bool = True) -> Engine:
    """The registry engine; with ``migrated``, refuse a database not brought up to date by `caltrace db upgrade`."""
    from sqlalchemy.engine import make_url

    from registry.db import engine_from_settings, require_current
    from registry.errors import SchemaOutOfDateError

    config = settings()
    url = make_url(config.resolved_database_url)
    if migrated and url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise SchemaOutOfDateError(f"there is no registry at {url.database}: run `caltrace db upgrade` first")
    engine = engine_from_settings(config)
    if migrated:
        require_current(engine)
    return engine


def lab_today() -> date:
    """Today's date in the lab's time zone (CALTRACE_TIMEZONE)."""
    tz = settings().timezone
    try:
        return datetime.now(ZoneInfo(tz)).date()
    except ZoneInfoNotFoundError:
        raise DatabaseError(f"CALTRACE_TIMEZONE {tz!r} is not a known time zone; use e.g. Asia/Ho_Chi_Minh") from None


def default_actor() -> str:
    """Who is recorded in the audit log for CLI changes: $CALTRACE_ACTOR, else the login name."""
    actor = os.environ.get("CALTRACE_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "cli"
