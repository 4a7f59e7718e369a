"""FastAPI application factory: API routers, console views, background services."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from openpss import __version__
from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.events import EventBus
from openpss.platform.integrations import metrics
from openpss.platform.integrations.mqtt import MqttBridge
from openpss.platform.settings import Settings, get_settings
from openpss.platform.uploads import MAX_REQUEST, RequestSizeLimit
from openpss.platform.web import api_docs
from openpss.platform.web.errors import forbidden_page
from openpss.platform.web.htmx import is_htmx
from openpss.platform.web.templating import STATIC_DIR
from openpss.protocols.http_guard import HttpLimits

logger = logging.getLogger(__name__)

# Domains with an `api.router` (mounted under /api/v1) and a `views.router` (console pages).
DOMAINS = ["security", "people", "permissions", "devices", "attendance", "records", "vision", "web"]
DOMAINS += ["integrations"]

# "module:function" of long-running coroutines started with the server; each takes the app.
BACKGROUND_SERVICES: list[str] = [
    "openpss.platform.security.audit:forward_to_syslog",
    "openpss.platform.devices.sync:run",
    "openpss.platform.vision.deps:close_cameras_on_shutdown",
    "openpss.platform.intercom.sip:run",
    "openpss.platform.integrations.mqtt:run",
]

# The console and API: browsers open ~6 connections each and offices share an address (NAT);
# a 20 MB upload over a slow link needs its two minutes.
PLATFORM_LIMITS = HttpLimits(
    header_timeout=10.0, body_timeout=120.0, max_connections=1000, max_per_peer=128
)

BackgroundService = Callable[[FastAPI], Coroutine[Any, Any, None]]


def _load(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    tasks: list[asyncio.Task[None]] = []
    if app.state.settings.background_services:
        for path in BACKGROUND_SERVICES:
            service: BackgroundService = _load(path)
            tasks.append(asyncio.create_task(service(app), name=path))
            logger.info("started background service %s", path)
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
    for domain in DOMAINS:
        api = importlib.import_module(f"openpss.platform.{domain}.api")
        app.include_router(api.router, prefix="/api/v1")
        views = importlib.import_module(f"openpss.platform.{domain}.views")
        app.include_router(views.router, include_in_schema=False)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(RequestSizeLimit, max_bytes=MAX_REQUEST)
    metrics.install(app)
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    """JSON errors for the API; the console sends unauthenticated users to the login page
    and shows an HTML "not allowed" page for a missing role."""
    assert isinstance(exc, HTTPException)
    machine = request.url.path.startswith("/api/") or request.url.path == "/metrics"
    if exc.status_code == 401 and not machine:
        target = "/login?next=" + request.url.path
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if exc.status_code == 403 and not request.url.path.startswith("/api/"):
        return forbidden_page(request, str(exc.detail))
    return JSONResponse(
        {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers or None
    )
