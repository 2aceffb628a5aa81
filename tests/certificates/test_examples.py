"""Every DCC in ../shared/dcc-examples gives the outcome its README states (caltrace issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from certificates.verify import Report, verify_file
from certificates.verify.pki import load_pem_certificates

STEM = "dcc_gp_temperature_typical_v12_v3.2.0"


def run(examples: Path, schemas: Path, name: str, *anchors: str) -> Report:
    trust = [c for a in anchors for c in load_pem_certificates((examples / "trusted_certs" / a).read_bytes())]
    return verify_file(examples / name, trust, schema_directory=schemas)


def outcomes(report: Report) -> dict[str, str]:
    return {s.name: s.outcome for s in report.steps}


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("dcc_gp_temperature_typical_v12.xml", "3.1.1"),
        ("dcc_gp_humidity_v1.0.xml", "3.1.2"),
        ("siliziumkugel_2_4_0.xml", "2.4.0"),
    ],
)
def test_unsigned_examples_are_valid_but_not_verified(examples: Path, schemas: Path, name: str, version: str) -> None:
    report = run(examples, schemas, name, "root.crt")
    got = outcomes(report)
    assert got["well-formed"] == "pass"
    assert report.step("schema-version").en == f"DCC version {version}."  # type: ignore[union-attr]
    assert got["schema"] == "pass", report.step("schema")
    assert got["signature"] == "warn" and "not signed" in report.step("signature").en  # type: ignore[union-attr]
    assert got["chain"] == got["revocation"] == "skip"
    assert not report.verified and not report.failed


def test_signed_example_valid_at_claimed_time_expired_now(examples: Path, schemas: Path) -> None:
    report = run(examples, schemas, f"{STEM}_signed.xml", "root.crt", "sub.crt")
    got = outcomes(report)
    assert got["schema"] == "pass"
    assert got["signature"] == "pass"
    assert "2 reference digests match" in report.step("signature").en  # type: ignore[union-attr]
    assert "CN=Calibration Lab A1" in report.step("signature").en  # type: ignore[union-attr]
    assert got["signing-certificate"] == "pass"
    assert "2023-03-27T15:14:30Z" in report.step("signing-time").en  # type: ignore[union-attr]
    chain = report.step("chain")
    assert chain is not None and chain.outcome == "warn"
    assert "valid at the claimed signing time, expired now" in chain.en
    assert "2024-12-02" in chain.en and "no trusted timestamp proves the time" in chain.en
    assert "Sub CA 01" in chain.en and "Root CA 01" in chain.en
    assert not report.failed and not report.verified


def test_signed_example_without_its_sub_ca_does_not_chain(examples: Path, schemas: Path) -> None:
    # the plain form carries only the signer certificate: the path needs sub.crt
    report = run(examples, schemas, f"{STEM}_signed.xml", "root.crt")
    assert outcomes(report)["chain"] == "fail"


def test_long_term_example_checks_embedded_revocation(examples: Path, schemas: Path) -> None:
    report = run(examples, schemas, f"{STEM}_signed_lt.xml", "root.crt")
    got = outcomes(report)
    assert got["signature"] == "pass" and got["signing-certificate"] == "pass"
    time_step = report.step("signing-time")
    assert time_step is not None and "SignatureTimeStamp is present" in time_step.en
    assert "signer's claim" in time_step.en
    assert got["chain"] == "warn"  # the path comes from CertificateValues; expired now
    assert got["revocation"] == "pass"
    assert not report.failed


def test_manipulated_example_names_the_document_reference(examples: Path, schemas: Path) -> None:
    report = run(examples, schemas, f"{STEM}_signed_manipulated.xml", "root.crt", "sub.crt")
    assert [s.name for s in report.failed] == ["signature"]
    detail = report.failed[0].en
    assert "r-dcc_gp_temperature_typical_v12_v3.2.0.xml" in detail and "digest does not match" in detail
    assert "SignedProperties" not in detail  # only the document reference is broken


def test_revoked_example_is_rejected(examples: Path, schemas: Path) -> None:
    report = run(examples, schemas, f"{STEM}_signed_lt_revoked.xml", "root.crt")
    assert [s.name for s in report.failed] == ["revocation"]
    assert "revoked" in report.failed[0].en and "Calibration Lab B1" in report.failed[0].en


def test_every_example_file_is_covered(examples: Path) -> None:
    covered = {
        "dcc_gp_temperature_typical_v12.xml",
        "dcc_gp_humidity_v1.0.xml",
        "siliziumkugel_2_4_0.xml",
        f"{STEM}_signed.xml",
        f"{STEM}_signed_lt.xml",
        f"{STEM}_signed_manipulated.xml",
        f"{STEM}_signed_lt_revoked.xml",
    }
    assert {p.name for p in examples.glob("*.xml")} == covered


def test_schema_validation_off_is_said_plainly(examples: Path) -> None:
    report = verify_file(examples / "dcc_gp_humidity_v1.0.xml", use_default_schema_dir=False)
    step = report.step("schema")
    assert step is not None and step.outcome == "warn" and "OFF" in step.en


def test_schema_imports_outside_the_schema_directory_are_refused(examples: Path, tmp_path: Path) -> None:
    # a schema directory whose 3.1.2 schema imports from the network: never fetched, the step says it could not load
    (tmp_path / "v3.1.2").mkdir()
    (tmp_path / "v3.1.2" / "dcc.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="https://ptb.de/dcc">'
        '<xs:import namespace="https://ptb.de/si" schemaLocation="http://example.invalid/si.xsd"/></xs:schema>',
        encoding="utf-8",
    )
    report = verify_file(examples / "dcc_gp_humidity_v1.0.xml", schema_directory=tmp_path)
    step = report.step("schema")
    assert step is not None and step.outcome == "warn" and "could not load" in step.en, step
