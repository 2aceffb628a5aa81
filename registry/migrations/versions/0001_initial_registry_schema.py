"""Initial registry schema: laboratory and CMC, customers and instruments, reference standards and their
certificates, staff and authorisations, procedures, runs and results, certificates, and the hash-chained audit log
(append-only: triggers refuse UPDATE and DELETE on it).

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# SQL that makes the audit log append-only, per dialect: (create statements, drop statements).
APPEND_ONLY = {
    "sqlite": (
        [
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        ],
        ["DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete"],
    ),
    "postgresql": (
        [
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
        ],
        [
            "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
            "DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log",
            "DROP FUNCTION IF EXISTS audit_log_append_only()",
        ],
    ),
}


def upgrade() -> None:

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("entity", sa.String(length=60), nullable=False),
        sa.Column("entity_id", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    for statement in APPEND_ONLY[op.get_bind().dialect.name][0]:
        op.execute(statement)
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tax_code", sa.String(length=14), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("contact_name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("tax_code", name=op.f("uq_customer_tax_code")),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_name"), ["name"], unique=False)

    op.create_table(
        "laboratory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("accreditation_code", sa.String(length=40), nullable=True),
        sa.Column("designation_code", sa.String(length=40), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_laboratory")),
        sa.UniqueConstraint("accreditation_code", name=op.f("uq_laboratory_accreditation_code")),
    )
    op.create_table(
        "procedure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "calibration",
                "verification",
                "test",
                name="procedure_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "field",
            sa.Enum(
                "mass",
                "volume-flow",
                "electrical",
                "temperature",
                "pressure",
                "length",
                "other",
                name="field",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("method_reference", sa.String(length=200), nullable=False),
        sa.Column("definition_sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_procedure_code_version")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("officer_card", sa.String(length=40), nullable=True),
        sa.Column("officer_card_expires", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )
    op.create_table(
        "authorisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("procedure_code", sa.String(length=60), nullable=False),
        sa.Column("can_perform", sa.Boolean(), nullable=False),
        sa.Column("can_review", sa.Boolean(), nullable=False),
        sa.Column("can_sign", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_authorisation_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorisation")),
        sa.UniqueConstraint("staff_id", "procedure_code", name=op.f("uq_authorisation_staff_id_procedure_code")),
    )
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authorisation_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "cmc_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("laboratory_id", sa.Integer(), nullable=False),
        sa.Column(
            "field",
            sa.Enum(
                "mass",
                "volume-flow",
                "electrical",
                "temperature",
                "pressure",
                "length",
                "other",
                name="field",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("quantity", sa.String(length=80), nullable=False),
        sa.Column("instrument_kind", sa.String(length=120), nullable=False),
        sa.Column("range_min", sa.Float(), nullable=False),
        sa.Column("range_max", sa.Float(), nullable=False),
        sa.Column("range_unit", sa.String(length=20), nullable=False),
        sa.Column("cmc", sa.Float(), nullable=False),
        sa.Column("cmc_unit", sa.String(length=20), nullable=False),
        sa.Column("cmc_relative", sa.Boolean(), nullable=False),
        sa.Column("method_reference", sa.String(length=200), nullable=False),
        sa.CheckConstraint("cmc > 0", name=op.f("ck_cmc_entry_cmc_positive")),
        sa.CheckConstraint("range_min <= range_max", name=op.f("ck_cmc_entry_range_order")),
        sa.ForeignKeyConstraint(
            ["laboratory_id"], ["laboratory.id"], name=op.f("fk_cmc_entry_laboratory_id_laboratory"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cmc_entry")),
    )
    with op.batch_alter_table("cmc_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cmc_entry_laboratory_id"), ["laboratory_id"], unique=False)

    op.create_table(
        "measuring_instrument",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=120), nullable=False),
        sa.Column(
            "field",
            sa.Enum(
                "mass",
                "volume-flow",
                "electrical",
                "temperature",
                "pressure",
                "length",
                "other",
                name="field",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("manufacturer", sa.String(length=120), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("serial_number", sa.String(length=80), nullable=False),
        sa.Column("range_text", sa.String(length=80), nullable=False),
        sa.Column("range_min", sa.Float(), nullable=True),
        sa.Column("range_max", sa.Float(), nullable=True),
        sa.Column("range_unit", sa.String(length=20), nullable=False),
        sa.Column("resolution", sa.Float(), nullable=True),
        sa.Column("accuracy_class", sa.String(length=40), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("group2", sa.Boolean(), nullable=False),
        sa.Column("interval_months", sa.Integer(), nullable=False),
        sa.Column("last_calibrated", sa.Date(), nullable=True),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.CheckConstraint("interval_months > 0", name=op.f("ck_measuring_instrument_interval_positive")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["customer.id"], name=op.f("fk_measuring_instrument_owner_id_customer"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measuring_instrument")),
        sa.UniqueConstraint(
            "manufacturer",
            "model",
            "serial_number",
            name=op.f("uq_measuring_instrument_manufacturer_model_serial_number"),
        ),
    )
    with op.batch_alter_table("measuring_instrument", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measuring_instrument_next_due"), ["next_due"], unique=False)
        batch_op.create_index(batch_op.f("ix_measuring_instrument_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "reference_standard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("laboratory_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=120), nullable=False),
        sa.Column(
            "field",
            sa.Enum(
                "mass",
                "volume-flow",
                "electrical",
                "temperature",
                "pressure",
                "length",
                "other",
                name="field",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("manufacturer", sa.String(length=120), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("serial_number", sa.String(length=80), nullable=False),
        sa.Column("range_min", sa.Float(), nullable=True),
        sa.Column("range_max", sa.Float(), nullable=True),
        sa.Column("range_unit", sa.String(length=20), nullable=False),
        sa.Column("accuracy_class", sa.String(length=40), nullable=False),
        sa.Column("resolution", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("driver_model", sa.String(length=60), nullable=False),
        sa.Column("traceability", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["laboratory_id"],
            ["laboratory.id"],
            name=op.f("fk_reference_standard_laboratory_id_laboratory"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_standard")),
        sa.UniqueConstraint("code", name=op.f("uq_reference_standard_code")),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "created",
                "running",
                "paused",
                "completed",
                "reviewed",
                "aborted",
                name="run_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_step", sa.String(length=80), nullable=False),
        sa.Column("checkpoint", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "overall",
            sa.Enum(
                "pass",
                "fail",
                "conditionalPass",
                "conditionalFail",
                "noPass",
                "noFail",
                "notAssessed",
                name="conformity",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["measuring_instrument.id"],
            name=op.f("fk_run_instrument_id_measuring_instrument"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"], ["procedure.id"], name=op.f("fk_run_procedure_id_procedure"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["staff.id"], name=op.f("fk_run_reviewer_id_staff"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"], ["staff.id"], name=op.f("fk_run_technician_id_staff"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run")),
    )
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_instrument_id"), ["instrument_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_run_procedure_id"), ["procedure_id"], unique=False)
        batch_op.create_index("ix_run_state_finished", ["state", "finished_at"], unique=False)

    op.create_table(
        "standard_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("calibrated_on", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("calibrated_against_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("calibrated_on <= due_on", name=op.f("ck_standard_certificate_due_after_calibration")),
        sa.ForeignKeyConstraint(
            ["calibrated_against_id"],
            ["reference_standard.id"],
            name=op.f("fk_standard_certificate_calibrated_against_id_reference_standard"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["reference_standard.id"],
            name=op.f("fk_standard_certificate_standard_id_reference_standard"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_certificate")),
        sa.UniqueConstraint("issuer", "number", name=op.f("uq_standard_certificate_issuer_number")),
    )
    with op.batch_alter_table("standard_certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_standard_certificate_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_standard_certificate_standard_id"), ["standard_id"], unique=False)

    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "calibration",
                "verification",
                "test",
                name="procedure_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "issued",
                "amended",
                "substituted",
                "revoked",
                name="certificate_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("signer_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("xml_sha256", sa.String(length=64), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_certificate_customer_id_customer"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["measuring_instrument.id"],
            name=op.f("fk_certificate_instrument_id_measuring_instrument"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"],
            ["certificate.id"],
            name=op.f("fk_certificate_replaced_by_id_certificate"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_certificate_run_id_run"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["signer_id"], ["staff.id"], name=op.f("fk_certificate_signer_id_staff"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("number", name=op.f("uq_certificate_number")),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_run_id"), ["run_id"], unique=False)

    op.create_table(
        "environment_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("phase", sa.String(length=80), nullable=False),
        sa.Column("quantity", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("within_limits", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["run.id"], name=op.f("fk_environment_record_run_id_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environment_record")),
    )
    with op.batch_alter_table("environment_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_environment_record_run_id"), ["run_id"], unique=False)

    op.create_table(
        "result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(length=80), nullable=False),
        sa.Column("point", sa.Float(), nullable=True),
        sa.Column("point_unit", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("expanded_uncertainty", sa.Float(), nullable=True),
        sa.Column("coverage_factor", sa.Float(), nullable=True),
        sa.Column("mpe", sa.Float(), nullable=True),
        sa.Column(
            "conformity",
            sa.Enum(
                "pass",
                "fail",
                "conditionalPass",
                "conditionalFail",
                "noPass",
                "noFail",
                "notAssessed",
                name="conformity",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("budget", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_result_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result")),
        sa.UniqueConstraint("run_id", "seq", name=op.f("uq_result_run_id_seq")),
    )
    with op.batch_alter_table("result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_result_run_id"), ["run_id"], unique=False)

    op.create_table(
        "run_standard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["standard_certificate.id"],
            name=op.f("fk_run_standard_certificate_id_standard_certificate"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_run_standard_run_id_run"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["reference_standard.id"],
            name=op.f("fk_run_standard_standard_id_reference_standard"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_standard")),
        sa.UniqueConstraint("run_id", "standard_id", "role", name=op.f("uq_run_standard_run_id_standard_id_role")),
    )
    with op.batch_alter_table("run_standard", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_standard_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_run_standard_standard_id"), ["standard_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("run_standard", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_standard_standard_id"))
        batch_op.drop_index(batch_op.f("ix_run_standard_run_id"))

    op.drop_table("run_standard")
    with op.batch_alter_table("result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_result_run_id"))

    op.drop_table("result")
    with op.batch_alter_table("environment_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_environment_record_run_id"))

    op.drop_table("environment_record")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_run_id"))
        batch_op.drop_index(batch_op.f("ix_certificate_issued_at"))
        batch_op.drop_index(batch_op.f("ix_certificate_customer_id"))

    op.drop_table("certificate")
    with op.batch_alter_table("standard_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standard_certificate_standard_id"))
        batch_op.drop_index(batch_op.f("ix_standard_certificate_due_on"))

    op.drop_table("standard_certificate")
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_index("ix_run_state_finished")
        batch_op.drop_index(batch_op.f("ix_run_procedure_id"))
        batch_op.drop_index(batch_op.f("ix_run_instrument_id"))

    op.drop_table("run")
    op.drop_table("reference_standard")
    with op.batch_alter_table("measuring_instrument", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measuring_instrument_owner_id"))
        batch_op.drop_index(batch_op.f("ix_measuring_instrument_next_due"))

    op.drop_table("measuring_instrument")
    with op.batch_alter_table("cmc_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cmc_entry_laboratory_id"))

    op.drop_table("cmc_entry")
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorisation_staff_id"))

    op.drop_table("authorisation")
    op.drop_table("staff")
    op.drop_table("procedure")
    op.drop_table("laboratory")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_name"))

    op.drop_table("customer")
    for statement in APPEND_ONLY[op.get_bind().dialect.name][1]:
        op.execute(statement)
    op.drop_table("audit_log")
    op.drop_table("audit_head")
