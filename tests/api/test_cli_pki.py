"""`caltrace pki` as a user runs it: the real command, a data directory with a registry, exit codes and plain
errors (never a traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certificates.pki import PkiPaths, init_ca
from registry.db import make_engine, session_scope
from tests.certificates.conftest import add_centre

CALTRACE = str(Path(sys.executable).parent / "caltrace")
CA_PASS = "cli ca passphrase"
SIGNER_PASS = "cli signer passphrase"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A fresh installation with a migrated registry holding the centre of tests.certificates.conftest."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    assert caltrace(environ, "db", "upgrade").returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'caltrace.db'}")
    add_centre(engine)
    engine.dispose()
    return environ


@pytest.fixture
def env_ca(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the lab CA created (through the library, to keep the test short)."""
    data = Path(env["CALTRACE_DATA_DIR"])
    engine = make_engine(f"sqlite:///{data / 'caltrace.db'}")
    with session_scope(engine, "test") as s:
        init_ca(s, CA_PASS, paths=PkiPaths(data / "pki"))
    engine.dispose()
    return env


def caltrace(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [CALTRACE, *args],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_init_and_show_ca(env: dict[str, str]) -> None:
    ca_pem = Path(env["CALTRACE_DATA_DIR"]) / "pki" / "ca.pem"
    no_ca = caltrace(env, "pki", "show-ca")
    assert no_ca.returncode == 1 and "caltrace pki init" in no_ca.stderr

    no_pass = caltrace(env, "pki", "init")
    assert no_pass.returncode == 2 and "CALTRACE_PKI_PASSPHRASE" in no_pass.stderr
    assert not ca_pem.exists()

    done = caltrace(env, "pki", "init", CALTRACE_PKI_PASSPHRASE=CA_PASS)
    assert done.returncode == 0, done.stderr
    cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    assert str(ca_pem) in done.stdout
    assert cert.fingerprint(hashes.SHA256()).hex(":").upper() in done.stdout

    again = caltrace(env, "pki", "init", CALTRACE_PKI_PASSPHRASE=CA_PASS)
    assert again.returncode == 2 and "--force" in again.stderr

    shown = caltrace(env, "pki", "show-ca")
    assert shown.returncode == 0 and shown.stdout == ca_pem.read_text()


def test_issue_refusals(env_ca: dict[str, str]) -> None:
    env = env_ca
    secrets = {"CALTRACE_PKI_PASSPHRASE": CA_PASS, "CALTRACE_SIGNER_PASSPHRASE": SIGNER_PASS}
    for user, words in (("tech", "not authorised to sign"), ("nobody", "no active member of staff")):
        refused = caltrace(env, "pki", "issue-signer", user, **secrets)
        assert refused.returncode == 2 and words in refused.stderr
    wrong = caltrace(env, "pki", "issue-signer", "sig", **{**secrets, "CALTRACE_PKI_PASSPHRASE": "wrong passphrase"})
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr
    too_long = caltrace(env, "pki", "issue-signer", "sig", "--days", "2000", **secrets)
    assert too_long.returncode == 2 and "--days" in too_long.stderr


def test_issue_list_and_revoke(env_ca: dict[str, str]) -> None:
    env = env_ca
    secrets = {"CALTRACE_PKI_PASSPHRASE": CA_PASS, "CALTRACE_SIGNER_PASSPHRASE": SIGNER_PASS}
    issued = caltrace(env, "pki", "issue-signer", "sig", "--days", "365", **secrets)
    assert issued.returncode == 0, issued.stderr
    listed = json.loads(caltrace(env, "pki", "list", "--format", "json").stdout)
    assert len(listed) == 1
    serial = listed[0]["serial"]
    assert f"signing certificate {serial} for sig" in issued.stdout
    assert listed[0]["subject"] == "Nguyễn Thị Hoa" and listed[0]["username"] == "sig" and not listed[0]["revoked"]

    bad_reason = caltrace(env, "pki", "revoke", serial, "--reason", "bored")
    assert bad_reason.returncode == 2 and "key_compromise" in bad_reason.stderr
    unknown = caltrace(env, "pki", "revoke", "abcdef", "--reason", "superseded")
    assert unknown.returncode == 1 and "no signing certificate" in unknown.stderr
    revoked = caltrace(env, "pki", "revoke", serial, "--reason", "affiliation_changed")
    assert revoked.returncode == 0, revoked.stderr
    listed = json.loads(caltrace(env, "pki", "list", "--format", "json").stdout)
    assert listed[0]["revoked"].startswith("affiliation_changed on ")

    log = caltrace(env, "audit", "show", "--format", "json")
    actions = [e["action"] for e in json.loads(log.stdout)]
    assert actions[-3:] == ["pki-init-ca", "pki-issue-signer", "pki-revoke"]
    assert caltrace(env, "audit", "verify").returncode == 0


def test_pkcs11_test_names_a_module_that_is_not_one(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    environ["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    not_a_module = tmp_path / "libnot-pkcs11.so"
    not_a_module.write_bytes(b"not a shared library")
    args = ("pki", "pkcs11-test", "--token", "t", "--key", "k", "--module")
    wrong = caltrace(environ, *args, str(not_a_module), CALTRACE_PKCS11_PIN="1234")
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: cannot load the PKCS#11 module")
    absent = caltrace(environ, *args, str(tmp_path / "absent.so"), CALTRACE_PKCS11_PIN="1234")
    assert absent.returncode == 1 and "no PKCS#11 module at" in absent.stderr
    no_pin = caltrace(environ, *args, str(not_a_module))
    assert no_pin.returncode == 2 and "CALTRACE_PKCS11_PIN" in no_pin.stderr


def test_crl_is_published_listing_the_revocation(env_ca: dict[str, str]) -> None:
    env = env_ca
    secrets = {"CALTRACE_PKI_PASSPHRASE": CA_PASS, "CALTRACE_SIGNER_PASSPHRASE": SIGNER_PASS}
    assert caltrace(env, "pki", "issue-signer", "sig", **secrets).returncode == 0
    serial = json.loads(caltrace(env, "pki", "list", "--format", "json").stdout)[0]["serial"]
    revoked = caltrace(env, "pki", "revoke", serial, "--reason", "superseded")
    assert "publish the new one with `caltrace pki crl`" in revoked.stdout
    published = caltrace(env, "pki", "crl", "--days", "3", **secrets)
    assert published.returncode == 0, published.stderr
    assert "1 revoked" in published.stdout
    crl = x509.load_pem_x509_crl((Path(env["CALTRACE_DATA_DIR"]) / "pki" / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None
    assert crl.next_update_utc is not None and (crl.next_update_utc - crl.last_update_utc).days == 3
    bad = caltrace(env, "pki", "crl", "--days", "90", **secrets)
    assert bad.returncode == 2 and "1..31" in bad.stderr
    wrong = caltrace(env, "pki", "crl", CALTRACE_PKI_PASSPHRASE="not the passphrase")
    assert wrong.returncode != 0 and "wrong passphrase" in wrong.stderr
