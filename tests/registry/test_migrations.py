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


def test_0002_fills_identity_key_and_resolution_unit_of_existing_rows(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0001")
    with bare_engine.begin() as c:
        c.execute(
            text("INSERT INTO customer (id, name, address, contact_name, phone, email) VALUES (1, 'A', '', '', '', '')")
        )
        c.execute(
            text(
                "INSERT INTO measuring_instrument (id, owner_id, kind, field, manufacturer, model, serial_number, "
                "range_text, range_unit, resolution, accuracy_class, location, group2, interval_months) VALUES "
                "(1, 1, 'balance', 'mass', ' Mettler  Toledo', 'XPR205', 'B91', '', 'g', 0.00001, '', '', false, 12), "
                "(2, 1, 'meter', 'volume-flow', 'Itron', 'X', 'W1', '', 'm³', NULL, '', '', false, 60)"
            )
        )
    upgrade(bare_engine, "0002")
    with bare_engine.connect() as c:
        rows = c.execute(text("SELECT identity_key, resolution_unit FROM measuring_instrument ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("mettler toledo|xpr205|b91", "g"), ("itron|x|w1", "")]
    # the normalised key now refuses what the exact-string constraint let through
    with pytest.raises(DBAPIError), bare_engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO measuring_instrument (owner_id, kind, field, manufacturer, model, serial_number, "
                "range_text, range_unit, resolution_unit, accuracy_class, location, group2, interval_months, "
                "identity_key) VALUES (1, 'b', 'mass', 'METTLER TOLEDO', 'xpr205', 'b91', '', '', '', '', '', false, "
                "12, 'mettler toledo|xpr205|b91')"
            )
        )
    downgrade(bare_engine, "0001")
    with bare_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM measuring_instrument")).scalar() == 2
