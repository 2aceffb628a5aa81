"""What a procedure is: a versioned definition, a plan of steps, and an evaluation of the kept readings.

A procedure never talks to instruments, the registry or the store: the run engine does. ``plan`` turns the run's
context (parameters, the instrument under test, the standards used) into steps; the engine performs each step —
operator action, stability wait, readings kept in the store — and hands the kept values to ``evaluate``, which
calls the metrology methods (``acquisition.methods``) and returns :class:`PointResult` rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, ClassVar, Literal

from acquisition.channel import OperatorAction
from acquisition.methods.base import PointResult
from acquisition.procedures.params import ParamSpec, read
from acquisition.stability import StabilityCriterion


@dataclass(frozen=True)
class RoleSpec:
    """An instrument the procedure needs, by role (``balance``, ``environment``, ``master``, ``calibrator``...).

    ``standard_kinds``: the registry kinds of reference standard acceptable in this role (empty: the instrument
    under test plays it). ``quantities``: what the role's readings must include.
    """

    role: str
    description: str
    standard_kinds: tuple[str, ...] = ()
    under_test: bool = False
    quantities: tuple[str, ...] = ()


#: the lab's thermo-hygro-barometer, as most procedures need it (role ``environment``)
ENVIRONMENT_ROLE = RoleSpec(
    "environment",
    "thermo-hygro-barometer",
    standard_kinds=("thermo-hygro-barometer",),
    quantities=("temperature", "humidity", "pressure"),
)


#: the four off-centre positions of an eccentricity test, after the centre (cg-18 5.3, R76-1 A.4.7):
#: (step key and simulator position name, Vietnamese, English)
ECCENTRICITY_POSITIONS = (
    ("front-left", "phía trước bên trái", "front left"),
    ("back-left", "phía sau bên trái", "back left"),
    ("back-right", "phía sau bên phải", "back right"),
    ("front-right", "phía trước bên phải", "front right"),
)


@dataclass(frozen=True)
class EnvironmentLimit:
    """Allowed range of an environmental quantity (in ``unit``); ``stop`` aborts the step, else it warns."""

    quantity: str
    low: float
    high: float
    unit: str
    stop: bool = False

    def check(self, value: float) -> bool:
        """True when ``value`` is within the limits (inclusive)."""
        return self.low <= value <= self.high


@dataclass(frozen=True)
class ProcedureDefinition:
    """The versioned, citable part of a procedure (what the registry's ``procedure`` row records)."""

    code: str
    version: str
    kind: str  # calibration | verification | test
    field: str  # registry MetrologyField value
    title: str
    method_reference: str
    roles: tuple[RoleSpec, ...]
    environment: tuple[EnvironmentLimit, ...] = ()
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # defaults; a run may override them

    def digest(self) -> str:
        """SHA-256 of the canonical definition: a run records exactly which definition it followed."""
        body = json.dumps(asdict(self), sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    def role(self, name: str) -> RoleSpec:
        """The role called ``name``."""
        for spec in self.roles:
            if spec.role == name:
                return spec
        raise KeyError(f"procedure {self.code} has no role {name!r}; roles: {', '.join(r.role for r in self.roles)}")


@dataclass(frozen=True)
class DeviceCommand:
    """A remote command the engine sends before a step's readings: ``method(**args)`` on the role's driver.

    For instruments the lab drives itself: the calibrator's output (``set_output``, ``operate``, ``standby``),
    the DMM's function and range (``configure``), a balance's zero (``zero``). The driver must offer ``method``;
    a driver error pauses the run like a failed reading.
    """

    role: str
    method: str
    args: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        """``role.method(k=v, ...)`` for messages and logs."""
        body = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.role}.{self.method}({body})"


@dataclass(frozen=True)
class Step:
    """One step of a run: remote commands, an optional operator action, then readings from one role's instrument.

    ``commands`` run first (in order), then ``action`` goes to the operator channel. ``keep`` stable readings are
    kept (after the stability criterion is met, if any); every reading polled is stored; ``keep = 0`` makes a step
    of commands and actions only. ``quantity`` filters multi-quantity instruments (environment: temperature,
    humidity, pressure; flow meter: totalizer). ``environment`` marks a step that records the environmental
    conditions (``phase`` in the registry). ``meta`` carries what ``evaluate`` needs to know about the step (load,
    position, flow rate...). ``group`` names the unit of steps that belong together (a meter reading before, the
    run and the reading after; an ABBA cycle; a loading sequence): a run interrupted inside a group resumes from the
    group's first step, never from its middle (docs/runs.md, "Steps that belong together").
    """

    id: str
    role: str
    title: str
    action: OperatorAction | None = None
    keep: int = 1
    stability: StabilityCriterion | None = None
    quantity: str = ""
    environment: bool = False
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    commands: tuple[DeviceCommand, ...] = ()
    group: str = ""

    def roles(self) -> set[str]:
        """Every role this step needs connected (its readings' role and its commands' roles)."""
        return {self.role, *(c.role for c in self.commands)}


class RepeatGroupsError(ValueError):
    """Raised by ``evaluate`` when the readings of some step groups cannot be used (e.g. a flow run that delivered
    less than its method's minimum volume): the engine forgets those groups' completed steps (their readings stay
    stored under their attempt tags), pauses the run with the message, and a resume measures them again."""

    def __init__(self, message: str, groups: tuple[str, ...]) -> None:
        super().__init__(message)
        self.groups = groups


def resume_point(steps: list[Step], completed: Mapping[str, Any]) -> set[str]:
    """The ids of ``completed`` steps to measure again: every completed step of a group that is not complete, so an
    interrupted group resumes from its first step (its earlier readings stay stored under their attempt tags)."""
    members: dict[str, list[str]] = {}
    for step in steps:
        if step.group:
            members.setdefault(step.group, []).append(step.id)
    again: set[str] = set()
    for ids in members.values():
        done = [i for i in ids if i in completed]
        if done and len(done) < len(ids):
            again.update(done)
    return again


@dataclass(frozen=True)
class InstrumentUnderTest:
    """The registry's description of the instrument under test (units as registered)."""

    id: int
    kind: str
    manufacturer: str
    model: str
    serial_number: str
    range_min: float | None
    range_max: float | None
    range_unit: str
    resolution: float | None
    resolution_unit: str
    accuracy_class: str


@dataclass(frozen=True)
class CertificateRecord:
    """An earlier certificate of a reference standard: its number, calibration date and certified ``values``."""

    number: str
    calibrated_on: date
    values: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class StandardUsed:
    """A reference standard in a role, with the certificate in force (``values``: point/value/unit/U/k rows) and
    its registered resolution (in ``range_unit``; None when not registered).

    ``calibrated_on`` is the calibration date of the certificate in force; ``history`` the standard's earlier
    certificates, newest first (for the drift of its certified values, :mod:`acquisition.procedures.history`).
    """

    role: str
    code: str
    kind: str
    range_min: float | None
    range_max: float | None
    range_unit: str
    accuracy_class: str
    certificate: str
    values: tuple[Mapping[str, Any], ...] = ()
    resolution: float | None = None  # in range_unit, as registered
    calibrated_on: date | None = None
    history: tuple[CertificateRecord, ...] = ()


@dataclass(frozen=True)
class LotUnderTest:
    """The registry's description of the prepackage lot under test: ``lot_size`` prepackages labelled
    ``nominal_quantity`` in ``nominal_unit`` (g, kg, mL or L); ``packer`` is the packer's (or importer's) name."""

    id: int
    packer: str
    product: str
    brand: str
    lot_number: str
    lot_size: int
    nominal_quantity: float
    nominal_unit: str
    sampled_on: date | None = None


#: what a procedure tests: a customer's measuring instrument, or a lot of prepackaged goods
UnderTestKind = Literal["instrument", "lot"]


@dataclass(frozen=True, init=False)
class RunContext:
    """Everything ``plan`` and ``evaluate`` may use.

    A run tests either an instrument or a prepackage lot (``under_test``): ``context.instrument`` and
    ``context.lot`` return it, and raise ValueError when the run tests the other kind.
    """

    run_id: str
    parameters: Mapping[str, Any]
    standards: Mapping[str, StandardUsed]
    under_test: InstrumentUnderTest | LotUnderTest

    def __init__(
        self,
        run_id: str,
        parameters: Mapping[str, Any],
        instrument: InstrumentUnderTest | None = None,
        standards: Mapping[str, StandardUsed] | None = None,
        *,
        lot: LotUnderTest | None = None,
        under_test: InstrumentUnderTest | LotUnderTest | None = None,
    ) -> None:
        given = [x for x in (instrument, lot, under_test) if x is not None]
        if len(given) != 1:
            raise TypeError("a run context needs exactly one of instrument, lot (or under_test)")
        if standards is None:
            raise TypeError("a run context needs the standards (an empty mapping when there are none)")
        object.__setattr__(self, "run_id", run_id)
        object.__setattr__(self, "parameters", parameters)
        object.__setattr__(self, "standards", standards)
        object.__setattr__(self, "under_test", given[0])

    @property
    def instrument(self) -> InstrumentUnderTest:
        """The instrument under test; ValueError when the run tests a prepackage lot."""
        if not isinstance(self.under_test, InstrumentUnderTest):
            raise ValueError(f"run {self.run_id} tests a prepackage lot, not an instrument")
        return self.under_test

    @property
    def lot(self) -> LotUnderTest:
        """The prepackage lot under test; ValueError when the run tests an instrument."""
        if not isinstance(self.under_test, LotUnderTest):
            raise ValueError(f"run {self.run_id} tests an instrument, not a prepackage lot")
        return self.under_test


@dataclass(frozen=True)
class StepData:
    """What a completed step left: the kept values (in ``unit``) and the step itself."""

    step: Step
    values: tuple[float, ...]
    unit: str
    quantities: tuple[str, ...] = ()


class Procedure(ABC):
    """A procedure: its definition, its plan and its evaluation.

    ``parameter_specs`` declares every run parameter the procedure reads (:mod:`acquisition.procedures.params`);
    ``under_test`` says whether a run tests an instrument or a prepackage lot.
    They are kept out of :class:`ProcedureDefinition` on purpose: its digest is recorded in the registry, and a
    clearer description or a new bound must not force a new version of the procedure (decision 0303).
    """

    definition: ProcedureDefinition
    parameter_specs: ClassVar[tuple[ParamSpec, ...]] = ()
    #: what a run of this procedure tests; like the specs, kept out of the digested definition, so declaring it
    #: changed no procedure's version (a lot procedure's roles say so in their description)
    under_test: ClassVar[UnderTestKind] = "instrument"

    def parameter(self, context: RunContext, name: str) -> Any:
        """The clean value of the declared parameter ``name`` in the run (its default when not given)."""
        return read(self.parameter_specs, context.parameters, name)

    @abstractmethod
    def plan(self, context: RunContext) -> list[Step]:
        """The steps of a run, in order (deterministic for a given context: a resumed run re-plans)."""

    @abstractmethod
    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        """Results from the kept values of every step (keyed by step id)."""

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        """Per role, the (low, high, unit) span the standard must cover; default: no requirement."""
        return {}
