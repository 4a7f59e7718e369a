"""Cards and fingerprints collected by a device for the platform (issue 8.15, manual 1.4.1
collector "Device"): the platform asks the virtual terminal over its CGI API while a card or a
finger is presented there."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from openpss.platform.people.models import Card, Fingerprint, Person
from openpss.platform.security.models import Account, Role
from openpss.platform.security.tokens import open_login_session
from tests.conftest import Api
from tests.support.dahua_device import ADMIN_PASSWORD, RunningDevice, running_device
from tests.support.people_api import add_person

FINGER = b"\x11\x22\x33" * 100


@pytest.fixture
def device(tmp_path: Path) -> Iterator[RunningDevice]:
    with running_device(tmp_path / "terminal") as running:
        yield running


@pytest.fixture
def setup(api: Api, device: RunningDevice) -> tuple[int, int, dict[str, str]]:
    """The terminal registered as a device, one person, and the console's CSRF header."""
    body = {"name": "Gate", "host": "127.0.0.1", "port": device.port, "username": "admin"}
    body |= {"password": ADMIN_PASSWORD}
    created = api.client.post("/api/v1/devices", json=body, headers=api.headers(Role.operator))
    person = add_person(api, "1001", "Ann Lee")
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        account = s.scalars(select(Account).where(Account.role == Role.operator)).one()
        cookie, row = open_login_session(session=s, account=account, lifetime=dt.timedelta(hours=1))
        csrf = row.csrf_token
        s.commit()
    api.client.cookies.set("openpss_session", cookie)
    return created.json()["id"], person["id"], {"X-CSRF-Token": csrf, "HX-Request": "true"}


async def _while_presenting(
    device: RunningDevice, call: Callable[[], httpx.Response], *presentations: dict[str, Any]
) -> httpx.Response:
    """Run `call` (which waits for the device) and present at the device once it waits."""
    answer = asyncio.create_task(asyncio.to_thread(call))
    for _ in range(400):
        if device.front.collector.pending is not None:
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError("the platform never asked the device")
    for body in presentations:
        await asyncio.to_thread(device.present, **body)
    return await answer


async def test_api_reads_the_next_card_and_a_fingerprint_from_the_device(
    api: Api, device: RunningDevice, setup: tuple[int, int, dict[str, str]]
) -> None:
    device_id, _, _ = setup
    op = api.headers(Role.operator)
    url = f"/api/v1/devices/{device_id}"
    read = await _while_presenting(
        device, lambda: api.client.post(f"{url}/read-card", headers=op), {"card": "00c0ffee"}
    )
    assert read.status_code == 200 and read.json() == {"number": "00C0FFEE", "shown": "00C0FFEE"}
    finger = {"fingerprint": base64.b64encode(FINGER).decode()}
    captured = await _while_presenting(
        device,
        lambda: api.client.post(f"{url}/capture-fingerprint", headers=op),
        finger, finger, finger,
    )  # fmt: skip
    assert base64.b64decode(captured.json()["template"]) == FINGER
    late = api.client.post(f"{url}/read-card", params={"wait": 1}, headers=op)
    assert late.status_code == 502 and "no card at the device within 1 s" in late.json()["detail"]
    assert api.client.post("/api/v1/devices/999/read-card", headers=op).status_code == 404


async def test_console_issues_a_card_and_enrols_a_fingerprint_collected_on_the_device(
    api: Api, device: RunningDevice, setup: tuple[int, int, dict[str, str]]
) -> None:
    device_id, person_id, hx = setup
    base = f"/people/persons/{person_id}"
    panel = api.client.get(f"{base}/edit", headers=hx).text
    assert 'id="card-from-device"' in panel and 'id="fingerprint-from-device"' in panel
    form = {"device_id": str(device_id), "kind": "duress"}
    issued = await _while_presenting(
        device,
        lambda: api.client.post(f"{base}/cards/from-device", data=form, headers=hx),
        {"card": "0a0b0c0d"},
    )
    assert "Card 0A0B0C0D read and added." in issued.headers["HX-Trigger"]
    finger = {"fingerprint": base64.b64encode(FINGER).decode()}
    form = {"device_id": str(device_id), "name": "right index"}
    enrolled = await _while_presenting(
        device,
        lambda: api.client.post(f"{base}/fingerprints/from-device", data=form, headers=hx),
        finger, finger, finger,
    )  # fmt: skip
    assert "right index" in enrolled.text
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        card = s.execute(select(Card.number, Card.kind).where(Card.person_id == person_id)).one()
        enrolled_print = s.execute(
            select(Fingerprint.name, Fingerprint.template).where(Fingerprint.person_id == person_id)
        ).one()
    assert tuple(card) == ("0A0B0C0D", "duress")
    assert tuple(enrolled_print) == ("right index", FINGER)
    batch = await _while_presenting(
        device,
        lambda: api.client.post(
            "/people/read-card", data={"device_id": str(device_id)}, headers=hx
        ),
        {"card": "0e0e0e0e"},
    )
    assert batch.status_code == 200 and batch.text == "0E0E0E0E"


def test_batch_add_issues_the_listed_cards_in_user_id_order_all_or_nothing(
    api: Api, setup: tuple[int, int, dict[str, str]]
) -> None:
    _, _, hx = setup
    form = {"start_user_id": "2001", "quantity": "2", "card_numbers": "0B000001\n0B000002"}
    added = api.client.post("/people/batch/add", data=form, headers=hx)
    assert "added 2 person(s): 2001 to 2002, with 2 card(s)" in added.text
    refused = api.client.post(
        "/people/batch/add", data=form | {"start_user_id": "3001", "card_numbers": "0C000001"},
        headers=hx,
    )  # fmt: skip
    assert refused.status_code == 422 and "give one card number per person" in refused.text
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        owners = s.execute(
            select(Person.user_id, Card.number).join(Card).order_by(Card.number)
        ).all()
        assert s.scalar(select(Person.id).where(Person.user_id == "3001")) is None
    assert [tuple(o) for o in owners] == [("2001", "0B000001"), ("2002", "0B000002")]


def test_new_person_dialog_saves_its_optional_card_with_the_person_or_nothing(
    api: Api, setup: tuple[int, int, dict[str, str]]
) -> None:
    _, _, hx = setup
    dialog = api.client.get("/people/persons/new", headers=hx).text
    assert 'id="new-card-number"' in dialog and 'id="new-card-read"' in dialog
    bad = api.client.post(
        "/people/persons", data={"user_id": "4001", "name": "Di", "card_number": "XYZ"}, headers=hx
    )
    assert "not hexadecimal" in bad.text and 'value="XYZ"' in bad.text
    good = api.client.post(
        "/people/persons",
        data={"user_id": "4001", "name": "Di", "card_number": "0F000001"},
        headers=hx,
    )
    assert "Person 4001 (Di) added." in good.headers["HX-Trigger"]
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        owners = s.execute(select(Person.user_id, Card.number).join(Card)).all()
    assert [tuple(o) for o in owners] == [("4001", "0F000001")]
