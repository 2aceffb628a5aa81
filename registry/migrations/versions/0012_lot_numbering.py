"""A numbering pattern for the results of prepackage lot checks (OIML R87), the fourth certificate series
(issue 17.1 and 17.6, decision 0450).

Upgrade: ``laboratory`` gets ``lot_numbering`` (NOT NULL, server default ""): a pattern like the others; empty, a
lot check result takes the verification pattern and its running numbers (as a notice does), so a registered
laboratory stays valid. The running numbers go to ``certificate_sequence`` under the series ``lot``.
Downgrade: drops the column (its running numbers stay in ``certificate_sequence``, unused).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("laboratory") as batch:
        batch.add_column(sa.Column("lot_numbering", sa.String(80), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("laboratory") as batch:
        batch.drop_column("lot_numbering")
