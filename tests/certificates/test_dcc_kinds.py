"""The kinds of certificate besides calibration (decision 0425), each built from a real reviewed demo run of its
procedure and checked against DCC 3.3.0's XSD and PTB's Schematron:

- a verification certificate (R76 balance, R49 water meter) that passed: the verification mark number and the
  validity date, computed here from the instrument's interval by hand;
- a notice of non-conformity for a failed verification: no mark, no validity, the failed tests with how far each is
  beyond its MPE (recomputed here from the stored rows);
- the result of an R87 prepackage lot check, whose subject is the lot.

Every refusal is listed like the calibration ones (:class:`DccRefusedError`).
"""

from __future__ import annotations

import calendar
import importlib.util
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from lxml import etree
from sqlalchemy import select

from certificates.dcc import build_dcc, to_bytes
from certificates.dcc_content import DccRefusedError
from certificates.verify.schema import safe_parser
from lab.base import PACKER, REVIEWER, DemoScenario
from lab.prepackage_r87 import LOT, PrepackageR87Demo
from lab.water_r49 import WaterR49Demo
from registry.db import session_scope
from registry.models import Conformity, Customer, Result, Run
from tests.acquisition.conftest import DemoRun, demo_run  # noqa: F401  (the fixture)
from tests.certificates.test_dcc_build import NS, issued, schema_errors

NUMBER = "KĐ-2026-000045"
MARK = "TEM-KĐ 0012345"
HAS_SAXON = importlib.util.find_spec("saxonche") is not None


def build(run: DemoRun, **kw: Any) -> bytes:
    with session_scope(run.registry, "test") as s:
        return to_bytes(build_dcc(s, run.outcome.run_id, number=NUMBER, issued_on=issued(run), **kw))


def refused(run: DemoRun, **kw: Any) -> DccRefusedError:
    with pytest.raises(DccRefusedError) as caught:
        build(run, **kw)
    return caught.value


def valid(shared: Path, xml: bytes) -> etree._Element:
    """``xml`` parsed, after checking it against the v3.3.0 XSD and (when Saxon is installed) PTB's Schematron:
    no error, no warning."""
    schemas = shared / "schemas" / "dcc"
    assert schema_errors(schemas, xml) == []
    if HAS_SAXON:
        from tests.certificates.schematron import run_schematron

        fired = run_schematron(schemas / "schematron" / "dcc.sch", xml)
        problems = [f for f in fired if f.role in ("error", "fatal", "warning") or not f.role]
        assert problems == [], "\n".join(f"{f.role} at {f.location}: {f.text}" for f in problems)
    return etree.fromstring(xml, safe_parser())


def rows(run: DemoRun) -> list[Result]:
    with session_scope(run.registry, "test") as s:
        found = list(s.scalars(select(Result).where(Result.run_id == run.outcome.run_id).order_by(Result.seq)))
        s.expunge_all()
        return found


def interval_months(run: DemoRun) -> int:
    with session_scope(run.registry, "test") as s:
        stored = s.get(Run, run.outcome.run_id)
        assert stored is not None and stored.instrument is not None
        return stored.instrument.interval_months


def last_valid_day(verified: date, months: int) -> date:
    """By hand: the same day ``months`` calendar months later (clamped to that month's last day), minus one day
    (decision 0425's conservative end-day convention). 2026-11-21 + 12 months = 2027-11-21 -> 2027-11-20."""
    total = verified.month - 1 + months
    year, month = verified.year + total // 12, total % 12 + 1
    day = min(verified.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) - timedelta(days=1)


def two_digits(x: float) -> str:
    """|value| − MPE for reading, by hand: two significant digits, half up, plain decimal (0.0997 -> 0.10)."""
    d = Decimal(repr(x))
    q = d.quantize(Decimal(1).scaleb(d.adjusted() - 1), rounding=ROUND_HALF_UP)
    return format(q, "f")


def statement(root: etree._Element, ref: str) -> etree._Element | None:
    return root.find(f"dcc:administrativeData/dcc:statements/dcc:statement[@refType='{ref}']", NS)


def said(e: etree._Element | None, lang: str) -> str:
    assert e is not None
    return e.findtext(f"dcc:declaration/dcc:content[@lang='{lang}']", namespaces=NS) or ""


def limits(result: etree._Element) -> dict[str, float]:
    return {
        q.get("refType", ""): float(q.findtext("si:real/si:value", namespaces=NS) or "nan")
        for q in result.iterfind("dcc:data/dcc:quantity", NS)
    }


def check_results_with_mpe(root: etree._Element, stored: list[Result]) -> None:
    """One dcc:result per stored row, in order; each judged row carries its MPE: ±MPE as tolerance limits, the
    discrimination's required change as a required value; its conformity as a basic_conformity metaData."""
    found = root.findall(".//dcc:measurementResult/dcc:results/dcc:result", NS)
    assert len(found) == len(stored)
    for r, e in zip(stored, found, strict=True):
        assert r.mpe is not None
        got = limits(e)
        if r.quantity.startswith("discrimination"):
            assert got["caltrace_requiredValue"] == pytest.approx(r.mpe, abs=1e-12)
        else:
            assert got["basic_toleranceLimitLower"] == pytest.approx(-r.mpe, abs=1e-12)
            assert got["basic_toleranceLimitUpper"] == pytest.approx(r.mpe, abs=1e-12)
        conf = e.find(".//dcc:metaData[@refType='basic_conformity']/dcc:conformity", NS)
        assert conf is not None and conf.text == r.conformity.value


# --- verification certificate --------------------------------------------------------------------------------


def test_r76_verification_certificate_with_mark_and_validity(
    demo_run: Callable[..., DemoRun],  # noqa: F811
    shared: Path,
) -> None:
    run = demo_run("nawi-verification-r76")
    assert run.outcome.state == "completed", run.outcome.message

    # not reviewed and no mark: both listed (and no reviewer to sign)
    why = refused(run)
    assert sorted(m.clause for m in why.missing) == ["7.8.2.1 o", "mark", "review"], why
    assert "tem kiểm định" in why.text("vi") and "verification mark" in why.text("en")

    run.engine.review(run.outcome.run_id, REVIEWER)
    why = refused(run)  # reviewed, still no mark
    assert [m.clause for m in why.missing] == ["mark"]
    why = refused(run, mark="  ")
    assert [m.clause for m in why.missing] == ["mark"]
    # a passed verification asked for a notice
    why = refused(run, mark=MARK, kind="nonConformity")
    assert [m.clause for m in why.missing] == ["kind"] and "passed" in why.text("en")
    assert refused(run, kind="no-such-kind").missing[0].clause == "kind"

    root = valid(shared, build(run, mark=MARK))
    assert root.findtext("dcc:administrativeData/dcc:coreData/dcc:uniqueIdentifier", namespaces=NS) == NUMBER
    mark = root.find("dcc:administrativeData/dcc:coreData/dcc:identifications/dcc:identification"
                     "[@refType='caltrace_verificationMark']", NS)  # fmt: skip
    assert mark is not None and mark.findtext("dcc:value", namespaces=NS) == MARK
    kind = statement(root, "caltrace_certificateKind")
    assert kind is not None and kind.findtext("dcc:convention", namespaces=NS) == "verification"
    assert "Giấy chứng nhận kiểm định" in said(kind, "vi") and "Verification certificate" in said(kind, "en")
    stamp = statement(root, "caltrace_verificationMark")
    assert MARK in said(stamp, "vi") and MARK in said(stamp, "en")

    # validity: the day the verification ended plus the instrument's interval, minus one day (computed by hand)
    months = interval_months(run)
    assert months == 12  # the demo balance's registered interval (lab.base.instrument's default)
    verified = issued(run)  # the issue day is the day the run finished
    until = last_valid_day(verified, months)
    assert until == date(verified.year + 1, verified.month, verified.day) - timedelta(days=1)  # 12 months, by eye
    validity = statement(root, "caltrace_verificationValidity")
    assert validity is not None
    assert validity.findtext("dcc:date", namespaces=NS) == until.isoformat()
    assert validity.findtext("dcc:period", namespaces=NS) == "P12M"
    assert until.isoformat() in said(validity, "vi") and until.isoformat() in said(validity, "en")
    assert root.findtext("dcc:administrativeData/dcc:coreData/dcc:endPerformanceDate", namespaces=NS) == (
        verified.isoformat()
    )

    # the verdict names the requirement and the decision rule
    verdict = statement(root, "basic_conformity")
    assert verdict is not None and verdict.findtext("dcc:conformity", namespaces=NS) == "pass"
    norms = [e.text or "" for e in verdict.iterfind("dcc:norm", NS)]
    assert norms[0] == "OIML R76-1:2006 / ĐLVN" and any("23/2013/TT-BKHCN" in n for n in norms)
    assert "simple acceptance (ILAC G8:09/2019 4.2.1, w = 0)" in said(verdict, "en")
    assert said(verdict, "vi").startswith("Phương tiện đo đạt yêu cầu kiểm định")
    assert statement(root, "caltrace_failedTests") is None
    stored = rows(run)
    assert stored and all(r.conformity is Conformity.PASS for r in stored)
    check_results_with_mpe(root, stored)
    # R76 verification rows state no U: none is written, and each says why
    assert root.find(".//si:expandedMU", NS) is None
    texts = [e.text or "" for e in root.iterfind(".//dcc:metaData[@refType='caltrace_statedUncertainty']"
                                                 "/dcc:declaration/dcc:content[@lang='en']", NS)]  # fmt: skip
    assert len(texts) == len(stored) and all("simple acceptance" in t for t in texts)


def test_r49_verification_and_notice(demo_run: Callable[..., DemoRun], shared: Path) -> None:  # noqa: F811
    run = demo_run("water-meter-verification-r49")
    assert run.outcome.state == "completed", run.outcome.message
    run.engine.review(run.outcome.run_id, REVIEWER)
    root = valid(shared, build(run, mark=MARK))
    validity = statement(root, "caltrace_verificationValidity")
    assert validity is not None
    months = interval_months(run)
    assert validity.findtext("dcc:date", namespaces=NS) == last_valid_day(issued(run), months).isoformat()
    assert validity.findtext("dcc:period", namespaces=NS) == f"P{months}M"
    stored = rows(run)
    check_results_with_mpe(root, stored)
    # R49 rows carry U (master meter method): written with k, the calculated U (no CMC floor for a verification)
    assert len(root.findall(".//si:expandedMU", NS)) == len(stored) == 3
    assert [r.mpe for r in stored] == [5.0, 2.0, 2.0]  # class 2: lower zone ±5 %, upper ±2 % (R49-1:2013 4.2)

    # the meter 6 % fast at Q1: a notice
    def fast_at_q1(demo: DemoScenario) -> None:
        cast(WaterR49Demo, demo).meter_curve = ((0.0164, 6.0), (0.0262, 0.6), (2.4, -0.3))

    bad = demo_run("water-meter-verification-r49", prepare=fast_at_q1)
    bad.engine.review(bad.outcome.run_id, REVIEWER)
    why = refused(bad, mark=MARK, kind="verification")
    assert sorted(m.clause for m in why.missing) == ["kind", "mark"]
    assert "the verification failed" in why.text("en") and "carries no verification mark" in why.text("en")
    root = valid(shared, build(bad))
    q1 = rows(bad)[0]
    assert q1.conformity is Conformity.FAIL and q1.mpe == 5.0
    failed = said(statement(root, "caltrace_failedTests"), "en")
    # by hand: |E| − MPE, E about 6 % -> about 1 %, two significant digits
    assert f"beyond the limit by {two_digits(abs(q1.value) - 5.0)} %" in failed, failed
    assert failed.count(";") == 0  # one failed test
    assert statement(root, "caltrace_verificationValidity") is None


# --- notice of non-conformity --------------------------------------------------------------------------------


def test_r76_notice_of_non_conformity(demo_run: Callable[..., DemoRun], shared: Path) -> None:  # noqa: F811
    s_bad = -1e-4  # as tests/acquisition/test_nawi_r76.py: -0.22 g at 2200 g, beyond MPE(2200 g) = 0.15 g

    def prepare(demo: DemoScenario) -> None:
        getattr(demo, "balance").control("set_sensitivity_error", relative=s_bad)  # noqa: B009

    run = demo_run("nawi-verification-r76", prepare=prepare)
    assert run.outcome.state == "completed", run.outcome.message
    run.engine.review(run.outcome.run_id, REVIEWER)
    # a failed verification asked for a certificate, with a mark: both refused at once
    why = refused(run, mark=MARK)
    assert sorted(m.clause for m in why.missing) == ["mark"], why  # the run's own kind is the notice: no mark
    why = refused(run, kind="verification")
    assert [m.clause for m in why.missing] == ["kind"] and "notice of non-conformity" in why.text("en")

    root = valid(shared, build(run))
    kind = statement(root, "caltrace_certificateKind")
    assert kind is not None and kind.findtext("dcc:convention", namespaces=NS) == "nonConformity"
    assert "Thông báo kết quả kiểm định không đạt" in said(kind, "vi")
    assert root.find(".//dcc:identification[@refType='caltrace_verificationMark']", NS) is None
    assert statement(root, "caltrace_verificationValidity") is None
    assert statement(root, "caltrace_verificationMark") is None
    verdict = statement(root, "basic_conformity")
    assert verdict is not None and verdict.findtext("dcc:conformity", namespaces=NS) == "fail"
    assert "no verification mark" in said(verdict, "en")

    stored = rows(run)
    check_results_with_mpe(root, stored)
    bad = [r for r in stored if r.conformity is Conformity.FAIL]
    assert bad and any(r.point == 2200.0 for r in bad)
    failed_en = said(statement(root, "caltrace_failedTests"), "en")
    failed_vi = said(statement(root, "caltrace_failedTests"), "vi")
    assert failed_en.startswith("Tests failed: ") and failed_vi.startswith("Các phép thử không đạt: ")
    assert failed_en.count("; ") == len(bad) - 1
    for r in bad:
        assert r.mpe is not None
        excess = abs(r.value) - r.mpe  # beyond a ±MPE: |E| − MPE, by hand
        assert excess > 0
        assert f"at {r.point:g} g" in failed_en
        assert f"limit ±{r.mpe:g} g, beyond the limit by {two_digits(excess)} g" in failed_en, failed_en
        assert f"vượt giới hạn {two_digits(excess)} g" in failed_vi
    # each failed value is shown with enough digits to be seen beyond its limit
    stated = re.findall(r"at [\d.]+ g: (-?[\d.]+) g, limit ±([\d.]+) g", failed_en)
    assert len(stated) == len(bad)
    assert all(abs(Decimal(v)) > Decimal(m) for v, m in stated), stated
    top = next(r for r in bad if r.point == 2200.0)
    assert abs(abs(top.value) - 0.15 - 0.07) < 0.011  # about 0.22 − 0.15 g, the sensitivity error set above
    marked = root.findall(".//dcc:metaData[@refType='caltrace_failedTest']", NS)
    assert len(marked) == len(bad)


# --- prepackage lot check ------------------------------------------------------------------------------------


def test_r87_lot_check_result(demo_run: Callable[..., DemoRun], shared: Path) -> None:  # noqa: F811
    run = demo_run("prepackage-r87")
    assert run.outcome.state == "completed", run.outcome.message
    run.engine.review(run.outcome.run_id, REVIEWER)
    why = refused(run, mark=MARK)
    assert [m.clause for m in why.missing] == ["mark"]
    assert refused(run, kind="verification").missing[0].clause == "kind"
    # a packer without an address: refused (7.8.2.1 e, the packer is the customer of a lot check)
    with session_scope(run.registry, "test") as s:
        packer = s.scalars(select(Customer).where(Customer.name == PACKER)).one()
        address, packer.address = packer.address, ""
    why = refused(run)
    assert [m.clause for m in why.missing] == ["7.8.2.1 e"] and "packer" in why.text("en")
    with session_scope(run.registry, "test") as s:
        s.scalars(select(Customer).where(Customer.name == PACKER)).one().address = address

    root = valid(shared, build(run))
    kind = statement(root, "caltrace_certificateKind")
    assert kind is not None and kind.findtext("dcc:convention", namespaces=NS) == "lotCheck"
    item = root.find("dcc:administrativeData/dcc:items/dcc:item[@refType='caltrace_prepackageLot']", NS)
    assert item is not None
    assert item.findtext("dcc:name/dcc:content", namespaces=NS) == "Đường kính trắng túi 500 g"
    assert item.findtext("dcc:owner/dcc:name/dcc:content", namespaces=NS) == PACKER
    lot_id = item.find("dcc:identifications/dcc:identification[@refType='caltrace_lotNumber']", NS)
    assert lot_id is not None and lot_id.findtext("dcc:value", namespaces=NS) == LOT
    quantities = {
        q.get("refType"): (q.findtext("si:real/si:value", namespaces=NS), q.findtext("si:real/si:unit", namespaces=NS))
        for q in item.iterfind("dcc:itemQuantities/dcc:itemQuantity", NS)
    }
    # the demo lot: 500 packets of 500 g; R87's plan for a lot of 100–500 takes n = 50 (unverified table, as in
    # tests/acquisition/test_prepackage_r87.py)
    assert quantities == {
        "caltrace_nominalQuantity": ("500", r"\gram"),
        "caltrace_lotSize": ("500", r"\one"),
        "caltrace_sampleSize": ("50", r"\one"),
    }
    desc_en = item.findtext("dcc:description/dcc:content[@lang='en']", namespaces=NS) or ""
    desc_vi = item.findtext("dcc:description/dcc:content[@lang='vi']", namespaces=NS) or ""
    assert f"lot no. {LOT}" in desc_en and "Qn = 500 g" in desc_en and "sample size 50" in desc_en
    assert PACKER in desc_en and f"số {LOT}" in desc_vi and "cỡ mẫu 50 gói" in desc_vi
    customer = root.findtext("dcc:administrativeData/dcc:customer/dcc:name/dcc:content", namespaces=NS)
    assert customer == PACKER
    # no environment recorded by this procedure: said so (Schematron requires influenceConditions)
    cond = root.find(".//dcc:influenceCondition[@refType='caltrace_notRecorded']", NS)
    assert cond is not None

    verdict = statement(root, "basic_conformity")
    assert verdict is not None and verdict.findtext("dcc:conformity", namespaces=NS) == "pass"
    assert said(verdict, "en").startswith("The lot meets the quantity requirements of OIML R87:2016")
    # the plan by hand: lot of 500 -> n = 50, λ = 0.379, c = 3 (METROLOGY.md's common plan, unverified there too);
    # Qn = 500 g is in 500–1 000 g: T1 = 15 g, T2 = 2·T1 = 30 g
    plan = said(statement(root, "caltrace_samplingPlan"), "en")
    assert "n = 50, λ = 0.379, c = 3; T1 = 15 g, T2 = 30 g" in plan, plan
    assert "by more than T1: 2 (allowed 3); by more than T2: 0 (allowed 0)" in plan
    stored = {r.quantity: r for r in rows(run)}
    ev = stored["lot decision"].evidence
    results = {
        e.findtext("dcc:name/dcc:content[@lang='en']", namespaces=NS): e
        for e in root.iterfind(".//dcc:results/dcc:result", NS)
    }
    mean = limits(results["mean net quantity"])
    # the mean requirement by hand from the stored sample statistics: x̄ >= Qn − λ·s
    assert mean["basic_acceptanceLimitLower"] == pytest.approx(500.0 - ev["lambda"] * ev["s"], abs=1e-9)
    assert mean["basic_measuredValue"] == pytest.approx(ev["mean"], abs=0.01)
    t1 = limits(results["T1-defective prepackages"])
    assert t1["basic_measuredValue"] == len(ev["T1_defectives"]) == 2 and t1["basic_acceptanceLimitUpper"] == 3
    t2 = limits(results["T2-defective prepackages"])
    assert t2["basic_measuredValue"] == 0 and t2["basic_acceptanceLimitUpper"] == 0
    decision = results["lot decision"]
    assert limits(decision)["basic_measuredValue"] == 1
    conf = decision.find(".//dcc:metaData[@refType='basic_conformity']/dcc:conformity", NS)
    assert conf is not None and conf.text == "pass"


def test_r87_rejected_lot(demo_run: Callable[..., DemoRun], shared: Path) -> None:  # noqa: F811
    def prepare(demo: DemoScenario) -> None:
        cast(PrepackageR87Demo, demo).net_mean = 497.0  # short on average (tests/acquisition/test_prepackage_r87)

    run = demo_run("prepackage-r87", prepare=prepare)
    run.engine.review(run.outcome.run_id, REVIEWER)
    root = valid(shared, build(run))
    verdict = statement(root, "basic_conformity")
    assert verdict is not None and verdict.findtext("dcc:conformity", namespaces=NS) == "fail"
    assert said(verdict, "en").startswith("The lot does not meet")
    failed = said(statement(root, "caltrace_failedTests"), "en")
    stored = {r.quantity: r for r in rows(run)}
    mean = stored["mean net quantity"]
    assert mean.conformity is Conformity.FAIL and "lot decision: 0" in failed
    ev = stored["lot decision"].evidence
    limit = 500.0 - ev["lambda"] * ev["s"]  # x̄ >= Qn − λ·s, by hand from the stored sample statistics
    assert mean.value < limit
    shown_limit = Decimal(repr(limit)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert "mean net quantity: " in failed
    assert f"required at least {shown_limit} g, short of the requirement by {two_digits(limit - mean.value)} g" in (
        failed
    ), failed


def test_calibration_refuses_a_mark_and_another_kind(demo_run: Callable[..., DemoRun]) -> None:  # noqa: F811
    run = demo_run("nawi-calibration-cg18")
    run.engine.review(run.outcome.run_id, REVIEWER)
    why = refused(run, mark=MARK, kind="verification")
    assert sorted(m.clause for m in why.missing) == ["kind", "mark"]
    assert "carries no verification mark" in why.text("en")
