"""``caltrace simulate`` (the virtual lab) and ``caltrace control`` (act on a running one).

The simulators are reached through :mod:`lab.virtual`, imported when the command runs; no ``api`` module imports
``simulators`` (an import-linter contract says so).
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.cli.errors import fail
from api.cli.read import format_reading
from drivers.errors import DriverError
from drivers.reading import Reading
from drivers.registry import open_instrument

if TYPE_CHECKING:
    from lab.virtual import VirtualLab


def _table(lab: VirtualLab) -> Table:
    table = Table(title="caltrace virtual lab (127.0.0.1)")
    for column in ("id", "model", "protocol", "url", "serial number"):
        table.add_column(column, overflow="fold")  # never cut a URL: it is what a user copies
    for entry in lab.manifest()["instruments"]:
        table.add_row(entry["id"], entry["model"], entry["protocol"], entry["url"], entry["serial_number"])
    table.caption = f"control: {lab.manifest()['control']}"
    return table


def _poll_forever(
    entry: dict[str, Any], interval: float, out: list[Reading], lock: threading.Lock, stop: threading.Event
) -> None:
    inst = open_instrument(entry["url"], entry["model"], entry["id"])
    with inst:
        while not stop.is_set():
            started = time.monotonic()
            try:
                readings = inst.poll()
            except DriverError as exc:
                typer.echo(f"{entry['id']}: {exc}", err=True)
                readings = []
            with lock:
                out.extend(readings)
            stop.wait(max(0.0, interval - (time.monotonic() - started)))


def simulate_command(
    config: Annotated[
        Path | None, typer.Option(help='Lab configuration JSON ({"instruments": [...]}); default: the built-in lab.')
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="Write the manifest JSON here once every simulator listens.")
    ] = None,
    control_port: Annotated[int, typer.Option(help="TCP port of the control interface (0 = any free port).")] = 0,
    stream: Annotated[bool, typer.Option(help="Poll every instrument and print live readings.")] = False,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between polls when streaming.")] = 1.0,
    demo: Annotated[
        bool, typer.Option(help="While streaming, put demo loads on the balances every few seconds.")
    ] = True,
    duration: Annotated[float, typer.Option(min=0.0, help="Stop after this many seconds (0 = until Ctrl-C).")] = 0.0,
) -> None:
    """Start the virtual lab: simulated instruments on 127.0.0.1 speaking their real wire protocols."""
    from lab.virtual import DEFAULT_LAB, VirtualLab, demo_activity, load_config

    try:
        specs = load_config(config) if config else list(DEFAULT_LAB)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    console = Console()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        lab = VirtualLab(specs).start(control_port)
    except (OSError, ValueError, TypeError) as exc:
        raise fail(f"cannot start the virtual lab: {exc}") from None
    with lab:
        console.print(_table(lab))
        if manifest:
            lab.write_manifest(manifest)
            console.print(f"manifest: {manifest}")
        threads: list[threading.Thread] = []
        readings: list[Reading] = []
        lock = threading.Lock()
        if stream:
            for entry in lab.manifest()["instruments"]:
                threads.append(
                    threading.Thread(target=_poll_forever, args=(entry, interval, readings, lock, stop), daemon=True)
                )
            if demo:
                threads.append(threading.Thread(target=demo_activity, args=(lab, stop, 8.0), daemon=True))
            for t in threads:
                t.start()
        console.print("virtual lab running; Ctrl-C to stop" + (" (streaming readings)" if stream else ""))
        deadline = time.monotonic() + duration if duration else float("inf")
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                stop.wait(min(0.2, max(0.0, deadline - time.monotonic())))
                with lock:
                    batch, readings[:] = list(readings), []
                for r in batch:
                    typer.echo(format_reading(r))
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            for t in threads:
                t.join(3)
    console.print("virtual lab stopped")


def _parse_param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"parameter {text!r} must be written key=value, e.g. load_g=100")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def control_command(
    instrument_id: Annotated[str, typer.Argument(help="Instrument id in the manifest, e.g. bal-1.")],
    action: Annotated[str, typer.Argument(help="Action, e.g. place, remove, fault.")],
    params: Annotated[
        list[str] | None, typer.Argument(help="key=value parameters, e.g. load_g=100 or fault=drop.")
    ] = None,
    manifest: Annotated[Path, typer.Option(help="Manifest written by `caltrace simulate --manifest`.")] = Path(
        "var/lab.json"
    ),
) -> None:
    """Act on a running virtual lab: put a load on a balance, inject a fault..."""
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        host, _, port = str(doc["control"]).removeprefix("tcp://").rpartition(":")
        request = {"id": instrument_id, "action": action, "params": dict(_parse_param(p) for p in params or [])}
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"cannot use manifest {manifest}: {exc}", 2) from None
    try:
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(json.dumps(request).encode() + b"\n")
            reply = json.loads(sock.makefile("rb").readline() or b"{}")
    except (OSError, ValueError) as exc:
        raise fail(
            f"the virtual lab at {doc['control']} does not answer ({exc}); is `caltrace simulate` running?"
        ) from None
    if not reply.get("ok"):
        raise fail(str(reply.get("error", "no reply")), 1)
    if reply.get("result") is not None:
        typer.echo(json.dumps(reply["result"], ensure_ascii=False))
