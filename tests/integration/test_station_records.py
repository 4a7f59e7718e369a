"""A door station's unlocks and alarms reach the platform's records (both databases).

Platform video intercom manual chapter 4 (access control records, alarm records): every unlock
of a VTO process (card, room + password, fingerprint, remote, exit button; refused ones with
their reason) becomes an AccessRecord, every alarm (tamper, break-in, door not closed, duress)
an AlarmRecord, live from the event stream and caught up by the record pulls after the platform
or the unit was down: each exactly once.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.devices.adapter import DahuaAdapter, parse_alarm
from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.devices.sync import SyncService, _store_alarm_page, _store_alarms
from openpss.platform.errors import Invalid
from openpss.platform.events import Event, EventBus, EventKind
from openpss.platform.records.models import AccessRecord, AlarmRecord
from openpss.platform.records.service import insert_alarm_records, raise_duress_alarms
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaClient
from tests.support.polling import eventually_async
from tests.support.vto_device import VTO_PASSWORD, VtoProcess, vto_process

CARD, DURESS_CARD, UNKNOWN_CARD = "00CAFE11", "00D0D0D0", "0000BAD1"
FINGER = b"F" * 64
AccessRow = tuple[int | None, str, str, str, bool, str]
AlarmRow = tuple[int | None, str, int]


@pytest.fixture
def vto(tmp_path: Path) -> Iterator[VtoProcess]:
    with vto_process(tmp_path / "vto") as unit:
        yield unit


async def _prepare_unit(vto: VtoProcess) -> None:
    """Room 11 with its unlock password, a card, a duress card and a finger; a public password;
    the door left open alarm after 1 s (as the platform's pushes and the unit's web page would
    set them)."""
    async with DahuaClient(vto.url, "admin", VTO_PASSWORD) as client:
        await client.insert_users([{"UserID": "11", "UserName": "Room 11", "Password": "888888"}])
        await client.insert_cards(
            [
                {"UserID": "11", "CardNo": CARD, "CardType": 0},
                {"UserID": "11", "CardNo": DURESS_CARD, "CardType": 5},
            ]
        )
        await client.insert_fingerprints("11", [FINGER])
        await client.set_config(
            {"AccessControl[0].CloseTimeout": 1, "AccessControl[0].CommonPassword": "2468"}
        )


def _bind(factory: sessionmaker[Session], settings: Settings, vto: VtoProcess) -> int:
    with factory() as s:
        device = Device(name="Gate", host="127.0.0.1", port=vto.http_port, username="admin")
        device.password_encrypted = encrypt_secret(settings, VTO_PASSWORD)
        device.kind = "vto"
        s.add(device)
        s.commit()
        return device.id


def _access(factory: sessionmaker[Session]) -> list[AccessRow]:
    with factory() as s:
        rows = s.scalars(select(AccessRecord).order_by(AccessRecord.record_no)).all()
        return [(r.record_no, r.method, r.user_id, r.card_no, r.success, r.reason) for r in rows]


def _alarms(factory: sessionmaker[Session]) -> list[AlarmRow]:
    with factory() as s:
        rows = s.scalars(select(AlarmRecord).order_by(AlarmRecord.alarm_no)).all()
        return [(r.alarm_no, r.alarm_type, r.channel) for r in rows]


async def _await_records(factory: sessionmaker[Session], access: int, alarms: int) -> None:
    def arrived() -> bool:
        return len(_access(factory)) >= access and len(_alarms(factory)) >= alarms

    await eventually_async(arrived, what=f"{access} access and {alarms} alarm records")


async def test_unlocks_and_alarms_reach_the_records_once_across_restarts(
    db_url: str, settings: Settings, vto: VtoProcess
) -> None:
    await _prepare_unit(vto)
    factory = make_session_factory(make_engine(db_url))
    device_id = _bind(factory, settings, vto)
    bus = EventBus()
    heard = bus.subscribe()
    sync = SyncService(factory, settings, timeout=3.0, heartbeat=1, feed_attendance=False, bus=bus)
    try:
        await sync.run_once()  # online, the (empty) history pulled, the event stream attached
        assert _access(factory) == [] and _alarms(factory) == []
        await eventually_async(lambda: sync.devices[device_id].listening, what="the stream")

        # Alarms while the platform listens: tamper, door forced open, door left open.
        await asyncio.to_thread(vto.control, "tamper", detached=True)
        await asyncio.to_thread(vto.control, "door", open=True)
        await _await_records(factory, 0, 3)  # DoorNotClosed comes from the unit's timer after 1 s
        await asyncio.to_thread(vto.control, "door", open=False)
        await asyncio.to_thread(vto.control, "tamper", detached=False)

        # Every way to unlock, and refusals.
        finger = base64.b64encode(FINGER).decode()
        await asyncio.to_thread(vto.control, "swipe", card=CARD)
        await asyncio.to_thread(vto.control, "keypad", keys="000011888888#")
        await asyncio.to_thread(vto.control, "swipe", card=UNKNOWN_CARD)
        await asyncio.to_thread(vto.control, "keypad", keys="000011999999#")
        await asyncio.to_thread(vto.control, "finger", fingerprint=finger)
        await asyncio.to_thread(vto.control, "exit-button")
        async with DahuaAdapter(vto.url, "admin", VTO_PASSWORD) as adapter:
            await adapter.open_door(1, user_id="11")  # the platform's (or a VTH's) remote unlock
            await adapter.set_door_mode(1, "CloseAlways")
            await asyncio.to_thread(vto.control, "swipe", card=CARD)
            await adapter.set_door_mode(1, "Normal")
        await asyncio.to_thread(vto.control, "swipe", card=DURESS_CARD)
        await _await_records(factory, 9, 4)
        live_access, live_alarms = _access(factory), _alarms(factory)
        assert live_access == [
            (1, "card", "11", CARD, True, ""),
            (2, "password", "11", "", True, ""),
            (3, "card", "", UNKNOWN_CARD, False, "card not registered"),
            (4, "password", "11", "", False, "wrong room unlock password"),
            (5, "fingerprint", "11", "", True, ""),
            (6, "button", "", "", True, ""),
            (7, "remote", "11", "", True, ""),
            (8, "card", "11", CARD, False, "the door is set always closed"),
            (9, "card", "11", DURESS_CARD, True, ""),
        ]
        assert live_alarms == [
            (1, "tamper", 0),
            (2, "door_break_in", 1),
            (3, "door_not_closed", 1),
            (4, "duress", 0),
        ]
        await sync.run_once()  # the pull brings the same records again: nothing doubles
        assert (_access(factory), _alarms(factory)) == (live_access, live_alarms)
        published = []
        while not heard.queue.empty():
            published.append(heard.queue.get_nowait())
        duress = next(e for e in published if e.data.get("type") == "duress")
        assert (duress.data["user_id"], duress.data["card"]) == ("11", DURESS_CARD)
        assert _alarm_events(published) == [
            ("tamper", True),
            ("door_break_in", True),
            ("door_not_closed", True),
            ("duress", True),
        ]
    finally:
        await sync.close()

    # The platform is down (stopped, then started again): what happens meanwhile is pulled.
    await asyncio.to_thread(vto.control, "keypad", keys="#2468#")  # the public password
    await asyncio.to_thread(vto.control, "swipe", card=UNKNOWN_CARD)
    await asyncio.to_thread(vto.control, "tamper", detached=True)
    restarted = SyncService(factory, settings, timeout=3.0, heartbeat=1, feed_attendance=False)
    try:
        await restarted.run_once()
        access, alarms = _access(factory), _alarms(factory)
        assert access[9:] == [
            (10, "password", "", "", True, ""),
            (11, "card", "", UNKNOWN_CARD, False, "card not registered"),
        ]
        assert alarms[4:] == [(5, "tamper", 0)]
        assert (access[:9], alarms[:4]) == (live_access, live_alarms)

        # The unit is down and comes back (its records kept on its flash): nothing lost.
        await asyncio.to_thread(vto.stop)
        await restarted.run_once()  # finds it offline
        await asyncio.to_thread(vto.start)
        await asyncio.to_thread(vto.control, "keypad", keys="000011888888#")
        await asyncio.to_thread(vto.control, "tamper", detached=True)  # mounted after a restart
        await restarted.run_once()
        await restarted.run_once()
        access, alarms = _access(factory), _alarms(factory)
        assert [a[0] for a in access] == list(range(1, 13))
        assert access[11] == (12, "password", "11", "", True, "")
        assert [a[:2] for a in alarms] == [
            (1, "tamper"),
            (2, "door_break_in"),
            (3, "door_not_closed"),
            (4, "duress"),
            (5, "tamper"),
            (6, "tamper"),
        ]
        with factory() as s:
            device = s.get(Device, device_id)
            assert device is not None
            assert (device.last_record_no, device.last_alarm_no) == (12, 6)
    finally:
        await restarted.close()


def _alarm_events(events: list[Event]) -> list[tuple[str, bool]]:
    """The alarms raised (the tamper sound's end after 15 s may or may not be in yet)."""
    alarms = [e for e in events if e.kind is EventKind.alarm and e.data["active"]]
    return [(str(e.data["type"]), True) for e in alarms]


def _alarm(no: int, kind: str = "ChassisIntruded", **fields: object) -> dict[str, object]:
    parsed = parse_alarm(
        {"RecNo": no, "CreateTime": 1_770_000_000 + no, "AlarmType": kind, **fields}
    )
    assert parsed is not None
    return parsed


def test_alarm_intake_dedupes_stream_and_pull(session: Session) -> None:
    """The stream's alarm, then the pull's page with it: one row; the watermark moves with the
    pull only; the alarm log's numbers do not collide with a duress card's access record."""
    gate = Device(name="Gate", host="127.0.0.1", username="admin", password_encrypted="")
    other = Device(name="Other", host="127.0.0.1", username="admin", password_encrypted="")
    session.add_all([gate, other])
    session.flush()
    stream = _alarm(1)
    assert _store_alarms(session, gate.id, [stream]) == 1  # live
    assert gate.last_alarm_no == 0
    page = [_alarm(1), _alarm(2, "DoorNotClosed", Door=0), _alarm(2, "DoorNotClosed", Door=0)]
    assert _store_alarm_page(session, gate.id, page) == 1  # the pull: only alarm 2 is new
    assert _store_alarm_page(session, gate.id, page) == 0  # pulled again (a restart)
    session.refresh(gate)
    assert gate.last_alarm_no == 2
    # A duress card's alarm is keyed by its access record number 1: no clash with alarm 1.
    duress_punch = {
        "device_id": gate.id,
        "record_no": 1,
        "event_time": dt.datetime.now(dt.UTC),
        "user_id": "11",
        "card_no": "00D0D0D0",
    }
    assert raise_duress_alarms(session=session, records=[duress_punch]) == 1
    assert _store_alarms(session, other.id, [_alarm(1)]) == 1  # another device's alarm 1
    rows = session.scalars(select(AlarmRecord).order_by(AlarmRecord.id)).all()
    assert [(r.device_id, r.record_no, r.alarm_no, r.alarm_type, r.channel) for r in rows] == [
        (gate.id, None, 1, "tamper", 0),
        (gate.id, None, 2, "door_not_closed", 1),
        (gate.id, 1, None, "duress", 0),
        (other.id, None, 1, "tamper", 0),
    ]
    assert rows[1].detail == "door 1 left open past its close timeout"
    assert rows[0].event_time == dt.datetime.fromtimestamp(1_770_000_001, dt.UTC)
    with pytest.raises(Invalid, match="alarm number"):
        insert_alarm_records(session=session, device_id=gate.id, alarms=[{"alarm_type": "x"}])
