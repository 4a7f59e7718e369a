"""Helpers shared by the attendance console pages: render a page, show a service error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.attendance.models import (
    AttendancePeriod,
    AttendanceShift,
)
from openpss.platform.deps import Principal
from openpss.platform.errors import DomainError
from openpss.platform.people.models import Department, Person
from openpss.platform.web.templating import render

T = TypeVar("T")


def page(request: Request, principal: Principal, name: str, **ctx: Any) -> HTMLResponse:
    return render(request, f"attendance/{name}", ctx, status_code=ctx.pop("status", 200))


def attempt(call: Callable[[], T]) -> tuple[T | None, str]:
    """Run a service call; a domain or validation error becomes the message to show."""
    try:
        return call(), ""
    except DomainError as exc:
        return None, str(exc)
    except ValidationError as exc:
        return None, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def names(session: Session) -> dict[str, Any]:
    return {
        "periods": list(session.scalars(select(AttendancePeriod).order_by(AttendancePeriod.name))),
        "shifts": list(session.scalars(select(AttendanceShift).order_by(AttendanceShift.name))),
        "departments": list(session.scalars(select(Department).order_by(Department.name))),
        "persons": list(session.scalars(select(Person).order_by(Person.user_id).limit(500))),
    }


async def _form_data(request: Request) -> Any:
    return await request.form()


FormDep = Annotated[Any, Depends(_form_data)]


def optional_int(value: str) -> int | None:
    """A form's optional number: None when blank."""
    return int(value) if value.strip() else None
