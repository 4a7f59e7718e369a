"""Console pages of the web domain: the dashboard at `/`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from openpss.platform.deps import SessionDep, Viewer
from openpss.platform.devices.models import Device
from openpss.platform.people.models import Card, Department, Person
from openpss.platform.permissions.models import PermissionGroup
from openpss.platform.records.models import AccessRecord
from openpss.platform.security.audit import recent_audit
from openpss.platform.security.auth import count_online
from openpss.platform.security.models import Role
from openpss.platform.web.templating import render

logger = logging.getLogger(__name__)

router = APIRouter()


@dataclass(frozen=True)
class Tile:
    """One dashboard count: label, model, link, and an optional condition on the rows."""

    label: str
    model: type[Any]
    href: str
    where: ColumnElement[bool] | None = None


TILES = [
    Tile("Persons", Person, "/people"),
    Tile("Departments", Department, "/people"),
    Tile("Cards", Card, "/people"),
    Tile("Devices", Device, "/devices"),
    Tile("Devices online", Device, "/devices", Device.online.is_(True)),
    Tile("Permission groups", PermissionGroup, "/permissions"),
    Tile("Access records", AccessRecord, "/records"),
]


def count_tile(session: Session, tile: Tile) -> int:
    """The tile's count by one COUNT query."""
    query = select(func.count()).select_from(tile.model)
    if tile.where is not None:
        query = query.where(tile.where)
    return int(session.scalar(query) or 0)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, principal: Viewer, session: SessionDep) -> Response:
    """Counts of the main objects; administrators also see online users and recent audit."""
    counts = [(tile, count_tile(session, tile)) for tile in TILES]
    bridge = getattr(request.app.state, "mqtt_bridge", None)
    mqtt_state = bridge.state.value if bridge and bridge.settings.mqtt_url else ""
    ctx: dict[str, Any] = {"counts": counts, "mqtt_state": mqtt_state}
    if principal.has(Role.administrator):
        ctx["online"] = count_online(session=session)
        ctx["recent"] = recent_audit(session=session)
    return render(request, "web/dashboard.html", ctx)
