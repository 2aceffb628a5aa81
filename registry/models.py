"""The shared metrology database: SQLAlchemy 2 models.

Every table has an Alembic migration in ``registry/migrations``; a change here without a migration fails the test
that compares the models with the migrated schema. Times are stored as UTC and come back as aware UTC datetimes;
dates (calibration, due, expiry) are calendar dates in the lab's time zone.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy import true as sa_true
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from registry.vocabulary import MetrologyField as MetrologyField  # noqa: PLC0414 - re-exported for callers
from registry.vocabulary import identity_part

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    """Current time, aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned as an aware UTC datetime (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(cls: type[enum.Enum], name: str) -> SAEnum:
    """A portable enum column: stored as its string values, checked by a CHECK constraint."""
    return SAEnum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (Alembic needs them to drop constraints)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


# --- enumerations -------------------------------------------------------------------------------------------------


class ProcedureKind(enum.StrEnum):
    """What a procedure produces: a calibration (no pass/fail by law) or a legal verification (kiểm định)."""

    CALIBRATION = "calibration"
    VERIFICATION = "verification"
    TEST = "test"


class RunState(enum.StrEnum):
    """States of a calibration or verification run."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    REVIEWED = "reviewed"
    ABORTED = "aborted"


class CertificateStatus(enum.StrEnum):
    """Life of a certificate: drafts are edited; issued ones are only amended, substituted or revoked."""

    DRAFT = "draft"
    ISSUED = "issued"
    AMENDED = "amended"
    SUBSTITUTED = "substituted"
    REVOKED = "revoked"


class Conformity(enum.StrEnum):
    """Conformity statement of one result or run: the one vocabulary (decision 0331), DCC 3.3.0 ``conformity``
    values that ILAC G8:09/2019 decision rules give, plus not-assessed (no statement). DCC's ``noPass``/``noFail``
    are not used; migration 0006 converted any stored ones."""

    PASS = "pass"
    FAIL = "fail"
    CONDITIONAL_PASS = "conditionalPass"
    CONDITIONAL_FAIL = "conditionalFail"
    NOT_ASSESSED = "notAssessed"


# --- the laboratory -------------------------------------------------------------------------------------------------


class Laboratory(Base):
    """A calibration / verification laboratory (a TĐC centre), with its accreditation code (e.g. ``VILAS 123``)."""

    __tablename__ = "laboratory"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    accreditation_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    designation_code: Mapped[str | None] = mapped_column(String(40))  # verification designation by the authority
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    logo_path: Mapped[str] = mapped_column(String(300), default="", server_default="")  # image file for reports
    #: calibration certificates' number pattern, e.g. ``HC-{year}-{seq:06d}`` (placeholders: year, yy, month, seq);
    #: "" unset
    certificate_numbering: Mapped[str] = mapped_column(String(80), default="", server_default="")
    #: the pattern of verification certificates (giấy chứng nhận kiểm định), e.g. ``KĐ-{year}-{seq:06d}``; ""
    #: unset (migration 0010)
    verification_numbering: Mapped[str] = mapped_column(String(80), default="", server_default="")
    #: the pattern of notices of non-conformity; "" shares the verification pattern and its running numbers
    #: (decision 0450)
    notice_numbering: Mapped[str] = mapped_column(String(80), default="", server_default="")
    #: prepackage lot check results (OIML R87); "" shares the verification pattern and its numbers (migration 0012)
    lot_numbering: Mapped[str] = mapped_column(String(80), default="", server_default="")

    cmc: Mapped[list[CmcEntry]] = relationship(back_populates="laboratory", cascade="all, delete-orphan")


class CmcEntry(Base):
    """One line of the lab's CMC table: quantity, range and the smallest expanded uncertainty it may state.

    ``cmc`` is in ``cmc_unit`` (absolute) or, when ``cmc_relative`` is true, a relative value (e.g. 2e-6 for 2 ppm).
    """

    __tablename__ = "cmc_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    laboratory_id: Mapped[int] = mapped_column(ForeignKey("laboratory.id", ondelete="CASCADE"), index=True)
    field: Mapped[MetrologyField] = mapped_column(_enum(MetrologyField, "field"))
    quantity: Mapped[str] = mapped_column(String(80))
    instrument_kind: Mapped[str] = mapped_column(String(120), default="")
    range_min: Mapped[float] = mapped_column(Float)
    range_max: Mapped[float] = mapped_column(Float)
    range_unit: Mapped[str] = mapped_column(String(20))
    cmc: Mapped[float] = mapped_column(Float)
    cmc_unit: Mapped[str] = mapped_column(String(20), default="")
    cmc_relative: Mapped[bool] = mapped_column(Boolean, default=False)
    method_reference: Mapped[str] = mapped_column(String(200), default="")
    #: False once withdrawn (``caltrace registry cmc deactivate``): no longer offered, kept for the history of the
    #: certificates that stated it
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    laboratory: Mapped[Laboratory] = relationship(back_populates="cmc")

    __table_args__ = (
        CheckConstraint("range_min <= range_max", name="range_order"),
        CheckConstraint("cmc > 0", name="cmc_positive"),
    )


# --- customers and their instruments -------------------------------------------------------------------------------


class Customer(Base):
    """An enterprise or organisation whose instruments the lab calibrates or verifies.

    ``tax_code`` is the Vietnamese enterprise code (mã số thuế): 10 digits, or 10 + ``-`` + 3 for a branch.
    """

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    tax_code: Mapped[str | None] = mapped_column(String(14), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(120), default="")

    instruments: Mapped[list[MeasuringInstrument]] = relationship(back_populates="owner")
    lots: Mapped[list[PrepackageLot]] = relationship(back_populates="packer")


def instrument_identity(manufacturer: str, model: str, serial_number: str) -> str:
    """The key that makes an instrument unique: manufacturer, model and serial, ignoring case and spaces (NFC)."""
    return "|".join(identity_part(t) for t in (manufacturer, model, serial_number))


class MeasuringInstrument(Base):
    """A customer's measuring instrument (phương tiện đo) that the lab calibrates or verifies.

    The range is ``range_min``..``range_max`` in ``range_unit`` (``range_text`` keeps what the customer wrote);
    ``resolution`` is the scale interval d in ``resolution_unit`` (a water meter's flow range is in m³/h, its scale
    interval in L). ``interval_months`` is the calibration or verification interval; ``next_due`` =
    ``last_calibrated`` + interval. ``identity_key`` (manufacturer, model and serial) and ``serial_key`` (the serial)
    are set on every write, ignoring case and spaces (:func:`registry.vocabulary.identity_part`).
    """

    __tablename__ = "measuring_instrument"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(120))
    field: Mapped[MetrologyField] = mapped_column(_enum(MetrologyField, "field"))
    manufacturer: Mapped[str] = mapped_column(String(120), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    serial_number: Mapped[str] = mapped_column(String(80))
    range_text: Mapped[str] = mapped_column(String(80), default="")
    range_min: Mapped[float | None] = mapped_column(Float)
    range_max: Mapped[float | None] = mapped_column(Float)
    range_unit: Mapped[str] = mapped_column(String(20), default="")
    resolution: Mapped[float | None] = mapped_column(Float)
    resolution_unit: Mapped[str] = mapped_column(String(20), default="")
    accuracy_class: Mapped[str] = mapped_column(String(40), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    identity_key: Mapped[str] = mapped_column(String(330), unique=True)
    serial_key: Mapped[str] = mapped_column(String(80), index=True)
    group2: Mapped[bool] = mapped_column(Boolean, default=False)
    interval_months: Mapped[int] = mapped_column(Integer)
    last_calibrated: Mapped[date | None] = mapped_column(Date)
    next_due: Mapped[date | None] = mapped_column(Date, index=True)

    owner: Mapped[Customer] = relationship(back_populates="instruments")

    __table_args__ = (CheckConstraint("interval_months > 0", name="interval_positive"),)


@event.listens_for(MeasuringInstrument, "before_insert")
@event.listens_for(MeasuringInstrument, "before_update")
def _set_identity(_mapper: object, _connection: Connection, target: MeasuringInstrument) -> None:
    target.identity_key = instrument_identity(target.manufacturer or "", target.model or "", target.serial_number)
    target.serial_key = identity_part(target.serial_number)


#: units a prepackage lot's nominal quantity may be stated in (mass or volume)
LOT_UNITS = ("g", "kg", "mL", "L")


class PrepackageLot(Base):
    """A lot of prepackaged goods (lô hàng đóng gói sẵn) whose quantity of product the lab checks (OIML R87).

    ``packer`` is the enterprise that packed or imported the goods; ``lot_size`` the number of prepackages in the
    lot; ``nominal_quantity`` Qn in ``nominal_unit`` (g, kg, mL or L) as labelled on each package. ``packed_on`` and
    ``sampled_on`` are calendar dates; ``sampling_place`` where the sample was taken. A lot has no due date: it is
    checked, not recalibrated.
    """

    __tablename__ = "prepackage_lot"

    id: Mapped[int] = mapped_column(primary_key=True)
    packer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"), index=True)
    product: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(120), default="")
    lot_number: Mapped[str] = mapped_column(String(80))
    lot_size: Mapped[int] = mapped_column(Integer)
    nominal_quantity: Mapped[float] = mapped_column(Float)
    nominal_unit: Mapped[str] = mapped_column(String(8))
    packed_on: Mapped[date | None] = mapped_column(Date)
    sampled_on: Mapped[date | None] = mapped_column(Date)
    sampling_place: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    packer: Mapped[Customer] = relationship(back_populates="lots")

    __table_args__ = (
        UniqueConstraint("packer_id", "lot_number"),
        CheckConstraint("lot_size > 0", name="lot_size_positive"),
        CheckConstraint("nominal_quantity > 0", name="nominal_positive"),
        CheckConstraint("nominal_unit IN ('g', 'kg', 'mL', 'L')", name="nominal_unit"),
    )


# --- the lab's reference standards ---------------------------------------------------------------------------------


class ReferenceStandard(Base):
    """One of the lab's reference standards (chuẩn đo lường), with the address caltrace reads it at, if any."""

    __tablename__ = "reference_standard"

    id: Mapped[int] = mapped_column(primary_key=True)
    laboratory_id: Mapped[int | None] = mapped_column(ForeignKey("laboratory.id", ondelete="SET NULL"))
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the lab's inventory id, e.g. "bal-1", "W-E2-200g"
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(120))
    field: Mapped[MetrologyField] = mapped_column(_enum(MetrologyField, "field"))
    manufacturer: Mapped[str] = mapped_column(String(120), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    serial_number: Mapped[str] = mapped_column(String(80), default="")
    range_min: Mapped[float | None] = mapped_column(Float)
    range_max: Mapped[float | None] = mapped_column(Float)
    range_unit: Mapped[str] = mapped_column(String(20), default="")
    accuracy_class: Mapped[str] = mapped_column(String(40), default="")
    resolution: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(200), default="")  # driver URL, e.g. serial:///dev/ttyUSB0
    driver_model: Mapped[str] = mapped_column(String(60), default="")
    traceability: Mapped[str] = mapped_column(Text, default="")  # e.g. "VMI national mass standard"
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    certificates: Mapped[list[StandardCertificate]] = relationship(
        back_populates="standard",
        cascade="all, delete-orphan",
        order_by="StandardCertificate.calibrated_on",
        foreign_keys="StandardCertificate.standard_id",
    )


class StandardCertificate(Base):
    """A calibration certificate of a reference standard: the link in its traceability chain.

    ``values`` is a list of ``{"point", "value", "unit", "U", "k"}`` (the certified values with expanded
    uncertainty U at coverage factor k). ``calibrated_against_id`` names the lab's own higher standard when the
    calibration was internal; otherwise ``issuer`` (e.g. VMI) carries the chain upward.
    """

    __tablename__ = "standard_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("reference_standard.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(80))
    calibrated_on: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    values: Mapped[list[Any]] = mapped_column(default=list)
    file_name: Mapped[str] = mapped_column(String(200), default="")
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    calibrated_against_id: Mapped[int | None] = mapped_column(ForeignKey("reference_standard.id", ondelete="SET NULL"))

    standard: Mapped[ReferenceStandard] = relationship(back_populates="certificates", foreign_keys=[standard_id])

    __table_args__ = (
        UniqueConstraint("issuer", "number"),
        CheckConstraint("calibrated_on <= due_on", name="due_after_calibration"),
    )


# --- staff and procedures ------------------------------------------------------------------------------------------


class Staff(Base):
    """A member of staff. ``officer_card`` is the verification officer's card (thẻ kiểm định viên), if any."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(120), default="")
    officer_card: Mapped[str | None] = mapped_column(String(40))
    officer_card_expires: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    authorisations: Mapped[list[Authorisation]] = relationship(back_populates="staff", cascade="all, delete-orphan")


class Procedure(Base):
    """A versioned calibration or verification procedure; ``code`` (e.g. ``nawi-calibration-cg18``) is stable."""

    __tablename__ = "procedure"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(20))
    kind: Mapped[ProcedureKind] = mapped_column(_enum(ProcedureKind, "procedure_kind"))
    field: Mapped[MetrologyField] = mapped_column(_enum(MetrologyField, "field"))
    title: Mapped[str] = mapped_column(String(200))
    method_reference: Mapped[str] = mapped_column(String(200))  # e.g. "EURAMET cg-18 v4.0", "ĐLVN 16:2009"
    definition_sha256: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("code", "version"),)


class Authorisation(Base):
    """What a member of staff may do with a procedure, and from when until when (dates inclusive)."""

    __tablename__ = "authorisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    procedure_code: Mapped[str] = mapped_column(String(60))  # all versions of the procedure
    can_perform: Mapped[bool] = mapped_column(Boolean, default=False)
    can_review: Mapped[bool] = mapped_column(Boolean, default=False)
    can_sign: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)

    staff: Mapped[Staff] = relationship(back_populates="authorisations")

    __table_args__ = (UniqueConstraint("staff_id", "procedure_code"),)


# --- service accounts ----------------------------------------------------------------------------------------------

#: the roles a service account may hold (decision 0500): what each may do is decided by the service's routes
ACCOUNT_ROLES = ("technician", "reviewer", "signatory", "admin", "auditor")


class UserAccount(Base):
    """A login to the caltrace service (issue 18.4, decision 0500).

    ``roles`` is a comma-separated subset of :data:`ACCOUNT_ROLES`; ``staff_id`` links the login to the member of
    staff it acts as (required for technician, reviewer and signatory: what they may perform, review and sign is
    then still decided per procedure by the staff's authorisations). ``password_hash`` is an argon2id hash (never
    written to the audit log: its column is marked ``redact``). ``failed_logins`` counts wrong passwords since the
    last good login; ``locked_until`` (UTC) refuses every login, even with the right password, until then.
    ``token_version`` is written into every session and bearer token: raising it (logout, password change) makes
    all earlier tokens of the account invalid.
    """

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200), info={"redact": True})
    roles: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    password_changed_at: Mapped[datetime] = mapped_column(default=utc_now)

    staff: Mapped[Staff | None] = relationship()

    __table_args__ = (
        CheckConstraint("failed_logins >= 0", name="failed_logins"),
        CheckConstraint("roles <> ''", name="roles"),
    )

    @property
    def role_set(self) -> frozenset[str]:
        """The account's roles as a set."""
        return frozenset(r for r in self.roles.split(",") if r)


# --- runs, results, certificates -----------------------------------------------------------------------------------


class Run(Base):
    """One execution of a procedure on one instrument or one prepackage lot (exactly one of ``instrument_id`` and
    ``lot_id`` is set). ``id`` is a UUID string shared with the reading store.

    ``checkpoint`` is the run engine's persisted state (last completed step and what it needs to resume).
    """

    __tablename__ = "run"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="RESTRICT"), index=True)
    instrument_id: Mapped[int | None] = mapped_column(
        ForeignKey("measuring_instrument.id", ondelete="RESTRICT"), index=True
    )
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("prepackage_lot.id", ondelete="RESTRICT"), index=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"))
    state: Mapped[RunState] = mapped_column(_enum(RunState, "run_state"), default=RunState.CREATED)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    current_step: Mapped[str] = mapped_column(String(80), default="")
    checkpoint: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    overall: Mapped[Conformity] = mapped_column(_enum(Conformity, "conformity"), default=Conformity.NOT_ASSESSED)

    procedure: Mapped[Procedure] = relationship()
    instrument: Mapped[MeasuringInstrument | None] = relationship()
    lot: Mapped[PrepackageLot | None] = relationship()
    technician: Mapped[Staff] = relationship(foreign_keys=[technician_id])
    reviewer: Mapped[Staff | None] = relationship(foreign_keys=[reviewer_id])
    standards: Mapped[list[RunStandard]] = relationship(back_populates="run", cascade="all, delete-orphan")
    environment: Mapped[list[EnvironmentRecord]] = relationship(back_populates="run", cascade="all, delete-orphan")
    results: Mapped[list[Result]] = relationship(back_populates="run", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_run_state_finished", "state", "finished_at"),
        CheckConstraint(
            "(instrument_id IS NOT NULL AND lot_id IS NULL) OR (instrument_id IS NULL AND lot_id IS NOT NULL)",
            name="one_subject",
        ),
    )


class RunStandard(Base):
    """A reference standard used by a run, with the certificate that was valid when the run used it."""

    __tablename__ = "run_standard"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("reference_standard.id", ondelete="RESTRICT"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("standard_certificate.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(60), default="")  # e.g. "comparator", "master meter", "environment"

    run: Mapped[Run] = relationship(back_populates="standards")
    standard: Mapped[ReferenceStandard] = relationship()

    __table_args__ = (UniqueConstraint("run_id", "standard_id", "role"),)


class EnvironmentRecord(Base):
    """An environmental condition recorded during a run (``phase``: start, end or a step name)."""

    __tablename__ = "environment_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[str] = mapped_column(String(40))  # temperature, humidity, pressure
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column()
    within_limits: Mapped[bool] = mapped_column(Boolean, default=True)

    run: Mapped[Run] = relationship(back_populates="environment")


class Result(Base):
    """One result of a run: the value at a test point with its expanded uncertainty U (coverage factor k).

    ``point`` and ``value`` are in ``point_unit`` and ``unit``; ``mpe`` (same unit as value) is the maximum
    permissible error the conformity was judged against, if any. ``budget`` is the uncertainty budget in the one
    declared shape (``acquisition.methods.base.Budget.as_json``; NULL when the result states no uncertainty),
    ``evidence`` the raw data behind the result (JSON object), ``decision_rule`` the rule the conformity was judged
    by, ``method_reference`` the clauses and tables of the standard used, ``note`` what the certificate must say
    (decision 0330).
    """

    __tablename__ = "result"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[str] = mapped_column(String(80))
    point: Mapped[float | None] = mapped_column(Float)
    point_unit: Mapped[str] = mapped_column(String(20), default="")
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    expanded_uncertainty: Mapped[float | None] = mapped_column(Float)
    coverage_factor: Mapped[float | None] = mapped_column(Float)
    mpe: Mapped[float | None] = mapped_column(Float)
    conformity: Mapped[Conformity] = mapped_column(_enum(Conformity, "conformity"), default=Conformity.NOT_ASSESSED)
    budget: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decision_rule: Mapped[str] = mapped_column(Text, default="")
    method_reference: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")

    run: Mapped[Run] = relationship(back_populates="results")

    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    @validates("conformity")
    def _conformity(self, key: str, value: Conformity | str) -> Conformity:
        """A conformity given as its string value (``PointResult.row``) becomes the enum member at once; a value
        outside the vocabulary is a ValueError naming it."""
        return Conformity(value)


class ActionStatus(enum.StrEnum):
    """Life of an operator action: pending until answered, or closed without an answer (and why)."""

    PENDING = "pending"
    ANSWERED = "answered"
    TIMED_OUT = "timedOut"
    CANCELLED = "cancelled"  # the run was cancelled while the action waited
    WITHDRAWN = "withdrawn"  # the run stopped (paused, interrupted, aborted) while the action waited
    SUPERSEDED = "superseded"  # left pending by a process that died; the run was resumed (asked again) or aborted


class OperatorActionRecord(Base):
    """One request to the operator of a running run: do something and confirm (``expects = done``) or type a
    value (``expects = value``: manual entry, in ``unit`` for ``quantity``). Any process may list pending ones and
    answer (registry.actions); the first answer wins. ``answer`` is ``done``, ``value`` or ``stop`` (the run
    pauses); ``answer_value`` is the typed text, ``answered_by`` who answered; ``note`` why a stop or a closing.
    """

    __tablename__ = "operator_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(80), default="")  # the step's id
    kind: Mapped[str] = mapped_column(String(40))
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expects: Mapped[str] = mapped_column(String(8), default="done")
    unit: Mapped[str] = mapped_column(String(20), default="")
    quantity: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[ActionStatus] = mapped_column(_enum(ActionStatus, "action_status"), default=ActionStatus.PENDING)
    requested_at: Mapped[datetime] = mapped_column(default=utc_now)
    deadline: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str | None] = mapped_column(String(8))
    answer_value: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_operator_action_status_run", "status", "run_id"),
        CheckConstraint("expects IN ('done', 'value')", name="expects"),
        CheckConstraint("answer IS NULL OR answer IN ('done', 'value', 'stop')", name="answer"),
    )


class CancelRequest(Base):
    """A request to stop a running run (from its terminal or another process): the run stops on the engine's safe
    path and is paused (``abort`` false, resumable) or aborted. ``handled_at`` is set when the engine acted on it,
    or when a resume superseded it (``outcome`` says which)."""

    __tablename__ = "run_cancel"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utc_now)
    requested_by: Mapped[str] = mapped_column(String(120))
    abort: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    handled_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(20), default="")


class Certificate(Base):
    """A calibration certificate or verification certificate/stamp issued for a run, whose subject is one measuring
    instrument or one prepackage lot (exactly one of ``instrument_id`` and ``lot_id`` is set, as for runs).

    ``xml_sha256``/``pdf_sha256`` are the SHA-256 of the signed DCC and PDF. An amended or substituted certificate
    points to its replacement through ``replaced_by_id``.
    """

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[ProcedureKind] = mapped_column(_enum(ProcedureKind, "procedure_kind"))
    status: Mapped[CertificateStatus] = mapped_column(
        _enum(CertificateStatus, "certificate_status"), default=CertificateStatus.DRAFT
    )
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id", ondelete="RESTRICT"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"), index=True)
    instrument_id: Mapped[int | None] = mapped_column(ForeignKey("measuring_instrument.id", ondelete="RESTRICT"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("prepackage_lot.id", ondelete="RESTRICT"), index=True)
    signer_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"))
    issued_at: Mapped[datetime | None] = mapped_column(index=True)
    valid_until: Mapped[date | None] = mapped_column(Date)
    xml_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id", ondelete="RESTRICT"))
    status_reason: Mapped[str] = mapped_column(Text, default="")

    run: Mapped[Run] = relationship()
    customer: Mapped[Customer] = relationship()
    instrument: Mapped[MeasuringInstrument | None] = relationship()
    lot: Mapped[PrepackageLot | None] = relationship()
    signer: Mapped[Staff | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "(instrument_id IS NOT NULL AND lot_id IS NULL) OR (instrument_id IS NULL AND lot_id IS NOT NULL)",
            name="one_subject",
        ),
    )


class CertificateSequence(Base):
    """The last running number (``{seq}``) used in one numbering series and calendar year (lab time zone).

    Series: ``calibration``, ``verification``, ``notice`` (decision 0450). The issuing transaction locks the row
    and advances it with the certificate row, so a number is consumed only when its certificate is issued."""

    __tablename__ = "certificate_sequence"

    series: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("last >= 0", name="last_not_negative"),)


# --- audit ---------------------------------------------------------------------------------------------------------


class AuditEntry(Base):
    """One entry of the append-only audit log; ``hash`` = SHA-256 of the canonical entry and ``prev_hash``.

    Rows are never updated or deleted (database triggers refuse it); ``registry.audit.verify`` recomputes the chain.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(20))  # insert, update, delete, or a named event
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(60))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed byte for byte
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The single row holding the last audit entry: writers lock it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
