"""The intercom management page (platform-video-intercom chapter 3), its rules.

The device list (VTOs and VTHs) follows the organization tree (a device belongs to the node of
its registration number, 2.2), device status and device type. Doors open through the devices
domain (``devices.doors``: remote unlock, always open / restore, audited there). The dial page
takes full numbers only: a room number, or a room's number without the extension of its VTHs,
is refused with the number to dial. The record list shows the latest call records and the
door stations' latest access and alarm records.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from openpss.platform.db import contains_text
from openpss.platform.devices import doors
from openpss.platform.devices.models import Device
from openpss.platform.intercom.buildings import node_tree
from openpss.platform.intercom.callgroups import CENTRE_NUMBER
from openpss.platform.intercom.errors import IntercomError, NotFound
from openpss.platform.intercom.models import EndpointKind, Registration
from openpss.platform.intercom.schemas import (
    IntercomDeviceQuery,
    IntercomDeviceRead,
    LiveRecordRead,
    NodeRead,
)
from openpss.platform.listing import Page, paginate
from openpss.platform.records.models import AccessRecord, AlarmRecord, CallRecord
from openpss.platform.security.audit import Actor
from openpss.platform.settings import Settings

logger = logging.getLogger(__name__)

INTERCOM_KINDS = ("vto", "vth")
LATEST_RECORDS = 100  # "the record list only displays the latest 100 ... records" (chapter 3)
MISSED_CALLS = 100
MAX_DIAL_LENGTH = 32
DIAL_CHARACTERS = frozenset("0123456789#*")
MISSED_STATES = ("missed", "rejected")  # "a missed or rejected call record" can be called back
MAX_UNION = 400  # devices per compound SELECT (SQLite allows 500 terms)


# ---------------------------------------------------------------- devices and the tree


def subtree_ids(tree: NodeRead, node_id: int) -> list[int]:
    """The node and every node under it (NotFound when the tree lacks it)."""

    def find(node: NodeRead) -> NodeRead | None:
        if node.id == node_id:
            return node
        return next((hit for child in node.children if (hit := find(child))), None)

    def collect(node: NodeRead) -> list[int]:
        return [node.id, *(i for child in node.children for i in collect(child))]

    found = find(tree)
    if found is None:
        raise NotFound(f"organization node {node_id} does not exist")
    return collect(found)


def _online(sip_online: Sequence[str]) -> ColumnElement[bool]:
    """Reachable over the CGI API (device sync) or registered with the SIP server."""
    # an unregistered device has no number (NULL): "NOT online" must still hold for it
    known = Registration.number.is_not(None)
    registered = and_(known, Registration.number.in_(list(sip_online))) if sip_online else false()
    return or_(Device.online.is_(True), registered)


def _device_query(
    session: Session, query: IntercomDeviceQuery, sip_online: Sequence[str]
) -> Select[Any]:
    online = _online(sip_online)
    selected: list[Any] = [Device, Registration.number, Registration.node_id]
    statement = (
        select(*selected, online.label("is_online"))
        .outerjoin(Registration, Registration.device_id == Device.id)
        .where(Device.kind.in_(INTERCOM_KINDS))
    )
    tree = node_tree(session=session)
    if query.node_id is not None and query.node_id != tree.id:
        statement = statement.where(Registration.node_id.in_(subtree_ids(tree, query.node_id)))
    if query.status is not None:
        statement = statement.where(online if query.status == "online" else ~online)
    if query.kind is not None:
        statement = statement.where(Device.kind == query.kind)
    if query.search:
        columns = (Device.name, Device.host, Registration.number)
        statement = statement.where(or_(*(contains_text(c, query.search) for c in columns)))
    return statement


def list_devices(
    *, session: Session, query: IntercomDeviceQuery, sip_online: Sequence[str] = ()
) -> Page[IntercomDeviceRead]:
    """A page of VTOs and VTHs under the selected node, by status, type and search text.

    ``sip_online`` holds the registration numbers registered with the SIP server right now.
    """
    statement = _device_query(session, query, sip_online)
    page = paginate(session, statement, query, order=(Device.name, Device.id), scalars=False)
    page.items = [_device_read(*row) for row in page.items]
    return page


def _device_read(
    device: Device, number: str | None, node_id: int | None, online: Any
) -> IntercomDeviceRead:
    return IntercomDeviceRead(
        id=device.id,
        name=device.name,
        kind=device.kind,
        host=device.host,
        number=number or "",
        node_id=node_id,
        online=bool(online),
        door_count=device.door_count if device.kind in doors.DOOR_KINDS else 0,
    )


def _listed_door_devices(
    session: Session, query: IntercomDeviceQuery, sip_online: Sequence[str]
) -> list[int]:
    statement = _device_query(session, query, sip_online).where(Device.kind.in_(doors.DOOR_KINDS))
    statement = statement.with_only_columns(Device.id).order_by(Device.name, Device.id)
    return list(session.scalars(statement.limit(doors.MAX_MODE_DEVICES + 1)))


async def open_door(
    *, session: Session, settings: Settings, actor: Actor, device_id: int, door: int
) -> Device:
    """Unlock a door of a VTO in the list (a click on the door; audited by the devices domain)."""
    device = session.get(Device, device_id)
    if device is None or device.kind not in INTERCOM_KINDS:
        raise NotFound(f"intercom device {device_id} does not exist")
    return await doors.open_door(
        session=session, settings=settings, actor=actor, device_id=device_id, door=door
    )


async def set_listed_door_mode(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    query: IntercomDeviceQuery,
    mode: str,
    sip_online: Sequence[str] = (),
) -> list[doors.ModeResult]:
    """Always open or restore every door of the door stations the list shows (all its pages)."""
    device_ids = _listed_door_devices(session, query, sip_online)
    if not device_ids:
        raise IntercomError("the list shows no door station: nothing to open or restore")
    return await doors.set_door_mode(
        session=session, settings=settings, actor=actor, device_ids=device_ids, mode=mode
    )


# ---------------------------------------------------------------- dial page and missed calls


def check_dial_number(*, session: Session, number: str) -> str:
    """The number to call, or IntercomError saying which full number to dial instead.

    The dial page "only supports full number calls": a VTH is called with its room and
    extension (``11#01#11#5``), a VTO with its building, unit and VTO number (``11#01#8055``).
    Numbers the platform does not know (other SIP accounts) go to the SIP server as they are.
    """
    number = number.strip()
    if not number:
        raise IntercomError("enter the full number to call")
    if len(number) > MAX_DIAL_LENGTH or not set(number) <= DIAL_CHARACTERS:
        raise IntercomError(f"dial a number of 1-{MAX_DIAL_LENGTH} digits, # and *")
    if session.scalar(select(Registration.id).where(Registration.number == number)) is not None:
        return number
    # the number holds digits, # and * only: no LIKE wildcard to escape
    with_extension = and_(
        Registration.kind == EndpointKind.vth,
        Registration.number.like(f"{number}#%"),
        ~Registration.number.like(f"{number}#%#%"),
    )
    extensions = _numbers(session, with_extension)
    if extensions:
        raise IntercomError(
            f"{number} is a room with {len(extensions)} VTH(s): dial the number with the "
            f"extension, e.g. {', '.join(extensions[:3])}"
        )
    short = or_(
        Registration.number.like(f"%#{number}"),
        Registration.number.like(f"%#{number}#%"),
    )
    full = _numbers(session, short)
    if full:
        raise IntercomError(
            f"{number} is not a full number; room numbers cannot be called from the dial page: "
            f"dial {' or '.join(full[:3])}"
        )
    return number


def _numbers(session: Session, condition: ColumnElement[bool]) -> list[str]:
    statement = select(Registration.number).where(condition).order_by(Registration.number)
    return list(session.scalars(statement.limit(3)))


def missed_calls(*, session: Session, limit: int = MISSED_CALLS) -> list[CallRecord]:
    """Missed or rejected calls to the management centre, newest first (to call back)."""
    statement = (
        select(CallRecord)
        .where(
            CallRecord.callee == CENTRE_NUMBER,
            CallRecord.caller != CENTRE_NUMBER,
            CallRecord.status.in_(MISSED_STATES),
        )
        .order_by(CallRecord.start_time.desc(), CallRecord.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


# ---------------------------------------------------------------- live record list


def records_marker(*, session: Session) -> str:
    """Changes whenever a call, access or alarm record is added (three primary-key maxima)."""
    maxima = [
        session.scalar(select(func.max(model.id))) or 0
        for model in (CallRecord, AccessRecord, AlarmRecord)
    ]
    return "-".join(str(m) for m in maxima)


def latest_records(*, session: Session, limit: int = LATEST_RECORDS) -> list[LiveRecordRead]:
    """The latest call records and the door stations' latest access and alarm records, newest
    first (VTHs are not synced: their records come as the calls of the SIP server)."""
    calls = session.scalars(
        select(CallRecord).order_by(CallRecord.start_time.desc(), CallRecord.id.desc()).limit(limit)
    ).all()
    stations = list(session.scalars(select(Device.id).where(Device.kind == "vto")))
    access = _latest_of(session, AccessRecord, AccessRecord.event_time, stations, limit)
    alarms = _latest_of(session, AlarmRecord, AlarmRecord.event_time, stations, limit)
    ids = {r.device_id for r in calls} | {r.device_id for r in access}
    ids |= {r.device_id for r in alarms}
    names = dict(
        session.execute(select(Device.id, Device.name).where(Device.id.in_(ids - {None}))).all()
    )
    rows = [
        *(_call_line(r, names) for r in calls),
        *(_access_line(r, names) for r in access),
        *(_alarm_line(r, names) for r in alarms),
    ]
    rows.sort(key=lambda r: (r.time, r.id), reverse=True)
    return rows[:limit]


def _latest_of(
    session: Session, model: Any, time: Any, device_ids: Sequence[int], limit: int
) -> list[Any]:
    """The newest ``limit`` rows of these devices: each device's newest off its (device, time,
    id) index, merged in one statement per MAX_UNION devices (a filter on the time index alone
    reads every other device's rows when the door stations' are rare)."""
    rows: list[Any] = []
    for start in range(0, len(device_ids), MAX_UNION):
        branches = [
            select(model)
            .where(model.device_id == device_id)
            .order_by(time.desc(), model.id.desc())
            .limit(limit)
            .subquery()
            for device_id in device_ids[start : start + MAX_UNION]
        ]
        union = union_all(*(select(branch) for branch in branches)).subquery()
        entity = aliased(model, union)
        order = (union.c[time.key].desc(), union.c.id.desc())
        rows += session.scalars(select(entity).order_by(*order).limit(limit)).all()
    rows.sort(key=lambda r: (getattr(r, time.key), r.id), reverse=True)
    return rows[:limit]


def _name(names: dict[int, str], device_id: int | None) -> str:
    return names.get(device_id, "") if device_id is not None else ""


def _call_line(row: CallRecord, names: dict[int, str]) -> LiveRecordRead:
    summary = f"{row.caller} called {row.callee}"
    if row.duration_seconds:
        summary += f" ({row.duration_seconds} s)"
    device = _name(names, row.device_id) or row.caller
    return LiveRecordRead(
        kind="calls", id=row.id, time=row.start_time, device=device, summary=summary,
        status=row.status,
    )  # fmt: skip


def _access_line(row: AccessRecord, names: dict[int, str]) -> LiveRecordRead:
    who = row.user_id or row.card_no
    summary = f"{row.method} unlock" if row.method else "unlock"
    summary += f" by {who}" if who else ""
    if not row.success and row.reason:
        summary += f": {row.reason}"
    return LiveRecordRead(
        kind="access", id=row.id, time=row.event_time, device=_name(names, row.device_id),
        summary=summary, status="granted" if row.success else "refused",
    )  # fmt: skip


def _alarm_line(row: AlarmRecord, names: dict[int, str]) -> LiveRecordRead:
    summary = row.alarm_type + (f": {row.detail}" if row.detail else "")
    return LiveRecordRead(
        kind="alarms", id=row.id, time=row.event_time, device=_name(names, row.device_id),
        summary=summary, status="acknowledged" if row.acknowledged else "alarm",
    )  # fmt: skip
