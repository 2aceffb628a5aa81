"""``caltrace demo --out DIR``: the whole flow on the virtual lab in one command (issue 17.9).

A balance calibration (EURAMET cg-18) and a verification (OIML R76) run on simulated instruments by the demo
technician, reviewed by the demo reviewer, who signs both certificates; the signed ``<number>.xml`` (DCC with
XAdES) and ``<number>.pdf`` (PDF/A-3 carrying it, PAdES) and the lab CA certificate ``lab-ca.pem`` land in DIR, with
the registry they were issued from in ``DIR/data``. Then it prints the commands that verify them, with caltrace and
with independent tools. Exit 0 done; 2 when DIR exists and is not empty (nothing is overwritten); 1 when a step
fails (said in plain words).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from api.cli.errors import fail


def demo_command(
    out: Annotated[Path, typer.Option("--out", help="A new (or empty) directory for the certificates.")],
    language: Annotated[str, typer.Option("--lang", help="Language of the messages: vi (default) or en.")] = "vi",
) -> None:
    """Run a calibration and a verification on the virtual lab, have them reviewed and signed, and write the signed
    certificates (DCC XML and PDF/A-3) and the lab CA into --out; print how to verify them."""
    if language not in ("vi", "en"):
        raise fail(f"--lang must be vi or en, got {language!r}", 2)
    vi = language == "vi"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise fail(
            f"{out} đã có và không rỗng: chọn thư mục mới (không ghi đè)"
            if vi
            else f"{out} exists and is not empty: give a new directory (nothing is overwritten)",
            2,
        )
    out = out.resolve()
    data = out / "data"
    os.environ["CALTRACE_DATA_DIR"] = str(data)  # this process's installation is the demo's own, in DIR/data
    os.environ.pop("CALTRACE_DATABASE_URL", None)

    from lab.showcase import DEMO_PASSPHRASE, certify

    try:
        done = certify(out, progress=lambda text: typer.echo(f"demo: {text}", err=True))
    except (OSError, ValueError, RuntimeError) as exc:
        raise fail(f"demo: {exc}", 1) from None
    head = "Giấy chứng nhận đã ký:" if vi else "Signed certificates:"
    typer.echo(head)
    for cert in done.certificates:
        for path in done.copies[cert.number]:
            typer.echo(f"  {path}")
    typer.echo(f"  {done.ca_pem}")
    env = f"CALTRACE_DATA_DIR={shlex.quote(str(data))}"
    ca = shlex.quote(str(done.ca_pem))
    typer.echo(
        "Kiểm tra bằng caltrace (có sổ đăng ký của demo):" if vi else "Verify with caltrace (with the demo's registry):"
    )
    for paths in done.copies.values():
        for path in paths:
            typer.echo(f"  {env} caltrace certificate verify {shlex.quote(str(path))} --trust {ca}")
    typer.echo("Kiểm tra bằng công cụ độc lập:" if vi else "Verify with independent tools:")
    for paths in done.copies.values():
        for path in paths:
            quoted = shlex.quote(str(path))
            if path.suffix == ".xml":
                typer.echo(
                    f"  xmlsec1 --verify --trusted-pem {ca} --id-attr:Id "
                    f"http://uri.etsi.org/01903/v1.3.2#:SignedProperties {quoted}"
                )
            else:
                typer.echo(f"  pdfsig {quoted}")
    typer.echo(
        f"(khóa demo được mã hóa bằng cụm mật khẩu {DEMO_PASSPHRASE!r}: chỉ dùng cho demo)"
        if vi
        else f"(the demo keys are encrypted with the passphrase {DEMO_PASSPHRASE!r}: a demo only)"
    )
