"""The operator's console session over the api client: HTMX posts with the CSRF token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openpss.platform.security.models import Account, Role
from openpss.platform.security.tokens import open_login_session
from tests.conftest import Api

HX = {"HX-Request": "true"}


@dataclass
class Console:
    client: TestClient
    csrf: str

    def post(self, url: str, data: dict[str, Any]) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **HX}
        return self.client.post(url, data=data, headers=headers)


@pytest.fixture
def console(api: Api) -> Console:
    """The api client logged in to the console as the operator."""
    app = api.client.app
    with app.state.session_factory() as s:  # type: ignore[attr-defined]
        account = s.scalars(select(Account).where(Account.role == Role.operator)).one()
        cookie, row = open_login_session(session=s, account=account, lifetime=dt.timedelta(hours=1))
        csrf = row.csrf_token
        s.commit()
    api.client.cookies.set("openpss_session", cookie)
    return Console(api.client, csrf)
