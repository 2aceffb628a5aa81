"""The registry under concurrent use (issue 14.3): readers never wait for writers, writers that find the lock held
retry and then give up with a clear error, and an import checks its rows in a read transaction and writes them in a
short write transaction with the same result as the one-transaction import."""

from __future__ import annotations

import json
import math
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from registry import audit, importer
from registry.db import make_engine, read_session, retry_when_locked, session_factory, session_scope, upgrade
from registry.errors import RegistryBusyError, RegistryError
from registry.importer import import_instruments, import_instruments_concurrently
from registry.models import AuditEntry, Customer, MeasuringInstrument, MetrologyField, Staff
from tests.registry.test_importer import HA_DONG, TODAY, counts, good, mixed_rows, seed, write_csv


def _raw(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_the_two_phase_import_reports_and_writes_what_the_one_transaction_import_does(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    path = write_csv(tmp_path / "mixed.csv", mixed_rows())
    with session_factory(engine)() as session:  # the one-transaction import, rolled back
        session.info["actor"] = "probe"
        expected = import_instruments(session, path, today=TODAY).to_dict()
        session.rollback()
    report = import_instruments_concurrently(engine, path, actor="tester", today=TODAY)
    assert report.to_dict() == expected
    assert report.write_seconds is not None and report.write_seconds >= 0
    assert report.imported == 6 and len(report.rejected_rows) == 18  # mixed_rows: 6 good, 18 bad
    with read_session(engine) as s:
        assert audit.verify(s).ok
        # each imported instrument's audit entry records every column as written, with its id
        for inst in s.scalars(select(MeasuringInstrument).where(MeasuringInstrument.serial_number != "21HA000001")):
            entry = s.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity == "measuring_instrument",
                    AuditEntry.entity_id == str(inst.id),
                    AuditEntry.action == "insert",
                )
            ).one()
            columns = {c.key: getattr(inst, c.key) for c in MeasuringInstrument.__table__.columns}
            assert json.loads(entry.payload) == json.loads(audit.canonical_json(columns))
            assert entry.actor == "tester"
        # the existing customer got its instrument; no second Hà Đông was created
        assert len(s.scalars(select(Customer).where(Customer.name == HA_DONG)).all()) == 1


def test_a_row_registered_by_someone_else_while_the_file_was_checked_is_checked_again(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "i.csv", [mixed_rows()[0], good("X-1"), good("X-2")])
    real_check = importer.driver._check
    rechecks: list[int] = []

    def check_then_someone_registers_x2(imp: Any, prepared: Any) -> Any:
        accepted = real_check(imp, prepared)
        if not rechecks:
            with session_scope(engine, "colleague") as s:
                owner = Customer(name="Another owner")
                s.add(
                    MeasuringInstrument(
                        owner=owner,
                        kind="Cân kỹ thuật",
                        field=MetrologyField.MASS,
                        manufacturer="Ohaus",
                        model="PX4202",
                        serial_number="X-2",
                        interval_months=12,
                    )
                )
        rechecks.append(1)
        return accepted

    monkeypatch.setattr(importer.driver, "_check", check_then_someone_registers_x2)
    report = import_instruments_concurrently(engine, path, actor="tester", today=TODAY)
    assert len(rechecks) == 2  # checked in the read transaction, then again in the write transaction
    assert report.imported == 1
    assert [(i.row, i.column) for i in report.rejected] == [(3, "serial_number")]
    assert "already registered" in report.rejected[0].reason
    with read_session(engine) as s:
        assert sorted(s.scalars(select(MeasuringInstrument.serial_number))) == ["X-1", "X-2"]


def test_changes_the_checks_do_not_depend_on_do_not_force_a_second_check(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "i.csv", [mixed_rows()[0], good("Y-1")])
    real_check = importer.driver._check
    calls: list[int] = []

    def check_then_unrelated_change(imp: Any, prepared: Any) -> Any:
        calls.append(1)
        accepted = real_check(imp, prepared)
        with session_scope(engine, "admin") as s:  # e.g. a run's checkpoint, or a new member of staff
            s.add(Staff(username=f"s{len(calls)}", full_name="Staff"))
        return accepted

    monkeypatch.setattr(importer.driver, "_check", check_then_unrelated_change)
    report = import_instruments_concurrently(engine, path, actor="tester", today=TODAY)
    assert calls == [1] and report.imported == 1


def test_a_dry_run_checked_in_a_read_transaction_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    before = counts(engine)
    report = import_instruments_concurrently(
        engine, write_csv(tmp_path / "m.csv", mixed_rows()), actor="t", today=TODAY, dry_run=True
    )
    assert report.imported == 6 and report.dry_run and report.write_seconds is None
    assert counts(engine) == before


# --- locks --------------------------------------------------------------------------------------------------------


def test_readers_do_not_wait_for_a_writer_and_writers_give_up_after_their_retries(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    main = make_engine(url, busy_timeout_s=0.2)
    upgrade(main)
    with session_scope(main, "t") as s:
        s.add(Customer(name="A"))
    holder = make_engine(url).connect()
    holder.execute(text("INSERT INTO customer (name, address, contact_name, phone, email) VALUES ('B','','','','')"))
    try:
        started = time.monotonic()
        with read_session(main) as s:  # a snapshot: the committed A, not the pending B
            assert s.scalars(select(Customer.name)).all() == ["A"]
        assert time.monotonic() - started < 0.15  # less than the busy timeout: it did not wait

        def write() -> None:
            with session_scope(main, "t") as s:
                s.add(Customer(name="C"))

        started = time.monotonic()
        with pytest.raises(RegistryBusyError, match=r"locked by another writer .* over 3 attempts, so customer C"):
            retry_when_locked(write, what="customer C", attempts=3, backoff_s=0.05)
        # 3 attempts of 0.2 s busy timeout, and back-offs of 0.05 + 0.1 s between them
        assert 0.7 <= time.monotonic() - started < 5
    finally:
        holder.rollback()
        holder.close()
    with read_session(main) as s:
        assert s.scalars(select(Customer.name)).all() == ["A"]  # nothing of the failed writes
    main.dispose()


def test_a_read_only_session_refuses_to_write(engine: Engine) -> None:
    with read_session(engine) as s, pytest.raises(RegistryError, match="read-only"):
        s.add(Customer(name="Z"))
        s.flush()


def test_other_errors_are_not_retried(engine: Engine) -> None:
    calls: list[int] = []

    def write() -> None:
        calls.append(1)
        with session_scope(engine, "t") as s:
            s.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(Exception, match="no_such_table"):
        retry_when_locked(write, what="x", attempts=3, backoff_s=0.01)
    assert calls == [1]


# --- the audit log's canonical JSON: the fast path gives the same text ------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"id": 5, "kind": "Cân phân tích", "field": MetrologyField.MASS, "range_min": 0.0, "resolution": 1e-5},
        {"last": date(2025, 1, 31), "at": datetime(2026, 1, 1, 12), "n": None, "g2": False, "d": Decimal("0.10")},
        {"nan": math.nan, "inf": -math.inf, "ok": 1.5},  # non-finite floats: written as text
        [7, datetime(2026, 1, 1), "actor", "insert", "run", "abc", '{"a":1}', "0" * 64],
        {"nested": {"b": 1, "a": [1, 2, {"z": math.nan}]}, "t": (1, 2)},
        {True: 1, None: 2, 3: 4},  # keys that are not text: str() as before
    ],
)
def test_canonical_json_is_unchanged(value: Any) -> None:
    before = json.dumps(  # the definition before the fast path: clean everything, then dump
        audit._clean(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=audit._json_default
    )
    assert audit.canonical_json(value) == before


def test_every_connection_has_a_busy_timeout(engine: Engine) -> None:
    """SQLite's busy_timeout and PostgreSQL's lock_timeout: 30 s by default, or as given."""
    quick = make_engine(_raw(engine), busy_timeout_s=0.25)
    try:
        for eng, expected in ((engine, ("30000", "30s")), (quick, ("250", "250ms"))):
            with eng.connect() as c:
                if eng.dialect.name == "sqlite":
                    assert str(c.exec_driver_sql("PRAGMA busy_timeout").scalar()) == expected[0]
                else:
                    assert c.exec_driver_sql("SHOW lock_timeout").scalar() == expected[1]
    finally:
        quick.dispose()
    if engine.dialect.name == "postgresql":  # options given in the URL are kept
        url = engine.url.update_query_dict({"options": "-c statement_timeout=5000"})
        own = make_engine(url.render_as_string(hide_password=False))
        try:
            with own.connect() as c:
                assert c.exec_driver_sql("SHOW statement_timeout").scalar() == "5s"
                assert c.exec_driver_sql("SHOW lock_timeout").scalar() == "30s"
        finally:
            own.dispose()
