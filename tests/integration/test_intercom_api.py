"""Intercom configuration over the REST API and the console (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from sqlalchemy import select

from openpss.platform.security.models import AuditEntry, Role
from tests.conftest import Api
from tests.support import people_console
from tests.support.people_console import Console
from tests.support.vto_device import VTO_PASSWORD, running_vto

console = people_console.console  # the operator's console session (fixture)
BASE = "/api/v1/intercom"


def _post(console: Console, url: str, data: dict[str, object]) -> httpx.Response:
    """A plain console form post (no HTMX), redirects not followed."""
    headers = {"X-CSRF-Token": console.csrf}
    return console.client.post(url, data=data, headers=headers, follow_redirects=False)


def _unit(api: Api, building: str = "02", unit: str = "01") -> int:
    h = api.headers(Role.operator)
    tree = api.client.get(f"{BASE}/organization", headers=h).json()
    b = api.client.post(
        f"{BASE}/organization", json={"parent_id": tree["id"], "number": building}, headers=h
    )
    assert b.status_code == 201, b.text
    u = api.client.post(
        f"{BASE}/organization", json={"parent_id": b.json()["id"], "number": unit}, headers=h
    )
    assert u.status_code == 201, u.text
    return int(u.json()["id"])


def test_building_manager_api_round_trip(api: Api) -> None:
    h = api.headers(Role.operator)
    unit_id = _unit(api)
    room = api.client.post(
        f"{BASE}/rooms", json={"node_id": unit_id, "number": "302", "name": "Smith"}, headers=h
    )
    assert room.status_code == 201, room.text
    assert room.json()["organization"] == "02#01#302"
    page = api.client.get(f"{BASE}/rooms", params={"q": "smith"}, headers=h).json()
    assert page["total"] == 1 and page["items"][0]["number"] == "302"
    dup = api.client.post(f"{BASE}/rooms", json={"node_id": unit_id, "number": "302"}, headers=h)
    assert dup.status_code == 409 and dup.json()["detail"] == "Unit 01 already has room 302"
    busy = api.client.delete(f"{BASE}/organization/{unit_id}", headers=h)
    assert busy.status_code == 409 and "still has 1 room" in busy.json()["detail"]
    renamed = api.client.patch(
        f"{BASE}/organization/{unit_id}", json={"name": "East wing"}, headers=h
    )
    assert renamed.json()["name"] == "East wing"
    assert api.client.delete(f"{BASE}/rooms/{room.json()['id']}", headers=h).status_code == 204
    assert api.client.delete(f"{BASE}/organization/{unit_id}", headers=h).status_code == 204
    missing = api.client.delete(f"{BASE}/rooms/999", headers=h)
    assert missing.status_code == 404 and missing.json()["detail"] == "room 999 does not exist"


def test_building_manager_api_validation_and_roles(api: Api) -> None:
    bad = api.client.post(
        f"{BASE}/rooms", json={"node_id": 1, "number": "12345678"}, headers=api.headers()
    )
    assert bad.status_code == 422
    viewer = api.client.post(
        f"{BASE}/organization",
        json={"parent_id": 1, "number": "1"},
        headers=api.headers(Role.viewer),
    )
    assert viewer.status_code == 403
    levels = api.client.put(
        f"{BASE}/levels", json={"use_building": False, "use_unit": True}, headers=api.headers()
    )
    assert levels.status_code == 422
    assert "unit level needs the building level" in levels.json()["detail"]
    assert api.client.get(f"{BASE}/levels", headers=api.headers(Role.viewer)).json() == {
        "use_building": True,
        "use_unit": True,
    }


def test_building_manager_console(api: Api, console: Console) -> None:
    page = api.client.get("/intercom/buildings")
    assert page.status_code == 200 and "Building manager" in page.text
    community = api.client.get(f"{BASE}/organization", headers=api.headers()).json()["id"]
    added = _post(
        console,
        "/intercom/buildings/nodes",
        {"parent_id": community, "number": "2", "back_node": community},
    )
    assert added.status_code == 303
    assert "Building 02 added." in api.client.get(added.headers["location"]).text
    building = api.client.get(f"{BASE}/organization", headers=api.headers()).json()["children"][0]
    _post(console, "/intercom/buildings/nodes", {"parent_id": building["id"], "number": "1"})
    unit = api.client.get(f"{BASE}/organization", headers=api.headers()).json()
    unit_id = unit["children"][0]["children"][0]["id"]
    room = _post(
        console,
        "/intercom/buildings/rooms",
        {"node_id": unit_id, "number": "302", "back_node": unit_id},
    )
    assert room.status_code == 303
    shown = api.client.get(f"/intercom/buildings?node={unit_id}").text
    assert "02#01#302" in shown
    refused = _post(console, f"/intercom/buildings/nodes/{unit_id}/delete", {"back_node": unit_id})
    assert refused.status_code == 409
    assert "Unit 01 still has 1 room(s): delete them first" in refused.text
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("intercom.%")))
        assert sorted(actions) == [
            "intercom.building.create",
            "intercom.room.create",
            "intercom.unit.create",
        ]


def test_dial_management_api(api: Api) -> None:
    h = api.headers(Role.operator)
    unit_id = _unit(api, "11", "01")
    room = api.client.post(f"{BASE}/rooms", json={"node_id": unit_id, "number": "11"}, headers=h)
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    device = api.client.post(
        "/api/v1/devices",
        json={
            "name": "hall",
            "host": "127.0.0.1",
            "username": "admin",
            "password": "Secret123",
            "port": closed_port,
            "kind": "vth",
        },
        headers=api.headers(),
    )
    assert device.status_code == 201, device.text
    body = {
        "kind": "vth",
        "device_id": device.json()["id"],
        "room_id": room.json()["id"],
        "extension": 5,
    }
    created = api.client.post(f"{BASE}/registrations", json=body, headers=h)
    assert created.status_code == 201, created.text
    assert created.json()["number"] == "11#01#11#5"
    assert created.json()["device_name"] == "hall" and created.json()["online"] is False
    again = api.client.post(f"{BASE}/registrations", json=body, headers=h)
    assert again.status_code == 409
    vts = api.client.post(
        f"{BASE}/registrations",
        json={"kind": "vts", "suffix": "02", "device_number": "101"},
        headers=h,
    )
    assert vts.status_code == 422
    assert vts.json()["detail"].endswith("number 101: 01, not 02")
    listed = api.client.get(f"{BASE}/registrations", params={"kind": "vth"}, headers=h).json()
    assert [r["number"] for r in listed["items"]] == ["11#01#11#5"]
    # The device does not answer (nothing listens on its port): 502 with the reason.
    configured = api.client.post(
        f"{BASE}/registrations/{created.json()['id']}/configure", headers=h
    )
    assert configured.status_code == 502
    assert "device 'hall' did not take the SIP settings" in configured.json()["detail"]
    gone = api.client.delete(f"{BASE}/registrations/{created.json()['id']}", headers=h)
    assert gone.status_code == 204


def test_dial_management_console(api: Api, console: Console) -> None:
    h = api.headers(Role.operator)
    unit_id = _unit(api, "11", "01")
    device = api.client.post(
        "/api/v1/devices",
        json={
            "name": "gate",
            "host": "127.0.0.1",
            "username": "admin",
            "password": "x1",
            "kind": "vto",
        },
        headers=api.headers(),
    )
    assert device.status_code == 201, device.text
    form = {"kind": "vto", "device_id": device.json()["id"], "node_id": unit_id}
    wrong = _post(console, "/intercom/dial", {**form, "suffix": "56", "device_number": "8055"})
    assert wrong.status_code == 409
    assert "last two digits of the VTO number 8055: 55, not 56" in wrong.text
    added = _post(console, "/intercom/dial", {**form, "suffix": "55", "device_number": "8055"})
    assert added.status_code == 303
    page = api.client.get(added.headers["location"]).text
    assert "Registration number 11#01#8055 added." in page and "offline" in page
    template = api.client.get(f"{BASE}/registrations/configtool-template", headers=h)
    assert template.status_code == 200 and template.content[:2] == b"PK"
    bad = api.client.post(
        "/intercom/dial/import",
        data={"format": "configtool"},
        files={"file": ("t.xlsx", template.content)},
        headers={"X-CSRF-Token": console.csrf},
        follow_redirects=False,
    )
    assert bad.status_code == 422
    assert "nothing was imported: row 2: device &#39;Hall VTH&#39; is not in the device" in bad.text


def test_unlock_password_api_and_console(api: Api, console: Console) -> None:
    h = api.headers(Role.operator)
    unit_id = _unit(api, "11", "01")
    room = api.client.post(f"{BASE}/rooms", json={"node_id": unit_id, "number": "11"}, headers=h)
    room_id = room.json()["id"]
    url = f"{BASE}/rooms/{room_id}/unlock-password"
    differ = api.client.put(url, json={"password": "888888", "confirm": "888889"}, headers=h)
    assert differ.status_code == 422 and "confirmation differ" in differ.json()["detail"]
    assert api.client.post(f"{url}/send", headers=h).status_code == 404
    saved = api.client.put(url, json={"password": "888888", "confirm": "888888"}, headers=h)
    assert saved.status_code == 200 and saved.json() == []  # no VTO/VTH in the room yet
    page = api.client.get(f"/intercom/buildings?node={unit_id}").text
    assert "no device" in page and "Change password" in page
    sent = _post(
        console, f"/intercom/buildings/rooms/{room_id}/password/send", {"back_node": unit_id}
    )
    assert sent.status_code == 303
    busy = api.client.delete(f"{BASE}/rooms/{room_id}", headers=h)
    assert busy.status_code == 409
    assert (
        busy.json()["detail"]
        == "room 11 cannot be deleted: it has an unlock password: delete it first"
    )
    gone = _post(
        console, f"/intercom/buildings/rooms/{room_id}/password/delete", {"back_node": unit_id}
    )
    assert gone.status_code == 303
    assert api.client.delete(f"{BASE}/rooms/{room_id}", headers=h).status_code == 204


def test_call_groups_api(api: Api) -> None:
    h = api.headers(Role.operator)
    unit_id = _unit(api, "11", "01")
    building_id = api.client.get(f"{BASE}/organization", headers=h).json()["children"][0]["id"]
    for suffix, number in (("01", "101"), ("02", "102")):
        vts = api.client.post(
            f"{BASE}/registrations",
            json={"kind": "vts", "suffix": suffix, "device_number": number},
            headers=h,
        )
        assert vts.status_code == 201, vts.text
    ids = {
        r["number"]: r["id"]
        for r in api.client.get(f"{BASE}/registrations", headers=h).json()["items"]
    }
    wrong = api.client.post(
        f"{BASE}/call-groups", json={"name": "G", "building_id": unit_id}, headers=h
    )
    assert wrong.status_code == 422 and "Unit 01 is not one" in wrong.json()["detail"]
    group = api.client.post(
        f"{BASE}/call-groups", json={"name": "Lobby", "building_id": building_id}, headers=h
    )
    assert group.status_code == 201, group.text
    gid = group.json()["id"]
    for number in ("101", "102"):
        added = api.client.post(
            f"{BASE}/call-groups/{gid}/members", json={"registration_id": ids[number]}, headers=h
        )
        assert added.status_code == 201, added.text
    assert added.json()["members"] == ["101", "102"]
    second = added.json()["member_ids"][1]
    assert api.client.post(f"{BASE}/call-groups/members/{second}/up", headers=h).status_code == 204
    listed = api.client.get(f"{BASE}/call-groups", headers=h).json()
    assert listed[0]["members"] == ["102", "101"]
    assert api.client.delete(f"{BASE}/call-groups/members/{second}", headers=h).status_code == 204
    assert api.client.get(f"{BASE}/call-groups", headers=h).json()[0]["members"] == ["101"]
    assert api.client.delete(f"{BASE}/call-groups/{gid}", headers=h).status_code == 204


def test_call_groups_and_information_console(api: Api, console: Console) -> None:
    h = api.headers(Role.operator)
    _unit(api, "11", "01")
    building = api.client.get(f"{BASE}/organization", headers=h).json()["children"][0]["id"]
    vts = api.client.post(
        f"{BASE}/registrations",
        json={"kind": "vts", "suffix": "01", "device_number": "101"},
        headers=h,
    ).json()
    created = _post(
        console, "/intercom/groups", {"op": "create", "name": "Lobby", "building_id": building}
    )
    assert created.status_code == 303
    group = api.client.get(f"{BASE}/call-groups", headers=h).json()[0]
    added = _post(
        console, "/intercom/groups", {"op": "add", "id": group["id"], "member": f"vts:{vts['id']}"}
    )
    assert added.status_code == 303
    page = api.client.get("/intercom/groups").text
    assert "Lobby" in page and "<li>101" in page
    empty = _post(
        console, "/intercom/groups", {"op": "create", "name": "", "building_id": building}
    )
    assert empty.status_code == 422 and "enter the group name" in empty.text
    info = api.client.get("/intercom/information")
    assert info.status_code == 200 and "No VTO or VTH is bound to the platform" in info.text
    refused = _post(
        console,
        "/intercom/information",
        {"subject": "Water", "start_time": "2026-12-24T08:00", "tz_offset": "-60"},
    )
    assert refused.status_code == 422 and "device_ids" in refused.text


def test_vto_number_read_from_the_virtual_vto(api: Api, tmp_path: Path) -> None:
    h = api.headers(Role.operator)
    unit_id = _unit(api, "11", "01")
    with running_vto(tmp_path / "vto") as vto:
        device = api.client.post(
            "/api/v1/devices",
            json={
                "name": "gate",
                "host": "127.0.0.1",
                "port": int(vto.url.rsplit(":", 1)[1]),
                "username": "admin",
                "password": VTO_PASSWORD,
                "kind": "vto",
            },
            headers=api.headers(),
        )
        assert device.status_code == 201, device.text
        body = {"kind": "vto", "device_id": device.json()["id"], "node_id": unit_id}
        wrong = api.client.post(f"{BASE}/registrations", json={**body, "suffix": "55"}, headers=h)
        assert wrong.status_code == 422
        assert wrong.json()["detail"].endswith("VTO number 8001: 01, not 55")
        right = api.client.post(f"{BASE}/registrations", json={**body, "suffix": "01"}, headers=h)
        assert right.status_code == 201, right.text
        assert right.json()["number"] == "11#01#8001"
