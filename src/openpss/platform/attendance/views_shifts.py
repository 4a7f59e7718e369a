"""Console pages for attendance periods and shifts (manual 3.8-3.9)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.attendance.periods import MAX_REST_BREAKS
from openpss.platform.attendance import (
    forms,
    lists,
    pages,
    shifts,
)
from openpss.platform.attendance.models import (
    AttendancePeriod,
    AttendanceShift,
)
from openpss.platform.attendance.schemas import (
    PeriodCreate,
    PeriodQuery,
    PeriodUpdate,
    ShiftCreate,
    ShiftQuery,
    ShiftUpdate,
)
from openpss.platform.deps import Operator, Principal, SessionDep, Viewer
from openpss.platform.errors import NotFound
from openpss.platform.fields import DbId
from openpss.platform.web import flash

router = APIRouter()  # included by views.router under /attendance


@router.get("/periods", response_class=HTMLResponse)
def periods_page(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    error: str = "",
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    """Attendance periods (one page, filtered on the API's PeriodQuery) and the form to add one."""
    errors = [error] if error else []
    query = pages.list_query(request, PeriodQuery, errors)
    listed = lists.list_periods(session=session, query=query)
    return pages.page(
        request,
        principal,
        "periods.html",
        periods=[shifts.period_to_read(p) for p in listed.items],
        pager=pages.pager(request, listed),
        query=query,
        error="; ".join(errors),
        form_period=values or forms.PERIOD_DEFAULTS,
        form_action="/attendance/periods",
        max_rests=MAX_REST_BREAKS,
    )


@router.post("/periods", response_class=HTMLResponse)
def add_period(
    request: Request, session: SessionDep, principal: Operator, form: pages.FormDep
) -> Response:
    """Add a period from the console form (with up to 7 rest-period rows)."""
    _, error = pages.attempt(
        lambda: shifts.create_period(
            session=session,
            actor=principal.actor,
            data=PeriodCreate.model_validate(forms.period_fields(form)),
        )
    )
    if error:
        session.rollback()
        return periods_page(request, session, principal, error, forms.submitted(form))
    return flash.redirect("/attendance/periods", f"Period '{form.get('name', '')}' added.")


@router.get("/periods/{period_id}", response_class=HTMLResponse)
def period_page(
    request: Request,
    period_id: DbId,
    session: SessionDep,
    principal: Viewer,
    error: str = "",
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    """One period's form, to change any field or its rest periods."""
    row = session.get(AttendancePeriod, period_id)
    if row is None:
        raise NotFound(f"period {period_id} does not exist")
    return pages.page(
        request,
        principal,
        "period.html",
        period=row,
        error=error,
        form_period=values or shifts.period_to_read(row).model_dump(),
        form_action=f"/attendance/periods/{period_id}",
        max_rests=MAX_REST_BREAKS,
    )


@router.post("/periods/{period_id}", response_class=HTMLResponse)
def edit_period(
    request: Request, period_id: DbId, session: SessionDep, principal: Operator, form: pages.FormDep
) -> Response:
    """Save the period form; stored results of the days that use the period are recomputed."""
    _, error = pages.attempt(
        lambda: shifts.update_period(
            session=session,
            actor=principal.actor,
            period_id=period_id,
            data=PeriodUpdate.model_validate(forms.period_fields(form)),
        )
    )
    if error:
        session.rollback()
        return period_page(request, period_id, session, principal, error, forms.submitted(form))
    return flash.redirect("/attendance/periods", f"Period '{form.get('name', '')}' saved.")


@router.get("/shifts", response_class=HTMLResponse)
def shifts_page(
    request: Request, session: SessionDep, principal: Viewer, error: str = ""
) -> HTMLResponse:
    """Shifts (one page, filtered on the API's ShiftQuery) and the form to add one."""
    errors = [error] if error else []
    query = pages.list_query(request, ShiftQuery, errors)
    listed = lists.list_shifts(session=session, query=query)
    return pages.page(
        request,
        principal,
        "shifts.html",
        shifts=listed.items,
        pager=pages.pager(request, listed),
        query=query,
        error="; ".join(errors),
    )


@router.post("/shifts", response_class=HTMLResponse)
def add_shift(
    request: Request,
    session: SessionDep,
    principal: Operator,
    name: str = Form(...),
    start_date: str = Form(...),
    cycle_mode: str = Form("week"),
    cycles: int = Form(1),
) -> Response:
    """Add an empty shift, then open its calendar to drag periods onto days."""
    row, error = pages.attempt(
        lambda: shifts.create_shift(
            session=session,
            actor=principal.actor,
            data=ShiftCreate.model_validate(
                {"name": name, "start_date": start_date, "cycle_mode": cycle_mode, "cycles": cycles}
            ),
        )
    )
    if row is None:
        session.rollback()
        return shifts_page(request, session, principal, error)
    return flash.redirect(f"/attendance/shifts/{row.id}", f"Shift '{row.name}' added.")


def _shift_or_404(session: Session, shift_id: DbId) -> AttendanceShift:
    row = session.get(AttendanceShift, shift_id)
    if row is None:
        raise NotFound(f"shift {shift_id} does not exist")
    return row


def _cycle_days(shift: AttendanceShift) -> list[dict[str, Any]]:
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    length = shift.cycles * (7 if shift.cycle_mode == "week" else 1)
    days = []
    for index in range(length):
        label = (
            f"Week {index // 7 + 1} {weekdays[index % 7]}"
            if shift.cycle_mode == "week"
            else f"Day {index + 1}"
        )
        days.append({"index": index, "label": label, "ids": shift.arrangement.get(str(index), [])})
    return days


@router.get("/shifts/{shift_id}", response_class=HTMLResponse)
def shift_page(
    request: Request, shift_id: DbId, session: SessionDep, principal: Viewer, error: str = ""
) -> HTMLResponse:
    """The shift calendar: drag a period onto a day, right-click a day to clear it."""
    shift = _shift_or_404(session, shift_id)
    names = pages.names(session)
    by_id = {p.id: p for p in names["periods"]}
    return pages.page(
        request,
        principal,
        "shift.html",
        shift=shift,
        days=_cycle_days(shift),
        by_id=by_id,
        periods=names["periods"],
        error=error,
    )


@router.post("/shifts/{shift_id}", response_class=HTMLResponse)
def edit_shift(
    request: Request,
    shift_id: DbId,
    session: SessionDep,
    principal: Operator,
    name: str = Form(...),
    start_date: str = Form(...),
    cycle_mode: str = Form("week"),
    cycles: int = Form(1),
) -> Response:
    """Change a shift's basic info; changed days of its stored results are recomputed."""
    _shift_or_404(session, shift_id)
    data = {"name": name, "start_date": start_date, "cycle_mode": cycle_mode, "cycles": cycles}
    _, error = pages.attempt(
        lambda: shifts.update_shift(
            session=session,
            actor=principal.actor,
            shift_id=shift_id,
            data=ShiftUpdate.model_validate(data),
        )
    )
    if error:
        session.rollback()
        return shift_page(request, shift_id, session, principal, error)
    return flash.redirect(f"/attendance/shifts/{shift_id}", f"Shift '{name}' saved.")


def _set_day(
    request: Request,
    session: Session,
    principal: Principal,
    shift_id: DbId,
    change: Callable[[dict[int, list[int]]], object],
) -> HTMLResponse:
    shift = _shift_or_404(session, shift_id)
    arrangement = {int(k): list(v) for k, v in shift.arrangement.items()}
    change(arrangement)
    _, error = pages.attempt(
        lambda: shifts.update_shift(
            session=session,
            actor=principal.actor,
            shift_id=shift_id,
            data=ShiftUpdate(arrangement={k: v for k, v in arrangement.items() if v}),
        )
    )
    if error:
        session.rollback()
    response = shift_page(request, shift_id, session, principal, error)
    if not error:
        response.headers.update(flash.hx_trigger(f"Shift '{shift.name}' arrangement saved."))
    return response


@router.post("/shifts/{shift_id}/days/{index}", response_class=HTMLResponse)
def drop_period(
    request: Request,
    shift_id: DbId,
    index: int,
    session: SessionDep,
    principal: Operator,
    period_id: DbId = Form(...),
) -> HTMLResponse:
    """A period dropped onto a cycle day: add it to that day's periods, ordered by start."""

    def change(arrangement: dict[int, list[int]]) -> None:
        ids = arrangement.setdefault(index, [])
        if period_id not in ids:
            ids.append(period_id)
            starts = {p.id: p.work_start for p in session.scalars(select(AttendancePeriod))}
            ids.sort(key=lambda pid: starts.get(pid, 0))

    return _set_day(request, session, principal, shift_id, change)


@router.post("/shifts/{shift_id}/days/{index}/clear", response_class=HTMLResponse)
def clear_day(
    request: Request, shift_id: DbId, index: int, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Right-click on a day: remove its periods."""
    return _set_day(
        request, session, principal, shift_id, lambda arrangement: arrangement.pop(index, None)
    )


@router.post("/shifts/{shift_id}/clear", response_class=HTMLResponse)
def clear_all(
    request: Request, shift_id: DbId, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Clear All: remove every period from the cycle."""
    return _set_day(request, session, principal, shift_id, lambda arrangement: arrangement.clear())
