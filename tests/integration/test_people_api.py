"""Personnel REST API against SQLite and PostgreSQL: company, departments, persons, credentials."""

from __future__ import annotations

import base64
import io
import json
import random
from typing import Any

from PIL import Image
from sqlalchemy import select

from openpss.platform.security.models import AuditEntry, Role
from tests.conftest import Api
from tests.support.people_api import P, add_person, png_bytes, root_id


def test_company_info_renames_root_and_logo_must_be_an_image(api: Api) -> None:
    h = api.headers(Role.operator)
    body = {"name": "Acme Ltd", "email": "info@acme.example", "telephone": "+1 555-0100"}
    assert api.client.put(f"{P}/company", json=body, headers=h).status_code == 200
    tree = api.client.get(f"{P}/departments", headers=h).json()
    assert tree["name"] == "Acme Ltd"
    bad = api.client.put(f"{P}/company", json={**body, "email": "nope"}, headers=h)
    assert bad.status_code == 422 and "name@example.com" in bad.text
    files = {"file": ("logo.gif", b"GIF89a not really", "image/gif")}
    refused = api.client.put(f"{P}/company/logo", files=files, headers=h)
    assert refused.status_code == 422
    assert "not a readable JPEG or PNG" in refused.json()["detail"]
    files = {"file": ("logo.png", png_bytes(), "image/png")}
    assert api.client.put(f"{P}/company/logo", files=files, headers=h).json()["has_logo"]
    logo = api.client.get(f"{P}/company/logo", headers=h)
    assert logo.headers["content-type"] == "image/png"


def test_department_tree_rules(api: Api) -> None:
    h = api.headers(Role.operator)
    root = root_id(api)
    sales = api.client.post(
        f"{P}/departments", json={"name": "Sales", "parent_id": root}, headers=h
    )
    assert sales.status_code == 201
    sales_id = sales.json()["id"]
    dup = api.client.post(f"{P}/departments", json={"name": "sales", "parent_id": root}, headers=h)
    assert dup.status_code == 409 and "already has a sub-department" in dup.json()["detail"]
    blank = api.client.post(f"{P}/departments", json={"name": "  ", "parent_id": root}, headers=h)
    assert blank.status_code == 422
    north = api.client.post(
        f"{P}/departments", json={"name": "North", "parent_id": sales_id}, headers=h
    ).json()
    refused = api.client.delete(f"{P}/departments/{sales_id}", headers=h)
    assert refused.status_code == 409 and "sub-department" in refused.json()["detail"]
    add_person(api, "1001", "Ann Lee", department_id=north["id"])
    refused = api.client.delete(f"{P}/departments/{north['id']}", headers=h)
    assert refused.status_code == 409 and "holds 1 person" in refused.json()["detail"]
    renamed = api.client.patch(f"{P}/departments/{north['id']}", json={"name": "Nord"}, headers=h)
    assert renamed.json()["name"] == "Nord"
    root_delete = api.client.delete(f"{P}/departments/{root}", headers=h)
    assert root_delete.status_code == 422
    viewer = api.client.post(
        f"{P}/departments", json={"name": "X", "parent_id": root}, headers=api.headers(Role.viewer)
    )
    assert viewer.status_code == 403


def test_person_fields_and_validation(api: Api) -> None:
    h = api.headers(Role.operator)
    person = add_person(
        api,
        "A1001",
        "Maria Garcia",
        gender="female",
        title="Ms",
        email="maria@example.com",
        administrator=True,
        id_type="passport",
        id_number="X1234567",
        times_used=5,
        valid_from="2025-01-01T00:00:00Z",
        valid_to="2030-01-01T23:59:59Z",
    )
    assert person["gender"] == "female" and person["administrator"] is True
    assert person["times_used"] == 5 and person["valid_to"].startswith("2030-01-01T23:59:59")
    default = add_person(api, "1002", "Bo Chen")
    assert default["times_used"] is None  # unlimited
    cases = [
        ({"user_id": "A1001", "name": "x"}, 409, "already used"),
        ({"user_id": "bad id!", "name": "x"}, 422, "letters or digits"),
        ({"user_id": "1" * 33, "name": "x"}, 422, "letters or digits"),
        ({"user_id": "1003", "name": "x", "email": "a@b"}, 422, "email"),
        (
            {
                "user_id": "1003",
                "name": "x",
                "valid_from": "2025-01-02T00:00:00Z",
                "valid_to": "2025-01-01T00:00:00Z",
            },
            422,
            "after the start",
        ),
        ({"user_id": "1003", "name": "x", "department_id": 9999}, 404, "does not exist"),
    ]
    for body, code, text in cases:
        response = api.client.post(f"{P}/persons", json=body, headers=h)
        assert response.status_code == code, (body, response.text)
        assert text in response.text
    pid = person["id"]
    changed = api.client.patch(f"{P}/persons/{pid}", json={"times_used": None}, headers=h).json()
    assert changed["times_used"] is None and changed["name"] == "Maria Garcia"
    assert api.client.delete(f"{P}/persons/{pid}", headers=h).status_code == 204
    assert api.client.get(f"{P}/persons/{pid}", headers=h).status_code == 404


def test_cards_modes_freeze_replace_qr(api: Api) -> None:
    h = api.headers(Role.operator)
    pid = add_person(api, "1001", "Ann Lee")["id"]
    other = add_person(api, "1002", "Bo Chen")["id"]
    card = api.client.post(f"{P}/persons/{pid}/cards", json={"number": "a1b2c3d4"}, headers=h)
    assert card.status_code == 201 and card.json()["number"] == "A1B2C3D4"
    cid = card.json()["id"]
    taken = api.client.post(f"{P}/persons/{other}/cards", json={"number": "A1B2C3D4"}, headers=h)
    assert taken.status_code == 409 and "already issued to user 1001" in taken.json()["detail"]
    bad = api.client.post(f"{P}/persons/{other}/cards", json={"number": "XYZ"}, headers=h)
    assert bad.status_code == 422 and "not hexadecimal" in bad.json()["detail"]
    frozen = api.client.patch(
        f"{P}/persons/{pid}/cards/{cid}", json={"frozen": True, "kind": "duress"}, headers=h
    ).json()
    assert frozen["frozen"] is True and frozen["kind"] == "duress"
    qr = api.client.get(f"{P}/persons/{pid}/cards/{cid}/qr.png", headers=h)
    assert qr.status_code == 200 and qr.content.startswith(b"\x89PNG")
    long_card = api.client.post(
        f"{P}/persons/{other}/cards", json={"number": "11223344556677"}, headers=h
    ).json()
    no_qr = api.client.get(f"{P}/persons/{other}/cards/{long_card['id']}/qr.png", headers=h)
    assert no_qr.status_code == 422 and "8-digit" in no_qr.json()["detail"]
    # switching to decimal changes what every screen shows and what input means
    admin = api.headers(Role.administrator)
    assert api.client.put(f"{P}/card-mode", json={"mode": "decimal"}, headers=h).status_code == 403
    api.client.put(f"{P}/card-mode", json={"mode": "decimal"}, headers=admin)
    person = api.client.get(f"{P}/persons/{pid}", headers=h).json()
    assert person["cards"][0]["number"] == str(0xA1B2C3D4)
    assert person["cards"][0]["number_hex"] == "A1B2C3D4"
    replaced = api.client.patch(
        f"{P}/persons/{pid}/cards/{cid}", json={"number": "255"}, headers=h
    ).json()
    assert replaced["number"] == "255" and replaced["number_hex"] == "000000FF"
    qr_decimal = api.client.get(f"{P}/persons/{pid}/cards/{cid}/qr.png", headers=h)
    assert qr_decimal.status_code == 422
    assert api.client.delete(f"{P}/persons/{pid}/cards/{cid}", headers=h).status_code == 204


def test_faces_fingerprints_password(api: Api) -> None:
    h = api.headers(Role.operator)
    pid = add_person(api, "1001", "Ann Lee")["id"]
    for _ in range(3):
        files = {"file": ("f.png", png_bytes(), "image/png")}
        assert (
            api.client.post(f"{P}/persons/{pid}/faces", files=files, headers=h).status_code == 201
        )
    files = {"file": ("f.png", png_bytes(), "image/png")}
    fourth = api.client.post(f"{P}/persons/{pid}/faces", files=files, headers=h)
    assert fourth.status_code == 422 and "at most 3 face images" in fourth.json()["detail"]
    big = Image.frombytes("RGB", (200, 200), random.Random(7).randbytes(200 * 200 * 3))
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 100 * 1024
    other = add_person(api, "1002", "Bo Chen")["id"]
    files = {"file": ("big.png", buffer.getvalue(), "image/png")}
    too_big = api.client.post(f"{P}/persons/{other}/faces", files=files, headers=h)
    assert too_big.status_code == 422 and "limit is 100 KB" in too_big.json()["detail"]
    template = base64.b64encode(b"\x01\x02opaque").decode()
    fp = api.client.post(
        f"{P}/persons/{pid}/fingerprints",
        json={"name": "Right index", "template": template},
        headers=h,
    )
    assert fp.status_code == 201
    got = api.client.get(f"{P}/persons/{pid}/fingerprints/{fp.json()['id']}", headers=h).json()
    assert base64.b64decode(got["template"]) == b"\x01\x02opaque"
    bad_b64 = api.client.post(
        f"{P}/persons/{pid}/fingerprints", json={"name": "x", "template": "***"}, headers=h
    )
    assert bad_b64.status_code == 422 and "base64" in bad_b64.json()["detail"]
    for pin, code in [("12345", 422), ("123456789", 422), ("12ab56", 422), ("135790", 204)]:
        response = api.client.put(f"{P}/persons/{pid}/password", json={"password": pin}, headers=h)
        assert response.status_code == code, pin
    person = api.client.get(f"{P}/persons/{pid}", headers=h).json()
    assert person["has_password"] and len(person["faces"]) == 3
    assert "135790" not in str(person)


def _audit(api: Api, action: str) -> list[tuple[str, Any]]:
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return [(e.target, json.loads(e.detail) if e.detail else "") for e in s.scalars(query)]


def test_api_and_console_audit_personnel_changes_alike(api: Api) -> None:
    """Regression: the console audited cards as person:<db id> with the stored number and the
    API as person:<db id> with the shown one; both now go through the service's one entry."""
    op = api.headers(Role.operator)
    person = add_person(api, "77", "Ann")
    cards = f"{P}/persons/{person['id']}/cards"
    assert api.client.post(cards, json={"number": "ABCDEF"}, headers=op).status_code == 201
    console = f"/people/persons/{person['id']}/cards"
    assert api.client.post(console, data={"number": "ABCDE0"}, headers=op).status_code == 200
    assert _audit(api, "card.create") == [
        ("person:77", {"card": "00ABCDEF", "kind": "main", "frozen": False}),
        ("person:77", {"card": "00ABCDE0", "kind": "main", "frozen": False}),
    ]
    body = {"user_id": "78", "name": "Bob"}
    assert api.client.post("/people/persons", data=body, headers=op).status_code == 200
    created = _audit(api, "person.create")
    assert [target for target, _ in created] == ["person:77", "person:78"]
    assert created[0][1] == created[1][1] | {"name": "Ann"}  # same fields from both
    api.client.post(f"/people/persons/{person['id']}/password", data={"password": "123456"},
                    headers=op)  # fmt: skip
    api.client.put(f"{P}/persons/{person['id']}/password", json={"password": "654321"}, headers=op)
    assert _audit(api, "password.set") == [("person:77", ""), ("person:77", "")]
