"""Measuring instruments: serial numbers that differ only by case or spaces are one instrument (issue 14.6).

``identity_key`` (manufacturer|model|serial) is recomputed ignoring every space, not only repeated ones
(``B912 345678`` = ``b912345678``), as docs/registry-import.md promises; a new indexed column ``serial_key`` holds
the serial number so keyed, so that a run finds its instrument by a serial number typed with other case or spaces.

Registered instruments that become one under the new key (two rows for one instrument, imported before this
revision) stop the upgrade with a message naming them; nothing is changed. Which row is the right one is the lab's
decision (runs and certificates point at them): correct the serial numbers or merge the records, then upgrade
again. Keys that change are recorded in one ``migrate`` audit event (id, old key, new key), continuing the chain.

Downgrade: the keys of 0002 (repeated spaces collapsed) again, ``serial_key`` dropped; it cannot collide, the old
key being the finer one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from registry.errors import MigrationRefusedError

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
ACTOR = "migration 0005"

instrument = sa.table(
    "measuring_instrument",
    sa.column("id", sa.Integer),
    sa.column("owner_id", sa.Integer),
    sa.column("manufacturer", sa.String),
    sa.column("model", sa.String),
    sa.column("serial_number", sa.String),
    sa.column("identity_key", sa.String),
    sa.column("serial_key", sa.String),
)
audit_log = sa.table(
    "audit_log",
    sa.column("seq", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("payload", sa.Text),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
audit_head = sa.table(
    "audit_head", sa.column("id", sa.Integer), sa.column("seq", sa.Integer), sa.column("hash", sa.String)
)


# --- frozen copies (migrations must not import the models) as of this revision -------------------------------------


def _part(text: str | None) -> str:
    """registry.vocabulary.identity_part: NFC, casefolded, every space removed."""
    return "".join(unicodedata.normalize("NFC", text or "").casefold().split())


def _identity(*parts: str | None) -> str:
    return "|".join(_part(p) for p in parts)


def _identity_0002(*parts: str | None) -> str:
    return "|".join(" ".join(unicodedata.normalize("NFC", p or "").casefold().split()) for p in parts)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot record {type(value).__name__} in the audit log")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _audit(action: str, entity: str, entity_id: str, payload: dict[str, Any]) -> None:
    """Append one named event to the audit chain, after its head (as ``registry.audit.append`` does)."""
    bind = op.get_bind()
    head = bind.execute(sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    seq, prev = (head.seq, head.hash) if head is not None else (0, GENESIS)
    seq += 1
    at = datetime.now(UTC)
    body = _canonical(payload)
    digest = hashlib.sha256(
        _canonical([seq, at, ACTOR, action, entity, entity_id, body, prev]).encode("utf-8")
    ).hexdigest()
    stored_at = at.replace(tzinfo=None) if bind.dialect.name == "sqlite" else at  # as registry.models.UTCDateTime
    bind.execute(
        audit_log.insert().values(
            seq=seq,
            at=stored_at,
            actor=ACTOR,
            action=action,
            entity=entity,
            entity_id=entity_id,
            payload=body,
            prev_hash=prev,
            hash=digest,
        )
    )
    if head is None:
        bind.execute(audit_head.insert().values(id=1, seq=seq, hash=digest))
    else:
        bind.execute(audit_head.update().where(audit_head.c.id == 1).values(seq=seq, hash=digest))


def _rekey(keys: list[dict[str, Any]], *, serial: bool) -> None:
    """Set each row's ``identity_key`` (and with ``serial`` its ``serial_key``): ``[{_id, _identity, _serial}]``."""
    if not keys:
        return
    values: dict[str, Any] = {"identity_key": sa.bindparam("_identity")}
    if serial:
        values["serial_key"] = sa.bindparam("_serial")
    op.get_bind().execute(instrument.update().where(instrument.c.id == sa.bindparam("_id")).values(**values), keys)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            instrument.c.id,
            instrument.c.owner_id,
            instrument.c.manufacturer,
            instrument.c.model,
            instrument.c.serial_number,
            instrument.c.identity_key,
        ).order_by(instrument.c.id)
    ).all()
    groups: dict[str, list[Any]] = {}
    for row in rows:
        groups.setdefault(_identity(row.manufacturer, row.model, row.serial_number), []).append(row)
    clashes = [group for group in groups.values() if len(group) > 1]
    if clashes:
        named = "; ".join(
            " and ".join(
                f"instrument #{r.id} ({' / '.join(t for t in (r.manufacturer, r.model, r.serial_number) if t)!r}, "
                f"customer #{r.owner_id})"
                for r in group
            )
            for group in clashes[:20]
        )
        more = f" (and {len(clashes) - 20} more)" if len(clashes) > 20 else ""
        raise MigrationRefusedError(
            f"{len(clashes)} instrument(s) are registered twice with serial numbers that differ only by case or "
            f"spaces, which from this version are one instrument: {named}{more}. Correct the serial numbers or "
            "merge the records (keep the one its runs and certificates point at), then run `caltrace db upgrade` "
            "again. Nothing was changed."
        )
    with op.batch_alter_table("measuring_instrument") as batch:
        batch.add_column(sa.Column("serial_key", sa.String(length=80), nullable=True))
    keys = []
    changed = []
    for row in rows:
        new = _identity(row.manufacturer, row.model, row.serial_number)
        keys.append({"_id": row.id, "_identity": new, "_serial": _part(row.serial_number)})
        if new != row.identity_key:
            changed.append({"id": row.id, "old": row.identity_key, "new": new})
    _rekey(keys, serial=True)
    with op.batch_alter_table("measuring_instrument") as batch:
        batch.alter_column("serial_key", existing_type=sa.String(length=80), nullable=False)
        batch.create_index(batch.f("ix_measuring_instrument_serial_key"), ["serial_key"], unique=False)
    if changed:
        _audit(
            "migrate",
            "measuring_instrument",
            "0005",
            {"revision": "0005", "direction": "up", "identity_keys": changed},
        )


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            instrument.c.id,
            instrument.c.manufacturer,
            instrument.c.model,
            instrument.c.serial_number,
            instrument.c.identity_key,
        ).order_by(instrument.c.id)
    ).all()
    keys = []
    changed = []
    for row in rows:
        old = _identity_0002(row.manufacturer, row.model, row.serial_number)
        keys.append({"_id": row.id, "_identity": old})
        if old != row.identity_key:
            changed.append({"id": row.id, "old": row.identity_key, "new": old})
    with op.batch_alter_table("measuring_instrument") as batch:
        batch.drop_index(batch.f("ix_measuring_instrument_serial_key"))
        batch.drop_column("serial_key")
    _rekey(keys, serial=False)
    if changed:
        _audit(
            "migrate",
            "measuring_instrument",
            "0005",
            {"revision": "0005", "direction": "down", "identity_keys": changed},
        )
