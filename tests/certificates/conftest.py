"""Fixtures for certificate verification: the shared DCC examples and schemas, and a throwaway PKI."""

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
