"""Call groups decide which consoles ring (platform-video-intercom 2.4 and 3).

The platform's SIP server (``PlatformSipServer`` over the intercom registration numbers) and
the console (``ConsoleCalls``) on loopback, door stations, VTSs and VTHs as SIP phones in code.
A centre call of a building with a group rings its members one after another in priority
order, each for the ring time: a manager client only in that user's consoles, a VTS as a
phone; console users outside the group never ring. Without a group every console rings. The
call record says who answered. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.intercom import buildings, callgroups, registrations
from openpss.platform.intercom.callgroups import CENTRE_NUMBER
from openpss.platform.intercom.calls import CallError, ConsoleCalls
from openpss.platform.intercom.schemas import (
    NodeCreate,
    RegistrationQuery,
)
from openpss.platform.intercom.sip import PlatformSipEvents, PlatformSipServer, build_server
from openpss.platform.records.models import CallRecord
from openpss.platform.security.models import Role
from openpss.platform.settings import Settings
from openpss.protocols.aio import within
from openpss.protocols.sip import CallFailed, Peer, UserAgent
from openpss.protocols.sip.ua import UaCall
from tests.conftest import add_account
from tests.support.call_console import Console, offer
from tests.support.call_group import ACTOR, ROOM, VTH_EXTENSION, VTH_MASTER, VTO, VTS, seed_site
from tests.support.polling import eventually_async

RING_SECONDS = 0.6  # each member's ring time: short, the tests wait through it


@dataclass
class Rig:
    server: PlatformSipServer
    events: PlatformSipEvents
    calls: ConsoleCalls
    factory: sessionmaker[Session]
    building_id: int
    phones: dict[str, UserAgent]

    def records(self) -> list[CallRecord]:
        with self.factory() as session:
            return list(session.scalars(select(CallRecord).order_by(CallRecord.id)))

    def group(self, *members: str) -> None:
        """A call group of building 11: console users by name, VTSs by number."""
        with self.factory() as s:
            group = callgroups.create_group(
                session=s, actor=ACTOR, name="Lobby", building_id=self.building_id
            )
            items = registrations.list_registrations(session=s, query=RegistrationQuery()).items
            vts = {r.number: r.id for r in items}
            for member in members:
                if member in vts:
                    callgroups.add_member(
                        session=s, actor=ACTOR, group_id=group.id, registration_id=vts[member]
                    )
                else:
                    account = add_account(s, member, Role.operator, "Str0ng!Passw0rd")
                    callgroups.add_member(
                        session=s, actor=ACTOR, group_id=group.id, account_id=account.id
                    )
            s.commit()
        assert self.server.routing is not None
        self.server.routing.invalidate()

    def consoles(self, *usernames: str) -> list[Console]:
        """Console tabs logged in as ``usernames``, listening for calls."""
        tabs = [Console(name) for name in usernames]
        for tab in tabs:
            self.calls.subscribe(tab.username, tab.send)
        return tabs


@pytest.fixture
async def rig(settings: Settings, db_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as s:
        building_id = seed_site(s, settings.secret_key)
        accounts = registrations.sip_accounts(session=s, secret_key=settings.secret_key)
        s.commit()
    events = PlatformSipEvents(factory)
    server = build_server(settings, events, factory)
    assert isinstance(server, PlatformSipServer)
    server.group_ring_seconds = RING_SECONDS
    await server.start("127.0.0.1", 0)
    calls = ConsoleCalls(data_dir=tmp_path / "data", session_factory=factory)
    await calls.start(server)
    phones: dict[str, UserAgent] = {}
    try:
        for number in (VTO, VTS, VTH_MASTER, VTH_EXTENSION):
            phone = UserAgent(
                username=number,
                password=accounts[number],
                server=Peer("UDP", "127.0.0.1", server.port),
                domain="openpss",
            )
            await phone.start("127.0.0.1", 0)
            await phone.register()
            phones[number] = phone
        yield Rig(server, events, calls, factory, building_id, phones)
    finally:
        await calls.close()
        for phone in phones.values():
            await phone.close()
        await server.close()
        engine.dispose()


def _centre_call(rig: Rig) -> asyncio.Task[UaCall]:
    return asyncio.create_task(rig.phones[VTO].call(CENTRE_NUMBER, offer(40000)))


def _ringing(tab: Console) -> list[dict[str, Any]]:
    return [m for m in tab.messages if m["type"] == "ringing"]


async def test_group_rings_members_in_priority_order_and_only_them(rig: Rig) -> None:
    # dave has no console open: skipped at once; then alice, the VTS, bob, each for the ring time
    rig.group("dave", "alice", VTS, "bob")
    alice, bob, carol = rig.consoles("alice", "bob", "carol")
    dialled = _centre_call(rig)
    [ring] = await eventually_async(lambda: _ringing(alice), what="alice's window")
    assert not _ringing(bob) and not _ringing(carol)  # bob's turn comes later, carol has none
    with pytest.raises(CallError, match="rings another member"):
        await rig.calls.accept(ring["call"]["id"], "carol")
    # alice lets it ring out: her window closes and the VTS rings
    await eventually_async(
        lambda: "ended" in alice.kinds(), what="alice's window closing after the ring time"
    )
    vts_call = await within(rig.phones[VTS].incoming.get(), 10)
    assert not _ringing(bob)
    vts_call.reject(486)  # busy: on to bob
    [ring] = await eventually_async(lambda: _ringing(bob), what="bob's window")
    assert not _ringing(carol) and len(_ringing(alice)) == 1
    await rig.calls.accept(ring["call"]["id"], "bob")
    door = await within(dialled, 10)
    await door.hangup()
    await eventually_async(lambda: rig.events.calls, what="the server's call record")
    [record] = await eventually_async(rig.records, what="the call record")
    assert (record.caller, record.callee, record.status) == (VTO, CENTRE_NUMBER, "answered")
    assert record.answered_by == "bob"
    [server_record] = rig.events.calls
    assert [user for user, _ in server_record.legs] == [
        "888888/dave", "888888/alice", VTS, "888888/bob"
    ]  # fmt: skip
    assert [status for _, status in server_record.legs] == [480, 487, 486, 200]
    assert len(rig.records()) == 1  # the console's record; the server's is not stored twice


async def test_group_nobody_answers_moves_on_and_records_one_missed_call(rig: Rig) -> None:
    rig.group("alice", "bob")
    alice, bob = rig.consoles("alice", "bob")
    dialled = _centre_call(rig)
    await eventually_async(lambda: _ringing(alice), what="alice's window")
    assert not _ringing(bob)
    await eventually_async(lambda: _ringing(bob), what="bob's window after alice's ring time")
    assert "ended" in alice.kinds()  # alice stopped ringing before bob started
    with pytest.raises(CallFailed) as failed:
        await within(dialled, 10)
    assert failed.value.status == 480
    [record] = await eventually_async(rig.records, what="the call record")
    assert (record.caller, record.callee, record.status) == (VTO, CENTRE_NUMBER, "missed")
    assert record.answered_by is None and record.device_id is not None
    assert rig.calls.calls == {}


async def test_group_vts_answers(rig: Rig) -> None:
    rig.group(VTS, "alice")
    (alice,) = rig.consoles("alice")
    dialled = _centre_call(rig)
    vts_call = await within(rig.phones[VTS].incoming.get(), 10)
    await vts_call.answer()
    door = await within(dialled, 10)
    await door.hangup()
    [record] = await eventually_async(rig.records, what="the call record")
    assert (record.status, record.answered_by) == ("answered", VTS)
    assert not _ringing(alice)


async def test_no_group_rings_every_console_first_answer_takes_it(rig: Rig) -> None:
    alice, bob, carol = rig.consoles("alice", "bob", "carol")
    dialled = _centre_call(rig)
    await eventually_async(
        lambda: all(_ringing(t) for t in (alice, bob, carol)), what="every console ringing"
    )
    call_id = _ringing(carol)[0]["call"]["id"]
    await rig.calls.accept(call_id, "carol")
    await eventually_async(
        lambda: all("taken" in t.kinds() for t in (alice, bob)), what="the others stopping"
    )
    with pytest.raises(CallError, match="already taken by carol"):
        await rig.calls.accept(call_id, "alice")
    door = await within(dialled, 10)
    await door.hangup()
    [record] = await eventually_async(rig.records, what="the call record")
    assert (record.status, record.answered_by) == ("answered", "carol")


async def test_a_group_of_another_building_does_not_change_who_rings(rig: Rig) -> None:
    with rig.factory() as s:
        community = buildings.get_community(session=s)
        other = buildings.add_node(
            session=s, actor=ACTOR, data=NodeCreate(parent_id=community.id, number="12")
        )
        s.commit()
    rig.building_id = other.id
    rig.group("alice")
    alice, bob = rig.consoles("alice", "bob")
    dialled = _centre_call(rig)
    await eventually_async(lambda: _ringing(alice) and _ringing(bob), what="both consoles ringing")
    dialled.cancel()
    [record] = await eventually_async(rig.records, what="the missed call's record")
    assert (record.status, record.answered_by) == ("missed", None)


async def test_room_call_records_the_vth_that_answered(rig: Rig) -> None:
    dialled = asyncio.create_task(rig.phones[VTO].call(ROOM, offer(40000)))
    master = await within(rig.phones[VTH_MASTER].incoming.get(), 10)
    extension = await within(rig.phones[VTH_EXTENSION].incoming.get(), 10)
    await extension.answer()
    door = await within(dialled, 10)
    await within(master.ended.wait(), 10)  # the master stopped ringing
    await door.hangup()
    [record] = await eventually_async(rig.records, what="the call record")
    assert (record.caller, record.callee, record.status) == (VTO, ROOM, "answered")
    assert record.answered_by == VTH_EXTENSION


async def test_console_call_records_the_device_that_answered(rig: Rig) -> None:
    rig.phones[VTH_EXTENSION].auto_answer = True
    call = await rig.calls.dial(f"{VTH_EXTENSION}", "alice")
    await rig.calls.hangup(call.id, "alice")
    [record] = await eventually_async(rig.records, what="the call record")
    assert (record.caller, record.callee) == (CENTRE_NUMBER, VTH_EXTENSION)
    assert (record.status, record.answered_by) == ("answered", VTH_EXTENSION)


def test_answered_by_in_the_api_and_on_the_records_page(api: Any) -> None:
    import datetime as dt

    app = api.client.app
    with app.state.session_factory() as s:
        start = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
        s.add(CallRecord(start_time=start, caller=VTO, callee=ROOM, answered_by=VTH_EXTENSION,
                         status="answered"))  # fmt: skip
        s.add(CallRecord(start_time=start, caller=VTO, callee=CENTRE_NUMBER, status="missed"))
        s.commit()
    items = api.client.get("/api/v1/records/calls", headers=api.headers(Role.viewer)).json()
    assert sorted((i["callee"], i["answered_by"]) for i in items["items"]) == [
        (ROOM, VTH_EXTENSION), (CENTRE_NUMBER, None)
    ]  # fmt: skip
    page = api.client.get("/records?kind=calls", headers=api.headers(Role.viewer))
    assert page.status_code == 200
    assert "<th>Answered by</th>" in page.text and f"<td>{VTH_EXTENSION}</td>" in page.text
