"""REST routes of the intercom configuration under /api/v1/intercom (platform-video-intercom 2)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from openpss.platform.deps import Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.fields import DbId
from openpss.platform.intercom import (
    api_manage,
    buildings,
    callgroups,
    configure,
    dial_xlsx,
    information,
    passwords,
    registrations,
    rooms,
)
from openpss.platform.intercom.models import EndpointKind
from openpss.platform.intercom.schemas import (
    CallGroupCreate,
    CallGroupMemberCreate,
    CallGroupRead,
    InformationCreate,
    InformationRead,
    LevelsRead,
    LevelsUpdate,
    NodeCreate,
    NodeRead,
    NodeUpdate,
    RegistrationCreate,
    RegistrationPage,
    RegistrationRead,
    RoomCreate,
    RoomPage,
    RoomRead,
    RoomUpdate,
    SendingStatus,
    UnlockPasswordSet,
)
from openpss.platform.uploads import read_upload, upload_errors
from openpss.platform.web.openapi import XLSX, file_answer

router = APIRouter(prefix="/intercom", tags=["intercom"])
router.include_router(api_manage.router)  # intercom management (chapter 3)
MAX_PAGE = 500


def _node_read(node: object) -> NodeRead:
    return NodeRead.model_validate(node, from_attributes=True)


# --- building manager: levels and organization ------------------------------------------


@router.get("/levels", response_model=LevelsRead)
def get_levels(session: SessionDep, principal: Viewer) -> LevelsRead:
    """The level setting (whether buildings and units exist)."""
    return LevelsRead.model_validate(buildings.get_levels(session=session), from_attributes=True)


@router.put("/levels", response_model=LevelsRead)
def put_levels(data: LevelsUpdate, session: SessionDep, principal: Operator) -> LevelsRead:
    """Change the level setting (refused while nodes or rooms depend on the current one)."""
    levels = buildings.set_levels(session=session, actor=principal.actor, data=data)
    return LevelsRead.model_validate(levels, from_attributes=True)


@router.get("/organization", response_model=NodeRead)
def get_organization(session: SessionDep, principal: Viewer) -> NodeRead:
    """The organization tree from the community."""
    return buildings.node_tree(session=session)


@router.post("/organization", response_model=NodeRead, status_code=201)
def post_node(data: NodeCreate, session: SessionDep, principal: Operator) -> NodeRead:
    """Add a building under the community or a unit under a building."""
    node = buildings.add_node(session=session, actor=principal.actor, data=data)
    return _node_read(node)


@router.patch("/organization/{node_id}", response_model=NodeRead)
def patch_node(
    node_id: DbId, data: NodeUpdate, session: SessionDep, principal: Operator
) -> NodeRead:
    """Rename the community, a building or a unit."""
    node = buildings.rename_node(
        session=session, actor=principal.actor, node_id=node_id, name=data.name
    )
    return _node_read(node)


@router.delete("/organization/{node_id}", status_code=204)
def delete_node(node_id: DbId, session: SessionDep, principal: Operator) -> Response:
    """Delete a building or unit (refused while something depends on it)."""
    buildings.delete_node(session=session, actor=principal.actor, node_id=node_id)
    return Response(status_code=204)


# --- rooms -------------------------------------------------------------------------------


@router.get("/rooms", response_model=RoomPage)
def get_rooms(
    session: SessionDep,
    principal: Viewer,
    node_id: Annotated[DbId | None, Query(description="rooms under this node")] = None,
    q: Annotated[str, Query(max_length=64, description="text in number or name")] = "",
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> RoomPage:
    """Rooms with their organization codes (02#01#302)."""
    total, items = rooms.list_rooms(
        session=session, node_id=node_id, q=q, offset=offset, limit=limit
    )
    return RoomPage(total=total, items=items)


@router.post("/rooms", response_model=RoomRead, status_code=201)
def post_room(data: RoomCreate, session: SessionDep, principal: Operator) -> RoomRead:
    """Add a room (number + name) under a unit."""
    room = rooms.add_room(session=session, actor=principal.actor, data=data)
    return rooms.room_read(session, room)


@router.patch("/rooms/{room_id}", response_model=RoomRead)
def patch_room(
    room_id: DbId, data: RoomUpdate, session: SessionDep, principal: Operator
) -> RoomRead:
    """Change a room's number or name."""
    room = rooms.update_room(session=session, actor=principal.actor, room_id=room_id, data=data)
    return rooms.room_read(session, room)


@router.delete("/rooms/{room_id}", status_code=204)
def delete_room(room_id: DbId, session: SessionDep, principal: Operator) -> Response:
    """Delete a room (refused while registrations or passwords depend on it)."""
    rooms.delete_room(session=session, actor=principal.actor, room_id=room_id)
    return Response(status_code=204)


# --- dial management ---------------------------------------------------------------------


def _online(request: Request) -> set[str]:
    """Registration numbers registered with the platform's SIP server right now."""
    events = getattr(request.app.state, "sip_events", None)
    return set(events.online) if events is not None else set()


def _accounts_changed(request: Request) -> None:
    server = getattr(request.app.state, "sip_server", None)
    invalidate = getattr(getattr(server, "accounts", None), "invalidate", None)
    if invalidate is not None:
        invalidate()


@router.get("/registrations", response_model=RegistrationPage)
def get_registrations(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    kind: Annotated[EndpointKind | None, Query(description="vth, vto or vts")] = None,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> RegistrationPage:
    """Registration numbers with device names and SIP online state."""
    total, items = registrations.list_registrations(
        session=session, kind=kind, online=_online(request), offset=offset, limit=limit
    )
    return RegistrationPage(total=total, items=items)


def _xlsx(content: bytes, filename: str) -> Response:
    disposition = f'attachment; filename="{filename}"'
    return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.get("/registrations/export", response_class=Response, responses=file_answer(XLSX))
def export_registrations(session: SessionDep, principal: Operator) -> Response:
    """Every registration number as xlsx (for "Import SmartPSS Lite" on another platform)."""
    return _xlsx(dial_xlsx.export_xlsx(session=session), "registrations.xlsx")


@router.get(
    "/registrations/configtool-template", response_class=Response, responses=file_answer(XLSX)
)
def configtool_template(principal: Viewer) -> Response:
    """The "Create ConfigTool Template" xlsx."""
    return _xlsx(dial_xlsx.configtool_template(), "configtool-template.xlsx")


@router.post("/registrations/import")
async def import_registrations(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
    file: Annotated[UploadFile, File()],
    configtool: Annotated[bool, Query(description="a ConfigTool template, not an export")] = False,
) -> dict[str, int]:
    """Import registrations, all or nothing (the error names every bad row)."""
    with upload_errors():
        content = await read_upload(file)
    with upload_errors():
        count = await run_in_threadpool(  # parsing a large file must not block the loop
            partial(dial_xlsx.import_xlsx, session=session),
            actor=principal.actor,
            secret_key=settings.secret_key,
            content=content,
            configtool=configtool,
        )
    session.commit()
    _accounts_changed(request)
    return {"imported": count}


@router.post("/registrations", response_model=RegistrationRead, status_code=201)
async def post_registration(
    request: Request,
    data: RegistrationCreate,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> RegistrationRead:
    """Give a VTH, VTO or VTS its registration number (an account of the SIP server); a VTO's
    number is read from the device when not given."""
    if data.kind is EndpointKind.vto and not data.device_number and data.device_id:
        number = await configure.read_vto_number(
            session=session, settings=settings, device_id=data.device_id
        )
        data = data.model_copy(update={"device_number": number})
    row = registrations.add_registration(
        session=session, actor=principal.actor, secret_key=settings.secret_key, data=data
    )
    session.commit()
    _accounts_changed(request)
    return registrations.registration_read(session, row, _online(request))


@router.delete("/registrations/{registration_id}", status_code=204)
def delete_registration(
    request: Request, registration_id: DbId, session: SessionDep, principal: Operator
) -> Response:
    """Remove a registration number and its SIP account."""
    registrations.delete_registration(
        session=session, actor=principal.actor, registration_id=registration_id
    )
    session.commit()
    _accounts_changed(request)
    return Response(status_code=204)


@router.post("/registrations/{registration_id}/configure", status_code=204)
async def post_configure(
    registration_id: DbId, session: SessionDep, settings: SettingsDep, principal: Operator
) -> Response:
    """Make the VTO/VTH register with the platform's SIP server under its number."""
    await configure.configure_device(
        session=session,
        settings=settings,
        actor=principal.actor,
        registration_id=registration_id,
    )
    return Response(status_code=204)


# --- unlock passwords per room ----------------------------------------------------------


def _status(session: SessionDep, room_id: DbId) -> list[SendingStatus]:
    items = passwords.sending_status(session=session, room_id=room_id)
    return [SendingStatus.model_validate(item) for item in items]


@router.get("/rooms/{room_id}/unlock-password", response_model=list[SendingStatus])
def get_unlock_password_status(
    room_id: DbId, session: SessionDep, principal: Viewer
) -> list[SendingStatus]:
    """The sending status of the room's unlock password, per device."""
    rooms.get_room(session=session, room_id=room_id)
    return _status(session, room_id)


@router.put("/rooms/{room_id}/unlock-password", response_model=list[SendingStatus])
def put_unlock_password(
    room_id: DbId,
    data: UnlockPasswordSet,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> list[SendingStatus]:
    """Add or change the room's unlock password; it is sent to the room's VTO(s) and VTH(s)."""
    passwords.set_password(
        session=session,
        actor=principal.actor,
        secret_key=settings.secret_key,
        room_id=room_id,
        password=data.password,
        confirm=data.confirm,
    )
    return _status(session, room_id)


@router.post("/rooms/{room_id}/unlock-password/send", response_model=list[SendingStatus])
def send_unlock_password(
    room_id: DbId, session: SessionDep, principal: Operator
) -> list[SendingStatus]:
    """Send the room's unlock password to its devices again."""
    passwords.send_again(session=session, actor=principal.actor, room_id=room_id)
    return _status(session, room_id)


@router.delete("/rooms/{room_id}/unlock-password", status_code=204)
def delete_unlock_password(room_id: DbId, session: SessionDep, principal: Operator) -> Response:
    """Delete the room's unlock password."""
    passwords.delete_password(session=session, actor=principal.actor, room_id=room_id)
    return Response(status_code=204)


# --- call groups -------------------------------------------------------------------------


def _routing_changed(request: Request) -> None:
    server = getattr(request.app.state, "sip_server", None)
    routing = getattr(server, "routing", None)
    if routing is not None:
        routing.invalidate()


@router.get("/call-groups", response_model=list[CallGroupRead])
def get_call_groups(session: SessionDep, principal: Viewer) -> list[CallGroupRead]:
    """Every call group with its members in priority order."""
    return callgroups.list_groups(session=session)


@router.post("/call-groups", response_model=CallGroupRead, status_code=201)
def post_call_group(
    request: Request, data: CallGroupCreate, session: SessionDep, principal: Operator
) -> CallGroupRead:
    """Add a call group to a building."""
    group = callgroups.create_group(
        session=session, actor=principal.actor, name=data.name, building_id=data.building_id
    )
    session.commit()  # before the SIP server re-reads the groups
    _routing_changed(request)
    return callgroups.group_read(session, group)


@router.delete("/call-groups/{group_id}", status_code=204)
def delete_call_group(
    request: Request, group_id: DbId, session: SessionDep, principal: Operator
) -> Response:
    """Delete a call group."""
    callgroups.delete_group(session=session, actor=principal.actor, group_id=group_id)
    session.commit()  # before the SIP server re-reads the groups
    _routing_changed(request)
    return Response(status_code=204)


@router.post("/call-groups/{group_id}/members", response_model=CallGroupRead, status_code=201)
def post_call_group_member(
    request: Request,
    group_id: DbId,
    data: CallGroupMemberCreate,
    session: SessionDep,
    principal: Operator,
) -> CallGroupRead:
    """Add a manager client or VTS at the lowest priority."""
    callgroups.add_member(
        session=session,
        actor=principal.actor,
        group_id=group_id,
        account_id=data.account_id,
        registration_id=data.registration_id,
    )
    group = callgroups.get_group(session=session, group_id=group_id)
    session.commit()  # before the SIP server re-reads the groups
    _routing_changed(request)
    return callgroups.group_read(session, group)


@router.post("/call-groups/members/{member_id}/{direction}", status_code=204)
def move_call_group_member(
    request: Request,
    member_id: DbId,
    direction: Literal["up", "down"],
    session: SessionDep,
    principal: Operator,
) -> Response:
    """Move a member up or down one place in priority."""
    callgroups.move_member(
        session=session, actor=principal.actor, member_id=member_id, direction=direction
    )
    session.commit()  # before the SIP server re-reads the groups
    _routing_changed(request)
    return Response(status_code=204)


@router.delete("/call-groups/members/{member_id}", status_code=204)
def delete_call_group_member(
    request: Request, member_id: DbId, session: SessionDep, principal: Operator
) -> Response:
    """Remove a member from its group."""
    callgroups.remove_member(session=session, actor=principal.actor, member_id=member_id)
    session.commit()  # before the SIP server re-reads the groups
    _routing_changed(request)
    return Response(status_code=204)


# --- information release -----------------------------------------------------------------


@router.get("/information", response_model=list[InformationRead])
def get_information(session: SessionDep, principal: Viewer) -> list[InformationRead]:
    """Every information release with its delivery status per device."""
    return information.list_information(session=session)


@router.post("/information", response_model=InformationRead, status_code=201)
def post_information(
    data: InformationCreate, session: SessionDep, principal: Operator
) -> InformationRead:
    """Add a topic; it is sent to its devices at the start time."""
    row = information.save_information(session=session, actor=principal.actor, data=data)
    return information.information_read(session, row)


@router.put("/information/{information_id}", response_model=InformationRead)
def put_information(
    information_id: DbId, data: InformationCreate, session: SessionDep, principal: Operator
) -> InformationRead:
    """Edit a topic (its deliveries start over)."""
    row = information.save_information(
        session=session, actor=principal.actor, data=data, information_id=information_id
    )
    return information.information_read(session, row)


@router.get("/information/{information_id}", response_model=InformationRead)
def get_information_details(
    information_id: DbId, session: SessionDep, principal: Viewer
) -> InformationRead:
    """Details: the topic and its delivery status per device."""
    row = information.get_information(session=session, information_id=information_id)
    return information.information_read(session, row)


@router.post("/information/{information_id}/send", response_model=InformationRead)
def send_information(
    information_id: DbId, session: SessionDep, principal: Operator
) -> InformationRead:
    """Send the topic to its devices now."""
    information.send_now(session=session, actor=principal.actor, information_id=information_id)
    row = information.get_information(session=session, information_id=information_id)
    return information.information_read(session, row)


@router.delete("/information/{information_id}", status_code=204)
def delete_information(information_id: DbId, session: SessionDep, principal: Operator) -> Response:
    """Delete a topic."""
    information.delete_information(
        session=session, actor=principal.actor, information_id=information_id
    )
    return Response(status_code=204)
