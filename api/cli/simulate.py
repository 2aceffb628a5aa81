"""``caltrace simulate`` (the virtual lab) and ``caltrace control`` (act on a running one).

The simulators are reached through :mod:`lab.virtual`, imported when the command runs; no ``api`` module imports
``simulators`` (an import-linter contract says so).
"""

from __future__ import annotations

import contextlib
import errno
import json
import signal
import socket
import threading
import time
from dataclasses import replace
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
from registry.settings import DEFAULT_LAB_PORT

if TYPE_CHECKING:
    from lab.virtual import InstrumentSpec, VirtualLab


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


#: what to try once `make run` has started the virtual lab (printed at start)
WHAT_NEXT = """\
what next (in another terminal):
  .venv/bin/caltrace calibrate --demo -p nawi-calibration-cg18   # a whole calibration run on the demo lab
  .venv/bin/caltrace runs list                                   # the runs in the registry
  .venv/bin/caltrace read bal-1 --count 5                        # read a balance of this virtual lab
  .venv/bin/caltrace control bal-1 place load_g=100              # put 100 g on it"""


def _on_ports(specs: list[InstrumentSpec], base: int) -> list[InstrumentSpec]:
    """``specs`` with each instrument that asks for any port (0) given ``base + 1``, ``base + 2``, ... in order
    (``base`` 0: every port stays 0, any free one)."""
    if base == 0:
        return specs
    return [spec if spec.port else replace(spec, port=base + n) for n, spec in enumerate(specs, 1)]


def _port_taken(port: int) -> bool:
    """Whether a TCP port on 127.0.0.1 is in use (bound as the simulators bind: SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _port_in_use(port: int, count: int) -> typer.Exit:
    return fail(
        f"port {port} on 127.0.0.1 is already in use (another `caltrace simulate`, or another program); stop it, "
        f"or choose other ports: --port N or CALTRACE_LAB_PORT=N (control on N, the instruments on N+1..N+{count}; "
        "0 = any free ports)",
        2,
    )


def simulate_command(
    config: Annotated[
        Path | None, typer.Option(help='Lab configuration JSON ({"instruments": [...]}); default: the built-in lab.')
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="Write the manifest JSON here once every simulator listens (default: lab.json in the data "
            "directory, where `caltrace read` and `control` look)."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            "--control-port",
            min=0,
            max=65000,
            help=f"TCP port of the control interface; the instruments take the next ports (default: CALTRACE_LAB_PORT "
            f"or {DEFAULT_LAB_PORT}; 0 = any free ports).",
        ),
    ] = None,
    stream: Annotated[bool, typer.Option(help="Poll every instrument and print live readings.")] = False,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between polls when streaming.")] = 1.0,
    demo: Annotated[
        bool, typer.Option(help="While streaming, put demo loads on the balances every few seconds.")
    ] = True,
    duration: Annotated[float, typer.Option(min=0.0, help="Stop after this many seconds (0 = until Ctrl-C).")] = 0.0,
) -> None:
    """Start the virtual lab: simulated instruments on 127.0.0.1 speaking their real wire protocols."""
    from lab.virtual import DEFAULT_LAB, VirtualLab, demo_activity, load_config
    from registry.settings import get_settings

    try:
        specs = load_config(config) if config else list(DEFAULT_LAB)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    settings = get_settings()
    base = settings.lab_port if port is None else port
    specs = _on_ports(specs, base)
    wanted = ([base] if base else []) + [s.port for s in specs if s.port]
    for taken in (p for p in wanted if _port_taken(p)):
        raise _port_in_use(taken, len(specs))
    target = manifest or settings.manifest_path
    console = Console()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        lab = VirtualLab(specs).start(base)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:  # taken between the check and the start
            raise fail(f"cannot start the virtual lab: {exc.strerror}; choose other ports: --port N", 2) from None
        raise fail(f"cannot start the virtual lab: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise fail(f"cannot start the virtual lab: {exc}") from None
    try:  # started above (``with lab`` would start it a second time)
        console.print(_table(lab))
        try:
            lab.write_manifest(target)
        except OSError as exc:
            raise fail(f"cannot write the manifest {target}: {exc.strerror or exc}; give --manifest PATH") from None
        console.print(f"manifest: {target}")
        if not config and manifest is None:
            typer.echo(WHAT_NEXT)
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
            _remove_manifest(target, lab.control_port)
    finally:
        lab.stop()
    console.print("virtual lab stopped")


def _remove_manifest(path: Path, control_port: int) -> None:
    """Remove the manifest this lab wrote (not one another lab has written since), so no reader finds a stale one."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        if json.loads(path.read_text(encoding="utf-8"))["control"] == f"tcp://127.0.0.1:{control_port}":
            path.unlink()


def load_manifest(path: Path | None) -> tuple[Path, dict[str, Any]]:
    """The manifest at ``path`` (default: the data directory's ``lab.json``) and its document; a missing or broken
    one raises ValueError saying to start the virtual lab."""
    if path is None:
        from registry.settings import get_settings

        path = get_settings().manifest_path
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"no virtual lab manifest at {path}: start the virtual lab (`make run` or `caltrace simulate`), or give "
            "--manifest PATH"
        ) from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot use manifest {path}: {exc}") from None
    if not isinstance(doc, dict) or "control" not in doc or not isinstance(doc.get("instruments"), list):
        raise ValueError(f"cannot use manifest {path}: it is not a virtual lab manifest")
    return path, doc


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
    manifest: Annotated[
        Path | None,
        typer.Option(help="Manifest written by `caltrace simulate` (default: lab.json in the data directory)."),
    ] = None,
) -> None:
    """Act on a running virtual lab: put a load on a balance, inject a fault..."""
    try:
        _, doc = load_manifest(manifest)
        host, _, port = str(doc["control"]).removeprefix("tcp://").rpartition(":")
        request = {"id": instrument_id, "action": action, "params": dict(_parse_param(p) for p in params or [])}
    except ValueError as exc:
        raise fail(str(exc), 2) from None
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
