"""The registry API on SQLite and on PostgreSQL: reads, writes through the importers' checks, audit."""

from __future__ import annotations

import json

from sqlalchemy import select

from registry.models import AuditEntry
from tests.web.conftest import Api

INSTRUMENT = {
    "customer": "Công ty TNHH Cân Chính Xác",
    "customer_tax_code": "0312345678",
    "kind": "cân phân tích",
    "manufacturer": "Acme",
    "model": "AX-220",
    "serial_number": "SN-0001",
    "range": "0 - 220 g",
    "resolution": "0,1 mg",
    "interval_months": 12,
    "last_calibrated": "2026-06-01",
}


def test_an_instrument_registered_through_the_api_is_read_back_and_audited_as_its_account(api: Api) -> None:
    tech = api.bearer("tech")
    client = api.client()
    created = client.post("/api/v1/instruments", json=INSTRUMENT, headers=tech)
    assert created.status_code == 201, created.text
    body = created.json()
    # the importer parsed the cells: "0,1 mg" (decimal comma) with a range in g is 0.0001 g; due = +12 months
    assert body["range_min"] == 0 and body["range_max"] == 220 and body["range_unit"] == "g"
    assert abs(body["resolution"] - 0.0001) < 1e-12 and body["resolution_unit"] == "g"
    assert body["next_due"] == "2027-06-01"
    read = client.get(f"/api/v1/instruments/{body['id']}", headers=tech)
    assert read.status_code == 200 and read.json() == body
    customer = client.get(f"/api/v1/customers/{body['owner_id']}", headers=tech).json()
    assert customer["tax_code"] == "0312345678"
    listed = client.get(f"/api/v1/customers/{body['owner_id']}/instruments", headers=tech).json()
    assert [i["serial_number"] for i in listed] == ["SN-0001"]
    with api.engine.connect() as connection:
        inserts = connection.execute(
            select(AuditEntry.actor, AuditEntry.payload).where(
                AuditEntry.entity == "measuring_instrument", AuditEntry.action == "insert"
            )
        ).all()
    mine = [actor for actor, payload in inserts if json.loads(payload)["serial_number"] == "SN-0001"]
    assert mine == ["tech"]


def test_a_rejected_instrument_names_the_bad_field_and_writes_nothing(api: Api) -> None:
    tech = api.bearer("tech")
    client = api.client()
    bad = client.post(
        "/api/v1/instruments", json={**INSTRUMENT, "serial_number": "SN-BAD", "interval_months": 500}, headers=tech
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    problem = bad.json()
    assert problem["type"] == "urn:caltrace:problem:rejected"
    assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [("#/interval_months", "interval.too_long")]
    assert client.get("/api/v1/instruments", params={"serial_number": "SN-BAD"}, headers=tech).json() == []
    assert client.post("/api/v1/instruments", json=INSTRUMENT, headers=tech).status_code == 201
    again = client.post("/api/v1/instruments", json=INSTRUMENT, headers=tech)
    assert again.status_code == 422
    assert again.json()["errors"][0]["code"] == "instrument.registered"


def test_lots_standards_certificates_and_staff_are_written_and_read(api: Api) -> None:
    client = api.client()
    tech, adm = api.bearer("tech"), api.bearer("adm")
    lot = client.post(
        "/api/v1/lots",
        json={
            "packer": "Công ty CP Nước Mắm Demo",
            "product": "Nước mắm",
            "lot_number": "L-77",
            "lot_size": 1200,
            "nominal_quantity": "500 mL",
        },
        headers=tech,
    )
    assert lot.status_code == 201, lot.text
    assert (lot.json()["lot_size"], lot.json()["nominal_quantity"], lot.json()["nominal_unit"]) == (1200, 500, "mL")

    standard = client.post(
        "/api/v1/standards",
        json={"code": "THB-9", "name": "Nhiệt ẩm kế", "kind": "thermo-hygro-barometer", "range": "0 - 50 °C"},
        headers=adm,
    )
    assert standard.status_code == 201, standard.text
    certificate = client.post(
        "/api/v1/standards/THB-9/certificates",
        json={
            "number": "VMI-2026-001",
            "issuer": "Viện Đo lường Việt Nam",
            "calibrated_on": "2026-01-10",
            "valid_until": "2027-01-10",
            "values": [{"quantity": "temperature", "uncertainty": "0,3 °C", "k": "2"}],
        },
        headers=adm,
    )
    assert certificate.status_code == 201, certificate.text
    detail = client.get("/api/v1/standards/THB-9", headers=tech).json()
    assert [c["number"] for c in detail["certificates"]] == ["VMI-2026-001"]
    assert detail["certificates"][0]["values"][0]["U"] == 0.3

    staff = client.post(
        "/api/v1/staff",
        json={
            "username": "lan",
            "full_name": "Nguyễn Thị Lan",
            "roles": ["technician"],
            "procedures": ["nawi-calibration-cg18"],
        },
        headers=adm,
    )
    assert staff.status_code == 201, staff.text
    auths = client.get("/api/v1/staff/lan/authorisations", headers=tech).json()
    assert [(a["procedure_code"], a["can_perform"], a["can_sign"]) for a in auths] == [
        ("nawi-calibration-cg18", True, False)
    ]


def test_a_certificate_value_without_uncertainty_points_into_the_values_list(api: Api) -> None:
    adm = api.bearer("adm")
    response = api.client().post(
        "/api/v1/standards/DEMO-ENV/certificates",
        json={
            "number": "X-1",
            "issuer": "VMI",
            "calibrated_on": "2026-01-10",
            "valid_until": "2027-01-10",
            "values": [{"quantity": "temperature", "uncertainty": "0.2 °C"}, {"quantity": "humidity"}],
        },
        headers=adm,
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:caltrace:problem:validation"
    assert [e["pointer"] for e in problem["errors"]] == ["#/values/1/uncertainty"]
    assert problem["errors"][0]["loc"] == ["values", 1, "uncertainty"]


def test_procedures_list_with_their_declared_parameters(api: Api) -> None:
    aud = api.bearer("aud")
    client = api.client()
    codes = [p["code"] for p in client.get("/api/v1/procedures", headers=aud).json()]
    assert "nawi-calibration-cg18" in codes
    detail = client.get("/api/v1/procedures/nawi-calibration-cg18", headers=aud).json()
    loads = next(p for p in detail["parameters"] if p["name"] == "loads_g")
    assert (loads["kind"], loads["unit"]) == ("numbers", "g")
    assert client.get("/api/v1/procedures/no-such", headers=aud).status_code == 404


def test_readiness_reports_each_dependency(api: Api) -> None:
    public = api.client().get("/api/v1/ready").json()
    assert all(c["detail"] == "" for c in public["checks"])  # no paths or server names to the public
    response = api.client().get("/api/v1/ready", headers=api.bearer("aud"))
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert "registry at the newest schema" in checks["database"]["detail"]
    assert set(checks) == {"database", "reading_store", "schema_directory"}
    assert checks["database"]["ok"] is True
    assert checks["reading_store"]["ok"] is True  # the data directory (tmp_path) is writable
    assert response.status_code == (200 if all(c["ok"] for c in checks.values()) else 503)


def test_an_instrument_is_updated_through_the_import_checks_and_its_due_date_follows(api: Api) -> None:
    client = api.client()
    tech = api.bearer("tech")
    created = client.post("/api/v1/instruments", json=INSTRUMENT, headers=tech).json()
    path = f"/api/v1/instruments/{created['id']}"
    changed = client.put(path, json={"interval_months": 6, "location": "Phòng cân"}, headers=tech)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    # last calibrated 2026-06-01 + 6 months = 2026-12-01; everything not given stays as registered
    assert (body["interval_months"], body["next_due"], body["location"]) == (6, "2026-12-01", "Phòng cân")
    assert (body["serial_number"], body["resolution"], body["range_max"]) == ("SN-0001", created["resolution"], 220)
    bad = client.put(path, json={"interval_months": 500, "location": "Kho"}, headers=tech)
    assert bad.status_code == 422 and [e["pointer"] for e in bad.json()["errors"]] == ["#/interval_months"]
    assert client.get(path, headers=tech).json()["location"] == "Phòng cân"  # nothing of the rejected update written
    refused = client.put(path, json={"location": "x"}, headers=api.bearer("rev"))
    assert refused.status_code == 403
    assert client.put("/api/v1/instruments/999999", json={"location": "x"}, headers=tech).status_code == 404


def test_values_the_database_cannot_take_are_client_errors(api: Api) -> None:
    client = api.client()
    aud = api.bearer("aud")
    too_large = client.get("/api/v1/customers/9223372036854775808", headers=aud)
    assert too_large.status_code == 422 and too_large.json()["errors"][0]["pointer"] == "#/customer_id"
    nul = client.get("/api/v1/staff/a%00b", headers=aud)  # PostgreSQL refuses NUL in text; SQLite finds no one
    assert nul.status_code in (404, 422) and nul.headers["content-type"] == "application/problem+json"
    nul_query = client.get("/api/v1/customers", params={"q": "a\x00b"}, headers=aud)
    assert nul_query.status_code in (200, 422)


def test_two_service_processes_on_one_registry_share_logins_and_logouts(api: Api) -> None:
    """Tokens are signed, not stored: a second service on the same registry and key accepts them, and a logout
    on either ends them on both (the account's token version lives in the registry)."""
    from fastapi.testclient import TestClient

    from api.web.app import create_app
    from registry.db import make_engine

    other_engine = make_engine(api.engine.url.render_as_string(hide_password=False))
    try:
        other = create_app(api.settings, registry=api.app.state.service.registry, engine=other_engine, clock=api.clock)
        second = TestClient(other, base_url="https://testserver")
        header = api.bearer("tech")
        assert second.get("/api/v1/auth/me", headers=header).json()["username"] == "tech"
        assert second.post("/api/v1/auth/logout", headers=header).status_code == 200
        assert api.client().get("/api/v1/auth/me", headers=header).status_code == 401
    finally:
        other_engine.dispose()
