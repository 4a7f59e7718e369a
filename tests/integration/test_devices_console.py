"""Console pages of the device manager and the remaining permission pages (both databases)."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook

from openpss.platform.people.models import Department, Person
from openpss.platform.security.models import Role
from tests.conftest import Api


def test_device_manager_pages(api: Api) -> None:
    op = api.headers(Role.operator)
    form = {"name": "Gate", "host": "10.0.0.5", "port": "37777", "username": "admin"}
    added = api.client.post("/devices", data=form | {"password": "pw"}, headers=op)
    assert "Device &#39;Gate&#39; added." in added.text
    bad = api.client.post("/devices", data=form | {"name": "B", "host": "bad host"}, headers=op)
    assert "not an IPv4 address" in bad.text
    device_id = api.client.get("/api/v1/devices", headers=op).json()["items"][0]["id"]
    page = api.client.get(f"/devices/{device_id}", headers=op)
    assert "Extract personnel" in page.text
    edited = api.client.post(
        f"/devices/{device_id}", data={"name": "Gate", "host": "10.0.0.6", "port": "0"}, headers=op
    )
    assert "greater than or equal to 1" in edited.text
    edited = api.client.post(
        f"/devices/{device_id}", data={"name": "Main gate", "host": "10.0.0.6"}, headers=op
    )
    assert "Saved." in edited.text
    assert api.client.get(f"/api/v1/devices/{device_id}", headers=op).json()["password_set"]
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Device Name", "IP/Domain", "Port", "User Name", "Type", "Doors", "Remark"])
    sheet.append(["Lobby", "lobby.example.com", 37777, "admin", "access", 2, ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    files = {"file": ("d.xlsx", buffer.getvalue())}
    imported = api.client.post("/devices/import", files=files, headers=op)
    assert "1 added, 0 updated. Set a password for: Lobby." in imported.text
    assert 'href="/api/v1/devices/export"' in imported.text  # the console links the API's export
    exported = api.client.get("/api/v1/devices/export", headers=op)
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert api.client.post(f"/devices/{device_id}/delete", headers=op).status_code == 403
    deleted = api.client.post(
        f"/devices/{device_id}/delete", headers=api.headers(Role.administrator),
        follow_redirects=False,
    )  # fmt: skip
    assert deleted.status_code == 303


def test_group_edit_template_edit_retry_and_person_fragment(api: Api) -> None:
    op = api.headers(Role.operator)
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        dep = Department(name="Ops")
        s.add(dep)
        s.flush()
        person = Person(user_id="77", name="Oscar", department_id=dep.id,
                        valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                        valid_to=dt.datetime(2036, 1, 1, tzinfo=dt.UTC))  # fmt: skip
        s.add(person)
        s.commit()
        person_id = person.id
    body = {"name": "Door", "host": "127.0.0.1", "username": "admin", "password": "pw"}
    device_id = api.client.post("/api/v1/devices", json=body, headers=op).json()["id"]
    group = api.client.post(
        "/api/v1/permission-groups",
        json={"name": "Ops", "verification_methods": ["card"], "doors": [{"device_id": device_id}]},
        headers=op,
    ).json()
    page = api.client.get(f"/permissions/groups/{group['id']}", headers=op)
    assert "Door · Door 1" in page.text
    saved = api.client.post(
        f"/permissions/groups/{group['id']}",
        data={"name": "Ops", "verification_methods": ["card", "password"],
              "doors": [f"{device_id}:1"], "person_user_ids": "77"},
        headers=op,
    )  # fmt: skip
    assert "Saved." in saved.text
    assert "77" in saved.text
    fragment = api.client.post(
        f"/permissions/person/{person_id}", data={}, headers=op | {"HX-Request": "true"}
    )
    assert "Permissions saved." in fragment.text
    # Oscar left the group before his task was ever sent: the task is simply dropped.
    assert api.client.get("/api/v1/authorization/tasks", headers=op).json()["total"] == 0
    template = api.client.post(
        "/api/v1/time-templates",
        json={"name": "Nights", "weekly": [[["20:00", "24:00"]]] * 7},
        headers=op,
    ).json()
    edit = api.client.get(f"/permissions/templates?edit={template['id']}", headers=op)
    assert "20:00-24:00" in edit.text
    retry = api.client.post("/permissions/progress/retry", data={}, headers=op)
    assert "0 failed task(s) queued again." in retry.text
    gone = api.client.post(
        f"/permissions/groups/{group['id']}/delete", headers=op, follow_redirects=False
    )
    assert gone.status_code == 303
