"""``caltrace runs``: list and show runs, review a completed run, abort an unfinished one."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.errors import fail
from api.cli.tables import Format, budget_console, budget_table, emit, number

app = typer.Typer(no_args_is_help=True)

COLUMNS = [
    ("run_id", "run"),
    ("procedure", "procedure"),
    ("instrument", "instrument"),
    ("lot", "lot"),
    ("technician", "technician"),
    ("state", "state"),
    ("overall", "overall"),
    ("steps_completed", "steps done"),
    ("created_at", "created"),
    ("message", "message"),
]


@app.command("list")
def list_command(
    state: Annotated[str | None, typer.Option(help="Only runs in this state (e.g. paused).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many runs, newest first.")] = 50,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.TABLE,
) -> None:
    """The latest runs, newest first."""
    from api.cli.context import registry_engine
    from registry.db import read_session
    from registry.models import RunState
    from registry.runs import list_runs

    try:
        wanted = RunState(state) if state else None
    except ValueError:
        raise fail(f"--state must be one of {', '.join(s.value for s in RunState)}", 2) from None
    with read_session(registry_engine()) as s:
        rows = list_runs(s, wanted, limit)
    emit(rows, COLUMNS, fmt, title="runs")


RESULT_COLUMNS = [
    (k, k) for k in ("seq", "quantity", "point", "point_unit", "value", "unit", "U", "k", "mpe", "conformity", "note")
]


@app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.TABLE,
) -> None:
    """One run: procedure, instrument or prepackage lot, standards, state, its results and their budgets.

    ``--format json`` gives every result with its rule, reference, note, full uncertainty budget (rows with
    input, source, value, unit, u, distribution, sensitivity, contribution, dof, note; then u, dof, k,
    coverage_probability, U; null when the result states no uncertainty) and evidence (the raw data behind it)
    — the shape of ``calibrate --json``; the table form prints each result's budget
    table after the results; CSV lists the results only.
    """
    from api.cli.context import registry_engine
    from registry.db import read_session
    from registry.runs import describe_run, result_json, run_results

    with read_session(registry_engine()) as s:
        summary = describe_run(s, run_id)
        results = [result_json(r) for r in run_results(s, run_id)]
    if fmt is Format.JSON:
        import json

        typer.echo(json.dumps({**summary, "results": results}, ensure_ascii=False, default=str))
        return
    if fmt is Format.TABLE:
        for key, value in summary.items():
            typer.echo(f"{key:16} {value}")
    emit(results, RESULT_COLUMNS, fmt, title="results")
    if fmt is Format.TABLE:
        console = budget_console()
        for r in results:
            point = f" {number(r['point'])} {r['point_unit']}" if r["point"] is not None else ""
            budget_table(console, f"budget #{r['seq']}: {r['quantity']}{point}".rstrip(), r["budget"])


@app.command("review")
def review_command(
    run_id: Annotated[str, typer.Argument(help="Run id of a completed run.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Username of the reviewer (not the technician).")],
) -> None:
    """Mark a completed run reviewed (the reviewer must be authorised to review the procedure)."""
    from acquisition.engine import RunEngine, RunError
    from acquisition.store import open_store
    from api.cli.context import lab_today, registry_engine, settings

    today = lab_today()
    with open_store(settings()) as store:
        try:
            RunEngine(registry_engine(), store, actor=reviewer, today=lambda: today).review(run_id, reviewer)
        except RunError as exc:
            raise fail(str(exc), 2) from None
    typer.echo(f"run {run_id} reviewed by {reviewer}")


@app.command("abort")
def abort_command(
    run_id: Annotated[str, typer.Argument(help="Run id of an unfinished run.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the run is abandoned (kept in the audit log).")],
) -> None:
    """Abandon an unfinished run; its readings stay in the store."""
    from acquisition.engine import RunEngine, RunError
    from acquisition.store import open_store
    from api.cli.context import default_actor, registry_engine, settings

    with open_store(settings()) as store:
        try:
            RunEngine(registry_engine(), store, actor=default_actor()).abort(run_id, reason)
        except RunError as exc:
            raise fail(str(exc), 2) from None
    typer.echo(f"run {run_id} aborted")
