"""The laboratory's logo and certificate numbering pattern (issue 16.1, setting up a centre).

Upgrade: ``laboratory`` gets ``logo_path`` (a file path, "" when none) and ``certificate_numbering`` (a pattern such
as ``{year}/HC-{seq:05d}``, "" when not set), both NOT NULL with server default "" so registered rows stay valid.
Downgrade: drops both columns (their values are lost; the laboratory spreadsheet can set them again).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("laboratory") as batch:
        batch.add_column(sa.Column("logo_path", sa.String(300), nullable=False, server_default=""))
        batch.add_column(sa.Column("certificate_numbering", sa.String(80), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("laboratory") as batch:
        batch.drop_column("certificate_numbering")
        batch.drop_column("logo_path")
