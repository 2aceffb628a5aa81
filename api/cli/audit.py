"""``caltrace audit``: check the hash chain of the audit log and show its latest entries."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.tables import Format, emit

app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")


@app.command("verify")
def verify_command() -> None:
    """Recompute the audit chain: exit 0 when intact, 1 naming the first broken entry."""
    from registry import audit
    from registry.db import open_registry, read_session
    from registry.models import AuditHead

    with read_session(open_registry()) as session:
        result = audit.verify(session)
        head = session.get(AuditHead, 1)
    if result.ok:
        tip = f", head {head.hash}" if head else ""
        typer.echo(f"audit log intact: {result.checked} entries{tip}")
        return
    where = f"entry {result.broken_seq}" if result.broken_seq is not None else "the head"
    typer.echo(
        f"error: audit log broken at {where}: {result.reason} ({result.checked} entries before it are intact)", err=True
    )
    raise typer.Exit(1)


@app.command("show")
def show_command(
    last: Annotated[int, typer.Option("--last", "-n", min=1, help="How many of the newest entries.")] = 20,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.TABLE,
) -> None:
    """The newest entries of the audit log (who changed what, when)."""
    from registry import audit
    from registry.db import open_registry, read_session

    with read_session(open_registry()) as session:
        entries = audit.latest(session, last)
    rows = [
        {
            "seq": e.seq,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "payload": e.payload if len(e.payload) <= 100 or fmt is not Format.TABLE else e.payload[:97] + "...",
            "hash": e.hash,
        }
        for e in entries
    ]
    columns = [(k, k) for k in ("seq", "at", "actor", "action", "entity", "entity_id", "payload")]
    if fmt is not Format.TABLE:
        columns.append(("hash", "hash"))
    emit(rows, columns, fmt, "Audit log")
