"""``caltrace certificate verify``: the step report, the JSON form and the exit codes (0 / 1 / 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CALTRACE = str(Path(sys.executable).with_name("caltrace"))
STEM = "dcc_gp_temperature_typical_v12_v3.2.0"


def caltrace(schemas: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALTRACE_SCHEMA_DIR": str(schemas)}
    return subprocess.run([CALTRACE, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_manipulated_exits_1_naming_the_step(examples: Path, schemas: Path) -> None:
    proc = caltrace(
        schemas,
        "certificate",
        "verify",
        str(examples / f"{STEM}_signed_manipulated.xml"),
        "--trust",
        str(examples / "trusted_certs" / "root.crt"),
        "--lang",
        "en",
    )
    assert proc.returncode == 1, proc.stderr
    assert "✗ Signature (references and value): fail" in proc.stdout
    assert "Result: NOT VALID (Signature (references and value))" in proc.stdout


def test_vietnamese_is_the_default(examples: Path, schemas: Path) -> None:
    proc = caltrace(schemas, "certificate", "verify", str(examples / "siliziumkugel_2_4_0.xml"))
    assert proc.returncode == 1  # unsigned: nothing wrong, origin not verified
    assert "Kiểm tra theo lược đồ XSD: đạt" in proc.stdout
    assert "chưa xác minh đầy đủ" in proc.stdout


def test_json_report(examples: Path, schemas: Path) -> None:
    proc = caltrace(
        schemas,
        "certificate",
        "verify",
        str(examples / f"{STEM}_signed_lt_revoked.xml"),
        "--trust",
        str(examples / "trusted_certs" / "root.crt"),
        "--json",
    )
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "failed"
    steps = {s["step"]: s["outcome"] for s in doc["steps"]}
    assert steps["revocation"] == "fail" and steps["signature"] == "pass"


def test_bad_usage_exits_2(examples: Path, schemas: Path, tmp_path: Path) -> None:
    missing = caltrace(schemas, "certificate", "verify", str(tmp_path / "none.xml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    not_xml = caltrace(schemas, "certificate", "verify", str(examples / "README.md"))
    assert not_xml.returncode == 2 and "neither XML nor PDF" in not_xml.stderr
    bad_trust = caltrace(
        schemas,
        "certificate",
        "verify",
        str(examples / "siliziumkugel_2_4_0.xml"),
        "--trust",
        str(examples / "README.md"),
    )
    assert bad_trust.returncode == 2 and "--trust" in bad_trust.stderr
    bad_lang = caltrace(schemas, "certificate", "verify", str(examples / "siliziumkugel_2_4_0.xml"), "--lang", "de")
    assert bad_lang.returncode == 2


def test_a_broken_pdf_fails_plainly(schemas: Path, tmp_path: Path) -> None:
    # a PDF header and nothing else: read as a PDF, refused at the first step, no traceback
    # (signed certificate PDFs: tests/certificates/test_pdf.py)
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    proc = caltrace(schemas, "certificate", "verify", str(pdf), "--lang", "en")
    assert proc.returncode == 1, proc.stdout
    assert "✗ PDF signature (whole file): fail — the PDF cannot be read" in proc.stdout
    assert "Traceback" not in proc.stderr
