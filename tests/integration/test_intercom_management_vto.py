"""Across processes: the intercom management page drives `openpss device vto` over its Dahua CGI
API (both databases). A click on the door unlocks it (the VTO writes a remote unlock record,
which the device sync brings into the page's record list); Always open sets the VTO's door mode
OpenAlways, Restore sets it back to Normal; each command is audited by the service. The VTO's
tamper alarm reaches the same list through the sync."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from openpss.platform.devices.adapter import DahuaAdapter
from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.devices.sync import SyncService
from openpss.platform.intercom import buildings, registrations
from openpss.platform.intercom.schemas import NodeCreate, RegistrationCreate
from openpss.platform.security.audit import Actor
from openpss.platform.security.models import AuditEntry, Role
from tests.conftest import Api
from tests.support.device_cli import PASSWORD, vto_process
from tests.support.polling import eventually
from tests.support.ports import free_port

ACTOR = Actor("tester")


def _vto_status(url: str) -> dict[str, Any]:
    auth = httpx.DigestAuth("admin", PASSWORD)
    response = httpx.get(f"{url}/openpss/control/status", auth=auth, timeout=10)
    response.raise_for_status()
    return dict(response.json())


async def _vto_records(url: str) -> list[dict[str, Any]]:
    async with DahuaAdapter(url, "admin", PASSWORD) as adapter:
        return [r async for page in adapter.records_after(0) for r in page]


def _add_vto(api: Api, port: int) -> tuple[int, int]:
    app: Any = api.client.app
    with app.state.session_factory() as s:
        community = buildings.get_community(session=s)
        b = buildings.add_node(session=s, actor=ACTOR, data=NodeCreate(parent_id=community.id,
                                                                       number="1"))  # fmt: skip
        unit = buildings.add_node(session=s, actor=ACTOR, data=NodeCreate(parent_id=b.id,
                                                                          number="1"))  # fmt: skip
        device = Device(
            name="gate", host="127.0.0.1", port=port, username="admin", kind="vto",
            password_encrypted=encrypt_secret(app.state.settings, PASSWORD), door_count=1,
        )  # fmt: skip
        s.add(device)
        s.flush()
        data = RegistrationCreate(
            kind="vto", device_id=device.id, node_id=unit.id, suffix="01", device_number="8001"
        )
        registrations.add_registration(
            session=s, actor=ACTOR, secret_key=app.state.settings.secret_key, data=data
        )
        s.commit()
        return device.id, unit.id


def test_console_unlocks_holds_open_and_restores_a_vto_process(api: Api, tmp_path: Path) -> None:
    op = api.headers(Role.operator)
    http = free_port()
    with vto_process(tmp_path / "vto", free_port(), http, free_port()) as vto:
        device_id, unit = _add_vto(api, http)
        before = len(asyncio.run(_vto_records(vto)))
        page = api.client.get("/intercom", params={"node_id": unit}, headers=op)
        assert f'hx-post="/intercom/devices/{device_id}/doors/1/open"' in page.text

        opened = api.client.post(f"/intercom/devices/{device_id}/doors/1/open", headers=op)
        assert opened.status_code == 200, opened.text
        assert "Door 1 of gate opened." in opened.text
        records = asyncio.run(_vto_records(vto))
        assert len(records) == before + 1
        assert (records[-1]["method"], records[-1]["success"]) == ("remote", True)
        missing = api.client.post(f"/intercom/devices/{device_id}/doors/2/open", headers=op)
        assert missing.status_code == 422 and "has 1 door(s): door 2 does not exist" in missing.text

        form = {"node_id": str(unit), "status": "", "kind": "vto", "search": ""}
        held = api.client.post("/intercom/doors/mode", data=form | {"mode": "always_open"},
                               headers=op)  # fmt: skip
        assert held.status_code == 200 and "Always open: 1 of 1 door station(s) done" in held.text
        assert _vto_status(vto)["door_mode"] == "OpenAlways"
        assert _vto_status(vto)["lock"] == "open"
        restored = api.client.post("/intercom/doors/mode", data=form | {"mode": "normal"},
                                   headers=op)  # fmt: skip
        assert restored.status_code == 200 and "Restore: 1 of 1" in restored.text
        assert _vto_status(vto)["door_mode"] == "Normal"
        eventually(lambda: _vto_status(vto)["lock"] == "locked", what="the lock's hold to end")

        app: Any = api.client.app
        with app.state.session_factory() as s:
            audit = s.execute(
                select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail)
                .where(AuditEntry.action.like("door.%"))
                .order_by(AuditEntry.id)
            ).all()
        assert [(a, b) for a, b, _ in audit] == [
            ("test-operator", "door.unlock"),
            ("test-operator", "door.mode"),
            ("test-operator", "door.mode"),
        ]
        assert '"mode": "always_open"' in audit[1][2] and '"result": "ok"' in audit[1][2]

        async def sync() -> None:
            service = SyncService(app.state.session_factory, app.state.settings,
                                  feed_attendance=False)  # fmt: skip
            try:
                await service.run_once()
            finally:
                await service.close()

        auth = httpx.DigestAuth("admin", PASSWORD)
        tamper = httpx.post(f"{vto}/openpss/control/tamper", json={"detached": True}, auth=auth)
        assert tamper.status_code == 200, tamper.text
        asyncio.run(sync())
        live = api.client.get("/intercom/live", headers=op | {"HX-Request": "true"})
        assert "<td>gate</td><td>remote unlock</td><td>granted</td>" in live.text
        assert "<td>gate</td><td>tamper" in live.text  # the door station's alarm log


def test_door_of_an_unreachable_vto_says_offline(api: Api) -> None:
    device_id, _ = _add_vto(api, free_port())
    refused = api.client.post(f"/intercom/devices/{device_id}/doors/1/open", headers=api.headers())
    assert refused.status_code == 502
    assert "did not open door 1: offline" in refused.text
