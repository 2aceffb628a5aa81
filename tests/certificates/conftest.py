"""Fixtures for the certificate tests: the shared DCC examples and schemas, a throwaway PKI, and for the key
infrastructure tests a migrated SQLite registry with a laboratory and five members of staff and the PKI directory in
a temp dir."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.engine import Engine

from certificates.pki import PkiPaths
from registry.db import make_engine, session_scope, upgrade
from registry.models import Authorisation, Laboratory, Staff
from registry.settings import lab_today

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    """``$CALTRACE_SHARED_DIR``, else the nearest ``shared/`` with ``dcc-examples/`` beside the checkout or one of
    its parents (as in the deployment, ``../shared``); None when there is none."""
    env = os.environ.get("CALTRACE_SHARED_DIR")
    if env:
        return Path(env)
    for parent in REPO.parents:
        if (parent / "shared" / "dcc-examples").is_dir():
            return parent / "shared"
    return None


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared directory with ``dcc-examples`` and ``schemas/dcc``.

    Missing, the tests that need it are skipped even on CI, saying so: the directory is the workplace's, not the
    project's (its README forbids copying the files in), and a CI machine without it must not fail the project's
    own work; the tests that sign and verify with a throwaway PKI still run. A configured CALTRACE_SHARED_DIR that
    lacks the files is a failure."""
    path = shared_dir()
    if path is None:
        pytest.skip(f"no shared/dcc-examples beside {REPO} or its parents (set CALTRACE_SHARED_DIR)")
    if not (path / "dcc-examples").is_dir() or not (path / "schemas" / "dcc").is_dir():
        pytest.fail(f"{path} has no dcc-examples/ and schemas/dcc/ (CALTRACE_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def examples(shared: Path) -> Path:
    return shared / "dcc-examples"


@pytest.fixture(scope="session")
def schemas(shared: Path) -> Path:
    return shared / "schemas" / "dcc"


@dataclass
class Identity:
    """A key pair and its certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def make_identity(
    cn: str,
    issuer: Identity | None,
    *,
    ca: bool,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Identity:
    """An EC P-256 certificate for ``cn``, self-signed when ``issuer`` is None."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Identity(key, cert)


@dataclass
class Pki:
    root: Identity
    signer: Identity
    expired_signer: Identity
    stranger_root: Identity
    stranger: Identity


@pytest.fixture(scope="session")
def pki() -> Pki:
    now = datetime.now(UTC)
    root = make_identity("caltrace test root CA", None, ca=True, not_after=now + timedelta(days=3650))
    signer = make_identity("caltrace test signer", root, ca=False)
    expired = make_identity(
        "caltrace expired signer",
        root,
        ca=False,
        not_before=now - timedelta(days=400),
        not_after=now - timedelta(days=35),
    )
    stranger_root = make_identity("someone else's root CA", None, ca=True)
    stranger = make_identity("someone else's signer", stranger_root, ca=False)
    return Pki(root, signer, expired, stranger_root, stranger)


LAB = "Trung tâm Kỹ thuật Tiêu chuẩn Đo lường Chất lượng Thử"
CA_PASS = "ca passphrase 1"
SIGNER_PASS = "signer passphrase 1"


def add_centre(engine: Engine) -> None:
    """The laboratory; ``sig`` may sign cg18 today, ``tech`` may only perform it, ``gone`` may sign but left the
    lab (inactive), ``late`` may sign only until yesterday, ``soon`` only from tomorrow."""
    today = lab_today()
    with session_scope(engine, "test") as s:
        s.add(Laboratory(name=LAB, accreditation_code="VILAS 999"))
        sig = Staff(username="sig", full_name="Nguyễn Thị Hoa", email="hoa@example.vn")
        sig.authorisations.append(
            Authorisation(procedure_code="cg18", can_perform=True, can_sign=True, valid_from=today - timedelta(10))
        )
        tech = Staff(username="tech", full_name="Trần Văn Nam")
        tech.authorisations.append(
            Authorisation(procedure_code="cg18", can_perform=True, can_review=True, valid_from=today)
        )
        gone = Staff(username="gone", full_name="Lê Văn Cũ", active=False)
        gone.authorisations.append(Authorisation(procedure_code="cg18", can_sign=True, valid_from=today))
        late = Staff(username="late", full_name="Phạm Hết Hạn")
        late.authorisations.append(
            Authorisation(
                procedure_code="cg18",
                can_sign=True,
                valid_from=today - timedelta(100),
                valid_until=today - timedelta(1),
            )
        )
        soon = Staff(username="soon", full_name="Võ Chưa Đến")
        soon.authorisations.append(Authorisation(procedure_code="cg18", can_sign=True, valid_from=today + timedelta(1)))
        s.add_all([sig, tech, gone, late, soon])


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The installation's data directory (CALTRACE_DATA_DIR) in a temp dir."""
    path = tmp_path / "var"
    path.mkdir()
    monkeypatch.setenv("CALTRACE_DATA_DIR", str(path))
    monkeypatch.delenv("CALTRACE_DATABASE_URL", raising=False)
    return path


@pytest.fixture
def engine(data_dir: Path) -> Engine:
    """The migrated SQLite registry of ``data_dir`` with the centre of :func:`add_centre`."""
    engine = make_engine(f"sqlite:///{data_dir / 'caltrace.db'}")
    upgrade(engine)
    add_centre(engine)
    return engine


@pytest.fixture
def paths(data_dir: Path) -> PkiPaths:
    """The PKI directory of ``data_dir``."""
    return PkiPaths(data_dir / "pki")
