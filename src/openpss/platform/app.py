"""FastAPI application factory: API routers, console views, background services."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from openpss import __version__
from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.settings import Settings, get_settings
from openpss.platform.web import errors
from openpss.platform.web.templating import STATIC_DIR

logger = logging.getLogger(__name__)

# Domains with an `api.router` (mounted under /api/v1) and a `views.router` (console pages).
DOMAINS = ["security", "people", "permissions", "devices", "attendance", "records", "vision", "web"]

# "module:function" of long-running coroutines started with the server; each takes the app.
BACKGROUND_SERVICES: list[str] = [
    "openpss.platform.security.audit:forward_to_syslog",
    "openpss.platform.devices.sync:run",
    "openpss.platform.vision.deps:close_cameras_on_shutdown",
]

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
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.resolved_database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for domain in DOMAINS:
        api = importlib.import_module(f"openpss.platform.{domain}.api")
        app.include_router(api.router, prefix="/api/v1", responses=errors.API_ERROR_RESPONSES)
        views = importlib.import_module(f"openpss.platform.{domain}.views")
        app.include_router(views.router, include_in_schema=False)
    errors.install(app)
    return app
