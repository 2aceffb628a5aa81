"""The ``caltrace`` command line."""

from __future__ import annotations

import typer

from api.cli.audit import app as audit_app
from api.cli.calibrate import calibrate_command
from api.cli.certificate import app as certificate_app
from api.cli.db import app as db_app
from api.cli.demo import demo_command
from api.cli.errors import run_app
from api.cli.pki import app as pki_app
from api.cli.procedures import app as procedures_app
from api.cli.read import models_command, read_command
from api.cli.readings import app as readings_app
from api.cli.registry import app as registry_app
from api.cli.report import app as report_app
from api.cli.runs import app as runs_app
from api.cli.serve import serve_command
from api.cli.simulate import control_command, simulate_command
from api.cli.uncertainty import app as uncertainty_app
from api.cli.users import app as users_app

app = typer.Typer(
    name="caltrace",
    help="caltrace: instrument acquisition, measurement uncertainty and calibration certificates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("simulate")(simulate_command)
app.command("control")(control_command)
app.command("read")(read_command)
app.command("models")(models_command)
app.command("calibrate")(calibrate_command)
app.command("demo")(demo_command)
app.command("serve")(serve_command)
app.add_typer(
    procedures_app, name="procedures", help="The procedures caltrace can run; `show CODE`: a procedure's parameters."
)
app.add_typer(uncertainty_app, name="uncertainty", help="Evaluate measurement uncertainty (GUM, Monte Carlo).")
app.add_typer(db_app, name="db", help="Create and migrate the registry database.")
app.add_typer(report_app, name="report", help="Reports: instruments and standards due, forward trace, statistics.")
app.add_typer(readings_app, name="readings", help="Raw readings in the time-series store; send spooled ones.")
app.add_typer(runs_app, name="runs", help="Runs: list, show, review, abort.")
app.add_typer(
    certificate_app,
    name="certificate",
    help="Certificates: issue, amend, revoke, list, show, export; verify any DCC (XML or PDF); sign a DCC file.",
)
app.add_typer(pki_app, name="pki", help="The lab's signing keys: CA, signatories' certificates, PKCS#11 tokens.")
app.add_typer(audit_app, name="audit", help="Verify and show the tamper-evident audit log.")
app.add_typer(users_app, name="users", help="Logins to the service: add, passwd, list, unlock.")
app.add_typer(
    registry_app, name="registry", help="The shared registry: set up the centre, import records, check what is missing."
)


def main() -> None:
    """Console-script entry point."""
    run_app(app)
