"""Intercom management (platform-video-intercom chapter 3) on SQLite and PostgreSQL: the device
list by organization node, status and type; the dial page's full numbers; missed calls; the
latest 100 records; door commands refused with a clear error before any device is touched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.devices import doors
from openpss.platform.devices.models import Device
from openpss.platform.errors import Invalid, NotFound
from openpss.platform.intercom import management
from openpss.platform.intercom.calls import ConsoleCalls
from openpss.platform.intercom.errors import IntercomError
from openpss.platform.intercom.schemas import (
    IntercomDeviceQuery,
)
from openpss.platform.intercom.views_calls import _handle
from openpss.platform.records.models import AccessRecord, AlarmRecord, CallRecord
from openpss.platform.security.models import AuditEntry, Role
from openpss.platform.settings import Settings
from tests.conftest import Api
from tests.support.intercom_site import ACTOR, build_site, seed_device
from tests.support.queries import queries_for_get

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def _names(session: Session, sip_online: tuple[str, ...] = (), **filters: object) -> list[str]:
    query = IntercomDeviceQuery.model_validate(filters)
    page = management.list_devices(session=session, query=query, sip_online=sip_online)
    return [d.name for d in page.items]


def test_device_list_follows_tree_status_type_and_search(session: Session) -> None:
    site = build_site(session)
    everything = ["flat-a", "flat-b", "gate", "gate12", "spare"]
    assert _names(session) == everything  # no access controller: intercom devices only
    assert _names(session, node_id=site.community) == everything
    assert _names(session, node_id=site.building11) == ["flat-a", "flat-b", "gate"]
    assert _names(session, node_id=site.unit12) == ["gate12"]
    assert _names(session, status="online") == ["gate"]
    # a VTH is online while registered with the SIP server (the sync does not poll VTHs)
    assert _names(session, ("11#01#11#5",), status="online") == ["flat-b", "gate"]
    offline = _names(session, ("11#01#11#5",), status="offline")
    assert offline == ["flat-a", "gate12", "spare"]
    assert _names(session, kind="vth", node_id=site.unit11) == ["flat-a", "flat-b"]
    assert _names(session, search="8001") == ["gate12"]
    page = management.list_devices(session=session, query=IntercomDeviceQuery(search="gate"))
    gate = next(d for d in page.items if d.name == "gate")
    assert (gate.number, gate.door_count, gate.online) == ("11#01#8055", 2, True)
    vth = management.list_devices(session=session, query=IntercomDeviceQuery(kind="vth")).items
    assert {d.door_count for d in vth} == {0}  # a VTH has no door of its own
    with pytest.raises(NotFound, match="organization node 999999 does not exist"):
        _names(session, node_id=999999)


def test_dial_page_takes_full_numbers_only(session: Session) -> None:
    build_site(session)
    check = management.check_dial_number
    assert check(session=session, number=" 11#01#8055 ") == "11#01#8055"
    assert check(session=session, number="11#01#11#5") == "11#01#11#5"
    assert check(session=session, number="700") == "700"  # another SIP account: as typed
    with pytest.raises(IntercomError, match=r"room with 2 VTH\(s\).*11#01#11#0, 11#01#11#5"):
        check(session=session, number="11#01#11")
    with pytest.raises(IntercomError, match=r"not a full number.*dial 11#01#8055"):
        check(session=session, number="8055")
    with pytest.raises(IntercomError, match="dial 11#01#11#0 or 11#01#11#5"):
        check(session=session, number="11")
    with pytest.raises(IntercomError, match="enter the full number"):
        check(session=session, number="  ")
    with pytest.raises(IntercomError, match="1-32 digits, # and"):
        check(session=session, number="11#01#80a5")


def test_missed_calls_are_the_centres_missed_and_rejected(session: Session) -> None:
    def call(minute: int, caller: str, callee: str, status: str) -> int:
        row = CallRecord(start_time=T0 + dt.timedelta(minutes=minute), caller=caller,
                         callee=callee, status=status)  # fmt: skip
        session.add(row)
        session.flush()
        return row.id

    missed = call(1, "11#01#8055", "888888", "missed")
    rejected = call(2, "12#01#8001", "888888", "rejected")
    call(3, "11#01#8055", "888888", "answered")
    call(4, "11#01#8055", "11#01#11#0", "missed")  # the door station called a flat
    call(5, "888888", "11#01#8055", "missed")  # the centre's own call
    rows = management.missed_calls(session=session)
    assert [r.id for r in rows] == [rejected, missed]


def test_latest_records_merge_three_kinds_bounded_newest_first(session: Session) -> None:
    site = build_site(session)
    marker = management.records_marker(session=session)
    for n in range(120):
        at = T0 + dt.timedelta(seconds=n)
        session.add(AccessRecord(device_id=site.gate, record_no=n + 1, event_time=at,
                                 user_id="101", method="card"))  # fmt: skip
    later = T0 + dt.timedelta(hours=1)
    session.add(AccessRecord(device_id=site.turnstile, record_no=1, event_time=later))
    session.add(AlarmRecord(device_id=site.gate, event_time=T0 + dt.timedelta(minutes=30),
                            alarm_type="tamper"))  # fmt: skip
    session.add(CallRecord(start_time=T0 + dt.timedelta(minutes=20), caller="11#01#8055",
                           callee="888888", status="missed", device_id=site.gate))  # fmt: skip
    session.flush()
    assert management.records_marker(session=session) != marker
    rows = management.latest_records(session=session)
    assert len(rows) == management.LATEST_RECORDS
    assert [r.kind for r in rows[:2]] == ["alarms", "calls"]  # the turnstile's is not listed
    assert rows[0].summary == "tamper" and rows[0].device == "gate"
    assert rows[1].device == "gate" and rows[1].status == "missed"
    times = [r.time for r in rows]
    assert times == sorted(times, reverse=True)
    assert rows[2].summary == "card unlock by 101" and rows[2].status == "granted"


async def test_door_commands_refused_before_any_device_is_touched(
    session: Session, settings: Settings
) -> None:
    site = build_site(session)
    with pytest.raises(Invalid, match=r"'flat-a' is a VTH: it has no door of its own"):
        await doors.open_door(session=session, settings=settings, actor=ACTOR,
                              device_id=site.flat_a, door=1)  # fmt: skip
    with pytest.raises(Invalid, match=r"'gate' has 2 door\(s\): door 3 does not exist"):
        await doors.open_door(session=session, settings=settings, actor=ACTOR,
                              device_id=site.gate, door=3)  # fmt: skip
    with pytest.raises(Invalid, match="has no password set"):
        await doors.open_door(session=session, settings=settings, actor=ACTOR,
                              device_id=site.gate, door=1)  # fmt: skip
    with pytest.raises(Invalid, match="door mode must be one of"):
        await doors.set_door_mode(session=session, settings=settings, actor=ACTOR,
                                  device_ids=[site.gate], mode="open")  # fmt: skip
    with pytest.raises(NotFound, match="intercom device"):
        await management.open_door(session=session, settings=settings, actor=ACTOR,
                                   device_id=site.turnstile, door=1)  # fmt: skip
    with pytest.raises(IntercomError, match="the list shows no door station"):
        await management.set_listed_door_mode(
            session=session, settings=settings, actor=ACTOR,
            query=IntercomDeviceQuery(kind="vth"), mode="always_open",
        )  # fmt: skip
    audited = session.scalars(select(AuditEntry).where(AuditEntry.action.like("door.%"))).all()
    assert audited == []


def test_api_and_console_of_the_management_page(api: Api) -> None:
    op, viewer = api.headers(Role.operator), api.headers(Role.viewer)
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        site = build_site(s)
        s.commit()
    params = {"node_id": site.building11, "kind": "vto"}
    listed = api.client.get("/api/v1/intercom/devices", params=params, headers=viewer)
    assert listed.status_code == 200, listed.text
    assert [d["name"] for d in listed.json()["items"]] == ["gate"]
    bad = api.client.get("/api/v1/intercom/devices", params={"status": "asleep"}, headers=viewer)
    assert bad.status_code == 422 and "online" in bad.text
    assert (
        api.client.get("/api/v1/intercom/dial/check", params={"number": "8055"}, headers=op)
        .json()["detail"]
        .startswith("8055 is not a full number")
    )
    refused = api.client.post(f"/api/v1/intercom/devices/{site.flat_a}/doors/1/open", headers=op)
    assert refused.status_code == 422 and "no door of its own" in refused.text
    assert (
        api.client.post(
            f"/api/v1/intercom/devices/{site.gate}/doors/1/open", headers=viewer
        ).status_code
        == 403
    )
    # the door-mode command addresses the listed door stations only: here gate12 (unit 12)
    with factory() as s:
        for device in s.scalars(select(Device)):
            device.password_encrypted = ""
        s.commit()
    mode = api.client.post(
        "/api/v1/intercom/doors/mode", params={"node_id": site.unit12},
        json={"mode": "always_open"}, headers=op,
    )  # fmt: skip
    assert mode.status_code == 422 and "'gate12' has no password set" in mode.text

    page = api.client.get("/intercom", headers=op)
    assert page.status_code == 200
    for text in ('id="intercom-tree"', ">11 Building 11<", ">01 Unit 01<", "gate12", "flat-b",
                 "Door 1", "Door 2", 'id="dial-form"', "Missed video intercom",
                 'href="/records?kind=alarms"', "No records yet."):  # fmt: skip
        assert text in page.text, text
    assert "turnstile" not in page.text
    fragment = api.client.get(
        "/intercom/devices", params={"node_id": site.unit12}, headers=op | {"HX-Request": "true"}
    )
    assert "gate12" in fragment.text and "flat-a" not in fragment.text
    assert 'hx-swap-oob="true"' in fragment.text and "<html" not in fragment.text
    door = api.client.post(f"/intercom/devices/{site.gate}/doors/1/open", headers=op)
    assert door.status_code == 422 and "has no password set" in door.text
    live = api.client.get("/intercom/live", headers=op | {"HX-Request": "true"})
    marker = live.text.split('data-marker="')[1].split('"')[0]
    unchanged = api.client.get("/intercom/live", params={"since": marker}, headers=op)
    assert unchanged.status_code == 204
    with factory() as s:
        s.add(AlarmRecord(device_id=site.gate, event_time=T0, alarm_type="tamper"))
        s.commit()
    changed = api.client.get("/intercom/live", params={"since": marker}, headers=op)
    assert changed.status_code == 200 and "tamper" in changed.text


def test_management_page_runs_a_fixed_number_of_queries(api: Api) -> None:
    """No N+1: more devices, registrations and records of every kind, the same statements."""
    op = api.headers(Role.operator)
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    paths = ["/intercom", "/intercom/live", "/api/v1/intercom/devices",
             "/api/v1/intercom/records/latest", "/api/v1/intercom/calls/missed"]  # fmt: skip
    with factory() as s:
        site = build_site(s)
        s.add(CallRecord(start_time=T0, caller="11#01#8055", callee="888888", status="missed"))
        s.add(AlarmRecord(device_id=site.gate, event_time=T0, alarm_type="tamper"))
        s.add(AccessRecord(device_id=site.gate, record_no=1, event_time=T0))
        s.commit()
    few = {p: len(queries_for_get(api.client, p, op)) for p in paths}
    with factory() as s:
        for n in range(20):
            seed_device(s, f"more-{n:02d}", "vto" if n % 2 else "vth", online=bool(n % 3))
            s.add(CallRecord(start_time=T0, caller=f"11#01#80{n:02d}", callee="888888",
                             status="rejected", device_id=site.gate12))  # fmt: skip
            s.add(AlarmRecord(device_id=site.gate12, event_time=T0, alarm_type="tamper"))
            s.add(AccessRecord(device_id=site.gate12, record_no=n + 1, event_time=T0))
        s.commit()
    more = {p: len(queries_for_get(api.client, p, op)) for p in paths}
    assert more == few


async def test_console_socket_refuses_a_room_number_before_dialling(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as s:
        build_site(s)
        s.commit()
    console = ConsoleCalls(data_dir=tmp_path, session_factory=factory)  # no SIP: nothing dials
    replies: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        replies.append(message)

    try:
        await _handle(console, "alice", '{"type": "dial", "number": "8055"}', send)
        await _handle(console, "alice", '{"type": "dial", "number": "11#01#11"}', send)
    finally:
        engine.dispose()
    assert [r["type"] for r in replies] == ["error", "error"]
    assert replies[0]["message"] == (
        "8055 is not a full number; room numbers cannot be called from the dial page: "
        "dial 11#01#8055"
    )
    assert (
        "dial the number with the extension, e.g. 11#01#11#0, 11#01#11#5" in replies[1]["message"]
    )
    assert console.calls == {}
