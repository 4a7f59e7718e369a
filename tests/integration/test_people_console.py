"""Personnel console pages (HTML + HTMX fragments) through a logged-in browser session."""

from __future__ import annotations

import io
import json

from openpyxl import Workbook, load_workbook
from PIL import Image
from sqlalchemy import select

from openpss.platform.people.cards import display_card
from openpss.platform.people.models import Department, Person
from openpss.platform.security.models import Role
from tests.conftest import Api
from tests.support import people_console
from tests.support.people_console import HX, Console
from tests.support.queries import count_queries

console = people_console.console  # fixture


def test_personnel_page_tree_list_and_department_forms(console: Console) -> None:
    page = console.client.get("/people")
    assert page.status_code == 200 and 'id="department-tree"' in page.text
    root = console.client.get("/api/v1/people/departments").json()["id"]
    added = console.post("/people/departments", {"name": "Engineering", "parent_id": root})
    assert "Engineering" in added.text and json.loads(added.headers["HX-Trigger"]) == {
        "departments-changed": "",
        "openpss-flash": "Department 'Engineering' added.",
    }
    dup = console.post("/people/departments", {"name": "Engineering", "parent_id": root})
    assert "already has a sub-department" in dup.text
    no_csrf = console.client.post("/people/departments", data={"name": "X", "parent_id": root})
    assert no_csrf.status_code == 403


def test_add_person_dialog_with_card_and_errors(console: Console) -> None:
    dialog = console.client.get("/people/persons/new", headers=HX)
    assert "Basic Info" in dialog.text and "Extended information" in dialog.text
    bad = console.post("/people/persons", {"user_id": "1001", "name": "", "email": "x"})
    assert "name is required" in bad.text and "email" in bad.text  # 200: HTMX swaps it in
    ok = console.post(
        "/people/persons",
        {
            "user_id": "1001",
            "name": "Ann Lee",
            "valid_from": "2025-01-01T00:00",
            "valid_to": "2035-01-01T23:59",
            "times_used": "",
            "administrator": "on",
        },
    )
    assert ok.status_code == 200, ok.text
    assert "Edit person 1001" in ok.text and "/permissions/person/" in ok.text
    person_id = console.client.get("/api/v1/people/persons?q=1001").json()["items"][0]["id"]
    card = console.post(f"/people/persons/{person_id}/cards", {"number": "1a2b3c4d"})
    assert "1A2B3C4D" in card.text and "QR code" in card.text
    again = console.post(f"/people/persons/{person_id}/cards", {"number": "1A2B3C4D"})
    assert "already issued to user 1001" in again.text
    pin = console.post(f"/people/persons/{person_id}/password", {"password": "12"})
    assert "6-8 digits" in pin.text
    listing = console.client.get("/people/list?q=1a2b", headers=HX)
    assert "Ann Lee" in listing.text and "1 person(s)" in listing.text
    cards = console.client.get("/people/list?display=card", headers=HX)
    assert "person-card" in cards.text


def test_import_page_reports_bad_row_and_imports_nothing(console: Console) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["User ID*", "Name*", "Department"])
    sheet.append(["5001", "Good Row", ""])
    sheet.append(["5002", "Bad Row", "No Such Dept"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    files = {"file": ("people.xlsx", buffer.getvalue())}
    response = console.client.post("/people/import", files=files, data={"csrf_token": console.csrf})
    assert response.status_code == 422
    assert "<td>3</td>" in response.text and "does not exist" in response.text
    app = console.client.app
    with app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert s.scalars(select(Person)).first() is None


def test_batch_pages_and_company(console: Console) -> None:
    added = console.post("/people/batch/add", {"start_user_id": "700", "quantity": "3"})
    assert "added 3 person(s): 700 to 702" in added.text
    ids = [p["id"] for p in console.client.get("/api/v1/people/persons").json()["items"]]
    page = console.client.get("/people/batch", params={"ids": ids})
    assert "3 person(s) selected" in page.text
    issued = console.post("/people/batch/cards", {"ids": ids, "card_numbers": "AB01 AB02"})
    assert issued.status_code == 422 and "one card number per person" in issued.text
    for url, text in [
        ("/people/company", "Postal code"),
        ("/people/import", "xlsx template"),
        ("/people/batch", "Batch add"),
    ]:
        assert text in console.client.get(url).text
    company = console.post("/people/company", {"name": "Acme", "email": "bad"})
    assert company.status_code == 422 and "name@example.com" in company.text
    saved = console.post("/people/company", {"name": "Acme", "email": "hq@acme.example"})
    assert saved.status_code in (200, 303)
    with console.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        root = s.scalars(select(Department).where(Department.parent_id.is_(None))).one()
        assert root.name == "Acme"


def test_console_list_query_count_is_constant(console: Console) -> None:
    console.post("/people/batch/add", {"start_user_id": "100", "quantity": "60"})
    engine = console.client.app.state.engine  # type: ignore[attr-defined]
    totals = {}
    for size in (20, 50):
        with count_queries(engine) as statements:
            response = console.client.get(f"/people/list?size={size}", headers=HX)
        assert response.status_code == 200
        totals[size] = len(statements)
    assert totals[20] == totals[50]


def test_card_mode_switch_changes_every_display(console: Console, api: Api) -> None:
    person = console.post("/people/batch/add", {"start_user_id": "900", "quantity": "1"})
    assert person.status_code == 200
    pid = console.client.get("/api/v1/people/persons").json()["items"][0]["id"]
    console.post(f"/people/persons/{pid}/cards", {"number": "000000FF"})
    refused = console.post("/people/card-mode", {"mode": "decimal"})
    assert refused.status_code == 403  # operator: the card issuing type is an admin setting
    admin = api.headers(Role.administrator)
    api.client.put("/api/v1/people/card-mode", json={"mode": "decimal"}, headers=admin)
    listing = console.client.get("/people/list", headers=HX)
    assert "<code" in listing.text and ">255</code>" in listing.text
    dialog = console.client.get(f"/people/persons/{pid}/edit", headers=HX)
    assert ">255</code>" in dialog.text and "QR code" not in dialog.text
    with console.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert display_card(s, "000000FF") == "255"  # what records of other domains show


def test_face_upload_and_export_from_console(console: Console) -> None:
    console.post("/people/batch/add", {"start_user_id": "910", "quantity": "2"})
    items = console.client.get("/api/v1/people/persons").json()["items"]
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, format="JPEG")
    headers = {"X-CSRF-Token": console.csrf, **HX}
    face = console.client.post(
        f"/people/persons/{items[0]['id']}/faces",
        files={"file": ("face.jpg", buffer.getvalue(), "image/jpeg")},
        headers=headers,
    )
    assert face.status_code == 200 and 'alt="face 1"' in face.text
    bad = console.client.post(
        f"/people/persons/{items[0]['id']}/faces",
        files={"file": ("face.txt", b"hello", "text/plain")},
        headers=headers,
    )
    assert "not a readable JPEG or PNG" in bad.text
    exported = console.client.get("/people/export", params={"ids": [items[1]["id"]]})
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = load_workbook(io.BytesIO(exported.content)).worksheets[0].iter_rows(values_only=True)
    assert [r[0] for r in rows] == ["User ID*", "911"]
