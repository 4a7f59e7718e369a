"""Operator experience in headless Chromium: the API docs work offline, every page fits 1366 px."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from openpss.commands.demo import seed
from openpss.platform.attendance import jobs
from openpss.platform.attendance.models import AttendancePeriod, AttendanceShift
from openpss.platform.devices.models import Device
from openpss.platform.people.models import Person
from openpss.platform.permissions.models import PermissionGroup
from openpss.platform.records.export import start_export
from openpss.platform.records.schemas import AccessQuery
from openpss.platform.security.audit import SYSTEM
from openpss.platform.vision.live import CameraSessions
from openpss.platform.vision.schemas import CameraCreate
from openpss.platform.vision.service import add_camera
from tests.browser.helpers import initialize_and_login
from tests.integration.vision_support import VirtualCamera, virtual_camera
from tests.support.page_layout import VIEWPORT, page_overflow

pytestmark = pytest.mark.browser


def test_api_docs_load_swagger_ui_from_the_platform_without_internet(
    page: Any, live_server: Any
) -> None:
    """Issue 8.11: /api/docs was blank offline because Swagger UI came from a CDN."""
    platform = urlsplit(live_server.url).netloc
    requested: list[str] = []

    def only_the_platform(route: Any) -> None:
        requested.append(route.request.url)
        if urlsplit(route.request.url).netloc == platform:
            route.continue_()
        else:
            route.abort("internetdisconnected")

    page.route("**/*", only_the_platform)
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "openpss" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag")  # the operations were rendered from the schema
    assert any(url.endswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for url in requested)
    assert any(url.endswith("/static/vendor/swagger-ui/swagger-ui.css") for url in requested)
    assert [url for url in requested if urlsplit(url).netloc != platform] == []


# Issue 8.13: every console page fits a 1366x768 screen without horizontal scrolling.
PUBLIC_PAGES = {"/init", "/login", "/forgot-password"}
# Pages that exist only while something live runs; their own browser tests check the layout.
LIVE_ONLY = {"/intercom/calls/{call_id}"}  # a call: test_intercom_calls_browser.py


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[VirtualCamera]:
    with virtual_camera(tmp_path / "camera") as cam:
        yield cam


def _camera_sessions(app: Any) -> CameraSessions:
    if getattr(app.state, "vision_sessions", None) is None:
        app.state.vision_sessions = CameraSessions()
    sessions: CameraSessions = app.state.vision_sessions
    return sessions


def _console_pages(app: Any) -> list[str]:
    """Path templates of every GET console route that answers HTML (walks the app's routes)."""
    found = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute) or not ctx.path or "GET" not in (ctx.methods or ()):
            continue
        if ctx.path.startswith("/api/") or route.response_class is not HTMLResponse:
            continue
        found.append(ctx.path)
    return found


def _seed(live_server: Any, camera: VirtualCamera) -> dict[str, str]:
    """Demo data (persons, groups, attendance, the terminal), a connected camera and an export
    job; returns a value for each path parameter of the console routes."""
    app = live_server.app
    seed(app, terminal_port=9, camera=False)
    with app.state.session_factory() as session:
        ids = {
            "person_id": session.scalar(select(Person.id).order_by(Person.id)),
            "group_id": session.scalar(select(PermissionGroup.id)),
            "period_id": session.scalar(select(AttendancePeriod.id)),
            "shift_id": session.scalar(select(AttendanceShift.id)),
            "device_id": session.scalar(select(Device.id)),
        }
        added = add_camera(
            session=session,
            actor=SYSTEM,
            data=CameraCreate(name="inspection line 1", address="127.0.0.1", port=camera.port),
        )
        session.commit()
        ids["camera_id"] = added.id
    sessions = _camera_sessions(app)
    sessions.open(int(ids["camera_id"]), "127.0.0.1", camera.port)
    today = dt.date.today()
    job = jobs.start_compute(app.state.session_factory, today.replace(day=1), today)
    ids["job_id"] = job.id
    with app.state.session_factory() as session:
        records_export = start_export(
            session=session,
            actor=SYSTEM,
            factory=app.state.session_factory,
            directory=app.state.settings.data_dir / "exports" / "records",
            kind="access",
            filters=AccessQuery(),
            fmt="xlsx",
        )
        session.commit()
    ids["export_id"] = records_export.id
    return {name: str(value) for name, value in ids.items()}


def test_every_console_page_fits_1366_by_768_without_horizontal_scrolling(
    browser: Any, live_server: Any, camera: VirtualCamera
) -> None:
    values = _seed(live_server, camera)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30000)
    try:
        for path in sorted(PUBLIC_PAGES):
            page.goto(f"{live_server.url}{path}")
            assert page_overflow(page)["scroll"] <= VIEWPORT["width"], path
        initialize_and_login(page, live_server)
        templates = _console_pages(live_server.app)
        assert len(templates) > 30, "the walk finds every domain's pages"
        too_wide = []
        for template in templates:
            if template in PUBLIC_PAGES or template in LIVE_ONLY:
                continue
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, (path, response)
            page.wait_for_load_state("networkidle")
            figures = page_overflow(page)
            if figures["scroll"] > figures["viewport"] or figures["logoutLines"] > 1:
                too_wide.append(f"{path}: {figures}")
        assert not too_wide, "\n".join(too_wide)
    finally:
        context.close()
        _camera_sessions(live_server.app).close_all()
