"""``caltrace readings``: look at the raw readings kept in the time-series store, and send spooled ones."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.tables import Format, emit

if TYPE_CHECKING:
    from acquisition.store import ReadingStore

app = typer.Typer(no_args_is_help=True, help="Raw readings in the time-series store (CALTRACE_STORE).")


def _store() -> ReadingStore:
    from acquisition.store import open_store
    from registry.settings import Settings

    return open_store(Settings())


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date or time; use e.g. 2026-11-21T08:00:00+07:00", param_hint=option
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@app.command("show")
def show_command(
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run.")] = None,
    instrument: Annotated[str | None, typer.Option("--instrument", "-i", help="Only this instrument id.")] = None,
    step: Annotated[str | None, typer.Option(help="Only this procedure step.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="From this time (ISO 8601; UTC if no offset).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Before this time (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many readings.")] = 100,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.TABLE,
) -> None:
    """Readings kept in the store, oldest first, filtered by run, instrument, step and time."""
    with _store() as store:
        rows = store.query(
            run_id=run_id,
            instrument_id=instrument,
            step=step,
            start=_instant(start, "--from"),
            end=_instant(end, "--to"),
            limit=limit,
        )
    data = [
        {
            "timestamp": r.timestamp.isoformat(timespec="microseconds"),
            "instrument_id": r.instrument_id,
            "quantity": r.quantity,
            "value": None if math.isnan(r.value) else r.value,
            "unit": r.unit,
            "status": r.status.value,
            "run_id": r.run_id or "",
            "step": r.step or "",
        }
        for r in rows
    ]
    columns = [(k, k) for k in ("timestamp", "instrument_id", "quantity", "value", "unit", "status", "run_id", "step")]
    emit(data, columns, fmt, f"Readings: {len(data)}")


@app.command("count")
def count_command(
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run.")] = None,
    instrument: Annotated[str | None, typer.Option("--instrument", "-i", help="Only this instrument id.")] = None,
) -> None:
    """How many readings the store holds (for a run or an instrument), and how many wait in the spool."""
    from acquisition.store.errors import StoreError

    with _store() as store:
        waiting = store.pending()
        try:
            stored = str(store.count(run_id=run_id, instrument_id=instrument))
        except StoreError as exc:  # the server is away: say so, and what is safe in the spool
            typer.echo(f"warning: cannot count the stored readings: {exc}", err=True)
            stored = "unknown"
        typer.echo(f"{stored} readings stored, {waiting} waiting in the spool")


@app.command("flush")
def flush_command(
    timeout: Annotated[float, typer.Option(min=0.0, help="Seconds to keep trying.")] = 30.0,
) -> None:
    """Send readings waiting in the spool to the time-series server; exit 1 if some still wait."""
    with _store() as store:
        before = store.pending()
        done = store.flush(timeout)
        left = store.pending()
    if done and not left:
        typer.echo(f"spool empty: {before} readings sent")
        return
    typer.echo(f"error: {left} readings still wait in the spool (server unreachable?); they are safe on disk", err=True)
    raise typer.Exit(1)
