"""Signing through PKCS#11 with a SoftHSM2 token holding an RSA and an EC key with their certificates, as a
signatory's USB token from a licensed CA does: the signature verifies with the certificate's public key."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from certificates.errors import PkiNotFoundError, PkiRefusedError
from certificates.signer import Pkcs11Signer, Signer, verify_signature
from tests.support.softhsm import SoftHsmToken, make_token

CALTRACE = str(Path(sys.executable).parent / "caltrace")


@dataclass
class Loaded:
    """The token and the certificates written to it (label -> certificate)."""

    token: SoftHsmToken
    certs: dict[str, x509.Certificate]


def _certificate(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    """A certificate for ``key`` from a throwaway issuer (a licensed CA's, in real life)."""
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test licensed CA")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(issuer_key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """A token with ``rsa-signer`` (id 01, RSA-2048) and ``ec-signer`` (id 02, P-256), keys and certificates.

    SOFTHSM2_CONF is set for the test process before python-pkcs11 first loads the module (it reads the
    configuration once, when the module is initialised)."""
    directory = tmp_path_factory.mktemp("softhsm")
    token = make_token(directory)
    certs: dict[str, x509.Certificate] = {}
    keys: list[tuple[str, str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]] = [
        ("rsa-signer", "01", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ec-signer", "02", ec.generate_private_key(ec.SECP256R1())),
    ]
    for label, key_id, key in keys:
        key_der = directory / f"{label}.key.der"
        key_der.write_bytes(
            key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        cert = _certificate(key, f"Signatory {label}")
        cert_der = directory / f"{label}.crt.der"
        cert_der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        token.import_object(key_der, "privkey", label, key_id)
        token.import_object(cert_der, "cert", label, key_id)
        key_der.unlink()
        certs[label] = cert
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(token.conf)
    yield Loaded(token, certs)
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before


def test_an_rsa_key_on_the_token_signs_and_its_certificate_verifies(loaded: Loaded) -> None:
    token = loaded.token
    signer = Pkcs11Signer(token.module, token.label, token.pin, key_label="rsa-signer")
    assert isinstance(signer, Signer)
    assert signer.certificate == loaded.certs["rsa-signer"]  # read from the token
    data = b"<ds:SignedInfo>digest of the DCC</ds:SignedInfo>"
    for algorithm in (hashes.SHA256(), hashes.SHA384(), hashes.SHA512()):
        signature = signer.sign(data, algorithm)
        # checked independently of verify_signature: cryptography's RSA PKCS#1 v1.5 verification with the
        # public key of the certificate written to the token (raises InvalidSignature when wrong)
        public = loaded.certs["rsa-signer"].public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, data, padding.PKCS1v15(), algorithm)
        assert not verify_signature(signer.certificate, signature, data + b"x", algorithm)


def test_an_ec_key_found_by_id_signs_and_its_certificate_verifies(loaded: Loaded) -> None:
    token = loaded.token
    signer = Pkcs11Signer(token.module, token.label, token.pin, key_id="02")
    assert signer.certificate == loaded.certs["ec-signer"]
    data = b"PAdES signed attributes"
    signature = signer.sign(data, hashes.SHA256())
    public = loaded.certs["ec-signer"].public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, data, ec.ECDSA(hashes.SHA256()))  # DER ECDSA-Sig-Value, raises when wrong


def test_token_errors_are_plain_words(loaded: Loaded) -> None:
    token = loaded.token
    with pytest.raises(PkiRefusedError, match="wrong PIN"):
        Pkcs11Signer(token.module, token.label, "000000", key_label="rsa-signer")
    with pytest.raises(PkiNotFoundError, match="no token labelled"):
        Pkcs11Signer(token.module, "no-such-token", token.pin, key_label="rsa-signer")
    with pytest.raises(PkiNotFoundError, match="no private key"):
        Pkcs11Signer(token.module, token.label, token.pin, key_label="nobody")
    with pytest.raises(PkiNotFoundError, match="no PKCS#11 module"):
        Pkcs11Signer(Path("/nonexistent/libnothing.so"), token.label, token.pin, key_label="rsa-signer")


def _pkcs11_test(loaded: Loaded, pin: str, token_label: str) -> subprocess.CompletedProcess[str]:
    env = {**loaded.token.env(), "CALTRACE_PKCS11_PIN": pin}
    return subprocess.run(
        [
            CALTRACE,
            "pki",
            "pkcs11-test",
            "--module",
            str(loaded.token.module),
            "--token",
            token_label,
            "--key",
            "rsa-signer",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_the_pkcs11_test_command(loaded: Loaded) -> None:
    done = _pkcs11_test(loaded, loaded.token.pin, loaded.token.label)
    assert done.returncode == 0, done.stderr
    assert "signature verified" in done.stdout and "Signatory rsa-signer" in done.stdout
    wrong = _pkcs11_test(loaded, "999999", loaded.token.label)
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("error: wrong PIN") and "Traceback" not in wrong.stderr
    absent = _pkcs11_test(loaded, loaded.token.pin, "no-such-token")
    assert absent.returncode == 1
    assert "no token labelled 'no-such-token'" in absent.stderr and "Traceback" not in absent.stderr
