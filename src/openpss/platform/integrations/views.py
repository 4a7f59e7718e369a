"""Console page of the integrations: MQTT state, last messages, test button."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.integrations import service
from openpss.platform.web import flash
from openpss.platform.web.templating import render

router = APIRouter()


def _page(request: Request, error: str = "", status_code: int = 200) -> HTMLResponse:
    status = service.mqtt_status(request.app.state.mqtt_bridge)
    context = {"mqtt": status, "error": error}
    return render(request, "integrations/index.html", context, status_code=status_code)


@router.get("/integrations", response_class=HTMLResponse)
def integrations(request: Request, principal: Viewer) -> HTMLResponse:
    """MQTT bridge state and the last messages sent."""
    request.state.principal = principal
    return _page(request)


@router.post("/integrations/mqtt/test", response_class=HTMLResponse)
async def mqtt_test(request: Request, session: SessionDep, principal: Operator) -> Response:
    """Publish the test message."""
    request.state.principal = principal
    bridge = request.app.state.mqtt_bridge
    try:
        topic = await service.send_test_message(
            session=session, bridge=bridge, actor=principal.actor
        )
    except service.IntegrationError as exc:
        return _page(request, str(exc), status_code=409)
    session.commit()
    return flash.redirect("/integrations", f"Test message sent on {topic}")
