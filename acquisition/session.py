"""The run session: one calibration run from a front end's request to its outcome, the same for every front end.

A front end (the command line today, the web service next) turns what the technician asked for into a
:class:`RunRequest` and hands it to a :class:`RunSession`, which

1. **resolves** it (:meth:`RunSession.resolve`): the procedure by id, or for a resume the run's own procedure,
   standards and technician; the virtual lab's defaults in demo mode;
2. **starts** the run (:meth:`RunSession.start`): a new run is checked (the kind of subject, then everything
   :func:`acquisition.creation.create_run` checks) and registered; a resumed one is taken as it is;
3. **executes** it (:meth:`RunSession.execute`): checks that every role the plan needs has a connection and that
   no connection names a role the procedure lacks, opens and prepares each role's instrument, runs the engine
   (:meth:`acquisition.engine.RunEngine.execute`) and closes every instrument however the run ends.

The session neither prints nor reads the terminal: the operator is reached through the operator channel (or front
end) the front end passes in (manual-entry readings included), and every refusal is a typed
:class:`~acquisition.errors.RunRefused` (or :class:`~acquisition.errors.RunStateError`) whose message is the
front end's to show; the command line rewords the ones that name its options (decision record 0320).

Demo mode is a plain input too (:class:`VirtualLab`): the addresses of the virtual lab's running simulators, a hook
called with each opened driver, and the scenario's default request. This module imports neither the virtual lab
nor the simulators.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from acquisition.channel import FrontEnd, OperatorChannel, wire_manual_entry
from acquisition.creation import check_subject
from acquisition.engine import RunEngine, RunOutcome
from acquisition.errors import MissingConnections, NoTechnician, RunStateError, UnknownProcedure, UnknownRoles
from acquisition.procedures import get_procedure
from acquisition.procedures.base import Procedure
from acquisition.store import ReadingStore
from drivers.base import Instrument
from drivers.registry import open_instrument
from registry.checkpoint import locked_run, record_connections
from registry.db import read_session, session_scope
from registry.errors import NotFoundError
from registry.queries import find_standard
from registry.runs import describe_run, resolve_run_id, run_connections

#: role -> (address URL, driver model), e.g. ``{"balance": ("socket://10.0.0.21:4001", "mt-sics")}``
Connections = Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class RunRequest:
    """What a front end asks for: a new run, or (``resume``) the continuation of one.

    ``instrument`` is the registry id or serial number of the instrument under test, ``lot`` the registry id or
    lot number of a prepackage lot (exactly one, of the kind the procedure tests); ``standards`` maps a role to a
    reference standard's code; ``connections`` maps a role to (address URL, driver model) and overrides the address
    a standard is registered with; ``parameters`` are the run's declared parameters. For a resume, ``procedure``
    (when given) must be the run's own, ``technician`` (when given) replaces the run's, and the run keeps its
    standards and parameters.
    """

    procedure: str | None = None
    instrument: str | None = None
    lot: str | None = None
    technician: str | None = None
    standards: Mapping[str, str] = field(default_factory=dict)
    connections: Connections = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    resume: str | None = None


@dataclass(frozen=True)
class VirtualLab:
    """Demo mode, as plain inputs supplied by the virtual lab's package (the session imports none of it).

    ``addresses``: role -> (URL, model) of the simulators already running, used instead of the standards'
    registered addresses (a request's own connections still win); ``attach(role, driver)`` is called with each
    opened driver (the lab links its simulated balance to its simulated weights, for instance); the other fields
    fill in what the request leaves out (its technician, subject, standards and parameters win).
    """

    addresses: Connections
    attach: Callable[[str, Instrument], None] | None = None
    technician: str = ""
    instrument: str = ""
    lot: str = ""
    standards: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolvedRun:
    """A request resolved against the registry and the procedures: nothing is written yet."""

    procedure: Procedure
    technician: str
    instrument: str | None
    lot: str | None
    standards: Mapping[str, str]
    parameters: Mapping[str, Any]
    connections: Connections
    resume: str | None = None
    #: a resumed run's connections as given when it was created (used where the request and the virtual lab
    #: give none: a demo's simulators listen on new ports in every process)
    remembered: Connections = field(default_factory=dict)


@dataclass(frozen=True)
class StartedRun:
    """A run registered (or found, for a resume) and the engine that executes it as its technician."""

    run_id: str
    procedure: Procedure
    engine: RunEngine
    resolved: ResolvedRun


class RunSession:
    """Resolves, starts and executes runs on one registry; every front end drives runs through this object.

    ``today`` gives the lab's calendar day (authorisations and certificates are judged on it); ``lab`` is the
    virtual lab in demo mode, else None.
    """

    def __init__(
        self,
        registry: Engine,
        *,
        today: Callable[[], date] = date.today,
        lab: VirtualLab | None = None,
        poll_pause: float = 0.0,
    ) -> None:
        self.registry = registry
        self.today = today
        self.lab = lab
        self.poll_pause = poll_pause

    # --- 1. resolve --------------------------------------------------------------------------------------------------

    def procedure_of(self, run_id: str) -> str:
        """The procedure id of the run ``run_id`` (a registry NotFoundError when there is none)."""
        with read_session(self.registry) as s:
            return str(describe_run(s, resolve_run_id(s, run_id))["procedure"])

    def resolve(self, request: RunRequest) -> ResolvedRun:
        """The request completed from the run (a resume) and the virtual lab's defaults, and its procedure loaded.

        Raises :class:`RunStateError` when a resume names another procedure than the run's,
        :class:`UnknownProcedure`, :class:`NoTechnician`; a resume of a run the registry does not have raises the
        registry's NotFoundError.
        """
        procedure_id = request.procedure
        standards = dict(request.standards)
        technician = request.technician
        resume = request.resume or None
        remembered: dict[str, tuple[str, str]] = {}
        summary: dict[str, Any] = {}
        if request.resume:
            with read_session(self.registry) as s:
                resume = resolve_run_id(s, request.resume)  # a unique prefix of the id is enough
                summary = describe_run(s, resume)
                remembered = run_connections(s, resume)  # as given when the run was created
            if procedure_id and procedure_id != summary["procedure"]:
                raise RunStateError(f"run {resume} follows {summary['procedure']}, not {procedure_id}")
            procedure_id = str(summary["procedure"])
            standards = dict(summary["standards"])
            technician = technician or summary["technician"]
        if not procedure_id:
            raise UnknownProcedure("name the procedure to run (or the run to resume)")
        try:
            procedure = get_procedure(procedure_id)
        except LookupError as exc:
            raise UnknownProcedure(str(exc)) from None
        if resume:
            _same_definition(resume, summary, procedure)
        instrument = request.instrument or None
        lot = request.lot or None
        parameters = dict(request.parameters)
        lab = self.lab
        if lab is not None:
            technician = technician or lab.technician
            instrument = instrument or lab.instrument or None
            lot = lot or lab.lot or None
            standards = {**lab.standards, **standards}
            parameters = {**lab.parameters, **parameters}
        if not technician:
            raise NoTechnician()
        return ResolvedRun(
            procedure=procedure,
            technician=technician,
            instrument=instrument,
            lot=lot,
            standards=standards,
            parameters=parameters,
            connections=dict(request.connections),
            resume=resume,
            remembered=remembered,
        )

    # --- 2. start ----------------------------------------------------------------------------------------------------

    def start(self, resolved: ResolvedRun, store: ReadingStore) -> StartedRun:
        """Register a new run after its checks (or take the resumed run as it is); readings go to ``store``.

        Raises :class:`~acquisition.errors.WrongSubject` for a subject of the wrong kind (or none) before anything
        is looked up, and :class:`~acquisition.errors.RunRefused` for what
        :meth:`~acquisition.engine.RunEngine.create` refuses.
        """
        engine = RunEngine(
            self.registry, store, actor=resolved.technician, today=self.today, poll_pause=self.poll_pause
        )
        if resolved.resume:
            return StartedRun(resolved.resume, resolved.procedure, engine, resolved)
        check_subject(resolved.procedure, resolved.instrument, resolved.lot)
        run_id = engine.create(
            resolved.procedure,
            instrument=resolved.instrument,
            lot=resolved.lot,
            technician=resolved.technician,
            standards=resolved.standards,
            parameters=resolved.parameters,
        )
        if resolved.connections:  # remembered with the run: `calibrate --resume RUN` works as printed
            with session_scope(self.registry, resolved.technician) as s:
                run = locked_run(s, run_id)
                if run is not None:
                    record_connections(run, resolved.connections)
        return StartedRun(run_id, resolved.procedure, engine, resolved)

    # --- 3. execute --------------------------------------------------------------------------------------------------

    def connections(self, started: StartedRun) -> dict[str, tuple[str, str]]:
        """role -> (URL, model) to open for ``started``, checked against what its plan needs.

        In demo mode the virtual lab's addresses, else the addresses of the standards registered with one and, for a
        resumed run, the connections it was created with; the request's connections override either. Raises
        :class:`MissingConnections` (roles the plan needs without a connection) and :class:`UnknownRoles`
        (connections for roles the procedure has not).
        """
        resolved = started.resolved
        if self.lab is not None:  # the virtual lab's simulators, started by this process
            base = dict(self.lab.addresses)
        else:  # registered addresses, then the connections the run was created with
            base = {**self._registered(resolved.standards), **resolved.remembered}
        addresses = {**base, **resolved.connections}
        roles = [spec.role for spec in started.procedure.definition.roles]
        needed = started.engine.connections_needed(started.procedure, started.run_id)
        missing = [r for r in roles if r in needed and r not in addresses]
        if missing:
            raise MissingConnections(missing)
        unknown = sorted(set(addresses) - set(roles))
        if unknown:
            raise UnknownRoles(started.procedure.definition.code, unknown, roles)
        return addresses

    def execute(self, started: StartedRun, operator: OperatorChannel | FrontEnd) -> RunOutcome:
        """Open and connect every role's instrument, execute the run to its end or its pause, close them all.

        ``operator`` is the run's operator channel (or a front end, given a channel of its own): every operator
        action, and every reading of a manual-entry instrument, is a pending action of the run answered through it
        (:func:`acquisition.channel.wire_manual_entry`). Errors of :meth:`connections` are raised before any
        instrument is opened; a driver that cannot be opened raises its driver error (the instruments opened
        before it are closed).
        """
        channel = operator if isinstance(operator, OperatorChannel) else OperatorChannel(operator)
        addresses = self.connections(started)
        attach = self.lab.attach if self.lab is not None else None
        with contextlib.ExitStack() as stack:
            instruments: dict[str, Instrument] = {}
            for role, (url, model) in addresses.items():
                driver = stack.enter_context(open_instrument(url, model, role))
                if attach is not None:
                    attach(role, driver)
                wire_manual_entry(channel, role, driver)  # after attach: the virtual lab's reader answers in demos
                instruments[role] = driver
            return started.engine.execute(started.procedure, started.run_id, instruments, channel)

    def run(
        self,
        request: RunRequest,
        store: ReadingStore,
        operator: OperatorChannel | FrontEnd,
        *,
        started: Callable[[StartedRun], None] | None = None,
    ) -> RunOutcome:
        """:meth:`resolve`, :meth:`start` and :meth:`execute` in one call; ``started`` (when given) is told the
        run before it executes (its id, for a front end to show)."""
        begun = self.start(self.resolve(request), store)
        if started is not None:
            started(begun)
        return self.execute(begun, operator)

    def _registered(self, standards: Mapping[str, str]) -> dict[str, tuple[str, str]]:
        """role -> (URL, model) for the standards registered with an address and a driver model."""
        out: dict[str, tuple[str, str]] = {}
        with read_session(self.registry) as s:
            for role, code in standards.items():
                try:
                    std = find_standard(s, code)
                except NotFoundError:  # the run was refused for it already; nothing to connect
                    continue
                if std.address and std.driver_model:
                    out[role] = (std.address, std.driver_model)
        return out


def _same_definition(run_id: str, summary: Mapping[str, Any], procedure: Procedure) -> None:
    """RunStateError unless the installed procedure is the version (and definition digest) the run began under: a
    run's readings are only evaluated by the definition they were taken for (decision 0303: a changed definition is
    a new version)."""
    definition = procedure.definition
    version, digest = str(summary.get("version", "")), str(summary.get("definition_sha256", ""))
    if version == definition.version and (not digest or digest == definition.digest()):
        return
    raise RunStateError(
        f"run {run_id} began under {definition.code} version {version}"
        + (f" (definition {digest[:12]})" if digest else "")
        + f"; this caltrace has version {definition.version} (definition {definition.digest()[:12]}): a run is "
        f"finished under the procedure it began with. Finish it with the caltrace release that started it, or "
        f"abort it (caltrace runs cancel {run_id} --abort) and start a new run"
    )
