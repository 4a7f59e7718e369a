"""Helpers shared by the attendance console pages: render a page, show a service error."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

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
from openpss.platform.errors import DomainError, Invalid
from openpss.platform.listing import ListQuery, Page, from_params
from openpss.platform.people.models import Department, Person
from openpss.platform.web.templating import render

T = TypeVar("T")
Q = TypeVar("Q", bound=ListQuery)
PAGE_SIZE = 50  # rows per page of each console list


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


def list_query(
    request: Request,
    model: type[Q],
    errors: list[str],
    *,
    prefix: str = "",
    defaults: Mapping[str, str] | None = None,
) -> Q:
    """A list's declared query from the page URL, `PAGE_SIZE` rows a page.

    A page with several lists gives each its own parameters: `prefix` + field name (`leave_kind`,
    `leave_page`); `defaults` fill fields the URL leaves out. A bad value is reported in `errors`
    and the list shown unfiltered.
    """
    params: list[tuple[str, str]] = list((defaults or {}).items())
    for key, value in request.query_params.multi_items():
        if key.startswith(prefix):  # without a prefix, names of the other lists are unknown
            params.append((key.removeprefix(prefix), value))
    try:
        return from_params(model, params, limit=PAGE_SIZE)
    except Invalid as exc:
        errors.append(f"{prefix}{exc}" if prefix else str(exc))
        return from_params(model, (defaults or {}).items(), limit=PAGE_SIZE)


def pager(request: Request, page: Page[Any], param: str = "page") -> dict[str, Any]:
    """The pager of a console list: its total, page n of m, and the links to the neighbours
    (the other URL parameters kept)."""
    number = page.query.page_number

    def link(to: int) -> str:
        kept: Iterable[tuple[str, str]] = (
            (k, v) for k, v in request.query_params.multi_items() if k != param
        )
        return f"{request.url.path}?{urlencode([*kept, (param, str(to))])}"

    return {
        "total": page.total,
        "page": number,
        "pages": page.pages,
        "previous": link(number - 1) if number > 1 else "",
        "next": link(number + 1) if number < page.pages else "",
    }
