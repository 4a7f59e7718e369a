"""The attendance and camera lists filter, sort and page on their declared queries, alike in the
REST API and on the console page (one model each: schemas.PeriodQuery ... CameraQuery)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from openpss.platform.attendance import assignments, shifts
from openpss.platform.attendance.schemas import (
    AssignmentCreate,
    ExceptionCreate,
    HolidayCreate,
    PeriodCreate,
    ShiftCreate,
    ShiftUpdate,
)
from openpss.platform.security.audit import SYSTEM
from openpss.platform.security.models import Role
from openpss.platform.vision.models import Camera
from tests.conftest import Api
from tests.integration.attendance_support import department, person, punch

V1 = "/api/v1/attendance"
MONDAY = dt.date(2024, 3, 4)


def _get(api: Api, path: str, **params: Any) -> dict[str, Any]:
    answer = api.client.get(path, params=params, headers=api.headers(Role.viewer))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _names(api: Api, path: str, key: str = "name", **params: Any) -> tuple[int, list[Any]]:
    body = _get(api, path, **params)
    return body["total"], [item[key] for item in body["items"]]


def _page(api: Api, path: str, **params: Any) -> str:
    """A console page, as a viewer."""
    answer = api.client.get(path, params=params, headers=api.headers(Role.viewer))
    assert answer.status_code == 200, answer.text
    return answer.text


def _rows(html: str, table: str) -> list[str]:
    """The first cell of each row of the table with id `table`."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<tr[^>]*>\s*<td[^>]*>(.*?)</td>", body, re.DOTALL)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def _periods_and_shifts(api: Api) -> dict[str, int]:
    """Periods Day A, Day B, Night (fixed), Flex (flexible); shifts Week 1..3 and Daily."""
    ids: dict[str, int] = {}
    times = {"work_start": "09:00", "work_end": "17:00", "checkin_start": "07:00"}
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        for name in ("Day A", "Night", "Day B"):
            data = PeriodCreate(name=name, checkout_end="19:00", **times)
            ids[name] = shifts.create_period(session=s, actor=SYSTEM, data=data).id
        flex = PeriodCreate(name="Flex", kind="flexible", required_minutes=480)
        ids["Flex"] = shifts.create_period(session=s, actor=SYSTEM, data=flex).id
        for name, mode in (("Week 2", "week"), ("Daily", "day"), ("Week 1", "week")):
            plan = ShiftCreate(name=name, start_date=MONDAY, cycle_mode=mode, cycles=1)
            ids[name] = shifts.create_shift(session=s, actor=SYSTEM, data=plan).id
        s.commit()
    return ids


def test_periods_and_shifts_filter_and_page_alike_in_api_and_console(api: Api) -> None:
    _periods_and_shifts(api)
    periods = f"{V1}/periods"
    assert _names(api, periods) == (4, ["Day A", "Day B", "Flex", "Night"])
    assert _names(api, periods, search="day") == (2, ["Day A", "Day B"])
    assert _names(api, periods, kind="flexible") == (1, ["Flex"])
    assert _names(api, periods, limit=3, page=2) == (4, ["Night"])
    assert _names(api, periods, limit=2, offset=1) == (4, ["Day B", "Flex"])
    html = _page(api, "/attendance/periods", search="day")
    assert _rows(html, "period-list") == ["Day A", "Day B"]
    assert "2 period(s) · page 1 of 1" in html
    html = _page(api, "/attendance/periods", kind="fixed")
    assert _rows(html, "period-list") == ["Day A", "Day B", "Night"]
    refused = api.client.get(periods, params={"kind": "split"}, headers=api.headers())
    assert refused.status_code == 422 and "kind" in refused.text
    html = _page(api, "/attendance/periods", kind="split")
    assert "kind: Input should be" in html and _rows(html, "period-list") == [
        "Day A", "Day B", "Flex", "Night"
    ]  # fmt: skip
    shift_list = f"{V1}/shifts"
    assert _names(api, shift_list) == (3, ["Daily", "Week 1", "Week 2"])
    assert _names(api, shift_list, cycle_mode="week") == (2, ["Week 1", "Week 2"])
    assert _names(api, shift_list, search="week", limit=1, page=2) == (2, ["Week 2"])
    html = _page(api, "/attendance/shifts", cycle_mode="day")
    assert _rows(html, "shift-list") == ["Daily"]


def test_console_pager_links_keep_the_filters(api: Api) -> None:
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        for i in range(55):
            data = PeriodCreate(name=f"P{i:02d}", work_start="09:00", work_end="17:00")
            shifts.create_period(session=s, actor=SYSTEM, data=data)
        s.commit()
    html = _page(api, "/attendance/periods", search="P")
    assert len(_rows(html, "period-list")) == 50
    assert "55 period(s) · page 1 of 2" in html
    assert 'href="/attendance/periods?search=P&amp;page=2"' in html
    second = _page(api, "/attendance/periods", search="P", page="2")
    assert _rows(second, "period-list") == [f"P{i}" for i in range(50, 55)]
    assert 'href="/attendance/periods?search=P&amp;page=1"' in second


def test_assignments_leave_and_holidays_filter_and_page(api: Api) -> None:
    ids = _periods_and_shifts(api)
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        ops, sales = department(s, "Ops"), department(s, "Sales")
        ann, bob = person(s, "ann", ops), person(s, "bob", sales)
        week, daily = ids["Week 1"], ids["Daily"]
        march = {"start_date": dt.date(2024, 3, 1), "end_date": dt.date(2024, 3, 31)}
        april = {"start_date": dt.date(2024, 4, 1), "end_date": dt.date(2024, 4, 30)}
        for data in (
            AssignmentCreate(shift_id=week, department_id=ops.id, **march),
            AssignmentCreate(shift_id=daily, department_id=sales.id, **march),
            AssignmentCreate(shift_id=week, person_id=bob.id, **april),
        ):
            assignments.create_assignment(session=s, actor=SYSTEM, data=data)
        for data_e in (
            ExceptionCreate(person_id=ann.id, kind="leave", **march),
            ExceptionCreate(person_id=bob.id, kind="business_trip", **april),
            ExceptionCreate(person_id=bob.id, kind="leave", **april),
        ):
            assignments.create_exception(session=s, actor=SYSTEM, data=data_e)
        for day, name in ((dt.date(2024, 5, 1), "May Day"), (dt.date(2024, 1, 2), "Second")):
            assignments.create_holiday(
                session=s, actor=SYSTEM, data=HolidayCreate(day=day, name=name)
            )
        s.commit()
        ann_id, bob_id, ops_id = ann.id, bob.id, ops.id
    path = f"{V1}/assignments"
    assert _names(api, path, "shift_id", shift_id=week) == (2, [week, week])
    assert _names(api, path, "person_id", person_id=bob_id) == (1, [bob_id])
    assert _names(api, path, "department_id", department_id=ops_id) == (1, [ops_id])
    assert _names(api, path, "start_date", on="2024-04-15") == (1, ["2024-04-01"])
    assert _names(api, path, "shift_id", limit=2, page=2) == (3, [week])
    path = f"{V1}/exceptions"
    assert _names(api, path, "person_id", person_id=bob_id) == (2, [bob_id, bob_id])
    assert _names(api, path, "person_id", kind="leave") == (2, [ann_id, bob_id])
    assert _names(api, path, "kind", on="2024-03-31") == (1, ["leave"])
    assert _names(api, path, "kind", on="2024-04-01", kind="leave") == (1, ["leave"])
    path = f"{V1}/holidays"
    assert _names(api, path, year=2024) == (2, ["Second", "May Day"])
    assert _names(api, path, year=2024, limit=1, page=2) == (2, ["May Day"])
    assert _names(api, path, year=2025) == (0, [])
    no_year = api.client.get(path, headers=api.headers())
    assert no_year.status_code == 422 and "year" in no_year.text
    html = _page(api, "/attendance/assignments", shift_id=str(daily), leave_kind="business_trip",
                 holiday_year="2024")  # fmt: skip
    assert _rows(html, "assignment-list") == ["Daily"]
    assert _rows(html, "exception-list") == ["bob Person bob"]
    assert _rows(html, "holiday-list") == ["2024-01-02", "2024-05-01"]
    assert "1 assignment(s) · page 1 of 1" in html and "1 leave or trip(s)" in html
    html = _page(api, "/attendance/assignments", holiday_year="2025")
    assert _rows(html, "holiday-list") == ["None."] and "0 holiday(s)" in html
    html = _page(api, "/attendance/assignments", on="2024-04-02", leave_on="2024-03-02")
    assert _rows(html, "assignment-list") == ["Week 1"]
    assert _rows(html, "exception-list") == ["ann Person ann"]
    html = _page(api, "/attendance/assignments", leave_kind="holiday")
    assert "kind: Input should be" in html and len(_rows(html, "exception-list")) == 3


def test_results_filter_by_person_department_status_and_page(api: Api) -> None:
    ids = _periods_and_shifts(api)
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        ops, sales = department(s, "Ops"), department(s, "Sales")
        ann, bob, cid = person(s, "ann", ops), person(s, "bob", ops), person(s, "cid", sales)
        punch(s, "ann", "2024-03-04 08:55")
        punch(s, "ann", "2024-03-04 17:05")
        shifts.update_shift(
            session=s, actor=SYSTEM, shift_id=ids["Daily"],
            data=ShiftUpdate(arrangement={0: [ids["Day A"]]}),
        )  # fmt: skip
        for dept in (ops, sales):
            two_days = {"start_date": MONDAY, "end_date": MONDAY + dt.timedelta(days=1)}
            data = AssignmentCreate(shift_id=ids["Daily"], department_id=dept.id, **two_days)
            assignments.create_assignment(session=s, actor=SYSTEM, data=data)
        s.commit()
        ann_id, bob_id, cid_id, ops_id = ann.id, bob.id, cid.id, ops.id
    path, days = f"{V1}/results", {"start": "2024-03-04", "end": "2024-03-05"}
    total, persons = _names(api, path, "person_id", **days)
    assert (total, persons) == (6, [ann_id, ann_id, bob_id, bob_id, cid_id, cid_id])
    assert _names(api, path, "day", person_id=bob_id, **days) == (2, ["2024-03-04", "2024-03-05"])
    assert _names(api, path, "person_id", department_id=ops_id, **days)[0] == 4
    assert _names(api, path, "person_id", status="normal", **days) == (1, [ann_id])
    assert _names(api, path, "person_id", limit=4, page=2, **days) == (6, [cid_id, cid_id])
    backwards = api.client.get(path, params={"start": "2024-03-05", "end": "2024-03-04"},
                               headers=api.headers())  # fmt: skip
    assert backwards.status_code == 422 and "end date is before the start date" in backwards.text


def test_camera_list_searches_sorts_and_pages_in_api_and_console(api: Api) -> None:
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        for name, address, model in (
            ("Dock", "127.0.0.3", "MV-B"),
            ("Gate", "127.0.0.1", "MV-C"),
            ("Hall", "127.0.0.2", "MV-A"),
        ):
            s.add(Camera(name=name, address=address, model_name=model, serial=f"S-{name}"))
        s.commit()
    path = "/api/v1/vision/cameras"
    assert _names(api, path) == (3, ["Dock", "Gate", "Hall"])
    assert _names(api, path, sort="address") == (3, ["Gate", "Hall", "Dock"])
    assert _names(api, path, sort="model") == (3, ["Hall", "Dock", "Gate"])
    assert _names(api, path, search="s-ga") == (1, ["Gate"])
    assert _names(api, path, search="127.0.0.2") == (1, ["Hall"])
    assert _names(api, path, limit=2, page=2) == (3, ["Hall"])
    bad = api.client.get(path, params={"sort": "colour"}, headers=api.headers())
    assert bad.status_code == 422 and "sort" in bad.text
    html = _page(api, "/vision", search="127", sort="address")
    assert _rows(html, "camera-list") == ["Gate", "Hall", "Dock"]
    assert "3 camera(s) · page 1 of 1" in html
    html = _page(api, "/vision", sort="colour")
    assert "sort: Input should be" in html and _rows(html, "camera-list") == [
        "Dock",
        "Gate",
        "Hall",
    ]
