"""The certificate workflow API (issue 18.1) on a cg-18 demo run and a lab PKI made as the certificate tests make
them: the completeness report before and after review, issue by the signatory (never the technician), the stored
files downloaded and verified against the lab CA, amend, revoke, a changed stored file refused, a wrong passphrase
answered without echoing it, and CSRF on cookie-authenticated writes. SQLite only: the demo run's registry is a
SQLite file (``tests/acquisition/conftest.py``).

Expected numbers are written from the pattern by hand (``HC-<year>-000001``: the lab's year now, six digits); hashes
are recomputed here from the stored files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography import x509
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from api.web.accounts import add_account
from api.web.app import create_app
from api.web.settings import ServiceSettings
from certificates.pki import PkiPaths, init_ca, issue_signer
from certificates.verify import verify_bytes
from lab.base import REVIEWER, TECHNICIAN
from registry.db import read_session, session_scope
from registry.models import AuditEntry, Certificate, Laboratory, Run
from registry.queries import find_staff
from registry.settings import Settings, lab_today
from tests.acquisition.conftest import DemoRun, demo_run  # noqa: F401  (the fixture)
from tests.certificates.conftest import CA_PASS, SIGNER_PASS, shared_dir
from tests.web.conftest import BASE_URL, PASSWORD, Api

#: a second signatory key's passphrase (the run's technician, given a signing authorisation for the test)
TECH_PASS = "technician key passphrase 7"
WRONG_PASS = "not-the-passphrase-Zq81"
#: username -> (roles, member of staff); ``techsig`` is a signatory login acting as the run's technician
LOGINS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "tech": (("technician",), TECHNICIAN),
    "rev": (("reviewer",), REVIEWER),
    "sig": (("signatory",), REVIEWER),
    "techsig": (("signatory",), TECHNICIAN),
    "aud": (("auditor",), None),
}
EN = {"Accept-Language": "en"}


@dataclass
class Lab:
    run: DemoRun
    run_id: str
    data_dir: Path
    paths: PkiPaths
    ca: x509.Certificate
    client_factory: Callable[[], TestClient]

    def client(self) -> TestClient:
        return self.client_factory()

    def bearer(self, username: str) -> dict[str, str]:
        response = self.client().post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def review(self) -> None:
        self.run.engine.review(self.run_id, REVIEWER)


@pytest.fixture
def lab(demo_run: Callable[..., DemoRun], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:  # noqa: F811
    run = demo_run("nawi-calibration-cg18")
    assert run.outcome.state == "completed", run.outcome.message
    run_id = run.outcome.run_id
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("CALTRACE_DATA_DIR", str(data_dir))  # what the library reads (time zone, public URL)
    monkeypatch.delenv("CALTRACE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALTRACE_TSA_URL", raising=False)  # no network
    paths = PkiPaths(data_dir / "pki")
    today = lab_today()
    with session_scope(run.registry, "test") as s:
        s.scalars(select(Laboratory)).one().certificate_numbering = "HC-{year}-{seq:06d}"
        run_row = s.get(Run, run_id)
        assert run_row is not None
        technician = find_staff(s, TECHNICIAN)
        assert technician is not None  # may sign the procedure, so only "performed the run" refuses them
        auth = next(a for a in technician.authorisations if a.procedure_code == run_row.procedure.code)
        auth.can_sign = True
        s.flush()
        ca = init_ca(s, CA_PASS, paths=paths)
        issue_signer(s, REVIEWER, CA_PASS, SIGNER_PASS, today=today, paths=paths)
        issue_signer(s, TECHNICIAN, CA_PASS, TECH_PASS, today=today, paths=paths)
        for username, (roles, staff) in LOGINS.items():
            add_account(s, username, PASSWORD, roles, staff)
    settings = ServiceSettings(secret_key=SecretStr("k" * 48))
    registry = Settings(data_dir=data_dir, database_url=run.registry.url.render_as_string(hide_password=False))
    app = create_app(settings, registry=registry, engine=run.registry)
    return Lab(
        run,
        run_id,
        data_dir,
        paths,
        ca,
        lambda: TestClient(app, base_url=BASE_URL, raise_server_exceptions=False),
    )


def _year() -> int:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year


def _problem(response, status: int, kind: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"urn:caltrace:problem:{kind}", body
    return body  # type: ignore[no-any-return]


def test_draft_issue_download_amend_revoke(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    client = lab.client()
    rev, sig, aud = lab.bearer("rev"), lab.bearer("sig"), lab.bearer("aud")
    draft = f"/api/v1/runs/{lab.run_id}/certificate-draft"

    # before review: the report lists why (in Vietnamese by default, English on request); nothing is written
    report = client.get(draft, headers=rev)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["can_issue"] is False and body["standard"] == "ISO/IEC 17025:2017"
    assert body["certificate_kind"] == "calibration"
    assert body["signatory"] is None  # a reviewer's login checks the run's reviewer, and there is none yet
    assert "7.8.2.1 o" in [m["clause"] for m in body["missing"]]
    review = [m for m in body["missing"] if m["clause"] == "review"]
    assert len(review) == 1 and "chưa được soát xét" in review[0]["text"] and review[0]["unverified"] is False
    assert "not reviewed" in client.get(draft, headers={**rev, **EN}).json()["missing"][0]["text"]
    assert client.get(draft, headers=lab.bearer("tech")).status_code == 403  # a technician's role may not ask

    early = client.post(f"/api/v1/runs/{lab.run_id}/certificate", json={"passphrase": SIGNER_PASS}, headers=sig)
    detail = _problem(early, 409, "incomplete")["detail"]  # every missing item, one a line, in Vietnamese
    assert "chưa được soát xét" in detail and detail.count("\n- [") >= 1

    lab.review()
    ok = client.get(draft, headers=sig).json()
    assert (ok["can_issue"], ok["missing"], ok["signatory"]) == (True, [], REVIEWER)
    # the run's technician as the signatory: refused with the clause (7.8.2.1 o), both languages carried
    them = client.get(draft, params={"signatory": TECHNICIAN}, headers={**rev, **EN}).json()
    assert them["can_issue"] is False
    assert [(m["clause"], m["en"]) for m in them["missing"]] == [
        ("7.8.2.1 o", f"{TECHNICIAN} performed the run and may not sign it")
    ]
    assert client.get(f"/api/v1/runs/{'f' * 32}/certificate-draft", headers=rev).status_code == 404

    # issued by the signatory login (its member of staff signs): 201, Location, the registry's record
    year = _year()
    first, second = f"HC-{year}-000001", f"HC-{year}-000002"
    issued = client.post(f"/api/v1/runs/{lab.run_id[:8]}/certificate", json={"passphrase": SIGNER_PASS}, headers=sig)
    assert issued.status_code == 201, issued.text
    assert issued.headers["location"] == f"/api/v1/certificates/{first}"
    cert = issued.json()
    assert (cert["number"], cert["status"], cert["kind"], cert["signer"]) == (first, "issued", "calibration", REVIEWER)
    assert cert["run_id"] == lab.run_id and cert["subject"]["type"] == "instrument"
    assert cert["replaced_by"] is None and cert["replaces"] == [] and cert["reason"] == ""

    stored = lab.data_dir / "certificates" / str(year) / f"{first}.xml"
    pdf_path = stored.with_suffix(".pdf")
    assert cert["xml_sha256"] == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert cert["pdf_sha256"] == hashlib.sha256(pdf_path.read_bytes()).hexdigest()
    with read_session(lab.run.registry) as s:  # audited as the login that issued
        actors = s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "certificate-issue")).all()
        assert actors == ["sig"]

    # the files as stored, with their media types and names; verified against the lab CA
    xml = client.get(f"/api/v1/certificates/{first}/xml", headers=aud)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert f'filename="{first}.xml"' in xml.headers["content-disposition"]
    assert hashlib.sha256(xml.content).hexdigest() == cert["xml_sha256"]
    pdf = client.get(f"/api/v1/certificates/{first}/pdf", headers=aud)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert f'filename="{first}.pdf"' in pdf.headers["content-disposition"]
    assert hashlib.sha256(pdf.content).hexdigest() == cert["pdf_sha256"]
    shared = shared_dir()
    schemas = shared / "schemas" / "dcc" if shared is not None else None
    for data, name in ((xml.content, "x.xml"), (pdf.content, "x.pdf")):
        with read_session(lab.run.registry) as s:
            checked = verify_bytes(data, name, [lab.ca], schema_directory=schemas, registry=s, pki_dir=lab.paths)
        assert not checked.failed, checked.as_json()
        if schemas is not None:  # the schema step runs only with the shared schemas; then every step passes
            assert checked.verified, checked.as_json()

    # a second issue of the run is refused (409, in English on request), and the report says why
    again = client.post(
        f"/api/v1/runs/{lab.run_id}/certificate", json={"passphrase": SIGNER_PASS}, headers={**sig, **EN}
    )
    assert f"already has certificate {first} in force" in _problem(again, 409, "refused")["detail"]
    assert [m["clause"] for m in client.get(draft, headers=sig).json()["missing"]] == ["issued"]

    listed = client.get("/api/v1/certificates", headers=aud).json()
    assert [(c["number"], c["status"]) for c in listed] == [(first, "issued")]
    assert client.get("/api/v1/certificates", params={"status": "revoked"}, headers=aud).json() == []
    assert client.get("/api/v1/certificates", params={"status": "lost"}, headers=aud).status_code == 422
    assert client.get(f"/api/v1/certificates/{first}", headers=aud).json() == cert
    public = lab.client().get(f"/api/v1/certificates/{first}/verification")  # the public route, not this router's
    assert public.status_code == 200 and public.json()["status"] == "valid", public.text
    _problem(client.get("/api/v1/certificates/HC-1900-000009", headers=aud), 404, "not-found")
    _problem(client.get("/api/v1/certificates/HC-1900-000009/pdf", headers=aud), 404, "not-found")
    for path in ("/api/v1/certificates/1900/HC-9", "/api/v1/certificates/1900/HC-9/xml"):  # a number with a "/"
        assert "'1900/HC-9'" in _problem(client.get(path, headers=aud), 404, "not-found")["detail"]

    # amend: a new number, the original substituted with the reason
    amended = client.post(
        f"/api/v1/certificates/{first}/amend",
        json={"passphrase": SIGNER_PASS, "reason": "sai số sản xuất"},
        headers=sig,
    )
    assert amended.status_code == 201, amended.text
    assert amended.headers["location"] == f"/api/v1/certificates/{second}"
    new = amended.json()
    assert (new["number"], new["status"], new["replaces"]) == (second, "issued", [first])
    old = client.get(f"/api/v1/certificates/{first}", headers=aud).json()
    assert (old["status"], old["replaced_by"], old["reason"]) == ("substituted", second, "sai số sản xuất")
    refused = client.post(
        f"/api/v1/certificates/{first}/amend", json={"passphrase": SIGNER_PASS, "reason": "x"}, headers=sig
    )
    assert f"{first} đang ở trạng thái substituted → {second}" in _problem(refused, 409, "refused")["detail"]

    # revoke: the reason is required; then revoked with it; revoked is final
    no_reason = client.post(f"/api/v1/certificates/{second}/revoke", json={}, headers=sig)
    assert [e["pointer"] for e in _problem(no_reason, 422, "validation")["errors"]] == ["#/reason"]
    _problem(client.post(f"/api/v1/certificates/{second}/revoke", json={"reason": "x"}, headers=rev), 403, "forbidden")
    revoked = client.post(f"/api/v1/certificates/{second}/revoke", json={"reason": "khách hàng hủy"}, headers=sig)
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["status"], revoked.json()["reason"]) == ("revoked", "khách hàng hủy")
    final = client.post(f"/api/v1/certificates/{second}/revoke", json={"reason": "x"}, headers={**sig, **EN})
    assert "is revoked" in _problem(final, 409, "refused")["detail"]
    by_status = client.get("/api/v1/certificates", params={"status": "substituted"}, headers=aud).json()
    assert [c["number"] for c in by_status] == [first]

    # a stored file that changed is not sent: a 500-class problem, logged, no byte of the file in the answer
    changed = lab.data_dir / "certificates" / str(year) / f"{second}.xml"
    os.chmod(changed, 0o644)
    tampered = changed.read_bytes().replace(b"</dcc:digitalCalibrationCertificate>", b"<!-- x -->\n</dcc:digi"
                                            b"talCalibrationCertificate>")  # fmt: skip
    changed.write_bytes(tampered)
    with caplog.at_level(logging.ERROR, logger="api.web.routers.certificates"):
        answer = client.get(f"/api/v1/certificates/{second}/xml", headers=aud)
    problem = _problem(answer, 500, "stored-file-changed")
    assert "<dcc:" not in answer.text and "SHA-256" in problem["detail"]
    assert any("changed" in r.getMessage() and second in r.getMessage() for r in caplog.records)
    changed.with_suffix(".pdf").unlink()  # a stored file gone: 500-class too
    _problem(client.get(f"/api/v1/certificates/{second}/pdf", headers=aud), 500, "stored-file-missing")


def test_refusals_wrong_passphrase_and_csrf(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    lab.review()
    client = lab.client()
    issue = f"/api/v1/runs/{lab.run_id}/certificate"

    # a technician's role may not issue; nor may a signatory login acting as the run's technician (403, why)
    _problem(client.post(issue, json={"passphrase": SIGNER_PASS}, headers=lab.bearer("tech")), 403, "forbidden")
    own = client.post(issue, json={"passphrase": TECH_PASS}, headers={**lab.bearer("techsig"), **EN})
    assert "performed the run and may not sign it" in _problem(own, 403, "not-authorised")["detail"]
    own_vi = client.post(issue, json={"passphrase": TECH_PASS}, headers=lab.bearer("techsig"))
    assert "không được tự ký" in _problem(own_vi, 403, "not-authorised")["detail"]
    # nobody else can be named as the signatory: the body has no such field
    sig = lab.bearer("sig")
    named = client.post(issue, json={"passphrase": SIGNER_PASS, "signatory": TECHNICIAN}, headers=sig)
    assert [e["pointer"] for e in _problem(named, 422, "validation")["errors"]] == ["#/signatory"]
    _problem(
        client.post(f"/api/v1/runs/{'0' * 32}/certificate", json={"passphrase": "x"}, headers=sig), 404, "not-found"
    )
    short = client.post(f"/api/v1/runs/{lab.run_id[:2]}/certificate", json={"passphrase": "x"}, headers=sig)
    _problem(short, 404, "not-found")  # a prefix of 2 characters names no run (4 at least, as the CLI)
    no_tsa = client.post(issue, json={"passphrase": SIGNER_PASS, "timestamp": True}, headers=sig)
    assert _problem(no_tsa, 422, "validation")["errors"][0]["pointer"] == "#/timestamp"

    # a wrong passphrase: 422 naming the field, never the passphrase, in the answer, the log or the audit log
    with caplog.at_level(logging.DEBUG):
        wrong = client.post(issue, json={"passphrase": WRONG_PASS}, headers=sig)
        body = _problem(wrong, 422, "key-refused")
        assert body["errors"][0]["pointer"] == "#/passphrase"
        assert WRONG_PASS not in wrong.text and str(lab.data_dir) not in wrong.text  # nor the key file's path
        too_long = client.post(issue, json={"passphrase": WRONG_PASS * 100}, headers=sig)
        assert _problem(too_long, 422, "validation") and WRONG_PASS not in too_long.text
        done = client.post(issue, json={"passphrase": SIGNER_PASS}, headers=sig)
        assert done.status_code == 201, done.text
    assert done.json()["number"] == f"HC-{_year()}-000001"  # the refusals used no number
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_info!r}" for r in caplog.records)
    assert any("wrong passphrase" in r.getMessage() for r in caplog.records)
    assert WRONG_PASS not in logged and SIGNER_PASS not in logged
    with read_session(lab.run.registry) as s:
        audited = json.dumps([e.payload for e in s.scalars(select(AuditEntry))], ensure_ascii=False)
        assert WRONG_PASS not in audited and SIGNER_PASS not in audited
        assert s.scalars(select(Certificate.number)).all() == [done.json()["number"]]

    # cookie sessions: a change without the CSRF token is refused; with it, done
    browser = lab.client()
    login = browser.post("/api/v1/auth/login", json={"username": "sig", "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = {"X-CSRF-Token": login.json()["csrf_token"]}
    number = done.json()["number"]
    revoke = f"/api/v1/certificates/{number}/revoke"
    _problem(browser.post(revoke, json={"reason": "thử"}), 403, "csrf")
    amend = f"/api/v1/certificates/{number}/amend"
    _problem(browser.post(amend, json={"reason": "thử", "passphrase": SIGNER_PASS}), 403, "csrf")
    assert browser.get(f"/api/v1/certificates/{number}").json()["status"] == "issued"  # nothing changed
    amended = browser.post(amend, json={"reason": "sửa tên", "passphrase": SIGNER_PASS}, headers=token)
    assert amended.status_code == 201, amended.text
    replacement = amended.json()["number"]
    _problem(browser.post(f"/api/v1/certificates/{replacement}/revoke", json={"reason": "thử"}), 403, "csrf")
    revoked = browser.post(f"/api/v1/certificates/{replacement}/revoke", json={"reason": "thử"}, headers=token)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    # a cookie-authenticated issue without the token is refused before anything is checked
    _problem(browser.post(issue, json={"passphrase": SIGNER_PASS}), 403, "csrf")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "vi"),  # the CLI's default
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
        ("fr, en;q=0.5", "en"),
        ("en;q=0.2, vi;q=0.8", "vi"),
        ("en;q=0", "vi"),  # q=0: not acceptable (RFC 9110 12.4.2)
        ("de", "vi"),
    ],
)
def test_the_workflow_language_follows_accept_language(header: str | None, language: str) -> None:
    from starlette.requests import Request

    from api.web.routers.certificates import request_language

    headers = [(b"accept-language", header.encode())] if header is not None else []
    assert request_language(Request({"type": "http", "headers": headers})) == language


def test_reads_and_refusals_on_each_database(api: Api) -> None:
    """The queries of the routes on SQLite and PostgreSQL (the demo lab, no run): an empty listing filtered by
    status, unknown numbers and runs, roles."""
    client = api.client()
    aud, sig, tech = api.bearer("aud"), api.bearer("sig"), api.bearer("tech")
    assert client.get("/api/v1/certificates", params={"status": "issued", "limit": 5}, headers=aud).json() == []
    assert client.get("/api/v1/certificates").status_code == 401
    _problem(client.get("/api/v1/certificates/KĐ-2026-000001", headers=aud), 404, "not-found")
    _problem(client.get("/api/v1/certificates/KĐ-2026-000001/verification"), 404, "not-found")  # public: no 401
    _problem(client.get("/api/v1/runs/abcd1234/certificate-draft", headers=sig), 404, "not-found")
    _problem(client.get("/api/v1/runs/abcd1234/certificate-draft", headers=tech), 403, "forbidden")
    missing = client.post("/api/v1/runs/abcd1234/certificate", json={"passphrase": WRONG_PASS}, headers=sig)
    assert WRONG_PASS not in _problem(missing, 404, "not-found")["detail"]
    revoke = client.post("/api/v1/certificates/HC-2026-000001/revoke", json={"reason": "x"}, headers=sig)
    _problem(revoke, 404, "not-found")
