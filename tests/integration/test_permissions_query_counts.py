"""List views run a fixed number of queries, whatever the number of rows (no N+1)."""

from __future__ import annotations

import datetime as dt

from openpss.platform.devices.models import Device
from openpss.platform.people.models import Department, Person
from openpss.platform.permissions import service
from openpss.platform.permissions.schemas import DoorRef, PermissionGroupCreate
from openpss.platform.records.service import add_access_records
from openpss.platform.security.models import Role
from tests.conftest import Api
from tests.support.queries import queries_for_get

VIEWS = [
    "/permissions",
    "/permissions/progress",
    "/records",
    "/devices",
    "/api/v1/permission-groups",
]


def _add_rows(api: Api, start: int, count: int) -> None:
    """`count` more devices, persons, groups and records."""
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        dep = Department(name=f"D{start}")
        s.add(dep)
        s.flush()
        for i in range(start, start + count):
            device = Device(name=f"Dev{i}", host="127.0.0.1", username="a", password_encrypted="")
            person = Person(user_id=str(i), name=f"P{i}", department_id=dep.id,
                            valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                            valid_to=dt.datetime(2036, 1, 1, tzinfo=dt.UTC))  # fmt: skip
            s.add_all([device, person])
            s.flush()
            service.create_group(
                session=s,
                data=PermissionGroupCreate(
                    name=f"G{i}", verification_methods=["card"],
                    doors=[DoorRef(device_id=device.id)], person_ids=[person.id],
                ),
            )  # fmt: skip
            add_access_records(
                session=s,
                device_id=device.id,
                records=[
                    {"record_no": 1, "event_time": dt.datetime.now(dt.UTC), "user_id": str(i)}
                ],
            )
        s.commit()


def _counts(api: Api) -> dict[str, int]:
    result = {}
    for url in VIEWS:
        result[url] = len(queries_for_get(api.client, url, api.headers(Role.operator)))
    return result


def test_list_views_query_counts_do_not_grow_with_rows(api: Api) -> None:
    _add_rows(api, 100, 3)
    small = _counts(api)
    _add_rows(api, 200, 9)
    assert _counts(api) == small
