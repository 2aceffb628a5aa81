"""`caltrace certificate sign` as a signatory runs it: the real command on a data directory with a registry and a lab
CA; the signed file verifies, and every refusal is one plain line with its exit code (never a traceback)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree
from sqlalchemy import select

from certificates.pki import PkiPaths, init_ca, issue_signer, revoke, serial_hex
from registry.db import make_engine, read_session, session_scope
from registry.models import AuditEntry
from registry.settings import lab_today
from tests.certificates.conftest import add_centre, make_identity, shared_dir
from tests.certificates.test_xades_timestamp import Tsa

CALTRACE = str(Path(sys.executable).parent / "caltrace")
CA_PASS = "cli ca passphrase"
SIGNER_PASS = "cli signer passphrase"
DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture
def unsigned(tmp_path: Path) -> Path:
    """The DCC 3.2.0 example of shared/dcc-examples with its signature removed (skipped without shared/)."""
    shared = shared_dir()
    if shared is None:
        pytest.skip("no shared/dcc-examples beside the checkout or its parents (set CALTRACE_SHARED_DIR)")
    root = etree.fromstring((shared / "dcc-examples" / "dcc_gp_temperature_typical_v12_v3.2.0_signed.xml").read_bytes())
    for sig in root.findall(f"{{{DS}}}Signature"):
        root.remove(sig)
    path = tmp_path / "unsigned.xml"
    path.write_bytes(etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8"))
    return path


class Lab:
    """An installation: its environment, registry engine and PKI paths, with the lab CA and a certificate for
    ``sig`` (authorised to sign today) and for ``late`` (issued while still authorised; authorisation ended
    yesterday)."""

    def __init__(self, tmp_path: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
        self.data = tmp_path / "var"
        self.env["CALTRACE_DATA_DIR"] = str(self.data)
        assert self.run("db", "upgrade").returncode == 0
        self.engine = make_engine(f"sqlite:///{self.data / 'caltrace.db'}")
        add_centre(self.engine)
        self.paths = PkiPaths(self.data / "pki")
        with session_scope(self.engine, "test") as s:
            init_ca(s, CA_PASS, paths=self.paths)
        with session_scope(self.engine, "test") as s:
            self.sig = issue_signer(s, "sig", CA_PASS, SIGNER_PASS, today=lab_today(), paths=self.paths)
        with session_scope(self.engine, "test") as s:
            day = lab_today() - timedelta(days=2)
            self.late = issue_signer(s, "late", CA_PASS, SIGNER_PASS, today=day, paths=self.paths)

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [CALTRACE, *args],
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def sign(self, source: Path, user: str, out: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("certificate", "sign", str(source), "--signer", user, "--out", str(out), **extra)


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(tmp_path)


def test_a_signatory_signs_and_the_file_verifies(lab: Lab, unsigned: Path, tmp_path: Path) -> None:
    out = tmp_path / "signed.xml"
    done = lab.sign(unsigned, "sig", out, CALTRACE_SIGNER_PASSPHRASE=SIGNER_PASS)
    assert done.returncode == 0, done.stderr
    assert serial_hex(lab.sig) in done.stdout and "Nguyễn Thị Hoa" in done.stdout
    root = etree.fromstring(out.read_bytes())
    assert root[-1].tag == f"{{{DS}}}Signature"
    first = root.find(f"{{{DS}}}Signature/{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
    assert first is not None and first.text
    assert x509.load_der_x509_certificate(base64.b64decode(first.text)) == lab.sig  # signed with sig's certificate
    schemas = shared_dir() / "schemas" / "dcc"  # type: ignore[operator]  # the unsigned fixture skipped without it
    checked = lab.run(
        "certificate", "verify", str(out), "--trust", str(lab.paths.ca_cert), "--json", CALTRACE_SCHEMA_DIR=str(schemas)
    )
    steps = {s["step"]: s["outcome"] for s in json.loads(checked.stdout)["steps"]}
    assert steps["signature"] == steps["signing-certificate"] == steps["chain"] == steps["schema"] == "pass"
    assert checked.returncode == 1 and steps["revocation"] == "warn"  # level B carries no revocation values
    with read_session(lab.engine) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "dcc-sign")).one()
    payload = json.loads(entry.payload)
    assert payload["username"] == "sig" and payload["certificate_serial"] == serial_hex(lab.sig)
    assert entry.entity_id == hashlib.sha256(out.read_bytes()).hexdigest()
    again = lab.sign(unsigned, "sig", out, CALTRACE_SIGNER_PASSPHRASE=SIGNER_PASS)
    assert again.returncode == 2 and "exists already" in again.stderr  # never overwritten


def test_refusals(lab: Lab, unsigned: Path, tmp_path: Path) -> None:
    out = tmp_path / "signed.xml"
    secret = {"CALTRACE_SIGNER_PASSPHRASE": SIGNER_PASS}
    no_pass = lab.sign(unsigned, "sig", out)
    assert no_pass.returncode == 2 and "CALTRACE_SIGNER_PASSPHRASE" in no_pass.stderr
    wrong = lab.sign(unsigned, "sig", out, CALTRACE_SIGNER_PASSPHRASE="not the passphrase")
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr
    # refused before any passphrase is asked: no variable set, and the refusal is about the person
    tech = lab.sign(unsigned, "tech", out)
    assert tech.returncode == 2 and "not authorised to sign" in tech.stderr
    late = lab.sign(unsigned, "late", out, **secret)  # holds a valid certificate, no longer authorised
    assert late.returncode == 2 and "not authorised to sign" in late.stderr
    gone = lab.sign(unsigned, "gone", out, **secret)
    assert gone.returncode == 2 and "no active member of staff" in gone.stderr
    with session_scope(lab.engine, "test") as s:
        revoke(s, serial_hex(lab.sig), "key_compromise", paths=lab.paths)
    revoked = lab.sign(unsigned, "sig", out, **secret)
    assert revoked.returncode == 1 and "revoked (key_compromise" in revoked.stderr
    assert "caltrace pki issue-signer sig" in revoked.stderr
    assert not out.exists()


def test_bad_files(lab: Lab, unsigned: Path, tmp_path: Path) -> None:
    secret = {"CALTRACE_SIGNER_PASSPHRASE": SIGNER_PASS}
    missing = lab.sign(tmp_path / "nothing.xml", "sig", tmp_path / "o1.xml", **secret)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    shared = shared_dir()
    assert shared is not None  # the unsigned fixture skipped otherwise
    old = lab.sign(shared / "dcc-examples" / "dcc_gp_humidity_v1.0.xml", "sig", tmp_path / "o2.xml", **secret)
    assert old.returncode == 2 and "3.2.0 or later" in old.stderr
    signed = shared / "dcc-examples" / "dcc_gp_temperature_typical_v12_v3.2.0_signed.xml"
    twice = lab.sign(signed, "sig", tmp_path / "o3.xml", **secret)
    assert twice.returncode == 2 and "already carries a ds:Signature" in twice.stderr
    assert not any((tmp_path / f"o{i}.xml").exists() for i in (1, 2, 3))


def test_a_configured_timestamp_server_adds_level_t(lab: Lab, unsigned: Path, tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    (tmp_path / "tsa").mkdir()
    server = Tsa(tmp_path / "tsa", make_identity("test TSA root", None, ca=True))
    try:
        out = tmp_path / "signed-t.xml"
        done = lab.sign(unsigned, "sig", out, CALTRACE_SIGNER_PASSPHRASE=SIGNER_PASS, CALTRACE_TSA_URL=server.url)
        assert done.returncode == 0, done.stderr
        assert f"timestamp from {server.url}" in done.stdout and server.requests == 1
        assert b"<xades:EncapsulatedTimeStamp>" in out.read_bytes()
    finally:
        server.close()
    down = lab.sign(
        unsigned, "sig", tmp_path / "o.xml", CALTRACE_SIGNER_PASSPHRASE=SIGNER_PASS, CALTRACE_TSA_URL=server.url
    )
    assert down.returncode == 1 and "did not answer" in down.stderr and not (tmp_path / "o.xml").exists()
