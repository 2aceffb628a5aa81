"""``caltrace registry import standard-certificate``: a reference standard's DCC into its certificate history
(caltrace issue 17 item 8, decision 0460).

The round trip: a 200 g weight calibrated by caltrace's own R111 procedure on the virtual lab, its DCC built by
``build_dcc`` and signed with the test PKI, imports back into a weight set (and a single reference weight) with the
correction, U and k its certificate states; those are read here from the DCC's own text, and checked against the
run's results rounded by hand per ILAC P14, never from the importer's output. Other labs' DCCs: PTB's silicon sphere
(DCC 2.4.0, unsigned: README) imports into a general standard once its warnings are accepted, and is refused for a
weight (a true mass, not a conventional mass). Hand-written DCCs check the weight-set mapping and each refusal; the
CLI's exit codes and messages run through the installed ``caltrace``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from certificates.dcc import build_dcc, to_bytes
from certificates.read_dcc import kind_of, read_dcc
from certificates.read_dcc_messages import MESSAGES
from certificates.standard_dcc import StandardDccImport, import_standard_dcc, number_cell
from certificates.xades import sign_dcc
from lab.base import REVIEWER
from lab.weights_r111 import SERIAL
from registry.db import make_engine, session_scope, upgrade
from registry.models import AuditEntry, MetrologyField, ReferenceStandard, Result, StandardCertificate
from registry.settings import lab_today
from registry.units import from_dsi
from tests.acquisition.conftest import DemoRun, demo_run  # noqa: F401  (the fixture)
from tests.certificates.conftest import Pki
from tests.certificates.test_dcc_build import issued, round_up_2
from tests.support.bilingual import check_messages

NS = {"dcc": "https://ptb.de/dcc", "si": "https://ptb.de/si"}
CALTRACE = str(Path(sys.executable).with_name("caltrace"))
DUE = date(2030, 1, 1)
SILICON = "siliziumkugel_2_4_0.xml"


class EcSigner:
    """The test PKI's signer (an EC key and its certificate) as a :class:`certificates.signer.Signer`."""

    def __init__(self, pki: Pki) -> None:
        self._pki = pki

    @property
    def certificate(self) -> x509.Certificate:
        return self._pki.signer.cert

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        return (self._pki.root.cert,)

    def sign(self, data: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import ec

        return self._pki.signer.key.sign(data, ec.ECDSA(hash_algorithm))


def add_standard(engine: Engine, code: str, kind: str, serial: str, **extra: Any) -> None:
    with session_scope(engine, "test") as s:
        s.add(ReferenceStandard(code=code, name=code, kind=kind, field=MetrologyField.MASS, serial_number=serial,
                                **extra))  # fmt: skip


def certificates_of(engine: Engine, code: str) -> list[StandardCertificate]:
    with session_scope(engine, "test") as s:
        std = s.scalars(select(ReferenceStandard).where(ReferenceStandard.code == code)).one()
        found = list(std.certificates)
        s.expunge_all()
        return found


def audit_count(engine: Engine) -> int:
    with session_scope(engine, "test") as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


@pytest.fixture(autouse=True)
def _no_default_schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hand-written DCCs below are minimal (no respPersons, customer, statements): not schema-complete, so
    every test that does not name ``schema_directory`` runs with an empty schema directory (validation "could not
    load", a warning the test accepts), whether or not ../shared/schemas exists beside the checkout. The signed
    round trip and PTB's real DCCs are validated against the real schemas."""
    empty = tmp_path / "no-schemas"
    empty.mkdir()
    monkeypatch.setenv("CALTRACE_SCHEMA_DIR", str(empty))


def run_import(engine: Engine, data: bytes, code: str, **options: Any) -> StandardDccImport:
    options.setdefault("due", DUE)
    options.setdefault("today", lab_today())
    with session_scope(engine, "test") as s:
        result = import_standard_dcc(s, data, options.pop("file_name", "standard.xml"), code, **options)
        return result


def texts(result: StandardDccImport, language: str = "en") -> list[str]:
    return [r.text(language) for r in result.refusals]  # type: ignore[arg-type]


# --- the round trip ---------------------------------------------------------------------------------------------


def _measured(xml: bytes) -> tuple[Decimal, str, Decimal, Decimal, Decimal]:
    """(nominal, its D-SI unit... ) read by hand from caltrace's DCC: the point, the measured value, U and k."""
    root = etree.fromstring(xml)
    result = root.find(".//dcc:results/dcc:result", NS)
    assert result is not None
    point = result.find("dcc:data/dcc:quantity[@refType='basic_referenceValue']/si:real", NS)
    real = result.find("dcc:data/dcc:quantity[@refType='basic_measuredValue']/si:real", NS)
    assert point is not None and real is not None
    assert point.findtext("si:unit", namespaces=NS) == r"\gram"
    assert real.findtext("si:unit", namespaces=NS) == r"\milli\gram"  # R111 states m_c − m_0 in mg
    mu = real.find("si:measurementUncertaintyUnivariate/si:expandedMU", NS)
    assert mu is not None
    return (
        Decimal(point.findtext("si:value", namespaces=NS) or ""),
        real.findtext("si:unit", namespaces=NS) or "",
        Decimal(real.findtext("si:value", namespaces=NS) or ""),
        Decimal(mu.findtext("si:valueExpandedMU", namespaces=NS) or ""),
        Decimal(mu.findtext("si:coverageFactor", namespaces=NS) or ""),
    )


def test_an_r111_weight_imports_back_exactly(demo_run: Callable[..., DemoRun], pki: Pki, schemas: Path) -> None:  # noqa: F811
    run = demo_run("weight-calibration-r111")
    assert run.outcome.state == "completed", run.outcome.message
    run.engine.review(run.outcome.run_id, REVIEWER)
    day = issued(run)
    with session_scope(run.registry, "test") as s:
        unsigned = to_bytes(build_dcc(s, run.outcome.run_id, number="HC-2026-000777", issued_on=day))
        # the same calibration under another number, for the same weight registered as a single reference weight
        # (a certificate's issuer and number are unique in the registry)
        other = to_bytes(build_dcc(s, run.outcome.run_id, number="HC-2026-000778", issued_on=day))
        r111 = s.scalars(select(Result).where(Result.run_id == run.outcome.run_id)).one()
        result_value, result_U, result_k = r111.value, r111.expanded_uncertainty, r111.coverage_factor
    signed = sign_dcc(unsigned, EcSigner(pki), signing_time=datetime.now(UTC).replace(microsecond=0))
    signed_other = sign_dcc(other, EcSigner(pki), signing_time=datetime.now(UTC).replace(microsecond=0))
    engine = run.registry
    trust = [pki.root.cert]

    # the numbers the certificate states, by hand: U of the run rounded up to two significant digits (ILAC P14,
    # GUM 7.2.6), the value to U's last digit; k to two decimals as build_dcc writes it
    nominal, _unit, value_mg, U_mg, k = _measured(signed)
    assert result_U is not None and result_k is not None
    assert U_mg == round_up_2(result_U)
    assert value_mg == Decimal(repr(result_value)).quantize(U_mg, rounding=ROUND_HALF_UP)
    assert k == Decimal(repr(result_k)).quantize(Decimal("0.01"))
    correction_g, U_g = value_mg / 1000, U_mg / 1000  # mg -> g, exact in Decimal

    # a weight set whose last certificate lists this 200 g piece and a 100 g one
    add_standard(engine, "W-SET", "weight set", SERIAL)
    with session_scope(engine, "test") as s:
        std = s.scalars(select(ReferenceStandard).where(ReferenceStandard.code == "W-SET")).one()
        std.certificates.append(StandardCertificate(issuer="VMI", number="OLD-1", calibrated_on=date(2024, 5, 2),
                                                    issued_on=date(2024, 5, 3), due_on=date(2026, 5, 2), values=[
            {"point": 200.0, "value": 200.00055, "unit": "g", "U": 0.0001, "k": 2.0},
            {"point": 100.0, "value": 100.00002, "unit": "g", "U": 0.00005, "k": 2.0}]))  # fmt: skip

    # 1. signed and trusted, but its revocation status is not stated (no RevocationValues): refused until accepted
    before = audit_count(engine)
    refused = run_import(engine, signed, "W-SET", trust=trust, schema_directory=schemas)
    assert not refused.ok and refused.report is None
    assert any("--accept-warnings" in t and "Revocation status" in t for t in texts(refused)), texts(refused)
    assert any("--accept-warnings" in t and "Tình trạng thu hồi" in t for t in texts(refused, "vi"))
    assert [s.outcome for s in refused.verification.steps if s.name == "signature"] == ["pass"]  # type: ignore[union-attr]
    assert len(certificates_of(engine, "W-SET")) == 1 and audit_count(engine) == before

    # 2. a dry run with the warnings accepted: would import, writes nothing
    dry = run_import(engine, signed, "W-SET", trust=trust, schema_directory=schemas, accept_warnings=True,
                     dry_run=True)  # fmt: skip
    assert dry.ok and not dry.written, texts(dry)
    assert len(certificates_of(engine, "W-SET")) == 1 and audit_count(engine) == before

    # 3. imported: the piece's correction, U and k are the certificate's, in g
    done = run_import(engine, signed, "W-SET", trust=trust, schema_directory=schemas, accept_warnings=True,
                      file_name="/somewhere/HC-2026-000777.xml")  # fmt: skip
    assert done.written, texts(done)
    assert [n.code for n in done.notes] == ["piece.not_covered"]  # the 100 g piece is not on this certificate
    history = certificates_of(engine, "W-SET")
    new = next(c for c in history if c.number == "HC-2026-000777")
    assert new.issuer == "Trung tâm Kỹ thuật Tiêu chuẩn Đo lường Chất lượng (demo)"
    assert new.issued_on == day and new.due_on == DUE
    assert new.file_name == "HC-2026-000777.xml"
    assert new.file_sha256 == hashlib.sha256(signed).hexdigest()
    assert len(new.values) == 1
    piece = new.values[0]
    assert Decimal(repr(piece["point"])) == nominal == Decimal(200)
    assert Decimal(repr(piece["value"])) - Decimal(repr(piece["point"])) == correction_g
    assert Decimal(repr(piece["U"])) == U_g and Decimal(repr(piece["k"])) == k and piece["unit"] == "g"
    with session_scope(engine, "test") as s:
        event = s.scalars(select(AuditEntry).where(AuditEntry.action == "import").order_by(AuditEntry.seq.desc())
                          ).first()  # fmt: skip
        assert event is not None and event.entity == "standard_certificate"
        payload = json.loads(event.payload)
        assert payload["file"] == "HC-2026-000777.xml" and payload["sha256"] == new.file_sha256

    # 4. again: the registry already has it (same issuer and number); nothing more written
    before = audit_count(engine)
    again = run_import(engine, signed, "W-SET", trust=trust, schema_directory=schemas, accept_warnings=True)
    assert [r.code for r in again.refusals] == ["dcc.registered"]
    assert "HC-2026-000777" in texts(again)[0] and "W-SET" in texts(again)[0]
    assert audit_count(engine) == before

    # 5. the same weight registered as a single reference weight: its conventional mass, as R111 reads it
    add_standard(engine, "W-REF", "reference weight", "QC-F1-200-0002", range_min=200.0, range_max=200.0,
                 range_unit="g")  # fmt: skip
    ref = run_import(engine, signed_other, "W-REF", trust=trust, schema_directory=schemas, accept_warnings=True)
    assert [r.code for r in ref.refusals] == ["item.mismatch"]
    assert "QC-F1-200-0001" in texts(ref)[0] and "QC-F1-200-0002" in texts(ref)[0]  # both serials said
    with session_scope(engine, "test") as s:
        s.scalars(
            select(ReferenceStandard).where(ReferenceStandard.code == "W-REF")
        ).one().serial_number = SERIAL.lower().replace("-", " - ")  # case and spaces aside, the same serial
    ref = run_import(engine, signed_other, "W-REF", trust=trust, schema_directory=schemas, accept_warnings=True)
    assert ref.written, texts(ref)
    (row,) = certificates_of(engine, "W-REF")[0].values
    assert Decimal(repr(row["value"])) == Decimal(200) + correction_g and Decimal(repr(row["U"])) == U_g
    assert row["point"] == 200.0 and row["unit"] == "g" and "quantity" not in row

    # 6. a changed digit after signing: verification fails, refused whatever is accepted
    tampered = signed.replace(f"<si:value>{value_mg}</si:value>".encode(), b"<si:value>0.10</si:value>", 1)
    assert tampered != signed
    add_standard(engine, "W-SET-2", "weight set", SERIAL)
    bad = run_import(engine, tampered, "W-SET-2", trust=trust, schema_directory=schemas, accept_warnings=True)
    assert not bad.ok and any("failed verification" in t for t in texts(bad)), texts(bad)
    assert certificates_of(engine, "W-SET-2") == []


# --- another lab's DCC: PTB's silicon sphere (DCC 2.4.0, unsigned) -----------------------------------------------


@pytest.fixture
def registry(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'caltrace.db'}")
    upgrade(engine)
    return engine


def test_the_silicon_sphere_imports_once_its_warnings_are_accepted(
    registry: Engine, examples: Path, schemas: Path
) -> None:
    data = (examples / SILICON).read_bytes()
    add_standard(registry, "SI-SPHERE", "mass standard", "Si28kg_03_a")
    refused = run_import(registry, data, "SI-SPHERE", schema_directory=schemas)
    assert not refused.ok and any("not signed" in t and "--accept-warnings" in t for t in texts(refused))
    assert certificates_of(registry, "SI-SPHERE") == []

    done = run_import(registry, data, "SI-SPHERE", schema_directory=schemas, accept_warnings=True)
    assert done.written, texts(done)
    (cert,) = certificates_of(registry, "SI-SPHERE")
    # from the file (lines 66, 84, 139, 478-483, 529-533): number, date, issuer; mass 1.00007841 kg with
    # U 0.00000005 kg (expandedUnc, D-SI 1.x), k 2; volume 431.055119 cm³ with U 0.000018 cm³, k 2
    assert (cert.number, cert.calibrated_on, cert.issued_on) == ("PTB - 11129 18", date(2018, 10, 12),
                                                                 date(2018, 10, 12))  # fmt: skip
    assert cert.issuer == "Physikalisch-Technische Bundesanstalt (PTB)"
    mass, volume = cert.values
    assert mass == {"quantity": "mass", "point": 1.0, "value": 1.00007841, "unit": "kg", "U": 5e-08, "k": 2.0}
    assert volume == {"quantity": "volume at t = 20 °C", "value": 431.055119, "unit": "cm³", "U": 1.8e-05, "k": 2.0}
    assert [n.code for n in done.notes] == ["value.point_dropped"]  # "1 kg" is no volume


def test_the_silicon_sphere_is_no_conventional_mass(registry: Engine, examples: Path, schemas: Path) -> None:
    data = (examples / SILICON).read_bytes()
    add_standard(registry, "W-1KG", "reference weight", "Si28kg_03_a", range_max=1.0, range_unit="kg")
    refused = run_import(registry, data, "W-1KG", schema_directory=schemas, accept_warnings=True)
    assert [r.code for r in refused.refusals] == ["value.true_mass"]
    assert "conventional mass" in texts(refused)[0] and "khối lượng quy ước" in texts(refused, "vi")[0]
    add_standard(registry, "W-OTHER", "mass standard", "Si28kg_03_b")
    refused = run_import(registry, data, "W-OTHER", schema_directory=schemas, accept_warnings=True)
    assert texts(refused) == ["the certificate's item (manufacturer Si28kg_03_a) is not standard W-OTHER "
                              "(serial number Si28kg_03_b)"]  # fmt: skip


def test_list_forms_are_refused_saying_so(registry: Engine, examples: Path) -> None:
    """PTB's temperature DCC states its results as si:hybrid and si:realListXMLList: not read, refused."""
    data = (examples / "dcc_gp_temperature_typical_v12.xml").read_bytes()
    add_standard(registry, "T-1", "thermometer", "string-manufacturer-item")
    refused = run_import(registry, data, "T-1", accept_warnings=True)
    assert {r.code for r in refused.refusals} == {"value.form"}
    assert any("si:realListXMLList" in t for t in texts(refused))
    assert certificates_of(registry, "T-1") == []


# --- hand-written weight-set DCCs ---------------------------------------------------------------------------------


def quantity(name: str, real: str = "", text: str = "", ref: str = "") -> str:
    attr = f' refType="{ref}"' if ref else ""
    body = f"<dcc:noQuantity><dcc:content>{text}</dcc:content></dcc:noQuantity>" if text else real
    return f'<dcc:quantity{attr}><dcc:name><dcc:content lang="en">{name}</dcc:content></dcc:name>{body}</dcc:quantity>'


def real(value: str, unit: str, U: str | None = None, k: str = "2", old: bool = False) -> str:
    if U is None:
        mu = ""
    elif old:  # D-SI 1.x / DCC 2.x: the deprecated expandedUnc
        mu = (f"<si:expandedUnc><si:uncertainty>{U}</si:uncertainty><si:coverageFactor>{k}</si:coverageFactor>"
              "<si:coverageProbability>0.95</si:coverageProbability></si:expandedUnc>")  # fmt: skip
    else:
        mu = (f"<si:measurementUncertaintyUnivariate><si:expandedMU><si:valueExpandedMU>{U}</si:valueExpandedMU>"
              f"<si:coverageFactor>{k}</si:coverageFactor><si:coverageProbability>0.9545</si:coverageProbability>"
              "</si:expandedMU></si:measurementUncertaintyUnivariate>")  # fmt: skip
    return f"<si:real><si:value>{value}</si:value><si:unit>{unit}</si:unit>{mu}</si:real>"


def piece(nominal: str, marking: str, measured: str) -> str:
    """One weight's result as a list: nominal value, marking, and the measured quantity."""
    return ("<dcc:result><dcc:name><dcc:content lang=\"en\">weight</dcc:content></dcc:name><dcc:data><dcc:list>"
            + quantity("nominal value", text=nominal) + quantity("marking", text=marking or "none") + measured
            + "</dcc:list></dcc:data></dcc:result>")  # fmt: skip


def dcc(*results: str, serial: str = "SET-77", number: str = "VMI-M-2026-0042") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<dcc:digitalCalibrationCertificate xmlns:dcc="https://ptb.de/dcc" xmlns:si="https://ptb.de/si" '
        'schemaVersion="3.3.0"><dcc:administrativeData><dcc:coreData>'
        f"<dcc:uniqueIdentifier>{number}</dcc:uniqueIdentifier>"
        "<dcc:beginPerformanceDate>2026-03-02</dcc:beginPerformanceDate>"
        "<dcc:endPerformanceDate>2026-03-04</dcc:endPerformanceDate><dcc:issueDate>2026-03-06</dcc:issueDate>"
        "</dcc:coreData><dcc:items><dcc:item><dcc:name><dcc:content>Bộ quả cân E2</dcc:content></dcc:name>"
        "<dcc:identifications><dcc:identification><dcc:issuer>manufacturer</dcc:issuer>"
        f"<dcc:value>{serial}</dcc:value></dcc:identification></dcc:identifications></dcc:item></dcc:items>"
        "<dcc:calibrationLaboratory><dcc:calibrationLaboratoryCode>VILAS 001</dcc:calibrationLaboratoryCode>"
        "<dcc:contact><dcc:name><dcc:content>Viện Đo lường Việt Nam</dcc:content></dcc:name></dcc:contact>"
        "</dcc:calibrationLaboratory></dcc:administrativeData><dcc:measurementResults><dcc:measurementResult>"
        "<dcc:results>" + "".join(results) + "</dcc:results></dcc:measurementResult></dcc:measurementResults>"
        "</dcc:digitalCalibrationCertificate>"
    ).encode()


CONVENTIONAL = "conventional mass"
CORRECTION = "conventional mass correction"
#: the set's last certificate: 1 kg, 200 g, 200 g marked "•" (R111 marks the second of equal weights), 1 g
SET_PIECES = [
    {"point": 1000.0, "value": 1000.0011, "unit": "g", "U": 0.0016, "k": 2.0},
    {"point": 200.0, "value": 200.00012, "unit": "g", "U": 0.0003, "k": 2.0},
    {"point": 200.0, "value": 199.99995, "unit": "g", "U": 0.0003, "k": 2.0, "label": "•"},
    {"point": 1.0, "value": 1.000004, "unit": "g", "U": 0.00001, "k": 2.0},
]


@pytest.fixture
def weight_set(registry: Engine) -> Engine:
    add_standard(registry, "W-E2", "weight set", "SET-77")
    with session_scope(registry, "test") as s:
        std = s.scalars(select(ReferenceStandard).where(ReferenceStandard.code == "W-E2")).one()
        std.certificates.append(StandardCertificate(issuer="VMI", number="M-2024-7", calibrated_on=date(2024, 3, 1),
                                                    issued_on=date(2024, 3, 2), due_on=date(2026, 3, 1),
                                                    values=SET_PIECES))  # fmt: skip
    return registry


GOOD = (
    # 1 kg: conventional mass 1.000 001 2 kg (D-SI 1.x expandedUnc): correction +1.2 mg, U 1.6 mg = 0.0016 g
    piece("1 kg", "", quantity(CONVENTIONAL, real("1.0000012", r"\kilogram", "0.0000016", old=True))),
    # 200 g unmarked: correction +0.15 mg, U 0.30 mg, k 2
    piece("200 g", "", quantity(CORRECTION, real("0.15", r"\milli\gram", "0.30"))),
    # 200 g "•": correction −0.06 mg, U 0.30 mg, k 2.1
    piece("200 g", "•", quantity(CORRECTION, real("-0.06", r"\milli\gram", "0.30", k="2.1"))),
    # 1 g: conventional mass 1.000 003 g, U 0.010 mg, in g
    piece("1 g", "", quantity(CONVENTIONAL, real("1.000003", r"\gram", "0.000010"))),
)


def test_a_weight_set_certificate_maps_each_piece(weight_set: Engine) -> None:
    done = run_import(weight_set, dcc(*GOOD), "W-E2", accept_warnings=True)
    assert done.written, texts(done)
    assert done.notes == []
    new = next(c for c in certificates_of(weight_set, "W-E2") if c.number == "VMI-M-2026-0042")
    assert (new.calibrated_on, new.issued_on, new.issuer) == (date(2026, 3, 4), date(2026, 3, 6),
                                                              "Viện Đo lường Việt Nam")  # fmt: skip
    got = {(v["point"], v.get("label", "")): v for v in new.values}
    # expected, from the numbers written above: m_c = nominal + correction, everything in g
    expected = {
        (1000.0, ""): (Decimal("1000.0012"), Decimal("0.0016"), Decimal(2)),
        (200.0, ""): (Decimal("200.00015"), Decimal("0.00030"), Decimal(2)),
        (200.0, "•"): (Decimal("199.99994"), Decimal("0.00030"), Decimal("2.1")),
        (1.0, ""): (Decimal("1.000003"), Decimal("0.000010"), Decimal(2)),
    }
    assert set(got) == set(expected)
    for key, (mass, U, k) in expected.items():
        v = got[key]
        assert Decimal(repr(v["value"])) == mass and Decimal(repr(v["U"])) == U and Decimal(repr(v["k"])) == k, key
        assert v["unit"] == "g"


@pytest.mark.parametrize(
    ("results", "code", "words"),
    [
        (
            (*GOOD[:3], piece("1 g", "", quantity(CORRECTION, real("0.003", r"\milli\gram")))),
            "value.no_uncertainty",
            "no expanded uncertainty",
        ),
        (
            (*GOOD[:3], piece("1 g", "", quantity(CORRECTION, real("0.003", r"\degreecelsius", "0.01")))),
            "value.not_mass_unit",
            "'°C' is not a mass unit",
        ),
        (
            (*GOOD[:3], piece("1 g", "", quantity(CORRECTION, real("0.003", r"\milli\gram\tothe{2}", "0.01")))),
            "value.unit",
            r"'\milli\gram\tothe{2}' cannot be converted",
        ),
        (
            (*GOOD, piece("500 g", "", quantity(CORRECTION, real("0.1", r"\milli\gram", "0.2")))),
            "piece.not_in_set",
            "500 g is not a piece of weight set W-E2",
        ),
        ((*GOOD, GOOD[1]), "piece.twice", "two results for the same weight 200 g"),
        (
            (*GOOD[:3], piece("1 g", "", quantity("mass", real("1.000003", r"\gram", "0.00001")))),
            "value.true_mass",
            "(true) mass",
        ),
        (
            (*GOOD[:3], piece("1 g", "", quantity("temperature", real("20.1", r"\degreecelsius", "0.1")))),
            "value.not_weight",
            "'temperature' is neither",
        ),
        (
            (*GOOD[:3], piece("1 g", "", quantity(CORRECTION, real("0.003", r"\milli\gram", "0.01", k="")))),
            "value.no_k",
            "without its coverage factor",
        ),
    ],
    ids=["no-U", "not-mass", "unit", "not-in-set", "twice", "true-mass", "not-understood", "no-k"],
)
def test_what_cannot_be_mapped_is_refused_whole(
    weight_set: Engine, results: tuple[str, ...], code: str, words: str
) -> None:
    before = audit_count(weight_set)
    refused = run_import(weight_set, dcc(*results), "W-E2", accept_warnings=True)
    assert [r.code for r in refused.refusals] == [code], texts(refused)
    assert words in texts(refused)[0]
    assert len(certificates_of(weight_set, "W-E2")) == 1 and audit_count(weight_set) == before


def test_two_unmarked_pieces_of_one_nominal_value_are_ambiguous(registry: Engine) -> None:
    add_standard(registry, "W-F1", "weight set", "SET-77")
    with session_scope(registry, "test") as s:
        std = s.scalars(select(ReferenceStandard).where(ReferenceStandard.code == "W-F1")).one()
        two = [SET_PIECES[1], {**SET_PIECES[2], "label": ""}]
        std.certificates.append(StandardCertificate(issuer="VMI", number="M-1", calibrated_on=date(2024, 3, 1),
                                                    issued_on=date(2024, 3, 2), due_on=date(2026, 3, 1),
                                                    values=two))  # fmt: skip
    refused = run_import(registry, dcc(GOOD[1]), "W-F1", accept_warnings=True)
    assert [r.code for r in refused.refusals] == ["piece.ambiguous"]
    assert "200 g, 200 g*" in texts(refused)[0]


def test_a_set_without_a_certificate_takes_the_pieces(registry: Engine) -> None:
    add_standard(registry, "W-NEW", "weight set", "set - 77")
    done = run_import(registry, dcc(*GOOD), "W-NEW", accept_warnings=True, dry_run=True)
    assert done.ok and [n.code for n in done.notes] == ["piece.first"]
    assert certificates_of(registry, "W-NEW") == []
    done = run_import(registry, dcc(*GOOD, GOOD[0]), "W-NEW", accept_warnings=True)
    assert [r.code for r in done.refusals] == ["piece.twice"]


def test_a_standard_without_serial_or_missing_is_refused(registry: Engine) -> None:
    add_standard(registry, "W-NOSERIAL", "weight set", "")
    refused = run_import(registry, dcc(*GOOD), "W-NOSERIAL", accept_warnings=True)
    assert [r.code for r in refused.refusals] == ["item.no_serial"]
    refused = run_import(registry, dcc(*GOOD), "NOPE", accept_warnings=True)
    assert [r.code for r in refused.refusals] == ["standard.not_found"]


# --- pieces ------------------------------------------------------------------------------------------------------


def test_dsi_units_read() -> None:
    assert from_dsi(r"\kilogram") == "kg" and from_dsi(r"\milli\gram") == "mg" and from_dsi(r"\gram") == "g"
    assert from_dsi(r"\micro\gram") == "µg" and from_dsi(r"\centi\metre\tothe{3}") == "cm³"
    assert from_dsi(r"\degreeCelsius") == "°C" == from_dsi(r"\degreecelsius")  # D-SI 1.x and 2.x
    assert from_dsi(r"\metre\tothe{3}\per\hour") == "m³/h" and from_dsi(r"\one") == ""
    assert from_dsi(r"\kilogram\tothe{1}") == "kg"  # D-SI 1.x (DCC 2.4.0 writes powers of one)
    assert from_dsi(r"\kilogram\tothe{1}\metre\tothe{-3}") is None and from_dsi(r"\furlong") is None


def test_kinds_and_number_cells() -> None:
    assert kind_of(("conventional mass deviation (m_c − m_0)",)) == "correction"
    assert kind_of(("konventioneller Wägewert",)) == "conventional mass"
    assert kind_of(("Masse", "mass")) == "mass" and kind_of(("volume at t = 20 °C",)) == "other"
    assert kind_of(("độ lệch khối lượng quy ước (m_c − m_0)",)) == "correction"
    assert number_cell(Decimal("200.000")) == "200.0000" and number_cell(Decimal("5E-8")) == "0.00000005"
    assert number_cell(Decimal("0.060")) == "0.060" and number_cell(Decimal("-1.250")) == "-1.2500"


def test_read_dcc_refuses_what_is_no_dcc() -> None:
    with pytest.raises(ValueError, match="not a Digital Calibration Certificate"):
        read_dcc(b"<x/>", "x.xml")
    with pytest.raises(ValueError, match="not readable XML"):
        read_dcc(b"<x", "x.xml")


def test_messages_are_bilingual() -> None:
    check_messages(MESSAGES, "certificates.read_dcc_messages")


# --- the command --------------------------------------------------------------------------------------------------


def caltrace(data_dir: Path, schemas: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALTRACE_SCHEMA_DIR": str(schemas), "CALTRACE_DATA_DIR": str(data_dir)}
    env.pop("CALTRACE_DATABASE_URL", None)
    return subprocess.run([CALTRACE, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_command(tmp_path: Path, examples: Path, schemas: Path) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    engine = make_engine(f"sqlite:///{data_dir / 'caltrace.db'}")
    upgrade(engine)
    add_standard(engine, "SI-SPHERE", "mass standard", "Si28kg_03_a")
    file = str(examples / SILICON)
    base = ("registry", "import", "standard-certificate")

    # unsigned: refused (exit 1), in Vietnamese by default, naming the option that accepts it
    proc = caltrace(data_dir, schemas, *base, file, "--standard", "SI-SPHERE", "--due", "01/01/2030")
    assert proc.returncode == 1, proc.stderr
    assert "--accept-warnings" in proc.stdout and "Không nhập: chưa ghi gì" in proc.stdout
    assert "1,00007841 kg" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr

    # a dry run in English: exit 0, nothing written
    proc = caltrace(data_dir, schemas, *base, file, "--standard", "SI-SPHERE", "--due", "01/01/2030",
                    "--accept-warnings", "--dry-run", "--lang", "en")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Dry run: certificate PTB - 11129 18 would be imported" in proc.stdout and "1.00007841 kg" in proc.stdout
    assert certificates_of(engine, "SI-SPHERE") == []

    # imported, JSON
    proc = caltrace(data_dir, schemas, *base, file, "--standard", "SI-SPHERE", "--due", "01/01/2030",
                    "--accept-warnings", "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["written"] and [v["value"] for v in doc["values"]] == ["1.00007841", "431.055119"]
    assert len(certificates_of(engine, "SI-SPHERE")) == 1

    # refused: no such standard (1); bad usage (2) with a clear message and no traceback
    proc = caltrace(data_dir, schemas, *base, file, "--standard", "NOPE", "--due", "01/01/2030", "--lang", "en")
    assert proc.returncode == 1 and "no reference standard with code 'NOPE'" in proc.stdout
    for args, words in (
        ((str(tmp_path / "missing.xml"), "--standard", "SI-SPHERE", "--due", "01/01/2030"), "no such file"),
        ((file, "--standard", "SI-SPHERE", "--due", "31/02/2030"), "--due"),
        ((file, "--standard", "SI-SPHERE", "--due", "01/01/2030", "--lang", "fr"), "fr"),
        ((file, "--standard", "SI-SPHERE", "--due", "01/01/2030", "--trust", file), "--trust"),
    ):
        proc = caltrace(data_dir, schemas, *base, *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert words in proc.stderr and "Traceback" not in proc.stdout + proc.stderr


def test_the_registry_notes_are_passed_on(registry: Engine) -> None:
    """A quantity name a spreadsheet would run as a formula is kept as text, with the import's own note."""
    add_standard(registry, "G-1", "mass standard", "SET-77")
    result = ("<dcc:result><dcc:name><dcc:content>x</dcc:content></dcc:name><dcc:data>"
              + quantity("=drift", real("0.002", r"\milli\gram", "0.001")) + "</dcc:data></dcc:result>")  # fmt: skip
    done = run_import(registry, dcc(result), "G-1", accept_warnings=True)
    assert done.written, texts(done)
    assert [n.code for n in done.notes] == ["import.note"] and "formula" in done.notes[0].text("en")
    (cert,) = certificates_of(registry, "G-1")
    assert cert.values == [{"quantity": "=drift", "value": 0.002, "unit": "mg", "U": 0.001, "k": 2.0}]
