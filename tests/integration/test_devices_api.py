"""The device manager over the REST API (SQLite and PostgreSQL)."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from openpss.platform.devices.crypto import decrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.security.models import AuditEntry, Role
from tests.conftest import Api

NEW = {"name": "Gate", "host": "192.168.1.108", "username": "admin", "password": "Adm1n!pass"}


def test_add_list_edit_delete(api: Api) -> None:
    op = api.headers(Role.operator)
    created = api.client.post("/api/v1/devices", json=NEW, headers=op)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["port"] == 37777
    assert body["password_set"] is True
    assert "password" not in body and "password_encrypted" not in body
    app = api.client.app
    with app.state.session_factory() as s:  # type: ignore[attr-defined]
        device = s.scalar(select(Device))
        assert device is not None
        assert "Adm1n" not in device.password_encrypted
        assert decrypt_secret(app.state.settings, device.password_encrypted) == "Adm1n!pass"  # type: ignore[attr-defined]
        actions = s.scalars(select(AuditEntry.action)).all()
        assert "device.create" in actions
        assert not any("Adm1n" in (e.detail or "") for e in s.scalars(select(AuditEntry)))
    listed = api.client.get("/api/v1/devices", headers=api.headers(Role.viewer)).json()
    assert listed["total"] == 1
    assert listed["items"][0]["online"] is False
    changed = api.client.patch(
        f"/api/v1/devices/{body['id']}", json={"port": 80, "host": "door.example.com"}, headers=op
    )
    assert changed.json()["port"] == 80
    assert changed.json()["host"] == "door.example.com"
    assert api.client.delete(f"/api/v1/devices/{body['id']}", headers=op).status_code == 403
    admin = api.headers(Role.administrator)
    assert api.client.delete(f"/api/v1/devices/{body['id']}", headers=admin).status_code == 204
    assert api.client.get(f"/api/v1/devices/{body['id']}", headers=admin).status_code == 404


def test_validation_errors(api: Api) -> None:
    op = api.headers(Role.operator)
    bad_host = api.client.post("/api/v1/devices", json=NEW | {"host": "300.1.1.1"}, headers=op)
    assert bad_host.status_code == 422
    assert "not an IPv4 address" in bad_host.text
    bad_port = api.client.post("/api/v1/devices", json=NEW | {"port": 70000}, headers=op)
    assert bad_port.status_code == 422
    assert api.client.post("/api/v1/devices", json=NEW, headers=op).status_code == 201
    duplicate = api.client.post("/api/v1/devices", json=NEW, headers=op)
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.json()["detail"]
    viewer = api.client.post(
        "/api/v1/devices", json=NEW | {"name": "x"}, headers=api.headers(Role.viewer)
    )
    assert viewer.status_code == 403


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


HEADER: list[object] = [
    "Device Name",
    "IP/Domain",
    "Port",
    "User Name",
    "Type",
    "Doors",
    "Remark",
    "Password",
]


def test_export_has_no_passwords_and_import_round_trips(api: Api) -> None:
    op = api.headers(Role.operator)
    api.client.post("/api/v1/devices", json=NEW, headers=op)
    exported = api.client.get("/api/v1/devices/export", headers=op)
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADER
    assert rows[1][:4] == ["Gate", "192.168.1.108", 37777, "admin"]
    assert rows[1][7] in (None, "")
    content = _xlsx(
        [*rows, ["Hall", "hall.example.com", 37777, "admin", "attendance", 1, "", None]]
    )
    files = {"file": ("devices.xlsx", content)}
    result = api.client.post("/api/v1/devices/import", files=files, headers=op)
    assert result.status_code == 200, result.text
    assert result.json() == {"created": 1, "updated": 1, "without_password": ["Hall"]}
    listed = {d["name"]: d for d in api.client.get("/api/v1/devices", headers=op).json()["items"]}
    assert listed["Gate"]["password_set"] is True  # blank password kept the stored one
    assert listed["Hall"]["password_set"] is False


def test_import_with_a_bad_row_writes_nothing(api: Api) -> None:
    op = api.headers(Role.operator)
    content = _xlsx(
        [
            HEADER,
            ["A", "10.0.0.1", 37777, "admin", "access", 1, "", "pw"],
            ["B", "not a host!", 37777, "admin", "access", 1, "", "pw"],
            ["A", "10.0.0.2", 0, "admin", "access", 1, "", "pw"],
        ]
    )
    result = api.client.post(
        "/api/v1/devices/import", files={"file": ("d.xlsx", content)}, headers=op
    )
    assert result.status_code == 422
    detail = result.json()["detail"]
    assert detail.startswith("nothing was imported")
    assert "row 3: host" in detail
    assert "row 4: port" in detail
    assert "repeats row 2" in detail
    assert api.client.get("/api/v1/devices", headers=op).json()["total"] == 0
    garbage = api.client.post(
        "/api/v1/devices/import", files={"file": ("d.xlsx", b"not a workbook")}, headers=op
    )
    assert garbage.status_code == 422
    assert "not a readable xlsx" in garbage.json()["detail"]


def test_list_query_searches_sorts_and_pages_alike_in_api_and_console(api: Api) -> None:
    op = api.headers(Role.operator)
    for name, host in (("Bravo", "10.0.0.3"), ("Alpha", "10.0.0.9"), ("Charlie", "10.0.0.1")):
        body = {**NEW, "name": name, "host": host}
        assert api.client.post("/api/v1/devices", json=body, headers=op).status_code == 201

    def names(**params: object) -> list[str]:
        page = api.client.get("/api/v1/devices", params=params, headers=op).json()
        return [d["name"] for d in page["items"]]

    assert names() == ["Alpha", "Bravo", "Charlie"]
    assert names(sort="host") == ["Charlie", "Bravo", "Alpha"]
    assert names(sort="host", limit=1, page=2) == ["Bravo"]
    assert names(sort="host", limit=1, offset=2) == ["Alpha"]
    assert names(search="10.0.0.9") == ["Alpha"]
    assert api.client.get("/api/v1/devices?sort=serial", headers=op).status_code == 422
    console = api.client.get("/devices?sort=host&page=1", headers=op).text
    assert console.index("Charlie") < console.index("Bravo") < console.index("Alpha")
    assert "page 1 of 1" in console
    refused = api.client.get("/devices?sort=serial", headers=op)
    assert (
        refused.status_code == 200 and "sort" in refused.text and "Input should be" in refused.text
    )
