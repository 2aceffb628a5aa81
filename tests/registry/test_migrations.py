"""Migrations go up and down on both engines, and the migrated schema is exactly the models."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from registry.audit import Change, append, verify
from registry.db import current_revision, downgrade, head_revision, require_current, session_factory, upgrade
from registry.errors import MigrationRefusedError, SchemaOutOfDateError
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
    "prepackage_lot",
    "operator_action",
    "run_cancel",
    "certificate_sequence",
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


# --- 0004: prepackage lots out of the instrument table ---------------------------------------------------------------

LOT_KIND = "Lô hàng đóng gói sẵn"


def _seed_0003(engine: Engine, *, lot_range_max: str = "500", lot_sizes: tuple[str, str] = ("400", "500")) -> None:
    """At revision 0003: a lot registered as an instrument (decision 0301) with two R87 runs (the older one says
    lot_size 400, the newer 500), a balance with a cg-18 run, result rows, and one audit entry."""
    old, new = lot_sizes
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO customer (id, name, address, contact_name, phone, email) VALUES "
                "(1, 'Công ty CP Thực phẩm Sao Mai', '', '', '', ''), (2, 'Công ty TNHH Cân Việt', '', '', '', '')"
            )
        )
        c.execute(
            text(
                "INSERT INTO measuring_instrument (id, owner_id, kind, field, manufacturer, model, serial_number, "
                "range_text, range_min, range_max, range_unit, resolution_unit, accuracy_class, location, "
                "identity_key, group2, interval_months) VALUES "
                f"(1, 1, '{LOT_KIND}', 'mass', 'Sao Mai', 'Đường kính trắng 500 g', 'LOT-7', '', 0, {lot_range_max}, "
                "'g', '', '', 'Kho Biên Hòa', 'sao mai|đường kính trắng 500 g|lot-7', false, 12), "
                "(2, 2, 'Cân phân tích', 'mass', 'MT', 'XS204', 'B1', '', 0, 220, 'g', 'g', 'I', '', 'mt|xs204|b1', "
                "false, 12)"
            )
        )
        c.execute(
            text(
                "INSERT INTO procedure (id, code, version, kind, field, title, method_reference) VALUES "
                "(1, 'prepackage-r87', '1', 'test', 'mass', 'R87', 'OIML R87'), "
                "(2, 'nawi-calibration-cg18', '1', 'calibration', 'mass', 'cg-18', 'EURAMET cg-18')"
            )
        )
        c.execute(text("INSERT INTO staff (id, username, full_name, email, active) VALUES (1, 'lan', 'Lan', '', true)"))
        for rid, proc, inst, created, params in (
            ("r87-old", 1, 1, "2026-03-01 02:00:00", f'{{"lot_size": {old}}}'),
            ("r87-new", 1, 1, "2026-04-01 02:00:00", f'{{"lot_size": {new}, "tare_count": 10}}'),
            ("cg-1", 2, 2, "2026-04-02 02:00:00", '{"loads_g": [50, 100]}'),
        ):
            c.execute(
                text(
                    "INSERT INTO run (id, procedure_id, instrument_id, technician_id, state, created_at, "
                    "current_step, checkpoint, message, overall) VALUES (:id, :p, :i, 1, 'completed', :at, '', "
                    ":cp, '', 'pass')"
                ),
                {
                    "id": rid,
                    "p": proc,
                    "i": inst,
                    "at": created,
                    "cp": f'{{"parameters": {params}, "completed": {{}}}}',
                },
            )
        c.execute(
            text(
                "INSERT INTO result (run_id, seq, quantity, point_unit, value, unit, conformity, budget) VALUES "
                "('r87-new', 1, 'lot decision', 'g', 1, '1', 'pass', '{}'), "
                "('cg-1', 1, 'error', 'g', 0.1, 'mg', 'notAssessed', '{}')"
            )
        )
        append(c, "dataset", [Change("insert", "customer", "1", {"name": "Công ty CP Thực phẩm Sao Mai"})])


def _audit_ok(engine: Engine) -> int:
    with session_factory(engine)() as s:
        result = verify(s)
    assert result.ok, result.reason
    return result.checked


def test_0004_turns_lot_instruments_into_lots_and_back(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0003")
    _seed_0003(bare_engine)
    upgrade(bare_engine, "0004")
    with bare_engine.connect() as c:
        lots = c.execute(
            text(
                "SELECT id, packer_id, product, brand, lot_number, lot_size, nominal_quantity, nominal_unit, "
                "sampling_place FROM prepackage_lot"
            )
        ).all()
        # the newer run's lot_size (500) wins; the nominal quantity is the instrument's range_max in its unit
        assert [tuple(r)[1:] for r in lots] == [
            (1, "Đường kính trắng 500 g", "Sao Mai", "LOT-7", 500, 500.0, "g", "Kho Biên Hòa")
        ]
        lot_id = lots[0][0]
        runs = c.execute(text("SELECT id, instrument_id, lot_id FROM run ORDER BY id")).all()
        assert [tuple(r) for r in runs] == [("cg-1", 2, None), ("r87-new", None, lot_id), ("r87-old", None, lot_id)]
        # the lot's instrument row is gone, the balance stays; the runs' results survived the table rebuild
        assert c.execute(text("SELECT id FROM measuring_instrument")).scalars().all() == [2]
        assert c.execute(text("SELECT run_id FROM result ORDER BY run_id")).scalars().all() == ["cg-1", "r87-new"]
        event = c.execute(text("SELECT actor, action, entity, payload FROM audit_log WHERE seq = 2")).one()
    assert (event.actor, event.action, event.entity) == ("migration 0004", "migrate", "prepackage_lot")
    payload = json.loads(event.payload)
    assert payload["lots"][0]["instrument"]["serial_number"] == "LOT-7" and payload["lots"][0]["instrument_deleted"]
    assert _audit_ok(bare_engine) == 2
    # exactly one of instrument and lot
    for values in ("1, 1", "NULL, NULL"):
        with pytest.raises(DBAPIError), bare_engine.begin() as c:
            c.execute(text(f"UPDATE run SET instrument_id = {values.split(', ')[0]}, lot_id = {values.split(', ')[1]}"))

    downgrade(bare_engine, "0003")
    with bare_engine.connect() as c:
        back = c.execute(
            text(
                "SELECT id, owner_id, kind, manufacturer, model, serial_number, range_max, range_unit, next_due "
                "FROM measuring_instrument WHERE kind = :k"
            ),
            {"k": LOT_KIND},
        ).one()
        assert tuple(back)[1:] == (1, LOT_KIND, "Sao Mai", "Đường kính trắng 500 g", "LOT-7", 500.0, "g", None)
        runs = c.execute(text("SELECT id, instrument_id FROM run ORDER BY id")).all()
        assert [tuple(r) for r in runs] == [("cg-1", 2), ("r87-new", back.id), ("r87-old", back.id)]
        assert c.execute(text("SELECT count(*) FROM result")).scalar() == 2
    assert _audit_ok(bare_engine) == 3
    upgrade(bare_engine)
    assert _audit_ok(bare_engine) == 4


def test_0004_refuses_a_lot_it_cannot_convert_and_changes_nothing(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0003")
    _seed_0003(bare_engine, lot_range_max="NULL", lot_sizes=("null", "null"))
    with pytest.raises(MigrationRefusedError) as refused:
        upgrade(bare_engine)
    message = str(refused.value)
    assert "instrument #1 (serial 'LOT-7'" in message
    assert "no nominal quantity" in message and "lot_size" in message and "Nothing was changed" in message
    assert current_revision(bare_engine) == "0003"
    with bare_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM measuring_instrument")).scalar() == 2
        assert c.execute(text("SELECT count(*) FROM result")).scalar() == 2
    assert "prepackage_lot" not in inspect(bare_engine).get_table_names()
    assert _audit_ok(bare_engine) == 1


# --- 0007: operator actions and cancel requests ---------------------------------------------------------------------


def test_0007_adds_and_drops_the_operator_action_and_cancel_tables(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0006")
    assert not {"operator_action", "run_cancel"} & set(inspect(bare_engine).get_table_names())
    upgrade(bare_engine, "0007")
    columns = {c["name"] for c in inspect(bare_engine).get_columns("operator_action")}
    assert columns >= {"run_id", "step", "kind", "text_vi", "text_en", "params", "expects", "unit", "requested_at",
                       "deadline", "answered_at", "answer", "answer_value", "answered_by", "status"}  # fmt: skip
    assert {c["name"] for c in inspect(bare_engine).get_columns("run_cancel")} >= {"run_id", "requested_by", "abort"}
    checks = {c["name"] for c in inspect(bare_engine).get_check_constraints("operator_action")}
    assert {"ck_operator_action_answer", "ck_operator_action_expects"} <= checks  # done/value/stop; done/value
    downgrade(bare_engine, "0006")
    assert not {"operator_action", "run_cancel"} & set(inspect(bare_engine).get_table_names())
    upgrade(bare_engine)
    assert {"operator_action", "run_cancel"} <= set(inspect(bare_engine).get_table_names())


# --- 0008: the laboratory's logo and certificate numbering -----------------------------------------------------------


def test_0008_adds_and_drops_the_laboratory_logo_and_numbering(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0007")
    with bare_engine.begin() as c:  # a laboratory registered before 0008 stays valid: both columns default to ""
        c.execute(
            text(
                "INSERT INTO laboratory (name, address, accreditation_code, phone, email) "
                "VALUES ('TĐC', 'Huế', 'VILAS 1', '', '')"
            )
        )
    upgrade(bare_engine, "0008")
    with bare_engine.connect() as c:
        row = c.execute(text("SELECT logo_path, certificate_numbering FROM laboratory")).one()
    assert tuple(row) == ("", "")
    downgrade(bare_engine, "0007")
    assert not {"logo_path", "certificate_numbering"} & {
        c["name"] for c in inspect(bare_engine).get_columns("laboratory")
    }


# --- 0010: numbering per kind and the running numbers ------------------------------------------------------------


def test_0010_adds_and_drops_numbering_per_kind(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0009")
    with bare_engine.begin() as c:  # a laboratory registered before 0010 stays valid: both columns default to ""
        c.execute(
            text(
                "INSERT INTO laboratory (name, address, accreditation_code, phone, email, certificate_numbering) "
                "VALUES ('TĐC', 'Huế', 'VILAS 1', '', '', 'HC-{seq}')"
            )
        )
    upgrade(bare_engine, "0010")
    with bare_engine.connect() as c:
        row = c.execute(text("SELECT certificate_numbering, verification_numbering, notice_numbering FROM laboratory"))
        assert tuple(row.one()) == ("HC-{seq}", "", "")
    assert "certificate_sequence" in inspect(bare_engine).get_table_names()
    downgrade(bare_engine, "0009")
    assert "certificate_sequence" not in inspect(bare_engine).get_table_names()
    assert not {"verification_numbering", "notice_numbering"} & {
        c["name"] for c in inspect(bare_engine).get_columns("laboratory")
    }
