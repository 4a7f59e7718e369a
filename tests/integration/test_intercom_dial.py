"""Dial management (platform-video-intercom 2.2): registration numbers as SIP accounts."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.devices.models import Device
from openpss.platform.intercom import buildings, dial_xlsx, registrations, rooms
from openpss.platform.intercom.accounts import IntercomAccounts
from openpss.platform.intercom.errors import Conflict, IntercomError
from openpss.platform.intercom.models import Registration
from openpss.platform.intercom.schemas import NodeCreate, RegistrationCreate, RoomCreate
from openpss.platform.security.audit import Actor
from openpss.protocols.sip.accounts import StaticAccounts

ACTOR = Actor("tester")
KEY = "test-secret-key-0123456789"


def _device(session: Session, name: str, kind: str) -> Device:
    device = Device(name=name, host="127.0.0.1", username="admin", password_encrypted="", kind=kind)
    session.add(device)
    session.flush()
    return device


def _unit_and_room(session: Session) -> tuple[int, int]:
    community = buildings.get_community(session=session)
    b = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=community.id, number="11")
    )
    u = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=b.id, number="1")
    )
    room = rooms.add_room(session=session, actor=ACTOR, data=RoomCreate(node_id=u.id, number="11"))
    return u.id, room.id


def _add(session: Session, **fields: object) -> Registration:
    data = RegistrationCreate.model_validate(fields)
    return registrations.add_registration(session=session, actor=ACTOR, secret_key=KEY, data=data)


def test_registration_numbers_of_vth_vto_vts(session: Session) -> None:
    unit, room = _unit_and_room(session)
    vth = _device(session, "hall", "vth")
    vth2 = _device(session, "kitchen", "vth")
    vto = _device(session, "gate", "vto")
    a = _add(session, kind="vth", device_id=vth.id, room_id=room, extension=5)
    assert a.number == "11#01#11#5"
    b = _add(session, kind="vth", device_id=vth2.id, room_id=room, extension=0)
    assert b.number == "11#01#11#0"
    c = _add(session, kind="vto", device_id=vto.id, node_id=unit, suffix="55", device_number="8055")
    assert c.number == "11#01#8055"
    d = _add(session, kind="vts", suffix="01", device_number="101")
    assert (d.number, d.name) == ("101", "VTS 101")
    accounts = registrations.sip_accounts(session=session, secret_key=KEY)
    assert sorted(accounts) == ["101", "11#01#11#0", "11#01#11#5", "11#01#8055"]
    assert a.sip_password_encrypted not in accounts.values()  # stored encrypted
    assert len(accounts["11#01#11#5"]) >= 16


def test_vto_suffix_must_match_its_number(session: Session) -> None:
    unit, _ = _unit_and_room(session)
    vto = _device(session, "gate", "vto")
    with pytest.raises(IntercomError, match="last two digits of the VTO number 8055: 55, not 56"):
        _add(session, kind="vto", device_id=vto.id, node_id=unit, suffix="56", device_number="8055")
    with pytest.raises(IntercomError, match="last two digits of the VTS number 101: 01, not 10"):
        _add(session, kind="vts", suffix="10", device_number="101")


def test_registration_rules_and_dependents(session: Session) -> None:
    unit, room = _unit_and_room(session)
    vth = _device(session, "hall", "vth")
    vto = _device(session, "gate", "vto")
    with pytest.raises(IntercomError, match="device 'gate' is a vto device, not a vth"):
        _add(session, kind="vth", device_id=vto.id, room_id=room)
    first = _add(session, kind="vth", device_id=vth.id, room_id=room)
    assert first.number == "11#01#11"
    with pytest.raises(Conflict, match="already has registration number 11#01#11"):
        _add(session, kind="vth", device_id=vth.id, room_id=room, extension=1)
    other = _device(session, "bedroom", "vth")
    with pytest.raises(Conflict, match="give each an extension number"):
        _add(session, kind="vth", device_id=other.id, room_id=room, extension=1)
    with pytest.raises(Conflict, match="room 11 cannot be deleted: registration number"):
        rooms.delete_room(session=session, actor=ACTOR, room_id=room)
    _add(session, kind="vto", device_id=vto.id, node_id=unit, suffix="01", device_number="8001")
    registrations.delete_registration(session=session, actor=ACTOR, registration_id=first.id)
    rooms.delete_room(session=session, actor=ACTOR, room_id=room)
    with pytest.raises(Conflict, match="Unit 01 cannot be deleted: registration number"):
        buildings.delete_node(session=session, actor=ACTOR, node_id=unit)


def test_accounts_provider_reads_registrations_and_falls_back(session: Session) -> None:
    _, room = _unit_and_room(session)
    vth = _device(session, "hall", "vth")
    session.commit()
    factory = sessionmaker(bind=session.get_bind())
    now = [0.0]
    provider = IntercomAccounts(
        factory, KEY, fallback=StaticAccounts({"9901#0": "file-pw"}), clock=lambda: now[0]
    )
    assert list(provider.usernames()) == ["9901#0"]
    _add(session, kind="vth", device_id=vth.id, room_id=room, extension=1)
    session.commit()
    assert provider.password_of("11#01#11#1") is None  # the snapshot is fresh for max_age
    now[0] += 10
    password = provider.password_of("11#01#11#1")
    assert password == registrations.sip_accounts(session=session, secret_key=KEY)["11#01#11#1"]
    assert provider.password_of("9901#0") == "file-pw"
    assert provider.password_of("nobody") is None
    assert list(provider.usernames()) == ["11#01#11#1", "9901#0"]


def _configtool(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(dial_xlsx.CONFIGTOOL_COLUMNS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_export_then_import_smartpss_lite(session: Session) -> None:
    unit, room = _unit_and_room(session)
    vth = _device(session, "hall", "vth")
    vto = _device(session, "gate", "vto")
    _add(session, kind="vth", device_id=vth.id, room_id=room, extension=5)
    _add(session, kind="vto", device_id=vto.id, node_id=unit, suffix="55", device_number="8055")
    _add(session, kind="vts", suffix="01", device_number="101", name="Guard")
    exported = dial_xlsx.export_xlsx(session=session)
    rows = [list(r) for r in load_workbook(io.BytesIO(exported)).active.iter_rows(values_only=True)]
    assert rows[0] == dial_xlsx.EXPORT_COLUMNS
    assert sorted(r[2] for r in rows[1:]) == ["101", "11#01#11#5", "11#01#8055"]
    for row in session.scalars(select(Registration)).all():
        registrations.delete_registration(session=session, actor=ACTOR, registration_id=row.id)
    count = dial_xlsx.import_xlsx(
        session=session, actor=ACTOR, secret_key=KEY, content=exported, configtool=False
    )
    assert count == 3
    numbers = sorted(session.scalars(select(Registration.number)))
    assert numbers == ["101", "11#01#11#5", "11#01#8055"]


def test_configtool_import_is_all_or_nothing_with_row_errors(session: Session) -> None:
    _unit_and_room(session)
    _device(session, "hall", "vth")
    _device(session, "gate", "vto")
    template = dial_xlsx.configtool_template()
    header = next(load_workbook(io.BytesIO(template)).active.iter_rows(values_only=True))
    assert list(header) == dial_xlsx.CONFIGTOOL_COLUMNS
    bad = _configtool(
        [
            ["VTH", "hall", 11, 1, 11, 5, None],
            ["VTO", "gate", 11, 1, None, None, 8056],
            ["VTH", "nobody", 11, 1, 11, 6, None],
            ["VTO", "gate", 11, 2, None, None, 8057],
        ]
    )
    with pytest.raises(IntercomError) as caught:
        dial_xlsx.import_xlsx(
            session=session, actor=ACTOR, secret_key=KEY, content=bad, configtool=True
        )
    message = str(caught.value)
    assert message.startswith("nothing was imported: row 4: device 'nobody' is not in the device")
    assert "row 5: unit 11#02 does not exist: add it in the building manager" in message
    assert session.scalars(select(Registration)).all() == []
    good = _configtool(
        [["VTH", "hall", 11, 1, 11, 5, None], ["VTO", "gate", 11, 1, None, None, 8056]]
    )
    assert (
        dial_xlsx.import_xlsx(
            session=session, actor=ACTOR, secret_key=KEY, content=good, configtool=True
        )
        == 2
    )
    assert sorted(session.scalars(select(Registration.number))) == ["11#01#11#5", "11#01#8056"]
