"""Device sync against a real virtual attendance terminal process (both databases).

Pushes persons with cards, classifies a rejected person, stores live punches from the event
stream, survives the terminal being killed and restarted without losing or duplicating records.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.devices.sync import SyncService
from openpss.platform.people.models import Card, Department, Person
from openpss.platform.permissions import service as permissions
from openpss.platform.permissions import tasks
from openpss.platform.permissions.models import AuthorizationTask
from openpss.platform.permissions.schemas import DoorRef, PermissionGroupCreate
from openpss.platform.records.models import AccessRecord
from openpss.platform.security.models import AuditEntry, Role
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaClient
from tests.conftest import Api
from tests.support import terminal_process
from tests.support.polling import eventually, eventually_async
from tests.support.terminal_process import ADMIN_PASSWORD, Terminal

terminal = terminal_process.terminal  # fixture


def _seed(factory: sessionmaker[Session], settings: Settings, terminal: Terminal) -> int:
    """Persons 1 and 2 with cards, person X (not a valid device user ID), a group over them."""
    with factory() as s:
        dep = Department(name="Staff")
        s.add(dep)
        s.flush()
        valid = {
            "valid_from": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "valid_to": dt.datetime(2036, 1, 1, tzinfo=dt.UTC),
        }
        for user_id, card in (("1", "00A1B2C3"), ("2", "00D4E5F6"), ("X", None)):
            person = Person(
                user_id=user_id, name=f"Person {user_id}", department_id=dep.id, **valid
            )
            if card:
                person.cards = [Card(number=card, number_dec=str(int(card, 16)))]
            s.add(person)
        device = Device(name="Terminal", host="127.0.0.1", port=terminal.port, username="admin")
        device.password_encrypted = encrypt_secret(settings, ADMIN_PASSWORD)
        device.kind = "attendance"
        s.add(device)
        s.flush()
        permissions.create_group(
            session=s,
            data=PermissionGroupCreate(
                name="Staff",
                verification_methods=["card"],
                doors=[DoorRef(device_id=device.id)],
                department_ids=[dep.id],
            ),
        )
        s.commit()
        return device.id


def _task_states(factory: sessionmaker[Session]) -> dict[str, tuple[str, str]]:
    with factory() as s:
        rows = s.scalars(select(AuthorizationTask)).all()
        return {t.user_id: (t.status.value, t.failure_reason) for t in rows}


def _record_numbers(factory: sessionmaker[Session]) -> list[int]:
    with factory() as s:
        return sorted(n for n in s.scalars(select(AccessRecord.record_no)) if n is not None)


async def test_push_events_outage_and_catch_up(
    db_url: str, settings: Settings, terminal: Terminal, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    device_id = _seed(factory, settings, terminal)
    sync = SyncService(factory, settings, timeout=3.0, heartbeat=1)
    try:
        await sync.run_once()
        states = _task_states(factory)
        assert states["1"] == ("success", "")
        assert states["2"] == ("success", "")
        assert states["X"][0] == "failed"
        assert states["X"][1].startswith("rejected: ")
        with factory() as s:
            device = s.get(Device, device_id)
            assert device is not None and device.online and device.serial
        async with DahuaClient(terminal.url, "admin", ADMIN_PASSWORD) as client:
            users = {u["UserID"] for u in await client.find_users()}
            cards = {c["CardNo"] for c in await client.find_cards()}
        assert users == {"1", "2"}
        assert cards == {"00A1B2C3", "00D4E5F6"}

        # Person 2's card is replaced on the platform: the device drops the old one.
        with factory() as s:
            old = s.scalar(select(Card).where(Card.number == "00D4E5F6"))
            assert old is not None
            old.number, old.number_dec = "00D4E5F7", str(0xD4E5F7)
            tasks.requeue_person(session=s, person_id=old.person_id)
            s.commit()
        await sync.run_once()
        async with DahuaClient(terminal.url, "admin", ADMIN_PASSWORD) as client:
            assert {c["CardNo"] for c in await client.find_cards()} == {"00A1B2C3", "00D4E5F7"}

        # A live punch arrives through the event stream, without waiting for a pull.
        assert (await asyncio.to_thread(terminal.present_card, "00A1B2C3"))["accepted"]
        await eventually_async(
            lambda: _record_numbers(factory) == [1], what="the live punch stored"
        )

        # Outage: the terminal is killed; pending work fails as "offline" and will retry.
        terminal.kill()
        with factory() as s:
            late = Person(user_id="3", name="Late joiner", department_id=1,
                          valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                          valid_to=dt.datetime(2036, 1, 1, tzinfo=dt.UTC))  # fmt: skip
            s.add(late)
            s.flush()
            group = permissions.list_groups(session=s)[0]
            permissions.change_members(session=s, group_id=group.id, add=[late.id])
            s.commit()
        await sync.run_once()
        assert _task_states(factory)["3"] == ("failed", "offline")
        with factory() as s:
            device = s.get(Device, device_id)
            assert device is not None and not device.online

        # Punches made while the platform cannot hear the device are pulled after restart.
        terminal.start()
        # ...and the platform restarts too: a new sync service starts from the stored watermark.
        await sync.close()
        sync = SyncService(factory, settings, timeout=3.0, heartbeat=1)
        accepted = 1
        for card in ("00D4E5F7", "00A1B2C3", "00D4E5F7"):
            accepted += bool((await asyncio.to_thread(terminal.present_card, card))["accepted"])
        assert accepted >= 3
        with factory() as s:
            now = dt.datetime.now(dt.UTC)
            s.execute(update(AuthorizationTask).values(next_attempt_at=now))  # backoff over
            s.commit()
        await sync.run_once()
        assert _task_states(factory)["3"] == ("success", "")
        numbers = _record_numbers(factory)
        assert numbers == list(range(1, accepted + 1))  # pulled at once: no gap, no duplicate
        # A second pull and the still-open stream add nothing twice.
        await sync.run_once()
        with factory() as s:
            total = s.scalar(select(func.count()).select_from(AccessRecord))
            stored_device = s.get(Device, device_id)
            assert stored_device is not None
            watermark = stored_device.last_record_no
        assert total == len(numbers) == watermark
        # New punches were handed to the attendance engine without error.
        assert not [r for r in caplog.records if "attendance update" in r.getMessage()]
    finally:
        await sync.close()
        engine.dispose()


async def test_extract_personnel_from_device(
    db_url: str, settings: Settings, terminal: Terminal
) -> None:
    from openpss.platform.devices.adapter import DahuaAdapter
    from openpss.platform.devices.extract import import_personnel, shown

    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as s:
        s.add(Department(name="Company"))
        s.commit()
    async with DahuaClient(terminal.url, "admin", ADMIN_PASSWORD) as client:
        await client.insert_users(
            [{"UserID": "7", "UserName": "Seven"}, {"UserID": "8", "UserName": "Eight"}]
        )
        await client.insert_cards([{"UserID": "7", "CardNo": "00C0FFEE"}])
    async with DahuaAdapter(terminal.url, "admin", ADMIN_PASSWORD) as adapter:
        users = await adapter.read_personnel()
    try:
        with factory() as s:
            first = import_personnel(session=s, users=users)
            s.commit()
            again = import_personnel(session=s, users=users)
            s.commit()
            seven = s.scalar(select(Person).where(Person.user_id == "7"))
            assert seven is not None
            assert [c.number for c in seven.cards] == ["00C0FFEE"]
        assert [(r.user_id, r.success) for r in first] == [("7", True), ("8", True)]
        # issue 8.15: persons already in the platform are "already present", not failures
        assert [r.status for r in again] == ["present", "present"]
        assert shown(again, "failure") == [] and shown(again, "success") == []
        assert [r.user_id for r in shown(again, "present")] == ["7", "8"]
    finally:
        engine.dispose()


async def test_extract_lists_users_to_pick_exports_them_and_imports_only_the_picked(
    api: Api, terminal: Terminal
) -> None:
    """Issue 8.15 (manual 1.4): read the device's users, export the list, pick which to import."""
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        s.add(Department(name="Company"))
        s.commit()
    async with DahuaClient(terminal.url, "admin", ADMIN_PASSWORD) as client:
        users = [{"UserID": u, "UserName": f"User {u}"} for u in ("21", "22", "23")]
        await client.insert_users(users)
        await client.insert_cards([{"UserID": "21", "CardNo": "00AB0021"}])
    op = api.headers(Role.operator)
    body = {"name": "T", "host": "127.0.0.1", "port": terminal.port, "username": "admin"}
    device_id = api.client.post(
        "/api/v1/devices", json=body | {"password": ADMIN_PASSWORD}, headers=op
    ).json()["id"]
    url = f"/api/v1/devices/{device_id}/extract"
    picked = await asyncio.to_thread(api.client.post, url, params={"user_ids": ["22"]}, headers=op)
    assert picked.status_code == 200, picked.text
    assert (picked.json()["total"], picked.json()["success"]) == (1, 1)
    listed = (await asyncio.to_thread(api.client.get, url, headers=op)).json()
    assert [(u["user_id"], u["present"], u["cards"]) for u in listed] == [
        ("21", False, ["00AB0021"]), ("22", True, []), ("23", False, []),
    ]  # fmt: skip
    sheet = await asyncio.to_thread(api.client.get, f"{url}/export", headers=op)
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.values)
    assert rows[0] == ("User ID", "Name", "Card No.", "In the platform")
    assert rows[1:] == [
        ("21", "User 21", "00AB0021", "new"), ("22", "User 22", None, "already present"),
        ("23", "User 23", None, "new"),
    ]  # fmt: skip
    preview = await asyncio.to_thread(
        api.client.post, f"/devices/{device_id}/extract/preview", headers=op
    )
    assert 'value="22" aria-label="import 22" disabled' in preview.text
    assert 'value="21" aria-label="import 21" checked' in preview.text
    none = await asyncio.to_thread(
        api.client.post, f"/devices/{device_id}/extract", data={"picking": "1"}, headers=op
    )
    assert none.status_code == 422 and "pick at least one user to import" in none.text
    console = await asyncio.to_thread(
        api.client.post,
        f"/devices/{device_id}/extract",
        data={"picking": "1", "user_ids": ["23"]},
        headers=op,
    )
    assert "Extracted 1 user(s): 1 imported, 0 already present, 0 failed." in console.text
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert sorted(s.scalars(select(Person.user_id))) == ["22", "23"]  # 21 was not picked


async def test_extract_over_api_and_console(api: Api, terminal: Terminal) -> None:
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        s.add(Department(name="Company"))
        s.commit()
    async with DahuaClient(terminal.url, "admin", ADMIN_PASSWORD) as client:
        await client.insert_users([{"UserID": "9", "UserName": "Nine"}])
    op = api.headers(Role.operator)
    body = {"name": "T", "host": "127.0.0.1", "port": terminal.port, "username": "admin"}
    created = api.client.post(
        "/api/v1/devices", json=body | {"password": ADMIN_PASSWORD}, headers=op
    )
    device_id = created.json()["id"]
    result = await asyncio.to_thread(
        api.client.post, f"/api/v1/devices/{device_id}/extract?show=success", headers=op
    )
    assert result.status_code == 200, result.text
    assert result.json()["success"] == 1
    assert [i["user_id"] for i in result.json()["items"]] == ["9"]
    page = await asyncio.to_thread(
        api.client.post, f"/devices/{device_id}/extract", data={"show": "present"}, headers=op
    )
    assert "Extracted 1 user(s): 0 imported, 1 already present, 0 failed." in page.text
    assert "already present: a person with this user ID exists" in page.text
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        action = AuditEntry.action == "device.extract_personnel"
        entries = s.scalars(select(AuditEntry).where(action).order_by(AuditEntry.id)).all()
    # The API and the console run one service function: the same audit entry, once each.
    assert [(e.target, json.loads(e.detail)) for e in entries] == [
        ("T", {"users": 1, "imported": 1, "present": 0}),
        ("T", {"users": 1, "imported": 0, "present": 1}),
    ]
    wrong = api.client.patch(f"/api/v1/devices/{device_id}", json={"password": "nope"}, headers=op)
    assert wrong.status_code == 200
    refused = await asyncio.to_thread(
        api.client.post, f"/api/v1/devices/{device_id}/extract", headers=op
    )
    assert refused.status_code == 502


def test_background_service_checks_devices(
    sqlite_url: str, tmp_path: Path, terminal: Terminal
) -> None:
    from fastapi.testclient import TestClient

    from openpss.platform.app import create_app

    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        secret_key="background-secret-0123456789",
        device_poll_seconds=0.2,
    )
    app = create_app(settings)
    with app.state.session_factory() as s:
        device = Device(name="T", host="127.0.0.1", port=terminal.port, username="admin")
        device.password_encrypted = encrypt_secret(settings, ADMIN_PASSWORD)
        s.add(device)
        s.commit()
    with TestClient(app):

        def online_device() -> Device | None:
            with app.state.session_factory() as s:
                stored = s.scalar(select(Device))
                return stored if stored is not None and stored.online else None

        stored = eventually(online_device, what="the device online", interval=0.1)
    assert stored.serial and stored.firmware and stored.device_type
