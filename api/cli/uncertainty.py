"""``caltrace uncertainty``: evaluate a measurement-model file (GUM and/or Monte Carlo).

The computation lives in :mod:`uncertainty.modelfile`; this module only reads the JSON file, calls
:func:`uncertainty.modelfile.evaluate_document` and prints the result (a rich table, or with ``--json``
exactly the output document). Invalid input (an unreadable or oversized file, bad JSON, a document that
breaks the contract or a limit of docs/uncertainty.md) exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Measurement uncertainty: evaluate a model file by the GUM framework and/or Monte Carlo.",
    no_args_is_help=True,
    add_completion=False,
)

EXIT_INVALID = 2


@app.callback()
def _group() -> None:
    """Measurement uncertainty: evaluate a model file by the GUM framework and/or Monte Carlo."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {_one_line(message)}", err=True)
    raise typer.Exit(EXIT_INVALID)


def _one_line(message: str, limit: int = 400) -> str:
    """``message`` on one line (control characters escaped) and at most ``limit`` characters."""
    flat = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _read_document(file: Path) -> Any:
    """The JSON document in ``file``; every way it can be unreadable is one ``error:`` line and exit 2.

    The size is checked before reading (MAX_MODEL_FILE_BYTES), and at most one byte more is ever read,
    so a huge or endless file (a FIFO, /dev/zero) cannot fill memory.
    """
    from uncertainty.limits import MAX_MODEL_FILE_BYTES, format_bytes

    limit = MAX_MODEL_FILE_BYTES
    if file.is_dir():
        _fail(f"{file} is a directory, not a model file")
    try:
        size = file.stat().st_size
        if size > limit:
            _fail(f"{file} is {size} bytes; a model file may have at most {limit} ({format_bytes(limit)})")
        with file.open("rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}")
    if len(raw) > limit:
        _fail(f"{file} is larger than {limit} bytes ({format_bytes(limit)}), the limit for a model file")
    if not raw.strip():
        _fail(f"{file} is empty; a model file is a JSON object (see docs/uncertainty.md)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail(f"{file} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{file} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        _fail(f"{file} nests JSON arrays/objects too deeply (a model file needs at most 4 levels)")
    except ValueError as exc:  # e.g. an integer of more than 4300 digits (CPython's int/str limit)
        reason = "an integer literal is too long" if "digits" in str(exc) else str(exc)
        _fail(f"{file} is not valid JSON: {reason}")


def _fmt(x: Any, digits: int = 6) -> str:
    if x is None:
        return "inf"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if math.isinf(x):
            return "inf"
        return f"{x:.{digits}g}"
    return str(x)


def _linearity_line(g: dict[str, Any]) -> str:
    """One line on the GUM 5.1.2 linearity check of an output's ``gum`` section."""
    if g["nonlinear"] is None:
        return "  linearity (GUM 5.1.2): not checked (the model is not defined at x ± u/8)"
    second = f"u with second-order terms = {_fmt(g['u_second_order'], 4)} (first order {_fmt(g['u'], 4)})"
    if g["nonlinear"]:
        return f"  NON-LINEAR (GUM 5.1.2): {second}; prefer Monte Carlo"
    return f"  linear within 1 % (GUM 5.1.2): {second}"


def _print_tables(result: dict[str, Any], console: Console) -> None:
    for name, entry in result["outputs"].items():
        g = entry.get("gum")
        if g is not None:
            title = (
                f"{name} = {_fmt(g['value'], 10)}   u = {_fmt(g['u'], 4)}   nu_eff = {_fmt(g['dof'], 4)}   "
                f"k = {_fmt(g['k'], 4)}   U = {_fmt(g['U'], 4)}"
            )
            table = Table(title=f"GUM budget — {title}", title_justify="left")
            for col in ("input", "value", "u", "distribution", "sensitivity", "c·u", "dof"):
                table.add_column(col, justify="left" if col in ("input", "distribution") else "right")
            for row in g["budget"]:
                table.add_row(
                    row["input"],
                    _fmt(row["value"], 10),
                    _fmt(row["u"], 4),
                    row["distribution"],
                    _fmt(row["sensitivity"], 6),
                    _fmt(row["contribution"], 4),
                    _fmt(row["dof"], 4),
                )
            console.print(table)
            console.print(f"  interval: [{_fmt(g['interval'][0], 10)}, {_fmt(g['interval'][1], 10)}]")
            console.print(_linearity_line(g))
        m = entry.get("mcm")
        if m is not None:
            console.print(
                f"Monte Carlo — {name}: y = {_fmt(m['value'], 10)}, u = {_fmt(m['u'], 4)}, "
                f"M = {m['trials']}\n"
                f"  symmetric interval: [{_fmt(m['interval_symmetric'][0], 10)}, "
                f"{_fmt(m['interval_symmetric'][1], 10)}]\n"
                f"  shortest interval:  [{_fmt(m['interval_shortest'][0], 10)}, "
                f"{_fmt(m['interval_shortest'][1], 10)}]"
            )
            if m["validated"] is not None:
                verdict = "validated" if m["validated"] else "NOT validated"
                source = {"gum": "the GUM u", "monte_carlo": "the Monte Carlo u", "none": "both u are 0"}
                console.print(
                    f"  GUM {verdict} (JCGM 101:2008 clause 8): d_low = {_fmt(m['d_low'], 3)}, "
                    f"d_high = {_fmt(m['d_high'], 3)}, delta = {_fmt(m['delta'], 3)} "
                    f"(from {source.get(m['delta_from'], m['delta_from'])})",
                    markup=False,
                )
                if m["validation_note"]:
                    console.print(f"  note: {m['validation_note']}", markup=False)
    corr = result.get("correlation")
    if corr:
        names = list(corr)
        table = Table(title="Correlation of the outputs", title_justify="left")
        table.add_column("")
        for n in names:
            table.add_column(n, justify="right")
        for a in names:
            table.add_row(a, *("1" if a == b else f"{corr[a][b]:.4f}" for b in names))
        console.print(table)


@app.command()
def evaluate(
    file: Annotated[Path, typer.Argument(help="Model file (JSON); see docs/uncertainty.md for the format.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print exactly the output document (JSON) on stdout.")
    ] = False,
) -> None:
    """Evaluate the measurement model in FILE and print the budget (or the JSON output document)."""
    from uncertainty.errors import NonLinearityWarning  # imported here: scipy makes `caltrace --help` slow
    from uncertainty.modelfile import ModelFileError, evaluate_document

    doc = _read_document(file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = evaluate_document(doc)
        except ModelFileError as exc:
            _fail(str(exc))
    for w in caught:
        if issubclass(w.category, NonLinearityWarning | RuntimeWarning):
            typer.echo(f"warning: {w.message}", err=True)
    if json_output:
        sys.stdout.write(json.dumps(result, indent=2, allow_nan=False) + "\n")
    else:
        _print_tables(result, Console())
