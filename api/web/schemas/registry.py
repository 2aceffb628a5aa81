"""Models of the registry's records: customers, instruments, lots, reference standards and their certificates,
staff and their authorisations. Units and meanings are those of :mod:`registry.models`."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from api.web.schemas.common import CreateModel, PublicModel

# --- customers ----------------------------------------------------------------------------------------------------


class CustomerPublic(PublicModel):
    """An enterprise whose instruments or lots the lab calibrates or checks."""

    id: int
    name: str
    tax_code: str | None = Field(description="Vietnamese enterprise code (mã số thuế), if known.")
    address: str
    contact_name: str
    phone: str
    email: str


# --- instruments --------------------------------------------------------------------------------------------------


class InstrumentPublic(PublicModel):
    """A customer's measuring instrument; range and resolution in ``range_unit`` / ``resolution_unit``."""

    id: int
    owner_id: int
    kind: str
    field: str
    manufacturer: str
    model: str
    serial_number: str
    range_text: str
    range_min: float | None
    range_max: float | None
    range_unit: str
    resolution: float | None
    resolution_unit: str
    accuracy_class: str
    location: str
    group2: bool
    interval_months: int = Field(description="Calibration or verification interval (months).")
    last_calibrated: date | None
    next_due: date | None


class InstrumentCreate(CreateModel):
    """A new instrument, checked as a row of the instruments spreadsheet (docs/registry-import.md); an unknown
    customer is created. Texts are read as the spreadsheet's cells (``range``: ``0 - 220 g``; ``resolution``:
    ``0.1 mg``)."""

    customer: str = Field(min_length=1, description="The customer's name.")
    customer_tax_code: str | None = Field(default=None, description="Its tax code (mã số thuế), if known.")
    kind: str = Field(min_length=1, description="What the instrument is (e.g. 'cân phân tích').")
    manufacturer: str = ""
    model: str = ""
    serial_number: str = Field(min_length=1)
    range: str = Field(default="", description="The measuring range with its unit, e.g. '0 - 220 g'.")
    resolution: str = Field(default="", description="Scale interval d with its unit, e.g. '0.1 mg'.")
    accuracy_class: str = ""
    location: str = ""
    interval_months: int = Field(description="Calibration interval (months).")
    last_calibrated: date | None = None
    field: str | None = Field(default=None, description="Metrology field (default: inferred from the kind).")
    group2: bool = Field(default=False, description="Group 2 instrument (verification by law).")


class InstrumentUpdate(CreateModel):
    """Changes to a registered instrument (the fields given; the others stay), checked as a spreadsheet row of an
    update import. Its identity (manufacturer, model, serial number) and owner are not changed here: a different
    identity is a different instrument."""

    kind: str | None = Field(default=None, min_length=1)
    range: str | None = Field(default=None, description="The measuring range with its unit, e.g. '0 - 220 g'.")
    resolution: str | None = Field(default=None, description="Scale interval d with its unit, e.g. '0.1 mg'.")
    accuracy_class: str | None = None
    location: str | None = None
    interval_months: int | None = Field(default=None, description="Calibration interval (months).")
    last_calibrated: date | None = None
    field: str | None = None
    group2: bool | None = None


# --- lots ---------------------------------------------------------------------------------------------------------


class LotPublic(PublicModel):
    """A lot of prepackaged goods; ``nominal_quantity`` in ``nominal_unit``."""

    id: int
    packer_id: int
    product: str
    brand: str
    lot_number: str
    lot_size: int
    nominal_quantity: float
    nominal_unit: str
    packed_on: date | None
    sampled_on: date | None
    sampling_place: str
    notes: str


class LotCreate(CreateModel):
    """A new lot, checked as a row of the lots spreadsheet; an unknown packer is created."""

    packer: str = Field(min_length=1, description="The enterprise that packed or imported the goods.")
    packer_tax_code: str | None = None
    product: str = Field(min_length=1)
    brand: str = ""
    lot_number: str = Field(min_length=1)
    lot_size: int = Field(description="Number of prepackages in the lot.")
    nominal_quantity: str = Field(min_length=1, description="Qn with its unit as labelled, e.g. '500 g'.")
    packed_on: date | None = None
    sampled_on: date | None = None
    sampling_place: str = ""


# --- standards ----------------------------------------------------------------------------------------------------


class StandardCertificatePublic(PublicModel):
    """A calibration certificate of a reference standard; ``values``: the certified values, each with U and k."""

    id: int
    issuer: str
    number: str
    calibrated_on: date
    issued_on: date
    due_on: date
    values: list[dict[str, Any]]
    file_name: str
    calibrated_against_id: int | None


class StandardPublic(PublicModel):
    """One of the lab's reference standards."""

    id: int
    code: str
    name: str
    kind: str
    field: str
    manufacturer: str
    model: str
    serial_number: str
    range_min: float | None
    range_max: float | None
    range_unit: str
    accuracy_class: str
    resolution: float | None
    driver_model: str
    address: str
    traceability: str
    active: bool


class StandardDetailPublic(StandardPublic):
    """A reference standard with its certificates, oldest first."""

    certificates: list[StandardCertificatePublic]


class StandardCreate(CreateModel):
    """A new reference standard, checked as a row of the standards spreadsheet."""

    code: str = Field(min_length=1, description="The lab's code of the standard (e.g. W-E2).")
    name: str = Field(min_length=1)
    kind: str = Field(min_length=1, description="Its kind as the procedures name it (e.g. 'weight set').")
    range: str = Field(default="", description="Its range with unit, e.g. '1 mg - 200 g'.")
    field: str | None = None
    manufacturer: str = ""
    model: str = ""
    serial_number: str = ""
    accuracy_class: str = ""
    resolution: str = ""
    driver_model: str = ""
    address: str = Field(default="", description="Address URL caltrace reads it at (with driver_model).")
    traceability: str = ""


class CertifiedValue(CreateModel):
    """One certified value of a standard's certificate (a row of the certificates spreadsheet)."""

    uncertainty: str = Field(min_length=1, description="Expanded uncertainty U with its unit, e.g. '0.3 °C'.")
    quantity: str = ""
    label: str = ""
    nominal: str = ""
    value: str = ""
    correction: str = ""
    k: str = Field(default="", description="Coverage factor (default 2).")
    unit: str = ""
    piece_class: str = Field(default="", description="A weight's class (OIML R111), for a weight set's piece.")
    density: str = Field(default="", description="A weight's density (kg/m³), for a weight set's piece.")


class StandardCertificateCreate(CreateModel):
    """A certificate of a standard with its certified values, checked as the rows of the certificates spreadsheet
    (whole or not at all)."""

    number: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    calibrated_on: date
    valid_until: date
    issued_on: date | None = None
    values: list[CertifiedValue] = Field(min_length=1)


# --- staff --------------------------------------------------------------------------------------------------------


class AuthorisationPublic(PublicModel):
    """What a member of staff may do with a procedure (all its versions), dates inclusive."""

    procedure_code: str
    can_perform: bool
    can_review: bool
    can_sign: bool
    valid_from: date
    valid_until: date | None


class StaffPublic(PublicModel):
    """A member of staff with their authorisations."""

    id: int
    username: str
    full_name: str
    email: str
    officer_card: str | None
    officer_card_expires: date | None
    active: bool
    authorisations: list[AuthorisationPublic]


class StaffCreate(CreateModel):
    """A member of staff with roles and the procedures they are authorised for, checked as a row of the staff
    spreadsheet (roles: technician, reviewer, signatory)."""

    username: str = Field(min_length=1)
    full_name: str = Field(min_length=1)
    roles: list[str] = Field(min_length=1, description="technician (perform), reviewer (review), signatory (sign).")
    procedures: list[str] = Field(min_length=1, description="Procedure ids, or ['all'].")
    email: str = ""
    officer_card: str = ""
    officer_card_valid_until: date | None = None
    authorised_from: date | None = None
    authorised_until: date | None = None
