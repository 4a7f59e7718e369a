"""Access-record intake without duplicates, search, and export with card display (both DBs)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import event
from sqlalchemy.orm import Session

import openpss.platform.records.service as service
from openpss.platform.devices.models import Device
from openpss.platform.errors import Invalid
from openpss.platform.people.cards import set_card_mode
from openpss.platform.records import export
from openpss.platform.records.models import AlarmRecord, CallRecord
from openpss.platform.records.schemas import AccessQuery, RecordQuery

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _device(session: Session) -> Device:
    device = Device(name="Terminal", host="127.0.0.1", username="admin", password_encrypted="")
    session.add(device)
    session.flush()
    return device


def _punch(no: int, user: str = "1", card: str = "00ABCDEF", ok: bool = True) -> dict[str, object]:
    return {
        "record_no": no,
        "event_time": T0 + dt.timedelta(minutes=no),
        "user_id": user,
        "card_no": card,
        "method": "card",
        "attendance_state": "check_in",
        "success": ok,
    }


def test_intake_skips_records_already_stored(session: Session) -> None:
    device = _device(session)
    assert (
        service.add_access_records(
            session=session, device_id=device.id, records=[_punch(1), _punch(2)]
        )
        == 2
    )
    # The live stream and the next pull deliver overlapping punches: only new ones are stored.
    assert (
        service.add_access_records(
            session=session, device_id=device.id, records=[_punch(2), _punch(3), _punch(3)]
        )
        == 1
    )
    assert service.max_record_no(session=session, device_id=device.id) == 3
    assert service.search_access(session=session, filters=AccessQuery()).total == 3


def test_search_filters_and_paging(session: Session) -> None:
    device = _device(session)
    punches = [_punch(i, user=str(i % 3), ok=i % 5 != 0) for i in range(1, 31)]
    service.add_access_records(session=session, device_id=device.id, records=punches)
    page = service.search_access(session=session, filters=AccessQuery(limit=10))
    assert (page.total, len(page.items)) == (30, 10)
    assert page.items[0].record_no == 30  # newest first
    assert page.items[0].device_name == "Terminal"
    assert service.search_access(session=session, filters=AccessQuery(user_id="1")).total == 10
    assert service.search_access(session=session, filters=AccessQuery(success=False)).total == 6
    window = AccessQuery(start=T0 + dt.timedelta(minutes=5), end=T0 + dt.timedelta(minutes=9))
    assert service.search_access(session=session, filters=window).total == 5


def test_card_numbers_follow_the_card_issuing_type(session: Session, tmp_path: Path) -> None:
    device = _device(session)
    service.add_access_records(session=session, device_id=device.id, records=[_punch(1)])
    assert service.search_access(session=session, filters=AccessQuery()).items[0].card_no == (
        "00ABCDEF"
    )
    set_card_mode(session, "decimal")
    shown = service.search_access(session=session, filters=AccessQuery()).items[0]
    assert shown.card_no == str(0xABCDEF)
    # A decimal card number typed in decimal mode finds the record stored in hex.
    found = service.search_access(session=session, filters=AccessQuery(card=str(0xABCDEF)))
    assert found.total == 1
    export.write_export(session, "access", AccessQuery(), "csv", tmp_path / "a.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "a.csv").read_text("utf-8-sig"))))
    assert rows[0][5] == "Card No."
    assert rows[1][5] == str(0xABCDEF)
    export.write_export(session, "access", AccessQuery(), "xlsx", tmp_path / "a.xlsx")
    sheet = load_workbook(tmp_path / "a.xlsx").worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[1][0] == 1
    assert values[1][1] == dt.datetime(2026, 3, 2, 8, 1)  # a date cell, in UTC
    assert values[1][5] == str(0xABCDEF)
    assert values[1][8] == "success"


def test_filter_rejects_reversed_range() -> None:
    with pytest.raises(ValueError, match="start time must not be after"):
        AccessQuery(start=T0, end=T0 - dt.timedelta(seconds=1))


def test_keyset_pages_cover_every_record_once_even_with_equal_times(session: Session) -> None:
    device = _device(session)
    punches = [_punch(i) for i in range(1, 26)]
    for p in punches[10:15]:  # five punches in the same minute: the id breaks the tie
        p["event_time"] = T0
    service.add_access_records(session=session, device_id=device.id, records=punches)
    seen: list[int | None] = []
    query = AccessQuery(limit=7)
    while True:
        page = service.search_access(session=session, filters=query)
        seen += [r.record_no for r in page.items]
        if not page.next_cursor:
            break
        query = AccessQuery(limit=7, after=page.next_cursor)
    assert sorted(n for n in seen if n is not None) == list(range(1, 26))
    assert len(seen) == 25
    offset_order = [
        r.record_no
        for r in service.search_access(session=session, filters=AccessQuery(limit=25)).items
    ]
    assert seen == offset_order  # the keyset walk and the offset page agree on the order


def test_foreign_cursor_is_refused_with_what_to_do(session: Session) -> None:
    with pytest.raises(Invalid, match="next_cursor of the previous page"):
        service.search_access(session=session, filters=AccessQuery(after="not-a-cursor"))


def _calls_and_alarms(session: Session) -> tuple[Device, Device]:
    hall, gate = _device(session), Device(name="Gate", host="127.0.0.2", username="a")
    gate.password_encrypted = ""
    session.add(gate)
    session.flush()
    for minute, device in ((0, hall), (10, gate), (20, hall), (30, gate)):
        at = T0 + dt.timedelta(minutes=minute)
        session.add(
            CallRecord(device_id=device.id, start_time=at, caller=f"C{minute}", callee="9901")
        )
        session.add(AlarmRecord(device_id=device.id, event_time=at, alarm_type=f"A{minute}"))
    session.flush()
    return hall, gate


@pytest.mark.parametrize(("kind", "label"), [("calls", "caller"), ("alarms", "alarm_type")])
def test_call_and_alarm_filters(session: Session, kind: str, label: str) -> None:
    """Time range (inclusive) and device filter each record kind by its own time column."""
    hall, gate = _calls_and_alarms(session)

    def labels(**filters: object) -> list[str]:
        query = RecordQuery.model_validate(filters)
        page = service.search_records(session=session, kind=kind, query=query)  # type: ignore[arg-type]
        return [getattr(r, label) for r in page.items]

    prefix = label[0].upper()
    assert labels() == [f"{prefix}30", f"{prefix}20", f"{prefix}10", f"{prefix}0"]
    assert labels(device_id=hall.id) == [f"{prefix}20", f"{prefix}0"]
    assert labels(device_id=gate.id) == [f"{prefix}30", f"{prefix}10"]
    window = {"start": T0 + dt.timedelta(minutes=10), "end": T0 + dt.timedelta(minutes=20)}
    assert labels(**window) == [f"{prefix}20", f"{prefix}10"]
    assert labels(**window, device_id=gate.id) == [f"{prefix}10"]
    assert labels(start=T0 + dt.timedelta(minutes=31)) == []


def test_a_page_of_access_records_reads_the_card_issuing_type_once(session: Session) -> None:
    # benchmarks/records.py: one settings query per row made an access page 3x slower than the
    # call and alarm pages on PostgreSQL; a page takes a fixed handful of statements.
    device = _device(session)
    punches = [_punch(i, card=f"{i:08X}") for i in range(1, 121)]
    service.add_access_records(session=session, device_id=device.id, records=punches)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = service.search_access(session=session, filters=AccessQuery(limit=50))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len({r.card_no for r in page.items}) == 50
    # the page, the (bounded) total, device names, person names, the card issuing type
    assert len(statements) <= 5, statements
