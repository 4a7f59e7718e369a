"""Accounts management, API tokens, audit log search/export, online users, syslog forwarding."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import socket
import types

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from openpss.platform.security.audit import SYSTEM, forward_to_syslog, record_audit
from openpss.platform.security.models import Role
from tests.conftest import Api
from tests.support.queries import queries_for_get

GOOD = "G00d!Passwd"


def console_login(client: TestClient, username: str, password: str) -> str:
    """Log in through the form; returns the CSRF token of the session."""
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    match = re.search(r'name="csrf-token" content="([^"]+)"', response.text)
    assert match
    return match.group(1)


def create(api: Api, username: str, role: Role = Role.operator) -> int:
    body = {"username": username, "password": GOOD, "role": role.value}
    response = api.client.post("/api/v1/accounts", json=body, headers=api.headers())
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_accounts_need_the_administrator_role(api: Api) -> None:
    for role in (Role.viewer, Role.operator):
        response = api.client.get("/api/v1/accounts", headers=api.headers(role))
        assert response.status_code == 403
        assert "administrator role" in response.json()["detail"]
    assert api.client.get("/api/v1/accounts").status_code == 401
    listed = api.client.get("/api/v1/accounts", headers=api.headers()).json()
    assert {a["username"] for a in listed} == {"test-viewer", "test-operator", "test-administrator"}
    assert all("password_hash" not in a for a in listed)


def test_create_update_reset_delete(api: Api) -> None:
    account_id = create(api, "alice")
    dup = api.client.post(
        "/api/v1/accounts", json={"username": "ALICE", "password": GOOD}, headers=api.headers()
    )
    assert dup.status_code == 409 and "already exists" in dup.json()["detail"]
    weak = {"username": "bob", "password": "bob12345"}
    response = api.client.post("/api/v1/accounts", json=weak, headers=api.headers())
    assert response.status_code == 422 and "account name" in response.json()["detail"]
    url = f"/api/v1/accounts/{account_id}"
    changed = api.client.patch(
        url, json={"role": "viewer", "remark": "night shift"}, headers=api.headers()
    )
    assert changed.json()["role"] == "viewer" and changed.json()["remark"] == "night shift"
    body = {"password": "Fre5h!Passwd", "confirm": "Fre5h!Passwd"}
    assert api.client.post(f"{url}/password", json=body, headers=api.headers()).status_code == 204
    console_login(TestClient(api.client.app), "alice", "Fre5h!Passwd")
    assert api.client.patch(url, json={"enabled": False}, headers=api.headers()).status_code == 200
    refused = TestClient(api.client.app).post(
        "/login", data={"username": "alice", "password": "Fre5h!Passwd"}
    )
    assert "disabled" in refused.text
    assert api.client.delete(url, headers=api.headers()).status_code == 204
    assert api.client.get(url, headers=api.headers()).status_code == 404
    audit = api.client.get("/api/v1/audit?action=account.", headers=api.headers()).json()
    actions = [e["action"] for e in audit["items"]]
    assert actions == [
        "account.delete", "account.update", "account.reset_password", "account.update",
        "account.create",
    ]  # fmt: skip
    assert all(e["actor"] == "test-administrator" for e in audit["items"])


def test_last_administrator_is_protected(api: Api) -> None:
    admin = api.client.get("/api/v1/me", headers=api.headers()).json()
    url = f"/api/v1/accounts/{admin['id']}"
    for body in ({"role": "operator"}, {"enabled": False}):
        response = api.client.patch(url, json=body, headers=api.headers())
        assert response.status_code == 409
        assert "last administrator" in response.json()["detail"]
    response = api.client.delete(url, headers=api.headers())
    assert response.status_code == 409 and "logged in with" in response.json()["detail"]
    other = create(api, "second-admin", Role.administrator)
    assert (
        api.client.patch(url, json={"role": "operator"}, headers=api.headers()).status_code == 200
    )
    token = api.client.post(
        "/api/v1/tokens", json={"name": "t", "account_id": other}, headers=api.headers()
    )
    assert token.status_code == 403  # the caller is an operator now
    headers = {"Authorization": "Bearer " + api.tokens[Role.operator]}
    assert api.client.delete(f"/api/v1/accounts/{other}", headers=headers).status_code == 403


def test_second_admin_can_delete_the_first_then_is_last(api: Api) -> None:
    boss = create(api, "boss", Role.administrator)
    secret = api.client.post(
        "/api/v1/tokens", json={"name": "boss", "account_id": boss}, headers=api.headers()
    ).json()["token"]
    boss_headers = {"Authorization": f"Bearer {secret}"}
    first = api.client.get("/api/v1/me", headers=api.headers()).json()["id"]
    assert api.client.delete(f"/api/v1/accounts/{first}", headers=boss_headers).status_code == 204
    demote = api.client.patch(
        f"/api/v1/accounts/{boss}", json={"role": "viewer"}, headers=boss_headers
    )
    assert demote.status_code == 409 and "last administrator" in demote.json()["detail"]


def test_change_own_password(api: Api) -> None:
    headers = api.headers(Role.viewer)
    body = {"current": "nope", "password": "Fre5h!Passwd", "confirm": "Fre5h!Passwd"}
    response = api.client.post("/api/v1/me/password", json=body, headers=headers)
    assert response.status_code == 422 and "current password is wrong" in response.json()["detail"]
    body["current"] = "Str0ng!Passw0rd"
    assert api.client.post("/api/v1/me/password", json=body, headers=headers).status_code == 204
    console_login(TestClient(api.client.app), "test-viewer", "Fre5h!Passwd")


def test_api_tokens_shown_once_then_revoked(api: Api) -> None:
    headers = api.headers(Role.viewer)
    created = api.client.post(
        "/api/v1/tokens", json={"name": "script", "days": 30}, headers=headers
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("opss_") and created.json()["expires_at"]
    mine = api.client.get("/api/v1/tokens", headers=headers).json()
    assert all("token" not in t for t in mine) and {t["name"] for t in mine} == {"tests", "script"}
    everyone = api.client.get("/api/v1/tokens", headers=api.headers()).json()
    assert len(everyone) == 4
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/api/v1/me", headers=bearer).json()["username"] == "test-viewer"
    admin_token = next(t for t in everyone if t["account_id"] != mine[0]["account_id"])
    other = api.client.delete(f"/api/v1/tokens/{admin_token['id']}", headers=headers)
    assert other.status_code == 404
    token_id = created.json()["id"]
    assert api.client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
    assert api.client.get("/api/v1/me", headers=bearer).status_code == 401
    bad = api.client.post("/api/v1/tokens", json={"name": " "}, headers=headers)
    assert bad.status_code == 422 and "token name" in bad.json()["detail"]


def test_audit_filters_paging_and_exports(api: Api) -> None:
    for i in range(7):
        create(api, f"user{i}", Role.viewer)
    headers = api.headers()
    page = api.client.get("/api/v1/audit?action=account.create&per_page=3&page=3", headers=headers)
    assert page.json()["total"] == 7 and len(page.json()["items"]) == 1
    assert page.json()["items"][0]["target"] == "user0"
    walked, cursor = [], ""  # keyset paging: each page continues after the previous one
    while True:
        params = {"action": "account.create", "limit": "3", "after": cursor}
        body = api.client.get("/api/v1/audit", params=params, headers=headers).json()
        walked += [entry["target"] for entry in body["items"]]
        if not (cursor := body["next_cursor"]):
            break
    assert walked == [f"user{i}" for i in reversed(range(7))]
    none = api.client.get("/api/v1/audit?actor=nobody", headers=headers).json()
    assert none["total"] == 0
    future = api.client.get("/api/v1/audit?since=2999-01-01T00:00:00", headers=headers).json()
    assert future["total"] == 0
    past = api.client.get("/api/v1/audit?until=2000-01-01T00:00:00Z", headers=headers).json()
    assert past["total"] == 0
    text = api.client.get("/api/v1/audit/export?format=csv&action=account.", headers=headers).text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["time (UTC)", "actor", "source IP", "action", "target", "detail"]
    assert [r[4] for r in rows[1:]] == [f"user{i}" for i in range(7)]
    xlsx = api.client.get("/api/v1/audit/export?format=xlsx&action=account.", headers=headers)
    assert xlsx.headers["content-disposition"] == 'attachment; filename="audit-log.xlsx"'
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == 8 and sheet.cell(8, 5).value == "user6"
    assert api.client.get("/api/v1/audit", headers=api.headers(Role.operator)).status_code == 403


def test_online_users_and_ending_a_session(api: Api) -> None:
    viewer = TestClient(api.client.app)
    console_login(viewer, "test-viewer", "Str0ng!Passw0rd")
    sessions = api.client.get("/api/v1/sessions", headers=api.headers()).json()
    assert [(s["username"], s["source_ip"]) for s in sessions] == [("test-viewer", "testclient")]
    sid = sessions[0]["id"]
    assert api.client.delete(f"/api/v1/sessions/{sid}", headers=api.headers()).status_code == 204
    assert viewer.get("/", follow_redirects=False).status_code == 303
    assert api.client.get("/api/v1/sessions", headers=api.headers()).json() == []


def test_console_admin_pages(api: Api) -> None:
    client = TestClient(api.client.app)
    token = console_login(client, "test-administrator", "Str0ng!Passw0rd")
    for path in ("/accounts", "/tokens", "/audit", "/online", "/locks", "/account"):
        assert client.get(path).status_code == 200, path
    form = {"username": "carol", "password": "weakpass", "role": "viewer", "csrf_token": token}
    response = client.post("/accounts", data=form)
    assert response.status_code == 422 and "at least two of" in response.text
    form["password"] = GOOD
    assert client.post("/accounts", data={**form, "csrf_token": "forged"}).status_code == 403
    response = client.post("/accounts", data=form)
    assert "Account carol created." in response.text
    response = client.post("/tokens", data={"name": "cli", "csrf_token": token})
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert re.search(r'id="token-secret">opss_[\w-]+<', response.text)
    assert "test-administrator" in client.get("/audit?actor=test-administrator").text
    export = client.get("/api/v1/audit/export?format=csv&action=account.create")
    assert export.status_code == 200 and export.text.count("account.create") == 1
    viewer = TestClient(api.client.app)
    console_login(viewer, "test-viewer", "Str0ng!Passw0rd")
    assert viewer.get("/accounts").status_code == 403
    assert viewer.get("/tokens").status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_audit_events_reach_syslog(session: Session) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    port = receiver.getsockname()[1]
    settings = types.SimpleNamespace(syslog_address=f"127.0.0.1:{port}")
    app = types.SimpleNamespace(state=types.SimpleNamespace(settings=settings))

    async def scenario() -> None:
        task = asyncio.create_task(forward_to_syslog(app))
        await asyncio.sleep(0.05)
        record_audit(session=session, actor=SYSTEM, action="device.create", target="door-1")
        session.commit()  # audit lines go out when the change they describe commits
        task.cancel()

    asyncio.run(scenario())
    line = receiver.recv(4096).decode()
    receiver.close()
    assert "openpss: actor=system" in line and "action=device.create target=door-1" in line
    assert line.startswith("<38>")  # facility auth (4) * 8 + info (6)


def test_admin_pages_do_not_grow_queries_with_rows(api: Api) -> None:
    admin = TestClient(api.client.app)
    console_login(admin, "test-administrator", "Str0ng!Passw0rd")
    paths = ("/tokens", "/online", "/accounts", "/audit", "/locks", "/")
    before = {path: len(queries_for_get(admin, path)) for path in paths}
    for i in range(3):
        account_id = create(api, f"extra{i}", Role.viewer)
        api.client.post(
            "/api/v1/tokens", json={"name": "x", "account_id": account_id}, headers=api.headers()
        )
        console_login(TestClient(api.client.app), f"extra{i}", GOOD)
    after = {path: len(queries_for_get(admin, path)) for path in paths}
    assert after == before


def test_bad_syslog_address_is_reported_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    settings = types.SimpleNamespace(syslog_address="127.0.0.1:notaport")
    app = types.SimpleNamespace(state=types.SimpleNamespace(settings=settings))
    asyncio.run(forward_to_syslog(app))
    assert "NOT forwarded to syslog" in caplog.text and "host:port" in caplog.text


def test_changing_own_password_ends_other_sessions(api: Api) -> None:
    elsewhere = TestClient(api.client.app)
    console_login(elsewhere, "test-viewer", "Str0ng!Passw0rd")
    here = TestClient(api.client.app)
    token = console_login(here, "test-viewer", "Str0ng!Passw0rd")
    form = {"current": "Str0ng!Passw0rd", "password": "Fre5h!Passwd", "confirm": "Fre5h!Passwd"}
    response = here.post("/account/password", data={**form, "csrf_token": token})
    assert response.status_code == 200 and "Password changed." in response.text
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account", follow_redirects=False).status_code == 303
    export = here.get("/api/v1/audit/export?format=csv")
    assert export.status_code == 403  # a viewer may not export the audit log
