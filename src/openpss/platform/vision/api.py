"""REST routes of the vision domain under /api/v1/vision."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.errors import Invalid, NotFound
from openpss.platform.fields import DbId
from openpss.platform.vision import service
from openpss.platform.vision.deps import SessionsDep
from openpss.platform.vision.features import FeatureNode, level_index
from openpss.platform.vision.images import png_bytes, tiff_bytes
from openpss.platform.vision.live import CameraSessions
from openpss.platform.vision.models import Camera
from openpss.platform.vision.schemas import (
    AcquisitionStart,
    CameraCreate,
    CameraPage,
    CameraQuery,
    CameraRead,
    CameraUpdate,
    DiscoveredCamera,
    FeatureWrite,
    FFCApply,
    FFCCapture,
)
from openpss.platform.web.openapi import DEVICE_ERRORS, file_answer

router = APIRouter(prefix="/vision", tags=["vision"], responses=DEVICE_ERRORS)


def _read(camera: Camera, sessions: CameraSessions) -> CameraRead:
    read = CameraRead.model_validate(camera)
    read.connected = sessions.get(camera.id) is not None
    return read


def _tree(nodes: list[FeatureNode]) -> list[dict[str, Any]]:
    return [
        {**dataclasses.asdict(n), "locked": n.locked, "children": _tree(n.children)} for n in nodes
    ]


@router.get("/cameras", response_model=CameraPage)
def list_cameras(
    session: SessionDep, sessions: SessionsDep, _: Viewer, query: Annotated[CameraQuery, Query()]
) -> CameraPage:
    """The camera list with connection state, one page (searched and sorted as asked)."""
    page = service.list_cameras(session=session, query=query)
    return CameraPage(total=page.total, items=[_read(c, sessions) for c in page.items])


@router.post("/cameras", response_model=CameraRead, status_code=status.HTTP_201_CREATED)
def add_camera(
    data: CameraCreate, session: SessionDep, sessions: SessionsDep, principal: Operator
) -> CameraRead:
    """Add a camera by IP address."""
    camera = service.add_camera(session=session, actor=principal.actor, data=data)
    return _read(camera, sessions)


@router.patch("/cameras/{camera_id}", response_model=CameraRead)
def update_camera(
    camera_id: DbId,
    data: CameraUpdate,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
) -> CameraRead:
    """Rename or readdress a camera."""
    camera = service.update_camera(
        session=session, actor=principal.actor, camera_id=camera_id, data=data
    )
    return _read(camera, sessions)


@router.delete("/cameras/{camera_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_camera(
    camera_id: DbId, session: SessionDep, sessions: SessionsDep, principal: Operator
) -> Response:
    """Disconnect and remove a camera."""
    service.delete_camera(
        session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/discover", response_model=list[DiscoveredCamera])
def discover(
    session: SessionDep, sessions: SessionsDep, _: Operator, interface: str = "127.0.0.1"
) -> list[DiscoveredCamera]:
    """Broadcast a discovery on a network interface (name such as eth0, or its IPv4 address)."""
    return service.discover(session=session, finder=sessions.finder, interface=interface)


@router.post("/cameras/{camera_id}/connect", response_model=CameraRead)
def connect(
    camera_id: DbId, session: SessionDep, sessions: SessionsDep, principal: Operator
) -> CameraRead:
    """Connect with control privilege."""
    service.connect(session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id)
    return _read(service.get_camera(session=session, camera_id=camera_id), sessions)


@router.post("/cameras/{camera_id}/disconnect", response_model=CameraRead)
def disconnect(
    camera_id: DbId, session: SessionDep, sessions: SessionsDep, principal: Operator
) -> CameraRead:
    """Stop acquiring and release control."""
    service.disconnect(
        session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id
    )
    return _read(service.get_camera(session=session, camera_id=camera_id), sessions)


@router.get("/cameras/{camera_id}/features")
def features(
    camera_id: DbId, sessions: SessionsDep, _: Viewer, level: str = "Beginner"
) -> list[dict[str, Any]]:
    """The feature tree at a user level; `locked` features cannot be changed in the current mode."""
    try:
        level_index(level)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    return _tree(sessions.require(camera_id).features(level))


@router.put("/cameras/{camera_id}/features/{name}")
def set_feature(
    camera_id: DbId,
    name: str,
    data: FeatureWrite,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
) -> dict[str, str]:
    """Write a feature; the answer holds the value the camera reports afterwards."""
    value = service.set_feature(
        session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id,
        name=name, value=data.value,
    )  # fmt: skip
    return {"name": name, "value": value}


@router.post("/cameras/{camera_id}/commands/{name}", status_code=status.HTTP_204_NO_CONTENT)
def execute(
    camera_id: DbId, name: str, session: SessionDep, sessions: SessionsDep, principal: Operator
) -> Response:
    """Execute a command feature (e.g. TriggerSoftware, UserSetSave)."""
    service.execute_command(
        session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id, name=name
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/cameras/{camera_id}/acquisition", status_code=status.HTTP_202_ACCEPTED)
def play(
    camera_id: DbId,
    data: AcquisitionStart,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
) -> dict[str, Any]:
    """Play: Continuous, SingleFrame or MultiFrame (count 1-255)."""
    service.start_acquisition(
        session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id,
        mode=data.mode, count=data.count,
    )  # fmt: skip
    return {"mode": data.mode, "count": data.count}


@router.delete("/cameras/{camera_id}/acquisition", status_code=status.HTTP_204_NO_CONTENT)
def stop(
    camera_id: DbId, session: SessionDep, sessions: SessionsDep, principal: Operator
) -> Response:
    """Stop acquiring."""
    service.stop_acquisition(
        session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/cameras/{camera_id}/statistics")
def statistics(camera_id: DbId, sessions: SessionsDep, _: Viewer) -> dict[str, Any]:
    """Configured and measured frame rate, bandwidth, images received, loss, resends."""
    return sessions.require(camera_id).statistics()


@router.get("/cameras/{camera_id}/events")
def events(camera_id: DbId, sessions: SessionsDep, _: Viewer) -> list[dict[str, str]]:
    """The event log, newest first."""
    live = sessions.require(camera_id)
    return [{"at": e.at.isoformat(), "kind": e.kind, "text": e.text} for e in list(live.events)]


@router.get(
    "/cameras/{camera_id}/frame.{extension}",
    response_class=Response,
    responses=file_answer("image/png", "image/tiff"),
)
def frame(camera_id: DbId, extension: str, sessions: SessionsDep, _: Viewer) -> Response:
    """The latest frame as PNG (8-bit, colour) or TIFF (samples as received)."""
    snapshot = sessions.require(camera_id).latest
    if snapshot is None:
        raise NotFound("no frame received yet; press Play first")
    if extension == "png":
        return Response(png_bytes(snapshot), media_type="image/png")
    if extension in ("tif", "tiff"):
        return Response(tiff_bytes(snapshot), media_type="image/tiff")
    raise NotFound(f"unknown frame format {extension!r}; use png or tiff")


@router.post("/cameras/{camera_id}/ffc/capture")
def ffc_capture(
    camera_id: DbId,
    data: FFCCapture,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
) -> dict[str, Any]:
    """FFC wizard: capture the dark field (lens covered) or the bright field (even light)."""
    count = service.ffc_capture(
        session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id,
        field=data.field, frames=data.frames,
    )  # fmt: skip
    return {"field": data.field, "frames": count}


@router.post("/cameras/{camera_id}/ffc/apply")
def ffc_apply(
    camera_id: DbId, data: FFCApply, session: SessionDep, sessions: SessionsDep, principal: Operator
) -> dict[str, str]:
    """FFC wizard: compute (max/min brightness ratio at most 2), upload, load and enable."""
    result = service.ffc_apply(
        session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id,
        mode=data.mode,
    )  # fmt: skip
    return {"result": result}
