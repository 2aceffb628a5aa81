"""What a demo scenario is: registry data, simulators, and the virtual operator for one procedure.

``caltrace calibrate --demo`` seeds the registry with a demo laboratory, customer, technician and reviewer (shared,
:func:`seed_common`) and the scenario's own instrument under test and reference standards (``seed``); starts the
scenario's simulators on loopback (``start``), connects the drivers by URL exactly as for real instruments, and
lets :meth:`DemoScenario.act` perform every operator action on the simulators. Nothing here is used outside demo
mode and tests: the ``lab`` package is the one place that imports ``simulators``.

Seeding is idempotent (get-or-create by serial number, lot number, code and username), so ``--demo`` can be run
again, or a run resumed, on the same data directory. Certificates are dated relative to ``today`` so they are
always in force.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from acquisition.channel import OperatorAction
from drivers.base import Instrument
from registry.errors import NotFoundError
from registry.models import (
    Authorisation,
    CmcEntry,
    Customer,
    Laboratory,
    MeasuringInstrument,
    MetrologyField,
    PrepackageLot,
    ReferenceStandard,
    Staff,
    StandardCertificate,
)
from registry.queries import find_customer, find_staff, find_standard, laboratory
from registry.runs import find_instrument, find_lot
from simulators.base import SimOptions
from simulators.environment import EnvironmentSimulator
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread

TECHNICIAN = "demo"
REVIEWER = "demo-reviewer"
ENVIRONMENT_STANDARD = "DEMO-ENV"
CUSTOMER = "Công ty TNHH Thiết bị Đo lường Demo"
CUSTOMER_TAX_CODE = "0100000001"
PACKER = "Công ty CP Thực phẩm Demo"
PACKER_TAX_CODE = "0100000002"


class DemoScenario(ABC):
    """One procedure on the virtual lab: what to seed, which simulators to start, how to act as the operator."""

    #: the procedure id this scenario demonstrates
    procedure: ClassVar[str]
    #: serial number of the instrument under test (seeded by ``seed``); "" when the procedure tests a lot
    instrument: ClassVar[str]
    #: lot number of the prepackage lot under test (seeded by ``seed``), for a procedure that tests a lot
    lot: ClassVar[str] = ""
    #: role -> reference standard code (seeded by ``seed``)
    standards: ClassVar[Mapping[str, str]]
    #: run parameters (override the procedure's defaults)
    parameters: ClassVar[Mapping[str, Any]] = {}

    @abstractmethod
    def seed(self, s: Session, today: date) -> None:
        """Add, if absent, the instrument under test and the standards with certificates in force on ``today``."""

    @abstractmethod
    def start(self, sims: SimulatorThread) -> dict[str, tuple[str, str]]:
        """Start the simulators on ``sims``; return role -> (address URL, driver model) for every role."""

    @abstractmethod
    def act(self, action: OperatorAction) -> None:
        """Perform one operator action on the simulators (place a load, set a flow...)."""

    def attach(self, role: str, instrument: Instrument) -> None:  # noqa: B027 - optional hook
        """Called with each opened driver (e.g. to give a manual-entry instrument its virtual reader)."""


# --- shared seed data ------------------------------------------------------------------------------------------


#: the demo thermo-hygro-barometer's certificate: expanded uncertainty (k = 2) per quantity (°C, %RH, hPa)
ENVIRONMENT_CERTIFIED = (
    {"quantity": "temperature", "unit": "°C", "U": 0.3, "k": 2},
    {"quantity": "humidity", "unit": "%RH", "U": 3.0, "k": 2},
    {"quantity": "pressure", "unit": "hPa", "U": 1.0, "k": 2},
)


#: the demo laboratory's CMC table: (field, quantity, instrument kind, range min, max, unit, CMC, CMC unit,
#: relative, method). Demo values, not any centre's accredited scope: each is below the U its demo run computes
#: (so a demo certificate states the computed U) and covers its demo instrument's range; "" kind: any instrument.
DEMO_CMC: tuple[tuple[MetrologyField, str, str, float, float, str, float, str, bool, str], ...] = (
    (MetrologyField.MASS, "khối lượng", "Cân phân tích", 0.0, 220.0, "g", 0.1, "mg", False, "EURAMET cg-18 v4.0"),
    (MetrologyField.MASS, "khối lượng", "Quả cân", 1.0, 200.0, "g", 0.05, "mg", False, "OIML R111-1:2004"),
    (MetrologyField.VOLUME_FLOW, "lưu lượng", "", 0.0, 40.0, "m³/h", 3e-4, "", True, "so sánh với đồng hồ chuẩn"),
    (
        MetrologyField.ELECTRICAL,
        "điện áp",
        "",
        0.0,
        1000.0,
        "V",
        1e-5,
        "",
        True,
        "so sánh trực tiếp với máy hiệu chuẩn",
    ),
    (MetrologyField.ELECTRICAL, "cường độ dòng điện", "", 0.0, 10.0, "A", 5e-5, "", True, "so sánh trực tiếp"),
    (MetrologyField.ELECTRICAL, "điện trở", "", 0.0, 1e5, "Ω", 2e-5, "", True, "so sánh trực tiếp"),
)
#: the demo signatory: authorised to sign (and review) every procedure, never to perform one
SIGNATORY = REVIEWER


def seed_common(s: Session, today: date, procedures: Sequence[str]) -> None:
    """The demo laboratory (accreditation, numbering of calibration and verification certificates, contact) with its
    CMC table (:data:`DEMO_CMC`), customer, technician (authorised to perform ``procedures``, officer card valid),
    and a reviewer authorised to review and sign them (the signatory, :data:`SIGNATORY`); the environment standard
    ``DEMO-ENV``. Details a registry seeded before lacks (numbering, contact, CMC lines) are added; nothing present
    is changed."""
    lab = laboratory(s)
    if lab is None:
        lab = Laboratory(
            name="Trung tâm Kỹ thuật Tiêu chuẩn Đo lường Chất lượng (demo)",
            address="Số 1 đường Demo, tỉnh Demo",
            accreditation_code="VILAS 999",
        )
        s.add(lab)
    lab.certificate_numbering = lab.certificate_numbering or "{year}/DEMO-{seq:05d}"
    lab.verification_numbering = lab.verification_numbering or "{year}/DEMO-KĐ-{seq:05d}"  # notices share it
    lab.phone = lab.phone or "0234 000 0000"
    lab.email = lab.email or "demo@example.invalid"
    s.flush()
    held = {(e.field, e.quantity, e.instrument_kind, e.range_min, e.range_max, e.range_unit) for e in lab.cmc}
    for field, quantity, kind, low, high, unit, cmc, cmc_unit, relative, method in DEMO_CMC:
        if (field, quantity, kind, low, high, unit) not in held:
            lab.cmc.append(
                CmcEntry(
                    field=field,
                    quantity=quantity,
                    instrument_kind=kind,
                    range_min=low,
                    range_max=high,
                    range_unit=unit,
                    cmc=cmc,
                    cmc_unit=cmc_unit,
                    cmc_relative=relative,
                    method_reference=method,
                )
            )
    customer(s)
    start = today - timedelta(days=365)
    card_expires = today + timedelta(days=3 * 365)
    for username, full_name, perform in (
        (TECHNICIAN, "Kỹ thuật viên Demo", True),
        (REVIEWER, "Người soát xét Demo", False),
    ):
        staff = find_staff(s, username)
        if staff is None:
            staff = Staff(username=username, full_name=full_name)
            s.add(staff)
        staff.officer_card = staff.officer_card or f"KĐV-DEMO-{username.upper()}"
        if staff.officer_card_expires is None or staff.officer_card_expires < today:  # renewed only when lapsed
            staff.officer_card_expires = card_expires
        have = {a.procedure_code for a in staff.authorisations}
        for code in procedures:
            if code not in have:
                staff.authorisations.append(
                    Authorisation(
                        procedure_code=code,
                        can_perform=perform,
                        can_review=not perform,
                        can_sign=not perform,
                        valid_from=start,
                    )
                )
    standard(
        s,
        today,
        code=ENVIRONMENT_STANDARD,
        name="Nhiệt ẩm áp kế COMET T7510 (demo)",
        kind="thermo-hygro-barometer",
        field=MetrologyField.TEMPERATURE,
        manufacturer="COMET",
        model="T7510",
        serial_number="20231005",
        values=ENVIRONMENT_CERTIFIED,
    )


def customer(s: Session) -> Customer:
    """The demo customer (created once)."""
    try:
        return find_customer(s, CUSTOMER_TAX_CODE)
    except NotFoundError:
        found = Customer(
            name=CUSTOMER, tax_code=CUSTOMER_TAX_CODE, address="KCN Demo, tỉnh Demo", contact_name="Anh Demo"
        )
        s.add(found)
        s.flush()
        return found


def instrument(s: Session, serial_number: str, **fields: Any) -> MeasuringInstrument:
    """The demo customer's instrument with ``serial_number`` (created with ``fields`` if absent).

    ``fields`` are :class:`MeasuringInstrument` columns; ``interval_months`` defaults to 12.
    """
    try:
        return find_instrument(s, serial_number)
    except NotFoundError:
        fields.setdefault("interval_months", 12)
        found = MeasuringInstrument(owner=customer(s), serial_number=serial_number, **fields)
        s.add(found)
        s.flush()
        return found


def packer(s: Session) -> Customer:
    """The demo packer of prepackaged goods (created once)."""
    try:
        return find_customer(s, PACKER_TAX_CODE)
    except NotFoundError:
        found = Customer(name=PACKER, tax_code=PACKER_TAX_CODE, address="KCN Demo, tỉnh Demo", contact_name="Chị Demo")
        s.add(found)
        s.flush()
        return found


def prepackage_lot(s: Session, lot_number: str, **fields: Any) -> PrepackageLot:
    """The demo packer's prepackage lot ``lot_number`` (created with ``fields``, :class:`PrepackageLot` columns, if
    absent)."""
    found = find_lot(s, lot_number)
    if found is None:
        found = PrepackageLot(packer=packer(s), lot_number=lot_number, **fields)
        s.add(found)
        s.flush()
    return found


def standard(
    s: Session,
    today: date,
    *,
    code: str,
    values: Sequence[Mapping[str, Any]] = (),
    issuer: str = "Viện Đo lường Việt Nam (VMI)",
    **fields: Any,
) -> ReferenceStandard:
    """A reference standard ``code`` (created with ``fields`` if absent) whose latest certificate is in force on
    ``today``: a new certificate (calibrated 90 days before, due in 275 days) is added when none is."""
    try:
        found = find_standard(s, code)
    except NotFoundError:
        found = ReferenceStandard(code=code, **fields)
        s.add(found)
    if not any(c.due_on >= today and c.calibrated_on <= today for c in found.certificates):
        calibrated = today - timedelta(days=90)
        found.certificates.append(
            StandardCertificate(
                issuer=issuer,
                number=f"DEMO-{code}-{calibrated:%Y%m%d}",
                calibrated_on=calibrated,
                issued_on=calibrated + timedelta(days=2),
                due_on=today + timedelta(days=275),
                values=[dict(v) for v in values],
            )
        )
    s.flush()
    return found


def previous_certificate(found: ReferenceStandard, values: Sequence[Mapping[str, Any]], years: int = 2) -> None:
    """Give ``found``, when it has only its certificate in force, an earlier one ``years`` before with ``values``
    (its certificate history: the drift of its certified values, :mod:`acquisition.procedures.history`)."""
    if len(found.certificates) != 1:
        return
    current = found.certificates[0]
    earlier = current.calibrated_on - timedelta(days=365 * years)
    found.certificates.append(
        StandardCertificate(
            issuer=current.issuer,
            number=f"{current.number}-PREV",
            calibrated_on=earlier,
            issued_on=earlier + timedelta(days=2),
            due_on=current.calibrated_on - timedelta(days=1),
            values=[dict(v) for v in values],
        )
    )


#: a demo weight set's certificate: piece label -> (nominal g, conventional mass g, U g at k = 2)
Certified = Mapping[str, tuple[float, float, float]]


def weight_set(s: Session, today: date, *, code: str, name: str, certified: Certified) -> ReferenceStandard:
    """A demo E2 weight set ``code`` whose certificate in force gives each piece's conventional mass and U (k = 2),
    all in g; its range runs from the smallest to the largest nominal value."""
    nominals = [n for n, _, _ in certified.values()]
    return standard(
        s,
        today,
        code=code,
        name=name,
        kind="weight set",
        field=MetrologyField.MASS,
        range_min=min(nominals),
        range_max=max(nominals),
        range_unit="g",
        accuracy_class="E2",
        values=[
            {"point": n, "value": m, "unit": "g", "U": u, "k": 2, "label": label}
            for label, (n, m, u) in certified.items()
        ],
    )


def load_balance(balance: MtSicsSimulator, action: OperatorAction, certified: Certified) -> None:
    """Do on the simulated balance what the operator is asked to: ``place-load`` puts the true (certified
    conventional) mass of the named pieces at the action's position, ``add-load`` adds ``add_g`` g (small
    weights), anything else (``remove-load``) empties the pan."""
    if action.kind == "place-load":
        balance.control(
            "place",
            load_g=math.fsum(certified[label][1] for label in action.params["weights"]),
            position=str(action.params.get("position", "centre")),
        )
    elif action.kind == "add-load":
        balance.control("add", load_g=float(action.params["add_g"]))
    else:
        balance.control("place", load_g=0.0)


def start_environment(sims: SimulatorThread, temperature: float = 21.0, humidity: float = 52.0) -> tuple[str, str]:
    """Start the demo thermo-hygro-barometer (COMET T7510 on Modbus TCP); returns (URL, driver model)."""
    env = sims.start(
        EnvironmentSimulator(SimOptions("env-1", "20231005", seed=3), temperature=temperature, humidity=humidity)
    )
    return env.url, "comet-t7510"
