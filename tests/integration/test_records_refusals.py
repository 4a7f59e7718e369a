"""Refused attempts are stored with their reason; a duress card makes one alarm (both DBs).

Issue 8 item 4: before the fix refused punches left no record on the platform and a duress
card raised no alarm.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import openpss.platform.records.service as service
from openpss.platform.devices.adapter import parse_record
from openpss.platform.devices.models import Device
from openpss.platform.records import export
from openpss.platform.records.models import AlarmRecord
from openpss.platform.records.schemas import AccessQuery, AlarmQuery
from openpss.platform.security.models import Role
from tests.conftest import Api

UTC0 = int(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC).timestamp())


def _device(session: Session) -> Device:
    device = Device(name="Terminal", host="127.0.0.1", username="admin", password_encrypted="")
    session.add(device)
    session.flush()
    return device


def _record(no: int, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {"RecNo": no, "CreateTime": UTC0 + no, "Method": 1, "Status": 1}
    return parse_record({**base, **fields})


def test_refused_attempts_are_stored_and_filterable(session: Session, tmp_path: Path) -> None:
    device = _device(session)
    records = [
        _record(1, UserID="7", CardNo="A1"),
        _record(2, CardNo="DEAD", Status=0, ErrorCode=16, Reason="card not registered"),
        _record(3, UserID="8", Status=0, ErrorCode=20),
        _record(4, UserID="7", Method=0, Status=0, ErrorCode=19),
    ]
    assert service.add_access_records(session=session, device_id=device.id, records=records) == 4
    failed = service.search_access(session=session, filters=AccessQuery(success=False))
    assert failed.total == 3
    assert {r.record_no: r.reason for r in failed.items} == {
        2: "card not registered",
        3: "outside validity period",
        4: "verification method not allowed",
    }
    validity = service.search_access(session=session, filters=AccessQuery(reason="VALIDITY"))
    assert [r.record_no for r in validity.items] == [3]
    wildcard = service.search_access(session=session, filters=AccessQuery(reason="%"))
    assert wildcard.items == []  # % is a literal, not a wildcard
    export.write_export(session, "access", AccessQuery(), "csv", tmp_path / "r.csv")
    csv_text = (tmp_path / "r.csv").read_text("utf-8-sig")
    assert "Reason" in csv_text.splitlines()[0] and "card not registered" in csv_text


def test_duress_card_makes_one_alarm_from_pull_and_stream(session: Session) -> None:
    device = _device(session)
    duress = _record(9, UserID="7", CardNo="B2", CardType=5)
    normal = _record(10, UserID="7", CardNo="B1", CardType=0)
    service.add_access_records(session=session, device_id=device.id, records=[duress])  # stream
    service.add_access_records(session=session, device_id=device.id, records=[duress, normal])
    alarms = list(session.scalars(select(AlarmRecord)))
    assert [(a.device_id, a.record_no, a.alarm_type) for a in alarms] == [(device.id, 9, "duress")]
    assert "user 7" in alarms[0].detail and "B2" in alarms[0].detail
    duress_only = AlarmQuery(alarm_type="duress")
    alarm_page = service.search_records(session=session, kind="alarms", query=duress_only)
    assert alarm_page.total == 1 and alarm_page.items[0].record_no == 9
    access = service.search_access(session=session, filters=AccessQuery())
    assert {r.record_no for r in access.items} == {
        9,
        10,
    }  # the duress punch is an access record too


def test_duress_event_and_record_make_one_alarm(session: Session) -> None:
    """The Duress event (stream) and the duress-card record (pull) name the same RecNo."""
    from openpss.platform.devices.adapter import parse_duress
    from openpss.platform.devices.sync import _store_event

    device = _device(session)
    event = parse_duress({"RecNo": 9, "UTC": UTC0, "UserID": "7", "CardNo": "B2"})
    records, events = _store_event(session, device.id, "access", event)
    assert records == []  # an alarm, not a punch
    assert [(e.kind.value, e.data["type"]) for e in events] == [("alarm", "duress")]
    record = _record(9, UserID="7", CardNo="B2", CardType=5)
    service.add_access_records(session=session, device_id=device.id, records=[record])
    no_rec_no = parse_duress({"UTC": UTC0, "UserID": "8"})
    _store_event(session, device.id, "access", no_rec_no)
    alarms = sorted(session.scalars(select(AlarmRecord)), key=lambda a: a.id)
    assert [(a.record_no, a.alarm_type) for a in alarms] == [(9, "duress"), (None, "duress")]


def test_refusals_in_the_records_api_and_console(api: Api) -> None:
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        device = _device(s)
        records = [
            _record(1, UserID="7", CardNo="A1"),
            _record(2, UserID="8", Status=0, ErrorCode=20),
            _record(3, UserID="9", CardNo="B2", CardType=5),
        ]
        service.add_access_records(session=s, device_id=device.id, records=records)
        s.commit()
    h = api.headers(Role.viewer)
    page = api.client.get(
        "/api/v1/records/access", params={"success": "false", "reason": "validity"}, headers=h
    ).json()
    assert [(r["user_id"], r["reason"]) for r in page["items"]] == [
        ("8", "outside validity period")
    ]
    alarms = api.client.get("/api/v1/records/alarms", params={"alarm_type": "duress"}, headers=h)
    assert [(a["record_no"], a["alarm_type"]) for a in alarms.json()["items"]] == [(3, "duress")]
    html = api.client.get("/records", params={"reason": "validity"}, headers=h).text
    assert "outside validity period" in html and ">7<" not in html
