"""A CMC line can be withdrawn without vanishing (issue 16.1, ``caltrace registry cmc deactivate``).

Upgrade: ``cmc_entry`` gets ``active`` (NOT NULL, server default true, so registered lines stay in force). A
withdrawn line is kept: certificates issued while it was in force stated it, and the registry's history must still
show it. Downgrade: drops the column (every line is in force again; deactivate them again after an upgrade).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cmc_entry") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("cmc_entry") as batch:
        batch.drop_column("active")
