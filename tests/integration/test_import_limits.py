"""Hostile imports (people, devices, the terminal's USB files) are refused quickly, off the
event loop, with 413 (too large) or 422 (too many rows, with the limit); nothing is imported."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from openpss.devices.attendance import usb
from openpss.platform.app import create_app
from openpss.platform.devices.models import Device
from openpss.platform.people import xlsx
from openpss.platform.security.models import Role
from openpss.platform.security.tokens import create_api_token
from openpss.platform.settings import Settings
from tests.conftest import Api, add_account
from tests.support.dahua_device import ADMIN_PASSWORD, running_device
from tests.support.hostile_xlsx import far_row, huge_dimension, million_blank_rows
from tests.support.people_bulk import person_count, sheet_rows

P = "/api/v1/people"
DEVICE_HEADER = ["Device Name", "IP/Domain", "Port", "User Name", "Type", "Doors", "Remark"]
DEVICE_ROW = ["Door", "10.0.0.5", 37777, "admin", "access", 1, ""]


def _person_header(api: Api) -> list[str]:
    template = api.client.get(f"{P}/import/template", headers=api.headers(Role.operator))
    return [str(c) for c in sheet_rows(template.content)[0]]


def _post(api: Api, url: str, data: bytes) -> httpx.Response:
    files = {"file": ("hostile.xlsx", data, "application/octet-stream")}
    return api.client.post(url, files=files, headers=api.headers(Role.operator))


def test_person_import_refuses_million_blank_rows_with_the_limit(api: Api) -> None:
    data = million_blank_rows(_person_header(api), ["5001", "Blank Rows"])
    response = _post(api, f"{P}/import", data)
    assert response.status_code == 422
    assert "more than 100001 rows (blank rows count)" in response.json()["detail"]
    assert person_count(api) == 0


def test_person_import_refuses_a_row_at_ten_million(api: Api) -> None:
    response = _post(api, f"{P}/import", far_row(_person_header(api), ["5002", "Far"]))
    assert response.status_code == 422
    assert "the limit is 100001" in response.json()["detail"]
    assert person_count(api) == 0


def test_person_import_ignores_a_huge_declared_dimension(api: Api) -> None:
    response = _post(api, f"{P}/import", huge_dimension(_person_header(api), ["5003", "Dim"]))
    assert response.status_code == 200 and response.json()["imported"] == 1


def test_person_import_over_the_size_cap_is_413(api: Api) -> None:
    response = _post(api, f"{P}/import", b"\0" * (20 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert "larger than 20 MB" in response.json()["detail"]
    page = api.client.post(
        "/people/import",
        files={"file": ("big.xlsx", b"\0" * (20 * 1024 * 1024 + 1), "application/octet-stream")},
        headers=api.headers(Role.operator),
    )
    assert page.status_code == 413 and "larger than 20 MB" in page.text


def test_request_body_over_the_cap_is_413_before_parsing(api: Api) -> None:
    response = _post(api, "/api/v1/devices/import", b"\0" * (22 * 1024 * 1024))
    assert response.status_code == 413
    assert "request body is larger than 21 MB" in response.json()["detail"]


def _device_count(api: Api) -> int:
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(Device)) or 0)


def test_device_import_has_a_size_cap_and_a_row_limit(api: Api) -> None:
    big = _post(api, "/api/v1/devices/import", b"PK" + b"\0" * (20 * 1024 * 1024))
    assert big.status_code == 413 and "larger than 20 MB" in big.json()["detail"]
    blank = _post(api, "/api/v1/devices/import", million_blank_rows(DEVICE_HEADER, DEVICE_ROW))
    assert blank.status_code == 422
    assert "more than 5001 rows (blank rows count)" in blank.json()["detail"]
    far = _post(api, "/api/v1/devices/import", far_row(DEVICE_HEADER, DEVICE_ROW))
    assert far.status_code == 422 and "the limit is 5001" in far.json()["detail"]
    page = api.client.post(
        "/devices/import",
        files={"file": ("d.xlsx", far_row(DEVICE_HEADER, DEVICE_ROW), "application/octet-stream")},
        headers=api.headers(Role.operator),
    )
    assert "the limit is 5001" in page.text
    assert _device_count(api) == 0


async def test_import_parses_off_the_event_loop(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While an import is being parsed, other requests are still answered."""
    started, release = threading.Event(), threading.Event()
    timed_out: list[bool] = []

    def slow_import(**kwargs: Any) -> tuple[int, list[Any]]:
        started.set()
        release.wait(timeout=20)  # on the event loop this would block the GET below
        timed_out.append(not release.is_set())
        return 0, []

    monkeypatch.setattr(xlsx, "import_persons", slow_import)
    app = create_app(settings)
    with app.state.session_factory() as s:
        account = add_account(s, "importer", Role.operator, "Str0ng!Passw0rd")
        token, _ = create_api_token(session=s, account=account, name="t")
        s.commit()
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        files = {"file": ("p.xlsx", b"PK", "application/octet-stream")}
        upload = asyncio.create_task(client.post(f"{P}/import", files=files, headers=headers))
        for _ in range(2000):
            if started.is_set():
                break
            await asyncio.sleep(0.01)
        assert started.is_set()
        other = await client.get(f"{P}/card-mode", headers=headers)
        assert other.status_code == 200
        release.set()
        await upload
    assert timed_out == [False]  # released by the test after the GET was answered


def test_terminal_usb_import_over_http_refuses_a_blank_row_flood(tmp_path: Path) -> None:
    usb_dir = tmp_path / "usb"
    usb_dir.mkdir()
    row = [2, "Bob", "", "", 1, "User", "Department"]
    (usb_dir / usb.USER_FILE).write_bytes(
        million_blank_rows(usb.USER_HEADER, row, title="UserInfo")
    )
    with running_device(tmp_path / "dev", usb_dir=usb_dir) as device:
        auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
        url = f"{device.url}/openpss/control/usb"
        refused = httpx.post(url, json={"operation": "import_users"}, auth=auth)
        assert refused.status_code == 422
        assert "more than 100000 rows (blank rows count)" in refused.json()["detail"]
        assert sorted(device.terminal.users) == []
