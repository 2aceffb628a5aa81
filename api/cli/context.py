"""Compatibility names for ``api/cli/runs.py`` (the rest of the CLI imports them from the registry directly).

The helpers live where they belong: :meth:`registry.settings.Settings.lab_today` (the lab's calendar day),
:func:`registry.settings.default_actor` (the audit actor of a CLI change) and :func:`registry.db.open_registry`
(the registry engine, checked to be migrated). Imports are deferred so that starting the CLI loads no SQLAlchemy.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from registry.settings import Settings


def settings() -> Settings:
    """The installation's settings (CALTRACE_* environment variables)."""
    from registry.settings import get_settings

    return get_settings()


def registry_engine(*, migrated: bool = True) -> Engine:
    """:func:`registry.db.open_registry` with the installation's settings."""
    from registry.db import open_registry

    return open_registry(migrated=migrated)


def lab_today() -> date:
    """:func:`registry.settings.lab_today`."""
    from registry.settings import lab_today as today

    return today()


def default_actor() -> str:
    """:func:`registry.settings.default_actor`."""
    from registry.settings import default_actor as actor

    return actor()
