"""Revocation and refused punches end to end, on a virtual terminal process (both databases).

Issue 8 items 1 and 4: after a person is deleted, a card frozen, a person removed from a group
or a validity period ended, presenting the card is refused on the terminal and the task shows
a revoke that succeeded; refused attempts reach the platform as records with their reason, and
a duress card becomes an alarm record.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import subprocess

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.devices.sync import SyncService
from openpss.platform.people import credentials
from openpss.platform.people import service as people
from openpss.platform.people.models import Card, Department, Fingerprint, Person
from openpss.platform.permissions import service as permissions
from openpss.platform.permissions import tasks
from openpss.platform.permissions.models import AuthorizationTask
from openpss.platform.permissions.schemas import DoorRef, PermissionGroupCreate
from openpss.platform.records.models import AccessRecord, AlarmRecord
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaClient
from tests.support import terminal_process
from tests.support.polling import eventually_async
from tests.support.terminal_process import ADMIN_PASSWORD, OPENPSS, Terminal

terminal = terminal_process.terminal  # a virtual terminal process (fixture)

CARDS = {"1": "00A1B2C3", "2": "00D4E5F6", "3": "00C0FFEE", "4": "00BEEF01"}
DURESS = "00BAD000"  # person 3's duress card


def _seed(factory: sessionmaker[Session], settings: Settings, term: Terminal) -> int:
    """Persons 1-3 in department Staff (group Staff), person 4 a direct member of Visitors."""
    with factory() as s:
        staff, other = Department(name="Staff"), Department(name="Other")
        s.add_all([staff, other])
        s.flush()
        validity = {
            "valid_from": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "valid_to": dt.datetime(2036, 1, 1, tzinfo=dt.UTC),
        }
        persons = {}
        for user_id, card in CARDS.items():
            dep = other if user_id == "4" else staff
            person = Person(user_id=user_id, name=f"P{user_id}", department_id=dep.id, **validity)
            person.cards = [Card(number=card, number_dec=str(int(card, 16)))]
            if user_id == "3":
                person.cards.append(Card(number=DURESS, number_dec="1", kind="duress"))
            persons[user_id] = person
        s.add_all(persons.values())
        device = Device(name="Terminal", host="127.0.0.1", port=term.port, username="admin")
        device.password_encrypted = encrypt_secret(settings, ADMIN_PASSWORD)
        device.kind = "attendance"
        s.add(device)
        s.flush()
        doors = [DoorRef(device_id=device.id)]
        for name, deps, members in (("Staff", [staff.id], []), ("Visitors", [], ["4"])):
            permissions.create_group(
                session=s,
                data=PermissionGroupCreate(
                    name=name,
                    verification_methods=["card"],
                    doors=doors,
                    department_ids=deps,
                    person_ids=[persons[u].id for u in members],
                ),
            )
        s.commit()
        return device.id


def _tasks(factory: sessionmaker[Session]) -> dict[str, tuple[str, str]]:
    with factory() as s:
        rows = s.scalars(select(AuthorizationTask)).all()
        return {t.user_id: (t.action.value, t.status.value) for t in rows}


def _present(term: Terminal, card: str) -> dict[str, object]:
    return term.present_card(card)


def _present_cli(term: Terminal, card: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENPSS_DEVICE_ADMIN_PASSWORD": ADMIN_PASSWORD}
    command = [OPENPSS, "device", "attendance", "present", "--device", term.url, "--card", card]
    # A bound against a hung process only (a loaded machine may take long to start Python).
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


async def _wait_for_records(factory: sessionmaker[Session], count: int) -> list[AccessRecord]:

    def arrived() -> list[AccessRecord] | None:
        with factory() as s:
            rows = list(s.scalars(select(AccessRecord).order_by(AccessRecord.record_no)))
        return rows if len(rows) >= count else None

    return await eventually_async(arrived, what=f"{count} records", timeout=30, interval=0.1)


async def test_revocations_reach_the_terminal_and_refusals_come_back(
    db_url: str, settings: Settings, terminal: Terminal
) -> None:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    device_id = _seed(factory, settings, terminal)
    sync = SyncService(factory, settings, timeout=3.0, heartbeat=1, feed_attendance=False)
    try:
        await sync.run_once()
        assert set(_tasks(factory).values()) == {("push", "success")}
        for card in CARDS.values():
            assert (await asyncio.to_thread(_present, terminal, card))["accepted"]

        # A duress card opens, and the platform gets a duress alarm.
        assert (await asyncio.to_thread(_present, terminal, DURESS))["accepted"]

        with factory() as s:
            by_user = {p.user_id: p for p in s.scalars(select(Person))}
            # Deleted person: removed from the device.
            people.delete_person(session=s, person_id=by_user["1"].id)
            # Frozen card: the device drops it, the person stays.
            frozen = s.scalar(select(Card).where(Card.number == CARDS["2"]))
            assert frozen is not None
            frozen.frozen = True
            # Removed from the group: removed from the device.
            visitors = next(g for g in permissions.list_groups(session=s) if g.name == "Visitors")
            permissions.change_members(session=s, group_id=visitors.id, remove=[by_user["4"].id])
            s.commit()
        assert _tasks(factory) == {
            "1": ("remove", "pending"),
            "2": ("push", "pending"),
            "3": ("push", "success"),
            "4": ("remove", "pending"),
        }
        await sync.run_once()
        assert _tasks(factory) == {
            "1": ("remove", "success"),
            "2": ("push", "success"),
            "3": ("push", "success"),
            "4": ("remove", "success"),
        }
        # As an operator would check it: `openpss device attendance present --card ...`.
        done = await asyncio.to_thread(_present_cli, terminal, CARDS["1"])
        assert done.returncode == 1, (done.stdout, done.stderr)
        refused = json.loads(done.stdout)
        assert (refused["accepted"], refused["message"]) == (False, "card not registered")
        for user_id in ("2", "4"):
            refused = await asyncio.to_thread(_present, terminal, CARDS[user_id])
            assert (refused["accepted"], refused["message"]) == (False, "card not registered")

        # Validity ends. The new end is pushed to the terminal ...
        ends = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        with factory() as s:
            person = s.scalar(select(Person).where(Person.user_id == "3"))
            assert person is not None
            person.valid_to = ends
            s.commit()
        await sync.run_once()
        assert _tasks(factory)["3"] == ("push", "success")
        # ... which refuses the card itself once its clock passes it (clock moved, not waited) ...
        async with DahuaClient(terminal.url, "admin", ADMIN_PASSWORD) as client:
            await client.set_current_time(
                (ends + dt.timedelta(hours=1)).astimezone().replace(tzinfo=None)
            )
        refused = await asyncio.to_thread(_present, terminal, CARDS["3"])
        assert refused["message"] == "outside the user's validity period"
        # ... and when the platform's clock passes it (the stored end moved back, without the
        # change hooks, as time passing would) the periodic check removes the person.
        with factory() as s:
            passed = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            s.execute(update(Person).where(Person.user_id == "3").values(valid_to=passed))
            s.commit()
        await sync.run_once()
        assert _tasks(factory)["3"] == ("remove", "success")
        refused = await asyncio.to_thread(_present, terminal, CARDS["3"])
        assert refused["message"] == "card not registered"

        with factory() as s:
            progress = tasks.progress_by_device(session=s)
        assert (progress[0]["revoked"], progress[0]["success"]) == (3, 4)

        # Every attempt, accepted or refused, is an access record on the platform with its
        # reason (the stream and the pull deliver them without duplicates).
        await sync.run_once()
        rows = await _wait_for_records(factory, 10)
        assert [r.record_no for r in rows] == list(range(1, 11))
        assert all(r.success and not r.reason for r in rows[:5])
        assert [(r.card_no, r.user_id, r.success, r.reason) for r in rows[5:]] == [
            (CARDS["1"], "", False, "card not registered"),
            (CARDS["2"], "", False, "card not registered"),
            (CARDS["4"], "", False, "card not registered"),
            (CARDS["3"], "3", False, "outside the user's validity period"),
            (CARDS["3"], "", False, "card not registered"),
        ]
        with factory() as s:
            alarms = list(s.scalars(select(AlarmRecord)))
        assert [(a.device_id, a.record_no, a.alarm_type) for a in alarms] == [
            (device_id, 5, "duress")
        ]
    finally:
        await sync.close()
        engine.dispose()


def _present_body(term: Terminal, body: dict[str, object]) -> dict[str, object]:
    auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
    url = f"{term.url}/openpss/control/present"
    response = httpx.post(url, json=body, auth=auth, timeout=10)
    response.raise_for_status()
    result: dict[str, object] = response.json()
    return result


async def test_removed_password_and_fingerprint_stop_working_on_the_terminal(
    db_url: str, settings: Settings, terminal: Terminal
) -> None:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    finger = bytes(range(200))
    with factory() as s:
        dep = Department(name="Staff")
        s.add(dep)
        s.flush()
        person = Person(
            user_id="5", name="P5", department_id=dep.id,
            valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            valid_to=dt.datetime(2036, 1, 1, tzinfo=dt.UTC),
        )  # fmt: skip
        s.add(person)
        device = Device(name="Terminal", host="127.0.0.1", port=terminal.port, username="admin")
        device.password_encrypted = encrypt_secret(settings, ADMIN_PASSWORD)
        device.kind = "attendance"
        s.add(device)
        s.flush()
        credentials.set_password(
            session=s, person_id=person.id, password="246810", secret_key=settings.secret_key
        )
        credentials.add_fingerprint(session=s, person_id=person.id, name="thumb", template=finger)
        permissions.create_group(
            session=s,
            data=PermissionGroupCreate(
                name="Staff",
                verification_methods=["password", "fingerprint"],
                doors=[DoorRef(device_id=device.id)],
                department_ids=[dep.id],
            ),
        )
        s.commit()
        person_id = person.id
    by_password: dict[str, object] = {"user_id": 5, "password": "246810"}
    by_finger: dict[str, object] = {"fingerprint": base64.b64encode(finger).decode()}
    sync = SyncService(factory, settings, timeout=3.0, heartbeat=1, feed_attendance=False)
    try:
        await sync.run_once()
        assert (await asyncio.to_thread(_present_body, terminal, by_password))["accepted"]
        assert (await asyncio.to_thread(_present_body, terminal, by_finger))["accepted"]
        with factory() as s:
            credentials.clear_password(session=s, person_id=person_id)
            thumb = s.scalar(select(Fingerprint).where(Fingerprint.person_id == person_id))
            assert thumb is not None
            credentials.delete_fingerprint(session=s, person_id=person_id, fingerprint_id=thumb.id)
            s.commit()
        await sync.run_once()
        assert _tasks(factory) == {"5": ("push", "success")}
        refused = await asyncio.to_thread(_present_body, terminal, by_password)
        assert refused["message"] == "wrong user ID or password"
        refused = await asyncio.to_thread(_present_body, terminal, by_finger)
        assert refused["message"] == "fingerprint not recognized"
    finally:
        await sync.close()
        engine.dispose()


async def test_revocation_during_an_outage_goes_out_when_the_terminal_returns(
    db_url: str, settings: Settings, terminal: Terminal
) -> None:
    """A removal that failed "offline" is sent as soon as the device answers, not after backoff."""
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    _seed(factory, settings, terminal)
    sync = SyncService(factory, settings, timeout=3.0, heartbeat=1, feed_attendance=False)
    try:
        await sync.run_once()
        terminal.kill()
        with factory() as s:
            person = s.scalar(select(Person).where(Person.user_id == "1"))
            assert person is not None
            people.delete_person(session=s, person_id=person.id)
            s.commit()
        await sync.run_once()
        assert _tasks(factory)["1"] == ("remove", "failed")
        terminal.start()
        await sync.run_once()  # the backoff (30 s) has not passed
        assert _tasks(factory)["1"] == ("remove", "success")
        refused = await asyncio.to_thread(_present, terminal, CARDS["1"])
        assert refused["message"] == "card not registered"
    finally:
        await sync.close()
        engine.dispose()
