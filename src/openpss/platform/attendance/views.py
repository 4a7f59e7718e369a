"""Console pages of the attendance domain: the overview; the pages of each noun are in
views_shifts (periods and shifts), views_assignments (assignments, leave, holidays) and
views_reports (calendar, monthly reports, background jobs)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from openpss.platform.attendance import (
    pages,
    views_assignments,
    views_reports,
    views_shifts,
)
from openpss.platform.deps import SessionDep, Viewer

router = APIRouter(prefix="/attendance")


@router.get("", response_class=HTMLResponse)
def index(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """Attendance overview: links to every page."""
    return pages.page(request, principal, "index.html", **pages.names(session))


router.include_router(views_shifts.router)
router.include_router(views_assignments.router)
router.include_router(views_reports.router)
