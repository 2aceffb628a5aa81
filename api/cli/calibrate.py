"""``caltrace calibrate``: run a calibration or verification procedure step by step, and ``caltrace runs``.

A run needs the procedure, the instrument under test (registry id or serial number) or, for ``prepackage-r87``,
the prepackage lot (``--lot``: registry id or lot number), the technician, a reference
standard for each role that needs one (``--standard weights=W-E2``) and a connection for each role
(``--connect balance=mt-sics@socket://10.0.0.21:4001``; a standard registered with an address and driver model
needs none). Operator actions are shown on the terminal and confirmed with Enter (``s`` stops: the run pauses and
``--resume RUN`` continues it). ``--demo`` does everything on an in-process virtual lab with demo data.

This module is the command-line shell of :class:`acquisition.session.RunSession`, which does the run's work
(resolve the request or the resume, check and create the run, connect the roles' instruments, execute, close):
here the options become a :class:`~acquisition.session.RunRequest`, ``--demo`` seeds the virtual lab and starts
its simulators, the session's refusals are reworded to name the options, and the outcome is rendered.

Stopping: Ctrl-C and SIGTERM are turned into an exception in the main thread, so every way a run stops goes
through the engine's safe path (sources to standby first, then the run paused). A source that could not be
confirmed in standby is printed on stderr in red, with what to do by hand.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.errors import fail
from api.cli.tables import budget_console, budget_table

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from acquisition.channel import OperatorAction
    from acquisition.engine import RunOutcome
    from acquisition.session import VirtualLab
    from lab.base import DemoScenario

#: exit codes: 0 completed, 2 refused or bad arguments, 3 paused (resume later), 130 Ctrl-C, 143 SIGTERM
EXIT_PAUSED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread, so the run stops on the engine's safe path like Ctrl-C."""


@contextlib.contextmanager
def sigterm_stops_the_run() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread (once; later ones are ignored so that
    the sources can be put to standby undisturbed). Outside the main thread it does nothing."""

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated("SIGTERM received")

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (e.g. an embedding service): its own stop handling applies
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say_unsafe(messages: list[str]) -> None:
    """A source left possibly live: one loud line each on stderr."""
    for message in messages:
        typer.secho(message, err=True, fg="red", bold=True)


def _pairs(values: list[str], option: str, example: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise fail(f"{option} {item!r}: write it as {example}", 2)
        out[key.strip()] = value.strip()
    return out


def _parameters(values: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; a value is read as JSON when it is JSON (numbers, lists, true/false), else text (also
    JSON nested too deep or with an integer of thousands of digits: the parameter's check then refuses it)."""
    out: dict[str, Any] = {}
    for key, text in _pairs(values, "--param", "loads_g=[50,100,200] or e=0.01").items():
        try:
            out[key] = json.loads(text)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; so is the 4300-digit int limit
            out[key] = text
    return out


def _connection(text: str, role: str) -> tuple[str, str]:
    model, sep, url = text.partition("@")
    if not sep or not model or not url:
        raise fail(f"--connect {role}={text!r}: write it as {role}=MODEL@URL, e.g. mt-sics@socket://10.0.0.21:4001", 2)
    return url, model


def _demo_data_dir() -> None:
    """The data directory of ``--demo``: the configured one (CALTRACE_DATA_DIR or CALTRACE_DATABASE_URL), else the
    default one when it holds a registry (the lab ``make run`` leaves, so ``runs list`` shows the demo run), else a
    fresh temporary one (announced on stderr)."""
    from registry.settings import default_data_dir, get_settings

    settings = get_settings()  # the environment and .env files
    if settings.database_url or settings.data_dir != default_data_dir().resolve():
        return
    if (settings.data_dir / "caltrace.db").exists():
        return
    path = tempfile.mkdtemp(prefix="caltrace-demo-")
    os.environ["CALTRACE_DATA_DIR"] = path
    typer.echo(f"demo: fresh data directory {path} (set CALTRACE_DATA_DIR={path} to resume or inspect)", err=True)


def calibrate_command(
    procedure_id: Annotated[
        str | None, typer.Option("--procedure", "-p", help="Procedure id (see `caltrace procedures`).")
    ] = None,
    instrument: Annotated[
        str | None, typer.Option("--instrument", "-i", help="Instrument under test: registry id or serial number.")
    ] = None,
    lot: Annotated[
        str | None,
        typer.Option("--lot", help="Prepackage lot under test (prepackage-r87): registry id or lot number."),
    ] = None,
    technician: Annotated[
        str | None, typer.Option("--technician", "-t", help="Username of the technician performing the run.")
    ] = None,
    standard: Annotated[
        list[str] | None, typer.Option("--standard", "-s", help="ROLE=CODE: the reference standard in a role.")
    ] = None,
    connect: Annotated[
        list[str] | None,
        typer.Option("--connect", "-c", help="ROLE=MODEL@URL: how to reach the instrument in a role."),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="KEY=VALUE run parameter (JSON values, e.g. loads_g=[50,100]).")
    ] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Resume the paused or interrupted run RUN.")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Use the in-process virtual lab and demo data; answer prompts itself.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON document.")] = False,
    language: Annotated[
        str, typer.Option("--lang", help="Language of the operator prompts and the results: vi or en.")
    ] = "vi",
) -> None:
    """Run a calibration or verification procedure (or resume one) and print its results and budgets."""
    if not procedure_id and not resume:
        raise fail("give --procedure ID (or --resume RUN); `caltrace procedures` lists the ids", 2)
    if language not in ("vi", "en"):
        raise fail("--lang must be vi or en", 2)
    if demo:
        _demo_data_dir()

    from acquisition.errors import RunError
    from acquisition.session import RunRequest, RunSession
    from acquisition.store import open_store
    from api.cli.operator import operator_channel
    from registry.db import open_registry
    from registry.settings import get_settings

    registry = open_registry(migrated=not demo)
    request = RunRequest(
        procedure=procedure_id,
        instrument=instrument,
        lot=lot,
        technician=technician,
        standards=_pairs(standard or [], "--standard", "weights=W-E2"),
        connections={
            role: _connection(text, role) for role, text in _pairs(connect or [], "--connect", "ROLE=MODEL@URL").items()
        },
        parameters=_parameters(param or []),
        resume=resume,
    )
    today = get_settings().lab_today()
    session = RunSession(registry, today=lambda: today)
    with contextlib.ExitStack() as lab_stack:
        act: Callable[[OperatorAction], None] | None = None
        if demo:
            session.lab, act = _virtual_lab(lab_stack, registry, procedure_id or session.procedure_of(resume or ""))
        try:
            resolved = session.resolve(request)
        except RunError as exc:
            raise fail(_in_cli_words(exc), 2) from None
        begun = None
        with open_store(get_settings()) as store, sigterm_stops_the_run():
            try:
                begun = session.start(resolved, store)
                code, title = begun.procedure.definition.code, begun.procedure.definition.title
                typer.echo(f"run {begun.run_id}: {code} — {title}", err=True)
                channel = operator_channel(language, act, by=begun.resolved.technician)
                outcome = session.execute(begun, channel)
            except RunError as exc:  # e.g. taken over or aborted while executing: the engine made the sources safe
                _say_unsafe(list(getattr(exc, "__notes__", [])))
                raise fail(_in_cli_words(exc), 2) from None
            except (KeyboardInterrupt, Terminated) as exc:
                _say_unsafe(list(getattr(exc, "__notes__", [])))
                how = "Ctrl-C" if isinstance(exc, KeyboardInterrupt) else "SIGTERM"
                run_id = begun.run_id if begun is not None else resume or ""
                where = f"run {run_id}" if run_id else "caltrace calibrate"
                resume_hint = (
                    f"; resume with: caltrace calibrate --resume {run_id}" + (" --demo" if demo else "")
                    if run_id
                    else ""
                )
                typer.echo(f"{where} stopped by {how}{resume_hint}", err=True)
                raise typer.Exit(EXIT_INTERRUPTED if how == "Ctrl-C" else EXIT_TERMINATED) from None
    _say_unsafe(outcome.unsafe)
    _report(outcome, as_json, language, _cmc_of(registry, outcome.run_id, [r.as_dict() for r in outcome.results]))
    if outcome.state == "paused":
        typer.echo(
            f"run {outcome.run_id} paused: {outcome.message}\n"
            f"resume with: caltrace calibrate --resume {outcome.run_id}" + (" --demo" if demo else ""),
            err=True,
        )
        raise typer.Exit(EXIT_PAUSED)


def _in_cli_words(exc: Exception) -> str:
    """A session's refusal as this command says it: the refusals about what the technician typed name the
    command's options (the session's own words name none)."""
    from acquisition.errors import MissingConnections, NoTechnician, WrongSubject

    if isinstance(exc, WrongSubject):
        code = exc.procedure
        if exc.wanted == "lot":
            if exc.given == "instrument":
                return f"{code} tests a prepackage lot, not an instrument: give --lot LOT_NUMBER, not --instrument"
            return f"{code} tests a prepackage lot: give --lot LOT_NUMBER (or the lot's registry id)"
        if exc.given == "lot":
            return f"{code} tests an instrument, not a prepackage lot: give --instrument SERIAL, not --lot"
        return "give --instrument SERIAL (or registry id) of the instrument under test"
    if isinstance(exc, NoTechnician):
        return "give --technician USERNAME (the person performing the run, as registered in the staff list)"
    if isinstance(exc, MissingConnections):
        return (
            f"no connection for {', '.join(exc.roles)}: give --connect ROLE=MODEL@URL (models: `caltrace models`), "
            f"e.g. --connect {exc.roles[0]}=manual@manual:"
        )
    return str(exc)


def _virtual_lab(
    stack: contextlib.ExitStack, registry: Engine, procedure_id: str
) -> tuple[VirtualLab, Callable[[OperatorAction], None]]:
    """Seed the demo scenario of ``procedure_id`` and start its simulators (stopped when ``stack`` closes): the
    session's virtual lab (addresses, hook, defaults) and the scenario's automatic operator."""
    from acquisition.session import VirtualLab
    from lab import simulator_thread

    demo = _prepare_demo(registry, procedure_id, actor="demo")
    sims = stack.enter_context(simulator_thread())
    return VirtualLab(
        addresses=demo.start(sims),
        attach=demo.attach,
        technician="demo",
        instrument=demo.instrument,
        lot=demo.lot,
        standards=demo.standards,
        parameters=demo.parameters,
    ), demo.act


def _prepare_demo(registry: Engine, procedure_id: str, actor: str) -> DemoScenario:
    """Migrate, then seed the demo lab and the scenario's instrument and standards (idempotent)."""
    from acquisition.procedures import procedure_ids
    from lab import scenario
    from registry.db import session_scope, upgrade
    from registry.settings import lab_today

    try:
        demo = scenario(procedure_id)
    except LookupError as exc:
        raise fail(str(exc), 2) from None
    upgrade(registry)
    with session_scope(registry, actor) as s:
        from lab.base import seed_common

        seed_common(s, lab_today(), procedure_ids())
        demo.seed(s, lab_today())
    return demo


def _cmc_of(registry: Engine, run_id: str, results: list[dict[str, Any]]) -> list[Any]:
    """Per result, the laboratory's CMC at its point (``registry.runs.run_cmc``; None where no line holds)."""
    from sqlalchemy.exc import SQLAlchemyError

    from registry.db import read_session
    from registry.runs import run_cmc

    if not run_id or not results:
        return [None] * len(results)
    try:
        with read_session(registry) as s:
            return run_cmc(s, run_id, results)
    except SQLAlchemyError as exc:  # the run is recorded; only the CMC beside U cannot be shown
        typer.echo(f"warning: the lab's CMC could not be read ({getattr(exc, 'orig', None) or exc})", err=True)
        return [None] * len(results)


def _report(outcome: RunOutcome, as_json: bool, language: str = "vi", cmc: list[Any] | None = None) -> None:
    """The outcome: ``--json`` with every digit, else the results table and each budget in ``language``, values and
    U rounded for reading with their units, k to two decimals, conformity in words (:mod:`api.cli.results`,
    docs/presentation.md). ``cmc`` (per result, ``registry.runs.run_cmc``): the laboratory's CMC, shown beside a
    U below it and kept in JSON as each result's ``cmc``."""
    from api.cli.results import with_cmc

    matches = cmc if cmc is not None else [None] * len(outcome.results)
    if as_json:
        doc = outcome.as_dict()
        doc["results"] = with_cmc(doc["results"], matches)
        typer.echo(json.dumps(doc, ensure_ascii=False, default=str))
        return
    from api.cli.results import budget_title, check_language, results_table

    lang = check_language(language)
    console = budget_console()
    for warning in outcome.warnings:
        console.print(f"[yellow]{'cảnh báo' if lang == 'vi' else 'warning'}:[/] {warning}")
    if outcome.results:
        rows = with_cmc([{**r.as_dict(), "seq": n} for n, r in enumerate(outcome.results, 1)], matches)
        console.print(results_table(f"{outcome.procedure} — run {outcome.run_id}", rows, lang))
        for row in rows:
            budget_table(console, budget_title(row, row["seq"], lang), row["budget"], lang)
    stored = "unknown (the reading store's server cannot be reached)" if outcome.readings is None else outcome.readings
    waiting = f"; {outcome.spooled} waiting in the spool, safe on disk" if outcome.spooled else ""
    console.print(f"state: {outcome.state}; readings stored: {stored}{waiting}")


def procedures_command(as_json: Annotated[bool, typer.Option("--json", help="JSON list.")] = False) -> None:
    """List the procedures caltrace can run (id, version, kind, method reference)."""
    from acquisition.procedures import get_procedure, procedure_ids

    rows = []
    for code in procedure_ids():
        try:
            d = get_procedure(code).definition
        except (ImportError, AttributeError):  # a procedure still being written
            continue
        rows.append({"id": d.code, "version": d.version, "kind": d.kind, "reference": d.method_reference})
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        typer.echo(f"{row['id']:32} v{row['version']:4} {row['kind']:13} {row['reference']}")
