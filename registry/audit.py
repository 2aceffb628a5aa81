"""The append-only audit log, chained by hashes.

Each entry's ``hash`` is the SHA-256 of the canonical JSON array ``[seq, at, actor, action, entity, entity_id,
payload, prev_hash]``; the first entry's ``prev_hash`` is 64 zeros. Every insert, update and delete made through a
registry session is recorded automatically after the flush, in the same transaction: the change and its audit entry
commit or roll back together. Writers lock the single ``audit_head`` row, so concurrent transactions extend the chain
one after the other instead of forking it. Database triggers refuse UPDATE and DELETE on the log. A column marked
``info={"redact": True}`` (a password hash) is recorded as :data:`REDACTED`: the log says that it was set or
changed, never its value.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, insert, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import get_history

from registry.models import AuditEntry, AuditHead, Base

GENESIS = "0" * 64
_INSTALLED = "caltrace_audit_installed"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds") if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot record {type(value).__name__} in the audit log")


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: record them as strings so the canonical form stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


#: value types that :func:`_clean` leaves alone (bar non-finite floats) and JSON writes the same way everywhere
_SCALARS = (str, int, float, bool, type(None), date, datetime, Decimal, enum.Enum)


def _flat(value: Any) -> bool:
    """True for a dict with text keys, or a list, whose values are all scalars: nothing for :func:`_clean` to do
    except non-finite floats, which ``allow_nan=False`` catches."""
    if type(value) is dict:
        return all(type(k) is str and isinstance(v, _SCALARS) for k, v in value.items())
    if type(value) is list:
        return all(isinstance(v, _SCALARS) for v in value)
    return False


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text kept as is."""
    if _flat(value):  # the common case (a row's columns), without rebuilding it: the same text, faster
        try:
            return json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default, allow_nan=False
            )
        except ValueError:  # NaN or infinity: written as text by _clean
            pass
    return json.dumps(_clean(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def entry_hash(
    seq: int, at: datetime, actor: str, action: str, entity: str, entity_id: str, payload: str, prev_hash: str
) -> str:
    """SHA-256 (hex) of one entry's canonical form."""
    body = canonical_json([seq, at, actor, action, entity, entity_id, payload, prev_hash])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Change:
    """One audited event before it gets its place in the chain."""

    action: str
    entity: str
    entity_id: str
    payload: dict[str, Any]


def append(connection: Connection, actor: str, changes: Iterable[Change]) -> list[int]:
    """Append ``changes`` to the chain inside the caller's transaction; returns their sequence numbers."""
    changes = list(changes)
    if not changes:
        return []
    head = connection.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        seq, prev = 0, GENESIS
        connection.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
    else:
        seq, prev = head.seq, head.hash
    at = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for change in changes:
        seq += 1
        payload = canonical_json(change.payload)
        digest = entry_hash(seq, at, actor, change.action, change.entity, change.entity_id, payload, prev)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": change.action,
                "entity": change.entity,
                "entity_id": change.entity_id,
                "payload": payload,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    connection.execute(insert(AuditEntry), rows)
    connection.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    return [int(row["seq"]) for row in rows]


def record(session: Session, action: str, entity: str, entity_id: str, payload: dict[str, Any]) -> None:
    """Record a named event (e.g. ``import``, ``sign``) in the session's transaction."""
    actor = str(session.info.get("actor") or "system")
    append(session.connection(), actor, [Change(action, entity, entity_id, payload)])


def _identity(obj: Any) -> str:
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return key[0] if len(key) == 1 and isinstance(key[0], str) else "/".join(str(k) for k in key)


#: what the log records instead of a column marked ``info={"redact": True}`` (a password hash): that it changed
REDACTED = "(redacted)"


def _redacted(attr: Any) -> bool:
    """True for a column whose value must not be copied into the log (``info={"redact": True}``)."""
    return any(column.info.get("redact") for column in attr.columns)


def _columns(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    return {attr.key: REDACTED if _redacted(attr) else getattr(obj, attr.key) for attr in state.mapper.column_attrs}


def _changes_of(session: Session) -> Iterator[Change]:
    for obj in list(session.new):
        if isinstance(obj, Base) and not isinstance(obj, AuditEntry | AuditHead):
            yield Change("insert", obj.__tablename__, _identity(obj), _columns(obj))
    for obj in list(session.dirty):
        if not isinstance(obj, Base) or isinstance(obj, AuditEntry | AuditHead) or not session.is_modified(obj):
            continue
        diff: dict[str, Any] = {}
        for attr in inspect(obj).mapper.column_attrs:
            history = get_history(obj, attr.key)
            if history.has_changes():
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                diff[attr.key] = [REDACTED, REDACTED] if _redacted(attr) else [old, new]
        if diff:
            yield Change("update", obj.__tablename__, _identity(obj), diff)
    for obj in list(session.deleted):
        if isinstance(obj, Base) and not isinstance(obj, AuditEntry | AuditHead):
            yield Change("delete", obj.__tablename__, _identity(obj), _columns(obj))


def _after_flush(session: Session, _context: Any) -> None:
    changes = list(_changes_of(session))
    if changes:
        append(session.connection(), str(session.info.get("actor") or "system"), changes)


def install(factory: sessionmaker[Session]) -> None:
    """Audit every flush of sessions made by ``factory``."""
    if not factory.kw.get("info", {}).get(_INSTALLED):
        event.listen(factory, "after_flush", _after_flush)
        factory.kw.setdefault("info", {})[_INSTALLED] = True


@dataclass(frozen=True)
class Verification:
    """Outcome of :func:`verify`: ``ok``, how many entries were checked, and the first broken one."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def verify(session: Session) -> Verification:
    """Recompute the whole chain; report the first entry whose hash, link or number is wrong."""
    expected_seq, prev = 1, GENESIS
    checked = 0
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000))
    for row in rows.scalars():
        if row.seq != expected_seq:
            return Verification(False, checked, expected_seq, f"entry {expected_seq} is missing (next is {row.seq})")
        if row.prev_hash != prev:
            return Verification(False, checked, row.seq, "its prev_hash does not match the previous entry's hash")
        digest = entry_hash(row.seq, row.at, row.actor, row.action, row.entity, row.entity_id, row.payload, prev)
        if digest != row.hash:
            return Verification(False, checked, row.seq, "its content does not match its hash (altered)")
        prev = row.hash
        expected_seq += 1
        checked += 1
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    last = expected_seq - 1
    if checked == 0:
        held = _records(session)
        if held:
            # every change to the registry is appended to the log in its own transaction: records without a
            # single entry mean the log (and its head) was emptied, not that nothing ever happened
            return Verification(
                False,
                0,
                1,
                f"the audit log is empty but the registry holds {held} records (entries removed, the log emptied)",
            )
    if head is None:
        if checked:
            return Verification(False, checked, None, "the audit head row is missing")
        return Verification(True, 0)
    if head.seq != last or head.hash != prev:
        return Verification(
            False, checked, last + 1, f"the head records entry {head.seq} but the log ends at {last} (entries removed)"
        )
    return Verification(True, checked)


def _records(session: Session) -> int:
    """How many rows the audited tables hold (every table but the log and its head)."""
    total = 0
    for table in Base.metadata.sorted_tables:
        if table.name in (AuditEntry.__tablename__, AuditHead.__tablename__):
            continue
        total += session.scalar(select(func.count()).select_from(table)) or 0
    return total


def latest(session: Session, count: int) -> list[AuditEntry]:
    """The newest ``count`` entries, oldest first."""
    newest = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(count))
    return list(reversed(list(newest)))


def events(session: Session, entity: str, action: str) -> list[tuple[str, datetime, dict[str, Any]]]:
    """(entity id, time (UTC), payload) of every audit entry of ``entity`` with ``action``, oldest first."""
    rows = session.execute(
        select(AuditEntry.entity_id, AuditEntry.at, AuditEntry.payload)
        .where(AuditEntry.entity == entity, AuditEntry.action == action)
        .order_by(AuditEntry.seq)
    ).all()
    return [(entity_id, at, json.loads(payload)) for entity_id, at, payload in rows]
