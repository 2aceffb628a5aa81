"""The API contract: problem details for every error (a bad field's key path, no stack trace in a 500), security
headers, bounded uploads, and an OpenAPI document in which every operation has an id and a response model."""

from __future__ import annotations

import logging

import pytest

from tests.web.conftest import Api

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def _secure(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "strict-transport-security" in response.headers  # cookie_secure (the default) means TLS


def test_a_bad_field_is_answered_with_its_key_path(sqlite_api: Api) -> None:
    response = sqlite_api.client().post(
        "/api/v1/instruments",
        json={"customer": "A", "kind": "cân", "serial_number": "1", "interval_months": "twelve", "colour": "red"},
        headers=sqlite_api.bearer("tech"),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:caltrace:problem:validation"
    assert problem["status"] == 422 and problem["instance"] == "/api/v1/instruments"
    by_pointer = {e["pointer"]: e for e in problem["errors"]}
    assert set(by_pointer) == {"#/interval_months", "#/colour"}
    assert by_pointer["#/interval_months"]["location"] == "body"
    assert by_pointer["#/interval_months"]["loc"] == ["interval_months"]
    bad_query = sqlite_api.client().get("/api/v1/customers", params={"limit": 0}, headers=sqlite_api.bearer("aud"))
    assert bad_query.status_code == 422
    assert [(e["location"], e["pointer"]) for e in bad_query.json()["errors"]] == [("query", "#/limit")]


def test_not_found_is_a_problem_document_with_security_headers(sqlite_api: Api) -> None:
    response = sqlite_api.client().get("/api/v1/instruments/999999", headers=sqlite_api.bearer("aud"))
    assert response.status_code == 404
    assert response.json()["type"] == "urn:caltrace:problem:not-found"
    _secure(response)
    unknown_path = sqlite_api.client().get("/api/v1/no-such-thing")
    assert unknown_path.status_code == 404 and unknown_path.json()["type"] == "about:blank"
    _secure(unknown_path)


def test_a_failure_is_a_500_without_stack_trace_and_the_trace_is_logged(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import acquisition.procedures

    def broken() -> list[str]:
        raise RuntimeError("secret-internal-detail")

    monkeypatch.setattr(acquisition.procedures, "procedure_ids", broken)
    with caplog.at_level(logging.ERROR, logger="api.web.errors"):
        response = sqlite_api.client().get("/api/v1/procedures", headers=sqlite_api.bearer("aud"))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    text = response.text
    assert "secret-internal-detail" not in text and "Traceback" not in text and "RuntimeError" not in text
    problem = response.json()
    assert problem["type"] == "urn:caltrace:problem:internal"
    incident = problem["detail"].split("incident ")[1].split(",")[0]
    _secure(response)
    logged = [r for r in caplog.records if incident in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "secret-internal-detail" in str(logged[0].exc_info[1])


def test_uploads_are_bounded_in_size_and_type(sqlite_api: Api) -> None:
    client = sqlite_api.client()
    tech = sqlite_api.bearer("tech")

    def send(name: str, content: bytes, media_type: str = "text/csv"):
        return client.post("/api/v1/instruments/import", files={"file": (name, content, media_type)}, headers=tech)

    assert send("list.exe", b"MZ...", "application/octet-stream").status_code == 415
    assert send("list.xlsx", b"customer,kind\n", "application/zip").status_code == 415  # not a ZIP inside
    assert send("list.csv", b"a,b\n", "application/pdf").status_code == 415
    sqlite_api.settings.max_upload_bytes = 2048
    too_big = send("list.csv", b"x" * 3000)
    assert too_big.status_code == 413 and too_big.json()["type"] == "urn:caltrace:problem:too-large"
    # any request body is bounded before it is read: the limit plus 1 MiB of form overhead, even for the public
    huge = client.post("/api/v1/auth/token", content=b"{" + b" " * (2048 + (1 << 20)) + b"}")
    assert huge.status_code == 413 and huge.headers["content-type"] == "application/problem+json"
    header = "customer,kind,manufacturer,model,serial_number,range,resolution,accuracy_class,location,"
    header += "interval_months,last_calibrated\n"
    good = "Công ty B,cân kỹ thuật,Acme,K6,U-1,0 - 6 kg,1 g,III,,12,\n"
    bad = "Công ty B,cân kỹ thuật,Acme,K6,U-2,0 - 6 kg,1 g,III,,500,\n"
    report = send("list.csv", (header + good + bad).encode("utf-8"))
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["rows"], body["imported"]) == (2, 1)
    assert [(i["row"], i["column"]) for i in body["rejected"]] == [(3, "interval_months")]


#: the operations the public may call without a login (no 401)
PUBLIC_PATHS = {"/api/v1/health", "/api/v1/ready", "/api/v1/certificates/{number}/verification", "/api/v1/verify"}


def test_every_operation_has_an_id_a_response_model_and_problem_errors(sqlite_api: Api) -> None:
    document = sqlite_api.client().get("/api/v1/openapi.json").json()
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]
    assert len(operations) >= 20
    ids = [op.get("operationId") for _, _, op in operations]
    assert all(ids) and len(set(ids)) == len(ids)
    for path, method, op in operations:
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, (method, path)
        for status in ok:
            content = op["responses"][status]["content"]
            if list(content) in (["application/xml"], ["application/pdf"]):  # a stored certificate file
                assert content[next(iter(content))]["schema"] == {"type": "string", "format": "binary"}
                continue
            stream = content.get("text/event-stream") if path.endswith("/events") else None  # server-sent events
            schema = (stream or content["application/json"])["schema"]
            assert schema and schema != {}, (method, path, status)  # a declared model, not "any"
        for status, response in op["responses"].items():
            if status[0] in "45" and (path, status) != ("/api/v1/ready", "503"):  # readiness reports each check
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
        if path not in PUBLIC_PATHS and not path.startswith("/api/v1/auth/"):
            assert "401" in op["responses"], (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    ready = document["paths"]["/api/v1/ready"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]
    assert ready["$ref"].endswith("/ReadinessPublic")
