"""Console page for shift assignments, leave and business trips, and holidays (manual 3.9)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.attendance import (
    assignments,
    compute,
    lists,
    pages,
)
from openpss.platform.attendance.schemas import (
    AssignmentCreate,
    AssignmentQuery,
    ExceptionCreate,
    ExceptionQuery,
    HolidayCreate,
    HolidayQuery,
)
from openpss.platform.deps import Operator, Principal, SessionDep, Viewer
from openpss.platform.fields import DbId
from openpss.platform.people.models import Person
from openpss.platform.web import flash

router = APIRouter()  # included by views.router under /attendance


def _save_then_assignments(
    request: Request,
    session: Session,
    principal: Principal,
    call: Callable[[], object],
    saved: str = "Saved.",
) -> Response:
    """Run a change from the assignments page: back to it, or shown again with the error."""
    _, error = pages.attempt(call)
    if error:
        session.rollback()
        return assignments_page(request, session, principal, error)
    return flash.redirect("/attendance/assignments", saved)


@router.get("/assignments", response_class=HTMLResponse)
def assignments_page(
    request: Request, session: SessionDep, principal: Viewer, error: str = ""
) -> HTMLResponse:
    """Shift assignments, leave and business trips, holidays: each list one page of its API
    query (AssignmentQuery; ExceptionQuery as leave_*; HolidayQuery as holiday_*)."""
    names = pages.names(session)
    errors = [error] if error else []
    year = str(compute.today(compute.load_context(session)).year)
    assigned = lists.list_assignments(
        session=session, query=pages.list_query(request, AssignmentQuery, errors)
    )
    leave_query = pages.list_query(request, ExceptionQuery, errors, prefix="leave_")
    leave = lists.list_exceptions(session=session, query=leave_query)
    holiday_query = pages.list_query(
        request, HolidayQuery, errors, prefix="holiday_", defaults={"year": year}
    )
    holidays = lists.list_holidays(session=session, query=holiday_query)
    listed_ids = {a.person_id for a in assigned.items} | {e.person_id for e in leave.items}
    return pages.page(
        request,
        principal,
        "assignments.html",
        error="; ".join(errors),
        assignments=assigned.items,
        assignment_pager=pages.pager(request, assigned),
        assignment_query=assigned.query,
        exceptions=leave.items,
        leave_pager=pages.pager(request, leave, "leave_page"),
        leave_query=leave_query,
        holidays=holidays.items,
        holiday_pager=pages.pager(request, holidays, "holiday_page"),
        holiday_query=holiday_query,
        settings=compute.get_settings(session),
        shift_names={s.id: s.name for s in names["shifts"]},
        person_names=_person_names(session, listed_ids - {None}),
        department_names={d.id: d.name for d in names["departments"]},
        **names,
    )


def _person_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    """ "user id name" of the persons the lists show (one query, whatever the page holds)."""
    if not ids:
        return {}
    rows = session.execute(select(Person.id, Person.user_id, Person.name).where(Person.id.in_(ids)))
    return {pid: f"{user_id} {name}" for pid, user_id, name in rows}


@router.post("/assignments", response_class=HTMLResponse)
def add_assignment(
    request: Request,
    session: SessionDep,
    principal: Operator,
    shift_id: DbId = Form(...),
    target: str = Form(...),
    start_date: str = Form(...),
    end_date: str = Form(...),
) -> Response:
    """Assign a shift to "person:ID" or "department:ID" for a date range."""
    kind, _, key = target.partition(":")
    data = {"shift_id": shift_id, "start_date": start_date, "end_date": end_date}
    data["person_id" if kind == "person" else "department_id"] = pages.optional_int(key)
    return _save_then_assignments(
        request,
        session,
        principal,
        lambda: assignments.create_assignment(
            session=session, actor=principal.actor, data=AssignmentCreate.model_validate(data)
        ),
        f"Shift assigned from {start_date} to {end_date}.",
    )


@router.post("/exceptions", response_class=HTMLResponse)
def add_exception(
    request: Request,
    session: SessionDep,
    principal: Operator,
    person_id: DbId = Form(...),
    kind: str = Form(...),
    start_date: str = Form(...),
    end_date: str = Form(...),
    reason: str = Form(""),
) -> Response:
    """Record a leave or business trip."""
    data = {"person_id": person_id, "kind": kind, "start_date": start_date}
    data |= {"end_date": end_date, "reason": reason}
    return _save_then_assignments(
        request,
        session,
        principal,
        lambda: assignments.create_exception(
            session=session, actor=principal.actor, data=ExceptionCreate.model_validate(data)
        ),
        f"{'Business trip' if kind == 'business_trip' else 'Leave'} saved: "
        f"{start_date} to {end_date}.",
    )


@router.post("/holidays", response_class=HTMLResponse)
def add_holiday(
    request: Request,
    session: SessionDep,
    principal: Operator,
    day: str = Form(...),
    name: str = Form(...),
) -> Response:
    """Add a custom holiday."""
    return _save_then_assignments(
        request,
        session,
        principal,
        lambda: assignments.create_holiday(
            session=session,
            actor=principal.actor,
            data=HolidayCreate.model_validate({"day": day, "name": name}),
        ),
        f"Holiday '{name}' on {day} added.",
    )
