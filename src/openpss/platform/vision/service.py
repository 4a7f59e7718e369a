"""Rules of the vision domain: the camera list, discovery, identity. No FastAPI here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openpss.platform.db import contains_text
from openpss.platform.errors import Conflict, DomainError, NotFound, Unavailable
from openpss.platform.listing import Page, paginate
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.vision import ffc_wizard
from openpss.platform.vision.live import CameraSessions, LiveCamera
from openpss.platform.vision.models import Camera
from openpss.platform.vision.schemas import (
    CameraCreate,
    CameraQuery,
    CameraUpdate,
    DiscoveredCamera,
)

logger = logging.getLogger(__name__)

Discover = Callable[..., Sequence[Any]]
IDENTITY = {
    "manufacturer": "DeviceVendorName",
    "model_name": "DeviceModelName",
    "serial": "DeviceSerialNumber",
    "user_name": "DeviceUserID",
}


_CAMERA_SORT = {
    "name": (Camera.name,),
    "address": (Camera.address, Camera.port),
    "model": (Camera.manufacturer, Camera.model_name, Camera.name),
}


def list_cameras(*, session: Session, query: CameraQuery) -> Page[Camera]:
    """A page of cameras filtered by name/address/serial, sorted as asked, with the total."""
    statement = select(Camera)
    if query.search:
        columns = (Camera.name, Camera.address, Camera.serial)
        statement = statement.where(or_(*(contains_text(c, query.search) for c in columns)))
    return paginate(session, statement, query, order=(*_CAMERA_SORT[query.sort], Camera.id))


def get_camera(*, session: Session, camera_id: int) -> Camera:
    """One camera; NotFound if it does not exist."""
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise NotFound(f"camera {camera_id} does not exist")
    return camera


def add_camera(*, session: Session, actor: Actor, data: CameraCreate) -> Camera:
    """Add a camera (audited); refuses a duplicate name or address:port."""
    _check_unique(session, data.name, data.address, data.port, None)
    camera = Camera(**data.model_dump())
    session.add(camera)
    session.flush()
    _audit(session, actor, "camera.create", camera, address=camera.address, port=camera.port)
    return camera


def _audit(session: Session, actor: Actor, action: str, camera: Camera, **detail: Any) -> None:
    """Every camera entry alike: the camera's name as target, its id in the detail."""
    detail = {"camera_id": camera.id, **detail}
    record_audit(session=session, actor=actor, action=action, target=camera.name, detail=detail)


def update_camera(*, session: Session, actor: Actor, camera_id: int, data: CameraUpdate) -> Camera:
    """Rename or readdress a camera (audited)."""
    camera = get_camera(session=session, camera_id=camera_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    merged = {"name": camera.name, "address": camera.address, "port": camera.port, **changes}
    _check_unique(session, merged["name"], merged["address"], merged["port"], camera.id)
    for key, value in changes.items():
        setattr(camera, key, value)
    session.flush()
    _audit(session, actor, "camera.update", camera, **changes)
    return camera


def delete_camera(
    *, session: Session, sessions: CameraSessions, actor: Actor, camera_id: int
) -> Camera:
    """Disconnect and remove a camera (audited)."""
    camera = get_camera(session=session, camera_id=camera_id)
    sessions.close(camera.id)
    _audit(session, actor, "camera.delete", camera)
    session.delete(camera)
    session.flush()
    return camera


def _check_unique(session: Session, name: str, address: str, port: int, own_id: int | None) -> None:
    for row in session.scalars(
        select(Camera).where(
            (Camera.name == name) | ((Camera.address == address) & (Camera.port == port))
        )
    ):
        if row.id == own_id:
            continue
        if row.name == name:
            raise Conflict(f"a camera named {name!r} already exists; choose another name")
        raise Conflict(f"{address}:{port} is already in the list as {row.name!r}")


def discover(
    *, session: Session, finder: Discover, interface: str, timeout: float = 1.0
) -> list[DiscoveredCamera]:
    """Broadcast a GigE Vision discovery on `interface` and list the cameras that answered."""
    try:
        answers = finder(interface, timeout=timeout)
    except (OSError, ValueError) as exc:
        raise Unavailable(f"discovery on {interface!r} failed: {exc}") from exc
    except Exception as exc:  # GvcpError of the client
        raise Unavailable(f"discovery on {interface!r} failed: {exc}") from exc
    known = {
        (address, port) for address, port in session.execute(select(Camera.address, Camera.port))
    }
    found = [
        DiscoveredCamera(
            address=a.address,
            port=a.port,
            manufacturer=a.info.manufacturer,
            model_name=a.info.model,
            serial=a.info.serial,
            user_name=a.info.user_name,
            known=(a.address, a.port) in known,
        )
        for a in answers
    ]
    return sorted(found, key=lambda c: (c.address, c.port))


def connect(
    *, session: Session, sessions: CameraSessions, actor: Actor, camera_id: int
) -> LiveCamera:
    """Connect to a camera (control privilege, audited) and refresh its identity from it."""
    camera = get_camera(session=session, camera_id=camera_id)
    live = sessions.open(camera.id, camera.address, camera.port)
    for column, feature in IDENTITY.items():
        try:
            value = live.get(feature)
        except DomainError:
            continue
        setattr(camera, column, value[:16] if column in ("serial", "user_name") else value[:32])
    session.flush()
    _audit(session, actor, "camera.connect", camera)
    return live


# --- operations on a connected camera (each audited with the camera's name as target) --------


def disconnect(*, session: Session, sessions: CameraSessions, actor: Actor, camera_id: int) -> None:
    """Stop acquiring and release the control privilege."""
    camera = get_camera(session=session, camera_id=camera_id)
    sessions.close(camera_id)
    _audit(session, actor, "camera.disconnect", camera)


def _live(session: Session, sessions: CameraSessions, camera_id: int) -> tuple[Camera, LiveCamera]:
    return get_camera(session=session, camera_id=camera_id), sessions.require(camera_id)


def set_feature(
    *, session: Session, sessions: CameraSessions, actor: Actor, camera_id: int, name: str,
    value: Any,
) -> Any:  # fmt: skip
    """Write one feature; returns the value the camera reports back."""
    camera, live = _live(session, sessions, camera_id)
    live.set(name, value)
    _audit(session, actor, "camera.feature", camera, feature=name, value=value)
    return live.get(name)


def execute_command(
    *, session: Session, sessions: CameraSessions, actor: Actor, camera_id: int, name: str
) -> None:
    """Execute a command feature (TriggerSoftware, UserSetSave ...)."""
    camera, live = _live(session, sessions, camera_id)
    live.execute(name)
    _audit(session, actor, "camera.command", camera, feature=name)


def start_acquisition(
    *, session: Session, sessions: CameraSessions, actor: Actor, camera_id: int, mode: str,
    count: int,
) -> None:  # fmt: skip
    """Play: Continuous, SingleFrame or MultiFrame (`count` frames)."""
    camera, live = _live(session, sessions, camera_id)
    live.play(mode, count)
    _audit(session, actor, "camera.acquisition.start", camera, mode=mode, count=count)


def stop_acquisition(
    *, session: Session, sessions: CameraSessions, actor: Actor, camera_id: int
) -> None:
    """Stop acquiring."""
    camera, live = _live(session, sessions, camera_id)
    live.stop()
    _audit(session, actor, "camera.acquisition.stop", camera)


def ffc_capture(
    *, session: Session, sessions: CameraSessions, actor: Actor, camera_id: int,
    field: ffc_wizard.Field, frames: int,
) -> int:  # fmt: skip
    """FFC wizard: capture the dark or bright field; returns how many frames were averaged."""
    camera, live = _live(session, sessions, camera_id)
    count = ffc_wizard.capture(live, field, frames)
    _audit(session, actor, "camera.ffc.capture", camera, field=field, frames=count)
    return count


def ffc_apply(
    *, session: Session, sessions: CameraSessions, actor: Actor, camera_id: int, mode: str
) -> str:
    """FFC wizard: compute, upload, load and enable the correction; returns what was done."""
    camera, live = _live(session, sessions, camera_id)
    result = ffc_wizard.apply(live, mode)
    _audit(session, actor, "camera.ffc.apply", camera, mode=mode)
    return result
