"""List pages and list APIs run a fixed number of queries, whatever the number of rows (no N+1).

NetBox-style recorded query counts: each URL is fetched with few rows and with more rows of
every kind; the statement count must not change.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from openpss.platform.attendance import assignments, shifts
from openpss.platform.attendance.schemas import (
    AssignmentCreate,
    ExceptionCreate,
    HolidayCreate,
    PeriodCreate,
    ShiftCreate,
)
from openpss.platform.devices.models import Device
from openpss.platform.people.models import Department, Person
from openpss.platform.permissions import service
from openpss.platform.permissions.schemas import DoorRef, PermissionGroupCreate
from openpss.platform.records.models import AlarmRecord, CallRecord
from openpss.platform.records.service import add_access_records
from openpss.platform.security.audit import SYSTEM, record_audit
from openpss.platform.security.models import Role
from openpss.platform.vision.models import Camera
from tests.conftest import Api
from tests.support.queries import queries_for_get

MONTH = dt.date(2026, 3, 1)
CONSOLE = [
    "/permissions",
    "/permissions/progress",
    "/records",
    "/records?kind=calls",
    "/records?kind=alarms",
    "/devices",
    "/people/list?size=100",
    "/attendance",
    "/attendance/periods",
    "/attendance/periods?search=Per&kind=fixed",
    "/attendance/shifts",
    "/attendance/shifts?search=Sh&cycle_mode=day",
    "/attendance/assignments",
    "/attendance/assignments?on=2026-03-02&leave_kind=leave&holiday_year=2026",
    "/attendance/reports?year=2026&month=3",
    "/vision",
    "/vision?search=Cam&sort=address",
]
API = [
    "/api/v1/permission-groups",
    "/api/v1/authorization/tasks",
    "/api/v1/authorization/progress/persons",
    "/api/v1/devices",
    "/api/v1/people/persons?limit=100",
    "/api/v1/records/access",
    "/api/v1/records/calls",
    "/api/v1/records/alarms",
    "/api/v1/attendance/periods",
    "/api/v1/attendance/shifts",
    "/api/v1/attendance/assignments",
    "/api/v1/attendance/exceptions",
    "/api/v1/attendance/holidays?year=2026",
    "/api/v1/attendance/results?start=2026-03-01&end=2026-03-31",
    "/api/v1/attendance/results?start=2026-03-01&end=2026-03-31&status=absent&limit=5",
    "/api/v1/vision/cameras",
    "/api/v1/vision/cameras?search=Cam&sort=address",
    "/api/v1/intercom/rooms",
    "/api/v1/intercom/registrations",
]


def _add_access_rows(session: Session, i: int, dep: Department) -> Person:
    """One device, person, permission group, camera and record of each kind, numbered `i`."""
    device = Device(name=f"Dev{i}", host="127.0.0.1", username="a", password_encrypted="")
    person = Person(user_id=str(i), name=f"P{i}", department_id=dep.id,
                    valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                    valid_to=dt.datetime(2036, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    camera = Camera(name=f"Cam{i}", address=f"10.0.{i // 250}.{i % 250 + 1}")
    session.add_all([device, person, camera])
    session.flush()
    group = PermissionGroupCreate(
        name=f"G{i}", verification_methods=["card"], doors=[DoorRef(device_id=device.id)],
        person_ids=[person.id],
    )  # fmt: skip
    service.create_group(session=session, data=group)
    at = dt.datetime.now(dt.UTC)
    punch = {"record_no": 1, "event_time": at, "user_id": str(i)}
    add_access_records(session=session, device_id=device.id, records=[punch])
    session.add(CallRecord(device_id=device.id, start_time=at, caller=f"C{i}", callee="1"))
    session.add(AlarmRecord(device_id=device.id, event_time=at, alarm_type=f"A{i}"))
    record_audit(session=session, actor=SYSTEM, action="test.row", target=str(i))
    return person


def _add_attendance_rows(session: Session, i: int, dep: Department, person: Person) -> None:
    """A period, a shift assigned to the department, a leave and a holiday, numbered `i`."""
    times = {"work_start": "09:00", "work_end": "17:00", "checkin_start": "07:00"}
    period = shifts.create_period(
        session=session, actor=SYSTEM,
        data=PeriodCreate(name=f"Per{i}", checkout_end="19:00", **times),
    )  # fmt: skip
    plan = ShiftCreate(
        name=f"Sh{i}", start_date=MONTH, cycle_mode="day", cycles=1, arrangement={0: [period.id]}
    )
    shift = shifts.create_shift(session=session, actor=SYSTEM, data=plan)
    until = MONTH + dt.timedelta(days=30)
    assignment = AssignmentCreate(
        shift_id=shift.id, department_id=dep.id, start_date=MONTH, end_date=until
    )
    assignments.create_assignment(session=session, actor=SYSTEM, data=assignment)
    leave = ExceptionCreate(person_id=person.id, kind="leave", start_date=MONTH, end_date=MONTH)
    assignments.create_exception(session=session, actor=SYSTEM, data=leave)
    holiday = HolidayCreate(day=MONTH + dt.timedelta(days=i % 28), name=f"H{i}")
    assignments.create_holiday(session=session, actor=SYSTEM, data=holiday)


def _add_rows(api: Api, start: int, count: int) -> None:
    """`count` more rows of every listed kind."""
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        dep = Department(name=f"D{start}")
        s.add(dep)
        s.flush()
        for i in range(start, start + count):
            person = _add_access_rows(s, i, dep)
            _add_attendance_rows(s, i, dep, person)
        s.commit()


def _counts(api: Api, urls: list[str]) -> dict[str, int]:
    headers = api.headers(Role.administrator)
    return {url: len(queries_for_get(api.client, url, headers)) for url in urls}


@pytest.mark.parametrize("urls", [CONSOLE, API], ids=["console", "api"])
def test_list_query_counts_do_not_grow_with_rows(api: Api, urls: list[str]) -> None:
    _add_rows(api, 100, 3)
    small = _counts(api, urls)
    _add_rows(api, 200, 9)
    assert _counts(api, urls) == small
