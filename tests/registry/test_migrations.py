"""Migrations go up and down on both engines, and the migrated schema is exactly the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from registry.db import current_revision, downgrade, head_revision, require_current, upgrade
from registry.errors import SchemaOutOfDateError
from registry.models import Base

TABLES = {
    "laboratory",
    "cmc_entry",
    "customer",
    "measuring_instrument",
    "reference_standard",
    "standard_certificate",
    "staff",
    "authorisation",
    "procedure",
    "run",
    "run_standard",
    "environment_record",
    "result",
    "certificate",
    "audit_log",
    "audit_head",
}


def test_up_down_up(bare_engine: Engine) -> None:
    assert current_revision(bare_engine) is None
    with pytest.raises(SchemaOutOfDateError, match="caltrace db upgrade"):
        require_current(bare_engine)
    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision()
    assert set(inspect(bare_engine).get_table_names()) >= TABLES
    require_current(bare_engine)
    downgrade(bare_engine, "base")
    assert current_revision(bare_engine) is None
    assert not TABLES & set(inspect(bare_engine).get_table_names())
    upgrade(bare_engine)
    assert set(inspect(bare_engine).get_table_names()) >= TABLES


def test_migrated_schema_matches_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_audit_log_refuses_update_and_delete(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, payload, prev_hash, hash) "
                "VALUES (1, CURRENT_TIMESTAMP, 'a', 'insert', 'x', '1', '{}', 'p', 'h')"
            )
        )
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))


def test_database_from_newer_caltrace_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    with pytest.raises(SchemaOutOfDateError, match="newer version"):
        require_current(engine)
