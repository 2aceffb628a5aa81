"""Prepackage lots get their own table; a run tests an instrument or a lot (decision 0304).

Upgrade: creates ``prepackage_lot``; ``run`` gets ``lot_id`` and ``instrument_id`` becomes nullable, with a CHECK
that exactly one is set. Every measuring instrument that a ``prepackage-r87`` run points at (the lot registered as
an instrument, decision 0301) becomes a lot: packer = owner, product = model, brand = manufacturer, lot number =
serial number, nominal quantity = range_max in range_unit (else the newest run's ``nominal_g``), lot size = the
newest run's ``lot_size`` parameter (stored in the checkpoint by the run engine). Its runs are repointed to the
lot. The instrument row is then deleted, unless something else still refers to it (a certificate, or a run of
another procedure): that row is kept and named in the audit entry. One ``migrate`` event in the audit log records
the conversion with every converted instrument row in full, so nothing that was registered is lost, and the hash
chain continues from its head (``caltrace audit verify`` stays intact).

Data the conversion cannot make sense of (no usable nominal quantity, no lot size in any run, two instruments that
would become the same lot) stops the upgrade with a message naming the instrument; nothing is changed.

Downgrade: every lot becomes a measuring instrument again (kind ``Lô hàng đóng gói sẵn``, as 0301 registered
them) and its runs are repointed; the lot's fields an instrument has no column for (lot size, dates, sampling
place, notes) are kept in the audit entry of the downgrade. A lot whose instrument identity is already taken is
refused with a message.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
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

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCEDURE = "prepackage-r87"
LOT_KIND = "Lô hàng đóng gói sẵn"
GENESIS = "0" * 64
ACTOR = "migration 0004"
#: units of a registered instrument's range that a lot's nominal quantity may take over, by their spellings
UNITS = {"g": "g", "kg": "kg", "ml": "mL", "l": "L"}

customer = sa.table("customer", sa.column("id", sa.Integer), sa.column("name", sa.String))
instrument = sa.table(
    "measuring_instrument",
    *(
        sa.column(name, sa.Integer if name in ("id", "owner_id", "interval_months") else sa.String)
        for name in (
            "id",
            "owner_id",
            "kind",
            "field",
            "manufacturer",
            "model",
            "serial_number",
            "range_text",
            "range_unit",
            "resolution_unit",
            "accuracy_class",
            "location",
            "identity_key",
            "interval_months",
        )
    ),
    sa.column("range_min", sa.Float),
    sa.column("range_max", sa.Float),
    sa.column("resolution", sa.Float),
    sa.column("group2", sa.Boolean),
    sa.column("last_calibrated", sa.Date),
    sa.column("next_due", sa.Date),
)
lot = sa.table(
    "prepackage_lot",
    sa.column("id", sa.Integer),
    sa.column("packer_id", sa.Integer),
    sa.column("product", sa.String),
    sa.column("brand", sa.String),
    sa.column("lot_number", sa.String),
    sa.column("lot_size", sa.Integer),
    sa.column("nominal_quantity", sa.Float),
    sa.column("nominal_unit", sa.String),
    sa.column("packed_on", sa.Date),
    sa.column("sampled_on", sa.Date),
    sa.column("sampling_place", sa.String),
    sa.column("notes", sa.Text),
)
run = sa.table(
    "run",
    sa.column("id", sa.String),
    sa.column("procedure_id", sa.Integer),
    sa.column("instrument_id", sa.Integer),
    sa.column("lot_id", sa.Integer),
    sa.column("created_at", sa.DateTime),
    sa.column("checkpoint", sa.JSON),
)
procedure = sa.table("procedure", sa.column("id", sa.Integer), sa.column("code", sa.String))
certificate = sa.table("certificate", sa.column("id", sa.Integer), sa.column("instrument_id", sa.Integer))
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


# --- frozen copies (migrations must not import the models): registry.audit's canonical form and hash, and
# registry.models.instrument_identity, as of this revision -----------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot record {type(value).__name__} in the audit log")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _identity(*parts: str | None) -> str:
    return "|".join(" ".join(unicodedata.normalize("NFC", p or "").casefold().split()) for p in parts)


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


# --- upgrade ---------------------------------------------------------------------------------------------------------


def _parameter(checkpoints: list[dict[str, Any]], name: str) -> Any:
    """The newest run's value of parameter ``name`` (runs newest first), or None."""
    for checkpoint in checkpoints:
        value = (checkpoint or {}).get("parameters", {}).get(name)
        if value is not None:
            return value
    return None


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _plan_lots() -> list[tuple[dict[str, Any], dict[str, Any], list[str]]]:
    """(instrument row, lot values, run ids) for every instrument a prepackage-r87 run points at."""
    bind = op.get_bind()
    lot_runs = bind.execute(
        sa.select(run.c.id, run.c.instrument_id, run.c.checkpoint)
        .join(procedure, procedure.c.id == run.c.procedure_id)
        .where(procedure.c.code == PROCEDURE)
        .order_by(run.c.created_at.desc(), run.c.id)
    ).all()
    by_instrument: dict[int, list[Any]] = {}
    for row in lot_runs:
        by_instrument.setdefault(row.instrument_id, []).append(row)
    plans = []
    problems = []
    seen: dict[tuple[int, str], int] = {}
    for inst_id, runs_of in sorted(by_instrument.items()):
        inst = bind.execute(sa.select(instrument).where(instrument.c.id == inst_id)).mappings().one()
        checkpoints = [r.checkpoint if isinstance(r.checkpoint, dict) else json.loads(r.checkpoint) for r in runs_of]
        what = f"instrument #{inst_id} (serial {inst['serial_number']!r}, tested by {PROCEDURE})"
        unit = UNITS.get((inst["range_unit"] or "").strip().casefold())
        nominal = _positive(inst["range_max"]) if unit else None
        if nominal is None:
            nominal, unit = _positive(_parameter(checkpoints, "nominal_g")), "g"
        if nominal is None:
            problems.append(f"{what} has no nominal quantity: set its range_max (> 0) and range_unit (g, kg, mL or L)")
        size = _positive(_parameter(checkpoints, "lot_size"))
        if size is None or size != int(size):
            problems.append(f"{what}: none of its runs stores a lot_size parameter (a whole number > 0)")
        key = (inst["owner_id"], inst["serial_number"])
        if key in seen:
            problems.append(
                f"{what} and instrument #{seen[key]} have the same owner and serial number: they would be the "
                "same lot; change one serial number (lot number)"
            )
        seen.setdefault(key, inst_id)
        values = {
            "packer_id": inst["owner_id"],
            "product": inst["model"] or inst["kind"],
            "brand": inst["manufacturer"] or "",
            "lot_number": inst["serial_number"],
            "lot_size": int(size) if size else 0,
            "nominal_quantity": nominal,
            "nominal_unit": unit,
            "packed_on": None,
            "sampled_on": None,
            "sampling_place": inst["location"] or "",
            "notes": f"converted from measuring instrument #{inst_id} by migration 0004",
        }
        plans.append((dict(inst), values, [r.id for r in runs_of]))
    if problems:
        raise MigrationRefusedError(
            "migration 0004 cannot turn the prepackage lots registered as instruments into lots: "
            + "; ".join(problems)
            + ". Nothing was changed: correct these records (or abort and delete those runs), then run "
            "`caltrace db upgrade` again"
        )
    return plans


def upgrade() -> None:
    op.create_table(
        "prepackage_lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("packer_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("brand", sa.String(length=120), nullable=False),
        sa.Column("lot_number", sa.String(length=80), nullable=False),
        sa.Column("lot_size", sa.Integer(), nullable=False),
        sa.Column("nominal_quantity", sa.Float(), nullable=False),
        sa.Column("nominal_unit", sa.String(length=8), nullable=False),
        sa.Column("packed_on", sa.Date(), nullable=True),
        sa.Column("sampled_on", sa.Date(), nullable=True),
        sa.Column("sampling_place", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.CheckConstraint("lot_size > 0", name=op.f("ck_prepackage_lot_lot_size_positive")),
        sa.CheckConstraint("nominal_quantity > 0", name=op.f("ck_prepackage_lot_nominal_positive")),
        sa.CheckConstraint("nominal_unit IN ('g', 'kg', 'mL', 'L')", name=op.f("ck_prepackage_lot_nominal_unit")),
        sa.ForeignKeyConstraint(
            ["packer_id"], ["customer.id"], name=op.f("fk_prepackage_lot_packer_id_customer"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prepackage_lot")),
        sa.UniqueConstraint("packer_id", "lot_number", name=op.f("uq_prepackage_lot_packer_id_lot_number")),
    )
    with op.batch_alter_table("prepackage_lot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prepackage_lot_packer_id"), ["packer_id"], unique=False)
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lot_id", sa.Integer(), nullable=True))
        batch_op.alter_column("instrument_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_run_lot_id_prepackage_lot"), "prepackage_lot", ["lot_id"], ["id"], ondelete="RESTRICT"
        )
        batch_op.create_index(batch_op.f("ix_run_lot_id"), ["lot_id"], unique=False)

    bind = op.get_bind()
    converted = []
    for inst, values, run_ids in _plan_lots():
        lot_id = bind.execute(lot.insert().values(**values).returning(lot.c.id)).scalar_one()
        bind.execute(run.update().where(run.c.id.in_(run_ids)).values(instrument_id=None, lot_id=lot_id))
        still_used = (
            bind.execute(
                sa.select(sa.func.count()).select_from(run).where(run.c.instrument_id == inst["id"])
            ).scalar_one()
            + bind.execute(
                sa.select(sa.func.count()).select_from(certificate).where(certificate.c.instrument_id == inst["id"])
            ).scalar_one()
        )
        if not still_used:
            bind.execute(instrument.delete().where(instrument.c.id == inst["id"]))
        converted.append({"instrument": inst, "lot_id": lot_id, "runs": run_ids, "instrument_deleted": not still_used})
    if converted:
        _audit("migrate", "prepackage_lot", "0004", {"revision": "0004", "direction": "up", "lots": converted})

    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_run_one_subject"),
            "(instrument_id IS NOT NULL AND lot_id IS NULL) OR (instrument_id IS NULL AND lot_id IS NOT NULL)",
        )


# --- downgrade -------------------------------------------------------------------------------------------------------


def downgrade() -> None:
    bind = op.get_bind()
    lots = [dict(row) for row in bind.execute(sa.select(lot).order_by(lot.c.id)).mappings()]
    taken = {row.identity_key: row.id for row in bind.execute(sa.select(instrument.c.id, instrument.c.identity_key))}
    problems = []
    for row in lots:
        key = _identity(row["brand"], row["product"], row["lot_number"])
        if key in taken:
            problems.append(
                f"lot #{row['id']} ({row['lot_number']!r}, {row['product']!r}) would become the same instrument as "
                f"measuring instrument #{taken[key]}"
            )
        taken.setdefault(key, -row["id"])
    if problems:
        raise MigrationRefusedError(
            "downgrading below 0004 turns every prepackage lot back into a measuring instrument, but "
            + "; ".join(problems)
            + ". Nothing was changed: change that instrument's serial number (or the lot's number), then downgrade "
            "again"
        )
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_run_one_subject"), type_="check")
    converted = []
    for row in lots:
        mass = row["nominal_unit"] in ("g", "kg")
        inst_id = bind.execute(
            instrument.insert()
            .values(
                owner_id=row["packer_id"],
                kind=LOT_KIND,
                field="mass" if mass else "volume-flow",
                manufacturer=row["brand"],
                model=row["product"],
                serial_number=row["lot_number"],
                range_text=f"{row['nominal_quantity']:g} {row['nominal_unit']}",
                range_min=0.0,
                range_max=row["nominal_quantity"],
                range_unit=row["nominal_unit"],
                resolution=None,
                resolution_unit="",
                accuracy_class="",
                location=row["sampling_place"][:200],
                identity_key=_identity(row["brand"], row["product"], row["lot_number"]),
                group2=False,
                interval_months=12,
                last_calibrated=None,
                next_due=None,
            )
            .returning(instrument.c.id)
        ).scalar_one()
        run_ids = [r.id for r in bind.execute(sa.select(run.c.id).where(run.c.lot_id == row["id"]).order_by(run.c.id))]
        bind.execute(run.update().where(run.c.lot_id == row["id"]).values(instrument_id=inst_id, lot_id=None))
        converted.append({"lot": row, "instrument_id": inst_id, "runs": run_ids})
    if converted:
        _audit("migrate", "prepackage_lot", "0004", {"revision": "0004", "direction": "down", "lots": converted})
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_lot_id"))
        batch_op.drop_constraint(batch_op.f("fk_run_lot_id_prepackage_lot"), type_="foreignkey")
        batch_op.alter_column("instrument_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("lot_id")
    with op.batch_alter_table("prepackage_lot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prepackage_lot_packer_id"))
    op.drop_table("prepackage_lot")
