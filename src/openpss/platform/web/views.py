"""Console pages of the web domain: the dashboard at `/`."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from openpss.platform.deps import SessionDep, Viewer
from openpss.platform.security.audit import AuditFilter, search_audit
from openpss.platform.security.auth import count_online
from openpss.platform.security.models import Role
from openpss.platform.web.templating import render

logger = logging.getLogger(__name__)

router = APIRouter()


@dataclass(frozen=True)
class Tile:
    """One dashboard count: label, model ("module:Class"), optional filter column, link."""

    label: str
    model: str
    href: str
    where: str = ""


TILES = [
    Tile("Persons", "openpss.platform.people.models:Person", "/people"),
    Tile("Departments", "openpss.platform.people.models:Department", "/people"),
    Tile("Cards", "openpss.platform.people.models:Card", "/people"),
    Tile("Devices", "openpss.platform.devices.models:Device", "/devices"),
    Tile("Devices online", "openpss.platform.devices.models:Device", "/devices", "online"),
    Tile(
        "Permission groups", "openpss.platform.permissions.models:PermissionGroup", "/permissions"
    ),
    Tile("Access records", "openpss.platform.records.models:AccessRecord", "/records"),
]


def count_tile(session: Session, tile: Tile) -> int | None:
    """The tile's count by one COUNT query, or None when that domain is not available."""
    module_name, _, class_name = tile.model.partition(":")
    try:
        model: Any = getattr(importlib.import_module(module_name), class_name)
        query = select(func.count()).select_from(model)
        if tile.where:
            query = query.where(getattr(model, tile.where).is_(True))
        with session.begin_nested():
            return int(session.scalar(query) or 0)
    except (ImportError, AttributeError, SQLAlchemyError) as exc:
        logger.warning("dashboard count %s unavailable: %s", tile.label, exc)
        return None


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, principal: Viewer, session: SessionDep) -> Response:
    """Counts of the main objects; administrators also see online users and recent audit."""
    request.state.principal = principal
    counts = [(tile, count_tile(session, tile)) for tile in TILES]
    bridge = getattr(request.app.state, "mqtt_bridge", None)
    mqtt_state = bridge.state.value if bridge and bridge.settings.mqtt_url else ""
    ctx: dict[str, Any] = {"counts": counts, "mqtt_state": mqtt_state}
    if principal.has(Role.administrator):
        ctx["online"] = count_online(session=session)
        ctx["recent"], _ = search_audit(session=session, flt=AuditFilter(), per_page=10)
    return render(request, "web/dashboard.html", ctx)
