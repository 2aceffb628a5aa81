"""The certificate workflow on a reviewed cg-18 demo run (issue 17.6/17.7, decision 0450): issue, store, verify
against our registry, amend, revoke; refusals of the technician and of signatories not authorised.

Expected numbers are written here from the pattern by hand (``HC-<year>-000001``: the lab's year now, six digits);
hashes are recomputed here from the stored files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography import x509
from lxml import etree
from sqlalchemy import select

from certificates.dcc_content import DccRefusedError
from certificates.issue import WorkflowError, amend_certificate, issue_certificate, revoke_certificate
from certificates.pki import PkiPaths, init_ca, issue_signer, revoke, serial_hex
from certificates.signer import FileKeySigner
from certificates.verify import Report, verify_bytes
from certificates.verify.schema import load_schema, safe_parser
from lab.base import REVIEWER, TECHNICIAN
from registry import audit
from registry.db import session_scope
from registry.models import Authorisation, Certificate, CertificateStatus, Laboratory, Run, Staff
from registry.queries import find_staff
from registry.settings import lab_today
from tests.acquisition.conftest import DemoRun, demo_run  # noqa: F401  (the fixture)
from tests.certificates.conftest import CA_PASS, SIGNER_PASS

NS = {"dcc": "https://ptb.de/dcc"}


@dataclass
class Setup:
    run: DemoRun
    run_id: str
    paths: PkiPaths
    store: Path
    ca: x509.Certificate
    serials: dict[str, str]

    def signer(self, username: str) -> FileKeySigner:
        return FileKeySigner.issued(self.serials[username], SIGNER_PASS, self.paths)


def year_now() -> int:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year


def _setup(run: DemoRun, tmp_path: Path) -> Setup:
    assert run.outcome.state == "completed", run.outcome.message
    run_id = run.outcome.run_id
    run.engine.review(run_id, REVIEWER)
    paths = PkiPaths(tmp_path / "pki")
    with session_scope(run.registry, "test") as s:
        s.scalars(select(Laboratory)).one().certificate_numbering = "HC-{year}-{seq:06d}"
        ca = init_ca(s, CA_PASS, paths=paths)
        cert = issue_signer(s, REVIEWER, CA_PASS, SIGNER_PASS, today=lab_today(), paths=paths)
    return Setup(run, run_id, paths, tmp_path / "store", ca, {REVIEWER: serial_hex(cert)})


@pytest.fixture
def setup(demo_run: Callable[..., DemoRun], tmp_path: Path) -> Setup:  # noqa: F811
    return _setup(demo_run("nawi-calibration-cg18"), tmp_path)


def _issue(st: Setup, signatory: str = REVIEWER) -> Certificate:
    with session_scope(st.run.registry, "test") as s:
        issued = issue_certificate(
            s,
            st.run_id,
            signatory=signatory,
            signer=st.signer(signatory),
            now=datetime.now(UTC),
            store=st.store,
            pki=st.paths,
        )
        return s.scalars(select(Certificate).where(Certificate.number == issued.number)).one()


def _verify(st: Setup, data: bytes, schemas: Path) -> Report:
    with session_scope(st.run.registry, "test") as s:
        return verify_bytes(data, "x.xml", [st.ca], schema_directory=schemas, registry=s, pki_dir=st.paths)


def outcomes(report: Report) -> dict[str, str]:
    return {step.name: step.outcome for step in report.steps}


def test_issue_verify_amend_revoke(setup: Setup, schemas: Path) -> None:
    st = setup
    year = year_now()
    first = _issue(st)
    assert first.number == f"HC-{year}-000001"
    assert first.status is CertificateStatus.ISSUED and first.kind.value == "calibration"
    stored = st.store / str(year) / f"HC-{year}-000001.xml"
    data = stored.read_bytes()
    assert first.xml_sha256 == hashlib.sha256(data).hexdigest()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o444  # read-only
    with session_scope(st.run.registry, "test") as s:
        signer = find_staff(s, REVIEWER)
        assert signer is not None and first.signer_id == signer.id

    # a second certificate for the same run is refused: amend instead
    with pytest.raises(WorkflowError, match=f"already has certificate HC-{year}-000001"):
        _issue(st)

    # verified against our registry: in force, the stored hash, the signatory authorised, the key not revoked
    report = _verify(st, data, schemas)
    got = outcomes(report)
    assert got["schema"] == "pass" and got["signature"] == "pass", report.as_json()
    assert got["registry-status"] == "pass" and got["stored-hash"] == "pass" and got["authorisation"] == "pass"
    assert got["revocation"] == "pass"
    # the same signed document with a byte more after the root: the signature still holds, the file is not ours
    other = _verify(st, data + b"\n", schemas)
    assert outcomes(other)["signature"] == "pass" and outcomes(other)["stored-hash"] == "fail"

    # amend: a new number, the original substituted, the new DCC valid and naming what it replaces
    with session_scope(st.run.registry, "test") as s:
        amended = amend_certificate(
            s,
            first.number,
            reason="sai địa chỉ khách hàng",
            signatory=REVIEWER,
            signer=st.signer(REVIEWER),
            now=datetime.now(UTC),
            store=st.store,
            pki=st.paths,
        )
    assert amended.number == f"HC-{year}-000002" and amended.replaces == first.number
    new_data = amended.xml_path.read_bytes()
    schema = load_schema(schemas, "3.3.0")
    assert schema.validate(etree.ElementTree(etree.fromstring(new_data, safe_parser()))), schema.error_log
    if importlib.util.find_spec("saxonche") is not None:  # PTB's Schematron rules too (as test_dcc_build)
        from tests.certificates.schematron import run_schematron

        fired = run_schematron(schemas / "schematron" / "dcc.sch", new_data)
        problems = [f for f in fired if f.role in ("error", "fatal", "warning") or not f.role]
        assert problems == [], "\n".join(f"{f.role} {f.kind} at {f.location}: {f.text}" for f in problems)
    root = etree.fromstring(new_data, safe_parser())
    core = root.find("dcc:administrativeData/dcc:coreData", NS)
    assert core is not None
    assert core.findtext("dcc:reportAmendedSubstituted/dcc:typeOfChange", namespaces=NS) == "substituted"
    assert core.findtext("dcc:reportAmendedSubstituted/dcc:replacedUniqueIdentifier", namespaces=NS) == first.number
    assert core.findtext("dcc:previousReport/dcc:value", namespaces=NS) == hashlib.sha256(data).hexdigest()
    assert "sai địa chỉ khách hàng" in etree.tostring(core, encoding="unicode")
    with session_scope(st.run.registry, "test") as s:
        old = s.scalars(select(Certificate).where(Certificate.number == first.number)).one()
        new = s.scalars(select(Certificate).where(Certificate.number == amended.number)).one()
        assert old.status is CertificateStatus.SUBSTITUTED and old.replaced_by_id == new.id
        assert old.status_reason == "sai địa chỉ khách hàng"
    report = _verify(st, data, schemas)
    status = report.step("registry-status")
    assert status is not None and status.outcome == "fail"
    assert f"substituted by HC-{year}-000002" in status.en and "sai địa chỉ khách hàng" in status.en
    assert not report.verified
    assert outcomes(_verify(st, new_data, schemas))["registry-status"] == "pass"

    # substituted is final
    with (
        pytest.raises(WorkflowError, match="is substituted"),
        session_scope(st.run.registry, "test") as s,
    ):
        amend_certificate(s, first.number, reason="again", signatory=REVIEWER, signer=st.signer(REVIEWER),
                          now=datetime.now(UTC), store=st.store, pki=st.paths)  # fmt: skip

    # the technician may not revoke (no signing authorisation); a signatory may, with a reason; revoked is final
    with pytest.raises(WorkflowError, match="may not revoke"), session_scope(st.run.registry, "test") as s:
        revoke_certificate(s, amended.number, reason="x", by=TECHNICIAN, now=datetime.now(UTC))
    with session_scope(st.run.registry, "test") as s:
        revoke_certificate(s, amended.number, reason="khách hàng trả lại", by=REVIEWER, now=datetime.now(UTC))
    status = _verify(st, new_data, schemas).step("registry-status")
    assert status is not None and status.outcome == "fail" and "revoked (reason: khách hàng trả lại)" in status.en
    with pytest.raises(WorkflowError, match="is revoked"), session_scope(st.run.registry, "test") as s:
        revoke_certificate(s, amended.number, reason="x", by=REVIEWER, now=datetime.now(UTC))

    # everything audited
    with session_scope(st.run.registry, "test") as s:
        issued = [e[0] for e in audit.events(s, "certificate", "certificate-issue")]
        assert issued == [first.number, amended.number]
        assert [e[0] for e in audit.events(s, "certificate", "certificate-amend")] == [first.number]
        revoked = audit.events(s, "certificate", "certificate-revoke")
        assert [(e[0], e[2]["reason"]) for e in revoked] == [(amended.number, "khách hàng trả lại")]
        assert audit.verify(s).ok

    # an authorisation that (as now recorded) began after the day of signing: the authorisation step fails
    with session_scope(st.run.registry, "test") as s:
        code = s.get(Run, st.run_id).procedure.code  # type: ignore[union-attr]
        reviewer = find_staff(s, REVIEWER)
        assert reviewer is not None
        auth = next(a for a in reviewer.authorisations if a.procedure_code == code)
        began, auth.valid_from = auth.valid_from, lab_today() + timedelta(1)
    step = _verify(st, new_data, schemas).step("authorisation")
    day = lab_today()  # the day of signing (a moment ago), in the lab's time zone
    assert step is not None and step.outcome == "fail"
    assert f"authorisation to sign {code} is valid {day + timedelta(1)}..open, not on {day}" in step.en
    with session_scope(st.run.registry, "test") as s:
        reviewer = find_staff(s, REVIEWER)
        assert reviewer is not None
        next(a for a in reviewer.authorisations if a.procedure_code == code).valid_from = began

    # the signatory's key revoked in our registry: the revocation step fails
    with session_scope(st.run.registry, "test") as s:
        revoke(s, st.serials[REVIEWER], "key_compromise", paths=st.paths)
    step = _verify(st, new_data, schemas).step("revocation")
    assert step is not None and step.outcome == "fail" and "key_compromise" in step.en


def test_technician_and_unauthorised_signatories_are_refused(setup: Setup) -> None:
    st = setup
    today = lab_today()
    with session_scope(st.run.registry, "test") as s:
        code = s.get(Run, st.run_id).procedure.code  # type: ignore[union-attr]
        tech = find_staff(s, TECHNICIAN)
        assert tech is not None
        next(a for a in tech.authorisations if a.procedure_code == code).can_sign = True
        other = Staff(username="other-signer", full_name="Người ký thủ tục khác")
        other.authorisations.append(
            Authorisation(procedure_code="oiml-r76-verification", can_sign=True, valid_from=today)
        )
        lapsing = Staff(username="lapsing", full_name="Người ký sắp hết hạn")
        lapsing.authorisations.append(Authorisation(procedure_code=code, can_sign=True, valid_from=today))
        s.add_all([other, lapsing])
    with session_scope(st.run.registry, "test") as s:
        for who in (TECHNICIAN, "other-signer", "lapsing"):
            st.serials[who] = serial_hex(issue_signer(s, who, CA_PASS, SIGNER_PASS, today=today, paths=st.paths))

    # the technician who performed the run, though authorised to sign, may not sign it
    with pytest.raises(DccRefusedError) as refused:
        _issue(st, TECHNICIAN)
    assert any("performed the run and may not sign it" in m.en for m in refused.value.missing)
    # authorised to sign another procedure only
    with pytest.raises(DccRefusedError) as refused:
        _issue(st, "other-signer")
    assert any(f"is not authorised to sign {code}" in m.en for m in refused.value.missing)
    # an authorisation that ended yesterday
    with session_scope(st.run.registry, "test") as s:
        staff = find_staff(s, "lapsing")
        assert staff is not None
        staff.authorisations[0].valid_from = today - timedelta(30)
        staff.authorisations[0].valid_until = today - timedelta(1)
    with pytest.raises(WorkflowError) as lapsed:
        _issue(st, "lapsing")
    assert "not authorised to sign any procedure" in lapsed.value.en
    assert f"authorisation to sign {code} is valid {today - timedelta(30)}..{today - timedelta(1)}, not on {today}" \
        in lapsed.value.en  # fmt: skip
    # a key that is not the signatory's own
    with pytest.raises(WorkflowError, match="is not demo-reviewer's current certificate"), \
            session_scope(st.run.registry, "test") as s:  # fmt: skip
        issue_certificate(s, st.run_id, signatory=REVIEWER, signer=st.signer("other-signer"),
                          now=datetime.now(UTC), store=st.store, pki=st.paths)  # fmt: skip

    # none of the refusals consumed a number or left a row or a file, even when the caller goes on in the same
    # transaction after one
    with session_scope(st.run.registry, "test") as s:
        with pytest.raises(DccRefusedError):
            issue_certificate(s, st.run_id, signatory=TECHNICIAN, signer=st.signer(TECHNICIAN),
                              now=datetime.now(UTC), store=st.store, pki=st.paths)  # fmt: skip
        first = issue_certificate(s, st.run_id, signatory=REVIEWER, signer=st.signer(REVIEWER),
                                  now=datetime.now(UTC), store=st.store, pki=st.paths)  # fmt: skip
    assert first.number == f"HC-{year_now()}-000001"
    with session_scope(st.run.registry, "test") as s:
        assert s.scalars(select(Certificate.number)).all() == [first.number]
    assert [p.name for p in (st.store / str(year_now())).iterdir()] == [f"HC-{year_now()}-000001.xml"]


class FakePdf:
    """A PdfMaker standing in for certificates.pdf/pades: embeds nothing, returns bytes naming the signed DCC."""

    def __init__(self) -> None:
        self.embedded: list[str] = []
        self.signed_urls: list[str] = []

    def embed(self, dcc: etree._Element, *, verify_url: str) -> None:
        self.embedded.append(verify_url)

    def signed_pdf(
        self,
        signed_dcc: bytes,
        *,
        verify_url: str,
        signer: object,
        signing_time: datetime,
        timestamp_url: str | None,
    ) -> bytes:
        self.signed_urls.append(verify_url)
        return b"%PDF-1.7 fake " + hashlib.sha256(signed_dcc).hexdigest().encode()


def test_a_stored_file_is_never_overwritten_and_a_pdf_is_stored_beside(setup: Setup) -> None:
    """A file left at the next number (an issue killed before its commit) is refused, not replaced; with a PDF
    maker the PDF is stored beside the XML with its own SHA-256."""
    st = setup
    year = year_now()
    leftover = st.store / str(year) / f"HC-{year}-000001.xml"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"<left-over/>")
    with pytest.raises(WorkflowError, match="exists already"):
        _issue(st)
    assert leftover.read_bytes() == b"<left-over/>"
    with session_scope(st.run.registry, "test") as s:
        assert s.scalars(select(Certificate)).all() == []

    leftover.unlink()
    maker = FakePdf()
    with session_scope(st.run.registry, "test") as s:
        issued = issue_certificate(s, st.run_id, signatory=REVIEWER, signer=st.signer(REVIEWER),
                                   now=datetime.now(UTC), store=st.store, pdf=maker, pki=st.paths)  # fmt: skip
    pdf = st.store / str(year) / f"HC-{year}-000001.pdf"
    xml = st.store / str(year) / f"HC-{year}-000001.xml"
    # the QR URLs (decision 0440): the PDF inside the DCC names the number only; the issued PDF adds the first 16
    # hex digits of the signed DCC's SHA-256 (CALTRACE_PUBLIC_URL unset: http://localhost:8000)
    base = f"http://localhost:8000/verify/HC-{year}-000001"
    assert maker.embedded == [base]
    assert maker.signed_urls == [f"{base}?h={hashlib.sha256(xml.read_bytes()).hexdigest()[:16]}"]
    assert pdf.read_bytes() == b"%PDF-1.7 fake " + hashlib.sha256(xml.read_bytes()).hexdigest().encode()
    with session_scope(st.run.registry, "test") as s:
        row = s.scalars(select(Certificate)).one()
        assert row.pdf_sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest() == issued.pdf_sha256


def test_verification_and_lot_check_series(demo_run: Callable[..., DemoRun], tmp_path: Path, schemas: Path) -> None:  # noqa: F811
    """A passed R76 verification is issued with its mark in the verification series and states its validity; an
    R87 lot check without a lot pattern takes the verification pattern and its next number, and with one its own
    series (migration 0012)."""
    year = year_now()
    r76 = _setup(demo_run("nawi-verification-r76"), tmp_path / "r76")
    with session_scope(r76.run.registry, "test") as s:
        s.scalars(select(Laboratory)).one().verification_numbering = "KĐ-{year}-{seq:06d}"
    with session_scope(r76.run.registry, "test") as s, pytest.raises(DccRefusedError, match="mark"):
        issue_certificate(s, r76.run_id, signatory=REVIEWER, signer=r76.signer(REVIEWER), now=datetime.now(UTC),
                          store=r76.store, pki=r76.paths)  # fmt: skip
    with session_scope(r76.run.registry, "test") as s:
        issued = issue_certificate(s, r76.run_id, signatory=REVIEWER, signer=r76.signer(REVIEWER),
                                   now=datetime.now(UTC), store=r76.store, pki=r76.paths, mark="TEM-7")  # fmt: skip
        row = s.scalars(select(Certificate).where(Certificate.number == issued.number)).one()
        assert issued.number == f"KĐ-{year}-000001" and issued.series == "verification"
        # the instrument's interval (demo: 12 months) from the run's last day, minus one day (decision 0425)
        run = s.get(Run, r76.run_id)
        assert run is not None and run.instrument is not None and run.finished_at is not None
        last_day = run.finished_at.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()
        months = run.instrument.interval_months
        assert months == 12
        assert row.valid_until == last_day.replace(year=last_day.year + 1) - timedelta(days=1)
    root = etree.fromstring(issued.xml_path.read_bytes())
    marks = root.xpath(
        "//*[local-name()='identification'][@refType='caltrace_verificationMark']/*[local-name()='value']/text()"
    )
    assert marks == ["TEM-7"]

    lot = _setup(demo_run("prepackage-r87"), tmp_path / "r87")
    with session_scope(lot.run.registry, "test") as s:
        s.scalars(select(Laboratory)).one().verification_numbering = "KĐ-{year}-{seq:06d}"
    with session_scope(lot.run.registry, "test") as s:
        first = issue_certificate(s, lot.run_id, signatory=REVIEWER, signer=lot.signer(REVIEWER),
                                  now=datetime.now(UTC), store=lot.store, pki=lot.paths)  # fmt: skip
    assert first.series == "lot" and first.number == f"KĐ-{year}-000001"
    with session_scope(lot.run.registry, "test") as s:
        s.scalars(select(Laboratory)).one().lot_numbering = "ĐGS-{year}-{seq:04d}"
    with session_scope(lot.run.registry, "test") as s:
        second = amend_certificate(s, first.number, reason="lot pattern set", signatory=REVIEWER,
                                   signer=lot.signer(REVIEWER), now=datetime.now(UTC), store=lot.store,
                                   pki=lot.paths)  # fmt: skip
    assert second.number == f"ĐGS-{year}-0001"
    assert _verify(lot, second.xml_path.read_bytes(), schemas).verified
