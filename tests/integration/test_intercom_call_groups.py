"""Call groups (platform-video-intercom 2.4): priority order and the SIP server's centre calls."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.app import create_app
from openpss.platform.devices.models import Device
from openpss.platform.intercom import buildings, callgroups, registrations, rooms, sip
from openpss.platform.intercom.errors import IntercomError
from openpss.platform.intercom.models import CallGroupMember
from openpss.platform.intercom.schemas import (
    NodeCreate,
    RegistrationCreate,
    RegistrationQuery,
    RoomCreate,
)
from openpss.platform.records.models import CallRecord
from openpss.platform.security.audit import Actor
from openpss.platform.security.models import Role
from openpss.platform.settings import Settings
from openpss.protocols.aio import within
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import UserAgent
from tests.conftest import add_account

ACTOR = Actor("tester")


def _setup(session: Session, key: str) -> tuple[int, int]:
    """Building 11 / unit 01 / room 11, a VTO 8055 in the unit, two VTSs (101, 102)."""
    community = buildings.get_community(session=session)
    b = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=community.id, number="11")
    )
    u = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=b.id, number="1")
    )
    rooms.add_room(session=session, actor=ACTOR, data=RoomCreate(node_id=u.id, number="11"))
    vto = Device(name="gate", host="127.0.0.1", username="admin", password_encrypted="", kind="vto")
    session.add(vto)
    session.flush()
    for data in (
        RegistrationCreate(
            kind="vto", device_id=vto.id, node_id=u.id, suffix="55", device_number="8055"
        ),
        RegistrationCreate(kind="vts", suffix="01", device_number="101"),
        RegistrationCreate(kind="vts", suffix="02", device_number="102"),
    ):
        registrations.add_registration(session=session, actor=ACTOR, secret_key=key, data=data)
    return b.id, u.id


def _vts(session: Session, number: str) -> int:
    items = registrations.list_registrations(session=session, query=RegistrationQuery()).items
    return next(r.id for r in items if r.number == number)


def test_members_in_priority_order_up_down_remove(session: Session, settings: Settings) -> None:
    building, unit = _setup(session, settings.secret_key)
    with pytest.raises(IntercomError, match="belongs to a building; Unit 01 is not one"):
        callgroups.create_group(session=session, actor=ACTOR, name="G", building_id=unit)
    group = callgroups.create_group(
        session=session, actor=ACTOR, name="Lobby", building_id=building
    )
    client = add_account(session, "guard", Role.operator, "Str0ng!Passw0rd")
    first = callgroups.add_member(
        session=session, actor=ACTOR, group_id=group.id, registration_id=_vts(session, "101")
    )
    callgroups.add_member(session=session, actor=ACTOR, group_id=group.id, account_id=client.id)
    last = callgroups.add_member(
        session=session, actor=ACTOR, group_id=group.id, registration_id=_vts(session, "102")
    )
    assert callgroups.member_usernames(session, group.id) == ["101", "guard", "102"]
    callgroups.move_member(session=session, actor=ACTOR, member_id=last.id, direction="up")
    assert callgroups.member_usernames(session, group.id) == ["101", "102", "guard"]
    callgroups.move_member(session=session, actor=ACTOR, member_id=first.id, direction="down")
    callgroups.move_member(session=session, actor=ACTOR, member_id=last.id, direction="up")
    assert callgroups.member_usernames(session, group.id) == ["102", "101", "guard"]
    callgroups.remove_member(session=session, actor=ACTOR, member_id=first.id)
    assert callgroups.member_usernames(session, group.id) == ["102", "guard"]
    priorities = session.scalars(select(CallGroupMember.priority).order_by(CallGroupMember.id))
    assert sorted(priorities) == [1, 2]
    # VTSs are not in a building: only the building's VTO routes to the group.
    assert callgroups.centre_routes(session) == {"11#01#8055": ["102", "888888/guard"]}
    with pytest.raises(IntercomError, match="add either a manager client"):
        callgroups.add_member(session=session, actor=ACTOR, group_id=group.id)


async def test_centre_call_rings_the_group_in_priority_order(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"sip_port": 0}))
    with app.state.session_factory() as s:
        building, _ = _setup(s, settings.secret_key)
        group = callgroups.create_group(session=s, actor=ACTOR, name="Lobby", building_id=building)
        for number in ("102", "101"):
            callgroups.add_member(
                session=s, actor=ACTOR, group_id=group.id, registration_id=_vts(s, number)
            )
        accounts = registrations.sip_accounts(session=s, secret_key=settings.secret_key)
        gate_id = s.scalars(select(Device.id).where(Device.name == "gate")).one()
        s.commit()
    task = asyncio.create_task(sip.run(app))
    agents: list[UserAgent] = []
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while not hasattr(app.state, "sip_server"):
            assert asyncio.get_running_loop().time() < deadline, "SIP server did not start"
            await asyncio.sleep(0.02)
        server = app.state.sip_server
        server.group_ring_seconds = 30.0
        peer = Peer("UDP", "127.0.0.1", server.port)
        for name in ("11#01#8055", "101", "102"):
            ua = UserAgent(username=name, password=accounts[name], server=peer, domain="openpss")
            await ua.start()
            await ua.register()
            agents.append(ua)
        vto, vts101, vts102 = agents
        placing = asyncio.create_task(vto.call(callgroups.CENTRE_NUMBER))
        first = await within(vts102.incoming.get(), 20)  # priority 1 rings first
        assert vts101.incoming.empty()
        first.reject(486)
        second = await within(vts101.incoming.get(), 20)
        await second.answer()
        call = await within(placing, 20)
        await call.hangup()
        # The call detail record becomes a call record (platform-video-intercom 4.1).
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            with app.state.session_factory() as s:
                rows = s.scalars(select(CallRecord)).all()
                stored = [(r.caller, r.callee, r.answered_by, r.status, r.device_id) for r in rows]
            if stored:
                break
            assert asyncio.get_running_loop().time() < deadline, "no call record stored"
            await asyncio.sleep(0.05)
        assert stored == [("11#01#8055", "888888", "101", "answered", gate_id)]
    finally:
        for ua in agents:
            await ua.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.state.engine.dispose()
