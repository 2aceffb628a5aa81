"""The DCC of a reviewed cg-18 demo run: refused while an ISO/IEC 17025 item is missing, then schema-valid against
DCC 3.3.0, with every number checked here independently of the code.

One demo run serves the whole module's story (a demo run takes seconds): refusals first (not reviewed; then a
laboratory without an address), then review and build, then the CMC floor with a CMC line registered above U.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from sqlalchemy import select

from certificates.dcc import build_dcc, to_bytes
from certificates.dcc_content import DccRefusedError
from certificates.verify.schema import load_schema, safe_parser
from lab.base import REVIEWER
from registry.db import session_scope
from registry.models import CmcEntry, Conformity, Laboratory, MetrologyField, Result, Run
from tests.acquisition.conftest import TODAY, DemoRun, demo_run  # noqa: F401  (the fixture)

NS = {"dcc": "https://ptb.de/dcc", "si": "https://ptb.de/si"}
NUMBER = "2026/DEMO-00001"

#: D-SI unit strings of the units this run writes, spelt out by hand from the D-SI guide (PTB D-SI 2.x: base and
#: derived units in lower case after a backslash, prefixes as their own token): gram, degree Celsius, percent (the
#: demo's %RH), hectopascal
EXPECTED_DSI = {"1": r"\one", "g": r"\gram", "°C": r"\degreecelsius", "%RH": r"\percent", "hPa": r"\hecto\pascal"}
DSI_GRAMMAR = re.compile(r"^(\\[a-z]+(\{-?\d+\})?)+$")


def round_up_2(U: float) -> Decimal:
    """ILAC P14 / GUM 7.2.6 by hand: U rounded up to two significant digits (0.000291 -> 0.00030)."""
    d = Decimal(repr(U))
    step = Decimal(1).scaleb(d.adjusted() - 1)  # the second significant digit's place
    return (d / step).to_integral_value(rounding=ROUND_CEILING) * step


def schema_errors(schemas: Path, xml: bytes) -> list[str]:
    schema = load_schema(schemas, "3.3.0")
    doc = etree.fromstring(xml, safe_parser())
    ok = schema.validate(etree.ElementTree(doc))
    return [] if ok else [f"{e.line}: {e.message}" for e in schema.error_log]


@pytest.fixture
def reviewed_story(demo_run: Callable[..., DemoRun]) -> DemoRun:  # noqa: F811
    return demo_run("nawi-calibration-cg18")


def _results(run: DemoRun) -> list[tuple[int, str, float, float, float]]:
    with session_scope(run.registry, "test") as s:
        rows = s.scalars(select(Result).where(Result.run_id == run.outcome.run_id).order_by(Result.seq))
        return [(r.seq, r.unit, r.value, r.expanded_uncertainty or 0.0, r.coverage_factor or 0.0) for r in rows]


def _set_cmc(run: DemoRun, cmc_mg: float | None) -> None:
    """Withdraw every mass CMC line; with ``cmc_mg``, register one line over 0–220 g with that CMC (mg)."""
    with session_scope(run.registry, "test") as s:
        lab = s.scalars(select(Laboratory)).one()
        for line in lab.cmc:
            if line.field is MetrologyField.MASS:
                line.active = False
        if cmc_mg is not None:
            lab.cmc.append(CmcEntry(field=MetrologyField.MASS, quantity="khối lượng", instrument_kind="",
                                    range_min=0.0, range_max=220.0, range_unit="g", cmc=cmc_mg, cmc_unit="mg",
                                    cmc_relative=False, method_reference="EURAMET cg-18 v4.0"))  # fmt: skip


def issued(run: DemoRun) -> date:
    """The day the demo run finished (the wall clock's, in the lab's time zone): the certificate's issue date."""
    with session_scope(run.registry, "test") as s:
        finished = s.get(Run, run.outcome.run_id).finished_at  # type: ignore[union-attr]
        assert finished is not None
        return finished.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()


def _build(run: DemoRun) -> bytes:
    with session_scope(run.registry, "test") as s:
        return to_bytes(build_dcc(s, run.outcome.run_id, number=NUMBER, issued_on=issued(run)))


def test_dcc_refused_then_built_valid_with_independent_numbers(reviewed_story: DemoRun, schemas: Path) -> None:
    run = reviewed_story
    assert run.outcome.state == "completed", run.outcome.message

    # 1. not reviewed: refused, saying so in both languages
    with pytest.raises(DccRefusedError) as refused:
        _build(run)
    clauses = [m.clause for m in refused.value.missing]
    assert clauses == ["review", "7.8.2.1 o"], refused.value  # not reviewed, so no reviewer to sign either
    assert "chưa được soát xét" in refused.value.text("vi") and "not reviewed" in refused.value.text("en")

    # 2. a laboratory without an address as well: both items listed at once
    with session_scope(run.registry, "test") as s:
        lab = s.scalars(select(Laboratory)).one()
        address, lab.address = lab.address, ""
    with pytest.raises(DccRefusedError) as refused:
        _build(run)
    assert sorted(m.clause for m in refused.value.missing) == ["7.8.2.1 b", "7.8.2.1 o", "review"]
    assert any("địa chỉ" in m.vi and "address" in m.en for m in refused.value.missing)
    with session_scope(run.registry, "test") as s:
        s.scalars(select(Laboratory)).one().address = address

    # 3. reviewed: built, valid against the DCC 3.3.0 schema through the verifier's local resolver
    run.engine.review(run.outcome.run_id, REVIEWER)
    _set_cmc(run, None)  # no CMC line: the calculated U is stated everywhere
    xml = _build(run)
    assert schema_errors(schemas, xml) == []
    root = etree.fromstring(xml, safe_parser())
    assert root.get("schemaVersion") == "3.3.0"
    assert root.findtext("dcc:administrativeData/dcc:coreData/dcc:uniqueIdentifier", namespaces=NS) == NUMBER
    assert root.findtext("dcc:administrativeData/dcc:coreData/dcc:issueDate", namespaces=NS) == issued(run).isoformat()
    langs = {e.get("lang") for e in root.iter("{https://ptb.de/dcc}content") if e.get("lang")}
    assert langs == {"vi", "en"}
    # the signatory is the reviewer, named as main signer; nothing after measurementResults (place for the
    # document and the signature)
    assert root[-1].tag == "{https://ptb.de/dcc}measurementResults"
    main = root.find("dcc:administrativeData/dcc:respPersons/dcc:respPerson[dcc:mainSigner='true']", NS)
    assert main is not None and main.findtext("dcc:role", namespaces=NS) == "signatory"
    # traceability: every standard's certificate number is there
    numbers = [e.text for e in root.iterfind(".//dcc:measuringEquipment/dcc:identifications/dcc:identification"
                                              "[@refType='caltrace_certificateNumber']/dcc:value", NS)]  # fmt: skip
    assert len(numbers) == 2 and all(n and n.startswith("DEMO-") for n in numbers)
    assert root.find(".//dcc:influenceConditions/dcc:influenceCondition[@refType='basic_temperature']", NS) is not None

    # every unit is a D-SI string, and the one written by hand for its unit
    units = [e.text or "" for e in root.iter("{https://ptb.de/si}unit")]
    assert units and all(DSI_GRAMMAR.match(u) for u in units), units
    assert set(units) <= set(EXPECTED_DSI.values()), set(units)
    assert r"\gram" in units and r"\degreecelsius" in units

    # numbers: U rounded up to 2 significant digits, the value to U's last digit (half up), k and p stated
    rows = _results(run)
    measured = root.findall(".//dcc:result/dcc:data/dcc:quantity[@refType='basic_measuredValue']/si:real", NS)
    assert len(measured) == len(rows)
    for (seq, unit, value, U, k), real in zip(rows, measured, strict=True):
        assert real.findtext("si:unit", namespaces=NS) == EXPECTED_DSI[unit]
        if U == 0.0:  # informational (repeatability s, eccentricity, uncertainty in use): no U. In g the balance's
            # d = 0.0001 g gives 4 decimals, but never fewer than two significant digits of the value; the
            # dimensionless slope has no resolution: 4 significant digits (decision 0360)
            assert real.find("si:measurementUncertaintyUnivariate", NS) is None
            exponent = Decimal(repr(value)).adjusted()
            places = max(4, 1 - exponent) if unit == "g" else 3 - exponent
            assert real.findtext("si:value", namespaces=NS) == str(
                Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            ), (seq, value)
            continue
        U_exp = round_up_2(U)
        mu = real.find("si:measurementUncertaintyUnivariate/si:expandedMU", NS)
        assert mu is not None
        U_xml = mu.findtext("si:valueExpandedMU", namespaces=NS) or ""
        assert Decimal(U_xml) == U_exp and len(U_xml.lstrip("0.")) == 2, (seq, U, U_xml)
        assert Decimal(U_xml) >= Decimal(repr(U))  # never understated
        value_exp = Decimal(repr(value)).quantize(U_exp, rounding=ROUND_HALF_UP)
        assert real.findtext("si:value", namespaces=NS) == str(value_exp), (seq, value)
        assert Decimal(mu.findtext("si:coverageFactor", namespaces=NS) or "") == Decimal(repr(k)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        p = float(mu.findtext("si:coverageProbability", namespaces=NS) or "nan")
        assert 0.9 < p < 1.0
    said = [e.text or "" for e in root.iterfind(".//dcc:metaData[@refType='caltrace_statedUncertainty']"
                                                "/dcc:declaration/dcc:content[@lang='en']", NS)]  # fmt: skip
    with_U = [r for r in rows if r[3] > 0]
    assert len(with_U) >= 5  # cg-18's error-of-indication rows
    assert len(said) == len(rows)
    assert sum("no CMC line" in t for t in said) == len(with_U)
    assert sum("Informational" in t for t in said) == len(rows) - len(with_U)

    # 4. a CMC registered above every U: the CMC is stated instead, and each result says so
    U_max = max(r[3] for r in with_U)
    cmc_g = float(round_up_2(3 * U_max))  # e.g. U_max 0.00029 g -> CMC 0.00087 g, two significant digits already
    _set_cmc(run, cmc_g * 1000)  # the line is in mg
    xml = _build(run)
    assert schema_errors(schemas, xml) == []
    root = etree.fromstring(xml, safe_parser())
    stated = [Decimal(e.text or "") for e in root.iterfind(".//si:expandedMU/si:valueExpandedMU", NS)]
    # the CMC converted mg -> g in float may carry noise in the 16th digit; rounded up to 2 digits it is itself
    assert stated == [round_up_2(cmc_g)] * len(with_U)
    said = [e.text or "" for e in root.iterfind(".//dcc:metaData[@refType='caltrace_statedUncertainty']"
                                                "/dcc:declaration/dcc:content[@lang='en']", NS)]  # fmt: skip
    assert sum("is the laboratory's CMC" in t for t in said) == len(with_U), said
    for (_, _, value, U, _), real in zip(rows, root.iterfind(".//dcc:quantity[@refType='basic_measuredValue']"
                                                             "/si:real", NS), strict=True):  # fmt: skip
        if U == 0.0:
            continue
        assert real.findtext("si:value", namespaces=NS) == str(
            Decimal(repr(value)).quantize(round_up_2(cmc_g), rounding=ROUND_HALF_UP)
        )


@pytest.mark.skipif(importlib.util.find_spec("saxonche") is None, reason="saxonche (Saxon XSLT 3 for PTB's "
                    "Schematron) is not installed")  # fmt: skip
def test_dcc_passes_ptb_schematron(reviewed_story: DemoRun, shared: Path) -> None:
    from tests.certificates.schematron import run_schematron

    sch = shared / "schemas" / "dcc" / "schematron" / "dcc.sch"
    run = reviewed_story
    run.engine.review(run.outcome.run_id, REVIEWER)
    xml = _build(run)
    fired = run_schematron(sch, xml)
    problems = [f for f in fired if f.role in ("error", "fatal", "warning") or not f.role]
    assert problems == [], "\n".join(f"{f.role} {f.kind} at {f.location}: {f.text}" for f in problems)
    # the runner can fail: a release without its leading letter breaks dcc.sch's release rule (an error)
    broken = xml.replace(b"<dcc:release>v", b"<dcc:release>", 1)
    assert any(f.role == "error" and "release" in f.text for f in run_schematron(sch, broken))


def test_unknown_run_and_bad_languages_are_refused(reviewed_story: DemoRun) -> None:
    run = reviewed_story
    with session_scope(run.registry, "test") as s, pytest.raises(DccRefusedError) as refused:
        build_dcc(s, "no-such-run", number=NUMBER, issued_on=date(2026, 11, 21))
    assert [m.clause for m in refused.value.missing] == ["run"]
    run.engine.review(run.outcome.run_id, REVIEWER)
    with session_scope(run.registry, "test") as s, pytest.raises(DccRefusedError) as refused:
        build_dcc(s, run.outcome.run_id, number=" ", issued_on=issued(run), language_codes=("de",))
    assert sorted(m.clause for m in refused.value.missing) == ["7.8.2.1 d", "language"]


def test_a_conformity_statement_names_its_decision_rule(reviewed_story: DemoRun, schemas: Path) -> None:
    # cg-18 calibration rows state no conformity; a result that does (e.g. a customer's specification) must name
    # the decision rule (ISO/IEC 17025:2017 7.8.6): without one the certificate is refused, with one it is written
    run = reviewed_story
    run.engine.review(run.outcome.run_id, REVIEWER)
    with session_scope(run.registry, "test") as s:
        row = s.scalars(select(Result).where(Result.run_id == run.outcome.run_id, Result.seq == 3)).one()
        row.conformity, row.decision_rule = Conformity.PASS, ""
    with pytest.raises(DccRefusedError) as refused:
        _build(run)
    assert [m.clause for m in refused.value.missing] == ["7.8.4.1 e"]
    rule = "simple acceptance, w = 0 (ILAC G8:09/2019 4.2.1)"
    with session_scope(run.registry, "test") as s:
        s.scalars(select(Result).where(Result.run_id == run.outcome.run_id, Result.seq == 3)).one().decision_rule = rule
    xml = _build(run)
    assert schema_errors(schemas, xml) == []
    root = etree.fromstring(xml, safe_parser())
    stated = root.findall(".//dcc:metaData[@refType='basic_conformity']", NS)
    assert len(stated) == 1
    assert stated[0].findtext("dcc:conformity", namespaces=NS) == "pass"
    en = stated[0].findtext("dcc:declaration/dcc:content[@lang='en']", namespaces=NS) or ""
    vi = stated[0].findtext("dcc:declaration/dcc:content[@lang='vi']", namespaces=NS) or ""
    assert rule in en and rule in vi and en.startswith("pass") and vi.startswith("đạt")
