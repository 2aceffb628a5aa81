"""Public verification (issue 18.2, decision 0510): the status API, the upload check, the page a certificate's QR
code opens, and the rate limit, on real signed certificates.

The certificates are made once for the module by the demo flow (``lab.showcase.certify``: a cg-18 calibration and
an R76 verification, signed by the demo reviewer with a key of a fresh lab CA, stored with their SHA-256 in a fresh
SQLite registry); then the calibration certificate is amended (the original becomes substituted by the new number)
and the verification certificate revoked. Expected hashes are recomputed here from the files.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from api.web.app import create_app
from api.web.ratelimit import TokenBucketLimiter
from api.web.settings import ServiceSettings
from registry.db import make_engine
from registry.settings import Settings
from tests.certificates.conftest import shared_dir
from tests.web.conftest import BASE_URL, Clock

AMEND_REASON = "sai địa chỉ khách hàng"
REVOKE_REASON = "cân bị hỏng sau khi kiểm định"
#: the keys the status answer documents, and no other
STATUS_KEYS = {
    "number", "status", "reason", "replaced_by", "kind", "issued_on", "xml_sha256", "pdf_sha256", "signer",
    "customer", "subject", "hash_given", "hash_matches",
}  # fmt: skip
SUBJECT_KEYS = {"type", "name", "manufacturer", "model", "serial_number", "brand", "lot_number", "nominal_quantity"}


@dataclass
class Issued:
    """The module's registry and certificates: ``valid`` (the amended calibration, in force), ``substituted`` (the
    original it replaced), ``revoked`` (the verification certificate); ``files[number]`` = (xml, pdf) bytes."""

    data: Path
    engine: Engine
    valid: str
    substituted: str
    revoked: str
    files: dict[str, tuple[bytes, bytes]]
    run_ids: list[str]
    schemas: bool


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    from certificates.issue import amend_certificate, revoke_certificate
    from certificates.pades import PdfA3
    from certificates.pki import PkiPaths
    from lab.base import REVIEWER
    from lab.showcase import DEMO_PASSPHRASE, certify, signatory_key
    from registry.db import session_scope
    from registry.settings import lab_today

    out = tmp_path_factory.mktemp("verification") / "certificates"
    shared = shared_dir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALTRACE_DATA_DIR", str(out / "data"))
        mp.delenv("CALTRACE_DATABASE_URL", raising=False)
        if shared is not None:
            mp.setenv("CALTRACE_SCHEMA_DIR", str(shared / "schemas" / "dcc"))
        else:
            mp.delenv("CALTRACE_SCHEMA_DIR", raising=False)
        show = certify(out)
        [calibration] = [c for c in show.certificates if c.kind == "calibration"]
        [verification] = [c for c in show.certificates if c.kind == "verification"]
        data = show.data_dir
        engine = make_engine(f"sqlite:///{data / 'caltrace.db'}")
        paths = PkiPaths(data / "pki")
        now = datetime.now(UTC)
        key = signatory_key(engine, paths, DEMO_PASSPHRASE, lab_today(), now)
        with session_scope(engine, REVIEWER) as s:
            amended = amend_certificate(
                s,
                calibration.number,
                reason=AMEND_REASON,
                signatory=REVIEWER,
                signer=key,
                now=now,
                store=data / "certificates",
                pdf=PdfA3(),
                pki=paths,
            )
        with session_scope(engine, REVIEWER) as s:
            revoke_certificate(s, verification.number, reason=REVOKE_REASON, by=REVIEWER, now=now)
        files = {}
        for cert in (calibration, verification, amended):
            assert cert.pdf_path is not None
            files[cert.number] = (cert.xml_path.read_bytes(), cert.pdf_path.read_bytes())
        yield Issued(
            data,
            engine,
            amended.number,
            calibration.number,
            verification.number,
            files,
            [calibration.run_id, verification.run_id],
            shared is not None,
        )
        engine.dispose()


def _app(issued: Issued, clock: Clock, per_minute: int) -> FastAPI:
    settings = ServiceSettings(secret_key=SecretStr("k" * 48), public_rate_per_minute=per_minute)
    registry = Settings(data_dir=issued.data, database_url=f"sqlite:///{issued.data / 'caltrace.db'}")
    return create_app(settings, registry=registry, engine=issued.engine, clock=clock)


@pytest.fixture(scope="module")
def client(issued: Issued) -> Iterator[TestClient]:
    """A client of the service on the module's registry (a generous rate limit), its clock now."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALTRACE_DATA_DIR", str(issued.data))
        if issued.schemas:
            shared = shared_dir()
            assert shared is not None
            mp.setenv("CALTRACE_SCHEMA_DIR", str(shared / "schemas" / "dcc"))
        app = _app(issued, Clock(datetime.now(UTC)), 10_000)
        yield TestClient(app, base_url=BASE_URL, raise_server_exceptions=False)


def status_url(number: str, h: str | None = None) -> str:
    return f"/api/v1/certificates/{quote(number, safe='')}/verification" + (f"?h={h}" if h else "")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- GET /api/v1/certificates/{number}/verification ----------------------------------------------------------------


def test_a_valid_certificate_states_itself_and_nothing_more(client: TestClient, issued: Issued) -> None:
    xml, pdf = issued.files[issued.valid]
    response = client.get(status_url(issued.valid))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == STATUS_KEYS and set(body["subject"]) == SUBJECT_KEYS
    assert body["number"] == issued.valid and body["status"] == "valid" and body["reason"] == ""
    assert body["replaced_by"] is None and body["kind"] == "calibration"
    assert body["xml_sha256"] == sha(xml) and body["pdf_sha256"] == sha(pdf)
    # what the certificate itself states (the DCC's text), not the registry's ids
    text = xml.decode("utf-8")
    assert f"<dcc:issueDate>{body['issued_on']}</dcc:issueDate>" in text
    for value in (body["signer"], body["customer"], body["subject"]["name"], body["subject"]["manufacturer"]):
        assert value and f">{value}<" in text
    assert body["subject"]["type"] == "instrument"
    assert f"<dcc:model>{body['subject']['model']}</dcc:model>" in text
    assert f"<dcc:value>{body['subject']['serial_number']}</dcc:value>" in text
    assert body["signer"] == "Người soát xét Demo"  # the demo reviewer signs, the technician does not
    assert body["hash_given"] is None and body["hash_matches"] is None
    for run_id in issued.run_ids:  # run data stays internal
        assert run_id not in response.text


def test_substituted_names_the_replacing_number_and_the_reason(client: TestClient, issued: Issued) -> None:
    body = client.get(status_url(issued.substituted)).json()
    assert body["status"] == "substituted"
    assert body["replaced_by"] == issued.valid and body["reason"] == AMEND_REASON
    assert body["xml_sha256"] == sha(issued.files[issued.substituted][0])


def test_revoked_gives_the_reason(client: TestClient, issued: Issued) -> None:
    body = client.get(status_url(issued.revoked)).json()
    assert body["status"] == "revoked" and body["reason"] == REVOKE_REASON and body["replaced_by"] is None
    assert body["kind"] == "verification"


def test_the_link_hash_prefix_is_checked(client: TestClient, issued: Issued) -> None:
    digest = sha(issued.files[issued.valid][0])
    good = client.get(status_url(issued.valid, digest[:16].upper())).json()
    assert good["hash_matches"] is True and good["hash_given"] == digest[:16]
    wrong = digest[:15] + ("0" if digest[15] != "0" else "1")
    bad = client.get(status_url(issued.valid, wrong)).json()
    assert bad["hash_matches"] is False
    # the substituted certificate's own hash is not the replacement's
    other = client.get(status_url(issued.valid, sha(issued.files[issued.substituted][0])[:16])).json()
    assert other["hash_matches"] is False
    refused = client.get(status_url(issued.valid, "xyz"))
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"


def test_an_unknown_number_is_a_404_problem(client: TestClient) -> None:
    response = client.get(status_url("2026/NOPE-1"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:caltrace:problem:not-found"


def test_the_public_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert paths["/api/v1/certificates/{number}/verification"]["get"]["operationId"] == "verification_get"
    assert paths["/api/v1/verify"]["post"]["operationId"] == "verification_verify_file"
    assert not any(p.startswith("/verify") for p in paths)  # the pages are not API operations


# --- POST /api/v1/verify --------------------------------------------------------------------------------------------


def _upload(client: TestClient, name: str, data: bytes, media: str, path: str = "/api/v1/verify") -> dict[str, object]:
    response = client.post(path, files={"file": (name, data, media)})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _outcomes(report: dict[str, object]) -> dict[str, str]:
    steps = report["steps"]
    assert isinstance(steps, list)
    return {s["step"]: s["outcome"] for s in steps}


def test_the_genuine_xml_and_pdf_verify(client: TestClient, issued: Issued) -> None:
    xml, pdf = issued.files[issued.valid]
    for name, data, media in (("c.xml", xml, "application/xml"), ("c.pdf", pdf, "application/pdf")):
        report = _upload(client, name, data, media)
        got = _outcomes(report)
        assert "fail" not in got.values(), report
        prefix = "dcc/" if name.endswith(".pdf") else ""
        for step in ("signature", "chain", "registry-status", "stored-hash", "authorisation"):
            assert got[prefix + step] == "pass", (step, report)
        if issued.schemas:
            assert report["verdict"] == "verified", report
        steps = report["steps"]
        assert isinstance(steps, list)
        assert all(s["title_vi"] and s["title_en"] and s["detail_vi"] and s["detail_en"] for s in steps)


def test_the_substituted_file_fails_the_registry_status(client: TestClient, issued: Issued) -> None:
    report = _upload(client, "old.xml", issued.files[issued.substituted][0], "text/xml")
    step = next(s for s in report["steps"] if s["step"] == "registry-status")  # type: ignore[attr-defined]
    assert step["outcome"] == "fail" and issued.valid in step["detail_en"]
    assert report["verdict"] == "failed"


def test_one_digit_changed_fails_the_signature(client: TestClient, issued: Issued) -> None:
    xml = issued.files[issued.valid][0].decode("utf-8")
    match = re.search(r"<dcc:issueDate>\d{4}-\d{2}-\d(\d)</dcc:issueDate>", xml)
    assert match is not None
    digit = match.group(1)
    tampered = xml[: match.start(1)] + ("1" if digit != "1" else "2") + xml[match.end(1) :]
    report = _upload(client, "c.xml", tampered.encode("utf-8"), "application/xml")
    got = _outcomes(report)
    assert report["verdict"] == "failed"
    assert got["signature"] == "fail" and got["stored-hash"] == "fail"
    step = next(s for s in report["steps"] if s["step"] == "signature")  # type: ignore[attr-defined]
    assert "digest does not match" in step["detail_en"]


@pytest.mark.parametrize(
    ("name", "data", "media", "status"),
    [
        ("notes.txt", b"hello", "text/plain", 415),
        ("c.xml", b"%PDF-1.7 not xml", "application/xml", 415),
        ("c.pdf", b"<dcc/>", "application/pdf", 415),
        ("c.xml", b"<a>", "application/json", 415),
        ("c.xml", b"", "application/xml", 422),
    ],
)
def test_a_bad_upload_is_a_problem(client: TestClient, name: str, data: bytes, media: str, status: int) -> None:
    response = client.post("/api/v1/verify", files={"file": (name, data, media)})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in response.text


def test_malformed_xml_is_reported_not_crashed(client: TestClient) -> None:
    report = _upload(client, "c.xml", b"<dcc:x>", "application/xml")
    assert _outcomes(report) == {"well-formed": "fail"} and report["verdict"] == "failed"


# --- the page /verify/{number} --------------------------------------------------------------------------------------


def page(client: TestClient, number: str, query: str = "") -> str:
    response = client.get(f"/verify/{quote(number, safe='')}{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Content-Security-Policy" in response.headers and response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"  # a revocation shows at once, not after a cache expires
    assert "<script" not in response.text
    return response.text


def test_the_page_in_vietnamese_shows_the_state(client: TestClient, issued: Issued) -> None:
    digest = sha(issued.files[issued.valid][0])
    html = page(client, issued.valid, f"?h={digest[:16]}")
    assert '<html lang="vi">' in html and "state-valid" in html and "hợp lệ" in html
    assert "khớp với tệp XML đã ban hành" in html and "KHÔNG khớp" not in html
    assert digest in html and "Người soát xét Demo" in html
    substituted = page(client, issued.substituted)
    assert "state-substituted" in substituted and "đã bị thay thế bởi" in substituted
    assert issued.valid in substituted and AMEND_REASON in substituted
    revoked = page(client, issued.revoked)
    assert "state-revoked" in revoked and "đã thu hồi" in revoked and REVOKE_REASON in revoked


def test_the_page_warns_when_the_link_hash_does_not_match(client: TestClient, issued: Issued) -> None:
    wrong = sha(issued.files[issued.substituted][0])[:16]
    html = page(client, issued.valid, f"?h={wrong}")
    assert "Mã băm trong đường dẫn KHÔNG khớp" in html
    english = page(client, issued.valid, f"?h={wrong}&lang=en")
    assert '<html lang="en">' in english and "does NOT match" in english and "Valid: issued and in force" in english
    assert "Mã băm" not in english
    garbage = page(client, issued.valid, "?h=not-a-hash")  # a mangled link is a mismatch, not an error
    assert "KHÔNG khớp" in garbage


def test_the_page_of_an_unknown_number_says_so(client: TestClient) -> None:
    response = client.get("/verify/NOPE-1?lang=en")
    assert response.status_code == 404 and "Certificate not found" in response.text
    hostile = client.get("/verify/" + quote("<script>alert(1)</script>", safe="") + '?h="><b>')
    assert hostile.status_code == 404 and "<script>alert" not in hostile.text and '"><b>' not in hostile.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile.text


def test_the_page_form_checks_a_file(client: TestClient, issued: Issued) -> None:
    html = page(client, issued.valid)
    assert 'action="/verify"' in html and 'enctype="multipart/form-data"' in html
    response = client.post(
        "/verify", files={"file": ("c.pdf", issued.files[issued.valid][1], "application/pdf")}, data={"lang": "vi"}
    )
    assert response.status_code == 200 and '<html lang="vi">' in response.text
    if issued.schemas:
        assert "Đã xác minh" in response.text
    bad = client.post("/verify", files={"file": ("x.txt", b"hi", "text/plain")}, data={"lang": "en"})
    assert bad.status_code == 415 and "The file cannot be checked" in bad.text


def test_the_stylesheet_is_served_from_the_package(client: TestClient) -> None:
    response = client.get("/static/caltrace.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    assert ".state-valid" in response.text


# --- rate limit -----------------------------------------------------------------------------------------------------


def test_the_public_routes_are_rate_limited_per_client(issued: Issued) -> None:
    clock = Clock(datetime.now(UTC))
    limited = TestClient(_app(issued, clock, 5), base_url=BASE_URL, raise_server_exceptions=False)
    url = status_url(issued.valid)
    for _ in range(3):
        assert limited.get(url).status_code == 200
    assert limited.get(f"/verify/{quote(issued.valid, safe='')}").status_code == 200  # the page shares the bucket
    assert limited.post("/api/v1/verify", files={"file": ("c.xml", b"<a/>", "text/xml")}).status_code == 200
    refused = limited.get(url)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:caltrace:problem:rate-limited"
    # 5 a minute: one token back every 12 s, and none has come back yet
    assert refused.headers["Retry-After"] == "12"
    assert limited.get("/api/v1/health").status_code == 200  # the private API is not limited here
    clock.advance(seconds=11)
    assert limited.get(url).status_code == 429
    clock.advance(seconds=1)
    assert limited.get(url).status_code == 200
    assert limited.get(url).status_code == 429
    clock.advance(minutes=1)  # a quiet minute refills the bucket: a burst of 5 again
    assert all(limited.get(url).status_code == 200 for _ in range(5))
    assert limited.get(url).status_code == 429


def test_the_limiter_keeps_at_most_max_clients() -> None:
    clock = Clock(datetime(2026, 12, 3, 3, 0, tzinfo=UTC))
    limiter = TokenBucketLimiter(2, clock, max_clients=3)
    assert limiter.take("a") == 0 and limiter.take("a") == 0
    assert limiter.take("a") == pytest.approx(30.0)  # 2 a minute: a token every 30 s
    for other in ("b", "c", "d"):
        assert limiter.take(other) == 0
    assert len(limiter) == 3  # "a", the least recently seen, was evicted ...
    assert limiter.take("a") == 0  # ... and comes back with a full bucket
    with pytest.raises(ValueError, match="at least 1"):
        TokenBucketLimiter(0, clock)


def test_a_broken_pdf_is_reported_not_crashed(client: TestClient) -> None:
    report = _upload(client, "c.pdf", b"%PDF-1.7\n garbage \n%%EOF", "application/pdf")
    assert report["verdict"] == "failed"
