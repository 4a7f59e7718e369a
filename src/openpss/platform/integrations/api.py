"""REST API of the integrations: MQTT bridge state and its test message."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.integrations import service

router = APIRouter(prefix="/integrations", tags=["integrations"])


@router.get("/mqtt")
def mqtt_status(request: Request, principal: Viewer) -> dict[str, Any]:
    """Link state, settings (no password), counters and the last messages sent."""
    return service.mqtt_status(request.app.state.mqtt_bridge)


@router.post("/mqtt/test")
async def mqtt_test(request: Request, session: SessionDep, principal: Operator) -> dict[str, str]:
    """Publish a test message on <prefix>/test (409 when MQTT is off or the broker is down)."""
    bridge = request.app.state.mqtt_bridge
    try:
        topic = await service.send_test_message(
            session=session, bridge=bridge, actor=principal.actor
        )
    except service.IntegrationError as exc:
        raise HTTPException(409, str(exc)) from exc
    session.commit()
    return {"topic": topic}
