"""``caltrace certificate issue / list / show / export / amend / revoke`` and ``verify`` with our registry, run as a
signatory would from the shell on a reviewed cg-18 demo run (Vietnamese by default, ``--lang en``)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from certificates.pki import PkiPaths, init_ca, issue_signer
from lab.base import REVIEWER, TECHNICIAN
from registry.db import session_scope
from registry.models import Laboratory
from registry.settings import lab_today
from tests.acquisition.conftest import DemoRun, demo_run  # noqa: F401  (the fixture)
from tests.certificates.conftest import CA_PASS, SIGNER_PASS

CALTRACE = str(Path(sys.executable).with_name("caltrace"))


def test_a_signatory_issues_amends_revokes_from_the_shell(
    demo_run: Callable[..., DemoRun],  # noqa: F811
    tmp_path: Path,
    schemas: Path,
) -> None:
    run = demo_run("nawi-calibration-cg18")
    assert run.outcome.state == "completed", run.outcome.message
    run_id = run.outcome.run_id
    run.engine.review(run_id, REVIEWER)
    data_dir = tmp_path / "data"
    paths = PkiPaths(data_dir / "pki")
    with session_scope(run.registry, "test") as s:
        s.scalars(select(Laboratory)).one().certificate_numbering = "HC-{year}-{seq:06d}"
        ca = init_ca(s, CA_PASS, paths=paths)
        issue_signer(s, REVIEWER, CA_PASS, SIGNER_PASS, today=lab_today(), paths=paths)
    ca_pem = tmp_path / "lab-ca.pem"
    ca_pem.write_bytes(ca.public_bytes(Encoding.PEM))
    env = {
        **os.environ,
        "CALTRACE_DATA_DIR": str(data_dir),
        "CALTRACE_DATABASE_URL": str(run.registry.url.render_as_string(hide_password=False)),
        "CALTRACE_SIGNER_PASSPHRASE": SIGNER_PASS,
        "CALTRACE_SCHEMA_DIR": str(schemas),
        "COLUMNS": "200",  # the list's table unfolded
    }
    env.pop("CALTRACE_TSA_URL", None)

    def caltrace(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CALTRACE, "certificate", *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    year = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year
    first, second = f"HC-{year}-000001", f"HC-{year}-000002"

    # the technician is refused, in Vietnamese by default, naming why; no number is used
    proc = caltrace("issue", run_id[:8], "--signer", TECHNICIAN)
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "Traceback" not in proc.stderr

    # issued by the run id's prefix, copied out
    out = tmp_path / "out"
    proc = caltrace("issue", run_id[:8], "--signer", REVIEWER, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"đã ban hành giấy chứng nhận {first}" in proc.stdout
    stored = data_dir / "certificates" / str(year) / f"{first}.xml"
    assert (out / f"{first}.xml").read_bytes() == stored.read_bytes()

    # a second issue of the same run: refused in English with --lang en
    proc = caltrace("issue", run_id, "--signer", REVIEWER, "--lang", "en")
    assert proc.returncode == 2 and f"already has certificate {first} in force" in proc.stderr

    listed = json.loads(caltrace("list", "--json").stdout)
    assert [(c["number"], c["status"], c["signer"]) for c in listed] == [(first, "issued", REVIEWER)]
    shown = json.loads(caltrace("show", first, "--json").stdout)
    assert shown["xml_sha256"] == hashlib.sha256(stored.read_bytes()).hexdigest()
    pdf = stored.with_suffix(".pdf")  # the signed PDF/A-3 carrying the signed DCC, stored beside it
    assert sorted(shown["files"]) == [str(pdf), str(stored)]
    assert shown["pdf_sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()

    proc = caltrace("verify", str(stored), "--trust", str(ca_pem), "--lang", "en")
    assert "✓ Registry status: pass" in proc.stdout and "✓ Hash stored at issue: pass" in proc.stdout
    assert "✓ Signatory's authorisation: pass" in proc.stdout
    assert proc.returncode == 0, proc.stdout
    proc = caltrace("verify", str(pdf), "--trust", str(ca_pem), "--lang", "en")
    assert proc.returncode == 0, proc.stdout
    assert "✓ Attached DCC: Registry status: pass" in proc.stdout

    proc = caltrace("amend", first, "--reason", "sai số sản xuất", "--signer", REVIEWER)
    assert proc.returncode == 0, proc.stderr
    assert f"đã ban hành {second} thay thế {first}" in proc.stdout
    proc = caltrace("verify", str(stored), "--trust", str(ca_pem), "--lang", "en")
    assert proc.returncode == 1
    assert f"✗ Registry status: fail — certificate {first} was substituted by {second}" in proc.stdout

    proc = caltrace("revoke", second, "--reason", "khách hàng hủy", "--by", REVIEWER)
    assert proc.returncode == 0, proc.stderr
    new = data_dir / "certificates" / str(year) / f"{second}.xml"
    proc = caltrace("verify", str(new), "--trust", str(ca_pem))
    assert proc.returncode == 1 and "đã bị thu hồi (lý do: khách hàng hủy)" in proc.stdout
    proc = caltrace("revoke", second, "--reason", "x", "--by", REVIEWER, "--lang", "en")
    assert proc.returncode == 2 and "is revoked" in proc.stderr

    listed = json.loads(caltrace("list", "--status", "substituted", "--json").stdout)
    assert [(c["number"], c["replaced_by"], c["reason"]) for c in listed] == [(first, second, "sai số sản xuất")]

    proc = caltrace("list")  # the Vietnamese table
    assert proc.returncode == 0 and first in proc.stdout and "đã bị thay thế" in proc.stdout, proc.stdout
    proc = caltrace("show", second)
    assert proc.returncode == 0 and "trạng thái: đã thu hồi" in proc.stdout and f"thay thế cho: {first}" in proc.stdout

    # export checks the stored file against its recorded hash
    proc = caltrace("export", second, "--out", str(tmp_path / "exported"))
    assert proc.returncode == 0 and (tmp_path / "exported" / f"{second}.xml").read_bytes() == new.read_bytes()
    proc = caltrace("show", "HC-1999-000001", "--lang", "en")
    assert proc.returncode == 1 and "no certificate 'HC-1999-000001'" in proc.stderr


def test_a_signatory_certifies_their_token_key_and_issues_with_it(
    demo_run: Callable[..., DemoRun],  # noqa: F811
    tmp_path: Path,
    schemas: Path,
) -> None:
    """Issue 17.5: the lab CA certifies the RSA key on the signatory's PKCS#11 token (SoftHSM2, the key imported as
    a licensed CA's USB token holds it, never written to the data directory); `certificate issue` signs the DCC and
    the PDF on the token; both verify (and xmlsec1 agrees on the XML)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.certificates.test_xades import xmlsec1_ok
    from tests.support.softhsm import make_token

    token = make_token(tmp_path / "softhsm")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = tmp_path / "token-key.der"
    der.write_bytes(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    token.import_object(der, "privkey", "hoa-token", "0a")
    der.unlink()

    run = demo_run("nawi-calibration-cg18")
    run.engine.review(run.outcome.run_id, REVIEWER)
    data_dir = tmp_path / "data"
    paths = PkiPaths(data_dir / "pki")
    with session_scope(run.registry, "test") as s:
        s.scalars(select(Laboratory)).one().certificate_numbering = "HC-{year}-{seq:06d}"
        ca = init_ca(s, CA_PASS, paths=paths)
    ca_pem = tmp_path / "lab-ca.pem"
    ca_pem.write_bytes(ca.public_bytes(Encoding.PEM))
    env = {
        **token.env(),
        "CALTRACE_DATA_DIR": str(data_dir),
        "CALTRACE_DATABASE_URL": str(run.registry.url.render_as_string(hide_password=False)),
        "CALTRACE_SCHEMA_DIR": str(schemas),
        "CALTRACE_PKI_PASSPHRASE": CA_PASS,
        "CALTRACE_PKCS11_PIN": token.pin,
    }
    env.pop("CALTRACE_TSA_URL", None)
    env.pop("CALTRACE_SIGNER_PASSPHRASE", None)
    on_token = ["--pkcs11-module", str(token.module), "--token", token.label, "--key", "hoa-token"]

    def caltrace(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([CALTRACE, *args], env=env, capture_output=True, text=True, timeout=180, check=False)
        assert "Traceback" not in done.stderr, done.stderr
        return done

    done = caltrace("pki", "issue-signer", REVIEWER, *on_token)
    assert done.returncode == 0, done.stderr
    assert list(paths.signers.glob("*.key")) == []  # no key file: the key stays on the token
    [pem] = list(paths.signers.glob("*.pem"))
    certified = x509.load_pem_x509_certificate(pem.read_bytes())
    assert certified.public_key().public_numbers() == key.public_key().public_numbers()

    done = caltrace("certificate", "issue", run.outcome.run_id, "--signer", REVIEWER, *on_token, "--lang", "en")
    assert done.returncode == 0, done.stderr
    year = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year
    xml = data_dir / "certificates" / str(year) / f"HC-{year}-000001.xml"
    for path in (xml, xml.with_suffix(".pdf")):
        proof = caltrace("certificate", "verify", str(path), "--trust", str(ca_pem), "--lang", "en")
        assert proof.returncode == 0, proof.stdout
    assert xmlsec1_ok(xml.read_bytes(), ca, tmp_path)

    # a key on the token that is not the certified one is refused before anything is signed
    other = tmp_path / "other.der"
    other.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    token.import_object(other, "privkey", "someone-else", "0b")
    wrong = [*on_token[:-1], "someone-else"]
    done = caltrace("certificate", "amend", f"HC-{year}-000001", "--reason", "x", "--signer", REVIEWER, *wrong)
    assert done.returncode == 2 and "is not the key of" in done.stderr
