"""Records search (platform-video-intercom 4): organization and status filters, paging with a
bounded count (first / previous / next / last / jump), the export jobs with progress, and the
console page (both databases)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform import listing
from openpss.platform.devices.models import Device
from openpss.platform.errors import Invalid
from openpss.platform.intercom.models import EndpointKind, Level, OrgNode, Registration, Room
from openpss.platform.records import export, service
from openpss.platform.records.models import AccessRecord, AlarmRecord, CallRecord
from openpss.platform.records.schemas import (
    CALL_STATUSES,
    AccessQuery,
    AlarmQuery,
    CallQuery,
    RecordKind,
    RecordQuery,
)
from openpss.platform.security.models import Account, AuditEntry, Role
from openpss.platform.security.tokens import open_login_session
from openpss.platform.xlsx import write_xlsx_sheets
from tests.conftest import Api
from tests.support.polling import eventually

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
KINDS: tuple[RecordKind, ...] = ("access", "calls", "alarms")


# ---------------------------------------------------------------- fixtures


def _device(session: Session, name: str) -> Device:
    device = Device(name=name, host="127.0.0.1", username="admin", password_encrypted="")
    session.add(device)
    session.flush()
    return device


def _node(session: Session, parent: OrgNode | None, level: Level, number: str) -> OrgNode:
    node = OrgNode(parent_id=parent.id if parent else None, level=level, number=number)
    node.name = f"{level.value} {number}"
    session.add(node)
    session.flush()
    return node


def _register(session: Session, device: Device, number: str, **where: int) -> None:
    kind = EndpointKind.vth if "room_id" in where else EndpointKind.vto
    registration = Registration(kind=kind, device_id=device.id, number=number, **where)
    registration.sip_password_encrypted = "x"
    session.add(registration)


def _organization(session: Session) -> dict[str, Any]:
    """Community > building 01 > unit 01 > room 101, and building 02.

    Devices: `unit_vto` on unit 01, `room_vth` in room 101, `b2_vto` on building 02, and
    `loose` registered nowhere.
    """
    community = _node(session, None, Level.community, "")
    b1 = _node(session, community, Level.building, "01")
    unit = _node(session, b1, Level.unit, "01")
    b2 = _node(session, community, Level.building, "02")
    room = Room(node_id=unit.id, number="101", name="")
    session.add(room)
    session.flush()
    devices = {name: _device(session, name) for name in ("unit_vto", "room_vth", "b2_vto", "loose")}
    _register(session, devices["unit_vto"], "01#01#8001", node_id=unit.id)
    _register(session, devices["room_vth"], "01#01#101", room_id=room.id)
    _register(session, devices["b2_vto"], "02#8001", node_id=b2.id)
    session.flush()
    return {"community": community, "b1": b1, "unit": unit, "b2": b2, "room": room, **devices}


def _add(
    session: Session, kind: RecordKind, device: Device, at: dt.datetime, **values: Any
) -> None:
    if kind == "access":
        session.add(AccessRecord(device_id=device.id, event_time=at, **values))
    elif kind == "calls":
        session.add(CallRecord(device_id=device.id, start_time=at, **values))
    else:
        session.add(AlarmRecord(device_id=device.id, event_time=at, **values))


def _devices_found(session: Session, kind: RecordKind, **filters: Any) -> list[int | None]:
    query = service.QUERIES[kind].model_validate({**filters, "limit": 100})
    page = service.search_records(session=session, kind=kind, query=query)
    return sorted({row.device_id for row in page.items}, key=lambda d: d or 0)


# ---------------------------------------------------------------- filters


@pytest.mark.parametrize("split", [True, False], ids=["device-by-device", "in-list"])
@pytest.mark.parametrize("kind", KINDS)
def test_an_organization_node_selects_the_devices_registered_under_it(
    session: Session, kind: RecordKind, split: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not split:  # a node with more devices than SPLIT_DEVICES: one IN list
        monkeypatch.setattr(service, "SPLIT_DEVICES", 0)
    org = _organization(session)
    for minute, name in enumerate(("unit_vto", "room_vth", "b2_vto", "loose")):
        _add(session, kind, org[name], T0 + dt.timedelta(minutes=minute))
    session.flush()
    ids = {name: org[name].id for name in ("unit_vto", "room_vth", "b2_vto", "loose")}

    def found(**filters: Any) -> list[int | None]:
        return _devices_found(session, kind, **filters)

    assert found() == sorted(ids.values())
    everyone = sorted([ids["unit_vto"], ids["room_vth"], ids["b2_vto"]])
    assert found(node_id=org["community"].id) == everyone  # not the unregistered device
    assert found(node_id=org["b1"].id) == sorted([ids["unit_vto"], ids["room_vth"]])
    assert found(node_id=org["unit"].id) == sorted([ids["unit_vto"], ids["room_vth"]])
    assert found(node_id=org["b2"].id) == [ids["b2_vto"]]
    assert found(room_id=org["room"].id) == [ids["room_vth"]]
    assert found(node_id=org["b1"].id, room_id=org["room"].id) == [ids["room_vth"]]
    assert found(node_id=org["b2"].id, room_id=org["room"].id) == []
    assert found(node_id=org["b1"].id, device_id=ids["b2_vto"]) == []
    with pytest.raises(Invalid, match="organization node 99999 does not exist") as node_error:
        found(node_id=99999)
    assert node_error.value.loc == ("node_id",)
    with pytest.raises(Invalid, match="room 99999 does not exist") as room_error:
        found(room_id=99999)
    assert room_error.value.loc == ("room_id",)


def test_call_status_filter_finds_each_status_only(session: Session) -> None:
    device = _device(session, "VTO")
    for minute, status in enumerate(CALL_STATUSES * 2):
        _add(session, "calls", device, T0 + dt.timedelta(minutes=minute), status=status)
    session.flush()
    for status in CALL_STATUSES:
        page = service.search_records(session=session, kind="calls", query=CallQuery(status=status))
        assert [r.status for r in page.items] == [status, status]
    assert service.search_records(session=session, kind="calls", query=CallQuery()).total == 10
    with pytest.raises(ValidationError, match="status"):
        CallQuery.model_validate({"status": "lost"})


def test_access_result_and_alarm_type_filters(session: Session) -> None:
    device = _device(session, "Door")
    for minute in range(6):
        at = T0 + dt.timedelta(minutes=minute)
        _add(session, "access", device, at, success=minute % 3 != 0, user_id=str(minute))
        _add(session, "alarms", device, at, alarm_type="tamper" if minute % 2 else "duress")
    session.flush()
    refused = service.search_records(
        session=session, kind="access", query=AccessQuery(success=False)
    )
    assert [r.user_id for r in refused.items] == ["3", "0"]
    granted = service.search_records(
        session=session, kind="access", query=AccessQuery(success=True)
    )
    assert [r.user_id for r in granted.items] == ["5", "4", "2", "1"]
    tamper = service.search_records(
        session=session, kind="alarms", query=AlarmQuery(alarm_type="tamper")
    )
    assert [r.event_time.minute for r in tamper.items] == [5, 3, 1]


# ---------------------------------------------------------------- paging


def _calls(session: Session, count: int) -> list[int]:
    """`count` call records one minute apart (two share a minute: the id breaks the tie);
    returns their ids newest first."""
    device = _device(session, "VTO")
    for n in range(count):
        at = T0 + dt.timedelta(minutes=n if n != 5 else 4)
        _add(session, "calls", device, at, caller=str(n), status="missed" if n % 2 else "answered")
    session.flush()
    rows = session.scalars(select(CallRecord).order_by(CallRecord.start_time, CallRecord.id))
    return [r.id for r in rows][::-1]


def _ids(session: Session, **query: Any) -> tuple[list[int], listing.Page[Any]]:
    page = service.search_records(session=session, kind="calls", query=CallQuery(**query))
    return [r.id for r in page.items], page


def test_first_jump_and_last_pages_while_the_count_is_exact(session: Session) -> None:
    newest_first = _calls(session, 25)
    first, page = _ids(session, limit=10)
    assert first == newest_first[:10]
    assert (page.total, page.total_exact, page.prev_cursor) == (25, True, "")
    jump, page = _ids(session, limit=10, page=2)
    assert jump == newest_first[10:20] and page.prev_cursor and page.next_cursor
    last, page = _ids(session, limit=10, last=True)
    assert last == newest_first[20:]  # the last numbered page: 5 records
    assert page.next_cursor == "" and page.prev_cursor
    beyond, page = _ids(session, limit=10, page=4)
    assert beyond == [] and page.total == 25


def test_count_stops_at_the_cap_and_keyset_walks_cover_every_record(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "COUNT_CAP", 12)
    newest_first = _calls(session, 25)
    first, page = _ids(session, limit=5)
    assert (page.total, page.total_exact) == (12, False)
    # forward from the first page
    seen, cursor = list(first), page.next_cursor
    while cursor:
        ids, page = _ids(session, limit=5, after=cursor)
        assert page.prev_cursor  # every page after the first leads back
        seen += ids
        cursor = page.next_cursor
    assert seen == newest_first
    # the last page reads the keyset backwards: the 5 oldest, not a numbered page
    last, page = _ids(session, limit=5, last=True)
    assert last == newest_first[-5:] and page.next_cursor == "" and not page.total_exact
    # backward from the last page
    seen, cursor = list(last), page.prev_cursor
    while cursor:
        ids, page = _ids(session, limit=5, before=cursor)
        seen = ids + seen
        cursor = page.prev_cursor
    assert seen == newest_first
    # the page before the newest rows is the first page (full, not 25 % 5 leftovers)
    ids, page = _ids(session, limit=5, before=_ids(session, limit=5, page=2)[1].prev_cursor)
    assert ids == newest_first[:5] and page.prev_cursor == ""
    # a jump reaches the counted records only, with what to do instead
    assert _ids(session, limit=5, page=3)[0] == newest_first[10:15]
    with pytest.raises(ValidationError, match="use `last` or `after`"):
        CallQuery(limit=5, page=4)


def test_status_filter_pages_both_ways(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "COUNT_CAP", 4)
    _calls(session, 25)
    missed = [
        r.id
        for r in session.scalars(
            select(CallRecord)
            .where(CallRecord.status == "missed")
            .order_by(CallRecord.start_time.desc(), CallRecord.id.desc())
        )
    ]
    last, page = _ids(session, limit=5, status="missed", last=True)
    assert last == missed[-5:] and (page.total, page.total_exact) == (4, False)
    back, _ = _ids(session, limit=5, status="missed", before=page.prev_cursor)
    assert back == missed[-10:-5]


def test_a_node_pages_both_ways_device_by_device_as_with_an_in_list(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "COUNT_CAP", 8)
    org = _organization(session)
    devices = [org["unit_vto"], org["room_vth"], org["b2_vto"]]
    for n in range(40):  # unequal shares, some equal times across devices
        _add(session, "calls", devices[n % 3 if n % 5 else 0], T0 + dt.timedelta(minutes=n // 2))
    session.flush()
    node = org["community"].id

    def walk(**start: Any) -> list[int]:
        ids, page = _ids(session, limit=6, node_id=node, **start)
        seen = list(ids)
        way = "before" if start else "after"
        cursor = page.prev_cursor if start else page.next_cursor
        while cursor:
            ids, page = _ids(session, limit=6, node_id=node, **{way: cursor})
            if start and not page.prev_cursor:  # back at the top: the (full) first page
                ids = [i for i in ids if i not in seen]
            seen = ids + seen if start else seen + ids
            cursor = page.prev_cursor if start else page.next_cursor
        return seen

    split_forward, split_backward = walk(), walk(last=True)
    monkeypatch.setattr(service, "SPLIT_DEVICES", 0)
    in_list = walk()
    expected = [
        r.id
        for r in session.scalars(
            select(CallRecord).order_by(CallRecord.start_time.desc(), CallRecord.id.desc())
        )
    ]
    assert split_forward == split_backward == in_list == expected


def test_navigation_parameters_exclude_each_other() -> None:
    with pytest.raises(ValidationError, match="at most one of after, before, last"):
        CallQuery(after="x", last=True)
    with pytest.raises(ValidationError, match="at most one of after, before, last"):
        RecordQuery(before="x", page=2)


# ---------------------------------------------------------------- export


@pytest.mark.parametrize("kind", KINDS)
def test_export_writes_every_record_with_progress(
    session: Session, kind: RecordKind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "BATCH", 7)  # several batches, several progress reports
    device = _device(session, "Gate")
    other = _device(session, "Other")
    for n in range(30):
        at = T0 + dt.timedelta(minutes=n)
        by_kind: dict[str, dict[str, Any]] = {
            "access": {"user_id": str(n), "record_no": n},
            "calls": {"caller": str(n), "status": "answered", "end_time": at},
            "alarms": {"alarm_type": "tamper", "detail": str(n)},
        }
        values = by_kind[kind]
        _add(session, kind, device, at, **values)
    _add(session, kind, other, T0)  # filtered out
    session.commit()
    reports: list[tuple[int, int]] = []
    query = service.QUERIES[kind](device_id=device.id)
    out = tmp_path / f"{kind}.xlsx"
    written = export.write_export(
        session, kind, query, "xlsx", out, lambda d, t: reports.append((d, t))
    )
    assert written == 30
    assert reports[0] == (0, 30) and reports[-1] == (30, 30)
    assert [d for d, _ in reports] == sorted(d for d, _ in reports) and len(reports) == 6
    rows = list(load_workbook(out, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0] == tuple(export.COLUMNS[kind])
    assert len(rows) == 31
    time_column = 1
    assert rows[1][time_column] == dt.datetime(2026, 3, 2, 8, 0)  # oldest first, a date cell
    assert rows[-1][time_column] == dt.datetime(2026, 3, 2, 8, 29)
    assert all(row[export.COLUMNS[kind].index("Device")] == "Gate" for row in rows[1:])


def test_a_large_export_continues_on_the_next_sheet(tmp_path: Path) -> None:
    out = tmp_path / "big.xlsx"
    rows = ([n, T0.replace(tzinfo=None)] for n in range(25))
    write_xlsx_sheets(out, "Call records", rows, ["Record ID", "Start (UTC)"], sheet_rows=10)
    book = load_workbook(out, read_only=True)
    assert book.sheetnames == ["Call records", "Call records 2", "Call records 3"]
    sheets = [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]
    assert [len(s) for s in sheets] == [11, 11, 6]  # each with its header
    assert [r[0] for s in sheets for r in s[1:]] == list(range(25))


def test_export_jobs_over_the_api(api: Api) -> None:
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        device = _device(s, "VTO")
        for n in range(12):
            status = "missed" if n % 3 == 0 else "answered"
            _add(s, "calls", device, T0 + dt.timedelta(minutes=n), status=status)
        s.commit()
    operator, viewer = api.headers(Role.operator), api.headers(Role.viewer)
    url = "/api/v1/records/calls/exports"
    assert api.client.post(url, headers=viewer).status_code == 403
    bad = api.client.post(url, params={"node_id": 424242}, headers=operator)
    assert bad.status_code == 422 and "organization node 424242" in bad.text
    started = api.client.post(url, params={"status": "missed"}, headers=operator)
    assert started.status_code == 202
    job = started.json()
    assert job["kind"] == "calls" and job["filename"].endswith(".xlsx")

    def finished() -> dict[str, Any]:
        state = api.client.get(f"/api/v1/records/exports/{job['id']}", headers=operator).json()
        assert state["state"] == "finished", state
        return state

    done = eventually(finished, what="the export to finish", retry_on=(AssertionError,))
    assert (done["done"], done["total"], done["percent"]) == (4, 4, 100)
    assert done["message"] == "4 records exported"
    content = api.client.get(done["download_url"], headers=operator)
    assert content.status_code == 200
    rows = list(
        load_workbook(io.BytesIO(content.content)).worksheets[0].iter_rows(values_only=True)
    )
    assert [r[export.COLUMNS["calls"].index("Status")] for r in rows[1:]] == ["missed"] * 4
    assert api.client.get("/api/v1/records/exports/nope", headers=operator).status_code == 404
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "records.export")).all()
        assert [a.target for a in audit] == ["calls.xlsx"]


def test_search_api_pages_with_cursors_and_a_bounded_count(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        device = _device(s, "Door")
        for n in range(7):
            _add(s, "alarms", device, T0 + dt.timedelta(minutes=n), alarm_type="tamper")
        s.commit()
    h = api.headers(Role.viewer)
    url = "/api/v1/records/alarms"
    first = api.client.get(url, params={"limit": 2}, headers=h).json()
    assert (first["total"], first["total_exact"], first["prev_cursor"]) == (3, False, "")
    last = api.client.get(url, params={"limit": 2, "last": "true"}, headers=h).json()
    assert [a["event_time"][11:16] for a in last["items"]] == ["08:01", "08:00"]
    back = api.client.get(url, params={"limit": 2, "before": last["prev_cursor"]}, headers=h)
    assert [a["event_time"][11:16] for a in back.json()["items"]] == ["08:03", "08:02"]
    clash = api.client.get(url, params={"last": "true", "page": 2}, headers=h)
    assert clash.status_code == 422 and "at most one of" in clash.text
    too_far = api.client.get(url, params={"limit": 2, "page": 3}, headers=h)
    assert too_far.status_code == 422 and "use `last`" in too_far.text


# ---------------------------------------------------------------- console


@pytest.fixture
def console(api: Api) -> tuple[TestClient, dict[str, str]]:
    """An operator's console session and its CSRF header."""
    app = api.client.app
    with app.state.session_factory() as s:  # type: ignore[attr-defined]
        account = s.scalars(select(Account).where(Account.role == Role.operator)).one()
        cookie, row = open_login_session(session=s, account=account, lifetime=dt.timedelta(hours=1))
        s.commit()
        csrf = row.csrf_token
    api.client.cookies.set("openpss_session", cookie)
    return api.client, {"X-CSRF-Token": csrf}


def _links(html: str) -> dict[str, str]:
    """The pager's links by rel (first / prev / next / last)."""
    found = re.findall(r'<a href="([^"]+)" rel="(\w+)"', html)
    return {rel: href.replace("&amp;", "&") for href, rel in found}


def test_console_filters_pages_and_exports(
    console: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, csrf = console
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        org = _organization(s)
        for n in range(30):
            device = org["room_vth"] if n % 2 else org["b2_vto"]
            status = "missed" if n % 3 == 0 else "answered"
            _add(s, "calls", device, T0 + dt.timedelta(minutes=n), caller=f"c{n}", status=status)
        room_id, b2_id = org["room"].id, org["b2"].id
        s.commit()
    html = client.get("/records", params={"kind": "calls", "limit": "10"}).text
    assert "30 record(s)" in html and "page 1 of 3" in html
    assert 'value="10" selected' in html  # the page size chosen
    assert f'value="r{room_id}"' in html and f'value="n{b2_id}"' in html
    links = _links(html)
    assert set(links) == {"first", "next", "last"}  # no previous page on the first
    last = client.get(links["last"]).text
    assert "page 3 of 3" in last and ">c0<" in last and ">c29<" not in last
    jumped = client.get("/records", params={"kind": "calls", "limit": "10", "page": "2"}).text
    assert "page 2 of 3" in jumped and ">c19<" in jumped and ">c20<" not in jumped
    by_room = client.get("/records", params={"kind": "calls", "org": f"r{room_id}"}).text
    assert "15 record(s)" in by_room and ">c1<" in by_room and ">c2<" not in by_room
    missed = client.get("/records", params={"kind": "calls", "status": "missed"}).text
    assert "10 record(s)" in missed and 'class="call-missed"' in missed
    assert 'class="call-answered"' not in missed
    bad = client.get("/records", params={"kind": "calls", "org": "n99999"})
    assert bad.status_code == 422 and "organization node 99999 does not exist" in bad.text
    # past the count cap: "N+" and cursor links
    monkeypatch.setattr(listing, "COUNT_CAP", 12)
    capped = client.get("/records", params={"kind": "calls", "limit": "10"}).text
    assert "12+ records" in capped
    second = client.get(_links(capped)["next"]).text
    assert "page 2" in second and ">c19<" in second
    assert set(_links(second)) == {"first", "prev", "next", "last"}
    back = client.get(_links(second)["prev"]).text
    assert "page 1" in back and ">c29<" in back
    far = client.get("/records", params={"kind": "calls", "limit": "10", "page": "3"})
    assert far.status_code == 422 and "use `last` or `after`" in far.text
    # export the page's search: progress, then the file
    filters = f"status=missed&org=n{b2_id}"
    started = client.post(
        "/records/exports",
        data={"kind": "calls", "format": "csv", "filters": filters},
        headers=csrf | {"HX-Request": "true"},
    )
    assert started.status_code == 200 and "<progress" in started.text
    job_id = re.search(r'id="export-(\w+)"', started.text).group(1)  # type: ignore[union-attr]

    def done() -> str:
        text = client.get(f"/records/exports/{job_id}", headers={"HX-Request": "true"}).text
        assert 'data-state="finished"' in text, text
        return text

    finished = eventually(done, what="the export to finish", retry_on=(AssertionError,))
    assert "5 records exported" in finished
    link = re.search(r'href="(/records/exports/\w+/download)"', finished).group(1)  # type: ignore[union-attr]
    lines = client.get(link).content.decode("utf-8-sig").splitlines()
    wrong = client.post("/records/exports", data={"kind": "calls", "format": "pdf"}, headers=csrf)
    assert wrong.status_code == 422 and "as xlsx or csv" in wrong.text
    assert lines[0].startswith("Record ID,Start (UTC)")
    assert len(lines) == 6 and all(",missed," in line for line in lines[1:])
