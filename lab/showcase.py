"""The whole flow on the virtual lab, in process: a demo scenario run to the end by its automatic operator, then
reviewed by the demo reviewer (``caltrace demo``, ``benchmarks/certificates.py``).

The technician is the demo technician (:data:`lab.base.TECHNICIAN`); the reviewer, who is also the demo's
authorised signatory, is :data:`lab.base.REVIEWER`: the person who signs never performed the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from acquisition.channel import AutomaticFrontEnd, OperatorChannel
from acquisition.engine import RunEngine
from acquisition.procedures import procedure_ids
from acquisition.session import RunRequest, RunSession, VirtualLab
from acquisition.store import ReadingStore, SQLiteReadingStore
from certificates.errors import PkiNotFoundError
from certificates.issue import IssuedCertificate, issue_certificate
from certificates.pades import PdfA3
from certificates.pki import PkiPaths, current_crl, init_ca, issue_signer, publish_crl, serial_hex
from certificates.signer import FileKeySigner
from certificates.signing import current_certificate
from lab import scenario, simulator_thread
from lab.base import REVIEWER, TECHNICIAN, seed_common
from registry.db import make_engine, session_scope, upgrade
from registry.settings import lab_today

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


#: the demo keys' passphrase (a demo only: a real lab types its own, never stored)
DEMO_PASSPHRASE = "caltrace-demo-passphrase"
#: the verification mark (stamp) number the demo's R76 verification certificate carries
DEMO_MARK = "DEMO-TEM-000001"


@dataclass(frozen=True)
class Showcase:
    """What :func:`certify` made: the certificates (number, kind, files copied into ``out``) and the lab CA."""

    data_dir: Path
    ca_pem: Path
    certificates: list[IssuedCertificate]
    copies: dict[str, list[Path]]


def certify(out: Path, *, progress: Callable[[str], None] | None = None) -> Showcase:
    """The whole flow into the empty directory ``out``: a fresh registry in ``out/data`` (the caller has pointed
    CALTRACE_DATA_DIR there), the demo lab seeded, a cg-18 calibration and an R76 verification run on the virtual
    lab by the demo technician, each reviewed by the demo reviewer, who signs each certificate (XAdES on the DCC,
    PAdES on the PDF/A-3 carrying it) with a key of the lab CA made here; the signed ``<number>.xml`` and
    ``<number>.pdf`` and the CA certificate ``lab-ca.pem`` copied into ``out``."""
    say = progress or (lambda _text: None)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    registry = make_engine(f"sqlite:///{data / 'caltrace.db'}")
    today = lab_today()
    seed(registry, today)
    store = SQLiteReadingStore(data / "readings.db")
    try:
        runs = {procedure: reviewed_run(registry, store, procedure, today, progress=say) for procedure in SHOWCASE}
    finally:
        store.close()
    paths = PkiPaths(data / "pki")
    now = datetime.now(UTC)
    key = signatory_key(registry, paths, DEMO_PASSPHRASE, today, now)
    say(f"lab CA {paths.ca_cert}; signing certificate of {REVIEWER}; revocation list {paths.crl}")
    issued = []
    for procedure, run_id in runs.items():
        mark = DEMO_MARK if procedure == "nawi-verification-r76" else None
        with session_scope(registry, REVIEWER) as s:
            cert = issue_certificate(
                s,
                run_id,
                signatory=REVIEWER,
                signer=key,
                now=datetime.now(UTC),
                store=data / "certificates",
                pdf=PdfA3(),
                pki=paths,
                mark=mark,
            )
        issued.append(cert)
        say(f"certificate {cert.number} ({cert.kind}) for run {run_id}, signed by {REVIEWER}")
    copies: dict[str, list[Path]] = {}
    for cert in issued:
        copies[cert.number] = []
        for path in cert.paths:
            target = out / path.name
            target.write_bytes(path.read_bytes())
            copies[cert.number].append(target)
    ca_pem = out / "lab-ca.pem"
    ca_pem.write_bytes(paths.ca_cert.read_bytes())
    registry.dispose()
    return Showcase(data, ca_pem, issued, copies)
