"""Account binding IP: logins, API tokens and console sessions only from allowed addresses."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from openpss.platform.app import create_app
from openpss.platform.security.models import Account, AuditEntry, Role
from openpss.platform.security.tokens import create_api_token
from openpss.platform.settings import Settings
from tests.conftest import add_account

PASSWORD = "Str0ng!Passw0rd"
OFFICE = "10.0.0.5"
ELSEWHERE = "192.168.1.7"


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """An app with an administrator and a viewer ("clerk", with an API token)."""
    app = create_app(settings)
    with app.state.session_factory() as s:
        add_account(s, "boss", Role.administrator, PASSWORD)
        clerk = add_account(s, "clerk", Role.viewer, PASSWORD)
        app.state.clerk_token, _ = create_api_token(session=s, account=clerk, name="script")
        app.state.clerk_id = clerk.id
        s.commit()
    yield app
    app.state.engine.dispose()


def client_from(app: FastAPI, address: str) -> TestClient:
    """A client whose requests come from `address`."""
    return TestClient(app, client=(address, 50000))


def login(client: TestClient, username: str) -> httpx.Response:
    data = {"username": username, "password": PASSWORD}
    return client.post("/login", data=data, follow_redirects=False)


def csrf(client: TestClient) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert match
    return match.group(1)


def audit(app: FastAPI, action: str) -> list[AuditEntry]:
    with app.state.session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def boss_api(app: FastAPI) -> TestClient:
    """The administrator's console client from the office, logged in."""
    client = client_from(app, OFFICE)
    assert login(client, "boss").status_code == 303
    client.headers["X-CSRF-Token"] = csrf(client)
    return client


def test_api_sets_and_validates_binding(app: FastAPI) -> None:
    boss = boss_api(app)
    url = f"/api/v1/accounts/{app.state.clerk_id}"
    bad = boss.patch(url, json={"allowed_networks": ["10.0.0.0/24", "not-an-ip"]})
    assert bad.status_code == 422 and "'not-an-ip' is not an IP address" in bad.json()["detail"]
    done = boss.patch(url, json={"allowed_networks": ["10.0.0.9/24", "10.0.0.0/24", "::1"]})
    assert done.status_code == 200
    assert done.json()["allowed_networks"] == ["10.0.0.0/24", "::1/128"]
    entries = audit(app, "account.bind")
    assert len(entries) == 1 and entries[0].target == "clerk" and "10.0.0.0/24" in entries[0].detail
    cleared = boss.patch(url, json={"allowed_networks": []})
    assert cleared.json()["allowed_networks"] == []


def test_login_from_another_address_is_refused_and_audited(app: FastAPI) -> None:
    boss_api(app).patch(
        f"/api/v1/accounts/{app.state.clerk_id}", json={"allowed_networks": ["10.0.0.0/24"]}
    )
    refused = login(client_from(app, ELSEWHERE), "clerk")
    assert refused.status_code == 403
    assert "bound to other addresses" in refused.text and ELSEWHERE in refused.text
    failures = [e for e in audit(app, "login.failure") if e.actor == "clerk"]
    assert failures and failures[-1].source_ip == ELSEWHERE and "binding" in failures[-1].detail
    assert login(client_from(app, OFFICE), "clerk").status_code == 303
    # A wrong password from outside is refused for the address, never checked.
    wrong = client_from(app, ELSEWHERE).post(
        "/login", data={"username": "clerk", "password": "x"}, follow_redirects=False
    )
    assert wrong.status_code == 403
    with app.state.session_factory() as s:
        clerk = s.get(Account, app.state.clerk_id)
        assert clerk is not None and clerk.failed_logins == 0


def test_api_token_and_session_from_another_address(app: FastAPI) -> None:
    boss = boss_api(app)
    url = f"/api/v1/accounts/{app.state.clerk_id}"
    headers = {"Authorization": f"Bearer {app.state.clerk_token}"}
    clerk_office = client_from(app, OFFICE)
    assert login(clerk_office, "clerk").status_code == 303
    boss.patch(url, json={"allowed_networks": ["192.168.1.0/24"]})
    assert client_from(app, ELSEWHERE).get("/api/v1/me", headers=headers).status_code == 200
    refused = client_from(app, OFFICE).get("/api/v1/me", headers=headers)
    assert refused.status_code == 403 and "bound to other addresses" in refused.json()["detail"]
    entries = audit(app, "access.refused")
    assert entries and entries[-1].actor == "clerk" and entries[-1].source_ip == OFFICE
    assert "API token" in entries[-1].detail
    page = clerk_office.get("/", follow_redirects=False)  # the open session is refused too
    assert page.status_code == 403 and "bound to other addresses" in page.text


def test_console_binding_form_and_self_lockout_guard(app: FastAPI) -> None:
    boss = boss_api(app)
    page = boss.post(
        f"/accounts/{app.state.clerk_id}/binding", data={"networks": "10.0.0.0/24, 10.1.0.7"}
    )
    assert page.status_code == 200 and "10.0.0.0/24, 10.1.0.7/32" in page.text
    bad = boss.post(f"/accounts/{app.state.clerk_id}/binding", data={"networks": "10.0.0.300"})
    assert bad.status_code == 422 and "is not an IP address" in bad.text
    with app.state.session_factory() as s:
        boss_id = s.scalar(select(Account.id).where(Account.username == "boss"))
    own = boss.post(f"/accounts/{boss_id}/binding", data={"networks": "192.168.0.0/16"})
    assert own.status_code == 422 and "would lock you out" in own.text
    assert boss.post(f"/accounts/{boss_id}/binding", data={"networks": OFFICE}).status_code == 200
    assert boss.get("/accounts").status_code == 200  # still usable from the office
