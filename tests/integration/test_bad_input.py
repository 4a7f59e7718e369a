"""Bad input is refused with a 4xx that says what to fix, never a 500 (issue 8 item 9)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from openpss.platform.security.models import Role
from tests.conftest import Api
from tests.integration.api_support import PASSWORD, sqlite_api_for

V1 = "/api/v1"
TOO_BIG = 2**63  # one more than a 64-bit database integer holds


@pytest.fixture
def sqlite_api(sqlite_url: str, tmp_path: Path) -> Iterator[Api]:
    yield from sqlite_api_for(sqlite_url, tmp_path)


def _person(api: Api, user_id: str, name: str) -> int:
    body = {"user_id": user_id, "name": name, "department_id": 1}
    answer = api.client.post(f"{V1}/people/persons", json=body, headers=api.headers())
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _device(api: Api, name: str, **extra: object) -> int:
    body = {"name": name, "host": "127.0.0.1", "username": "admin", "password": "pw", **extra}
    answer = api.client.post(f"{V1}/devices", json=body, headers=api.headers())
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_integers_beyond_64_bits_are_422_in_paths_offsets_and_id_lists(api: Api) -> None:
    """On SQLite and PostgreSQL (both drivers overflowed: 500)."""
    c, h = api.client, api.headers()
    for url in (
        f"{V1}/people/persons/{TOO_BIG}",
        f"{V1}/devices/{TOO_BIG}",
        f"{V1}/permission-groups/{TOO_BIG}",
        f"{V1}/vision/cameras/{TOO_BIG}/statistics",
        f"{V1}/devices?offset={TOO_BIG}",
        f"{V1}/people/persons?offset={TOO_BIG}",
        f"{V1}/authorization/tasks?offset={TOO_BIG}",
        f"{V1}/records/access?offset={TOO_BIG}",
        f"{V1}/audit?page={TOO_BIG}",
    ):
        answer = c.get(url, headers=h)
        assert answer.status_code == 422, url
        assert answer.json()["code"] == "invalid", url
    group = {"name": "G", "verification_methods": ["card"], "person_ids": [TOO_BIG]}
    assert c.post(f"{V1}/permission-groups", json=group, headers=h).status_code == 422
    compute = {"start": "2024-01-01", "end": "2024-01-31", "person_ids": [2**64]}
    assert c.post(f"{V1}/attendance/compute", json=compute, headers=h).status_code == 422


def test_explicit_null_for_a_field_that_must_have_a_value_is_422(api: Api) -> None:
    """On SQLite and PostgreSQL (both refused the NULL with an IntegrityError: 500)."""
    c, h = api.client, api.headers()
    person = _person(api, "1", "Ann")
    for field in ("gender", "email", "valid_from", "administrator"):
        answer = c.patch(f"{V1}/people/persons/{person}", json={field: None}, headers=h)
        assert answer.status_code == 422, field
        assert f"{field} cannot be null" in answer.json()["detail"]
    cleared = c.patch(f"{V1}/people/persons/{person}", json={"times_used": None}, headers=h)
    assert cleared.status_code == 200  # may be empty: null clears it
    period = c.post(f"{V1}/attendance/periods", json={"name": "Day"}, headers=h).json()["id"]
    for body in ({"name": None}, {"work_start": None}, {"first_last_only": None}):
        answer = c.patch(f"{V1}/attendance/periods/{period}", json=body, headers=h)
        assert answer.status_code == 422, body
    shift = {"name": "W", "start_date": "2024-03-04", "cycle_mode": "week", "cycles": 1,
             "arrangement": {"0": [period]}}  # fmt: skip
    shift_id = c.post(f"{V1}/attendance/shifts", json=shift, headers=h).json()["id"]
    for body in ({"cycles": None}, {"arrangement": None}, {"start_date": None}):
        answer = c.patch(f"{V1}/attendance/shifts/{shift_id}", json=body, headers=h)
        assert answer.status_code == 422, body


def test_control_characters_in_names_do_not_break_xlsx_exports(sqlite_api: Api) -> None:
    c, h = sqlite_api.client, sqlite_api.headers()
    _person(sqlite_api, "1", "Ann\x07Bell")
    _device(sqlite_api, "Gate\x01", remark="side\x1bdoor")
    persons = c.get(f"{V1}/people/export", headers=h)
    devices = c.get(f"{V1}/devices/export", headers=h)
    audit = c.get(f"{V1}/audit/export", headers=h)
    assert persons.status_code == devices.status_code == audit.status_code == 200

    def cells(content: bytes) -> set[object]:
        sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
        return {value for row in sheet.iter_rows(values_only=True) for value in row}

    assert "Ann\ufffdBell" in cells(persons.content)
    assert {"Gate\ufffd", "side\ufffddoor"} <= cells(devices.content)
    assert any("Gate\ufffd" in str(v) for v in cells(audit.content))


def test_time_zone_must_be_an_iana_name(sqlite_api: Api) -> None:
    c, h = sqlite_api.client, sqlite_api.headers()
    for zone in ("", "Mars/Base", "../../etc/passwd"):
        answer = c.patch(f"{V1}/attendance/settings", json={"timezone": zone}, headers=h)
        assert answer.status_code == 422, zone
        assert "IANA time zone" in answer.json()["detail"]
    ok = c.patch(f"{V1}/attendance/settings", json={"timezone": "Europe/Berlin"}, headers=h)
    assert ok.status_code == 200 and ok.json()["timezone"] == "Europe/Berlin"


def test_first_department_call_on_a_fresh_platform_finds_the_company_root(
    sqlite_api: Api,
) -> None:
    c, h = sqlite_api.client, sqlite_api.headers()
    answer = c.post(f"{V1}/people/departments", json={"name": "Sales", "parent_id": 1}, headers=h)
    assert answer.status_code == 201, answer.text
    assert c.get(f"{V1}/people/departments", headers=h).json()["id"] == 1


def test_compute_range_is_bounded(sqlite_api: Api) -> None:
    c, h = sqlite_api.client, sqlite_api.headers()
    years = {"start": "0001-01-01", "end": "9999-12-31"}
    answer = c.post(f"{V1}/attendance/compute", json=years, headers=h)
    assert answer.status_code == 422 and "at most 366 days" in answer.json()["detail"]
    backwards = {"start": "2024-02-01", "end": "2024-01-01"}
    assert c.post(f"{V1}/attendance/compute", json=backwards, headers=h).status_code == 422


def test_records_page_with_bad_numbers_is_422(sqlite_api: Api) -> None:
    c = sqlite_api.client
    login = {"username": "test-viewer", "password": PASSWORD}
    assert c.post("/login", data=login, follow_redirects=False).status_code == 303
    assert c.get("/records").status_code == 200
    page = c.get("/records?page=x")
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    device = c.get("/records?device_id=abc")
    # The page's declared query (RecordQuery) names the field and what it must be.
    assert device.status_code == 422 and "device_id: Input should be a valid integer" in device.text
    huge = c.get(f"/records?device_id={TOO_BIG}")
    assert huge.status_code == 422


@pytest.mark.parametrize("wildcard", ["%", "_"])
def test_search_wildcards_match_only_themselves(sqlite_api: Api, wildcard: str) -> None:
    c, h = sqlite_api.client, sqlite_api.headers(Role.administrator)
    _device(sqlite_api, f"A{wildcard}1")
    _device(sqlite_api, "AB1")
    found = c.get(f"{V1}/devices", params={"search": f"A{wildcard}"}, headers=h).json()
    assert [d["name"] for d in found["items"]] == [f"A{wildcard}1"]
    for name in (f"G{wildcard}1", "GX1"):
        body = {"name": name, "verification_methods": ["card"]}
        assert c.post(f"{V1}/permission-groups", json=body, headers=h).status_code == 201
    groups = c.get(f"{V1}/permission-groups", params={"search": f"G{wildcard}"}, headers=h)
    assert [g["name"] for g in groups.json()] == [f"G{wildcard}1"]
    audit = c.get(f"{V1}/audit", params={"action": f"device{wildcard}"}, headers=h).json()
    assert audit["total"] == 0  # "device.create" starts with "device." not "device%"/"device_"


def test_date_time_filters_take_iso_8601_not_timestamps(sqlite_api: Api) -> None:
    c, h = sqlite_api.client, sqlite_api.headers()
    for value in ("358", "3.4e-282", "1700000000"):
        answer = c.get(f"{V1}/audit", params={"since": value}, headers=h)
        assert answer.status_code == 422 and "ISO 8601" in answer.json()["detail"], value
        records = c.get(f"{V1}/records/access", params={"start": value}, headers=h)
        assert records.status_code == 422, value
    iso = c.get(f"{V1}/audit", params={"since": "2024-03-04T09:00:00"}, headers=h)
    assert iso.status_code == 200


def test_results_of_the_first_days_of_the_calendar_are_empty_not_500(sqlite_api: Api) -> None:
    c, h = sqlite_api.client, sqlite_api.headers()
    answer = c.get(
        f"{V1}/attendance/results", params={"start": "0001-01-01", "end": "0001-01-02"}, headers=h
    )
    assert answer.status_code == 200 and answer.json() == {"total": 0, "items": []}
