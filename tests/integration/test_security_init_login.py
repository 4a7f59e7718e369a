"""First start, login, lockout of accounts and addresses, remember me, logout, forgot password."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.app import create_app
from openpss.platform.db import utcnow
from openpss.platform.security.models import Account, AuditEntry, IpLock, LoginSession, Role
from openpss.platform.settings import Settings
from tests.conftest import Api

PASSWORD = "Adm1n!Secure"
QUESTIONS = [
    {"question": "First pet?", "answer": "Rex"},
    {"question": "Birth city?", "answer": "Lyon"},
    {"question": "First school?", "answer": "Jaures"},
]


@pytest.fixture
def fresh(settings: Settings) -> Iterator[TestClient]:
    """A client on an app whose database has no account yet."""
    with TestClient(create_app(settings)) as client:
        yield client


def initialize(client: TestClient) -> None:
    body = {"username": "admin", "password": PASSWORD, "confirm": PASSWORD, "questions": QUESTIONS}
    assert client.post("/api/v1/system/initialize", json=body).status_code == 201


def login(client: TestClient, username: str, password: str, **extra: str) -> httpx.Response:
    data = {"username": username, "password": password, **extra}
    return client.post("/login", data=data, follow_redirects=False)


def csrf(client: TestClient) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert match, "the dashboard carries the CSRF token"
    return match.group(1)


def factory(client: TestClient) -> sessionmaker[Session]:
    """The session factory of the client's app."""
    result: sessionmaker[Session] = client.app.state.session_factory  # type: ignore[attr-defined]
    return result


def audit_actions(client: TestClient) -> list[str]:
    with factory(client)() as s:
        return [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_console_redirects_to_init_until_initialized(fresh: TestClient) -> None:
    assert fresh.get("/api/v1/system/status").json()["initialized"] is False
    response = fresh.get("/", follow_redirects=True)
    assert response.url.path == "/init"
    initialize(fresh)
    assert fresh.get("/api/v1/system/status").json()["initialized"] is True
    assert fresh.get("/init", follow_redirects=True).url.path == "/login"
    again = {"username": "x", "password": PASSWORD, "confirm": PASSWORD, "questions": QUESTIONS}
    response = fresh.post("/api/v1/system/initialize", json=again)
    assert response.status_code == 409
    assert "already initialized" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password": "admin!X9q", "confirm": "admin!X9q"}, "account name or its reverse"),
        ({"confirm": "Other!Pass9"}, "do not match"),
        ({"questions": [*QUESTIONS[:2], {"question": "Q3?", "answer": " rex "}]}, "different"),
        ({"questions": QUESTIONS[:2]}, "exactly 3"),
    ],
)
def test_initialize_rejects_bad_input(
    fresh: TestClient, change: dict[str, object], message: str
) -> None:
    body = {"username": "admin", "password": PASSWORD, "confirm": PASSWORD, "questions": QUESTIONS}
    response = fresh.post("/api/v1/system/initialize", json={**body, **change})
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert fresh.get("/api/v1/system/status").json()["initialized"] is False


def test_init_page_form_creates_admin_and_logs_in(fresh: TestClient) -> None:
    form = {"username": "chief", "password": PASSWORD, "confirm": PASSWORD, "auto_login": "true"}
    form |= {"q0": "A?", "q1": "B?", "q2": "C?", "a0": "x", "a1": "y", "a2": "z"}
    response = fresh.post("/init", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "chief (administrator)" in fresh.get("/").text
    assert audit_actions(fresh) == ["system.initialize", "login.success"]


def test_login_remember_me_and_logout(api: Api) -> None:
    client = api.client
    response = login(client, "test-viewer", "Str0ng!Passw0rd")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age" not in cookie
    client.cookies.clear()
    response = login(client, "test-viewer", "Str0ng!Passw0rd", remember="true")
    assert f"Max-Age={30 * 86400}" in response.headers["set-cookie"]
    token = csrf(client)
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert audit_actions(client)[-3:] == ["login.success", "login.success", "logout"]


def test_five_failures_lock_account_and_address(api: Api) -> None:
    client = api.client
    for attempt in range(4):
        response = login(client, "test-operator", f"Wrong!{attempt}x")
        assert response.status_code == 401
        assert "wrong user name or password" in response.text
    response = login(client, "test-operator", "Wrong!4x")
    assert response.status_code == 423
    assert "is locked until" in response.text
    right = login(client, "test-operator", "Str0ng!Passw0rd")
    assert right.status_code == 423
    assert "source address testclient is locked" in right.text
    locks = client.get("/api/v1/locks", headers=api.headers()).json()
    assert [a["username"] for a in locks["accounts"]] == ["test-operator"]
    assert [a["source_ip"] for a in locks["addresses"]] == ["testclient"]
    viewer = client.get("/api/v1/locks", headers=api.headers(Role.viewer))
    assert viewer.status_code == 403
    assert (
        client.delete("/api/v1/locks/addresses/testclient", headers=api.headers()).status_code
        == 204
    )
    still = login(client, "test-operator", "Str0ng!Passw0rd")
    assert "account test-operator is locked" in still.text
    response = client.delete("/api/v1/locks/accounts/test-operator", headers=api.headers())
    assert response.status_code == 204
    assert login(client, "test-operator", "Str0ng!Passw0rd").status_code == 303
    actions = audit_actions(client)
    assert actions.count("login.failure") == 7 and "account.unlock" in actions
    assert "ip.unlock" in actions


def test_unknown_names_lock_the_address_only(api: Api) -> None:
    client = api.client
    for attempt in range(5):
        login(client, f"ghost{attempt}", "Whatever!1")
    response = login(client, "test-viewer", "Str0ng!Passw0rd")
    assert "source address testclient is locked" in response.text
    with factory(client)() as s:
        viewer = s.scalar(select(Account).where(Account.username == "test-viewer"))
        assert viewer is not None and viewer.failed_logins == 0 and viewer.locked_until is None


def test_success_resets_counters_and_lock_expires(api: Api) -> None:
    client = api.client
    for _ in range(4):
        login(client, "test-viewer", "Wrong!pass1")
    assert login(client, "test-viewer", "Str0ng!Passw0rd").status_code == 303
    factory_ = factory(client)
    with factory_() as s:
        viewer = s.scalar(select(Account).where(Account.username == "test-viewer"))
        ip = s.scalar(select(IpLock).where(IpLock.source_ip == "testclient"))
        assert viewer is not None and ip is not None
        assert viewer.failed_logins == 0 and ip.failed_logins == 0
        past = utcnow() - dt.timedelta(minutes=1)
        viewer.failed_logins, viewer.locked_until = 5, past
        ip.failed_logins, ip.locked_until = 5, past
        s.commit()
    assert login(client, "test-viewer", "Str0ng!Passw0rd").status_code == 303


def test_lock_duration_follows_settings(settings: Settings) -> None:
    settings = settings.model_copy(update={"lockout_attempts": 2, "lockout_minutes": 7})
    with TestClient(create_app(settings)) as client:
        initialize(client)
        login(client, "admin", "Wrong!pass1")
        before = utcnow()
        login(client, "admin", "Wrong!pass2")
        with factory(client)() as s:
            admin = s.scalar(select(Account).where(Account.username == "admin"))
            assert admin is not None and admin.locked_until is not None
            delta = admin.locked_until - before
            assert dt.timedelta(minutes=6) < delta <= dt.timedelta(minutes=7, seconds=5)


def test_password_is_never_logged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(5):
        login(api.client, "test-viewer", "Sup3r$ecretValue")
    login(api.client, "test-admin", "An0ther$ecretValue")
    api.client.post("/password-strength", data={"password": "Th1rd$ecretValue"})
    assert "login.failure" in caplog.text or "locked" in caplog.text
    for secret in ("Sup3r$ecretValue", "An0ther$ecretValue", "Th1rd$ecretValue"):
        assert secret not in caplog.text


def test_forgot_password_with_questions(fresh: TestClient) -> None:
    initialize(fresh)
    page = fresh.post("/forgot-password", data={"username": "admin"})
    assert "First pet?" in page.text and "Birth city?" in page.text
    data = {"username": "admin", "a0": "rex", "a1": "paris", "a2": "jaures"}
    data |= {"password": "N3w!Secret", "confirm": "N3w!Secret"}
    wrong = fresh.post("/forgot-password/reset", data=data)
    assert wrong.status_code == 401 and "security answer is wrong" in wrong.text
    data["a1"] = "  LYON "
    done = fresh.post("/forgot-password/reset", data=data, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
    assert login(fresh, "admin", PASSWORD).status_code == 401
    assert login(fresh, "admin", "N3w!Secret").status_code == 303
    assert "account.forgot_password" in audit_actions(fresh)


def test_wrong_answers_count_towards_lockout(fresh: TestClient) -> None:
    initialize(fresh)
    data = {"username": "admin", "a0": "x", "a1": "y", "a2": "z", "password": "", "confirm": ""}
    for _ in range(5):
        response = fresh.post("/forgot-password/reset", data=data)
    assert response.status_code == 423 and "is locked until" in response.text


def test_login_purges_expired_sessions(api: Api) -> None:
    client = api.client
    login(client, "test-viewer", "Str0ng!Passw0rd")
    with factory(client)() as s:
        row = s.scalar(select(LoginSession))
        assert row is not None
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
        s.commit()
    assert client.get("/", follow_redirects=False).status_code == 303  # expired: log in again
    login(client, "test-viewer", "Str0ng!Passw0rd")
    with factory(client)() as s:
        assert len(s.scalars(select(LoginSession)).all()) == 1
