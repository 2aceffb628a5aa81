"""The result contract (decisions 0330, 0331) and certificates of prepackage lots (issue 15.3, 15.4).

``result``: the free JSON ``budget`` (an uncertainty budget mixed with the raw evidence, and the decision rule,
method reference and note the run engine kept beside them) becomes the declared budget shape in ``budget`` (NULL
when the result states no uncertainty), the evidence in ``evidence``, and the columns ``decision_rule``,
``method_reference`` and ``note``.

Upgrade, per row: ``rule``, ``reference`` and ``note`` leave the blob for their columns. When the rest is an
uncertainty budget (a ``rows`` list and ``u``, ``k``, ``U``), its budget keys (model, unit, rows, u, dof, k,
coverage_probability, U) form ``budget``: ``model`` becomes "" when absent, each row gets ``source`` and ``unit``
("" when absent; ``note`` stays where there is one); every other key is evidence. Otherwise the whole rest is
evidence and ``budget`` is NULL.
Downgrade merges them back exactly as the run engine wrote them before this revision: ``{**budget, **evidence,
"rule", "reference", "note"}`` with the empty ``model`` and ``source`` upgrade added removed (NULL budget:
``{}``).

Conformity: one vocabulary (pass, fail, conditionalPass, conditionalFail, notAssessed; decision 0331). caltrace
never wrote DCC's ``noPass``/``noFail``, but any stored ones (results and runs' overall) are converted
conservatively: ``noPass`` → ``fail`` (it is not a pass; the run engine already counted it as a fail) and
``noFail`` → ``notAssessed`` (not failing is not a demonstrated pass: no statement rather than an overstated one);
a converted result's note says so, and one ``migrate`` audit event lists every converted row. The CHECK constraints
of the conformity columns take the five values. Downgrade widens them again; converted values stay converted (the
audit event keeps the originals).

``certificate``: its subject is a measuring instrument or a prepackage lot, exactly one (``lot_id`` added,
``instrument_id`` nullable, CHECK ``one_subject``), as for runs (0004). Downgrade refuses, changing nothing, while
any certificate has a lot as its subject: the older schema cannot hold it (revoke or delete those drafts first).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from registry.errors import MigrationRefusedError

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
ACTOR = "migration 0006"
#: the keys of the declared budget shape (acquisition.methods.base.Budget.as_json) as of this revision
BUDGET_KEYS = ("model", "unit", "rows", "u", "dof", "k", "coverage_probability", "U")
#: what the run engine kept beside the budget in the blob before this revision
TEXTS = (("rule", "decision_rule"), ("reference", "method_reference"), ("note", "note"))
OLD_CONFORMITY = ("pass", "fail", "conditionalPass", "conditionalFail", "noPass", "noFail", "notAssessed")
NEW_CONFORMITY = ("pass", "fail", "conditionalPass", "conditionalFail", "notAssessed")
CONVERT = {"noPass": "fail", "noFail": "notAssessed"}
ONE_SUBJECT = "(instrument_id IS NOT NULL AND lot_id IS NULL) OR (instrument_id IS NULL AND lot_id IS NOT NULL)"

result = sa.table(
    "result",
    sa.column("id", sa.Integer),
    sa.column("run_id", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("conformity", sa.String),
    sa.column("budget", sa.JSON(none_as_null=True)),
    sa.column("evidence", sa.JSON),
    sa.column("decision_rule", sa.Text),
    sa.column("method_reference", sa.Text),
    sa.column("note", sa.Text),
)
run = sa.table("run", sa.column("id", sa.String), sa.column("overall", sa.String))
certificate = sa.table(
    "certificate", sa.column("id", sa.Integer), sa.column("number", sa.String), sa.column("lot_id", sa.Integer)
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


def _in(values: Sequence[str]) -> str:
    return "conformity IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _conformity_check(table: str, column: str, values: Sequence[str]) -> None:
    """Replace the CHECK of an enum column (named ``ck_<table>_conformity`` by the models' naming convention)."""
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(f"ck_{table}_conformity"), type_="check")
        batch.create_check_constraint(op.f(f"ck_{table}_conformity"), _in(values).replace("conformity", column, 1))


# --- the split ----------------------------------------------------------------------------------------------------


def split(blob: dict[str, Any] | None) -> dict[str, Any]:
    """The new columns of one result from its pre-0006 ``budget`` blob (see the module docstring)."""
    rest = dict(blob or {})
    out: dict[str, Any] = {column: str(rest.pop(key, "") or "") for key, column in TEXTS}
    is_budget = isinstance(rest.get("rows"), list) and all(key in rest for key in ("u", "k", "U"))
    if not is_budget:
        out |= {"budget": None, "evidence": rest}
        return out
    budget = {key: rest.pop(key) for key in BUDGET_KEYS if key in rest}
    budget.setdefault("model", "")
    rows = []
    for old in budget["rows"]:
        row = dict(old)
        for key in ("source", "unit"):
            row[key] = row.get(key) or ""
        rows.append(row)
    budget["rows"] = rows
    out |= {"budget": {key: budget.get(key) for key in BUDGET_KEYS}, "evidence": rest}
    return out


def merge(
    budget: dict[str, Any] | None, evidence: dict[str, Any] | None, rule: str, reference: str, note: str
) -> dict[str, Any]:
    """The pre-0006 blob of one result, as the run engine wrote it: ``{**budget, **evidence, rule, reference, note}``
    (the empty ``model`` and row ``source`` that :func:`split` adds left out)."""
    blob: dict[str, Any] = {}
    if budget is not None:
        blob = {key: value for key, value in budget.items() if not (key == "model" and not value)}
        blob["rows"] = [
            {key: value for key, value in row.items() if not (key in ("source", "note") and not value)}
            for row in budget.get("rows") or []
        ]
    return {**blob, **(evidence or {}), "rule": rule, "reference": reference, "note": note}


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- upgrade -------------------------------------------------------------------------------------------------------


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("result") as batch:
        batch.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("decision_rule", sa.Text(), nullable=True))
        batch.add_column(sa.Column("method_reference", sa.Text(), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.alter_column("budget", existing_type=sa.JSON(), nullable=True)

    converted: list[dict[str, Any]] = []
    rows = bind.execute(sa.select(result.c.id, result.c.run_id, result.c.seq, result.c.conformity, result.c.budget))
    updates = []
    for row in rows.all():
        values = split(_loaded(row.budget))
        values["_id"] = row.id
        values["conformity"] = CONVERT.get(row.conformity, row.conformity)
        if values["conformity"] != row.conformity:
            why = (
                f"conformity recorded as {row.conformity!r} before caltrace's one vocabulary; restated as "
                f"{values['conformity']!r} by migration 0006 (decision 0331)"
            )
            values["note"] = f"{values['note']}; {why}" if values["note"] else why
            converted.append(
                {
                    "table": "result",
                    "run_id": row.run_id,
                    "seq": row.seq,
                    "old": row.conformity,
                    "new": values["conformity"],
                }
            )
        updates.append(values)
    if updates:
        bind.execute(
            result.update()
            .where(result.c.id == sa.bindparam("_id"))
            .values(
                conformity=sa.bindparam("conformity"),
                budget=sa.bindparam("budget", type_=sa.JSON(none_as_null=True)),
                evidence=sa.bindparam("evidence", type_=sa.JSON()),
                decision_rule=sa.bindparam("decision_rule"),
                method_reference=sa.bindparam("method_reference"),
                note=sa.bindparam("note"),
            ),
            updates,
        )
    for old, new in CONVERT.items():
        ids = bind.execute(sa.select(run.c.id).where(run.c.overall == old).order_by(run.c.id)).scalars().all()
        if ids:
            bind.execute(run.update().where(run.c.id.in_(ids)).values(overall=new))
            converted.extend({"table": "run", "run_id": rid, "old": old, "new": new} for rid in ids)

    with op.batch_alter_table("result") as batch:
        batch.alter_column("evidence", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("decision_rule", existing_type=sa.Text(), nullable=False)
        batch.alter_column("method_reference", existing_type=sa.Text(), nullable=False)
        batch.alter_column("note", existing_type=sa.Text(), nullable=False)
    _conformity_check("result", "conformity", NEW_CONFORMITY)
    _conformity_check("run", "overall", NEW_CONFORMITY)

    with op.batch_alter_table("certificate") as batch:
        batch.add_column(sa.Column("lot_id", sa.Integer(), nullable=True))
        batch.alter_column("instrument_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            batch.f("fk_certificate_lot_id_prepackage_lot"), "prepackage_lot", ["lot_id"], ["id"], ondelete="RESTRICT"
        )
        batch.create_index(batch.f("ix_certificate_lot_id"), ["lot_id"], unique=False)
        batch.create_check_constraint(op.f("ck_certificate_one_subject"), ONE_SUBJECT)

    if converted:
        _audit("migrate", "result", "0006", {"revision": "0006", "direction": "up", "conformity": converted})


# --- downgrade -----------------------------------------------------------------------------------------------------


def downgrade() -> None:
    bind = op.get_bind()
    lot_certificates = bind.execute(
        sa.select(certificate.c.id, certificate.c.number)
        .where(certificate.c.lot_id.is_not(None))
        .order_by(certificate.c.id)
    ).all()
    if lot_certificates:
        named = ", ".join(f"#{c.id} ({c.number})" for c in lot_certificates[:20])
        more = f" and {len(lot_certificates) - 20} more" if len(lot_certificates) > 20 else ""
        raise MigrationRefusedError(
            f"downgrading below 0006 cannot keep certificates of prepackage lots (the older schema has an instrument "
            f"as every certificate's subject): {named}{more}. Nothing was changed: stay at this version, or delete "
            "those draft certificates (issued ones are kept for the record: do not downgrade), then downgrade again"
        )
    with op.batch_alter_table("certificate") as batch:
        batch.drop_constraint(op.f("ck_certificate_one_subject"), type_="check")
        batch.drop_index(batch.f("ix_certificate_lot_id"))
        batch.drop_constraint(batch.f("fk_certificate_lot_id_prepackage_lot"), type_="foreignkey")
        batch.alter_column("instrument_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("lot_id")

    _conformity_check("run", "overall", OLD_CONFORMITY)
    _conformity_check("result", "conformity", OLD_CONFORMITY)

    rows = bind.execute(
        sa.select(
            result.c.id,
            result.c.budget,
            result.c.evidence,
            result.c.decision_rule,
            result.c.method_reference,
            result.c.note,
        )
    ).all()
    blobs = [
        {
            "_id": row.id,
            "blob": merge(
                _loaded(row.budget), _loaded(row.evidence), row.decision_rule, row.method_reference, row.note
            ),
        }
        for row in rows
    ]
    if blobs:
        bind.execute(
            result.update()
            .where(result.c.id == sa.bindparam("_id"))
            .values(budget=sa.bindparam("blob", type_=sa.JSON())),
            blobs,
        )
    with op.batch_alter_table("result") as batch:
        batch.alter_column("budget", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("note")
        batch.drop_column("method_reference")
        batch.drop_column("decision_rule")
        batch.drop_column("evidence")
