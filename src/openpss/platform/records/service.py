"""Records: intake without duplicates, search with paging and filters (export: export.py)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from openpss.platform.db import contains_text
from openpss.platform.devices.models import Device
from openpss.platform.errors import Invalid, NotFound
from openpss.platform.intercom import registrations
from openpss.platform.listing import Keyset, Page, Split, seek_page
from openpss.platform.people.cards import display_card, get_card_mode
from openpss.platform.people.models import Person
from openpss.platform.records.models import AccessRecord, AlarmRecord, CallRecord
from openpss.platform.records.schemas import (
    AccessQuery,
    AccessRecordRead,
    AlarmQuery,
    CallQuery,
    RecordKind,
    RecordQuery,
)

logger = logging.getLogger(__name__)
# An organization node with at most this many devices is searched device by device (Split).
SPLIT_DEVICES = 32


DURESS_ALARM = "duress"  # alarm_type of an alarm raised by a duress card


# ---------------------------------------------------------------- intake


def add_access_records(
    *, session: Session, device_id: int | None, records: Sequence[dict[str, Any]]
) -> int:
    """Store records, skipping (device, record number) pairs already stored; returns how many new.

    Each record is a dict of AccessRecord columns (record_no, event_time, user_id, ...).
    Safe against the record pull and the live event stream delivering the same punch.
    """
    return len(insert_access_records(session=session, device_id=device_id, records=records))


def insert_access_records(
    *, session: Session, device_id: int | None, records: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """add_access_records, returning the rows actually inserted (new punches only)."""
    if not records:
        return []
    rows = [{"device_id": device_id, "source": "device", **r} for r in records]
    duress = {id(row) for row in rows if row.pop("duress", False)}
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        row.setdefault("received_at", now)
        for key, default in (("user_id", ""), ("card_no", ""), ("method", "")):
            row.setdefault(key, default)
        row.setdefault("attendance_state", "")
        row.setdefault("success", True)
        row.setdefault("reason", "")
    dialect = session.get_bind().dialect.name
    insert_fn: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    table = AccessRecord.__table__
    statement = (
        insert_fn(table)
        .on_conflict_do_nothing(index_elements=["device_id", "record_no"])
        .returning(table.c.record_no)
    )
    inserted: set[Any] = set()
    session.flush()
    for start in range(0, len(rows), 2000):
        result = session.connection().execute(statement, rows[start : start + 2000])
        inserted.update(result.scalars().all())
    new: list[dict[str, Any]] = []
    for row in rows:
        number = row["record_no"]
        if number is None:  # a punch without a record number is always new
            new.append(row)
        elif number in inserted:
            inserted.discard(number)  # the same number twice in one call is stored once
            new.append(row)
    raise_duress_alarms(session=session, records=[r for r in new if id(r) in duress])
    return new


def raise_duress_alarms(*, session: Session, records: Sequence[dict[str, Any]]) -> int:
    """One "duress" alarm record per new access record made with a duress card."""
    if not records:
        return 0
    rows = [
        {
            "device_id": r["device_id"],
            "record_no": r["record_no"],
            "event_time": r["event_time"],
            "alarm_type": DURESS_ALARM,
            "channel": 0,
            "detail": f"duress card {r['card_no']} used by user {r['user_id'] or '?'}"[:255],
            "acknowledged": False,
            "received_at": r.get("received_at") or dt.datetime.now(dt.UTC),
        }
        for r in records
    ]
    dialect = session.get_bind().dialect.name
    insert_fn: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_fn(AlarmRecord.__table__).on_conflict_do_nothing(
        index_elements=["device_id", "record_no"]
    )
    session.connection().execute(statement, rows)
    logger.warning("duress alarm: %d record(s) made with a duress card", len(rows))
    return len(rows)


def insert_alarm_records(
    *, session: Session, device_id: int, alarms: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Store a device's alarm-log alarms, skipping (device, alarm number) pairs already stored;
    returns the rows actually inserted.

    Each alarm is a dict of AlarmRecord columns with its ``alarm_no`` (adapter.parse_alarm).
    Safe against the alarm pull and the live event stream delivering the same alarm.
    """
    if not alarms:
        return []
    if any(a.get("alarm_no") is None for a in alarms):
        raise Invalid("an alarm of a device's alarm log needs its alarm number")
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "record_no": None,
            "channel": 0,
            "detail": "",
            "acknowledged": False,
            "received_at": now,
            **alarm,
            "device_id": device_id,
        }
        for alarm in alarms
    ]
    dialect = session.get_bind().dialect.name
    insert_fn: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    table = AlarmRecord.__table__
    statement = (
        insert_fn(table)
        .on_conflict_do_nothing(index_elements=["device_id", "alarm_no"])
        .returning(table.c.alarm_no)
    )
    session.flush()
    inserted: set[Any] = set()
    for start in range(0, len(rows), 2000):
        result = session.connection().execute(statement, rows[start : start + 2000])
        inserted.update(result.scalars().all())
    new = []
    for row in rows:
        if row["alarm_no"] in inserted:
            inserted.discard(row["alarm_no"])  # the same number twice in one call is stored once
            new.append(row)
    if new:
        kinds = sorted({str(row["alarm_type"]) for row in new})
        logger.warning("%d new alarm(s) from device %s: %s", len(new), device_id, kinds)
    return new


def max_record_no(*, session: Session, device_id: int) -> int:
    """The highest record number stored for a device (0 when none)."""
    query = select(func.max(AccessRecord.record_no)).where(AccessRecord.device_id == device_id)
    return int(session.scalar(query) or 0)


# ---------------------------------------------------------------- search


def _card_variants(session: Session, text: str) -> list[str]:
    """The stored (canonical) forms a typed card number may have."""
    variants = [text.strip()]
    try:
        from openpss.platform.people.cards import get_card_mode, parse_card

        variants.append(parse_card(text, get_card_mode(session)))
    except Exception:  # not a valid card number in the current mode: search it as typed
        logger.debug("card search text %r kept as typed", text)
    return list(dict.fromkeys(variants))


# Each record kind: its table and the time it is searched and ordered by.
KINDS: dict[str, tuple[Any, Keyset]] = {
    "access": (AccessRecord, Keyset(AccessRecord.event_time, AccessRecord.id)),
    "calls": (CallRecord, Keyset(CallRecord.start_time, CallRecord.id)),
    "alarms": (AlarmRecord, Keyset(AlarmRecord.event_time, AlarmRecord.id)),
}
QUERIES: dict[str, type[RecordQuery]] = {
    "access": AccessQuery,
    "calls": CallQuery,
    "alarms": AlarmQuery,
}


def query_of(kind: RecordKind, query: RecordQuery) -> RecordQuery:
    """`query` as the query model of `kind` (a shared RecordQuery gets that kind's defaults)."""
    model = QUERIES[kind]
    return query if isinstance(query, model) else model.model_validate(query.model_dump())


def _devices_of_organization(session: Session, filters: RecordQuery) -> set[int]:
    """The devices of the node and / or room filters (both given: those of both)."""
    found: set[int] | None = None
    for field in ("node_id", "room_id"):
        value = getattr(filters, field)
        if value is None:
            continue
        try:
            devices = registrations.devices_under(session=session, **{field: value})
        except NotFound as exc:  # a filter naming nothing is bad input, not a missing resource
            raise Invalid(str(exc), field=field) from None
        found = devices if found is None else found & devices
    return found or set()


def _record_query(kind: RecordKind, filters: RecordQuery) -> Select[Any]:
    """The shared filters (time range, device) on one record kind's table."""
    model, keyset = KINDS[kind]
    query = select(model)
    if filters.start is not None:
        query = query.where(keyset.time >= filters.start)
    if filters.end is not None:
        query = query.where(keyset.time <= filters.end)
    if filters.device_id is not None:
        query = query.where(model.device_id == filters.device_id)
    return query


def _access_query(session: Session, filters: AccessQuery) -> Select[Any]:
    query = _record_query("access", filters)
    if filters.user_id:
        query = query.where(AccessRecord.user_id == filters.user_id)
    if filters.card:
        query = query.where(AccessRecord.card_no.in_(_card_variants(session, filters.card)))
    if filters.method:
        query = query.where(AccessRecord.method == filters.method)
    if filters.success is not None:
        query = query.where(AccessRecord.success == filters.success)
    if filters.reason:
        query = query.where(contains_text(AccessRecord.reason, filters.reason))
    return query


def _filters(
    session: Session, kind: RecordKind, query: RecordQuery
) -> tuple[Select[Any], set[int] | None]:
    """The query of every filter but the organization's, and the organization's devices."""
    query = query_of(kind, query)
    devices = None
    if query.node_id is not None or query.room_id is not None:
        devices = _devices_of_organization(session, query)
    if isinstance(query, AccessQuery):
        return _access_query(session, query), devices
    statement = _record_query(kind, query)
    if isinstance(query, CallQuery) and query.status:
        statement = statement.where(CallRecord.status == query.status)
    if isinstance(query, AlarmQuery) and query.alarm_type:
        statement = statement.where(AlarmRecord.alarm_type == query.alarm_type)
    return statement, devices


def filtered_query(session: Session, kind: RecordKind, query: RecordQuery) -> Select[Any]:
    """Every filter of `query` on the table of `kind` (no order, no paging)."""
    statement, devices = _filters(session, kind, query)
    if devices is None:
        return statement
    return statement.where(KINDS[kind][0].device_id.in_(sorted(devices)))


def search_records(*, session: Session, kind: RecordKind, query: RecordQuery) -> Page[Any]:
    """A page of records of one kind, newest first: forward, backward, last page or a jump.

    The total counts at most listing.COUNT_CAP matches (`Page.total_exact`). The devices of an
    organization node are read one by one off the (device, time) index while they are few.
    """
    statement, devices = _filters(session, kind, query)
    model, keyset = KINDS[kind]
    split = None
    if devices is not None and 0 < len(devices) <= SPLIT_DEVICES and query.device_id is None:
        split = Split(model.device_id, sorted(devices))
    elif devices is not None:
        statement = statement.where(model.device_id.in_(sorted(devices)))
    page = seek_page(session, statement, query, keyset, split=split)
    if kind == "access":
        page.items = _enrich(session, page.items)
    return page


def card_display(session: Session) -> Any:
    """A function showing a stored card number in the card issuing type (cached per value).

    The card issuing type is read once: not once per row (50 queries on a page of records).
    """
    cache: dict[str, str] = {}
    mode = get_card_mode(session)

    def show(value: str) -> str:
        if value not in cache:
            cache[value] = display_card(session, value, mode)
        return cache[value]

    return show


def enrich_access(session: Session, rows: Sequence[AccessRecord]) -> list[AccessRecordRead]:
    """Access records with their device name, person name and card in the card issuing type."""
    return _enrich(session, rows)


def _enrich(session: Session, rows: Sequence[AccessRecord]) -> list[AccessRecordRead]:
    device_ids = {r.device_id for r in rows if r.device_id is not None}
    user_ids = {r.user_id for r in rows if r.user_id}
    devices = device_names(session, device_ids)
    names = dict(
        session.execute(
            select(Person.user_id, Person.name).where(Person.user_id.in_(user_ids))
        ).all()
    )
    show = card_display(session)
    return [
        AccessRecordRead.model_validate(r).model_copy(
            update={
                "device_name": devices.get(r.device_id, "") if r.device_id else "",
                "person_name": names.get(r.user_id, ""),
                "card_no": show(r.card_no),
            }
        )
        for r in rows
    ]


def device_names(session: Session, device_ids: set[int]) -> dict[int, str]:
    """Names of these devices (one query)."""
    if not device_ids:
        return {}
    query = select(Device.id, Device.name).where(Device.id.in_(device_ids))
    return {int(row.id): str(row.name) for row in session.execute(query)}


def search_access(*, session: Session, filters: AccessQuery) -> Page[AccessRecordRead]:
    """A page of access records, newest first, with the (bounded) total matching count."""
    return search_records(session=session, kind="access", query=filters)
