"""``caltrace runs``: list and show runs, review a completed run, abort an unfinished one; list and answer the
operator actions of running runs, cancel a running run."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.errors import fail
from api.cli.tables import Format, budget_console, budget_table, emit

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(no_args_is_help=True)

#: (key, Vietnamese heading, English heading) of ``runs list``; CSV and JSON use the keys (English, for scripts)
LIST_COLUMNS: list[tuple[str, str, str]] = [
    ("run_id", "lần chạy", "run"),
    ("procedure", "quy trình", "procedure"),
    ("instrument", "phương tiện đo", "instrument"),
    ("lot", "lô hàng", "lot"),
    ("technician", "người thực hiện", "technician"),
    ("state", "trạng thái", "state"),
    ("overall", "kết luận chung", "overall"),
    ("steps_completed", "số bước đã xong", "steps done"),
    ("created_at", "tạo lúc", "created"),
    ("message", "thông báo", "message"),
]
#: ``runs list``'s title and its message when no run matches, (Vietnamese, English)
LIST_TITLE = ("các lần chạy", "runs")
LIST_EMPTY = ("Không có lần chạy nào.", "No runs.")


@app.command("list")
def list_command(
    state: Annotated[str | None, typer.Option(help="Only runs in this state (e.g. paused).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many runs, newest first.")] = 50,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.TABLE,
    language: Annotated[str, typer.Option("--lang", help="Language of the table: vi (default) or en.")] = "vi",
) -> None:
    """The latest runs, newest first (the table's headings in Vietnamese by default, ``--lang en``; CSV and JSON keep
    the English column keys)."""
    from acquisition.wording import conformity_words
    from api.cli.results import STATE_WORDS, check_language, lab_time
    from registry.db import open_registry, read_session
    from registry.models import RunState
    from registry.runs import list_runs
    from registry.settings import get_settings

    try:
        lang = check_language(language)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    try:
        wanted = RunState(state) if state else None
    except ValueError:
        raise fail(f"--state must be one of {', '.join(s.value for s in RunState)}", 2) from None
    with read_session(open_registry()) as s:
        rows = list_runs(s, wanted, limit)
    if fmt is not Format.JSON:  # the table and CSV show the lab's local time; JSON keeps UTC
        timezone = get_settings().timezone
        try:
            rows = [{**row, "created_at": lab_time(row["created_at"], timezone)} for row in rows]
        except ValueError as exc:
            raise fail(str(exc), 2) from None
    if fmt is Format.TABLE:  # the table says the state and the verdict in words; CSV and JSON keep the values
        rows = [
            {
                **row,
                "state": STATE_WORDS.get(str(row.get("state")), {}).get(lang, row.get("state")),
                "overall": conformity_words(str(row["overall"]), lang) if row.get("overall") else row.get("overall"),
            }
            for row in rows
        ]
    i = 0 if lang == "vi" else 1
    columns = [(key, words[i]) for key, *words in LIST_COLUMNS]
    emit(rows, columns, fmt, title=LIST_TITLE[i], empty=LIST_EMPTY[i])


RESULT_COLUMNS = [
    (k, k) for k in ("seq", "quantity", "point", "point_unit", "value", "unit", "U", "k", "mpe", "conformity", "note")
]


@app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.TABLE,
    language: Annotated[str, typer.Option("--lang", help="Language of the table: vi (default) or en.")] = "vi",
) -> None:
    """One run: procedure, instrument or prepackage lot, standards, state, reviewer, its results and their budgets.

    The table (Vietnamese by default, ``--lang en``) shows each value and U rounded for reading (U up to two
    significant digits, the value to U's last digit: GUM 7.2.6, ILAC P14; docs/presentation.md) with its unit, k
    to two decimals, the MPE or limit with its unit (a minimum-type limit, e.g. OIML R76 discrimination, labelled
    as a minimum), conformity in words, times in the lab's time zone (CALTRACE_TIMEZONE), then each result's
    budget with units. ``--format json`` keeps full precision: every result with its rule, reference, note, full
    uncertainty budget (rows with input, source, value, unit, u, distribution, sensitivity, contribution, dof,
    note; then u, dof, k, coverage_probability, U; null when the result states no uncertainty) and evidence (the
    raw data behind it) — the shape of ``calibrate --json`` — plus ``reviewer`` and ``reviewed_at`` (UTC); CSV
    lists the results only, unrounded. For a calibration, where the laboratory's CMC at a result's point is larger
    than its U, the table shows the CMC beside U, marked (the certificate states the CMC); JSON gives each result
    with a CMC line its ``cmc`` (value in U's unit, line, range, method, U_below_cmc).
    """
    from api.cli.results import budget_title, check_language, results_table, summary_lines, with_cmc
    from registry.db import open_registry, read_session
    from registry.runs import describe_run, resolve_run_id, result_json, review_of, run_cmc, run_results
    from registry.settings import get_settings

    try:
        lang = check_language(language)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    with read_session(open_registry()) as s:  # an unknown run: NotFoundError, one line and exit 1 (run_app)
        run_id = resolve_run_id(s, run_id)  # a unique prefix of the id is enough
        summary = {**describe_run(s, run_id), **review_of(s, run_id)}
        results = [result_json(r) for r in run_results(s, run_id)]
        results = with_cmc(results, run_cmc(s, run_id, results))  # the lab's CMC where one holds (calibrations)
    if fmt is Format.JSON:
        import json

        typer.echo(json.dumps({**summary, "results": results}, ensure_ascii=False, default=str))
        return
    if fmt is Format.CSV:
        emit(results, RESULT_COLUMNS, fmt, title="results")
        return
    from rich.console import Console

    try:
        for line in summary_lines(summary, lang, get_settings().timezone):
            typer.echo(line)
        console = Console(width=200 if not sys.stdout.isatty() else None)
        console.print(results_table("kết quả" if lang == "vi" else "results", results, lang))
        console = budget_console()
        for r in results:
            budget_table(console, budget_title(r, r["seq"], lang), r["budget"], lang)
    except ValueError as exc:  # a stored number that cannot be shown (e.g. a zero U in a budget)
        raise fail(f"run {run_id}: {exc}", 2) from None


def _full_id(registry: Engine, text: str) -> str:
    """The run id ``text`` names (whole, or a unique prefix: :func:`registry.runs.resolve_run_id`); a registry
    NotFoundError (exit 1) or NotPermittedError (exit 2, ambiguous) otherwise."""
    from registry.db import read_session
    from registry.runs import resolve_run_id

    with read_session(registry) as s:
        return resolve_run_id(s, text)


@app.command("review")
def review_command(
    run_id: Annotated[str, typer.Argument(help="Run id of a completed run.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Username of the reviewer (not the technician).")],
) -> None:
    """Mark a completed run reviewed (the reviewer must be authorised to review the procedure)."""
    from acquisition.engine import RunEngine, RunError, RunNotFound
    from acquisition.store import open_store
    from registry.db import open_registry
    from registry.settings import get_settings, lab_today

    today = lab_today()
    with open_store(get_settings()) as store:
        try:
            registry = open_registry()
            run_id = _full_id(registry, run_id)
            RunEngine(registry, store, actor=reviewer, today=lambda: today).review(run_id, reviewer)
        except RunError as exc:  # not found: 1; refused (state, authorisation): 2 (api/cli/errors.py)
            raise fail(str(exc), 1 if isinstance(exc, RunNotFound) else 2) from None
    typer.echo(f"run {run_id} reviewed by {reviewer}")


@app.command("abort")
def abort_command(
    run_id: Annotated[str, typer.Argument(help="Run id of an unfinished run.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the run is abandoned (kept in the audit log).")],
) -> None:
    """Abandon an unfinished run; its readings stay in the store."""
    from acquisition.engine import RunEngine, RunError, RunNotFound
    from acquisition.store import open_store
    from registry.db import open_registry
    from registry.settings import default_actor, get_settings

    with open_store(get_settings()) as store:
        try:
            registry = open_registry()
            run_id = _full_id(registry, run_id)
            RunEngine(registry, store, actor=default_actor()).abort(run_id, reason)
        except RunError as exc:  # not found: 1; refused (state): 2 (api/cli/errors.py)
            raise fail(str(exc), 1 if isinstance(exc, RunNotFound) else 2) from None
    typer.echo(f"run {run_id} aborted")


#: (key, Vietnamese heading, English heading) of ``runs actions``; the table shows the action's text in its language
#: (``text``), CSV and JSON keep both texts and the English keys
ACTION_COLUMNS: list[tuple[str, str, str]] = [
    ("action_id", "việc", "action"),
    ("run_id", "lần chạy", "run"),
    ("step", "bước", "step"),
    ("kind", "loại", "kind"),
    ("text", "việc cần làm", "what to do"),
    ("expects", "cần trả lời", "expects"),
    ("unit", "đơn vị", "unit"),
    ("status", "tình trạng", "status"),
    ("requested_at", "hỏi lúc", "asked"),
    ("deadline", "hạn trả lời", "deadline"),
    ("answer", "trả lời", "answer"),
    ("value", "giá trị", "value"),
    ("answered_by", "người trả lời", "answered by"),
    ("note", "ghi chú", "note"),
]
#: ``runs actions``' title and its message when nothing waits, (Vietnamese, English)
ACTIONS_TITLE = ("việc chờ kỹ thuật viên", "operator actions")
ACTIONS_EMPTY = ("Không có việc nào đang chờ trả lời.", "No action is waiting for an answer.")


@app.command("actions")
def actions_command(
    run_id: Annotated[str | None, typer.Argument(help="Run id (default: the pending actions of every run).")] = None,
    every: Annotated[
        bool, typer.Option("--all", help="With RUN: every action of the run (answered and closed ones too).")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.TABLE,
    language: Annotated[str, typer.Option("--lang", help="Language of the table: vi (default) or en.")] = "vi",
) -> None:
    """Operator actions waiting for an answer (of RUN, or of every run), oldest first; answer one with
    `caltrace runs answer ACTION_ID`. The table is in Vietnamese by default (``--lang en``); CSV and JSON keep the
    English keys and both texts of each action (``text_vi``, ``text_en``)."""
    from api.cli.results import check_language
    from registry.actions import pending_actions, run_actions
    from registry.db import open_registry, read_session
    from registry.runs import resolve_run_id

    if every and not run_id:
        raise fail("--all lists one run's actions: give the RUN too", 2)
    with read_session(open_registry()) as s:
        if run_id:
            run_id = resolve_run_id(s, run_id)  # an unknown run is an error, not an empty list
        rows = run_actions(s, run_id) if every and run_id else pending_actions(s, run_id)
    try:
        i = 0 if check_language(language) == "vi" else 1
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    answered = {"status", "answer", "value", "answered_by", "note"}  # empty while pending: left out of the table
    wanted = [c for c in ACTION_COLUMNS if every or fmt is Format.JSON or c[0] not in answered]
    if fmt is Format.TABLE:  # the action's words in the table's language
        rows = [{**row, "text": row.get(f"text_{('vi', 'en')[i]}", "")} for row in rows]
        columns = [(key, words[i]) for key, *words in wanted]
    else:  # for scripts: English keys, both texts
        columns = []
        for key, *_ in wanted:
            columns += [("text_vi", "text_vi"), ("text_en", "text_en")] if key == "text" else [(key, key)]
    emit(rows, columns, fmt, title=ACTIONS_TITLE[i], empty=ACTIONS_EMPTY[i])


@app.command("answer")
def answer_command(
    action_id: Annotated[int, typer.Argument(help="Action id (see `caltrace runs actions`).")],
    value: Annotated[
        str | None, typer.Option("--value", help="The value read, for an action that expects one (e.g. '21.4 °C').")
    ] = None,
    stop: Annotated[bool, typer.Option("--stop", help="Answer stop: the run pauses (resumable).")] = False,
    note: Annotated[str, typer.Option("--note", help="Why (kept with the answer, e.g. the reason to stop).")] = "",
) -> None:
    """Answer a pending operator action of a running run: done (no option), --value V, or --stop.

    The first answer counts (from here, the run's own terminal, or any other); a later one is refused and says who
    answered. The answer is recorded with CALTRACE_ACTOR (else the login name) as who answered.
    """
    from registry.actions import answer_action
    from registry.db import open_registry, session_scope
    from registry.errors import NotFoundError, NotPermittedError
    from registry.settings import default_actor

    if stop and value is not None:
        raise fail("give --value or --stop, not both", 2)
    kind = "stop" if stop else "value" if value is not None else "done"
    actor = default_actor()
    try:
        with session_scope(open_registry(), actor) as s:
            row = answer_action(s, action_id, answer=kind, by=actor, value=value, note=note)
            run_id = row.run_id
    except NotFoundError as exc:  # exit codes: api/cli/errors.py
        raise fail(str(exc), 1) from None
    except NotPermittedError as exc:
        raise fail(str(exc), 2) from None
    shown = f" ({value})" if value else ""
    typer.echo(f"action {action_id} of run {run_id} answered {kind}{shown} by {actor}")


@app.command("cancel")
def cancel_command(
    run_id: Annotated[str, typer.Argument(help="Run id of a running run.")],
    abort: Annotated[bool, typer.Option("--abort", help="Abort the run instead of pausing it.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (shown in the run's message, kept in the audit).")] = "",
) -> None:
    """Stop a running run from anywhere: the computer executing it notices within about a second, puts the sources
    in standby and pauses the run (resume it with `caltrace calibrate --resume RUN`), or aborts it with --abort."""
    from registry.actions import request_cancel
    from registry.db import open_registry, session_scope
    from registry.errors import NotFoundError, NotPermittedError
    from registry.runs import resolve_run_id
    from registry.settings import default_actor

    actor = default_actor()
    try:
        with session_scope(open_registry(), actor) as s:
            run_id = resolve_run_id(s, run_id)
            request_cancel(s, run_id, by=actor, abort=abort, reason=reason)
    except NotFoundError as exc:  # exit codes: api/cli/errors.py
        raise fail(str(exc), 1) from None
    except NotPermittedError as exc:
        raise fail(str(exc), 2) from None
    how = "abort" if abort else "pause"
    typer.echo(f"run {run_id}: cancel requested by {actor} ({how}); the run stops within about a second")
