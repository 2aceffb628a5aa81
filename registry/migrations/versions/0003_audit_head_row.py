"""The audit chain's head row exists from the start (seq 0, the genesis hash).

Writers lock that row to extend the chain. Before this revision the first writer created it, so two transactions
writing the very first entries at once (on PostgreSQL) could both try to insert it and one failed with a unique
violation. Data only; the downgrade keeps the row (the older code uses an existing head row as it is).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64  # registry.audit.GENESIS, the prev_hash of entry 1


def upgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO audit_head (id, seq, hash) SELECT 1, 0, :genesis "
            "WHERE NOT EXISTS (SELECT 1 FROM audit_head WHERE id = 1)"
        ).bindparams(genesis=GENESIS)
    )


def downgrade() -> None:
    pass  # the row is valid for revision 0002 too
