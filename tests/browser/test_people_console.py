"""The personnel console in headless Chromium: department, person with card, search, import."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from openpss.platform.people.models import Person
from tests.browser.helpers import initialize_and_login

pytestmark = pytest.mark.browser


def search(page: Any) -> None:
    """Click Search and wait for the list to be replaced (the old list may match the next wait)."""
    with page.expect_response(lambda r: "/people/list" in r.url):
        page.click("#search-button")


def test_add_department_and_person_with_card_then_search(page: Any, live_server: Any) -> None:
    initialize_and_login(page, live_server)
    page.goto(f"{live_server.url}/people")
    page.wait_for_selector("h1#personnel")
    page.click("text=Add department")
    page.fill("#add-department input[name=name]", "Logistics")
    page.click("#add-department button[type=submit]")
    page.wait_for_selector("#department-tree a:has-text('Logistics')")

    page.click("#add-person")
    page.wait_for_selector("#person-dialog")
    page.fill("#person-form input[name=user_id]", "2001")
    page.fill("#person-form input[name=name]", "Grace Hopper")
    page.select_option("#person-form select[name=department_id]", label="Default Company/Logistics")
    page.click("label:has-text('Extended information')")
    page.fill("#person-form input[name=email]", "grace@example.com")
    page.click("#person-save")
    page.wait_for_selector("#person-dialog strong:has-text('Edit person 2001')")
    page.wait_for_selector("#flash:has-text('Person 2001 (Grace Hopper) added.')")  # issue 8.14
    page.click("label:has-text('Basic Info')")
    page.fill("#add-card input[name=number]", "c0ffee01")
    page.click("#add-card button[type=submit]")
    page.wait_for_selector("#card-table code:has-text('C0FFEE01')")
    page.fill("#add-card input[name=number]", "C0FFEE01")
    page.click("#add-card button[type=submit]")
    assert "already issued to user 2001" in page.inner_text("#credential-error")
    page.click("#person-dialog .close")

    page.fill("input[name=q]", "grace")
    search(page)
    page.wait_for_selector("#person-table td:has-text('Grace Hopper')")
    assert "C0FFEE01" in page.inner_text("#person-table")
    assert "1 person(s)" in page.inner_text("#person-total")
    page.fill("input[name=q]", "c0ffee")
    page.select_option("select[name=field]", "card")
    search(page)
    page.wait_for_selector("#person-table td:has-text('2001')")
    page.fill("input[name=q]", "nobody")
    search(page)
    page.wait_for_selector("#person-table td:has-text('No person found')")
    page.click("#department-tree a:has-text('Logistics')")  # the list shows that department
    page.wait_for_selector("#person-table td:has-text('Grace Hopper')")
    page.click("#department-tree a:has-text('Default Company')")  # the root includes children
    page.wait_for_selector("#person-table td:has-text('Grace Hopper')")


def _workbook_with_bad_row() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["User ID*", "Name*", "Department", "User Type", "Valid From", "Valid To"])
    sheet.append(["5001", "Good Row", "", "general"])
    sheet.append(["5002", "Bad Row", "", "general", "2030-01-01", "2020-01-01"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_import_with_bad_row_imports_nothing(page: Any, live_server: Any) -> None:
    initialize_and_login(page, live_server)
    page.goto(f"{live_server.url}/people/import")
    upload = {"name": "persons.xlsx", "mimeType": "application/octet-stream"}
    page.set_input_files(
        "#import-form input[name=file]", {**upload, "buffer": _workbook_with_bad_row()}
    )
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-errors")
    rows = page.inner_text("#import-errors tbody")
    assert rows.startswith("3") and "after the start time" in rows
    assert "Nothing was imported" in page.inner_text("#import-failed")
    with live_server.app.state.session_factory() as session:
        assert session.scalars(select(Person)).first() is None
