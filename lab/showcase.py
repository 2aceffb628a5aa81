"""The whole flow on the virtual lab, in process: a demo scenario run to the end by its automatic operator, then
reviewed by the demo reviewer (``caltrace demo``, ``benchmarks/certificates.py``).

The technician is the demo technician (:data:`lab.base.TECHNICIAN`); the reviewer, who is also the demo's
authorised signatory, is :data:`lab.base.REVIEWER`: the person who signs never performed the run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.engine import Engine

from acquisition.channel import AutomaticFrontEnd, OperatorChannel
from acquisition.engine import RunEngine
from acquisition.procedures import procedure_ids
from acquisition.session import RunRequest, RunSession, VirtualLab
from acquisition.store import ReadingStore
from certificates.errors import PkiNotFoundError
from certificates.pki import PkiPaths, current_crl, init_ca, issue_signer, publish_crl, serial_hex
from certificates.signer import FileKeySigner
from certificates.signing import current_certificate
from lab import scenario, simulator_thread
from lab.base import REVIEWER, TECHNICIAN, seed_common
from registry.db import session_scope, upgrade

#: the procedures ``caltrace demo`` runs: a balance calibration (EURAMET cg-18) and a verification (OIML R76)
SHOWCASE = ("nawi-calibration-cg18", "nawi-verification-r76")


def seed(registry: Engine, today: date) -> None:
    """Migrate ``registry`` and seed the demo laboratory with every scenario's instrument and standards."""
    upgrade(registry)
    with session_scope(registry, "demo") as s:
        seed_common(s, today, procedure_ids())
        for procedure in SHOWCASE:
            scenario(procedure).seed(s, today)


def reviewed_run(
    registry: Engine,
    store: ReadingStore,
    procedure: str,
    today: date,
    *,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Run the demo scenario of ``procedure`` to the end on its simulators, review it as the demo reviewer, and
    return the run id. RuntimeError when the run does not complete (its message names the state)."""
    demo = scenario(procedure)
    session = RunSession(registry, today=lambda: today)
    with simulator_thread() as sims:
        session.lab = VirtualLab(
            addresses=demo.start(sims),
            attach=demo.attach,
            technician=TECHNICIAN,
            instrument=demo.instrument,
            lot=demo.lot,
            standards=demo.standards,
            parameters=demo.parameters,
        )
        begun = session.start(session.resolve(RunRequest(procedure=procedure)), store)
        if progress is not None:
            progress(f"run {begun.run_id}: {begun.procedure.definition.code} ({TECHNICIAN})")
        outcome = session.execute(begun, OperatorChannel(AutomaticFrontEnd(demo.act)))
    if outcome.state != "completed":
        raise RuntimeError(f"demo run {outcome.run_id} ended {outcome.state}: {outcome.message}")
    RunEngine(registry, store, actor=REVIEWER, today=lambda: today).review(outcome.run_id, REVIEWER)
    if progress is not None:
        progress(f"run {outcome.run_id}: reviewed by {REVIEWER}")
    return outcome.run_id


def signatory_key(registry: Engine, paths: PkiPaths, passphrase: str, today: date, now: datetime) -> FileKeySigner:
    """The demo signatory's key: the lab CA is created when ``paths`` has none, a signing certificate issued to
    :data:`lab.base.REVIEWER` when they hold none (both keys encrypted with ``passphrase``), and a revocation list
    published when none is current."""
    with session_scope(registry, "demo") as s:
        if not paths.ca_cert.exists():
            init_ca(s, passphrase, now=now, paths=paths)
        try:
            serial = current_certificate(s, REVIEWER, now, paths).serial
        except PkiNotFoundError:
            cert = issue_signer(s, REVIEWER, passphrase, passphrase, today=today, now=now, paths=paths)
            serial = serial_hex(cert)
        if current_crl(paths, now=now) is None:
            publish_crl(s, passphrase, now=now, paths=paths)
    return FileKeySigner.issued(serial, passphrase, paths)
