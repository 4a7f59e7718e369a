"""Errors over HTTP, mapped once: the API's JSON error shape and the console's error pages.

Every error answer of the API has the body `ErrorBody`: `detail` (what is wrong and what to
fix), `code` (the kind), `errors` (the fields at fault of a 422, the same for request
validation and for the domain's own rules) and `needed_role` (on a 403 for a missing role).
The console answers the same errors with its HTML pages instead: 401 sends to the login page,
403 shows "Not allowed" with the needed role, anything else the error page with the message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from openpss.platform.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    Locked,
    NotFound,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from openpss.platform.web.htmx import is_htmx
from openpss.platform.web.templating import render

logger = logging.getLogger(__name__)

# The one mapping of domain error kinds to HTTP (RFC 9110 §15; 423 Locked is RFC 4918 §11.3).
STATUS: dict[type[DomainError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    Invalid: (422, "invalid"),
    Forbidden: (403, "forbidden"),
    Unauthenticated: (401, "unauthenticated"),
    Locked: (423, "locked"),
    TooLarge: (413, "too_large"),
    Unavailable: (502, "unavailable"),
}
_CODE_OF_STATUS = {status: code for status, code in STATUS.values()}


class ErrorItem(BaseModel):
    """One field at fault: where it is (`loc`), what is wrong with it, and the kind."""

    loc: list[str | int] = Field(description="path to the field, e.g. ['body', 'name']")
    msg: str = Field(description="what is wrong with this field")
    type: str = Field(description="machine-readable kind, e.g. missing, int_parsing, invalid")


class ErrorBody(BaseModel):
    """The body of every error answer of the API (4xx and 5xx)."""

    detail: str = Field(description="what is wrong and what to fix, for people")
    code: str = Field(
        description="the kind: not_found, conflict, invalid, forbidden, unauthenticated, "
        "locked, too_large, unavailable, or http_<status> for other HTTP errors"
    )
    errors: list[ErrorItem] = Field(
        default_factory=list, description="on 422: every field at fault (may be empty)"
    )
    needed_role: str | None = Field(None, description="on 403: the role that would allow this")


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Documented on every API route (`responses=` of each included router).
API_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("The body cannot be read: not JSON, or not multipart form data"),
    401: _doc("Not authenticated: send `Authorization: Bearer <token>`"),
    403: _doc("Not allowed: the role in `needed_role`, or the account's address binding"),
    404: _doc("The addressed object does not exist"),
    409: _doc("The change clashes with the current state"),
    422: _doc("Invalid input: request validation or a rule of the manual; see `errors`"),
}


def status_of(exc: DomainError) -> tuple[int, str]:
    """The HTTP status and code of a domain error (its nearest mapped kind)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 422, "invalid"


def http_status(exc: DomainError) -> int:
    """The HTTP status a console page answers a domain error with."""
    return status_of(exc)[0]


def _is_api(request: Request) -> bool:
    # /metrics is for machines too (Prometheus with a bearer token): a 401, not the login page
    return request.url.path.startswith("/api/") or request.url.path == "/metrics"


def _body(
    detail: str,
    code: str,
    errors: Sequence[ErrorItem] = (),
    needed_role: str | None = None,
) -> dict[str, Any]:
    return ErrorBody(
        detail=detail, code=code, errors=list(errors), needed_role=needed_role
    ).model_dump(mode="json")


def _answer(
    request: Request,
    status: int,
    body: dict[str, Any],
    headers: Mapping[str, str] | None = None,
) -> Response:
    """JSON for the API; the console's redirect to login (401) or its HTML page otherwise."""
    if _is_api(request):
        headers = dict(headers or {})
        if status == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        return JSONResponse(body, status_code=status, headers=headers or None)
    if status == 401:
        target = "/login?next=" + request.url.path
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    return error_page(request, status, body["detail"], needed_role=body.get("needed_role"))


def error_page(
    request: Request, status: int, reason: str, *, needed_role: str | None = None
) -> Response:
    """The console's error page ("Not allowed" for 403) with the navigation; for HTMX, the
    fragment retargeted to <main> (openpss.js swaps it although it is a 4xx answer)."""
    page = "forbidden" if status == 403 else "error"
    headers = {"HX-Retarget": "#main", "HX-Reswap": "innerHTML", "X-Openpss-Page": page}
    ctx = {"reason": reason, "needed": needed_role or "", "status": status}
    return render(request, f"web/{page}.html", ctx, status_code=status, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status, code = status_of(exc)
    errors: list[ErrorItem] = []
    if isinstance(exc, Invalid):
        errors = [ErrorItem(loc=list(loc), msg=msg, type="invalid") for loc, msg in exc.items]
    needed = exc.needed_role if isinstance(exc, Forbidden) else None
    return _answer(request, status, _body(str(exc), code, errors, needed))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_OF_STATUS.get(exc.status_code, f"http_{exc.status_code}")
    return _answer(request, exc.status_code, _body(str(exc.detail), code), exc.headers)


def _validation_items(raw: Sequence[Any]) -> list[ErrorItem]:
    return [
        ErrorItem(loc=list(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type")))
        for e in raw
    ]


def _summary(items: Sequence[ErrorItem]) -> str:
    parts = [f"{'.'.join(str(p) for p in i.loc[1:] or i.loc)}: {i.msg}" for i in items]
    return "; ".join(parts) or "invalid request"


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    items = _validation_items(exc.errors())
    return _answer(request, 422, _body(_summary(items), "invalid", items))


def install(app: FastAPI) -> None:
    """Register the error handlers of the API and the console on `app`."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
