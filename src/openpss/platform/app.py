"""FastAPI application factory: API routers, console views, background services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from openpss import __version__
from openpss.platform.attendance import api as attendance_api
from openpss.platform.attendance import views as attendance_views
from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.devices import api as devices_api
from openpss.platform.devices import views as devices_views
from openpss.platform.devices.sync import run as run_sync
from openpss.platform.events import EventBus
from openpss.platform.integrations import api as integrations_api
from openpss.platform.integrations import metrics
from openpss.platform.integrations import views as integrations_views
from openpss.platform.integrations.mqtt import MqttBridge
from openpss.platform.integrations.mqtt import run as run_mqtt
from openpss.platform.intercom import api as intercom_api
from openpss.platform.intercom import views as intercom_views
from openpss.platform.intercom import views_calls as intercom_calls_views
from openpss.platform.intercom.delivery import run as run_delivery
from openpss.platform.intercom.sip import run as run_sip
from openpss.platform.people import api as people_api
from openpss.platform.people import views as people_views
from openpss.platform.permissions import api as permissions_api
from openpss.platform.permissions import views as permissions_views
from openpss.platform.records import api as records_api
from openpss.platform.records import views as records_views
from openpss.platform.security import api as security_api
from openpss.platform.security import views as security_views
from openpss.platform.security.audit import forward_to_syslog
from openpss.platform.settings import Settings, get_settings
from openpss.platform.uploads import MAX_REQUEST, RequestSizeLimit
from openpss.platform.vision import api as vision_api
from openpss.platform.vision import views as vision_views
from openpss.platform.vision.deps import close_cameras_on_shutdown
from openpss.platform.web import api_docs, errors
from openpss.platform.web import views as web_views
from openpss.platform.web.templating import STATIC_DIR
from openpss.protocols.http_guard import HttpLimits

logger = logging.getLogger(__name__)

# The REST routers (mounted under /api/v1) and the console routers, one pair per domain.
API_ROUTERS: list[APIRouter] = [
    security_api.router,
    people_api.router,
    permissions_api.router,
    devices_api.router,
    attendance_api.router,
    records_api.router,
    vision_api.router,
    integrations_api.router,
    intercom_api.router,
]
CONSOLE_ROUTERS: list[APIRouter] = [
    security_views.router,
    people_views.router,
    permissions_views.router,
    devices_views.router,
    attendance_views.router,
    records_views.router,
    vision_views.router,
    intercom_calls_views.router,  # calls in the browser (platform-video-intercom chapter 3)
    intercom_views.router,
    web_views.router,
    integrations_views.router,
]

# The console and API: browsers open ~6 connections each and offices share an address (NAT);
# a 20 MB upload over a slow link needs its two minutes.
PLATFORM_LIMITS = HttpLimits(
    header_timeout=10.0, body_timeout=120.0, max_connections=1000, max_per_peer=128
)

BackgroundService = Callable[[FastAPI], Coroutine[Any, Any, None]]

# Long-running coroutines started with the server; each takes the app.
BACKGROUND_SERVICES: list[BackgroundService] = [
    forward_to_syslog,
    run_sync,
    close_cameras_on_shutdown,
    run_sip,
    run_mqtt,
    run_delivery,
]


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    tasks: list[asyncio.Task[None]] = []
    if app.state.settings.background_services:
        for service in BACKGROUND_SERVICES:
            name = f"{service.__module__}.{service.__name__}"
            tasks.append(asyncio.create_task(service(app), name=name))
            logger.info("started background service %s", name)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the platform app; the database must already be migrated (`openpss migrate`)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="openpss",
        version=__version__,
        docs_url=None,  # served by web.api_docs with local assets instead of a CDN
        openapi_url=api_docs.OPENAPI_URL,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.resolved_database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.event_bus = EventBus()
    app.state.mqtt_bridge = MqttBridge(settings, app.state.session_factory, app.state.event_bus)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api_docs.router)
    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1", responses=errors.API_ERROR_RESPONSES)
    for router in CONSOLE_ROUTERS:
        app.include_router(router, include_in_schema=False)
    errors.install(app)
    app.add_middleware(RequestSizeLimit, max_bytes=MAX_REQUEST)
    metrics.install(app)
    return app
