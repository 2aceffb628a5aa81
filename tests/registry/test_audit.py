"""The audit log: every change recorded, chained by hashes, tampering detected, concurrent writers serialised."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from datetime import UTC

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from registry import audit
from registry.db import make_engine, session_factory, session_scope
from registry.models import AuditEntry, AuditHead, Customer


def add_customers(engine: Engine, names: list[str], actor: str = "tester") -> None:
    for name in names:
        with session_scope(engine, actor) as s:
            s.add(Customer(name=name))


def bypass_triggers(engine: Engine, sql: str, **params: object) -> None:
    """Tamper with the log the way an attacker with database access would: around the append-only triggers."""
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            c.execute(text("DROP TRIGGER audit_log_no_update"))
            c.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        c.execute(text(sql), params)


def verify(engine: Engine) -> audit.Verification:
    with session_factory(engine)() as s:
        return audit.verify(s)


def test_changes_are_recorded_with_actor_and_values(engine: Engine) -> None:
    add_customers(engine, ["Công ty A"], actor="lan")
    with session_scope(engine, "minh") as s:
        customer = s.scalars(select(Customer)).one()
        customer.tax_code = "0101234567"
    with session_scope(engine, "minh") as s:
        s.delete(s.scalars(select(Customer)).one())
    with session_factory(engine)() as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert [(e.seq, e.actor, e.action, e.entity) for e in entries] == [
        (1, "lan", "insert", "customer"),
        (2, "minh", "update", "customer"),
        (3, "minh", "delete", "customer"),
    ]
    assert json.loads(entries[0].payload)["name"] == "Công ty A"
    assert json.loads(entries[1].payload) == {"tax_code": [None, "0101234567"]}
    assert entries[0].entity_id == entries[1].entity_id == entries[2].entity_id != ""
    assert verify(engine) == audit.Verification(True, 3)


def test_hash_is_sha256_of_the_documented_canonical_form(engine: Engine) -> None:
    add_customers(engine, ["Công ty A", "Công ty B"])
    with session_factory(engine)() as s:
        first, second = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    for entry, prev in ((first, "0" * 64), (second, first.hash)):
        body = [
            entry.seq,
            entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
            entry.actor,
            entry.action,
            entry.entity,
            entry.entity_id,
            entry.payload,
            prev,
        ]
        canonical = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        assert entry.prev_hash == prev
        assert entry.hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_rolled_back_change_leaves_no_entry(engine: Engine) -> None:
    add_customers(engine, ["A"])
    with pytest.raises(RuntimeError), session_scope(engine, "x") as s:
        s.add(Customer(name="B"))
        s.flush()
        raise RuntimeError("crash after the flush")
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 1
        assert s.scalar(select(func.count()).select_from(Customer)) == 1
    assert verify(engine).ok


@pytest.mark.parametrize(
    ("tamper", "broken", "reason"),
    [
        ("UPDATE audit_log SET payload = replace(payload, 'C2', 'C9') WHERE seq = 2", 2, "altered"),
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", 3, "altered"),
        ("DELETE FROM audit_log WHERE seq = 2", 2, "missing"),
        ("DELETE FROM audit_log WHERE seq = 4", 4, "removed"),
    ],
)
def test_tampering_is_detected(engine: Engine, tamper: str, broken: int, reason: str) -> None:
    add_customers(engine, ["C1", "C2", "C3", "C4"])
    assert verify(engine).ok
    bypass_triggers(engine, tamper)
    result = verify(engine)
    assert not result.ok
    assert result.broken_seq == broken
    assert reason in result.reason


def test_an_emptied_log_is_detected_while_the_registry_holds_records(engine: Engine) -> None:
    """Emptying the log and resetting its head to the genesis leaves a consistent-looking empty chain; the records it
    should have covered give it away (issue 14: it used to say "intact: 0 entries")."""
    assert verify(engine).ok and verify(engine).checked == 0  # a new registry: nothing held, nothing logged
    add_customers(engine, ["C1", "C2"])
    bypass_triggers(engine, "DELETE FROM audit_log")
    with engine.begin() as c:
        c.execute(text("UPDATE audit_head SET seq = 0, hash = :g WHERE id = 1"), {"g": audit.GENESIS})
    result = verify(engine)
    assert not result.ok and result.checked == 0 and result.broken_seq == 1
    assert "empty but the registry holds 2 records" in result.reason


def test_rehashed_forgery_breaks_the_next_link(engine: Engine) -> None:
    """An attacker who rewrites an entry *and* its hash still breaks the chain at the following entry."""
    add_customers(engine, ["C1", "C2", "C3"])
    with session_factory(engine)() as s:
        e2 = s.get(AuditEntry, 2)
        assert e2 is not None
        forged_payload = e2.payload.replace("C2", "C7")
        forged = audit.entry_hash(
            e2.seq, e2.at, e2.actor, e2.action, e2.entity, e2.entity_id, forged_payload, e2.prev_hash
        )
    bypass_triggers(engine, "UPDATE audit_log SET payload = :p, hash = :h WHERE seq = 2", p=forged_payload, h=forged)
    result = verify(engine)
    assert (result.ok, result.broken_seq) == (False, 3)


def _writer(url: str, prefix: str, count: int) -> None:
    engine = make_engine(url)
    add_customers(engine, [f"{prefix}{i}" for i in range(count)], actor=prefix)
    engine.dispose()


def test_two_concurrent_writers_lose_no_rows(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    count = 40
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(url, prefix, count)) for prefix in ("a", "b")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 2 * count
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 2 * count
    assert verify(engine) == audit.Verification(True, 2 * count)


def test_a_migrated_database_starts_with_the_audit_head_row(engine: Engine) -> None:
    """Two first writers lock the same existing row instead of both creating it (a unique violation on
    PostgreSQL before revision 0003)."""
    with session_factory(engine)() as s:
        head = s.get(AuditHead, 1)
        assert head is not None and (head.seq, head.hash) == (0, "0" * 64)  # genesis: 64 zero hex digits
    assert verify(engine) == audit.Verification(True, 0)
