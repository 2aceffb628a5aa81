"""Authentication, roles, CSRF, lockout, logout and what the audit log keeps of a password (SQLite)."""

from __future__ import annotations

from typing import Annotated

import pytest
from sqlalchemy import select

from api.web.accounts import Account, unlock
from api.web.deps import require_roles
from registry.db import session_scope
from registry.models import AuditEntry, UserAccount
from tests.web.conftest import PASSWORD, Api

INSTRUMENT = {
    "customer": "Công ty A",
    "kind": "cân kỹ thuật",
    "serial_number": "R-1",
    "range": "0 - 6 kg",
    "resolution": "1 g",
    "interval_months": 12,
}
STANDARD = {"code": "STD-R", "name": "Quả cân", "kind": "weight set"}
CERTIFICATE = {
    "number": "C-R",
    "issuer": "VMI",
    "calibrated_on": "2026-01-10",
    "valid_until": "2027-01-10",
    "values": [{"quantity": "temperature", "uncertainty": "0.2 °C"}],
}
STAFF = {"username": "binh", "full_name": "Trần Bình", "roles": ["technician"], "procedures": ["all"]}

#: every write: (method, path, JSON body, the roles allowed)
WRITES = [
    ("post", "/api/v1/instruments", INSTRUMENT, {"technician", "admin"}),
    (
        "post",
        "/api/v1/lots",
        {"packer": "P", "product": "Gạo", "lot_number": "1", "lot_size": 10, "nominal_quantity": "5 kg"},
        {"technician", "admin"},
    ),
    ("post", "/api/v1/standards", STANDARD, {"admin"}),
    ("post", "/api/v1/standards/DEMO-ENV/certificates", CERTIFICATE, {"admin"}),
    ("post", "/api/v1/staff", STAFF, {"admin"}),
]
ROLE_LOGINS = {"technician": "tech", "reviewer": "rev", "signatory": "sig", "admin": "adm", "auditor": "aud"}


def sign(account: Annotated[Account, require_roles("signatory")]) -> dict[str, str]:
    """A test-only route needing the signatory role."""
    return {"signed_by": account.username, "as_staff": account.staff_username or ""}


def _is_problem(response, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["type"] == f"urn:caltrace:problem:{kind}"
    assert body["title"] and body["instance"]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), WRITES, ids=[w[1] for w in WRITES])
def test_each_write_is_refused_to_the_public_and_to_the_wrong_roles(sqlite_api: Api, method, path, body, allowed):
    client = sqlite_api.client()
    public = getattr(client, method)(path, json=body)
    _is_problem(public, 401, "unauthenticated")
    assert public.headers["www-authenticate"].startswith("Bearer")
    for role, username in ROLE_LOGINS.items():
        response = getattr(client, method)(path, json=body, headers=sqlite_api.bearer(username))
        if role in allowed:
            assert response.status_code == 201, (role, response.text)
            break  # written once: a second allowed role would meet a duplicate
        _is_problem(response, 403, "forbidden")
    else:
        pytest.fail(f"no role may write {path}")


def test_reads_need_a_login_of_any_role(sqlite_api: Api) -> None:
    client = sqlite_api.client()
    _is_problem(client.get("/api/v1/customers"), 401, "unauthenticated")
    for username in ROLE_LOGINS.values():
        assert client.get("/api/v1/staff", headers=sqlite_api.bearer(username)).status_code == 200


def test_a_cookie_write_needs_the_csrf_token_and_a_bearer_write_does_not(sqlite_api: Api) -> None:
    client = sqlite_api.client()
    login = client.post("/api/v1/auth/login", json={"username": "tech", "password": PASSWORD})
    assert login.status_code == 200
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    csrf = login.json()["csrf_token"]
    _is_problem(client.post("/api/v1/instruments", json=INSTRUMENT), 403, "csrf")
    _is_problem(client.post("/api/v1/instruments", json=INSTRUMENT, headers={"X-CSRF-Token": "forged"}), 403, "csrf")
    assert client.get("/api/v1/instruments", params={"serial_number": "R-1"}).json() == []  # nothing was written
    assert client.get("/api/v1/auth/me").json()["csrf_token"] == csrf
    done = client.post("/api/v1/instruments", json=INSTRUMENT, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201, done.text
    bearer = sqlite_api.client().post(
        "/api/v1/instruments", json={**INSTRUMENT, "serial_number": "R-2"}, headers=sqlite_api.bearer("tech")
    )
    assert bearer.status_code == 201


def test_a_forged_or_expired_token_is_refused(sqlite_api: Api) -> None:
    client = sqlite_api.client()
    header = sqlite_api.bearer("adm")
    token = header["Authorization"].removeprefix("Bearer ")
    payload_changed = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    _is_problem(
        client.get("/api/v1/staff", headers={"Authorization": f"Bearer {payload_changed}"}), 401, "unauthenticated"
    )
    sqlite_api.clock.advance(minutes=sqlite_api.settings.token_minutes + 1)
    _is_problem(client.get("/api/v1/staff", headers=header), 401, "unauthenticated")


def test_repeated_wrong_passwords_lock_the_account_until_the_period_ends(sqlite_api: Api) -> None:
    client = sqlite_api.client()
    attempts = sqlite_api.settings.lockout_attempts  # 3 in these tests

    def login(password: str):
        return client.post("/api/v1/auth/token", json={"username": "sig", "password": password})

    for _ in range(attempts - 1):
        _is_problem(login("wrong password!"), 401, "invalid-login")
    assert login(PASSWORD).status_code == 200  # a good login before the limit clears the count
    for _ in range(attempts - 1):
        _is_problem(login("wrong password!"), 401, "invalid-login")
    _is_problem(login("wrong password!"), 401, "locked")  # the attempts-th wrong one locks
    _is_problem(login(PASSWORD), 401, "locked")  # the right password is refused while locked
    sqlite_api.clock.advance(minutes=sqlite_api.settings.lockout_minutes - 1)
    _is_problem(login(PASSWORD), 401, "locked")
    sqlite_api.clock.advance(minutes=2)
    assert login(PASSWORD).status_code == 200


def test_an_administrator_unlocks_a_locked_account(sqlite_api: Api) -> None:
    client = sqlite_api.client()
    for _ in range(sqlite_api.settings.lockout_attempts):
        client.post("/api/v1/auth/token", json={"username": "tech", "password": "not the password"})
    _is_problem(client.post("/api/v1/auth/token", json={"username": "tech", "password": PASSWORD}), 401, "locked")
    with session_scope(sqlite_api.engine, "adm") as s:
        assert unlock(s, "tech") is True
    assert client.post("/api/v1/auth/token", json={"username": "tech", "password": PASSWORD}).status_code == 200


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(sqlite_api: Api) -> None:
    client = sqlite_api.client()
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody", "password": PASSWORD}).json()
    wrong = client.post("/api/v1/auth/token", json={"username": "adm", "password": "nope nope nope"}).json()
    assert {k: v for k, v in unknown.items() if k != "instance"} == {k: v for k, v in wrong.items() if k != "instance"}


def test_logout_ends_every_session_and_token_of_the_account(sqlite_api: Api) -> None:
    header = sqlite_api.bearer("adm")
    client = sqlite_api.client()
    login = client.post("/api/v1/auth/login", json={"username": "adm", "password": PASSWORD})
    out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": login.json()["csrf_token"]})
    assert out.status_code == 200 and out.json()["ended"] is True
    _is_problem(client.get("/api/v1/staff"), 401, "unauthenticated")
    _is_problem(sqlite_api.client().get("/api/v1/staff", headers=header), 401, "unauthenticated")


def test_the_audit_log_never_holds_a_password_hash(sqlite_api: Api) -> None:
    with sqlite_api.engine.connect() as connection:
        hashes = [h for (h,) in connection.execute(select(UserAccount.password_hash))]
        payloads = [p for (p,) in connection.execute(select(AuditEntry.payload))]
        actors = {a for (a,) in connection.execute(select(AuditEntry.actor).where(AuditEntry.entity == "user_account"))}
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(h in p for h in hashes for p in payloads)
    assert any('"password_hash":"(redacted)"' in p for p in payloads)
    assert actors == {"test"}


def test_a_spreadsheet_import_is_refused_to_the_public_and_to_the_wrong_roles(sqlite_api: Api) -> None:
    files = {"file": ("list.csv", b"customer,kind\n", "text/csv")}
    client = sqlite_api.client()
    _is_problem(client.post("/api/v1/lots/import", files=files), 401, "unauthenticated")
    for username in ("rev", "sig", "aud"):
        response = client.post("/api/v1/instruments/import", files=files, headers=sqlite_api.bearer(username))
        _is_problem(response, 403, "forbidden")


def test_the_role_dependency_lets_a_signatory_sign_and_refuses_a_technician(sqlite_api: Api) -> None:
    """The seam the certificate routes will use: ``require_roles("signatory")`` (a technician cannot sign)."""
    sqlite_api.app.router.add_api_route("/api/v1/test-sign", sign, methods=["POST"], operation_id="test_sign")
    client = sqlite_api.client()
    _is_problem(client.post("/api/v1/test-sign"), 401, "unauthenticated")
    _is_problem(client.post("/api/v1/test-sign", headers=sqlite_api.bearer("tech")), 403, "forbidden")
    signed = client.post("/api/v1/test-sign", headers=sqlite_api.bearer("sig"))
    assert signed.json() == {"signed_by": "sig", "as_staff": "demo-reviewer"}
