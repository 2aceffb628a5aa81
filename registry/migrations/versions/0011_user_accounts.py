"""Logins to the caltrace service (issue 18.4, decision 0500).

Upgrade: creates ``user_account`` (username, the member of staff it acts as, argon2 password hash, roles, the
failed-login counter and lock, the token version that invalidates earlier tokens). It starts empty: accounts are
made with ``caltrace users add`` (or, in demo mode, by ``caltrace serve --demo``).

Downgrade: drops the table. The accounts are gone (their creation and changes stay in the audit log, the password
hashes redacted); make them again with ``caltrace users add`` after an upgrade.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("failed_logins >= 0", name=op.f("ck_user_account_failed_logins")),
        sa.CheckConstraint("roles <> ''", name=op.f("ck_user_account_roles")),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_user_account_staff_id_staff"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("username", name=op.f("uq_user_account_username")),
    )
    with op.batch_alter_table("user_account") as batch:
        batch.create_index(batch.f("ix_user_account_staff_id"), ["staff_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_index(batch.f("ix_user_account_staff_id"))
    op.drop_table("user_account")
