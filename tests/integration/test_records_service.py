"""Access-record intake without duplicates, search, and export with card display (both DBs)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy.orm import Session

import openpss.platform.records.service as service
from openpss.platform.devices.models import Device
from openpss.platform.people.cards import set_card_mode
from openpss.platform.records.schemas import AccessFilter

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
    total, _ = service.search_access(session=session, filters=AccessFilter())
    assert total == 3


def test_search_filters_and_paging(session: Session) -> None:
    device = _device(session)
    punches = [_punch(i, user=str(i % 3), ok=i % 5 != 0) for i in range(1, 31)]
    service.add_access_records(session=session, device_id=device.id, records=punches)
    total, page = service.search_access(session=session, filters=AccessFilter(), limit=10)
    assert (total, len(page)) == (30, 10)
    assert page[0].record_no == 30  # newest first
    assert page[0].device_name == "Terminal"
    total, _ = service.search_access(session=session, filters=AccessFilter(user_id="1"))
    assert total == 10
    total, _ = service.search_access(session=session, filters=AccessFilter(success=False))
    assert total == 6
    window = AccessFilter(start=T0 + dt.timedelta(minutes=5), end=T0 + dt.timedelta(minutes=9))
    assert service.search_access(session=session, filters=window)[0] == 5


def test_card_numbers_follow_the_card_issuing_type(session: Session) -> None:
    device = _device(session)
    service.add_access_records(session=session, device_id=device.id, records=[_punch(1)])
    assert service.search_access(session=session, filters=AccessFilter())[1][0].card_no == (
        "00ABCDEF"
    )
    set_card_mode(session, "decimal")
    shown = service.search_access(session=session, filters=AccessFilter())[1][0]
    assert shown.card_no == str(0xABCDEF)
    # A decimal card number typed in decimal mode finds the record stored in hex.
    found = service.search_access(session=session, filters=AccessFilter(card=str(0xABCDEF)))
    assert found[0] == 1
    rows = list(
        csv.reader(
            io.StringIO(
                service.export_access_csv(session=session, filters=AccessFilter()).decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert rows[0][5] == "Card No."
    assert rows[1][5] == str(0xABCDEF)
    content = service.export_access_xlsx(session=session, filters=AccessFilter())
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[1][0] == 1
    assert values[1][5] == str(0xABCDEF)
    assert values[1][8] == "success"


def test_filter_rejects_reversed_range() -> None:
    import pytest

    with pytest.raises(ValueError, match="start time must not be after"):
        AccessFilter(start=T0, end=T0 - dt.timedelta(seconds=1))
