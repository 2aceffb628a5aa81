"""Measuring instruments: the resolution gets its own unit (a water meter's range is a flow in m³/h, its scale
interval a volume in L), and uniqueness is on a normalised identity key (manufacturer, model and serial compared
case- and space-insensitively) instead of the exact strings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

instrument = sa.table(
    "measuring_instrument",
    sa.column("id", sa.Integer),
    sa.column("manufacturer", sa.String),
    sa.column("model", sa.String),
    sa.column("serial_number", sa.String),
    sa.column("range_unit", sa.String),
    sa.column("resolution", sa.Float),
    sa.column("resolution_unit", sa.String),
    sa.column("identity_key", sa.String),
)


def _identity(*parts: str | None) -> str:
    # A frozen copy of registry.models.instrument_identity as of this revision (migrations must not import models).
    return "|".join(" ".join(unicodedata.normalize("NFC", p or "").casefold().split()) for p in parts)


def upgrade() -> None:
    with op.batch_alter_table("measuring_instrument") as batch:
        batch.add_column(sa.Column("resolution_unit", sa.String(length=20), nullable=False, server_default=""))
        batch.add_column(sa.Column("identity_key", sa.String(length=330), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            instrument.c.id,
            instrument.c.manufacturer,
            instrument.c.model,
            instrument.c.serial_number,
            instrument.c.range_unit,
            instrument.c.resolution,
        )
    ).all()
    for row in rows:
        bind.execute(
            instrument.update()
            .where(instrument.c.id == row.id)
            .values(
                identity_key=_identity(row.manufacturer, row.model, row.serial_number),
                resolution_unit=row.range_unit if row.resolution is not None else "",
            )
        )
    with op.batch_alter_table("measuring_instrument") as batch:
        batch.alter_column("resolution_unit", server_default=None)
        batch.alter_column("identity_key", existing_type=sa.String(length=330), nullable=False)
        batch.drop_constraint("uq_measuring_instrument_manufacturer_model_serial_number", type_="unique")
        batch.create_unique_constraint("uq_measuring_instrument_identity_key", ["identity_key"])


def downgrade() -> None:
    with op.batch_alter_table("measuring_instrument") as batch:
        batch.drop_constraint("uq_measuring_instrument_identity_key", type_="unique")
        batch.create_unique_constraint(
            "uq_measuring_instrument_manufacturer_model_serial_number", ["manufacturer", "model", "serial_number"]
        )
        batch.drop_column("identity_key")
        batch.drop_column("resolution_unit")
