"""REST routes of intercom management (platform-video-intercom chapter 3) under /api/v1/intercom:
the device list, door unlock and door mode, missed calls and the latest records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from openpss.platform.deps import Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.fields import DbId
from openpss.platform.intercom import management
from openpss.platform.intercom.schemas import (
    DoorModeResultRead,
    DoorModeSet,
    IntercomDevicePage,
    IntercomDeviceQuery,
    LiveRecordRead,
)
from openpss.platform.records.schemas import CallRecordRead

router = APIRouter()
DeviceQuery = Annotated[IntercomDeviceQuery, Query()]


def sip_online(request: Request) -> list[str]:
    """Registration numbers registered with the platform's SIP server right now."""
    events = getattr(request.app.state, "sip_events", None)
    return sorted(events.online) if events is not None else []


@router.get("/devices", response_model=IntercomDevicePage)
def get_devices(
    request: Request, session: SessionDep, principal: Viewer, query: DeviceQuery
) -> IntercomDevicePage:
    """VTOs and VTHs under an organization node, by status and type, with their doors."""
    page = management.list_devices(session=session, query=query, sip_online=sip_online(request))
    return IntercomDevicePage(total=page.total, items=page.items)


@router.post("/devices/{device_id}/doors/{door}/open", status_code=204)
async def open_door(
    device_id: DbId, door: int, session: SessionDep, settings: SettingsDep, principal: Operator
) -> None:
    """Unlock one door of a door station once (remote unlock)."""
    await management.open_door(
        session=session, settings=settings, actor=principal.actor, device_id=device_id, door=door
    )


@router.post("/doors/mode", response_model=list[DoorModeResultRead])
async def set_door_mode(
    request: Request,
    data: DoorModeSet,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
    query: DeviceQuery,
) -> list[DoorModeResultRead]:
    """Always open or restore every door of the door stations the query lists (all pages);
    each device's result says whether it took the mode."""
    results = await management.set_listed_door_mode(
        session=session,
        settings=settings,
        actor=principal.actor,
        query=query,
        mode=data.mode,
        sip_online=sip_online(request),
    )
    return [DoorModeResultRead.model_validate(r, from_attributes=True) for r in results]


@router.get("/calls/missed", response_model=list[CallRecordRead])
def get_missed_calls(session: SessionDep, principal: Viewer) -> list[CallRecordRead]:
    """The latest 100 missed or rejected calls to the management centre (to call back)."""
    rows = management.missed_calls(session=session)
    return [CallRecordRead.model_validate(r) for r in rows]


@router.get("/records/latest", response_model=list[LiveRecordRead])
def get_latest_records(session: SessionDep, principal: Viewer) -> list[LiveRecordRead]:
    """The latest 100 call records and door-station access and alarm records, newest first."""
    return management.latest_records(session=session)


@router.get("/dial/check")
def check_dial(session: SessionDep, principal: Operator, number: str) -> dict[str, str]:
    """The number the dial page would call, or 422 saying which full number to dial."""
    return {"number": management.check_dial_number(session=session, number=number)}
