"""Operator actions and cancel requests persisted with the run (issue 15.2, decisions 0310 and 0311).

Upgrade: creates ``operator_action`` (every request the engine made to the operator of a run: the action, what it
expects, its deadline, and its answer with who gave it) and ``run_cancel`` (requests to stop a running run, and
when the engine acted on them). Both start empty: runs executed before this revision asked their operators through
the terminal only, and nothing of that was recorded to convert.

Downgrade: drops both tables. Their rows (answered actions, cancel requests) are not kept anywhere else except in
the audit log, where every insert and update of them was recorded as it happened.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("pending", "answered", "timedOut", "cancelled", "withdrawn", "superseded")


def upgrade() -> None:
    op.create_table(
        "operator_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text_vi", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("expects", sa.String(length=8), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*STATUSES, name="action_status", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.Column("answer_value", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=120), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "answer IS NULL OR answer IN ('done', 'value', 'stop')", name=op.f("ck_operator_action_answer")
        ),
        sa.CheckConstraint("expects IN ('done', 'value')", name=op.f("ck_operator_action_expects")),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_operator_action_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_action")),
    )
    with op.batch_alter_table("operator_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operator_action_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_operator_action_status_run", ["status", "run_id"], unique=False)
    op.create_table(
        "run_cancel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("abort", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_run_cancel_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_cancel")),
    )
    with op.batch_alter_table("run_cancel", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_cancel_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_cancel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_cancel_run_id"))
    op.drop_table("run_cancel")
    with op.batch_alter_table("operator_action", schema=None) as batch_op:
        batch_op.drop_index("ix_operator_action_status_run")
        batch_op.drop_index(batch_op.f("ix_operator_action_run_id"))
    op.drop_table("operator_action")
