"""``caltrace read``: print readings from any instrument, simulated or real."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Annotated

import typer

from api.cli.errors import fail
from drivers.errors import AddressError, DeviceConnectionError, DeviceError, DeviceTimeoutError, ProtocolError
from drivers.reading import Reading
from drivers.registry import models, open_instrument


def format_reading(r: Reading) -> str:
    """One human line: time, id, quantity, value, unit, status."""
    value = f"{r.value:.10g}" if r.has_value else "—"
    what = f" {r.quantity}" if r.quantity else ""
    return f"{r.timestamp:%H:%M:%S.%f}"[:-3] + f"  {r.instrument_id}{what}  {value} {r.unit}  [{r.status.value}]"


def read_command(
    url: Annotated[
        str, typer.Argument(help="Instrument address, e.g. socket://127.0.0.1:4001 or modbus+tcp://host:502?unit=1")
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="Driver model name (see `caltrace models`).")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="Number of polls.")] = 1,
    interval: Annotated[float, typer.Option(min=0.0, help="Seconds between polls.")] = 0.5,
    instrument_id: Annotated[str, typer.Option("--id", help="Id to label readings with (default: the URL).")] = "",
    identify: Annotated[bool, typer.Option(help="Ask the instrument who it is first.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per reading.")] = False,
) -> None:
    """Print COUNT polls of readings from the instrument at URL."""
    try:
        inst = open_instrument(url, model, instrument_id)
    except (AddressError, LookupError) as exc:
        raise fail(str(exc), 2) from None
    errors = 0
    with inst:
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
            for r in readings:
                typer.echo(json.dumps(r.as_dict(), ensure_ascii=False) if as_json else format_reading(r))
    if errors:
        raise typer.Exit(1)


def models_command() -> None:
    """List the instrument models caltrace has drivers for."""
    for name in models():
        typer.echo(name)
