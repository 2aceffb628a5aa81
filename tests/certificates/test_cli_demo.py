"""`caltrace demo --out DIR` (issue 17.9, the issue's done-when): the certificates it writes are valid against
PTB's DCC 3.3.0 schema and Schematron, verify with independent tools (xmlsec1 against the lab CA; poppler's pdfsig;
pyHanko through caltrace's verifier), and with every command it prints; the verification certificate says so."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from tests.certificates.test_dcc_kinds import valid

CALTRACE = str(Path(sys.executable).parent / "caltrace")
NS = {"dcc": "https://ptb.de/dcc"}


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is not installed (a Debian package the test setup installs)")
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> tuple[Path, str, dict[str, str]]:
    out = tmp_path_factory.mktemp("demo") / "certificates"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env["CALTRACE_SCHEMA_DIR"] = str(shared / "schemas" / "dcc")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    done = subprocess.run(
        [CALTRACE, "demo", "--out", str(out), "--lang", "en"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return out, done.stdout, env


def test_the_demo_writes_two_signed_certificates_and_the_lab_ca(demo: tuple[Path, str, dict[str, str]]) -> None:
    out, said, _ = demo
    xmls, pdfs = sorted(out.glob("*.xml")), sorted(out.glob("*.pdf"))
    assert len(xmls) == 2 and len(pdfs) == 2 and (out / "lab-ca.pem").is_file()
    assert {p.stem for p in xmls} == {p.stem for p in pdfs}
    for path in [*xmls, *pdfs, out / "lab-ca.pem"]:
        assert str(path) in said


def test_every_dcc_is_schema_valid_and_passes_ptb_schematron(
    demo: tuple[Path, str, dict[str, str]], shared: Path
) -> None:
    out, _, _ = demo
    kinds = set()
    for path in sorted(out.glob("*.xml")):
        root = valid(shared, path.read_bytes())
        convention = root.findtext(
            "dcc:administrativeData/dcc:statements/dcc:statement[@refType='caltrace_certificateKind']/dcc:convention",
            namespaces=NS,
        )
        kinds.add(convention or "calibration")
        assert root.find("dcc:document/dcc:dataBase64", NS) is not None  # the PDF rendering inside the DCC
    assert kinds == {"calibration", "verification"}


def test_independent_tools_verify_the_signatures(demo: tuple[Path, str, dict[str, str]]) -> None:
    out, _, _ = demo
    ca = out / "lab-ca.pem"
    for path in sorted(out.glob("*.xml")):
        done = subprocess.run(
            [need("xmlsec1"), "--verify", "--trusted-pem", str(ca), "--id-attr:Id",
             "http://uri.etsi.org/01903/v1.3.2#:SignedProperties", str(path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0 and "OK" in done.stderr, done.stderr
    for path in sorted(out.glob("*.pdf")):
        done = subprocess.run([need("pdfsig"), str(path)], capture_output=True, text=True, timeout=60, check=False)
        assert "Signature is Valid" in done.stdout and "Total document signed" in done.stdout, done.stdout
        # the attached DCC is the signed XML beside it, byte for byte (poppler's pdfdetach)
        detached = out.parent / f"{path.stem}.detached.xml"
        subprocess.run([need("pdfdetach"), "-save", "1", "-o", str(detached), str(path)], check=True, timeout=60)
        assert detached.read_bytes() == path.with_suffix(".xml").read_bytes()


def test_every_printed_verify_command_exits_0(demo: tuple[Path, str, dict[str, str]]) -> None:
    _, said, env = demo
    commands = [line.strip() for line in said.splitlines() if "caltrace certificate verify" in line]
    assert len(commands) == 4
    for command in commands:
        done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert "Kết quả: đã xác minh." in done.stdout  # Vietnamese by default
    # without the demo's registry the files' own steps still verify: the signature embeds the CA's CRL
    xml = shlex.split(commands[0])[-3]
    alone = {k: v for k, v in env.items() if k != "CALTRACE_DATA_DIR"}
    done = subprocess.run(
        [CALTRACE, "certificate", "verify", xml, "--trust", str(Path(xml).parent / "lab-ca.pem"), "--lang", "en"],
        env={**alone, "CALTRACE_DATA_DIR": str(Path(xml).parent / "no-registry")},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    assert "Registry status" not in done.stdout


def test_the_verification_certificate_reads_as_one(demo: tuple[Path, str, dict[str, str]]) -> None:
    out, _, _ = demo
    [pdf] = [p for p in out.glob("*.pdf") if "KĐ" in p.name]
    text = subprocess.run(
        [need("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "GIẤY CHỨNG NHẬN KIỂM ĐỊNH" in text and "Verification certificate" in text
    assert "HIỆU CHUẨN" not in text.split("Verification certificate")[0]
    assert "Ngày kiểm định" in text and "DEMO-TEM-000001" in text  # the dates' label and the mark
    root = etree.fromstring(pdf.with_suffix(".xml").read_bytes())
    until = root.findtext(".//dcc:statement[@refType='caltrace_verificationValidity']/dcc:date", namespaces=NS)
    assert until and until in text


def test_an_existing_directory_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    done = subprocess.run(
        [CALTRACE, "demo", "--out", str(tmp_path), "--lang", "en"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "is not empty" in done.stderr and "Traceback" not in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
