"""Console "not allowed" page, forgot password that reveals nothing, maximum password age."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from openpss.platform.app import create_app
from openpss.platform.db import utcnow
from openpss.platform.security.models import Account, AuditEntry, LoginSession, Role
from openpss.platform.security.service import build_questions
from openpss.platform.settings import Settings
from tests.conftest import add_account

PASSWORD = "Str0ng!Passw0rd"
NEW_PASSWORD = "N3w!Passw0rd#"


def make_app(settings: Settings) -> FastAPI:
    """An app with 'boss' (administrator, with security questions) and 'clerk' (viewer, none)."""
    app = create_app(settings)
    with app.state.session_factory() as s:
        boss = add_account(s, "boss", Role.administrator, PASSWORD)
        boss.questions = build_questions([("Pet?", "Rex"), ("City?", "Lyon"), ("Car?", "Golf")])
        add_account(s, "clerk", Role.viewer, PASSWORD)
        s.commit()
    return app


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    app = make_app(settings)
    yield app
    app.state.engine.dispose()


def login(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    data = {"username": username, "password": password}
    return client.post("/login", data=data, follow_redirects=False)


def test_console_answers_a_too_low_role_with_an_html_page(app: FastAPI) -> None:
    client = TestClient(app)
    assert login(client, "clerk").status_code == 303
    page = client.get("/accounts")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "Not allowed" in page.text and "<strong>administrator</strong> role" in page.text
    assert 'href="/people"' in page.text and "Log out" in page.text  # the nav of the viewer
    assert 'href="/accounts"' not in page.text  # not offered to a viewer
    fragment = client.get("/audit", headers={"HX-Request": "true"})
    assert fragment.status_code == 403 and "Not allowed" in fragment.text
    assert "<html" not in fragment.text and fragment.headers["HX-Retarget"] == "#main"
    api = client.get("/api/v1/accounts")
    assert api.status_code == 403
    assert api.json()["detail"].startswith("this needs the administrator")


def test_forgot_password_reveals_nothing(app: FastAPI) -> None:
    client = TestClient(app)
    pages = {}
    for name in ("boss", "clerk", "nobody"):
        page = client.post("/forgot-password", data={"username": name})
        assert page.status_code == 200, name
        questions = re.findall(r"<label>([^<]+) <input name=\"a\d\"", page.text)
        assert len(questions) == 3, name
        pages[name] = questions
    assert pages["boss"] == ["Pet?", "City?", "Car?"]
    # Decoys are stable per name, so asking twice shows nothing either.
    again = client.post("/forgot-password", data={"username": "nobody"})
    assert re.findall(r"<label>([^<]+) <input name=\"a\d\"", again.text) == pages["nobody"]
    errors = {}
    for name in ("boss", "clerk", "nobody"):
        data = {"username": name, "a0": "a", "a1": "b", "a2": "c"}
        data |= {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        response = client.post("/forgot-password/reset", data=data)
        match = re.search(r'id="form-error">([^<]+)<', response.text)
        assert match, name
        errors[name] = (response.status_code, match.group(1))
    assert errors["boss"] == errors["clerk"] == errors["nobody"]
    assert errors["boss"] == (401, "at least one security answer is wrong")


def test_forgot_password_for_unknown_names_counts_towards_the_address_lock(app: FastAPI) -> None:
    client = TestClient(app)
    data = {"username": "nobody", "a0": "a", "a1": "b", "a2": "c", "password": "", "confirm": ""}
    statuses = [client.post("/forgot-password/reset", data=data).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]


@pytest.fixture
def aging(settings: Settings) -> Iterator[FastAPI]:
    """Password max age 30 days; clerk's password is 31 days old."""
    app = make_app(settings.model_copy(update={"password_max_age_days": 30}))
    with app.state.session_factory() as s:
        clerk = s.scalar(select(Account).where(Account.username == "clerk"))
        assert clerk is not None
        clerk.password_changed_at = utcnow() - dt.timedelta(days=31)
        s.commit()
    yield app
    app.state.engine.dispose()


def test_expired_password_must_be_changed_at_login(aging: FastAPI) -> None:
    client = TestClient(aging)
    assert login(client, "boss").status_code == 303  # a fresh password logs in as usual
    client = TestClient(aging)
    page = login(client, "clerk")
    assert page.status_code == 403 and "older than 30 days" in page.text
    assert 'action="/login/expired"' in page.text
    assert client.get("/", follow_redirects=False).status_code == 303  # no session opened
    form = {"username": "clerk", "current": PASSWORD, "password": NEW_PASSWORD}
    wrong = client.post("/login/expired", data=form | {"current": "x", "confirm": NEW_PASSWORD})
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    same = client.post("/login/expired", data=form | {"password": PASSWORD, "confirm": PASSWORD})
    assert same.status_code == 422 and "must differ" in same.text
    done = client.post(
        "/login/expired", data=form | {"confirm": NEW_PASSWORD}, follow_redirects=False
    )
    assert done.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 200
    with aging.state.session_factory() as s:
        clerk = s.scalar(select(Account).where(Account.username == "clerk"))
        assert clerk is not None and utcnow() - clerk.password_changed_at < dt.timedelta(hours=1)
        assert s.scalar(select(LoginSession).where(LoginSession.account_id == clerk.id))
        details = [e.detail for e in s.scalars(select(AuditEntry)) if e.actor == "clerk"]
    assert any("password expired" in d for d in details)
    assert login(TestClient(aging), "clerk", NEW_PASSWORD).status_code == 303


def test_password_age_is_not_enforced_when_off(app: FastAPI) -> None:
    with app.state.session_factory() as s:
        clerk = s.scalar(select(Account).where(Account.username == "clerk"))
        assert clerk is not None
        clerk.password_changed_at = utcnow() - dt.timedelta(days=3000)
        s.commit()
    assert login(TestClient(app), "clerk").status_code == 303
