"""``caltrace read``: print readings from any instrument, simulated or real."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.errors import fail
from api.cli.terminal import terminal_asker
from drivers.errors import AddressError, DeviceConnectionError, DeviceError, DeviceTimeoutError, ProtocolError
from drivers.manual import ManualEntry
from drivers.reading import Reading
from drivers.registry import models, open_instrument

if TYPE_CHECKING:
    from acquisition.store import ReadingStore


def format_reading(r: Reading) -> str:
    """One human line: time, id, quantity, value, unit, status."""
    value = f"{r.value:.10g}" if r.has_value else "—"
    what = f" {r.quantity}" if r.quantity else ""
    return f"{r.timestamp:%H:%M:%S.%f}"[:-3] + f"  {r.instrument_id}{what}  {value} {r.unit}  [{r.status.value}]"


def read_command(
    url: Annotated[
        str,
        typer.Argument(
            help="Instrument address, e.g. socket://127.0.0.1:4001 or modbus+tcp://host:502?unit=1; or the id of an "
            "instrument of the running virtual lab (bal-1, env-1...: its manifest gives address and model)."
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Driver model name (see `caltrace models`); needed with an address."),
    ] = None,
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="Number of polls.")] = 1,
    interval: Annotated[float, typer.Option(min=0.0, help="Seconds between polls.")] = 0.5,
    instrument_id: Annotated[str, typer.Option("--id", help="Id to label readings with (default: the URL).")] = "",
    identify: Annotated[bool, typer.Option(help="Ask the instrument who it is first.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per reading.")] = False,
    keep: Annotated[
        bool, typer.Option("--store", help="Also keep every reading in the reading store (CALTRACE_STORE).")
    ] = False,
    run_id: Annotated[str | None, typer.Option("--run", help="Tag kept readings with this run id.")] = None,
    step: Annotated[str | None, typer.Option("--step", help="Tag kept readings with this step.")] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="Virtual lab manifest to look an instrument id up in (default: lab.json in the data directory)."
        ),
    ] = None,
    language: Annotated[
        str, typer.Option("--lang", help="Language of a manual instrument's prompt: vi (default) or en.")
    ] = "vi",
) -> None:
    """Print COUNT polls of readings from the instrument at URL (and with --store, keep them)."""
    if language not in ("vi", "en"):
        raise fail("--lang must be vi or en", 2)
    if ":" not in url:  # no scheme: an instrument of the virtual lab, by its id
        url, model, instrument_id = _from_manifest(url, model, instrument_id, manifest)
    if model is None:
        raise fail("give --model MODEL with an address (`caltrace models` lists them)", 2)
    try:
        inst = open_instrument(url, model, instrument_id)
    except (AddressError, LookupError) as exc:
        raise fail(str(exc), 2) from None
    if isinstance(inst, ManualEntry) and inst.ask is None:
        inst.ask = terminal_asker(inst, language)
    store = _open_store() if keep else None
    errors = 0
    with inst, contextlib.ExitStack() as stack:
        if store is not None:
            stack.enter_context(store)
        if identify:
            info = inst.identify()
            if as_json:
                typer.echo(json.dumps({"identity": asdict(info)}, ensure_ascii=False))
            else:
                typer.echo(f"identity: {info.label()}  firmware {info.firmware or '?'}  {info.capacity}".rstrip())
        for i in range(count):
            if i:
                time.sleep(interval)
            try:
                readings = inst.poll()
            except (DeviceTimeoutError, DeviceConnectionError, ProtocolError, DeviceError) as exc:
                errors += 1
                typer.echo(f"error: {exc}", err=True)
                continue
            if store is not None:
                _keep(store, readings, run_id, step)
            for r in readings:
                typer.echo(json.dumps(r.as_dict(), ensure_ascii=False) if as_json else format_reading(r))
        if store is not None and store.pending():
            typer.echo(
                f"warning: the time-series server is unreachable; {store.pending()} readings wait in the spool "
                "and will be sent when it is back (`caltrace readings flush`)",
                err=True,
            )
    if errors:
        raise typer.Exit(1)


def _from_manifest(wanted: str, model: str | None, label: str, manifest: Path | None) -> tuple[str, str, str]:
    """(URL, model, label) of the virtual lab's instrument ``wanted`` (its id or serial number), from the manifest
    the running ``caltrace simulate`` wrote; ``model`` and ``label`` given on the command line win."""
    from api.cli.simulate import load_manifest

    try:
        path, doc = load_manifest(manifest)
    except ValueError as exc:
        raise fail(
            f"{wanted!r} is not an address (e.g. socket://10.0.0.5:4001); as a virtual lab id: {exc}", 2
        ) from None
    for entry in doc["instruments"]:
        if wanted in (entry.get("id"), entry.get("serial_number")):
            return str(entry["url"]), model or str(entry["model"]), label or str(entry["id"])
    known = ", ".join(str(e.get("id")) for e in doc["instruments"])
    raise fail(
        f"{wanted!r} is neither an address (e.g. socket://10.0.0.5:4001) nor an instrument of the virtual lab in "
        f"{path} ({known})",
        2,
    )


def _open_store() -> ReadingStore:
    from acquisition.store import open_store
    from registry.settings import Settings

    return open_store(Settings())


def _keep(store: ReadingStore, readings: list[Reading], run_id: str | None, step: str | None) -> None:
    """Append one poll's readings durably before they are shown (a store error stops the command)."""
    from acquisition.store import StoredReading

    store.append([StoredReading.from_reading(r, run_id=run_id, step=step) for r in readings])


def models_command() -> None:
    """List the instrument models caltrace has drivers for."""
    for name in models():
        typer.echo(name)
