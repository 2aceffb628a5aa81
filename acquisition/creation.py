"""The checks a run must pass before it starts, and what a run is about (its context) once it exists.

A new run is refused (:class:`~acquisition.errors.RunRefused`, nothing written) when its subject is of the wrong
kind or unknown, its technician is not authorised for the procedure today, a role lacks a usable reference
standard, a standard's range does not cover the run, the parameters are not the procedure's, or the procedure
cannot plan the run. The run's rows are written through :mod:`registry.checkpoint`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from acquisition.errors import RunNotFound, RunRefused, WrongSubject
from acquisition.procedures.base import (
    CertificateRecord,
    InstrumentUnderTest,
    LotUnderTest,
    Procedure,
    RunContext,
    StandardUsed,
)
from acquisition.procedures.params import check_parameters
from registry import checkpoint, runs
from registry.db import session_scope
from registry.errors import NotFoundError
from registry.models import MeasuringInstrument, PrepackageLot, ProcedureKind, ReferenceStandard, Run
from registry.models import Procedure as ProcedureRow


def check_subject(procedure: Procedure, instrument: str | None, lot: str | None) -> None:
    """Refuse (:class:`WrongSubject`) an instrument named for a procedure that tests a lot, a lot named for one
    that tests an instrument, or no subject at all; the one check of a run's subject kind, before any lookup."""
    code = procedure.definition.code
    if procedure.under_test == "lot":
        if instrument is not None:
            raise WrongSubject(code, "lot", "instrument")
        if not lot:
            raise WrongSubject(code, "lot", None)
    else:
        if lot is not None:
            raise WrongSubject(code, "instrument", "lot")
        if not instrument:
            raise WrongSubject(code, "instrument", None)


def find_subject(
    s: Session, procedure: Procedure, instrument: str | None, lot: str | None
) -> MeasuringInstrument | PrepackageLot:
    """The instrument or lot a new run tests, of the kind the procedure declares."""
    check_subject(procedure, instrument, lot)
    if procedure.under_test != "lot":
        assert instrument is not None  # check_subject refused a missing one
        return runs.find_instrument(s, instrument)
    assert lot is not None
    found = runs.find_lot(s, lot)
    if found is None:
        also = ""
        try:
            inst = runs.find_instrument(s, lot)
            also = f" (it is the serial number of measuring instrument #{inst.id}, a {inst.kind})"
        except NotFoundError:
            pass
        raise RunRefused(
            f"{procedure.definition.code} tests a lot; {lot!r} is not a registered lot{also}; register it with "
            "`caltrace registry import lots FILE.csv` (see docs/registry-import.md)"
        )
    return found


def procedure_row(s: Session, procedure: Procedure) -> ProcedureRow:
    """The registry's row of this procedure version, registered on its first run; refused when the registry's
    definition differs from this caltrace's (a changed procedure needs a new version number)."""
    d = procedure.definition
    row = runs.find_procedure(s, d.code, d.version)
    if row is None:
        return checkpoint.add_procedure(
            s,
            code=d.code,
            version=d.version,
            kind=d.kind,
            field=d.field,
            title=d.title,
            method_reference=d.method_reference,
            definition_sha256=d.digest(),
        )
    if row.definition_sha256 != d.digest():
        raise RunRefused(
            f"procedure {d.code} version {d.version} in the registry differs from this caltrace's definition: "
            "a changed procedure needs a new version number"
        )
    return row


def load_run(s: Session, run_id: str) -> Run:
    """The run ``run_id``; :class:`RunNotFound` when the registry has none."""
    run = s.get(Run, run_id)
    if run is None:
        raise RunNotFound(f"no run {run_id!r} in the registry")
    return run


def run_context(s: Session, run: Run) -> RunContext:
    """What a procedure plans and evaluates ``run`` with: its parameters, its subject, its standards and their
    certificates (the one used, and the earlier ones for drift)."""
    used: dict[str, StandardUsed] = {}
    for link in runs.run_standards(s, run.id):
        std = s.get(ReferenceStandard, link.standard_id)
        assert std is not None
        cert = next((c for c in std.certificates if c.id == link.certificate_id), None)
        earlier = sorted(
            (c for c in std.certificates if cert is not None and c.calibrated_on < cert.calibrated_on),
            key=lambda c: c.calibrated_on,
            reverse=True,
        )
        used[link.role] = StandardUsed(
            role=link.role,
            code=std.code,
            kind=std.kind,
            range_min=std.range_min,
            range_max=std.range_max,
            range_unit=std.range_unit,
            accuracy_class=std.accuracy_class,
            resolution=std.resolution,
            certificate=cert.number if cert else "",
            values=tuple(cert.values) if cert else (),
            calibrated_on=cert.calibrated_on if cert else None,
            history=tuple(CertificateRecord(c.number, c.calibrated_on, tuple(c.values)) for c in earlier),
        )
    parameters = dict(run.checkpoint.get("parameters", {}))
    if run.lot_id is not None:
        lot = s.get(PrepackageLot, run.lot_id)
        assert lot is not None
        return RunContext(
            run_id=run.id,
            parameters=parameters,
            lot=LotUnderTest(
                id=lot.id,
                packer=lot.packer.name,
                product=lot.product,
                brand=lot.brand,
                lot_number=lot.lot_number,
                lot_size=lot.lot_size,
                nominal_quantity=lot.nominal_quantity,
                nominal_unit=lot.nominal_unit,
                sampled_on=lot.sampled_on,
            ),
            standards=used,
        )
    inst = s.get(MeasuringInstrument, run.instrument_id)
    assert inst is not None
    return RunContext(
        run_id=run.id,
        parameters=parameters,
        instrument=InstrumentUnderTest(
            id=inst.id,
            kind=inst.kind,
            manufacturer=inst.manufacturer,
            model=inst.model,
            serial_number=inst.serial_number,
            range_min=inst.range_min,
            range_max=inst.range_max,
            range_unit=inst.range_unit,
            resolution=inst.resolution,
            resolution_unit=inst.resolution_unit,
            accuracy_class=inst.accuracy_class,
        ),
        standards=used,
    )


def create_run(
    registry: Engine,
    actor: str,
    today: date,
    procedure: Procedure,
    instrument: str | None,
    lot: str | None,
    technician: str,
    standards: Mapping[str, str],
    parameters: Mapping[str, Any],
) -> str:
    """Check everything a new run needs and register it (state ``created``) in one transaction; returns its id.

    Raises :class:`RunRefused` (or a registry NotFoundError / NotPermittedError, which
    :meth:`acquisition.engine.RunEngine.create` turns into one) with the reason; a refused run writes nothing.
    """
    definition = procedure.definition
    params = {
        **definition.parameters,
        **check_parameters(procedure.parameter_specs, parameters, procedure=definition.code),
    }
    with session_scope(registry, actor) as s:
        row = procedure_row(s, procedure)
        subject = find_subject(s, procedure, instrument, lot)
        staff = runs.may_perform(
            s, technician, definition.code, today, verification=definition.kind == ProcedureKind.VERIFICATION.value
        )
        run_id = str(uuid.uuid4())
        chosen: dict[str, dict[str, Any]] = {}
        links: dict[str, tuple[int, int]] = {}
        for spec in definition.roles:
            if spec.under_test:
                continue
            code = standards.get(spec.role)
            if code is None:
                raise RunRefused(
                    f"procedure {definition.code} needs a reference standard as {spec.role} ({spec.description}): "
                    f"give --standard {spec.role}=CODE"
                )
            std, cert = runs.usable_standard(s, code, spec.standard_kinds, spec.role, today)
            chosen[spec.role] = {"code": std.code, "certificate_id": cert.id}
            links[spec.role] = (std.id, cert.id)
        unknown = set(standards) - {spec.role for spec in definition.roles}
        if unknown:
            raise RunRefused(
                f"procedure {definition.code} has no role {', '.join(sorted(unknown))}; "
                f"its roles are {', '.join(r.role for r in definition.roles)}"
            )
        run = checkpoint.add_run(
            s,
            run_id,
            procedure_id=row.id,
            instrument_id=subject.id if isinstance(subject, MeasuringInstrument) else None,
            lot_id=subject.id if isinstance(subject, PrepackageLot) else None,
            technician_id=staff.id,
            standards=links,
            checkpoint={"parameters": params, "standards": chosen, "completed": {}, "attempts": {}},
        )
        context = run_context(s, run)
        for role, (low, high, unit) in procedure.required_range(context).items():
            used = context.standards[role]
            if used.range_unit and unit and used.range_unit != unit:
                continue  # different units: the procedure checks suitability itself
            if (used.range_max is not None and high > used.range_max) or (
                used.range_min is not None and low < used.range_min
            ):
                raise RunRefused(
                    f"standard {used.code} ({role}) covers {used.range_min}..{used.range_max} {used.range_unit}, "
                    f"but this run needs {low:g}..{high:g} {unit}: choose another standard"
                )
        procedure.plan(context)  # a plan that cannot be made is refused now, not half-way
    return run_id


def connections_needed(registry: Engine, actor: str, procedure: Procedure, run_id: str) -> set[str]:
    """The roles whose instruments must be connected to run ``run_id`` (passive standards such as weights need
    none)."""
    with session_scope(registry, actor) as s:
        context = run_context(s, load_run(s, run_id))
    try:
        steps = procedure.plan(context)
    except ValueError as exc:  # e.g. a standard replaced since the run was created no longer fits
        raise RunRefused(f"run {run_id} cannot be planned any more: {exc}; abort it and create a new run") from None
    return set().union(*(st.roles() for st in steps))
