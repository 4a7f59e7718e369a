"""Success notices after saves in the console (issue 8.14): a redirect's notice is shown once on
the next page; an HTMX save fires the `openpss-flash` event with the notice."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openpss.platform.security.models import Account, Role
from openpss.platform.security.tokens import open_login_session
from openpss.platform.web.flash import FLASH_COOKIE
from tests.conftest import Api


@pytest.fixture
def console(api: Api) -> tuple[TestClient, dict[str, str]]:
    """The operator's console session and its CSRF header."""
    app = api.client.app
    with app.state.session_factory() as s:  # type: ignore[attr-defined]
        account = s.scalars(select(Account).where(Account.role == Role.operator)).one()
        cookie, row = open_login_session(session=s, account=account, lifetime=dt.timedelta(hours=1))
        s.commit()
        csrf = row.csrf_token
    api.client.cookies.set("openpss_session", cookie)
    return api.client, {"X-CSRF-Token": csrf}


def test_saved_period_is_announced_once_on_the_next_page(
    console: tuple[TestClient, dict[str, str]],
) -> None:
    client, csrf = console
    form = {"name": "Early", "kind": "fixed", "work_start": "07:00", "work_end": "15:00"}
    saved = client.post("/attendance/periods", data=form, headers=csrf, follow_redirects=False)
    assert saved.status_code == 303 and FLASH_COOKIE in saved.cookies
    page = client.get(saved.headers["location"])
    assert '<p id="flash" class="flash ok" role="status"' in page.text
    assert "Period &#39;Early&#39; added." in page.text
    again = client.get(saved.headers["location"])  # shown once: the page cleared it
    assert "Period &#39;Early&#39; added." not in again.text
    assert 'id="flash" class="flash ok" role="status" aria-live="polite" hidden' in again.text


def test_refused_save_has_no_success_notice(console: tuple[TestClient, dict[str, str]]) -> None:
    client, csrf = console
    form = {"name": "", "kind": "fixed"}
    refused = client.post("/attendance/periods", data=form, headers=csrf, follow_redirects=False)
    assert refused.status_code != 303 and FLASH_COOKIE not in refused.cookies
    assert "added." not in refused.text


def test_htmx_person_save_fires_the_flash_event_and_refreshes_the_list(
    console: tuple[TestClient, dict[str, str]],
) -> None:
    client, csrf = console
    hx = {**csrf, "HX-Request": "true"}
    data = {"user_id": "77", "name": "Ada Flash"}
    added = client.post("/people/persons", data=data, headers=hx)
    assert added.status_code == 200, added.text
    triggers = json.loads(added.headers["HX-Trigger"])
    assert triggers == {"people-changed": "", "openpss-flash": "Person 77 (Ada Flash) added."}


def test_shift_day_drop_and_holiday_announce_what_was_saved(
    console: tuple[TestClient, dict[str, str]],
) -> None:
    client, csrf = console
    api = "/api/v1/attendance"
    period = client.post(f"{api}/periods", json={"name": "Day"}, headers=csrf).json()
    shift = {"name": "Week", "start_date": "2024-03-04", "arrangement": {}}
    shift_id = client.post(f"{api}/shifts", json=shift, headers=csrf).json()["id"]
    hx = {**csrf, "HX-Request": "true"}
    dropped = client.post(
        f"/attendance/shifts/{shift_id}/days/0", data={"period_id": period["id"]}, headers=hx
    )
    assert dropped.status_code == 200, dropped.text
    assert json.loads(dropped.headers["HX-Trigger"]) == {
        "openpss-flash": "Shift 'Week' arrangement saved."
    }
    holiday = client.post(
        "/attendance/holidays", data={"day": "2024-05-01", "name": "Labour Day"}, headers=csrf,
        follow_redirects=False,
    )  # fmt: skip
    page = client.get(holiday.headers["location"])
    assert "Holiday &#39;Labour Day&#39; on 2024-05-01 added." in page.text
