"""Certificate numbering per kind, and the running numbers per kind and year (issue 17.6, decision 0450).

Upgrade: ``laboratory`` gets ``verification_numbering`` and ``notice_numbering`` (patterns like
``certificate_numbering``, which stays the calibration certificates' pattern; "" when not set, and an empty notice
pattern means a notice of non-conformity takes the verification pattern and its running numbers), both NOT NULL
with server default "" so a registered laboratory stays valid. A new table ``certificate_sequence`` holds the last
running number used per series (``calibration``, ``verification``, ``notice``) and year; the issuing transaction
locks and advances its row.
Downgrade: drops the table and both columns (the running numbers are lost: the next number is taken after the
highest registered certificate number only if the lab sets the sequence again by hand; re-run the upgrade instead).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("laboratory") as batch:
        batch.add_column(sa.Column("verification_numbering", sa.String(80), nullable=False, server_default=""))
        batch.add_column(sa.Column("notice_numbering", sa.String(80), nullable=False, server_default=""))
    op.create_table(
        "certificate_sequence",
        sa.Column("series", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.CheckConstraint("last >= 0", name=op.f("ck_certificate_sequence_last_not_negative")),
        sa.PrimaryKeyConstraint("series", "year", name=op.f("pk_certificate_sequence")),
    )


def downgrade() -> None:
    op.drop_table("certificate_sequence")
    with op.batch_alter_table("laboratory") as batch:
        batch.drop_column("notice_numbering")
        batch.drop_column("verification_numbering")
