"""Permission groups, time templates and authorization progress over the API and console."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from openpss.platform.people.models import Department, Person
from openpss.platform.security.models import AuditEntry, Role
from tests.conftest import Api


def _seed(api: Api) -> tuple[int, list[int]]:
    """A department with three persons; returns (department id, person ids)."""
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        dep = Department(name="Office")
        s.add(dep)
        s.flush()
        people = [
            Person(
                user_id=str(100 + i),
                name=f"P{i}",
                department_id=dep.id,
                valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                valid_to=dt.datetime(2036, 1, 1, tzinfo=dt.UTC),
            )
            for i in range(3)
        ]
        s.add_all(people)
        s.commit()
        return dep.id, [p.id for p in people]


def _device(api: Api, name: str = "Door") -> int:
    body = {
        "name": name,
        "host": "127.0.0.1",
        "username": "admin",
        "password": "pw",
        "door_count": 2,
    }
    response = api.client.post("/api/v1/devices", json=body, headers=api.headers(Role.operator))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_group_lifecycle_and_progress(api: Api) -> None:
    op = api.headers(Role.operator)
    dep_id, person_ids = _seed(api)
    device_id = _device(api)
    created = api.client.post(
        "/api/v1/permission-groups",
        json={
            "name": "Staff",
            "remark": "all staff",
            "verification_methods": ["password", "card"],
            "doors": [{"device_id": device_id, "door": 2}],
            "department_ids": [dep_id],
        },
        headers=op,
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["time_template_name"] == "All day"
    assert group["verification_methods"] == ["card", "password"]
    progress = api.client.get("/api/v1/authorization/progress/devices", headers=op).json()
    assert progress[0]["pending"] == 3
    tasks = api.client.get("/api/v1/authorization/tasks?status=pending", headers=op).json()
    assert tasks["total"] == 3
    # Direct membership through the person endpoint (the person dialog's Permission tab).
    put = api.client.put(
        f"/api/v1/permissions/persons/{person_ids[0]}/groups",
        json={"group_ids": [group["id"]]},
        headers=op,
    )
    assert put.json() == {"group_ids": [group["id"]]}
    members = api.client.get(f"/api/v1/permission-groups/{group['id']}/persons", headers=op)
    assert members.json() == [person_ids[0]]
    duplicate = api.client.post(
        "/api/v1/permission-groups",
        json={"name": "Staff", "verification_methods": ["card"]},
        headers=op,
    )
    assert duplicate.status_code == 409
    no_method = api.client.post(
        "/api/v1/permission-groups", json={"name": "X", "verification_methods": []}, headers=op
    )
    assert no_method.status_code == 422
    viewer = api.client.post(
        "/api/v1/permission-groups",
        json={"name": "V", "verification_methods": ["card"]},
        headers=api.headers(Role.viewer),
    )
    assert viewer.status_code == 403
    removed = api.client.post(
        f"/api/v1/permission-groups/{group['id']}/departments",
        json={"remove": [dep_id]},
        headers=op,
    )
    assert removed.json()["department_ids"] == []
    remaining = api.client.get("/api/v1/authorization/tasks", headers=op).json()
    assert [t["user_id"] for t in remaining["items"]] == ["100"]
    assert (
        api.client.delete(f"/api/v1/permission-groups/{group['id']}", headers=op).status_code == 204
    )
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"permission_group.create", "person.permission_groups"} <= actions


def test_time_template_api(api: Api) -> None:
    op = api.headers(Role.operator)
    templates = api.client.get("/api/v1/time-templates", headers=op).json()
    assert [t["name"] for t in templates] == ["All day"]
    weekly = [[["08:00", "12:00"], ["13:00", "17:00"]]] * 5 + [[], []]
    body = {
        "name": "Office",
        "weekly": weekly,
        "holidays": [{"day": "2026-05-01", "segments": []}],
    }
    created = api.client.post("/api/v1/time-templates", json=body, headers=op)
    assert created.status_code == 201, created.text
    assert created.json()["holidays"] == [{"day": "2026-05-01", "name": "", "segments": []}]
    overlap = [[["08:00", "12:00"], ["10:00", "13:00"]]] + [[]] * 6
    bad = api.client.post(
        "/api/v1/time-templates", json={"name": "Bad", "weekly": overlap}, headers=op
    )
    assert bad.status_code == 422
    assert "Monday: segments 08:00-12:00 and 10:00-13:00 overlap" in bad.text
    five = [
        [
            ["01:00", "02:00"],
            ["03:00", "04:00"],
            ["05:00", "06:00"],
            ["07:00", "08:00"],
            ["09:00", "10:00"],
        ]
    ] + [[]] * 6
    too_many = api.client.post(
        "/api/v1/time-templates", json={"name": "Bad", "weekly": five}, headers=op
    )
    assert "at most 4" in too_many.text
    default_id = templates[0]["id"]
    refused = api.client.delete(f"/api/v1/time-templates/{default_id}", headers=op)
    assert refused.status_code == 422
    assert "cannot be deleted" in refused.json()["detail"]


def test_console_pages_render(api: Api) -> None:
    op = api.headers(Role.operator)
    dep_id, person_ids = _seed(api)
    device_id = _device(api, "Main gate")
    form = {
        "name": "Night shift",
        "remark": "",
        "verification_methods": ["card", "face"],
        "doors": [f"{device_id}:1"],
        "department_ids": [str(dep_id)],
        "person_user_ids": "",
    }
    page = api.client.post("/permissions", data=form, headers=op)
    assert page.status_code == 200
    assert "Permission group &#39;Night shift&#39; added." in page.text
    assert "Main gate · Door 1" in page.text
    bad = api.client.post(
        "/permissions", data=form | {"name": "Other", "person_user_ids": "999"}, headers=op
    )
    assert "no person has user ID 999" in bad.text
    progress = api.client.get("/permissions/progress", headers=op)
    assert progress.status_code == 200
    assert "Main gate" in progress.text
    fragment = api.client.get(
        f"/permissions/person/{person_ids[0]}", headers=op | {"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "Also through the department: Night shift" in fragment.text
    saved = api.client.post(
        "/permissions/templates",
        data={
            "name": "Weekdays",
            "day0": "08:00-12:00, 13:00-17:00",
            "holidays": "2026-12-25 closed",
        },
        headers=op,
    )
    assert "Time template &#39;Weekdays&#39; saved." in saved.text
    refused = api.client.post(
        "/permissions/templates", data={"name": "Bad", "day2": "08:00-07:00"}, headers=op
    )
    assert "Wednesday: segment 08:00-07:00 must start before it ends" in refused.text
    assert api.client.get("/devices", headers=op).status_code == 200
    assert api.client.get("/records", headers=op).status_code == 200


def test_group_persons_are_added_and_withdrawn_with_an_audit_entry(api: Api) -> None:
    op = api.headers(Role.operator)
    _, person_ids = _seed(api)
    group = api.client.post(
        "/api/v1/permission-groups", json={"name": "Lab", "verification_methods": ["card"]},
        headers=op,
    ).json()  # fmt: skip
    url = f"/api/v1/permission-groups/{group['id']}/persons"
    added = api.client.post(url, json={"add": person_ids[:2]}, headers=op)
    assert added.status_code == 200, added.text
    assert sorted(api.client.get(url, headers=op).json()) == sorted(person_ids[:2])
    api.client.post(url, json={"remove": [person_ids[0]]}, headers=op)
    assert api.client.get(url, headers=op).json() == [person_ids[1]]
    unknown = api.client.post(url, json={"add": [999_999]}, headers=op)
    assert unknown.status_code in (404, 422), unknown.text
    assert api.client.get(url, headers=op).json() == [person_ids[1]]  # nothing half-applied
    viewer = api.client.post(url, json={"add": person_ids}, headers=api.headers(Role.viewer))
    assert viewer.status_code == 403
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        actions = list(s.scalars(select(AuditEntry.action)))
    assert actions.count("permission_group.persons") == 2


def test_api_and_console_audit_group_changes_alike(api: Api) -> None:
    """The service records each group change: one entry shape whichever route made it."""
    op = api.headers(Role.operator)
    _, person_ids = _seed(api)
    device_id = _device(api)
    ids = []
    for name in ("G1", "G2"):
        body = {"name": name, "verification_methods": ["card"], "doors": [{"device_id": device_id}]}
        created = api.client.post("/api/v1/permission-groups", json=body, headers=op)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    assert api.client.delete(f"/api/v1/permission-groups/{ids[0]}", headers=op).status_code == 204
    gone = api.client.post(f"/permissions/groups/{ids[1]}/delete", headers=op,
                           follow_redirects=False)  # fmt: skip
    assert gone.status_code == 303
    api.client.put(f"/api/v1/permissions/persons/{person_ids[0]}/groups", json={"group_ids": []},
                   headers=op)  # fmt: skip
    api.client.post(f"/permissions/person/{person_ids[0]}", data={}, headers=op)
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.target, AuditEntry.detail)
            .where(AuditEntry.action.in_(["permission_group.delete", "person.permission_groups"]))
            .order_by(AuditEntry.id)
        ).all()
    target = str(person_ids[0])
    assert [tuple(r) for r in rows] == [
        ("permission_group.delete", "G1", ""),
        ("permission_group.delete", "G2", ""),
        ("person.permission_groups", target, '{"group_ids": []}'),
        ("person.permission_groups", target, '{"group_ids": []}'),
    ]
