"""Create a permission group in the console and watch the authorization progress (Chromium)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.people.models import Department, Person
from tests.browser.helpers import initialize_and_login

pytestmark = pytest.mark.browser


def _seed(live_server: Any) -> None:
    with live_server.app.state.session_factory() as s:
        dep = Department(name="Engineering")
        s.add(dep)
        s.flush()
        for i in range(2):
            s.add(
                Person(
                    user_id=f"E{i}",
                    name=f"Engineer {i}",
                    department_id=dep.id,
                    valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                    valid_to=dt.datetime(2036, 1, 1, tzinfo=dt.UTC),
                )
            )
        password = encrypt_secret(live_server.settings, "Adm1n!pass")
        s.add(
            Device(name="Lab door", host="127.0.0.1", username="admin", password_encrypted=password)
        )
        s.commit()


def test_create_group_and_see_progress(page: Any, live_server: Any) -> None:
    _seed(live_server)
    initialize_and_login(page, live_server)
    page.goto(f"{live_server.url}/permissions")
    page.click("#add-group-toggle")
    page.fill("#add-group input[name=name]", "Lab access")
    page.fill("#add-group input[name=remark]", "engineers only")
    page.check("#add-group input[name=verification_methods][value=fingerprint]")
    page.check("#add-group input[name=doors]")
    page.check("#add-group input[name=department_ids]")
    page.click("#add-group button[type=submit]")
    page.wait_for_selector("text=Permission group 'Lab access' added.")
    row = page.locator("#group-list tbody tr", has_text="Lab access")
    assert "card, fingerprint" in row.inner_text()
    assert "Lab door · Door 1" in row.inner_text()
    page.click("text=Authorization progress")
    page.wait_for_selector("#progress-title")
    device_row = page.locator("#progress-devices tbody tr", has_text="Lab door")
    cells = device_row.locator("td").all_inner_texts()
    assert cells[:5] == ["Lab door", "offline", "2", "0", "0"]
    persons = page.locator("#progress-persons tbody").inner_text()
    assert "Engineer 0" in persons and "Engineer 1" in persons


def test_add_device_in_device_manager(page: Any, live_server: Any) -> None:
    initialize_and_login(page, live_server)
    page.goto(f"{live_server.url}/devices")
    page.wait_for_selector("#device-manager")
    page.click("text=Add device")
    page.fill("#add-device input[name=name]", "Front door")
    page.fill("#add-device input[name=host]", "not a host!")
    page.fill("#add-device input[name=password]", "Adm1n!pass")
    page.click("#add-device button[type=submit]")
    page.wait_for_selector("text=is not an IPv4 address")
    page.fill("#add-device input[name=host]", "192.168.1.108")
    page.fill("#add-device input[name=password]", "Adm1n!pass")
    page.click("#add-device button[type=submit]")
    page.wait_for_selector("text=Device 'Front door' added.")
    row = page.locator("tbody tr", has_text="Front door").inner_text()
    assert "192.168.1.108" in row and "37777" in row and "offline" in row
