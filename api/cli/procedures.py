"""``caltrace procedures``: the procedures caltrace can run, and ``procedures show CODE``: one's run parameters."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.calibrate import procedures_command
from api.cli.errors import fail

if TYPE_CHECKING:
    from acquisition.procedures.params import ParamSpec

app = typer.Typer(invoke_without_command=True)

#: (Vietnamese, English) texts of the parameter listing
TEXTS: dict[str, tuple[str, str]] = {
    "heading": (
        "Tham số chạy (--param TÊN=GIÁ_TRỊ; số thập phân viết bằng dấu chấm: 0.5; tên không khai báo bị từ chối)",
        "Run parameters (--param NAME=VALUE; decimals with a point: 0.5; undeclared names are refused)",
    ),
    "none": ("Quy trình này không có tham số chạy.", "This procedure takes no run parameters."),
    "name": ("tên", "name"),
    "kind": ("loại", "kind"),
    "unit": ("đơn vị", "unit"),
    "default": ("mặc định", "default"),
    "bounds": ("giới hạn", "bounds"),
    "required": ("bắt buộc", "required"),
    "computed": ("xem mô tả", "see description"),
    "rows": ("dòng", "rows"),
}


def _say(key: str, language: str) -> str:
    vi, en = TEXTS[key]
    return vi if language == "vi" else en


def _default(spec: ParamSpec, language: str) -> str:
    """The default as a technician would type it (JSON); none: required, or the description says what is used."""
    if spec.default is None:
        return _say("required" if spec.required else "computed", language)
    if spec.kind == "table":
        return f"{len(spec.default)} {_say('rows', language)}"
    return json.dumps(spec.default, ensure_ascii=False)


@app.callback(invoke_without_command=True)
def list_procedures(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="JSON list.")] = False
) -> None:
    """List the procedures (id, version, kind, method reference); `show CODE` describes one's parameters."""
    if ctx.invoked_subcommand is None:
        procedures_command(as_json)


@app.command("show")
def show_command(
    code: Annotated[str, typer.Argument(help="Procedure id (see `caltrace procedures`).")],
    language: Annotated[str, typer.Option("--lang", help="Language of the descriptions: vi or en.")] = "vi",
    as_json: Annotated[bool, typer.Option("--json", help="The parameter declarations as JSON.")] = False,
) -> None:
    """A procedure's run parameters: name, kind, unit, default, bounds and description (Vietnamese; --lang en)."""
    if language not in ("vi", "en"):
        raise fail("--lang must be vi or en", 2)
    from acquisition.procedures import get_procedure

    try:
        procedure = get_procedure(code)
    except LookupError as exc:
        raise fail(str(exc), 2) from None
    d = procedure.definition
    specs = procedure.parameter_specs
    if as_json:
        doc: dict[str, Any] = {
            "id": d.code,
            "version": d.version,
            "title": d.title,
            "parameters": [s.as_dict() for s in specs],
        }
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    typer.echo(f"{d.code} v{d.version} — {d.title}")
    if not specs:
        typer.echo(_say("none", language))
        return
    typer.echo(_say("heading", language))
    header = [_say(k, language) for k in ("name", "kind", "unit", "default", "bounds")]
    rows = [[s.name, s.kind, s.unit, _default(s, language), s.bounds()] for s in specs]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def line(cells: list[str]) -> str:
        return "  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[4]]).rstrip()

    typer.echo("")
    typer.echo(line(header))
    for spec, row in zip(specs, rows, strict=True):
        typer.echo(line(row))
        typer.echo(f"    {spec.description_vi if language == 'vi' else spec.description_en}")
