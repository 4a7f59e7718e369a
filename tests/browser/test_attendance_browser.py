"""The attendance console in headless Chromium: periods, drag a period onto days, calendar."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.browser.helpers import initialize_and_login
from tests.integration.attendance_support import department, person, punch

pytestmark = pytest.mark.browser


def test_periods_shift_drag_and_month_calendar(page: Any, live_server: Any) -> None:
    initialize_and_login(page, live_server)
    with live_server.app.state.session_factory() as session:
        dept = department(session, "Ops")
        person(session, "u1", dept)
        punch(session, "u1", "2024-03-04 09:00")
        punch(session, "u1", "2024-03-04 18:00")
        session.commit()
    page.goto(f"{live_server.url}/attendance/periods")
    page.fill("#period-form input[name=name]", "Day")
    page.select_option("#period-form select[name=color]", "green")
    for _ in range(7):
        page.click("#rest-add")
    assert page.locator("#rest-rows .rest-row").count() == 7
    assert page.locator("#rest-add").is_disabled()  # the manual's limit: 7 rest periods
    for _ in range(5):
        page.locator("#rest-rows .rest-remove").last.click()
    rows = page.locator("#rest-rows .rest-row")
    for index, (start, end, minutes) in enumerate(
        (("12:00", "13:00", "60"), ("15:00", "15:15", "15"))
    ):
        rows.nth(index).locator("input[name=rest_start]").fill(start)
        rows.nth(index).locator("input[name=rest_end]").fill(end)
        rows.nth(index).locator("input[name=rest_minutes]").fill(minutes)
    page.click("#period-form button[type=submit]")
    page.wait_for_selector("#period-list td:has-text('09:00–18:00')")
    assert "12:00–13:00 (60 min), 15:00–15:15 (15 min)" in page.inner_text("#period-list")
    page.goto(f"{live_server.url}/attendance/shifts")
    page.fill("#shift-form input[name=name]", "Week")
    page.fill("#shift-form input[name=start_date]", "2024-03-04")
    page.click("#shift-form button[type=submit]")
    page.wait_for_selector("#cycle-day-6")
    for day in (0, 1):
        page.drag_and_drop("#period-palette [data-period-id]", f"#cycle-day-{day}")
        page.wait_for_selector(f"#cycle-day-{day} .att-chip")
    page.click("#cycle-day-1", button="right")
    page.wait_for_function("!document.querySelector('#cycle-day-1 .att-chip')")
    assert page.locator("#cycle-day-0 .att-chip").inner_text() == "Day"
    page.goto(f"{live_server.url}/attendance/assignments")
    page.select_option("#assignment-form select[name=target]", label="Department Ops")
    page.fill("#assignment-form input[name=start_date]", "2024-03-01")
    page.fill("#assignment-form input[name=end_date]", "2024-03-31")
    page.click("#assignment-form button[type=submit]")
    page.wait_for_selector("#assignment-list td:has-text('department Ops')")
    page.goto(f"{live_server.url}/attendance/calendar?year=2024&month=3")
    monday = page.locator("td[data-date='2024-03-04']")
    assert monday.get_attribute("data-status") == "normal"
    colour = monday.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(216, 243, 220)"
    assert page.locator("td[data-date='2024-03-11']").get_attribute("data-status") == "absent"
    page.goto(f"{live_server.url}/attendance/reports?year=2024&month=3")
    page.click("#compute-form button[type=submit]")
    page.wait_for_selector(".job-state[data-state=finished]")
    assert page.locator("#chart svg rect").count() == 62
    page.select_option("#export-form select[name=kind]", "report")
    page.select_option("#export-form select[name=format]", "xlsx")
    page.click("#export-form button[type=submit]")
    page.wait_for_selector("#export-progress .job-download")
    assert page.locator("#export-progress progress").get_attribute("value") == "100"
    with page.expect_download() as info:
        page.click("#export-progress .job-download")
    download = info.value
    assert download.suggested_filename == "attendance-report-2024-03.xlsx"
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("User ID", "Name", "Department", "Required Attendance (days)")
    assert rows[1][:3] == ("u1", "Person u1", "Ops") and rows[1][4] == 1  # attended the 4th
    page.goto(f"{live_server.url}/attendance/assignments")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#assignment-list button:has-text('Remove')")
    page.wait_for_selector("#assignment-list td:has-text('No assignments yet.')")
    page.goto(f"{live_server.url}/attendance/calendar?year=2024&month=3")
    assert page.locator("td[data-date='2024-03-04']").get_attribute("data-status") is None
