"""Personnel batch operations, xlsx import/export, search paging and query counts."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import func, select

from openpss.platform.people.models import Card, Person
from openpss.platform.security.models import Role
from tests.conftest import Api
from tests.support.people_api import P, add_person, root_id
from tests.support.people_bulk import person_count, sheet_rows
from tests.support.queries import count_queries


def xlsx_file(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_batch_add_issue_edit_all_or_nothing(api: Api) -> None:
    h = api.headers(Role.operator)
    root = root_id(api)
    dept = api.client.post(f"{P}/departments", json={"name": "Ops", "parent_id": root}, headers=h)
    body = {"start_user_id": "0100", "quantity": 5, "department_id": dept.json()["id"]}
    added = api.client.post(f"{P}/batch/add", json=body, headers=h)
    assert added.status_code == 201, added.text
    assert [p["user_id"] for p in added.json()] == ["0100", "0101", "0102", "0103", "0104"]
    clash = api.client.post(f"{P}/batch/add", json={**body, "start_user_id": "0104"}, headers=h)
    assert clash.status_code == 409 and "0104" in clash.json()["detail"]
    assert person_count(api) == 5
    ids = [p["id"] for p in added.json()]
    wrong = api.client.post(
        f"{P}/batch/cards",
        json={"person_ids": ids[:3], "card_numbers": ["AA000001", "AA000002", "AA000001"]},
        headers=h,
    )
    assert wrong.status_code == 409 and "listed twice" in wrong.json()["detail"]
    mismatch = api.client.post(
        f"{P}/batch/cards", json={"person_ids": ids[:2], "card_numbers": ["AA01"]}, headers=h
    )
    assert mismatch.status_code == 422 and "one card number per person" in mismatch.text
    ok = api.client.post(
        f"{P}/batch/cards",
        json={"person_ids": ids[:2], "card_numbers": ["AA000001", "AA000002"]},
        headers=h,
    )
    assert ok.status_code == 201 and [c["number"] for c in ok.json()] == ["AA000001", "AA000002"]
    again = api.client.post(
        f"{P}/batch/cards",
        json={"person_ids": ids[2:4], "card_numbers": ["AA000003", "AA000001"]},
        headers=h,
    )
    assert again.status_code == 409 and "already issued to user 0100" in again.json()["detail"]
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Card)) == 2  # AA000003 not issued
    bad_edit = api.client.post(
        f"{P}/batch/edit",
        json={"person_ids": ids, "valid_to": "2000-01-01T00:00:00Z"},
        headers=h,
    )
    assert bad_edit.status_code == 422 and "after the start" in bad_edit.json()["detail"]
    edit = api.client.post(
        f"{P}/batch/edit", json={"person_ids": ids[:2], "department_id": root}, headers=h
    )
    assert edit.status_code == 204
    moved = api.client.get(f"{P}/persons", params={"department_id": root}, headers=h).json()
    assert moved["total"] == 5  # root includes sub-departments
    ops = api.client.get(
        f"{P}/persons", params={"department_id": dept.json()["id"]}, headers=h
    ).json()
    assert ops["total"] == 3


def test_import_validates_whole_file_then_writes_all(api: Api) -> None:
    h = api.headers(Role.operator)
    template = api.client.get(f"{P}/import/template", headers=h)
    header = sheet_rows(template.content)[0]
    add_person(api, "9000", "Existing Person")
    rows: list[list[object]] = [
        list(header),
        ["2001", "Good One", "", "general", None, None, None, "0B000001"],
        ["2002", "", "", "general"],
        ["2003", "Bad Card", "", "general", None, None, None, "XYZ"],
        ["2001", "Dup Id", "", "general"],
        ["9000", "Taken", "", "general"],
        ["2006", "Bad dept", "Nowhere/Else", "general"],
    ]
    files = {"file": ("p.xlsx", xlsx_file(rows), "application/octet-stream")}
    response = api.client.post(f"{P}/import", files=files, headers=h)
    assert response.status_code == 422
    errors = {e["loc"][1]: e["msg"] for e in response.json()["errors"]}
    assert set(errors) == {3, 4, 5, 6, 7}
    assert "name" in errors[3] and "not hexadecimal" in errors[4]
    assert "also appears in row 2" in errors[5] and "already exists" in errors[6]
    assert "does not exist" in errors[7]
    assert person_count(api) == 1
    good = [list(header), rows[1], ["2007", "Second", "", "vip", None, None, 3]]
    files = {"file": ("p.xlsx", xlsx_file(good), "application/octet-stream")}
    response = api.client.post(f"{P}/import", files=files, headers=h)
    assert response.status_code == 200 and response.json()["imported"] == 2
    found = api.client.get(f"{P}/persons", params={"q": "0B000001"}, headers=h).json()
    assert found["items"][0]["user_id"] == "2001"
    junk = {"file": ("p.xlsx", b"not a zip", "application/octet-stream")}
    refused = api.client.post(f"{P}/import", files=junk, headers=h)
    assert refused.status_code == 422 and "not a readable xlsx" in refused.json()["detail"]


def test_export_selected_and_all_in_card_mode(api: Api) -> None:
    h = api.headers(Role.operator)
    first = add_person(api, "1001", "Ann Lee")
    add_person(api, "1002", "Bo Chen")
    api.client.post(f"{P}/persons/{first['id']}/cards", json={"number": "000000FF"}, headers=h)
    api.client.put(
        f"{P}/card-mode", json={"mode": "decimal"}, headers=api.headers(Role.administrator)
    )
    everyone = api.client.get(f"{P}/export", headers=h)
    rows = sheet_rows(everyone.content)
    assert [r[0] for r in rows[1:]] == ["1001", "1002"]
    assert rows[1][7] == "255"
    selected = api.client.get(f"{P}/export", params={"ids": str(first["id"])}, headers=h)
    rows = sheet_rows(selected.content)
    assert len(rows) == 2


def test_search_by_id_name_card_with_paging(api: Api) -> None:
    h = api.headers(Role.operator)
    names = ["Ann Lee", "Bo Chen", "Carla Annis", "Dan Wu", "Eve Stone"]
    for i, name in enumerate(names):
        person = add_person(api, f"{1001 + i}", name)
        number = f"C0FFEE{i:02X}"
        api.client.post(f"{P}/persons/{person['id']}/cards", json={"number": number}, headers=h)
    by_name = api.client.get(f"{P}/persons", params={"q": "ann"}, headers=h).json()
    assert [p["name"] for p in by_name["items"]] == ["Ann Lee", "Carla Annis"]
    by_id = api.client.get(f"{P}/persons", params={"q": "1003", "field": "id"}, headers=h).json()
    assert by_id["total"] == 1 and by_id["items"][0]["name"] == "Carla Annis"
    by_card = api.client.get(
        f"{P}/persons", params={"q": "c0ffee0", "field": "card"}, headers=h
    ).json()
    assert by_card["total"] == 5
    page = api.client.get(f"{P}/persons", params={"limit": 2, "offset": 2}, headers=h).json()
    assert page["total"] == 5 and [p["user_id"] for p in page["items"]] == ["1003", "1004"]
    bad = api.client.get(f"{P}/persons", params={"limit": 0}, headers=h)
    assert bad.status_code == 422


def test_person_list_query_count_does_not_grow_with_page(api: Api) -> None:
    """Guards against N+1: the list API runs the same number of statements for 2 or 20 rows."""
    h = api.headers(Role.viewer)
    op = api.headers(Role.operator)
    for i in range(20):
        person = add_person(api, f"{3000 + i}", f"Person {i}")
        api.client.post(
            f"{P}/persons/{person['id']}/cards", json={"number": f"DD{i:06X}"}, headers=op
        )
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    api.client.get(f"{P}/persons", params={"limit": 1}, headers=h)  # token's first-use write
    counts, totals = {}, {}
    for limit in (2, 20):
        with count_queries(engine) as statements:
            response = api.client.get(f"{P}/persons", params={"limit": limit}, headers=h)
        assert len(response.json()["items"]) == limit
        counts[limit] = len([s for s in statements if "FROM person" in s or "FROM card" in s])
        totals[limit] = len(statements)
    # count, page, cards of the page (departments of the page come in one more query)
    assert counts[2] == counts[20] == 3
    assert totals[2] == totals[20]


def test_export_keeps_duress_and_frozen_cards_through_an_import(api: Api) -> None:
    """Issue 8.15: the export dropped a card's duress/frozen state."""
    h = api.headers(Role.operator)
    person = add_person(api, "1001", "Ann Lee")
    url = f"{P}/persons/{person['id']}/cards"
    main = api.client.post(url, json={"number": "0A000001"}, headers=h).json()
    duress = api.client.post(url, json={"number": "0A000002"}, headers=h).json()
    api.client.patch(f"{url}/{main['id']}", json={"frozen": True}, headers=h)
    api.client.patch(f"{url}/{duress['id']}", json={"kind": "duress", "frozen": True}, headers=h)
    rows = sheet_rows(api.client.get(f"{P}/export", headers=h).content)
    assert rows[1][7] == "0A000001 (frozen);0A000002 (duress, frozen)"
    rows[1] = ("1002", "Bo Chen", *rows[1][2:7], "0B000001 (duress);0B000002", *rows[1][8:])
    files = {"file": ("p.xlsx", xlsx_file([list(r) for r in rows[:2]]), "application/x")}
    assert api.client.post(f"{P}/import", files=files, headers=h).status_code == 200
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        cards = s.execute(select(Card.number, Card.kind, Card.frozen).order_by(Card.number)).all()
    assert [tuple(c) for c in cards[2:]] == [
        ("0B000001", "duress", False),
        ("0B000002", "main", False),
    ]
    bad = [list(rows[0]), ["1003", "Cy", None, None, None, None, None, "0C000001 (stolen)"]]
    refused = api.client.post(
        f"{P}/import", files={"file": ("p.xlsx", xlsx_file(bad), "application/x")}, headers=h
    )
    assert "card state 'stolen' is unknown" in refused.json()["errors"][0]["msg"]


def test_import_can_update_existing_persons_by_user_id_all_or_nothing(api: Api) -> None:
    """Issue 8.15: an edited export could not be imported again (every user ID "exists")."""
    h = api.headers(Role.operator)
    ann = add_person(api, "1001", "Ann Lee")
    add_person(api, "1002", "Bo Chen")
    api.client.post(f"{P}/persons/{ann['id']}/cards", json={"number": "0A000001"}, headers=h)
    rows = [list(r) for r in sheet_rows(api.client.get(f"{P}/export", headers=h).content)]
    header = rows[0]
    rows[1][1], rows[1][7] = "Ann Lee-Smith", "0A000001 (duress);0A000009"
    rows[2][1] = "Bo Chen"
    rows.append(["1003", "Cy New", *([None] * (len(header) - 2))])
    files = {"file": ("p.xlsx", xlsx_file(rows), "application/x")}
    plain = api.client.post(f"{P}/import", files=files, headers=h)
    assert plain.status_code == 422 and "already exists" in plain.json()["errors"][0]["msg"]
    updated = api.client.post(
        f"{P}/import", files=files, params={"update_existing": "true"}, headers=h
    )
    assert updated.status_code == 200 and updated.json()["imported"] == 3
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        names = dict(s.execute(select(Person.user_id, Person.name)).all())
        cards = s.execute(select(Card.number, Card.kind).order_by(Card.number)).all()
    assert names == {"1001": "Ann Lee-Smith", "1002": "Bo Chen", "1003": "Cy New"}
    assert [tuple(c) for c in cards] == [("0A000001", "duress"), ("0A000009", "main")]
    # all or nothing: one bad row (a card that another person holds) changes no one
    rows[1][1], rows[1][7], rows[2][7] = "Ann Changed Again", "0A000001 (duress)", "0A000009"
    files = {"file": ("p.xlsx", xlsx_file(rows), "application/x")}
    refused = api.client.post(
        f"{P}/import", files=files, params={"update_existing": "true"}, headers=h
    )
    assert refused.status_code == 422
    # The one error shape (ErrorBody): each bad row as loc ["row", n] with its reason.
    assert [(e["loc"], e["msg"]) for e in refused.json()["errors"]] == [
        (["row", 3], "card 0A000009 is already issued to user 1001")
    ]
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert s.scalar(select(Person.name).where(Person.user_id == "1001")) == "Ann Lee-Smith"
